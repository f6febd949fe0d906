// The deterministic instantiation of matmul.wgsl: Q16.16 operands, a wrapping 64-bit
// accumulator per chunk (from the prelude), rounded once at the chunk's end.

alias Elem = i32;

fn store_acc(i: u32, acc: Acc) { st(i, fx_from_acc(acc_value(acc))); }

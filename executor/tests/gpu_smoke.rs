//! Smoke tests of the wgpu backend: every operator on random and edge-case inputs,
//! in place and not, and a short training-like program, must match the CPU reference
//! bit for bit on both the native-`i64` and the emulated path.
//!
//! Without a GPU adapter the tests print a note and pass, unless
//! `GAVEL_REQUIRE_VULKAN=1`, which makes a missing adapter a failure.

use std::sync::{Arc, OnceLock};

use gavel_executor::{
    Backend, CpuBackend, Error, GpuBackend, GpuContext, GpuError, GpuOptions, Hash32, Int64Mode, Memory, Op,
    PROGRAM_VERSION, Program, Slot, SlotId, SlotKind,
};

/// One context per 64-bit mode the machine can run (opening a device is slow).
fn contexts() -> &'static [Arc<GpuContext>] {
    static CONTEXTS: OnceLock<Vec<Arc<GpuContext>>> = OnceLock::new();
    CONTEXTS.get_or_init(|| {
        let required = std::env::var("GAVEL_REQUIRE_VULKAN").is_ok_and(|v| v == "1");
        let mut out = Vec::new();
        for int64 in [Int64Mode::Native, Int64Mode::Emulated] {
            match GpuContext::new(&GpuOptions { int64 }) {
                Ok(ctx) => out.push(ctx),
                Err(Error::Gpu(GpuError::NoAdapter)) if !required => {
                    eprintln!("note: no GPU adapter, GPU smoke tests skipped");
                    return out;
                }
                Err(Error::Gpu(e @ GpuError::Unsupported { .. })) if int64 == Int64Mode::Native => {
                    eprintln!("note: native i64 path not tested: {e}");
                }
                Err(e) => panic!("opening the GPU ({int64:?}): {e}"),
            }
        }
        out
    })
}

/// SplitMix64: deterministic inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A mix of the values that break integer kernels: saturation bounds, zero,
    /// rounding ties, small Q16.16 numbers and arbitrary bit patterns.
    fn value(&mut self) -> i32 {
        const EDGES: [i32; 12] = [
            i32::MIN,
            i32::MAX,
            i32::MIN + 1,
            i32::MAX - 1,
            0,
            1,
            -1,
            1 << 15,
            -(1 << 15),
            1 << 16,
            -(1 << 16),
            3 << 15,
        ];
        match self.below(8) {
            0 => EDGES[self.below(EDGES.len() as u64) as usize],
            1 | 2 => self.next() as i32,
            3 => (self.below(1 << 12) as i32 - (1 << 11)) << 15,
            _ => self.below(1 << 20) as i32 - (1 << 19),
        }
    }

    /// Values of moderate size, as activations and weights are.
    fn small(&mut self) -> i32 {
        self.below(1 << 19) as i32 - (1 << 18)
    }

    fn fill(&mut self, n: usize, f: fn(&mut Self) -> i32) -> Vec<i32> {
        (0..n).map(|_| f(self)).collect()
    }
}

/// A program under construction: slots with their values.
#[derive(Default)]
struct Builder {
    slots: Vec<Slot>,
    values: Vec<Vec<i32>>,
    ops: Vec<Op>,
}

impl Builder {
    fn var(&mut self, shape: &[u32], values: Vec<i32>) -> SlotId {
        self.push(shape, values, SlotKind::Var { init: None })
    }

    fn constant(&mut self, shape: &[u32], values: Vec<i32>) -> SlotId {
        let data = Hash32::of_tensor(&values);
        self.push(shape, values, SlotKind::Const { data })
    }

    fn push(&mut self, shape: &[u32], values: Vec<i32>, kind: SlotKind) -> SlotId {
        assert_eq!(values.len(), shape.iter().product::<u32>() as usize);
        self.slots.push(Slot { name: format!("s{}", self.slots.len()), shape: shape.to_vec(), kind });
        self.values.push(values);
        (self.slots.len() - 1) as SlotId
    }

    fn zeros(&mut self, shape: &[u32]) -> SlotId {
        self.var(shape, vec![0; shape.iter().product::<u32>() as usize])
    }

    fn build(self, steps: u64) -> (Arc<Program>, Memory) {
        let program = Program { version: PROGRAM_VERSION, slots: self.slots, ops: self.ops, steps };
        program.validate_structure().expect("test program is valid");
        (Arc::new(program), Memory::from_slots(self.values))
    }
}

/// Runs `steps` steps on the CPU and on every GPU context, comparing all memory after
/// each step.
fn check(name: &str, b: Builder, steps: u64) {
    let (program, memory) = b.build(steps);
    for ctx in contexts() {
        let mut cpu = CpuBackend::new(program.clone(), memory.clone());
        let mut gpu = GpuBackend::new(ctx.clone(), program.clone(), memory.clone()).expect("GPU backend");
        for step in 0..steps {
            cpu.run_step(step).unwrap();
            gpu.run_step(step).unwrap();
            let want = cpu.read_memory().unwrap();
            let got = gpu.read_memory().unwrap();
            for id in 0..program.slots.len() as SlotId {
                let (w, g) = (want.slot(id), got.slot(id));
                if let Some(i) = (0..w.len()).find(|&i| w[i] != g[i]) {
                    panic!(
                        "{name} on {}: step {step}, slot {id} {:?} element {i}: cpu {} gpu {}",
                        gpu.describe(),
                        program.slots[id as usize].shape,
                        w[i],
                        g[i]
                    );
                }
            }
        }
    }
}

/// One operator on fresh inputs; `make` declares the slots and returns the operator.
fn check_op(name: &str, seed: u64, make: impl FnOnce(&mut Builder, &mut Rng) -> Op) {
    let mut b = Builder::default();
    let mut rng = Rng(seed);
    let op = make(&mut b, &mut rng);
    b.ops.push(op);
    check(name, b, 1);
}

#[test]
fn element_wise_ops() {
    for (i, &n) in [1u32, 7, 256, 1000, 70_001].iter().enumerate() {
        let seed = 100 + i as u64;
        let bin = |b: &mut Builder, r: &mut Rng| {
            let a = b.var(&[n], r.fill(n as usize, Rng::value));
            let c = b.var(&[n], r.fill(n as usize, Rng::value));
            (a, c, b.zeros(&[n]))
        };
        check_op("add", seed, |b, r| {
            let (a, c, out) = bin(b, r);
            Op::Add { a, b: c, out }
        });
        check_op("sub", seed, |b, r| {
            let (a, c, out) = bin(b, r);
            Op::Sub { a, b: c, out }
        });
        check_op("mul", seed, |b, r| {
            let (a, c, out) = bin(b, r);
            Op::Mul { a, b: c, out }
        });
        check_op("relu_grad", seed, |b, r| {
            let (pre, grad, out) = bin(b, r);
            Op::ReluGrad { pre, grad, out }
        });
        check_op("sgd", seed, |b, r| {
            let (param, grad, out) = bin(b, r);
            Op::Sgd { param, grad, lr: r.value(), out }
        });
        check_op("scale", seed, |b, r| {
            let (a, _, out) = bin(b, r);
            Op::Scale { a, factor: r.value(), out }
        });
        check_op("relu", seed, |b, r| {
            let (a, _, out) = bin(b, r);
            Op::Relu { a, out }
        });
    }
    for (rows, cols) in [(1, 1), (3, 5), (300, 17)] {
        check_op("add_bias", rows as u64, |b, r| {
            let a = b.var(&[rows, cols], r.fill((rows * cols) as usize, Rng::value));
            let bias = b.var(&[cols], r.fill(cols as usize, Rng::value));
            Op::AddBias { a, bias, out: b.zeros(&[rows, cols]) }
        });
    }
}

#[test]
fn gather_sum_rows_transpose() {
    for (t, bsz, rows, cols) in [(1, 1, 1, 1), (3, 5, 7, 4), (4, 300, 50, 9)] {
        let mut b = Builder::default();
        let mut r = Rng(t as u64);
        let table = b.var(&[rows, cols], r.fill((rows * cols) as usize, Rng::value));
        // Negative and out-of-range indices wrap (Euclidean remainder).
        let index = b.constant(&[t, bsz], r.fill((t * bsz) as usize, Rng::value));
        let out = b.zeros(&[bsz, cols]);
        b.ops.push(Op::Gather { table, index, out });
        check("gather", b, 2 * t as u64 + 1);
    }
    for shape in [vec![1], vec![128], vec![5, 3], vec![128, 70], vec![3, 4, 5]] {
        check_op("sum_rows", shape.len() as u64, |b, r| {
            let n = shape.iter().product::<u32>() as usize;
            let a = b.var(&shape, r.fill(n, Rng::value));
            let out = if shape.len() == 1 { b.zeros(&[1]) } else { b.zeros(&shape[1..]) };
            Op::SumRows { a, out }
        });
    }
    for (rows, cols) in [(1, 1), (3, 7), (130, 257)] {
        check_op("transpose", rows as u64, |b, r| {
            let a = b.var(&[rows, cols], r.fill((rows * cols) as usize, Rng::value));
            Op::Transpose { a, out: b.zeros(&[cols, rows]) }
        });
    }
}

#[test]
fn matmul() {
    // Shapes off the 64 tile, chunks that do and do not divide K, all transpositions.
    let cases = [(1, 1, 1, 1), (5, 7, 3, 2), (70, 37, 65, 16), (64, 128, 64, 128), (33, 200, 9, 17), (2, 300, 3, 1)];
    for (i, &(m, k, n, k_chunk)) in cases.iter().enumerate() {
        for (trans_a, trans_b) in [(false, false), (true, false), (false, true), (true, true)] {
            for fill in [Rng::value as fn(&mut Rng) -> i32, Rng::small] {
                check_op("mat_mul", i as u64, |b, r| {
                    let sa: &[u32] = if trans_a { &[k, m] } else { &[m, k] };
                    let sb: &[u32] = if trans_b { &[n, k] } else { &[k, n] };
                    let a = b.var(sa, r.fill((m * k) as usize, fill));
                    let bb = b.var(sb, r.fill((k * n) as usize, fill));
                    let chunks = k.div_ceil(k_chunk);
                    let out = if chunks == 1 { b.zeros(&[m, n]) } else { b.zeros(&[chunks, m, n]) };
                    Op::MatMul { a, b: bb, out, trans_a, trans_b, k_chunk }
                });
            }
        }
    }
    // Sums of 128 products of extremes wrap the 64-bit accumulator.
    for v in [i32::MIN, i32::MAX] {
        check_op("mat_mul extremes", 7, |b, _| {
            let a = b.var(&[3, 128], vec![v; 384]);
            let bb = b.var(&[128, 2], vec![i32::MIN; 256]);
            Op::MatMul { a, b: bb, out: b.zeros(&[3, 2]), trans_a: false, trans_b: false, k_chunk: 128 }
        });
    }
}

/// Rows that stress the softmax family: huge spreads (saturating differences),
/// constant rows, rows of one element, full-width rows.
fn logits_and_labels(b: &mut Builder, r: &mut Rng, rows: u32, n: u32) -> (SlotId, SlotId) {
    let mut x = Vec::new();
    for row in 0..rows {
        let kind = row % 4;
        x.extend((0..n).map(|_| match kind {
            0 => r.value(),
            1 => r.small(),
            2 => 5 << 16,
            _ => (r.below(40) as i32 - 20) << 16,
        }));
    }
    let y = r.fill((rows * n) as usize, |r| if r.below(3) == 0 { r.value() } else { r.below(1 << 17) as i32 });
    let shape = [rows, n];
    (b.var(&shape, x), b.var(&shape, y))
}

#[test]
fn row_ops() {
    for (rows, n) in [(1, 1), (4, 10), (9, 128), (200, 3)] {
        let seed = (rows * n) as u64;
        check_op("softmax", seed, |b, r| {
            let (a, _) = logits_and_labels(b, r, rows, n);
            Op::Softmax { a, out: b.zeros(&[rows, n]) }
        });
        check_op("softmax_xent_grad", seed, |b, r| {
            let (logits, labels) = logits_and_labels(b, r, rows, n);
            Op::SoftmaxXentGrad { logits, labels, scale: r.value(), out: b.zeros(&[rows, n]) }
        });
        check_op("xent_loss", seed, |b, r| {
            let (logits, labels) = logits_and_labels(b, r, rows, n);
            Op::XentLoss { logits, labels, out: b.zeros(&[rows]) }
        });
        check_op("argmax", seed, |b, r| {
            // Few distinct values, so ties (first index wins) are common.
            let a = b.var(&[rows, n], r.fill((rows * n) as usize, |r| r.below(4) as i32 - 2));
            Op::Argmax { a, out: b.zeros(&[rows]) }
        });
    }
}

/// `exp_neg` over its whole range and `ln_ge1` over the sums softmax produces: rows
/// `[0, -d]` for `d` from 0 past the cutoff, and rows of `n` equal logits.
#[test]
fn exp_and_ln_sweep() {
    let ds: Vec<i32> = (0..=(25 << 16)).step_by(89).collect();
    let mut b = Builder::default();
    let x: Vec<i32> = ds.iter().flat_map(|&d| [0, -d]).collect();
    let rows = ds.len() as u32;
    let a = b.var(&[rows, 2], x);
    let labels = b.var(&[rows, 2], (0..2 * rows as i32).map(|i| i * 37 - 900).collect());
    let (p, loss) = (b.zeros(&[rows, 2]), b.zeros(&[rows]));
    b.ops = vec![Op::Softmax { a, out: p }, Op::XentLoss { logits: a, labels, out: loss }];
    check("exp sweep", b, 1);
    for n in [1, 2, 3, 50, 127, 128] {
        let mut b = Builder::default();
        let logits = b.var(&[3, n], vec![7 << 16; 3 * n as usize]);
        let labels = b.var(&[3, n], vec![1 << 16; 3 * n as usize]);
        let out = b.zeros(&[3]);
        b.ops = vec![Op::XentLoss { logits, labels, out }];
        check("ln sweep", b, 1);
    }
}

/// More workgroups than one grid dimension holds (65535 on most adapters).
#[test]
fn large_grid() {
    let rows = 65_535 * 64 + 77;
    let mut b = Builder::default();
    let mut r = Rng(3);
    let a = b.var(&[rows, 1], r.fill(rows as usize, Rng::value));
    let c = b.var(&[rows, 1], r.fill(rows as usize, Rng::value));
    let (idx, sum) = (b.zeros(&[rows]), b.zeros(&[rows, 1]));
    b.ops = vec![Op::Argmax { a, out: idx }, Op::Add { a, b: c, out: sum }];
    check("large grid", b, 1);
}

#[test]
fn in_place_ops() {
    let mut b = Builder::default();
    let mut r = Rng(42);
    let p = b.var(&[40, 40], r.fill(1600, Rng::value));
    let g = b.var(&[40, 40], r.fill(1600, Rng::value));
    let bias = b.var(&[40], r.fill(40, Rng::value));
    let idx = b.constant(&[2, 40], r.fill(80, Rng::value));
    b.ops = vec![
        Op::Sgd { param: p, grad: g, lr: 1 << 14, out: p },
        Op::Add { a: g, b: g, out: g },
        Op::Relu { a: g, out: g },
        Op::AddBias { a: p, bias, out: p },
        Op::Softmax { a: g, out: g },
        Op::SoftmaxXentGrad { logits: p, labels: g, scale: 1 << 12, out: g },
        // These read other elements than they write: through the scratch buffer.
        Op::Transpose { a: p, out: p },
        Op::MatMul { a: p, b: g, out: p, trans_a: false, trans_b: true, k_chunk: 40 },
        Op::Gather { table: g, index: idx, out: g },
        Op::Mul { a: p, b: g, out: g },
    ];
    check("in-place", b, 3);
}

/// Two steps of an MLP-like training program: batches gathered by step, chunked
/// matrix products with transposed operands, gradients, in-place SGD.
#[test]
fn training_steps() {
    let (rows, feat, hidden, classes, batch) = (16u32, 12u32, 8u32, 4u32, 5u32);
    let mut b = Builder::default();
    let mut r = Rng(7);
    let data = b.constant(&[rows, feat], r.fill((rows * feat) as usize, Rng::small));
    let onehot: Vec<i32> =
        (0..rows * classes).map(|i| if i % classes == (i / classes) % classes { 1 << 16 } else { 0 }).collect();
    let labels_tab = b.constant(&[rows, classes], onehot);
    let idx = b.constant(&[3, batch], r.fill((3 * batch) as usize, |r| r.below(40) as i32 - 20));
    let x = b.zeros(&[batch, feat]);
    let y = b.zeros(&[batch, classes]);
    let w1 = b.var(&[feat, hidden], r.fill((feat * hidden) as usize, |r| r.below(1 << 15) as i32 - (1 << 14)));
    let b1 = b.var(&[hidden], r.fill(hidden as usize, |r| r.below(1 << 12) as i32));
    let w2 = b.var(&[hidden, classes], r.fill((hidden * classes) as usize, |r| r.below(1 << 15) as i32 - (1 << 14)));
    let pre_parts = b.zeros(&[2, batch, hidden]);
    let pre_sum = b.zeros(&[batch, hidden]);
    let pre = b.zeros(&[batch, hidden]);
    let h = b.zeros(&[batch, hidden]);
    let logits = b.zeros(&[batch, classes]);
    let loss = b.zeros(&[batch]);
    let pred = b.zeros(&[batch]);
    let g = b.zeros(&[batch, classes]);
    let gw2_parts = b.zeros(&[2, hidden, classes]);
    let gw2 = b.zeros(&[hidden, classes]);
    let gh = b.zeros(&[batch, hidden]);
    let gpre = b.zeros(&[batch, hidden]);
    let gw1_parts = b.zeros(&[3, feat, hidden]);
    let gw1 = b.zeros(&[feat, hidden]);
    let gb1 = b.zeros(&[hidden]);
    let lr = 1 << 15;
    b.ops = vec![
        Op::Gather { table: data, index: idx, out: x },
        Op::Gather { table: labels_tab, index: idx, out: y },
        Op::MatMul { a: x, b: w1, out: pre_parts, trans_a: false, trans_b: false, k_chunk: 6 },
        Op::SumRows { a: pre_parts, out: pre_sum },
        Op::AddBias { a: pre_sum, bias: b1, out: pre },
        Op::Relu { a: pre, out: h },
        Op::MatMul { a: h, b: w2, out: logits, trans_a: false, trans_b: false, k_chunk: 8 },
        Op::XentLoss { logits, labels: y, out: loss },
        Op::Argmax { a: logits, out: pred },
        Op::SoftmaxXentGrad { logits, labels: y, scale: (1 << 16) / batch as i32, out: g },
        Op::MatMul { a: h, b: g, out: gw2_parts, trans_a: true, trans_b: false, k_chunk: 3 },
        Op::SumRows { a: gw2_parts, out: gw2 },
        Op::MatMul { a: g, b: w2, out: gh, trans_a: false, trans_b: true, k_chunk: 4 },
        Op::ReluGrad { pre, grad: gh, out: gpre },
        Op::MatMul { a: x, b: gpre, out: gw1_parts, trans_a: true, trans_b: false, k_chunk: 2 },
        Op::SumRows { a: gw1_parts, out: gw1 },
        Op::SumRows { a: gpre, out: gb1 },
        Op::Sgd { param: w1, grad: gw1, lr, out: w1 },
        Op::Sgd { param: b1, grad: gb1, lr, out: b1 },
        Op::Sgd { param: w2, grad: gw2, lr, out: w2 },
    ];
    check("training", b, 2);
}

/// `run_ops` over sub-ranges, `write_slot` and `read_slot` agree with the CPU.
#[test]
fn partial_runs_and_slot_io() {
    let mut b = Builder::default();
    let mut r = Rng(9);
    let a = b.var(&[6, 6], r.fill(36, Rng::value));
    let c = b.var(&[6, 6], r.fill(36, Rng::value));
    let out = b.zeros(&[6, 6]);
    b.ops = vec![Op::Mul { a, b: c, out }, Op::Transpose { a: out, out: c }, Op::Sub { a: c, b: a, out: a }];
    let (program, memory) = b.build(1);
    let fresh = r.fill(36, Rng::value);
    for ctx in contexts() {
        let mut cpu = CpuBackend::new(program.clone(), memory.clone());
        let mut gpu = GpuBackend::new(ctx.clone(), program.clone(), memory.clone()).unwrap();
        for backend in [&mut cpu as &mut dyn Backend, &mut gpu] {
            backend.run_ops(0, 0..1).unwrap();
            backend.write_slot(a, &fresh).unwrap();
            backend.run_ops(0, 1..3).unwrap();
        }
        assert_eq!(cpu.read_memory().unwrap(), gpu.read_memory().unwrap(), "{}", gpu.describe());
        assert_eq!(cpu.read_slot(a).unwrap(), gpu.read_slot(a).unwrap());
        assert!(gpu.write_slot(a, &fresh[..5]).is_err(), "a wrong length is refused");
        assert!(gpu.run_ops(0, 2..4).is_err(), "an op range past the body is refused");
    }
}

//! The CPU reference backend: every operator written directly from
//! `docs/numerics.md` on top of [`crate::numerics`], parallelised with rayon.
//!
//! Each output element is computed independently, so the thread count never changes
//! a bit: integer accumulation wraps (and is therefore associative) and every
//! rounding happens at a fixed place in the element's own computation.

use std::{ops::Range, sync::Arc};

use rayon::prelude::*;

use crate::{
    backend::Backend,
    error::Result,
    memory::Memory,
    numerics::{self, add_sat, fx_from_acc, fx_mul, mul_wide, sat32, sub_sat},
    program::{Op, Program, SlotId},
};

/// Work below this many elements runs on one thread (rayon's overhead dominates).
const PAR_MIN: usize = 1 << 14;

/// The CPU reference backend.
#[derive(Debug)]
pub struct CpuBackend {
    program: Arc<Program>,
    memory: Memory,
}

impl CpuBackend {
    /// A backend holding `memory` (normally [`Memory::initial`]).
    pub fn new(program: Arc<Program>, memory: Memory) -> Self {
        Self { program, memory }
    }

    /// The current memory, without copying.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }
}

impl Backend for CpuBackend {
    fn describe(&self) -> String {
        format!("cpu (rayon, {} threads)", rayon::current_num_threads())
    }

    fn run_ops(&mut self, step: u64, ops: Range<usize>) -> Result<()> {
        for i in ops {
            let op = &self.program.ops[i];
            if op.is_clear() {
                // Zeros in place, no new buffer (see `execute_op`).
                self.memory.slot_mut(op.output()).fill(0);
                continue;
            }
            let out = execute_op(&self.program, op, step, &self.memory);
            self.memory.set_slot(op.output(), out);
        }
        Ok(())
    }

    fn run_step(&mut self, step: u64) -> Result<()> {
        self.run_ops(step, 0..self.program.ops.len())
    }

    fn read_slot(&mut self, id: SlotId) -> Result<Vec<i32>> {
        Ok(self.memory.slot(id).to_vec())
    }

    fn slot_is_zero(&mut self, id: SlotId) -> Result<bool> {
        Ok(self.memory.slot_is_zero(id))
    }

    fn read_memory(&mut self) -> Result<Memory> {
        Ok(self.memory.clone())
    }

    fn write_slot(&mut self, id: SlotId, values: &[i32]) -> Result<()> {
        self.memory.set_slot(id, values.to_vec());
        Ok(())
    }
}

/// Computes the new value of `op`'s output slot from `mem` (which is not changed).
pub fn execute_op(program: &Program, op: &Op, step: u64, mem: &Memory) -> Vec<i32> {
    let shape = |id: SlotId| program.shape(id);
    match *op {
        Op::Gather { table, index, out } => {
            let (rows, cols) = (shape(table)[0] as i64, shape(table)[1] as usize);
            let (t, b) = (shape(index)[0] as u64, shape(index)[1] as usize);
            let idx_row = &mem.slot(index)[(step % t) as usize * b..][..b];
            let tab = mem.slot(table);
            let mut res = vec![0; shape(out).iter().product::<u32>() as usize];
            for (r, dst) in res.chunks_mut(cols).enumerate() {
                let src = (idx_row[r] as i64).rem_euclid(rows) as usize;
                dst.copy_from_slice(&tab[src * cols..][..cols]);
            }
            res
        }
        Op::MatMul { a, b, trans_a, trans_b, k_chunk, .. } => matmul(program, mem, a, b, trans_a, trans_b, k_chunk),
        Op::SumRows { a, .. } => {
            let sa = shape(a);
            let rows = sa[0] as usize;
            let width = mem.slot(a).len() / rows;
            let src = mem.slot(a);
            map_indices(width, |j| sat32((0..rows).map(|r| src[r * width + j] as i64).sum()))
        }
        Op::Add { a, b, .. } => zip_map(mem.slot(a), mem.slot(b), add_sat),
        Op::Sub { a, b, .. } => zip_map(mem.slot(a), mem.slot(b), sub_sat),
        Op::Mul { a, b, .. } => zip_map(mem.slot(a), mem.slot(b), fx_mul),
        Op::AddBias { a, bias, .. } => {
            let n = shape(a)[1] as usize;
            let (src, bias) = (mem.slot(a), mem.slot(bias));
            map_indices(src.len(), |i| add_sat(src[i], bias[i % n]))
        }
        // `fx_mul(v, 0) = 0` for every `v`: a clear needs no arithmetic.
        Op::Scale { a, factor: 0, .. } => vec![0; mem.slot(a).len()],
        Op::Scale { a, factor, .. } => mem.slot(a).iter().map(|&v| fx_mul(v, factor)).collect(),
        Op::Relu { a, .. } => mem.slot(a).iter().map(|&v| v.max(0)).collect(),
        Op::ReluGrad { pre, grad, .. } => zip_map(mem.slot(pre), mem.slot(grad), |p, g| if p > 0 { g } else { 0 }),
        Op::Transpose { a, .. } => {
            let (r, c) = (shape(a)[0] as usize, shape(a)[1] as usize);
            let src = mem.slot(a);
            map_indices(r * c, |i| src[(i % r) * c + i / r])
        }
        Op::Softmax { a, .. } => rows_map(mem.slot(a), shape(a)[1] as usize, |x, out| {
            numerics::softmax_row(x, out);
        }),
        Op::SoftmaxXentGrad { logits, labels, scale, .. } => {
            let n = shape(logits)[1] as usize;
            let y = mem.slot(labels);
            let mut res = rows_map(mem.slot(logits), n, |x, out| {
                numerics::softmax_row(x, out);
            });
            res.iter_mut().zip(y).for_each(|(p, &t)| *p = fx_mul(sub_sat(*p, t), scale));
            res
        }
        Op::XentLoss { logits, labels, .. } => {
            let n = shape(logits)[1] as usize;
            let (x, y) = (mem.slot(logits), mem.slot(labels));
            map_indices(x.len() / n, |r| numerics::xent_row(&x[r * n..][..n], &y[r * n..][..n]))
        }
        Op::Sgd { param, grad, lr, .. } => zip_map(mem.slot(param), mem.slot(grad), |p, g| sub_sat(p, fx_mul(lr, g))),
        Op::Argmax { a, .. } => {
            let n = shape(a)[1] as usize;
            let x = mem.slot(a);
            map_indices(x.len() / n, |r| argmax(&x[r * n..][..n]) as i32)
        }
    }
}

/// Index of the first largest element.
pub fn argmax(row: &[i32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

fn zip_map(a: &[i32], b: &[i32], f: impl Fn(i32, i32) -> i32 + Sync + Send) -> Vec<i32> {
    if a.len() < PAR_MIN {
        a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
    } else {
        a.par_iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
    }
}

fn map_indices(n: usize, f: impl Fn(usize) -> i32 + Sync + Send) -> Vec<i32> {
    if n < PAR_MIN { (0..n).map(f).collect() } else { (0..n).into_par_iter().map(f).collect() }
}

fn rows_map(x: &[i32], n: usize, f: impl Fn(&[i32], &mut [i32]) + Sync + Send) -> Vec<i32> {
    let mut out = vec![0; x.len()];
    out.par_chunks_mut(n).zip(x.par_chunks(n)).for_each(|(o, row)| f(row, o));
    out
}

/// Chunked matrix product: `A [M, K]` times `B [K, N]`, one rounded sum per chunk.
fn matmul(program: &Program, mem: &Memory, a: SlotId, b: SlotId, ta: bool, tb: bool, kc: u32) -> Vec<i32> {
    #[cfg(target_arch = "x86_64")]
    let wide = std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    let wide = false;
    matmul_with(program, mem, (a, b, ta, tb, kc), wide)
}

/// [`matmul`] with the kernel chosen by the caller: `wide` (AVX-512, which the caller
/// must have detected) or the portable one.
fn matmul_with(program: &Program, mem: &Memory, op: (SlotId, SlotId, bool, bool, u32), wide: bool) -> Vec<i32> {
    let (a, b, ta, tb, kc) = op;
    let d = program.matmul_dims(a, b, ta, tb, kc);
    let (m, k, n, kc) = (d.m as usize, d.k as usize, d.n as usize, kc as usize);
    let lhs = if ta { transpose(mem.slot(a), k, m) } else { mem.slot(a).to_vec() };
    // The AVX-512 kernel reads rows of B, the portable one rows of B^T.
    let rhs = match (wide, tb) {
        (true, false) | (false, true) => mem.slot(b).to_vec(),
        (true, true) => transpose(mem.slot(b), n, k),
        (false, false) => transpose(mem.slot(b), k, n),
    };
    let mut out = vec![0i32; d.chunks as usize * m * n];
    // One task per block of ROWS output rows of one chunk. Every element is its own
    // wrapping sum, so neither the split nor the kernel can change a bit.
    out.par_chunks_mut(m * n).enumerate().for_each(|(s, chunk)| {
        let lo = s * kc;
        let len = kc.min(k - lo);
        chunk.par_chunks_mut(ROWS * n).enumerate().for_each(|(blk, dst)| {
            let ops = Operands { lhs: &lhs, rhs: &rhs, k, n, lo, len, row0: blk * ROWS };
            #[cfg(target_arch = "x86_64")]
            if wide {
                // SAFETY: AVX-512F was detected above.
                return unsafe { avx512::matmul_block(&ops, dst) };
            }
            matmul_block(&ops, dst);
        });
    });
    out
}

/// Rows of `A` per block: each loaded column element of `B^T` feeds this many products.
const ROWS: usize = 4;
/// Columns of `B^T` per block: each loaded row element of `A` feeds this many products.
const COLS: usize = 4;

/// Where one block's operands live: rows `row0..` of `lhs [M, k]`, and `rhs`, which is
/// `B^T [n, k]` for the portable kernel and `B [k, n]` for the AVX-512 one; both are
/// restricted to the reduction chunk `lo..lo + len`.
struct Operands<'a> {
    lhs: &'a [i32],
    rhs: &'a [i32],
    k: usize,
    n: usize,
    lo: usize,
    len: usize,
    row0: usize,
}

impl Operands<'_> {
    fn a(&self, r: usize) -> &[i32] {
        &self.lhs[(self.row0 + r) * self.k + self.lo..][..self.len]
    }

    fn b(&self, j: usize) -> &[i32] {
        &self.rhs[j * self.k + self.lo..][..self.len]
    }
}

/// Fills `dst` (up to [`ROWS`] output rows) from `B^T`, compiled for AVX2 when the
/// processor has it. The arithmetic is the same on every path (wrapping `i64` sums do
/// not depend on order), so the choice only changes speed.
fn matmul_block(ops: &Operands<'_>, dst: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports the feature the function is compiled for.
        return unsafe { matmul_block_avx2(ops, dst) };
    }
    matmul_block_generic(ops, dst);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn matmul_block_avx2(ops: &Operands<'_>, dst: &mut [i32]) {
    matmul_block_generic(ops, dst);
}

#[inline(always)]
fn matmul_block_generic(ops: &Operands<'_>, dst: &mut [i32]) {
    let n = ops.n;
    let rows = dst.len() / n;
    if rows == ROWS {
        let a: [&[i32]; ROWS] = std::array::from_fn(|r| ops.a(r));
        let mut j = 0;
        while j + COLS <= n {
            let b: [&[i32]; COLS] = std::array::from_fn(|c| ops.b(j + c));
            let mut acc = [[0i64; COLS]; ROWS];
            for t in 0..ops.len {
                for r in 0..ROWS {
                    let x = a[r][t] as i64;
                    for c in 0..COLS {
                        acc[r][c] = acc[r][c].wrapping_add(x * b[c][t] as i64);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                for (c, &v) in acc.iter().enumerate() {
                    dst[r * n + j + c] = fx_from_acc(v);
                }
            }
            j += COLS;
        }
        for j in j..n {
            for r in 0..ROWS {
                dst[r * n + j] = fx_from_acc(dot_wide(a[r], ops.b(j)));
            }
        }
    } else {
        for r in 0..rows {
            for j in 0..n {
                dst[r * n + j] = fx_from_acc(dot_wide(ops.a(r), ops.b(j)));
            }
        }
    }
}

/// `sum a[i] * b[i]` in wrapping `i64`.
#[inline]
pub(crate) fn dot_wide(a: &[i32], b: &[i32]) -> i64 {
    a.iter().zip(b).fold(0i64, |acc, (&x, &y)| acc.wrapping_add(mul_wide(x, y)))
}

/// The AVX-512 kernel: outer products over rows of `B`.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::{
        __m512i, _mm512_add_epi64, _mm512_loadu_si512, _mm512_mul_epi32, _mm512_set1_epi32, _mm512_setzero_si512,
        _mm512_srli_epi64, _mm512_storeu_si512,
    };

    use super::{Operands, ROWS, fx_from_acc};

    /// Columns per block: two 16-lane loads of `B`.
    const COLS: usize = 32;

    /// Each reduction step adds `A[r, t] * B[t, j..j + 32]` into 4 x 32 `i64`
    /// accumulators held in 16 registers. `vpmuldq` multiplies the low (signed) 32 bits
    /// of each 64-bit lane, so a row of `B` is used as loaded (even columns) and
    /// shifted down by 32 bits (odd columns), and `A[r, t]` is broadcast to every lane;
    /// no sign extension and no horizontal sums are needed.
    #[target_feature(enable = "avx512f")]
    pub(super) fn matmul_block(ops: &Operands<'_>, dst: &mut [i32]) {
        let Operands { lhs, rhs, k, n, lo, len, row0 } = *ops;
        let rows = dst.len() / n;
        let mut j = 0;
        if rows == ROWS {
            while j + COLS <= n {
                let mut acc = [[_mm512_setzero_si512(); 4]; ROWS];
                for t in 0..len {
                    let brow = &rhs[(lo + t) * n + j..][..COLS];
                    // SAFETY: `brow` holds 32 `i32`s: two unaligned 64-byte loads.
                    let (b0, b1): (__m512i, __m512i) = unsafe {
                        (_mm512_loadu_si512(brow.as_ptr().cast()), _mm512_loadu_si512(brow[16..].as_ptr().cast()))
                    };
                    let bs = [b0, _mm512_srli_epi64::<32>(b0), b1, _mm512_srli_epi64::<32>(b1)];
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let x = _mm512_set1_epi32(lhs[(row0 + r) * k + lo + t]);
                        for (a, &b) in acc.iter_mut().zip(&bs) {
                            *a = _mm512_add_epi64(*a, _mm512_mul_epi32(x, b));
                        }
                    }
                }
                for (r, acc) in acc.iter().enumerate() {
                    for (v, &a) in acc.iter().enumerate() {
                        let mut lanes = [0i64; 8];
                        // SAFETY: `lanes` is 64 bytes.
                        unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), a) };
                        // Vector v holds columns j + 16 (v / 2) + (v % 2) + 2i.
                        let base = r * n + j + 16 * (v / 2) + v % 2;
                        for (i, &s) in lanes.iter().enumerate() {
                            dst[base + 2 * i] = fx_from_acc(s);
                        }
                    }
                }
                j += COLS;
            }
        }
        // Leftover rows and columns, one plain wrapping sum each.
        for r in 0..rows {
            for c in j..n {
                let sum = (0..len).fold(0i64, |s, t| {
                    s.wrapping_add(lhs[(row0 + r) * k + lo + t] as i64 * rhs[(lo + t) * n + c] as i64)
                });
                dst[r * n + c] = fx_from_acc(sum);
            }
        }
    }
}

/// Row-major `[rows, cols]` to `[cols, rows]`.
fn transpose(src: &[i32], rows: usize, cols: usize) -> Vec<i32> {
    let mut out = vec![0; src.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = src[r * cols + c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{memory::Inputs, model::ProgramBuilder, program::SlotKind, rng::SplitMix64};

    /// The definition, one element at a time, with no blocking and no vectors.
    fn naive(a: &[i32], b: &[i32], (m, k, n): (usize, usize, usize), kc: usize) -> Vec<i32> {
        let chunks = k.div_ceil(kc);
        let mut out = Vec::new();
        for s in 0..chunks {
            for i in 0..m {
                for j in 0..n {
                    let sum = (s * kc..((s + 1) * kc).min(k))
                        .fold(0i64, |acc, t| acc.wrapping_add(a[i * k + t] as i64 * b[t * n + j] as i64));
                    out.push(fx_from_acc(sum));
                }
            }
        }
        out
    }

    #[test]
    fn blocked_matmul_matches_the_definition_on_every_shape() {
        let mut rng = SplitMix64::new(5);
        let mut value = |extreme: bool| {
            if extreme { [i32::MIN, i32::MAX, -1, 0, 1][rng.below(5) as usize] } else { rng.next_u64() as i32 }
        };
        for &(m, k, n, kc) in &[(4, 128, 32, 128), (7, 100, 70, 64), (9, 3, 33, 2), (1, 5, 64, 5), (8, 130, 96, 128)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let extreme = (m + n) % 2 == 0;
                let a: Vec<i32> = (0..m * k).map(|_| value(extreme)).collect();
                let bm: Vec<i32> = (0..k * n).map(|_| value(extreme)).collect();
                let want = naive(&a, &bm, (m, k, n), kc);
                let stored_a = if ta { transpose(&a, m, k) } else { a.clone() };
                let stored_b = if tb { transpose(&bm, k, n) } else { bm.clone() };
                let mut inputs = Inputs::new();
                let mut p = ProgramBuilder::new();
                let sa = if ta { [k as u32, m as u32] } else { [m as u32, k as u32] };
                let sb = if tb { [n as u32, k as u32] } else { [k as u32, n as u32] };
                let ia = p.slot("a", &sa, SlotKind::Const { data: inputs.insert(stored_a) });
                let ib = p.slot("b", &sb, SlotKind::Const { data: inputs.insert(stored_b) });
                let chunks = k.div_ceil(kc) as u32;
                let shape = if chunks == 1 { vec![m as u32, n as u32] } else { vec![chunks, m as u32, n as u32] };
                let out = p.scratch("c", &shape);
                p.push(Op::MatMul { a: ia, b: ib, out, trans_a: ta, trans_b: tb, k_chunk: kc as u32 });
                let program = p.build_unbounded(1).unwrap();
                let mem = Memory::initial(&program, &inputs).unwrap();
                let op = (ia, ib, ta, tb, kc as u32);
                let got = matmul_with(&program, &mem, op, false);
                assert_eq!(got, want, "portable: m={m} k={k} n={n} kc={kc} ta={ta} tb={tb}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx512f") {
                    let got = matmul_with(&program, &mem, op, true);
                    assert_eq!(got, want, "avx512: m={m} k={k} n={n} kc={kc} ta={ta} tb={tb}");
                }
            }
        }
    }
}

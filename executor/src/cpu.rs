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

/// Chunked matrix product. Operands are first copied into `A [M, K]` and `B^T [N, K]`
/// so that every dot product reads two contiguous rows.
fn matmul(program: &Program, mem: &Memory, a: SlotId, b: SlotId, ta: bool, tb: bool, kc: u32) -> Vec<i32> {
    let d = program.matmul_dims(a, b, ta, tb, kc);
    let (m, k, n, kc) = (d.m as usize, d.k as usize, d.n as usize, kc as usize);
    let lhs = if ta { transpose(mem.slot(a), k, m) } else { mem.slot(a).to_vec() };
    let rhs_t = if tb { mem.slot(b).to_vec() } else { transpose(mem.slot(b), k, n) };
    let chunks = d.chunks as usize;
    let mut out = vec![0i32; chunks * m * n];
    // One task per output row of each chunk; each element is a fixed-order dot product.
    out.par_chunks_mut(n).enumerate().for_each(|(row, dst)| {
        let (s, i) = (row / m, row % m);
        let lo = s * kc;
        let hi = (lo + kc).min(k);
        let arow = &lhs[i * k + lo..i * k + hi];
        for (j, o) in dst.iter_mut().enumerate() {
            *o = fx_from_acc(dot_wide(arow, &rhs_t[j * k + lo..j * k + hi]));
        }
    });
    out
}

/// `sum a[i] * b[i]` in wrapping `i64`.
#[inline]
pub(crate) fn dot_wide(a: &[i32], b: &[i32]) -> i64 {
    a.iter().zip(b).fold(0i64, |acc, (&x, &y)| acc.wrapping_add(mul_wide(x, y)))
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

//! Which input elements one output element reads: `OneStepReplay._compute`, mirrored
//! operator by operator, so the replay opens exactly the chunks the contract reads.

use gavel_prover::{CHUNK_ELEMENTS, OpDescriptor};

/// `OpKind` numbers (`contracts/src/game/GameTypes.sol`).
pub(crate) mod kind {
    pub(crate) const GATHER: u8 = 0;
    pub(crate) const MAT_MUL: u8 = 1;
    pub(crate) const SUM_ROWS: u8 = 2;
    pub(crate) const ADD: u8 = 3;
    pub(crate) const SUB: u8 = 4;
    pub(crate) const MUL: u8 = 5;
    pub(crate) const ADD_BIAS: u8 = 6;
    pub(crate) const SCALE: u8 = 7;
    pub(crate) const RELU: u8 = 8;
    pub(crate) const RELU_GRAD: u8 = 9;
    pub(crate) const TRANSPOSE: u8 = 10;
    pub(crate) const SOFTMAX: u8 = 11;
    pub(crate) const SOFTMAX_XENT_GRAD: u8 = 12;
    pub(crate) const XENT_LOSS: u8 = 13;
    pub(crate) const SGD: u8 = 14;
    pub(crate) const ARGMAX: u8 = 15;
}

/// Whether output chunk `c` reads only chunk `c` of each input: the game replays the
/// whole chunk (`replay`) instead of one element (`replayElement`).
pub(crate) fn is_elementwise(k: u8) -> bool {
    matches!(k, kind::ADD | kind::SUB | kind::MUL | kind::SCALE | kind::RELU | kind::RELU_GRAD | kind::SGD)
}

/// Dimension `i` of a shape, 1 when absent (`OneStepReplay._dim`).
fn dim(shape: &[u32], i: usize) -> u64 {
    shape.get(i).map_or(1, |&d| d as u64)
}

/// The flat positions each input of `op` (run in step `step`) is read at to compute
/// output element `e`, in argument order. `read(input, position)` gives an input's value
/// in the pre-state; only `gather` uses it (the table row is the index element's value).
pub(crate) fn input_positions(
    op: &OpDescriptor,
    step: u64,
    e: u64,
    read: impl FnOnce(usize, u64) -> Result<i32, String>,
) -> Result<Vec<Vec<u64>>, String> {
    let shape = |j: usize| -> Result<&[u32], String> {
        op.shapes.get(j).map(Vec::as_slice).ok_or_else(|| format!("descriptor of kind {} has no shape {j}", op.kind))
    };
    Ok(match op.kind {
        kind::ADD | kind::SUB | kind::MUL | kind::RELU_GRAD | kind::SGD => vec![vec![e], vec![e]],
        kind::SCALE | kind::RELU => vec![vec![e]],
        kind::ADD_BIAS => vec![vec![e], vec![e % dim(shape(2)?, 0).max(1)]],
        kind::TRANSPOSE => {
            let a = shape(1)?;
            let (rows, cols) = (dim(a, 0), dim(a, 1));
            vec![vec![(e % rows) * cols + e / rows]]
        }
        kind::GATHER => {
            let (table, index) = (shape(1)?, shape(2)?);
            let (rows, cols) = (dim(table, 0), dim(table, 1));
            let (t, b) = (dim(index, 0), dim(index, 1));
            let ipos = (step % t) * b + e / cols;
            let value = read(1, ipos)?;
            let row = (value as i64).rem_euclid(rows as i64) as u64;
            vec![vec![row * cols + e % cols], vec![ipos]]
        }
        kind::MAT_MUL => {
            let (a, b) = (shape(1)?, shape(2)?);
            let m = if op.trans_a { dim(a, 1) } else { dim(a, 0) };
            let k = if op.trans_a { dim(a, 0) } else { dim(a, 1) };
            let n = if op.trans_b { dim(b, 0) } else { dim(b, 1) };
            let kc = op.k_chunk as u64;
            if kc == 0 || m == 0 || n == 0 {
                return Err(format!("mat_mul descriptor with k_chunk {kc}, m {m}, n {n}"));
            }
            let (s, row, col) = (e / (m * n), (e / n) % m, e % n);
            let lo = s * kc;
            let hi = (lo + kc).min(k);
            let lhs = (lo..hi).map(|d| if op.trans_a { d * m + row } else { row * k + d }).collect();
            let rhs = (lo..hi).map(|d| if op.trans_b { col * k + d } else { d * n + col }).collect();
            vec![lhs, rhs]
        }
        kind::SUM_ROWS => {
            let a = shape(1)?;
            let rows = dim(a, 0);
            let width = a.iter().map(|&d| d as u64).product::<u64>() / rows.max(1);
            vec![(0..rows).map(|r| r * width + e).collect()]
        }
        kind::SOFTMAX | kind::SOFTMAX_XENT_GRAD | kind::XENT_LOSS | kind::ARGMAX => {
            let n = dim(shape(1)?, 1);
            let r = if matches!(op.kind, kind::SOFTMAX | kind::SOFTMAX_XENT_GRAD) { e / n } else { e };
            let row: Vec<u64> = (r * n..r * n + n).collect();
            match op.kind {
                kind::SOFTMAX_XENT_GRAD => vec![row, vec![e]],
                kind::XENT_LOSS => vec![row.clone(), row],
                _ => vec![row],
            }
        }
        other => return Err(format!("unknown operator kind {other}")),
    })
}

/// The chunks holding `positions`, ascending, each once.
pub(crate) fn chunks_of(positions: &[u64]) -> Vec<u64> {
    let mut c: Vec<u64> = positions.iter().map(|p| p / CHUNK_ELEMENTS as u64).collect();
    c.sort_unstable();
    c.dedup();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(kind: u8, shapes: Vec<Vec<u32>>) -> OpDescriptor {
        let inputs = (1..shapes.len() as u32).collect();
        OpDescriptor { kind, out: 0, inputs, shapes, param: 0, k_chunk: 0, trans_a: false, trans_b: false }
    }

    fn no_read(_: usize, _: u64) -> Result<i32, String> {
        Err("not read".into())
    }

    #[test]
    fn positions_follow_the_contract() {
        // add_bias over [R, 100]: the bias element is e mod N.
        let d = desc(kind::ADD_BIAS, vec![vec![11, 100], vec![11, 100], vec![100]]);
        assert_eq!(input_positions(&d, 0, 1099, no_read).unwrap(), vec![vec![1099], vec![99]]);
        // transpose of a [R, C] = [3, 4]: out [4, 3], element e reads (e mod R) * C + e / R.
        let d = desc(kind::TRANSPOSE, vec![vec![4, 3], vec![3, 4]]);
        assert_eq!(input_positions(&d, 0, 5, no_read).unwrap(), vec![vec![2 * 4 + 1]]);
        // mat_mul [4, 8] x [3, 8]^T, k_chunk 4: out [2, 4, 3]; element 13 is s 1, row 0, col 1.
        let mut d = desc(kind::MAT_MUL, vec![vec![2, 4, 3], vec![4, 8], vec![3, 8]]);
        (d.k_chunk, d.trans_b) = (4, true);
        let p = input_positions(&d, 0, 13, no_read).unwrap();
        assert_eq!(p, vec![vec![4, 5, 6, 7], vec![12, 13, 14, 15]]);
        // a^T: a is [K, M].
        let mut d = desc(kind::MAT_MUL, vec![vec![2, 3], vec![5, 2], vec![5, 3]]);
        (d.k_chunk, d.trans_a) = (128, true);
        let p = input_positions(&d, 0, 4, no_read).unwrap();
        assert_eq!(p, vec![vec![1, 3, 5, 7, 9], vec![1, 4, 7, 10, 13]]);
        // gather: index row step mod T, table row rem_euclid(value, R).
        let d = desc(kind::GATHER, vec![vec![2, 3], vec![5, 3], vec![4, 2]]);
        let p = input_positions(&d, 6, 4, |j, pos| {
            assert_eq!((j, pos), (1, 2 * 2 + 1));
            Ok(-1)
        })
        .unwrap();
        assert_eq!(p, vec![vec![4 * 3 + 1], vec![5]]);
        // Row-wise: softmax element (r, j) reads row r; xent_loss row e reads both rows.
        let d = desc(kind::SOFTMAX, vec![vec![3, 4], vec![3, 4]]);
        assert_eq!(input_positions(&d, 0, 6, no_read).unwrap(), vec![vec![4, 5, 6, 7]]);
        let d = desc(kind::XENT_LOSS, vec![vec![3], vec![3, 2], vec![3, 2]]);
        assert_eq!(input_positions(&d, 0, 2, no_read).unwrap(), vec![vec![4, 5], vec![4, 5]]);
        let d = desc(kind::SUM_ROWS, vec![vec![2], vec![3, 2]]);
        assert_eq!(input_positions(&d, 0, 1, no_read).unwrap(), vec![vec![1, 3, 5]]);
        assert_eq!(chunks_of(&[1030, 3, 600, 511]), vec![0, 1, 2]);
    }
}

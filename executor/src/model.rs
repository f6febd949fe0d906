//! Compiles a job spec into a program: an MLP trained with plain SGD on softmax
//! cross-entropy, one mini-batch per step.
//!
//! Everything random (split, initial weights, batch schedule) comes from
//! [`SplitMix64`] streams of the job seed, so a spec always compiles to the same
//! program and inputs.

use std::collections::HashMap;

use crate::{
    dataset::{self, Dataset, Normalize, Standardizer},
    error::Result,
    hash::Hash32,
    memory::Inputs,
    numerics::{self, ONE},
    program::{
        MAX_REPLAY_CHUNKS, Op, PROGRAM_VERSION, Program, Slot, SlotId, SlotKind, matmul_replay_chunks,
        sum_rows_replay_chunks,
    },
    rng::SplitMix64,
    spec::JobSpec,
};

/// Reduction chunk the compiler uses for matrix products.
pub const K_CHUNK: u32 = 64;

/// Slots of one dense layer's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerSlots {
    /// `[in, out]`
    pub weight: SlotId,
    /// `[out]`
    pub bias: SlotId,
}

/// A compiled training job.
#[derive(Clone, Debug)]
pub struct CompiledJob {
    /// The program to run.
    pub program: Program,
    /// Its content-addressed inputs.
    pub inputs: Inputs,
    /// Parameter slots, input layer first.
    pub params: Vec<LayerSlots>,
    /// The `[1]` slot holding the mean loss of the last step's batch.
    pub loss: SlotId,
    /// The held-out samples (never seen by the program).
    pub test: Dataset,
    /// The training samples, as the program sees them.
    pub train: Dataset,
    /// keccak256 of the data set.
    pub dataset_hash: Hash32,
    /// The batch schedule: sample indices, `[steps, batch]` row-major.
    pub schedule: Vec<i32>,
    /// The initial parameters (weight, bias) per layer.
    pub initial_params: Vec<(Vec<i32>, Vec<i32>)>,
    /// The spec it came from.
    pub spec: JobSpec,
}

/// Builds programs slot by slot.
///
/// [`ProgramBuilder::matmul`] and [`ProgramBuilder::sum_rows`] keep the program within
/// the replay bound ([`MAX_REPLAY_CHUNKS`]) where the plain operator would break it, with
/// forms that give the same bits (docs/program.md, "The replay bound").
#[derive(Debug, Default)]
pub struct ProgramBuilder {
    slots: Vec<Slot>,
    ops: Vec<Op>,
    /// Slots already materialised transposed, `source -> transposed`, while the source
    /// has not been written since.
    transposed: HashMap<SlotId, SlotId>,
}

impl ProgramBuilder {
    /// An empty program.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a slot.
    pub fn slot(&mut self, name: impl Into<String>, shape: &[u32], kind: SlotKind) -> SlotId {
        self.slots.push(Slot { name: name.into(), shape: shape.to_vec(), kind });
        (self.slots.len() - 1) as SlotId
    }

    /// Declares a zero-initialised variable slot.
    pub fn scratch(&mut self, name: impl Into<String>, shape: &[u32]) -> SlotId {
        self.slot(name, shape, SlotKind::Var { init: None })
    }

    /// Appends an operator.
    pub fn push(&mut self, op: Op) {
        let out = op.output();
        self.transposed.retain(|&source, &mut t| source != out && t != out);
        self.ops.push(op);
    }

    /// `a [R, C]` transposed into a `[C, R]` slot named `{a}.t`, reusing the one made
    /// before while `a` has not been written since.
    pub fn transpose(&mut self, a: SlotId) -> SlotId {
        if let Some(&t) = self.transposed.get(&a) {
            return t;
        }
        let (name, shape) = (self.slots[a as usize].name.clone(), self.shape(a).to_vec());
        let mut t_name = format!("{name}.t");
        for i in 2.. {
            if !self.slots.iter().any(|s| s.name == t_name) {
                break;
            }
            t_name = format!("{name}.t{i}");
        }
        let t = self.scratch(t_name, &[shape[1], shape[0]]);
        self.push(Op::Transpose { a, out: t });
        self.transposed.insert(a, t);
        t
    }

    /// Shape of a declared slot.
    pub fn shape(&self, id: SlotId) -> &[u32] {
        &self.slots[id as usize].shape
    }

    /// `A [M, K] x B [K, N]` (after the transposition flags) into a new `[M, N]` slot,
    /// through a chunk slot and a row sum when `K` is longer than [`K_CHUNK`].
    ///
    /// When the product's one-element replay would open more than [`MAX_REPLAY_CHUNKS`]
    /// chunks (an operand read down its columns, `K_CHUNK` positions a row apart), the
    /// strided operand is first materialised transposed ([`ProgramBuilder::transpose`])
    /// and read along its rows with the flag flipped: `A` as `a` (`trans_a` false), `B` as
    /// `b^T` (`trans_b` true). The products and their order are the same, so are the bits.
    /// An operand is transposed only where the bound needs it, `A` before `B`.
    pub fn matmul(&mut self, name: &str, a: SlotId, b: SlotId, trans_a: bool, trans_b: bool) -> SlotId {
        let (sa, sb) = (self.shape(a).to_vec(), self.shape(b).to_vec());
        let flip = |s: &[u32]| vec![s[1], s[0]];
        let chunks = |ta: bool, tb: bool| {
            let (shape_a, shape_b) = (
                if ta == trans_a { sa.clone() } else { flip(&sa) },
                if tb == trans_b { sb.clone() } else { flip(&sb) },
            );
            let (ca, cb) = matmul_replay_chunks(&shape_a, &shape_b, ta, tb, K_CHUNK);
            ca + cb
        };
        // The candidates in order of preference: as given, then each strided operand
        // read through a transpose, then both.
        let (ta, tb) = [(trans_a, trans_b), (false, trans_b), (trans_a, true), (false, true)]
            .into_iter()
            .find(|&(ta, tb)| chunks(ta, tb) <= MAX_REPLAY_CHUNKS)
            .unwrap_or((false, true));
        let a = if ta == trans_a { a } else { self.transpose(a) };
        let b = if tb == trans_b { b } else { self.transpose(b) };
        let (sa, sb) = (self.shape(a).to_vec(), self.shape(b).to_vec());
        let (m, k) = if ta { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
        let n = if tb { sb[0] } else { sb[1] };
        let chunks = k.div_ceil(K_CHUNK);
        if chunks == 1 {
            let out = self.scratch(name, &[m, n]);
            self.push(Op::MatMul { a, b, out, trans_a: ta, trans_b: tb, k_chunk: K_CHUNK });
            out
        } else {
            let partial = self.scratch(format!("{name}.chunks"), &[chunks, m, n]);
            self.push(Op::MatMul { a, b, out: partial, trans_a: ta, trans_b: tb, k_chunk: K_CHUNK });
            let out = self.scratch(name, &[m, n]);
            self.push(Op::SumRows { a: partial, out });
            out
        }
    }

    /// `sum_rows(a [R, N]) -> [N]` into a new slot named `name`.
    ///
    /// When the column sum's replay would open more than [`MAX_REPLAY_CHUNKS`] chunks
    /// (`R` rows of `N` elements spanning more than 16 chunks), it is computed as
    /// `ones [1, R] x (a^T)^T` with `k_chunk = R` through a transpose of `a`, then a
    /// one-row `sum_rows` down to `[N]`. The product is exact: `mul_wide(ONE, x)` is
    /// `x * 2^16`, the sum of at most 128 of them is below `2^54` (no wrap), and
    /// `fx_from_acc` shifts the `2^16` back out with nothing to round, leaving
    /// `sat32(sum_r a[r, n])`, the bits `sum_rows` gives; the one-row sum is the identity.
    /// `ones` is a constant slot added to `inputs`.
    pub fn sum_rows(&mut self, inputs: &mut Inputs, name: &str, a: SlotId) -> SlotId {
        let shape = self.shape(a).to_vec();
        let out_shape = if shape.len() == 1 { vec![1] } else { shape[1..].to_vec() };
        if shape.len() != 2 || sum_rows_replay_chunks(&shape) <= MAX_REPLAY_CHUNKS {
            let out = self.scratch(name, &out_shape);
            self.push(Op::SumRows { a, out });
            return out;
        }
        let (rows, cols) = (shape[0], shape[1]);
        let ones_name = format!("ones{rows}");
        let ones = match self.slots.iter().position(|s| s.name == ones_name) {
            Some(id) => id as SlotId,
            None => {
                let data = inputs.insert(vec![ONE; rows as usize]);
                self.slot(ones_name, &[1, rows], SlotKind::Const { data })
            }
        };
        let t = self.transpose(a);
        let row = self.scratch(format!("{name}.row"), &[1, cols]);
        self.push(Op::MatMul { a: ones, b: t, out: row, trans_a: false, trans_b: true, k_chunk: rows });
        let out = self.scratch(name, &out_shape);
        self.push(Op::SumRows { a: row, out });
        out
    }

    /// Ends the step body by clearing every step-local slot (a `scale` by 0 into
    /// itself), so that between steps only the state slots hold anything but zeros.
    /// The state slots compute the same bits either way; what changes is the
    /// commitment's cost: a checkpoint root re-hashes only the state slots
    /// (`docs/program.md`, "Clearing step-local slots").
    pub fn clear_step_locals(&mut self) {
        let local = crate::program::step_local(&self.slots, &self.ops);
        for id in (0..self.slots.len()).filter(|&i| local[i]) {
            let id = id as SlotId;
            self.push(Op::Scale { a: id, factor: 0, out: id });
        }
    }

    /// Finishes and validates the program ([`Program::validate`], the replay bound
    /// included).
    pub fn build(self, steps: u64) -> Result<Program> {
        let p = Program { version: PROGRAM_VERSION, slots: self.slots, ops: self.ops, steps };
        p.validate()?;
        Ok(p)
    }

    /// Finishes a program that need only run, not be disputed: checks the structure
    /// ([`Program::validate_structure`]) but not the replay bound. For benchmarks and
    /// tests of operators on shapes beyond the bound.
    pub fn build_unbounded(self, steps: u64) -> Result<Program> {
        let p = Program { version: PROGRAM_VERSION, slots: self.slots, ops: self.ops, steps };
        p.validate_structure()?;
        Ok(p)
    }
}

/// `round(1 / n)` in Q16.16.
fn inverse(n: u32) -> i32 {
    ((ONE as u32 + n / 2) / n) as i32
}

/// `floor(2^16 / sqrt(fan_in))`, the uniform initialisation bound, by integer square
/// root so it is the same everywhere.
fn init_bound(fan_in: u32) -> i64 {
    ((1u64 << 32) / fan_in as u64).isqrt() as i64
}

/// Compiles `spec` (see [`JobSpec::compile`]).
pub(crate) fn compile(spec: &JobSpec) -> Result<CompiledJob> {
    let path = spec.dataset_path();
    let (data, dataset_hash) =
        dataset::load(spec.dataset.format, &path, Some(spec.dataset.hash)).map_err(|e| match e {
            crate::error::Error::Io { path, source, .. } => crate::error::SpecError::Field {
                field: "dataset.path",
                msg: format!("cannot read {}: {source} (paths are relative to the spec file)", path.display()),
            }
            .into(),
            other => other,
        })?;
    let layers = &spec.model.layers;
    let field = |msg: String| crate::error::SpecError::Field { field: "model.layers", msg };
    if layers[0] as usize != data.dim {
        return Err(
            field(format!("the input width {} differs from the data set's {} features", layers[0], data.dim)).into()
        );
    }
    if *layers.last().expect("checked") as usize != data.classes {
        return Err(field(format!("the output width differs from the data set's {} classes", data.classes)).into());
    }
    let seed = spec.job.seed;
    let (mut train, mut test) = data.split(spec.dataset.test_percent, &mut SplitMix64::for_purpose(seed, "split"));
    if spec.dataset.normalize == Normalize::Standard {
        let stats = Standardizer::fit(&train);
        stats.apply(&mut train);
        stats.apply(&mut test);
    }
    let batch = spec.train.batch_size;
    if (train.len() as u64) < batch as u64 {
        return Err(crate::error::SpecError::Field {
            field: "train.batch_size",
            msg: format!("{batch} is larger than the {} training samples", train.len()),
        }
        .into());
    }
    let steps = spec.job.steps;

    let mut rng = SplitMix64::for_purpose(seed, "init");
    let initial_params: Vec<(Vec<i32>, Vec<i32>)> = layers
        .windows(2)
        .map(|w| {
            let a = init_bound(w[0]);
            let weight = (0..w[0] * w[1]).map(|_| (rng.below(2 * a as u64 + 1) as i64 - a) as i32).collect();
            (weight, vec![0; w[1] as usize])
        })
        .collect();
    let schedule = batch_schedule(train.len(), batch as usize, steps, &mut SplitMix64::for_purpose(seed, "schedule"));

    let mut inputs = Inputs::new();
    let mut b = ProgramBuilder::new();
    let (n_train, dim, classes) = (train.len() as u32, train.dim as u32, train.classes as u32);
    let x_all = b.slot("x_train", &[n_train, dim], SlotKind::Const { data: inputs.insert(train.features.clone()) });
    let y_all = b.slot("y_train", &[n_train, classes], SlotKind::Const { data: inputs.insert(train.one_hot()) });
    let index = b.slot("schedule", &[steps as u32, batch], SlotKind::Const { data: inputs.insert(schedule.clone()) });
    let params: Vec<LayerSlots> = layers
        .windows(2)
        .zip(&initial_params)
        .enumerate()
        .map(|(l, (w, (weight, bias)))| LayerSlots {
            weight: b.slot(format!("w{l}"), &[w[0], w[1]], SlotKind::Var { init: Some(inputs.insert(weight.clone())) }),
            bias: b.slot(format!("b{l}"), &[w[1]], SlotKind::Var { init: Some(inputs.insert(bias.clone())) }),
        })
        .collect();

    // Forward.
    let x = b.scratch("x", &[batch, dim]);
    b.push(Op::Gather { table: x_all, index, out: x });
    let y = b.scratch("y", &[batch, classes]);
    b.push(Op::Gather { table: y_all, index, out: y });
    let mut acts = vec![x];
    let mut pre = Vec::new();
    for (l, p) in params.iter().enumerate() {
        let z = b.matmul(&format!("z{l}"), acts[l], p.weight, false, false);
        let width = b.shape(z)[1];
        let a = b.scratch(format!("a{l}"), &[batch, width]);
        b.push(Op::AddBias { a: z, bias: p.bias, out: a });
        pre.push(a);
        if l + 1 < params.len() {
            let h = b.scratch(format!("h{l}"), &[batch, width]);
            b.push(Op::Relu { a, out: h });
            acts.push(h);
        }
    }
    let logits = *pre.last().expect("at least one layer");
    let inv_b = inverse(batch);
    let row_loss = b.scratch("row_loss", &[batch]);
    b.push(Op::XentLoss { logits, labels: y, out: row_loss });
    let loss_sum = b.scratch("loss_sum", &[1]);
    b.push(Op::SumRows { a: row_loss, out: loss_sum });
    let loss = b.scratch("loss", &[1]);
    b.push(Op::Scale { a: loss_sum, factor: inv_b, out: loss });

    // Backward.
    let last = params.len() - 1;
    let mut grad = b.scratch(format!("g{last}"), &[batch, classes]);
    b.push(Op::SoftmaxXentGrad { logits, labels: y, scale: inv_b, out: grad });
    let mut grads = Vec::new();
    for l in (0..params.len()).rev() {
        let dw = b.matmul(&format!("dw{l}"), acts[l], grad, true, false);
        let db = b.sum_rows(&mut inputs, &format!("db{l}"), grad);
        grads.push((l, dw, db));
        if l > 0 {
            let dh = b.matmul(&format!("dh{}", l - 1), grad, params[l].weight, false, true);
            let g = b.scratch(format!("g{}", l - 1), b.shape(dh).to_vec().as_slice());
            b.push(Op::ReluGrad { pre: pre[l - 1], grad: dh, out: g });
            grad = g;
        }
    }
    let lr = numerics::fx_from_f64(spec.train.learning_rate);
    for (l, dw, db) in grads.into_iter().rev() {
        let p = params[l];
        b.push(Op::Sgd { param: p.weight, grad: dw, lr, out: p.weight });
        b.push(Op::Sgd { param: p.bias, grad: db, lr, out: p.bias });
    }

    b.clear_step_locals();

    // What is left beyond the replay bound after `matmul` and `sum_rows` kept what they
    // could: the sums of a product's partial chunks, one chunk each when the partials
    // are 512 elements or more apart, so reductions longer than 16 x 64.
    let program = b.build(steps).map_err(|e| match e {
        crate::error::Error::Program(e @ crate::error::ProgramError::ReplayBound { .. }) => {
            crate::error::SpecError::Field {
                field: "model.layers",
                msg: format!(
                    "the compiled program is beyond the on-chain replay bound: {e}. A layer with more than \
                     {} inputs (or, backwards, outputs) sums more than {MAX_REPLAY_CHUNKS} partial products; \
                     use narrower layers or a smaller batch",
                    MAX_REPLAY_CHUNKS * K_CHUNK as u64
                ),
            }
            .into()
        }
        other => other,
    })?;
    Ok(CompiledJob {
        program,
        inputs,
        params,
        loss,
        test,
        train,
        dataset_hash,
        schedule,
        initial_params,
        spec: spec.clone(),
    })
}

/// Sample indices for every step: epochs of seeded permutations of the training set,
/// laid end to end, `batch` per step.
fn batch_schedule(n: usize, batch: usize, steps: u64, rng: &mut SplitMix64) -> Vec<i32> {
    let total = steps as usize * batch;
    let mut out = Vec::with_capacity(total);
    let mut perm: Vec<i32> = (0..n as i32).collect();
    while out.len() < total {
        rng.shuffle(&mut perm);
        out.extend_from_slice(&perm[..(total - out.len()).min(n)]);
    }
    out
}

/// A one-step inference program: the MLP forward pass over all of `data`, ending in
/// an argmax. Returns the program, its inputs and the slot of the predictions.
pub fn inference_program(
    layers: &[u32],
    params: &[(Vec<i32>, Vec<i32>)],
    data: &Dataset,
) -> Result<(Program, Inputs, SlotId)> {
    let mut inputs = Inputs::new();
    let mut b = ProgramBuilder::new();
    let rows = data.len() as u32;
    let mut h = b.slot("x", &[rows, layers[0]], SlotKind::Const { data: inputs.insert(data.features.clone()) });
    for (l, (w, (weight, bias))) in layers.windows(2).zip(params).enumerate() {
        let ws = b.slot(format!("w{l}"), &[w[0], w[1]], SlotKind::Const { data: inputs.insert(weight.clone()) });
        let bs = b.slot(format!("b{l}"), &[w[1]], SlotKind::Const { data: inputs.insert(bias.clone()) });
        let z = b.matmul(&format!("z{l}"), h, ws, false, false);
        let a = b.scratch(format!("a{l}"), &[rows, w[1]]);
        b.push(Op::AddBias { a: z, bias: bs, out: a });
        h = a;
        if l + 2 < layers.len() {
            let r = b.scratch(format!("h{l}"), &[rows, w[1]]);
            b.push(Op::Relu { a, out: r });
            h = r;
        }
    }
    let pred = b.scratch("pred", &[rows]);
    b.push(Op::Argmax { a: h, out: pred });
    Ok((b.build(1)?, inputs, pred))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_covers_each_epoch_once() {
        let s = batch_schedule(10, 4, 5, &mut SplitMix64::new(3));
        assert_eq!(s.len(), 20);
        let mut first: Vec<i32> = s[..10].to_vec();
        first.sort();
        assert_eq!(first, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn constants_are_exact() {
        assert_eq!(inverse(32), 2048);
        assert_eq!(inverse(3), 21845);
        assert_eq!(init_bound(64), 8192);
    }
}

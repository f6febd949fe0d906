//! Operator suites: the CPU reference against the GPU (native and emulated `i64`),
//! against independent exact and float math, and the committed test vectors.
//!
//! GPU tests share one context per `i64` mode within a process. Without a Vulkan
//! adapter they print a note and pass, unless `GAVEL_REQUIRE_VULKAN=1`.
//! `GAVEL_WRITE_VECTORS=1 cargo test -p gavel-executor --test it vectors` rewrites
//! `tests/vectors/`.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
    time::Instant,
};

use gavel_executor::{
    Backend, CpuBackend, Error, GpuBackend, GpuContext, GpuError, GpuOptions, Int64Mode, Memory, Op, Result, SlotId,
    numerics::{self, ONE},
    vectors::{self, Batch, Case, MIN_EXPORT_CASES, MIN_SUITE_CASES, OP_NAMES, OpSuite},
};

/// Output slot values of one batch: `[step][op]`.
type Outputs = Vec<Vec<Vec<i32>>>;

/// How many mismatching cases a report shows in full.
const SHOWN: usize = 6;

fn suite(op: &str) -> OpSuite {
    OpSuite::generate(op, vectors::DEFAULT_SEED).expect("known operator")
}

/// Runs every step of `batch` and reads every operator's output after each.
fn run_batch(backend: &mut dyn Backend, batch: &Batch) -> Result<Outputs> {
    let mut all = Vec::with_capacity(batch.steps.len());
    for &step in &batch.steps {
        backend.run_step(step)?;
        let outs = batch.program.ops.iter().map(|op| backend.read_slot(op.output())).collect::<Result<Vec<_>>>()?;
        all.push(outs);
    }
    Ok(all)
}

fn cpu_outputs(suite: &OpSuite) -> Vec<Outputs> {
    (suite.batches.iter())
        .map(|b| run_batch(&mut CpuBackend::new(b.program.clone(), b.memory.clone()), b).expect("cpu runs"))
        .collect()
}

fn list(values: &[i32]) -> String {
    const MAX: usize = 24;
    let shown: Vec<String> = values.iter().take(MAX).map(|v| v.to_string()).collect();
    if values.len() > MAX {
        format!("[{}, ... ({} values)]", shown.join(", "), values.len())
    } else {
        format!("[{}]", shown.join(", "))
    }
}

/// Compares `got` with the reference `want`; `None` when every bit agrees, else a
/// report: the number of differing cases per operator of the suite, then the first
/// [`SHOWN`] cases with their inputs and both outputs.
fn compare(suite: &OpSuite, label: &str, want: &[Outputs], got: &[Outputs]) -> Option<String> {
    let mut bad = BTreeSet::new();
    let mut structural = Vec::new();
    for (bi, (w, g)) in want.iter().zip(got).enumerate() {
        for (si, (ws, gs)) in w.iter().zip(g).enumerate() {
            for (oi, (wo, go)) in ws.iter().zip(gs).enumerate() {
                if wo.len() != go.len() {
                    structural.push(format!(
                        "batch {bi} op {oi} step {si}: {} values, expected {}",
                        go.len(),
                        wo.len()
                    ));
                    continue;
                }
                for (e, _) in wo.iter().zip(go).enumerate().filter(|(_, (x, y))| x != y) {
                    bad.insert(suite.case_at(bi, oi, si, e));
                }
            }
        }
    }
    if bad.is_empty() && structural.is_empty() {
        return None;
    }
    let ids = suite.case_ids();
    let mut r =
        format!("{} on {label}: {} of {} cases differ from the CPU reference\n", suite.op, bad.len(), ids.len());
    for s in &structural {
        let _ = writeln!(r, "  wrong output length: {s}");
    }
    let mut per_op: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for id in &bad {
        *per_op.entry((id.batch, id.op)).or_default() += 1;
    }
    for ((bi, oi), n) in &per_op {
        let p = &suite.batches[*bi].program;
        let op = &p.ops[*oi];
        let shapes: Vec<String> =
            op.inputs().iter().chain([&op.output()]).map(|&s| format!("{:?}", p.shape(s))).collect();
        let _ = writeln!(r, "  batch {bi} op {oi}: {n} cases; {op:?} shapes {}", shapes.join(" "));
    }
    for id in bad.iter().take(SHOWN) {
        let case = suite.case(*id);
        let ordinal = ids.binary_search(id).expect("a listed case");
        let got_vals: Vec<i32> = case.positions.iter().map(|&p| got[id.batch][id.step][id.op][p]).collect();
        let _ = writeln!(r, "  case {ordinal} ({id:?}, step {}): {:?}", case.step, case.op);
        for t in &case.inputs {
            let _ = writeln!(r, "    {} {:?} = {}", t.name, t.shape, list(&t.values));
        }
        let _ = writeln!(r, "    cpu {:?} = {}", case.output.shape, list(&case.output.values));
        let _ = writeln!(r, "    {label} = {}", list(&got_vals));
        let diffs: Vec<String> = (case.output.values.iter().zip(&got_vals).enumerate())
            .filter(|(_, (w, g))| w != g)
            .take(8)
            .map(|(i, (w, g))| format!("out[{i}]: cpu {w} vs {g}"))
            .collect();
        let _ = writeln!(r, "    differs at {}", diffs.join("; "));
    }
    if bad.len() > SHOWN {
        let _ = writeln!(r, "  ... and {} more cases", bad.len() - SHOWN);
    }
    Some(r)
}

// ---------------------------------------------------------------------------------
// GPU.

fn require_vulkan() -> bool {
    std::env::var("GAVEL_REQUIRE_VULKAN").is_ok_and(|v| v == "1")
}

/// The shared context of one `i64` mode, or `None` (with a note) when the tests skip.
pub(crate) fn gpu(mode: Int64Mode) -> Option<Arc<GpuContext>> {
    static NATIVE: OnceLock<Option<Arc<GpuContext>>> = OnceLock::new();
    static EMULATED: OnceLock<Option<Arc<GpuContext>>> = OnceLock::new();
    let cell = if mode == Int64Mode::Native { &NATIVE } else { &EMULATED };
    cell.get_or_init(|| match GpuContext::new(&GpuOptions { int64: mode }) {
        Ok(ctx) => Some(ctx),
        Err(Error::Gpu(GpuError::NoAdapter)) if !require_vulkan() => {
            eprintln!("note: no GPU adapter, {mode:?} i64 comparison skipped (GAVEL_REQUIRE_VULKAN=1 makes this fail)");
            None
        }
        // An adapter without SHADER_INT64 still runs the emulated path, which is checked.
        Err(e @ Error::Gpu(GpuError::Unsupported { .. })) if mode == Int64Mode::Native => {
            eprintln!("note: native i64 comparison skipped: {e}");
            None
        }
        Err(e) => panic!("opening the GPU ({mode:?} i64): {e}"),
    })
    .clone()
}

/// Runs the whole suite of `op` on the GPU in both `i64` modes and compares every
/// output bit with the CPU reference.
fn check_gpu(op: &str) {
    let suite = suite(op);
    let n = suite.case_ids().len();
    let mut want = None;
    let mut reports = Vec::new();
    for mode in [Int64Mode::Native, Int64Mode::Emulated] {
        let Some(ctx) = gpu(mode) else { continue };
        assert_eq!(ctx.uses_native_i64(), mode == Int64Mode::Native, "{mode:?} context");
        let want = want.get_or_insert_with(|| cpu_outputs(&suite));
        let label = format!("gpu ({mode:?} i64, {})", ctx.adapter_name());
        let start = Instant::now();
        let got: Result<Vec<Outputs>> = (suite.batches.iter())
            .map(|b| run_batch(&mut GpuBackend::new(ctx.clone(), b.program.clone(), b.memory.clone())?, b))
            .collect();
        match got {
            Err(e) => reports.push(format!("{op} on {label}: failed to run: {e}")),
            Ok(got) => match compare(&suite, &label, want, &got) {
                Some(report) => reports.push(report),
                None => eprintln!("{op}: {n} cases bit-identical on {label} ({:.2?})", start.elapsed()),
            },
        }
    }
    assert!(reports.is_empty(), "{}", reports.join("\n"));
}

macro_rules! gpu_tests {
    ($($name:ident),* $(,)?) => {
        /// The operators the GPU tests below cover.
        const GPU_TESTED: &[&str] = &[$(stringify!($name)),*];

        mod gpu_matches_cpu {
            $(
                #[test]
                fn $name() {
                    super::check_gpu(stringify!($name));
                }
            )*
        }
    };
}

gpu_tests!(
    gather,
    mat_mul,
    sum_rows,
    add,
    sub,
    mul,
    add_bias,
    scale,
    relu,
    relu_grad,
    transpose,
    softmax,
    softmax_xent_grad,
    xent_loss,
    sgd,
    argmax,
);

#[test]
fn gpu_tests_cover_every_op() {
    // The macro list above must name every operator; a new one fails here.
    assert_eq!(GPU_TESTED, OP_NAMES);
}

// ---------------------------------------------------------------------------------
// The suites and the harness itself.

#[test]
fn suites_are_large_and_deterministic() {
    for op in OP_NAMES {
        let (s1, s2) = (suite(op), suite(op));
        let n = s1.case_ids().len();
        assert!(n >= MIN_SUITE_CASES, "{op}: {n} cases");
        assert_eq!(s1.batches.len(), s2.batches.len());
        for (b1, b2) in s1.batches.iter().zip(&s2.batches) {
            assert!(b1.program.ops.iter().all(|o| o.name() == op), "{op}: a batch runs another operator");
            assert_eq!(b1.program.hash(), b2.program.hash(), "{op}: program differs between runs");
            assert_eq!(b1.memory.digest(), b2.memory.digest(), "{op}: memory differs between runs");
            assert_eq!(b1.steps, b2.steps);
        }
        let other = OpSuite::generate(op, vectors::DEFAULT_SEED ^ 1).expect("known");
        assert_ne!(s1.batches[0].memory.digest(), other.batches[0].memory.digest(), "{op}: seed ignored");
    }
    assert!(OpSuite::generate("nope", 0).is_none());
}

/// Every case's small instance computes exactly its part of the batch output, and
/// the cases of an operator cover its output once.
#[test]
fn cases_reproduce_their_batch() {
    for op in OP_NAMES {
        let suite = suite(op);
        let want = cpu_outputs(&suite);
        let mut covered: BTreeMap<(usize, usize, usize), Vec<u8>> = BTreeMap::new();
        for id in suite.case_ids() {
            let case = suite.case(id);
            let out = &want[id.batch][id.step][id.op];
            let part: Vec<i32> = case.positions.iter().map(|&p| out[p]).collect();
            assert_eq!(case.output.values, part, "{op} {id:?}: instance {:?} disagrees with its batch", case.op);
            assert_eq!(case.output.values.len(), case.output.shape.iter().product::<u32>() as usize);
            let seen = covered.entry((id.batch, id.step, id.op)).or_insert_with(|| vec![0; out.len()]);
            for &p in &case.positions {
                seen[p] += 1;
                assert_eq!(suite.case_at(id.batch, id.op, id.step, p), id, "{op}: case_at({p})");
            }
        }
        for ((b, s, o), seen) in covered {
            assert!(seen.iter().all(|&c| c == 1), "{op}: batch {b} step {s} op {o}: output not covered once");
        }
    }
}

#[test]
fn harness_passes_cpu_against_cpu() {
    for op in OP_NAMES {
        let suite = suite(op);
        let want = cpu_outputs(&suite);
        let got = cpu_outputs(&suite);
        assert_eq!(compare(&suite, "cpu", &want, &got), None);
    }
}

/// A CPU backend that flips the low bit of one element when a slot is read.
struct Faulty {
    inner: CpuBackend,
    slot: SlotId,
    element: usize,
}

impl Backend for Faulty {
    fn describe(&self) -> String {
        "faulty".into()
    }
    fn run_ops(&mut self, step: u64, ops: std::ops::Range<usize>) -> Result<()> {
        self.inner.run_ops(step, ops)
    }
    fn run_step(&mut self, step: u64) -> Result<()> {
        self.inner.run_step(step)
    }
    fn read_slot(&mut self, id: SlotId) -> Result<Vec<i32>> {
        let mut v = self.inner.read_slot(id)?;
        if id == self.slot {
            v[self.element] ^= 1;
        }
        Ok(v)
    }
    fn read_memory(&mut self) -> Result<Memory> {
        self.inner.read_memory()
    }
    fn write_slot(&mut self, id: SlotId, values: &[i32]) -> Result<()> {
        self.inner.write_slot(id, values)
    }
}

#[test]
fn harness_reports_a_flipped_bit() {
    for (op, bi, oi, element) in [("softmax", 0, 3, 5), ("mat_mul", 0, 10, 3), ("gather", 0, 0, 7)] {
        let suite = suite(op);
        let want = cpu_outputs(&suite);
        let mut got = want.clone();
        let b = &suite.batches[bi];
        let slot = b.program.ops[oi].output();
        let inner = CpuBackend::new(b.program.clone(), b.memory.clone());
        got[bi] = run_batch(&mut Faulty { inner, slot, element }, b).expect("runs");
        let report = compare(&suite, "faulty", &want, &got).expect("a flipped bit is reported");
        let steps = b.steps.len();
        let id = suite.case_at(bi, oi, 0, element);
        assert!(report.contains(&format!("{steps} of ")), "{report}");
        assert!(report.contains(&format!("{id:?}")), "{report}");
        assert!(report.contains("    cpu ") && report.contains("    faulty = "), "{report}");
        assert!(report.lines().count() < 60, "{report}");
    }
}

// ---------------------------------------------------------------------------------
// The reference against independent math.

/// `x / 2^s` rounded half to even, written with `i128` division (not shifts).
fn round_div(x: i128, s: u32) -> i128 {
    let d = 1i128 << s;
    let (q, r) = (x.div_euclid(d), x.rem_euclid(d));
    if r * 2 > d || (r * 2 == d && q.rem_euclid(2) == 1) { q + 1 } else { q }
}

fn clamp32(x: i128) -> i32 {
    x.clamp(i32::MIN as i128, i32::MAX as i128) as i32
}

fn q_mul(a: i32, b: i32) -> i32 {
    clamp32(round_div(a as i128 * b as i128, 16))
}

/// An independent model of the operators without transcendental functions;
/// `None` for the others.
fn exact_model(case: &Case) -> Option<Vec<i32>> {
    let v = |i: usize| &case.inputs[i].values;
    let (x, y) = (v(0), case.inputs.get(1).map(|t| &t.values));
    let y = || y.expect("second operand");
    Some(match case.op {
        Op::Add { .. } => vec![clamp32(x[0] as i128 + y()[0] as i128)],
        Op::Sub { .. } => vec![clamp32(x[0] as i128 - y()[0] as i128)],
        Op::Mul { .. } => vec![q_mul(x[0], y()[0])],
        Op::Scale { factor, .. } => vec![q_mul(x[0], factor)],
        Op::Sgd { lr, .. } => vec![clamp32(x[0] as i128 - q_mul(lr, y()[0]) as i128)],
        Op::Relu { .. } => vec![if x[0] < 0 { 0 } else { x[0] }],
        Op::ReluGrad { .. } => vec![if x[0] >= 1 { y()[0] } else { 0 }],
        Op::AddBias { .. } => x.iter().zip(y()).map(|(&a, &b)| clamp32(a as i128 + b as i128)).collect(),
        Op::SumRows { .. } => vec![clamp32(x.iter().map(|&a| a as i128).sum())],
        Op::Transpose { .. } => {
            let (h, w) = (case.inputs[0].shape[0] as usize, case.inputs[0].shape[1] as usize);
            (0..h * w).map(|o| x[(o % h) * w + o / h]).collect()
        }
        Op::Gather { .. } => {
            let (r, t) = (x.len() as i128, y().len() as u64);
            let idx = y()[(case.step % t) as usize] as i128;
            vec![x[idx.rem_euclid(r) as usize]]
        }
        Op::Argmax { .. } => {
            let m = x.iter().max().expect("non-empty row");
            vec![x.iter().position(|v| v == m).expect("present") as i32]
        }
        Op::MatMul { k_chunk, .. } => (x.chunks(k_chunk as usize).zip(y().chunks(k_chunk as usize)))
            .map(|(a, b)| {
                let exact: i128 = a.iter().zip(b).map(|(&p, &q)| p as i128 * q as i128).sum();
                // The accumulator is a wrapping i64: reduce mod 2^64 into i64's range.
                let wrapped = (exact + (1 << 63)).rem_euclid(1 << 64) - (1 << 63);
                clamp32(round_div(wrapped, 16))
            })
            .collect(),
        Op::Softmax { .. } | Op::SoftmaxXentGrad { .. } | Op::XentLoss { .. } => return None,
    })
}

fn f(v: i32) -> f64 {
    v as f64 / ONE as f64
}

#[test]
fn reference_matches_exact_model() {
    let mut checked = 0;
    for op in OP_NAMES {
        let suite = suite(op);
        for id in suite.case_ids() {
            let case = suite.case(id);
            let Some(want) = exact_model(&case) else { break };
            assert_eq!(case.output.values, want, "{op} {id:?}: {:?} inputs {:?}", case.op, case.inputs);
            checked += 1;
            // Realistic products are the real product within half an ulp (f64 is
            // exact here: the values are under 2^19, the sums under 2^53).
            let real = |v: &[i32]| v.iter().all(|x| x.unsigned_abs() < 8 * ONE as u32);
            if let Op::Mul { .. } | Op::MatMul { .. } = case.op
                && case.inputs.iter().all(|t| real(&t.values))
            {
                let (a, b) = (&case.inputs[0].values, &case.inputs[1].values);
                let k = match case.op {
                    Op::MatMul { k_chunk, .. } => k_chunk as usize,
                    _ => 1,
                };
                for (s, (ca, cb)) in a.chunks(k).zip(b.chunks(k)).enumerate() {
                    let dot: f64 = ca.iter().zip(cb).map(|(&p, &q)| f(p) * f(q)).sum();
                    let err = (f(case.output.values[s]) - dot).abs() * ONE as f64;
                    assert!(err <= 0.5, "{op} {id:?}: {} vs real {dot}: {err} ulp", case.output.values[s]);
                }
            }
        }
    }
    assert!(checked >= 13 * MIN_SUITE_CASES, "{checked}");
}

/// Float softmax of a row in ulps of Q16.16, and the float exp sum `S` (in ulps).
fn softmax_f64(x: &[i32]) -> (Vec<f64>, f64) {
    let m = *x.iter().max().expect("non-empty") as i64;
    let e: Vec<f64> = x.iter().map(|&v| ((v as i64 - m) as f64 / ONE as f64).exp()).collect();
    let s: f64 = e.iter().sum();
    (e.iter().map(|v| v / s * ONE as f64).collect(), s * ONE as f64)
}

/// Largest error of `exp_neg` against float math, in ulps (measured: 0.84).
const EXP_ULPS: f64 = 1.0;
/// Largest error of `ln_ge1` against float math, in ulps (measured: 1.19; the
/// 16 squaring rounds truncate `log2`).
const LN_ULPS: f64 = 1.5;

#[test]
fn reference_exp_ln_near_float() {
    let (mut worst_exp, mut worst_ln) = ((0.0f64, 0), (0.0f64, 0));
    // Every 5th argument from the cut-off to 0, and a little past the cut-off.
    for d in (numerics::EXP_CUTOFF - 1000..=0).step_by(5).chain([i32::MIN, -1, 0, 1, i32::MAX]) {
        let err = (numerics::exp_neg(d) as f64 - f(d.min(0)).exp() * ONE as f64).abs();
        if err > worst_exp.0 {
            worst_exp = (err, d);
        }
    }
    // `ln` of every S an exp sum can reach (1.0 to 128.0) in steps of 3 ulps, then
    // the rest of the range coarsely.
    let sums = (ONE..=128 * ONE).step_by(3);
    for s in sums.chain((128 * ONE..i32::MAX - 1000).step_by(9973)).chain([i32::MAX]) {
        let err = (numerics::ln_ge1(s) as f64 - f(s).ln() * ONE as f64).abs();
        if err > worst_ln.0 {
            worst_ln = (err, s);
        }
    }
    eprintln!(
        "exp_neg: worst {:.3} ulp at {}; ln_ge1: worst {:.3} ulp at {}",
        worst_exp.0, worst_exp.1, worst_ln.0, worst_ln.1
    );
    assert!(worst_exp.0 <= EXP_ULPS, "exp_neg({}) is {} ulp off", worst_exp.1, worst_exp.0);
    assert!(worst_ln.0 <= LN_ULPS, "ln_ge1({}) is {} ulp off", worst_ln.1, worst_ln.0);
}

/// The error bound of one softmax probability, in ulps: each `e_j` is within
/// [`EXP_ULPS`], so `S` within `n * EXP_ULPS`; `p = e / S` moves by
/// `(|de| + p |dS|) / S`, plus the final rounding and a second-order margin.
fn softmax_bound(n: usize, p: f64, s: f64) -> f64 {
    ONE as f64 / s * EXP_ULPS * (1.0 + n as f64 * p / ONE as f64) + 0.5 + 0.05 * n as f64 / (s / ONE as f64)
}

#[test]
fn reference_softmax_near_float() {
    let suite = suite("softmax");
    let mut worst = (0.0f64, 0.0, None);
    for id in suite.case_ids() {
        let case = suite.case(id);
        let x = &case.inputs[0].values;
        let (want, s) = softmax_f64(x);
        for (&g, &w) in case.output.values.iter().zip(&want) {
            let (err, bound) = ((g as f64 - w).abs(), softmax_bound(x.len(), w, s));
            assert!(err <= bound, "softmax {id:?}: {g} vs {w}: {err} ulp, bound {bound}; row {x:?}");
            if err > worst.0 {
                worst = (err, bound, Some(id));
            }
        }
    }
    eprintln!("softmax: worst error {:.3} ulp (bound there {:.3}) at {:?}", worst.0, worst.1, worst.2);
}

/// Float cross-entropy of a row (`sum_j y_j (lse - x_j)`), in ulps.
fn xent_f64(x: &[i32], y: &[i32]) -> f64 {
    let m = *x.iter().max().expect("non-empty") as i64;
    let d: Vec<f64> = x.iter().map(|&v| (v as i64 - m) as f64 / ONE as f64).collect();
    let lse = d.iter().map(|v| v.exp()).sum::<f64>().ln();
    d.iter().zip(y).map(|(dj, &yj)| f(yj) * (lse - dj)).sum::<f64>() * ONE as f64
}

#[test]
fn reference_xent_near_float() {
    let suite = suite("xent_loss");
    let (mut worst, mut checked) = ((0.0f64, 0.0, None), 0);
    for id in suite.case_ids() {
        let case = suite.case(id);
        let (x, y) = (&case.inputs[0].values, &case.inputs[1].values);
        let spread = *x.iter().max().unwrap() as i64 - *x.iter().min().unwrap() as i64;
        let y_mass = y.iter().map(|v| f(*v).abs()).sum::<f64>();
        // Label mass and spread small enough that no term or the sum saturates.
        if y_mass > 2.0 || spread > 1 << 30 {
            continue;
        }
        checked += 1;
        // `ln S` is off by LN_ULPS plus what the n exp errors do to S; each of the n
        // terms rounds once.
        let (_, s) = softmax_f64(x);
        let n = x.len() as f64;
        let bound = y_mass * (LN_ULPS + n * EXP_ULPS * ONE as f64 / s + 0.5) + 0.5 * n + 0.5;
        let want = xent_f64(x, y);
        let err = (case.output.values[0] as f64 - want).abs();
        assert!(err <= bound, "xent {id:?}: {} vs {want}: {err} ulp, bound {bound}", case.output.values[0]);
        if err > worst.0 {
            worst = (err, bound, Some(id));
        }
    }
    eprintln!(
        "xent_loss: {checked} rows checked, worst error {:.3} ulp (bound {:.3}) at {:?}",
        worst.0, worst.1, worst.2
    );
    assert!(checked >= 4_000, "only {checked} rows checked");
}

#[test]
fn reference_softmax_xent_grad_near_float() {
    let suite = suite("softmax_xent_grad");
    let (mut worst, mut checked) = ((0.0f64, 0.0, None), 0);
    for id in suite.case_ids() {
        let case = suite.case(id);
        let Op::SoftmaxXentGrad { scale, .. } = case.op else { unreachable!() };
        let (x, y) = (&case.inputs[0].values, &case.inputs[1].values);
        // Where nothing saturates: labels and scale within 1.0.
        if scale.unsigned_abs() > ONE as u32 || y.iter().any(|v| v.unsigned_abs() > ONE as u32) {
            continue;
        }
        checked += 1;
        let (p, s) = softmax_f64(x);
        for ((&g, p), &t) in case.output.values.iter().zip(p).zip(y) {
            let want = (p - t as f64) * f(scale);
            let bound = softmax_bound(x.len(), p, s) * f(scale).abs() + 0.5;
            let err = (g as f64 - want).abs();
            assert!(err <= bound, "softmax_xent_grad {id:?}: {g} vs {want}: {err} ulp, bound {bound}");
            if err > worst.0 {
                worst = (err, bound, Some(id));
            }
        }
    }
    eprintln!(
        "softmax_xent_grad: {checked} rows checked, worst error {:.3} ulp (bound {:.3}) at {:?}",
        worst.0, worst.1, worst.2
    );
    assert!(checked >= MIN_SUITE_CASES / 4, "only {checked} rows checked");
}

// ---------------------------------------------------------------------------------
// The committed vectors.

fn vectors_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors")).to_path_buf()
}

/// `tests/vectors/*.json` are exactly what [`vectors::export`] writes now. With
/// `GAVEL_WRITE_VECTORS=1`, rewrites them instead.
#[test]
fn vectors_are_up_to_date() {
    let dir = vectors_dir();
    if std::env::var("GAVEL_WRITE_VECTORS").is_ok_and(|v| v == "1") {
        let written = vectors::export(&dir, MIN_EXPORT_CASES).expect("export");
        eprintln!("wrote {} files to {}", written.len(), dir.display());
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let written = vectors::export(tmp.path(), MIN_EXPORT_CASES).expect("export");
    let mut stale = Vec::new();
    for path in &written {
        let name = path.file_name().expect("file name");
        let fresh = std::fs::read(path).expect("read back");
        match std::fs::read(dir.join(name)) {
            Ok(old) if old == fresh => {}
            Ok(_) => stale.push(format!("{} differs", name.to_string_lossy())),
            Err(e) => stale.push(format!("{}: {e}", name.to_string_lossy())),
        }
    }
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !written.iter().any(|p| p.ends_with(&name)) {
            stale.push(format!("{name} is not written by the export"));
        }
    }
    assert!(
        stale.is_empty(),
        "{} is stale: {}.\nRegenerate with `GAVEL_WRITE_VECTORS=1 cargo test -p gavel-executor --test it vectors` \
         (or `gavel vectors export`) and commit the result.",
        dir.display(),
        stale.join("; ")
    );
}

/// The exported files follow `docs/vectors.md`: fields, operand names, shapes,
/// edge values first.
#[test]
fn vectors_follow_the_format() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert!(vectors::export(tmp.path(), MIN_EXPORT_CASES - 1).is_err(), "too few cases must be refused");
    let written = vectors::export(tmp.path(), MIN_EXPORT_CASES).expect("export");
    assert_eq!(written.len(), OP_NAMES.len());
    for (path, op) in written.iter().zip(OP_NAMES) {
        let bytes = std::fs::read(path).expect("read");
        assert!(bytes.len() < 2 << 20, "{op}: {} bytes", bytes.len());
        assert!(bytes.ends_with(b"}\n"));
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
        assert_eq!(json["format_version"], vectors::FORMAT_VERSION);
        assert_eq!(json["op"], op);
        assert_eq!(json["seed"], format!("{:#018x}", vectors::DEFAULT_SEED));
        let cases = json["cases"].as_array().expect("cases");
        assert_eq!(json["count"], cases.len());
        assert_eq!(cases.len(), MIN_EXPORT_CASES);
        assert!(json["suite_cases"].as_u64().expect("suite_cases") >= MIN_SUITE_CASES as u64);
        let suite = suite(op);
        let (mut min, mut max) = (false, false);
        for (i, (c, id)) in cases.iter().zip(suite.case_ids()).enumerate() {
            let case = suite.case(id);
            assert_eq!(c["id"], i);
            assert_eq!(c["step"], case.step);
            let keys: Vec<&str> = c.as_object().expect("object").keys().map(String::as_str).collect();
            let params = matches!(op, "mat_mul" | "scale" | "sgd" | "softmax_xent_grad");
            let want_keys: &[&str] = if params {
                &["id", "inputs", "output", "params", "step"]
            } else {
                &["id", "inputs", "output", "step"]
            };
            assert_eq!(keys, want_keys, "{op} case {i}");
            let inputs = c["inputs"].as_array().expect("inputs");
            assert_eq!(inputs.len(), case.inputs.len());
            for (t, want) in inputs.iter().zip(&case.inputs) {
                assert_eq!(t["name"], want.name);
                let values: Vec<i64> = t["values"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
                let shape: Vec<u64> = t["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
                assert_eq!(values.len() as u64, shape.iter().product::<u64>(), "{op} case {i}");
                min |= values.contains(&(i32::MIN as i64));
                max |= values.contains(&(i32::MAX as i64));
            }
            let out: Vec<i64> = c["output"]["values"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
            assert_eq!(out, case.output.values.iter().map(|&v| v as i64).collect::<Vec<_>>());
        }
        assert!(min && max, "{op}: the exported cases lack i32::MIN or i32::MAX inputs");
    }
}

//! Lowering of operators to kernels: which WGSL runs, what it binds, its parameters
//! and its grid.
//!
//! A shader is assembled from the 64-bit prelude (native or emulated), the numerics
//! constants generated from [`crate::numerics`], the shared numerics, a generated
//! binding header and the kernel's own file. Kernels read their inputs through
//! `ld0`, `ld1` and write through `st`; the header decides what those touch, which is
//! how an input that is also the output (an in-place operator) is read through the
//! output's binding instead of being bound twice.

use std::fmt::Write as _;

use crate::{
    numerics,
    program::{Op, Program, SlotId},
};

const PRELUDE_NATIVE: &str = include_str!("wgsl/prelude_native.wgsl");
const PRELUDE_EMULATED: &str = include_str!("wgsl/prelude_emulated.wgsl");
const NUMERICS: &str = include_str!("wgsl/numerics.wgsl");
const GRID: &str = include_str!("wgsl/grid.wgsl");
const ELEMENTWISE: &str = include_str!("wgsl/elementwise.wgsl");
const GATHER: &str = include_str!("wgsl/gather.wgsl");
const MATMUL: &str = include_str!("wgsl/matmul.wgsl");
const MATMUL_I32: &str = include_str!("wgsl/matmul_i32.wgsl");
const MATMUL_F32: &str = include_str!("wgsl/matmul_f32.wgsl");
const SUM_ROWS: &str = include_str!("wgsl/sum_rows.wgsl");
const TRANSPOSE: &str = include_str!("wgsl/transpose.wgsl");
const ROWS: &str = include_str!("wgsl/rows.wgsl");
const SOFTMAX: &str = include_str!("wgsl/softmax.wgsl");
const SOFTMAX_XENT_GRAD: &str = include_str!("wgsl/softmax_xent_grad.wgsl");
const XENT_LOSS: &str = include_str!("wgsl/xent_loss.wgsl");
const ARGMAX: &str = include_str!("wgsl/argmax.wgsl");

/// Invocations per workgroup of the element kernels (`elementwise`, `gather`,
/// `sum_rows`, `transpose`). This and the next two are emitted into every shader.
const ELEMENT_GROUP: u32 = 256;
/// Invocations (rows) per workgroup of the row kernels.
const ROW_GROUP: u32 = 64;
/// Side of the output tile of one matmul workgroup.
const TILE: u32 = 64;

/// One compiled kernel per operator kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kernel {
    Gather,
    MatMul,
    SumRows,
    Add,
    Sub,
    Mul,
    AddBias,
    Scale,
    Relu,
    ReluGrad,
    Transpose,
    Softmax,
    SoftmaxXentGrad,
    XentLoss,
    Sgd,
    Argmax,
}

impl Kernel {
    /// Whether an input may be read through the output's binding when it is the output
    /// slot: true when every invocation reads the elements it writes, and no other
    /// invocation reads them, before writing them.
    pub(super) fn in_place(self) -> bool {
        !matches!(self, Kernel::Gather | Kernel::MatMul | Kernel::Transpose)
    }

    /// The kernel's own WGSL (after the prelude, numerics and binding header). The
    /// element-wise kernels share one entry point around their formula for `dst[i]`.
    fn body(self) -> String {
        let element = |expr: &str| format!("fn element(i: u32) -> i32 {{ return {expr}; }}\n\n{ELEMENTWISE}");
        match self {
            Kernel::Add => element("add_sat(ld0(i), ld1(i))"),
            Kernel::Sub => element("sub_sat(ld0(i), ld1(i))"),
            Kernel::Mul => element("fx_mul(ld0(i), ld1(i))"),
            Kernel::AddBias => element("add_sat(ld0(i), ld1(i % P.n))"),
            Kernel::Scale => element("fx_mul(ld0(i), P.c)"),
            Kernel::Relu => element("max(ld0(i), 0)"),
            Kernel::ReluGrad => element("select(0, ld1(i), ld0(i) > 0)"),
            Kernel::Sgd => element("sub_sat(ld0(i), fx_mul(P.c, ld1(i)))"),
            Kernel::Gather => GATHER.into(),
            Kernel::MatMul => format!("{MATMUL_I32}\n{MATMUL}"),
            Kernel::SumRows => SUM_ROWS.into(),
            Kernel::Transpose => TRANSPOSE.into(),
            Kernel::Softmax => format!("{ROWS}\n{SOFTMAX}"),
            Kernel::SoftmaxXentGrad => format!("{ROWS}\n{SOFTMAX_XENT_GRAD}"),
            Kernel::XentLoss => format!("{ROWS}\n{XENT_LOSS}"),
            Kernel::Argmax => format!("{ROWS}\n{ARGMAX}"),
        }
    }
}

/// Which inputs of a kernel are read through the output binding (bit `k` for input `k`).
pub(super) type AliasMask = u8;

/// Binding index of input `k`; the parameters are at 0 and the output after the inputs.
pub(super) fn input_binding(k: usize) -> u32 {
    1 + k as u32
}

/// Binding index of the output of a kernel with `inputs` inputs.
pub(super) fn output_binding(inputs: usize) -> u32 {
    1 + inputs as u32
}

/// The complete WGSL of `kernel` with `inputs` inputs, the aliased ones read from `dst`.
pub(super) fn shader_source(kernel: Kernel, inputs: usize, alias: AliasMask, native_i64: bool) -> String {
    let mut src = String::new();
    src.push_str(if native_i64 { PRELUDE_NATIVE } else { PRELUDE_EMULATED });
    src.push('\n');
    src.push_str(&numerics_constants());
    src.push_str(NUMERICS);
    src.push('\n');
    src.push_str(&grid_source());
    src.push_str("@group(0) @binding(0) var<uniform> P: Params;\n");
    for k in 0..inputs {
        if alias & (1 << k) != 0 {
            let _ = writeln!(src, "fn ld{k}(i: u32) -> i32 {{ return dst[i]; }}");
        } else {
            let _ = writeln!(
                src,
                "@group(0) @binding({}) var<storage, read> in{k}: array<i32>;\n\
                 fn ld{k}(i: u32) -> i32 {{ return in{k}[i]; }}",
                input_binding(k)
            );
        }
    }
    let _ = writeln!(
        src,
        "@group(0) @binding({}) var<storage, read_write> dst: array<i32>;\n\
         fn st(i: u32, v: i32) {{ dst[i] = v; }}\n",
        output_binding(inputs)
    );
    src.push_str(&kernel.body());
    src
}

/// The WGSL of the f32 matmul baseline.
pub(super) fn f32_matmul_source() -> String {
    format!("{}{MATMUL_F32}\n{MATMUL}", grid_source())
}

/// The workgroup shapes the host sizes grids with, and the grid helper.
fn grid_source() -> String {
    format!(
        "const ELEMENT_GROUP: u32 = {ELEMENT_GROUP}u;\n\
         const ROW_GROUP: u32 = {ROW_GROUP}u;\n\
         const TILE: u32 = {TILE}u;\n\
         {GRID}\n"
    )
}

/// The constants of `numerics.rs`, so that the shaders cannot drift from them.
fn numerics_constants() -> String {
    let poly = numerics::EXP2_POLY_Q28.map(|c| c.to_string()).join(", ");
    format!(
        "const FRAC_BITS: u32 = {}u;\n\
         const ONE: i32 = {};\n\
         const LOG2E_Q16: i32 = {};\n\
         const LN2_Q31: i32 = {};\n\
         const EXP_CUTOFF: i32 = {};\n\
         const EXP2_POLY_Q28 = array<i32, 8>({poly});\n\n",
        numerics::FRAC_BITS,
        numerics::ONE,
        numerics::LOG2E_Q16,
        numerics::LN2_Q31,
        numerics::EXP_CUTOFF,
    )
}

/// Everything needed to record one operator.
#[derive(Debug)]
pub(super) struct Launch {
    pub(super) kernel: Kernel,
    /// Input slots in binding order (`in0`, `in1`).
    pub(super) inputs: Vec<SlotId>,
    /// The slot it writes.
    pub(super) out: SlotId,
    /// The uniform `Params` of the kernel, as 32-bit words.
    pub(super) params: Vec<u32>,
    /// Workgroups that do work.
    pub(super) groups: u32,
    /// For Gather: the index slot's `(T, B)`; the word at [`GATHER_ROW_WORD`] of
    /// `params` is `(step mod T) * B` and is rewritten per step.
    pub(super) gather: Option<(u64, u32)>,
}

impl Launch {
    /// Whether the kernel must write a scratch buffer (copied into the output slot
    /// afterwards) because an input is the output slot and the kernel cannot run in place.
    pub(super) fn through_scratch(&self) -> bool {
        !self.kernel.in_place() && self.inputs.contains(&self.out)
    }
}

/// Position of `row_off` in Gather's parameters.
pub(super) const GATHER_ROW_WORD: usize = 3;

/// Lowers one operator of `program`.
pub(super) fn lower(program: &Program, op: &Op) -> Launch {
    let shape = |id: SlotId| program.shape(id);
    let out = op.output();
    let len = program.slots[out as usize].len() as u32;
    let elements = len.div_ceil(ELEMENT_GROUP);
    // Element-wise: [len, n, c, 0]; row kernels: [rows, n, c, 0].
    let element = |n: u32, c: i32| (vec![len, n, c as u32, 0], elements);
    let rows = |a: SlotId, c: i32| (vec![shape(a)[0], shape(a)[1], c as u32, 0], shape(a)[0].div_ceil(ROW_GROUP));
    let ((params, groups), kernel, inputs) = match *op {
        Op::Gather { table, index, .. } => {
            ((vec![len, shape(table)[1], shape(table)[0], 0], elements), Kernel::Gather, vec![table, index])
        }
        Op::MatMul { a, b, trans_a, trans_b, k_chunk, .. } => {
            let d = program.matmul_dims(a, b, trans_a, trans_b, k_chunk);
            // A is stored [M, K] (or [K, M] when transposed), B [K, N] (or [N, K]).
            let (a_i, a_k) = if trans_a { (1, d.m) } else { (d.k, 1) };
            let (b_k, b_j) = if trans_b { (1, d.k) } else { (d.n, 1) };
            (matmul_params(d.m, d.n, d.k, k_chunk, [a_i, a_k, b_k, b_j]), Kernel::MatMul, vec![a, b])
        }
        Op::SumRows { a, .. } => ((vec![len, shape(a)[0], 0, 0], elements), Kernel::SumRows, vec![a]),
        Op::Add { a, b, .. } => (element(0, 0), Kernel::Add, vec![a, b]),
        Op::Sub { a, b, .. } => (element(0, 0), Kernel::Sub, vec![a, b]),
        Op::Mul { a, b, .. } => (element(0, 0), Kernel::Mul, vec![a, b]),
        Op::AddBias { a, bias, .. } => (element(shape(a)[1], 0), Kernel::AddBias, vec![a, bias]),
        Op::Scale { a, factor, .. } => (element(0, factor), Kernel::Scale, vec![a]),
        Op::Relu { a, .. } => (element(0, 0), Kernel::Relu, vec![a]),
        Op::ReluGrad { pre, grad, .. } => (element(0, 0), Kernel::ReluGrad, vec![pre, grad]),
        Op::Sgd { param, grad, lr, .. } => (element(0, lr), Kernel::Sgd, vec![param, grad]),
        Op::Transpose { a, .. } => ((vec![len, shape(a)[0], shape(a)[1], 0], elements), Kernel::Transpose, vec![a]),
        Op::Softmax { a, .. } => (rows(a, 0), Kernel::Softmax, vec![a]),
        Op::SoftmaxXentGrad { logits, labels, scale, .. } => {
            (rows(logits, scale), Kernel::SoftmaxXentGrad, vec![logits, labels])
        }
        Op::XentLoss { logits, labels, .. } => (rows(logits, 0), Kernel::XentLoss, vec![logits, labels]),
        Op::Argmax { a, .. } => (rows(a, 0), Kernel::Argmax, vec![a]),
    };
    let gather = match *op {
        Op::Gather { index, .. } => Some((shape(index)[0] as u64, shape(index)[1])),
        _ => None,
    };
    Launch { kernel, inputs, out, params, groups, gather }
}

/// The `Params` words of matmul.wgsl and the number of workgroups, for an `[m, k] x
/// [k, n]` product in chunks of `kc` with element strides `[a_i, a_k, b_k, b_j]`.
pub(super) fn matmul_params(m: u32, n: u32, k: u32, kc: u32, strides: [u32; 4]) -> (Vec<u32>, u32) {
    let tiles_n = n.div_ceil(TILE);
    let tiles = m.div_ceil(TILE) * tiles_n;
    let groups = tiles * k.div_ceil(kc);
    let mut params = vec![m, n, k, kc, tiles_n, tiles, groups, 0];
    params.extend(strides);
    (params, groups)
}

/// A grid of at least `groups` workgroups with no dimension above `max_dim`.
pub(super) fn grid(groups: u32, max_dim: u32) -> Option<(u32, u32)> {
    let x = groups.clamp(1, max_dim);
    let y = groups.div_ceil(x);
    (y <= max_dim).then_some((x, y))
}

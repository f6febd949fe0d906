// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

// The values a dispute game and its factory share (docs/contracts.md, "Dispute game").

/// @notice The two sides of a game.
enum Party {
    Solver,
    Challenger
}

/// @notice Where a game is.
/// @dev `Checkpoints` (bisection over `h_0..h_N`) -> `StepCommit` (both commit their
///      op-level roots of step `i`) -> `Ops` (bisection over `M_{i,0..K}`) -> `Slot` (both
///      reveal the written slot's chunk tree root) -> `Descent` (down the output tensor's
///      chunk tree) -> `ChunkReveal` (both publish the disputed chunk's bytes; skipped for
///      the element-wise operators) -> `Replay` (the chunk, or one element of it,
///      recomputed on-chain) -> `Resolved`. A phase with
///      nothing left to bisect is skipped; a timeout or a decisive check resolves early.
enum Phase {
    Checkpoints,
    StepCommit,
    Ops,
    Slot,
    Descent,
    ChunkReveal,
    Replay,
    Resolved
}

/// @notice Why a game ended.
enum Outcome {
    None,
    Replayed,
    Padding,
    NoDisagreement,
    Timeout,
    Unbound
}

/// @notice The program commitment a job is bound to (docs/contracts.md, "Program root"):
///         `keccak256(0x07 ‖ initialMemory ‖ slots (u32 BE) ‖ ops (u32 BE) ‖ opTree)`.
/// @param initialMemory `h_0`, the memory root before the first step.
/// @param slots The program's slot count.
/// @param ops `K`, the operators of one step.
/// @param opTree The root of the tree over the op descriptor leaves, in program order.
struct ProgramCommitment {
    bytes32 initialMemory;
    uint32 slots;
    uint32 ops;
    bytes32 opTree;
}

/// @notice One operator of the step body, as committed in the op tree:
///         leaf `keccak256(0x06 ‖ abi.encode(descriptor))`.
/// @param kind The operator (`OpKind`).
/// @param out The slot it writes.
/// @param inputs The slots it reads, in the operator's argument order (docs/numerics.md).
/// @param shapes `shapes[0]` the output slot's shape, `shapes[1 + j]` input `j`'s.
/// @param param The Q16.16 scalar: `scale`'s factor, `sgd`'s learning rate,
///        `softmax_xent_grad`'s scale; 0 otherwise.
/// @param kChunk `mat_mul`'s reduction chunk; 0 otherwise.
/// @param transA `mat_mul`'s `trans_a`.
/// @param transB `mat_mul`'s `trans_b`.
struct OpDescriptor {
    uint8 kind;
    uint32 out;
    uint32[] inputs;
    uint32[][] shapes;
    int32 param;
    uint32 kChunk;
    bool transA;
    bool transB;
}

/// @title OpKind
/// @notice Operator numbers in op descriptors: the order of docs/numerics.md's table.
library OpKind {
    /// @notice `gather(table, index)`.
    uint8 internal constant GATHER = 0;
    /// @notice `mat_mul(a, b)`.
    uint8 internal constant MAT_MUL = 1;
    /// @notice `sum_rows(a)`.
    uint8 internal constant SUM_ROWS = 2;
    /// @notice `add(a, b)`.
    uint8 internal constant ADD = 3;
    /// @notice `sub(a, b)`.
    uint8 internal constant SUB = 4;
    /// @notice `mul(a, b)`.
    uint8 internal constant MUL = 5;
    /// @notice `add_bias(a, bias)`.
    uint8 internal constant ADD_BIAS = 6;
    /// @notice `scale(a)`, factor in `param`.
    uint8 internal constant SCALE = 7;
    /// @notice `relu(a)`.
    uint8 internal constant RELU = 8;
    /// @notice `relu_grad(pre, grad)`.
    uint8 internal constant RELU_GRAD = 9;
    /// @notice `transpose(a)`.
    uint8 internal constant TRANSPOSE = 10;
    /// @notice `softmax(a)`.
    uint8 internal constant SOFTMAX = 11;
    /// @notice `softmax_xent_grad(logits, labels)`, scale in `param`.
    uint8 internal constant SOFTMAX_XENT_GRAD = 12;
    /// @notice `xent_loss(logits, labels)`.
    uint8 internal constant XENT_LOSS = 13;
    /// @notice `sgd(param, grad)`, learning rate in `param`.
    uint8 internal constant SGD = 14;
    /// @notice `argmax(a)`.
    uint8 internal constant ARGMAX = 15;
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {GameId, JobId} from "../interfaces/Types.sol";
import {GavelMerkle} from "../merkle/GavelMerkle.sol";
import {OpDescriptor, Outcome, Party, Phase} from "./GameTypes.sol";
import {OneStepReplay} from "./OneStepReplay.sol";

/// @title IDisputeGame
/// @notice One dispute between a solver and a challenger over one job's result: bisection
///         over checkpoints, then over the operators of the disputed step, then down the
///         written slot's chunk tree, then one chunk recomputed on-chain
///         (docs/contracts.md, "Dispute game"). Chess clocks: a party that owes a move and
///         has used up its clock loses; anyone may call `timeout`.
interface IDisputeGame {
    ////////////////////////////////////////////////////////////////
    //                           ERRORS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice The caller is neither party.
    /// @param caller The caller.
    error NotAParty(address caller);

    /// @notice The move is not one of the current phase.
    /// @param phase The current phase.
    /// @param expected The phase the move belongs to.
    error WrongPhase(Phase phase, Phase expected);

    /// @notice The party already moved in this round.
    /// @param party The party.
    error AlreadyMoved(Party party);

    /// @notice The party's clock ran out; it can no longer move (anyone may call `timeout`).
    /// @param party The party.
    /// @param elapsed Seconds since the round started.
    /// @param remaining Seconds it had left at the round's start.
    error ClockExpired(Party party, uint256 elapsed, uint256 remaining);

    /// @notice No party that owes a move has run out of time.
    /// @param phase The current phase.
    error NoTimeout(Phase phase);

    /// @notice A proof opens another position than the one the game asks for.
    /// @param expected The position (step, op, slot or chunk) asked for.
    /// @param actual The position the proof opens.
    error WrongPosition(uint256 expected, uint256 actual);

    /// @notice A proof is for a tree of another size than the committed one.
    /// @param expected The committed size.
    /// @param actual The size the proof claims.
    error WrongCount(uint256 expected, uint256 actual);

    /// @notice A proof does not hash to the commitment it must match.
    /// @param what Which proof: "checkpoint", "op root", "slot", "descriptor", "chunk",
    ///        "children", "post-state".
    /// @param party The party whose commitment it was checked against (the solver's for
    ///        the agreed pre-state).
    error InvalidProof(bytes32 what, Party party);

    /// @notice A revealed root does not equal the root it must equal.
    /// @param what Which: "h_i", "h_{i+1}", "output", "descriptor".
    /// @param expected The root it must equal.
    /// @param actual The root given.
    error RootMismatch(bytes32 what, bytes32 expected, bytes32 actual);

    /// @notice The disputed operator cannot be replayed by this game version.
    /// @param kind The operator.
    error UnsupportedOperator(uint8 kind);

    /// @notice The op descriptor is malformed for its operator.
    /// @param kind The operator.
    error MalformedDescriptor(uint8 kind);

    /// @notice The job has no program commitment, so nothing can be replayed; use
    ///         `resolveUnbound`.
    error ProgramUnbound();

    /// @notice The job has a program commitment.
    error ProgramBound();

    /// @notice This replay entry point is not the one for the disputed operator: `replay`
    ///         for the element-wise ones, `replayElement` for the others.
    /// @param kind The operator.
    error WrongReplay(uint8 kind);

    /// @notice The two revealed chunks hold the same value at the element chosen.
    /// @param index The element's index within the chunk.
    error SameElement(uint256 index);

    /// @notice The element index is past the end of the chunk.
    /// @param index The index.
    /// @param length Elements in the chunk.
    error IndexPastChunk(uint256 index, uint256 length);

    ////////////////////////////////////////////////////////////////
    //                           EVENTS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice A party revealed `h_step` (phase `Checkpoints`).
    /// @param game The game.
    /// @param party The party.
    /// @param step The step.
    /// @param root Its `h_step`.
    event CheckpointRevealed(GameId indexed game, Party indexed party, uint64 step, bytes32 root);

    /// @notice A party committed its op-level roots of the disputed step.
    /// @param game The game.
    /// @param party The party.
    /// @param step The step.
    /// @param stepRoot Its step root over `M_{i,0..K}`.
    event StepCommitted(GameId indexed game, Party indexed party, uint64 step, bytes32 stepRoot);

    /// @notice A party revealed `M_{step,op}` (phase `Ops`).
    /// @param game The game.
    /// @param party The party.
    /// @param op The op boundary `j`.
    /// @param root Its `M_{i,j}`.
    event OpRootRevealed(GameId indexed game, Party indexed party, uint32 op, bytes32 root);

    /// @notice A party revealed the chunk tree root of the slot the disputed op writes.
    /// @param game The game.
    /// @param party The party.
    /// @param slot The slot.
    /// @param dataRoot Its chunk tree root after the op.
    event SlotRevealed(GameId indexed game, Party indexed party, uint32 slot, bytes32 dataRoot);

    /// @notice A party revealed the two children of its current chunk tree node.
    /// @param game The game.
    /// @param party The party.
    /// @param level The children's height (0: chunk leaves).
    /// @param left The left child.
    /// @param right The right child.
    event ChildrenRevealed(GameId indexed game, Party indexed party, uint256 level, bytes32 left, bytes32 right);

    /// @notice A party published the bytes of its disputed chunk.
    /// @param game The game.
    /// @param party The party.
    /// @param chunk The chunk index.
    /// @param data Its little-endian bytes.
    event ChunkRevealed(GameId indexed game, Party indexed party, uint64 chunk, bytes data);

    /// @notice One element of the disputed chunk was recomputed on-chain.
    /// @param game The game.
    /// @param element The flat output position.
    /// @param value The recomputed value.
    event ElementReplayed(GameId indexed game, uint256 element, int32 value);

    /// @notice Both parties moved: the round is settled and the next one starts.
    /// @param game The game.
    /// @param phase The phase the next round is in.
    /// @param lo The agreed position (checkpoint, op boundary or chunk-tree node index).
    /// @param hi The first disputed position (phases `Checkpoints`, `Ops`), else 0.
    event RoundSettled(GameId indexed game, Phase phase, uint64 lo, uint64 hi);

    /// @notice The disputed chunk was recomputed on-chain.
    /// @param game The game.
    /// @param chunk The chunk index in the output slot.
    /// @param leaf The recomputed chunk leaf.
    event Replayed(GameId indexed game, uint64 chunk, bytes32 leaf);

    /// @notice The game ended and reported to the market.
    /// @param game The game.
    /// @param job The job.
    /// @param solverWon Whether the solver's result stood.
    /// @param outcome Why it ended.
    event GameResolved(GameId indexed game, JobId indexed job, bool solverWon, Outcome outcome);

    ////////////////////////////////////////////////////////////////
    //                           MOVES                            //
    ////////////////////////////////////////////////////////////////

    /// @notice Phase `Checkpoints`: reveal `h_mid`, `mid = lo + (hi - lo) / 2`, against the
    ///         caller's own trace root.
    /// @param _proof `h_mid` with its path (`count` = steps + 1).
    function revealCheckpoint(GavelMerkle.CheckpointProof calldata _proof) external;

    /// @notice Phase `StepCommit`: commit the op-level roots `M_{i,0..K}` of the disputed
    ///         step `i` as a step root, opened at both ends: `M_{i,0}` must be the agreed
    ///         `h_i` and `M_{i,K}` the caller's `h_{i+1}`.
    /// @param _stepRoot The step root.
    /// @param _first `M_{i,0}` in `_stepRoot`.
    /// @param _last `M_{i,K}` in `_stepRoot`.
    /// @param _end `h_{i+1}` in the caller's trace root when `i + 1` is the last step (never
    ///        revealed in the bisection); ignored otherwise (pass an empty proof).
    function commitStep(
        bytes32 _stepRoot,
        GavelMerkle.OpRootProof calldata _first,
        GavelMerkle.OpRootProof calldata _last,
        GavelMerkle.CheckpointProof calldata _end
    ) external;

    /// @notice Phase `Ops`: reveal `M_{i,mid}` against the caller's step root.
    /// @param _proof `M_{i,mid}` with its path.
    function revealOpRoot(GavelMerkle.OpRootProof calldata _proof) external;

    /// @notice Phase `Slot`: open the disputed op's descriptor against the job's program
    ///         commitment and reveal the chunk tree root the caller's post-state gives the
    ///         slot it writes. The post-state must be the agreed pre-state with only that
    ///         slot changed: the same slot path, with the new slot root in place.
    /// @param _op The descriptor of op `j`.
    /// @param _opPath Its path in the op tree.
    /// @param _pre The written slot in the agreed pre-state `M_{i,j}`.
    /// @param _dataRoot The caller's chunk tree root of the written slot after the op.
    function revealSlot(
        OpDescriptor calldata _op,
        bytes32[] calldata _opPath,
        GavelMerkle.SlotProof calldata _pre,
        bytes32 _dataRoot
    ) external;

    /// @notice Phase `Descent`: reveal the two children of the caller's current node.
    /// @param _left The left child.
    /// @param _right The right child.
    function revealChildren(bytes32 _left, bytes32 _right) external;

    /// @notice Phase `ChunkReveal`: publish the bytes of the caller's disputed chunk (its
    ///         current leaf), so that anyone can replay an element where the two differ.
    /// @param _data The chunk's little-endian bytes.
    function revealChunk(bytes calldata _data) external;

    /// @notice Phase `Replay` (anyone), non-element-wise operators: recompute element
    ///         `_index` of the disputed chunk, where the two revealed chunks differ, from
    ///         inputs opened against the agreed pre-state; the party whose value differs
    ///         from it loses.
    /// @param _op The disputed op's descriptor (as revealed).
    /// @param _index The element's index within the chunk.
    /// @param _solverChunk The solver's revealed chunk bytes.
    /// @param _challengerChunk The challenger's revealed chunk bytes.
    /// @param _inputs One opening per input of the op, in argument order.
    function replayElement(
        OpDescriptor calldata _op,
        uint256 _index,
        bytes calldata _solverChunk,
        bytes calldata _challengerChunk,
        OneStepReplay.InputOpening[] calldata _inputs
    ) external;

    /// @notice Phase `Replay` (anyone), element-wise operators: recompute the disputed
    ///         chunk from the inputs opened against the agreed pre-state; the party whose
    ///         chunk leaf differs loses.
    /// @param _op The disputed op's descriptor (as revealed).
    /// @param _slots Each input's slot in the agreed pre-state, in argument order.
    /// @param _chunks Each input's chunk that the disputed chunk reads.
    function replay(
        OpDescriptor calldata _op,
        GavelMerkle.SlotProof[] calldata _slots,
        GavelMerkle.ChunkProof[] calldata _chunks
    ) external;

    /// @notice Anyone: ends the game against the party that owes a move and ran out of
    ///         time (both: the one that ran out first; a tie: the challenger).
    function timeout() external;

    /// @notice Anyone: ends a game on a job without a program commitment for the
    ///         challenger (such a result cannot be checked; docs/contracts.md).
    function resolveUnbound() external;
}

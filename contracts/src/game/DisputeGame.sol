// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDisputeResolver} from "../interfaces/IDisputeGameFactory.sol";
import {GameId, JobId} from "../interfaces/Types.sol";
import {GavelMerkle} from "../merkle/GavelMerkle.sol";
import {OperatorReplay} from "../replay/OperatorReplay.sol";
import {CloneWithArgs} from "./CloneWithArgs.sol";
import {GameArgs} from "./GameArgs.sol";
import {OpDescriptor, OpKind, Outcome, Party, Phase} from "./GameTypes.sol";
import {IDisputeGame} from "./IDisputeGame.sol";
import {OneStepReplay} from "./OneStepReplay.sol";

/// @title DisputeGame
/// @notice One dispute over one job's result, between the solver and one challenger
///         (docs/contracts.md, "Dispute game"). Both sides are committed before they play:
///         the solver's trace and output roots with its result, the challenger's trace root
///         with its challenge, and the job's program commitment (initial memory and op
///         table) with the job. Every round both sides reveal the same position with a proof
///         against their own commitment; the contract compares and narrows: checkpoints,
///         then the op-level roots of the disputed step, then the written slot's chunk tree,
///         then one chunk is recomputed from inputs opened against the agreed pre-state.
/// @dev Rounds are simultaneous: each party owes one move per round and its chess clock
///      runs from the round's start until it moves. A party that owes a move past its clock
///      loses (`timeout`, callable by anyone). The game holds no ether: the market moves the
///      bond, the collateral and the reward when the game reports (`resolveDispute`), which
///      is the game's only external call and its last action (checks-effects-interactions).
///      Every loop is bounded: paths by `GavelMerkle` (64), a replayed chunk by 512 elements.
///      Each game is a clone (`CloneWithArgs`) of one implementation that
///      `DisputeGameDeployer` deploys once: its parameters (`MARKET` ... `REPLAYER`) are
///      immutable arguments in the clone's code at `GameArgs`' offsets, and `initialize`
///      (the deployer only, once) writes the first round's storage. The implementation
///      itself is initialised and resolved by its constructor, so it cannot be played.
contract DisputeGame is IDisputeGame {
    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Semantic version of the game.
    string public constant version = "0.2.0";

    /// @notice Largest written slot the game accepts (the program format allows 2^26).
    uint256 public constant MAX_ELEMENTS = 1 << 32;

    ////////////////////////////////////////////////////////////////
    //                           ERRORS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice Only the deployer of the implementation may initialise a clone of it.
    /// @param caller The caller.
    error NotInitializer(address caller);

    /// @notice The game is already initialised (or is the implementation itself).
    error AlreadyInitialized();

    ////////////////////////////////////////////////////////////////
    //                        IMMUTABLES                          //
    ////////////////////////////////////////////////////////////////

    /// @dev Who may initialise the clones (the `DisputeGameDeployer` that deployed this
    ///      implementation). A Solidity immutable lives in the implementation's code, which
    ///      every clone runs, so it is the same for all of them.
    address internal immutable INITIALIZER;

    ////////////////////////////////////////////////////////////////
    //                          STORAGE                           //
    ////////////////////////////////////////////////////////////////

    /// @notice One party's state, as `sideOf` returns it.
    /// @param hi Its root at the first disputed position (`h_hi`, then `M_{i,hi}`).
    /// @param stepRoot Its step root (from phase `StepCommit`).
    /// @param a Its reveal of this round (a root, a data root, the current node, or the
    ///        left child), kept after the round as the current node in `Slot`/`Descent`.
    /// @param b Its right child (phase `Descent`).
    /// @param remaining Seconds left on its clock at the current round's start.
    /// @param moved Whether it moved in the current round.
    struct Side {
        bytes32 hi;
        bytes32 stepRoot;
        bytes32 a;
        bytes32 b;
        uint64 remaining;
        bool moved;
    }

    /// @dev One party's roots (its clock and `moved` flag are in `Round`).
    /// @param hi Its root at the first disputed position (`h_hi`, then `M_{i,hi}`).
    /// @param stepRoot Its step root (from phase `StepCommit`).
    /// @param a Its reveal of this round (see `Side`).
    /// @param b Its right child (phase `Descent`).
    struct Roots {
        bytes32 hi;
        bytes32 stepRoot;
        bytes32 a;
        bytes32 b;
    }

    /// @dev Everything a move reads and writes besides the roots, in one storage word
    ///      (1 + 1 + 1 + 8 + 8 + 5 + 4 + 4 = 32 bytes), so that a move reads one cold slot
    ///      and rewrites it once (docs/contracts.md, "Storage"). Each move copies it to
    ///      memory once (`_party`) and writes it back once (`_next`, `_resolve`, or at the
    ///      end of a round's first move).
    /// @param phase The current phase.
    /// @param flags `MOVED_SOLVER`, `MOVED_CHALLENGER`, `HI_KNOWN`, `INITIALIZED`.
    /// @param level Height of the current chunk-tree nodes (phase `Descent`; 0 at a leaf).
    /// @param lo The agreed position: a checkpoint, then an op boundary.
    /// @param hi The first disputed position: a checkpoint, then an op boundary.
    /// @param start When the current round started (a `uint40` lasts until the year 36812).
    /// @param remaining0 Seconds left on the solver's clock at the round's start.
    /// @param remaining1 The challenger's (both clamped to `uint32` at initialisation:
    ///        136 years).
    struct Round {
        Phase phase;
        uint8 flags;
        uint8 level;
        uint64 lo;
        uint64 hi;
        uint40 start;
        uint32 remaining0;
        uint32 remaining1;
    }

    /// @dev `Round.flags`: the solver moved in the current round.
    uint8 internal constant MOVED_SOLVER = 1;
    /// @dev `Round.flags`: the challenger moved in the current round.
    uint8 internal constant MOVED_CHALLENGER = 2;
    /// @dev `Round.flags`: the parties' roots at `hi` were revealed (false while `hi = N`).
    uint8 internal constant HI_KNOWN = 4;
    /// @dev `Round.flags`: `initialize` ran (set in the implementation's constructor, so
    ///      that the implementation itself can never be initialised or played).
    uint8 internal constant INITIALIZED = 8;

    /// @dev The round: phase, positions, clocks, flags (see `Round`).
    Round internal _round;

    /// @notice The disputed step `i` (set when phase `StepCommit` starts).
    uint64 public step;

    /// @notice The disputed operator `j` (set when phase `Slot` starts).
    uint32 public opIndex;

    /// @notice Index of the current chunk-tree node at `level` (a chunk at level 0).
    uint64 public chunk;

    /// @notice Chunks of the written slot.
    uint64 public chunks;

    /// @notice The disputed op's kind (`OpKind`, phase `Slot` on).
    uint8 public opKind;

    /// @notice How the game ended.
    Outcome public outcome;

    /// @notice Whether the solver won (meaningful once resolved).
    bool public solverWon;

    /// @dev Written 1 at initialisation so that the word above (31 bytes) is never zero
    ///      and its first write in a move costs 5,000 gas, not 22,100.
    uint8 internal _nonZero1;

    /// @notice Elements of the written slot.
    uint64 public elements;

    /// @dev As `_nonZero1`, for `elements`' word.
    uint8 internal _nonZero2;

    /// @notice The agreed memory root at `lo`: `h_lo`, then `M_{i,lo}`.
    bytes32 public agreed;

    /// @notice `keccak256(abi.encode(descriptor))` of the disputed op once revealed (1
    ///         before).
    bytes32 public descriptorHash;

    /// @dev Solver (0) and challenger (1).
    Roots[2] internal _sides;

    ////////////////////////////////////////////////////////////////
    //                 CONSTRUCTOR, INITIALISATION                //
    ////////////////////////////////////////////////////////////////

    /// @notice Deploys the implementation every game is a clone of (`DisputeGameDeployer`
    ///         does, once). The implementation is resolved and initialised from the start,
    ///         so no move, `timeout`, `resolveUnbound` or `initialize` works on it.
    constructor() {
        INITIALIZER = msg.sender;
        _round.flags = INITIALIZED;
        _round.phase = Phase.Resolved;
    }

    /// @notice Opens the game: called once by the deployer, in the transaction that
    ///         creates the clone, which carries the parameters as immutable arguments
    ///         (`GameArgs`). Starts the first round.
    function initialize() external {
        if (msg.sender != INITIALIZER) revert NotInitializer(msg.sender);
        if (_round.flags & INITIALIZED != 0) revert AlreadyInitialized();
        uint64 steps = STEPS();
        uint64 clock = CLOCK();
        // A clock past 136 years is as good as endless.
        // forge-lint: disable-next-line(unsafe-typecast) clamped to a uint32.
        uint32 remaining = clock > type(uint32).max ? type(uint32).max : uint32(clock);
        _round = Round({
            phase: steps == 1 ? Phase.StepCommit : Phase.Checkpoints,
            flags: INITIALIZED,
            level: 0,
            lo: 0,
            hi: steps,
            // forge-lint: disable-next-line(unsafe-typecast) a timestamp before the year 36812.
            start: uint40(block.timestamp),
            remaining0: remaining,
            remaining1: remaining
        });
        agreed = INITIAL_MEMORY();
        // Every word a move writes starts non-zero (the roots 1, never a root anyone can
        // reveal), so the moves overwrite non-zero words (5,000 gas, 2,900 warm) instead
        // of paying 22,100 for a fresh one: the challenger pays that once here, with the
        // game's creation.
        for (uint256 i = 0; i < 2; ++i) {
            Roots storage s = _sides[i];
            s.hi = bytes32(uint256(1));
            s.stepRoot = bytes32(uint256(1));
            s.a = bytes32(uint256(1));
            s.b = bytes32(uint256(1));
        }
        _nonZero1 = 1;
        _nonZero2 = 1;
        descriptorHash = bytes32(uint256(1));
    }

    ////////////////////////////////////////////////////////////////
    //               PARAMETERS (THE CLONE'S ARGUMENTS)           //
    ////////////////////////////////////////////////////////////////

    // The getters keep the names, types and unnamed returns that the game's immutables
    // had, so the ABI (and the bindings generated from it) stay the same.

    /// @notice The market the game reports to.
    function MARKET() public view returns (IDisputeResolver) {
        return IDisputeResolver(CloneWithArgs.argAddress(GameArgs.MARKET));
    }

    /// @notice The disputed job.
    function JOB() public view returns (JobId) {
        // forge-lint: disable-next-line(unsafe-typecast) an 8-byte argument.
        return JobId.wrap(uint64(CloneWithArgs.argUint(GameArgs.JOB, 8)));
    }

    /// @notice The market's id of this game.
    function GAME_ID() public view returns (GameId) {
        // forge-lint: disable-next-line(unsafe-typecast) an 8-byte argument.
        return GameId.wrap(uint64(CloneWithArgs.argUint(GameArgs.GAME_ID, 8)));
    }

    /// @notice The solver (device owner).
    function SOLVER() public view returns (address) {
        return CloneWithArgs.argAddress(GameArgs.SOLVER);
    }

    /// @notice The challenger.
    function CHALLENGER() public view returns (address) {
        return CloneWithArgs.argAddress(GameArgs.CHALLENGER);
    }

    /// @notice The solver's trace root over `h_0..h_N`.
    function SOLVER_TRACE_ROOT() public view returns (bytes32) {
        return CloneWithArgs.argWord(GameArgs.SOLVER_TRACE_ROOT);
    }

    /// @notice The challenger's trace root.
    function CHALLENGER_TRACE_ROOT() public view returns (bytes32) {
        return CloneWithArgs.argWord(GameArgs.CHALLENGER_TRACE_ROOT);
    }

    /// @notice The solver's final output root (its `h_N`).
    function SOLVER_OUTPUT_ROOT() public view returns (bytes32) {
        return CloneWithArgs.argWord(GameArgs.SOLVER_OUTPUT_ROOT);
    }

    /// @notice `N`, the program's step count.
    function STEPS() public view returns (uint64) {
        // forge-lint: disable-next-line(unsafe-typecast) an 8-byte argument.
        return uint64(CloneWithArgs.argUint(GameArgs.STEPS, 8));
    }

    /// @notice Seconds each party may spend on its moves in total.
    function CLOCK() public view returns (uint64) {
        // forge-lint: disable-next-line(unsafe-typecast) an 8-byte argument.
        return uint64(CloneWithArgs.argUint(GameArgs.CLOCK, 8));
    }

    /// @notice Whether the job has a program commitment (else only `resolveUnbound`).
    function BOUND() public view returns (bool) {
        return CloneWithArgs.argUint(GameArgs.BOUND, 1) != 0;
    }

    /// @notice `h_0` from the program commitment.
    function INITIAL_MEMORY() public view returns (bytes32) {
        return CloneWithArgs.argWord(GameArgs.INITIAL_MEMORY);
    }

    /// @notice The program's slot count.
    function SLOTS() public view returns (uint32) {
        // forge-lint: disable-next-line(unsafe-typecast) a 4-byte argument.
        return uint32(CloneWithArgs.argUint(GameArgs.SLOTS, 4));
    }

    /// @notice `K`, operators per step.
    function OPS() public view returns (uint32) {
        // forge-lint: disable-next-line(unsafe-typecast) a 4-byte argument.
        return uint32(CloneWithArgs.argUint(GameArgs.OPS, 4));
    }

    /// @notice The op descriptor tree's root.
    function OP_TREE() public view returns (bytes32) {
        return CloneWithArgs.argWord(GameArgs.OP_TREE);
    }

    /// @notice The one-element replay of the non-element-wise operators.
    function REPLAYER() public view returns (OneStepReplay) {
        return OneStepReplay(CloneWithArgs.argAddress(GameArgs.REPLAYER));
    }

    ////////////////////////////////////////////////////////////////
    //                      PHASE 1: STEPS                        //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IDisputeGame
    function revealCheckpoint(GavelMerkle.CheckpointProof calldata _proof) external {
        (Party p, Round memory r) = _party(Phase.Checkpoints);
        uint64 mid = r.lo + (r.hi - r.lo) / 2;
        if (_proof.step != mid) revert WrongPosition(mid, _proof.step);
        uint64 count = STEPS() + 1;
        if (_proof.count != count) revert WrongCount(count, _proof.count);
        if (!GavelMerkle.verifyCheckpoint(_proof, _traceRoot(p))) revert InvalidProof("checkpoint", p);

        _move(r, p);
        _sides[uint8(p)].a = _proof.root;
        GameId id = GAME_ID();
        emit CheckpointRevealed(id, p, mid, _proof.root);
        if (_moved(r, _other(p))) _settleBisection(r, id, mid, Phase.StepCommit);
        else _round = r;
    }

    ////////////////////////////////////////////////////////////////
    //                       PHASE 2: OPS                         //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IDisputeGame
    function commitStep(
        bytes32 _stepRoot,
        GavelMerkle.OpRootProof calldata _first,
        GavelMerkle.OpRootProof calldata _last,
        GavelMerkle.CheckpointProof calldata _end
    ) external {
        (Party p, Round memory r) = _party(Phase.StepCommit);
        uint64 i = step;
        uint32 k = OPS();
        if (_first.step != i) revert WrongPosition(i, _first.step);
        if (_last.step != i) revert WrongPosition(i, _last.step);
        if (_first.op != 0) revert WrongPosition(0, _first.op);
        if (_last.op != k) revert WrongPosition(k, _last.op);
        if (_first.count != k + 1) revert WrongCount(k + 1, _first.count);
        if (_last.count != k + 1) revert WrongCount(k + 1, _last.count);
        if (!GavelMerkle.verifyOpRoot(_first, _stepRoot)) revert InvalidProof("op root", p);
        if (!GavelMerkle.verifyOpRoot(_last, _stepRoot)) revert InvalidProof("op root", p);
        bytes32 h = agreed;
        if (_first.root != h) revert RootMismatch("h_i", h, _first.root);

        Roots storage s = _sides[uint8(p)];
        bytes32 end = s.hi;
        if (r.flags & HI_KNOWN == 0) {
            // `h_N` was never revealed: open it now against the party's own trace root.
            uint64 steps = STEPS();
            if (_end.step != steps) revert WrongPosition(steps, _end.step);
            if (_end.count != steps + 1) revert WrongCount(steps + 1, _end.count);
            if (!GavelMerkle.verifyCheckpoint(_end, _traceRoot(p))) revert InvalidProof("checkpoint", p);
            end = _end.root;
            if (p == Party.Solver) {
                bytes32 output = SOLVER_OUTPUT_ROOT();
                if (end != output) revert RootMismatch("output", output, end);
            }
        }
        if (_last.root != end) revert RootMismatch("h_{i+1}", end, _last.root);

        _move(r, p);
        s.hi = end;
        s.stepRoot = _stepRoot;
        GameId id = GAME_ID();
        emit StepCommitted(id, p, i, _stepRoot);
        if (_moved(r, _other(p))) _settleStepCommit(r, id);
        else _round = r;
    }

    /// @inheritdoc IDisputeGame
    function revealOpRoot(GavelMerkle.OpRootProof calldata _proof) external {
        (Party p, Round memory r) = _party(Phase.Ops);
        uint64 mid = r.lo + (r.hi - r.lo) / 2;
        uint64 i = step;
        if (_proof.step != i) revert WrongPosition(i, _proof.step);
        if (_proof.op != mid) revert WrongPosition(mid, _proof.op);
        uint32 count = OPS() + 1;
        if (_proof.count != count) revert WrongCount(count, _proof.count);
        Roots storage s = _sides[uint8(p)];
        if (!GavelMerkle.verifyOpRoot(_proof, s.stepRoot)) revert InvalidProof("op root", p);

        _move(r, p);
        s.a = _proof.root;
        GameId id = GAME_ID();
        // forge-lint: disable-next-line(unsafe-typecast) mid < hi <= OPS, a uint32.
        emit OpRootRevealed(id, p, uint32(mid), _proof.root);
        if (_moved(r, _other(p))) _settleBisection(r, id, mid, Phase.Slot);
        else _round = r;
    }

    ////////////////////////////////////////////////////////////////
    //                    PHASE 3: SLOT, CHUNKS                   //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IDisputeGame
    function revealSlot(
        OpDescriptor calldata _op,
        bytes32[] calldata _opPath,
        GavelMerkle.SlotProof calldata _pre,
        bytes32 _dataRoot
    ) external {
        (Party p, Round memory r) = _party(Phase.Slot);
        (bytes32 opHash, uint256 len) = _openDescriptor(_op, _opPath, p);
        if (_pre.slot != _op.out) revert WrongPosition(_op.out, _pre.slot);
        uint32 slots = SLOTS();
        if (_pre.count != slots) revert WrongCount(slots, _pre.count);
        if (!GavelMerkle.verifySlot(_pre, agreed)) revert InvalidProof("slot", p);
        // The post-state is the pre-state with only the written slot replaced.
        (, bytes32 memoryAfter) = GavelMerkle.slotAnchorWith(_pre, GavelMerkle.wrapTensor(_op.shapes[0], _dataRoot));
        Roots storage s = _sides[uint8(p)];
        if (memoryAfter != s.hi) revert InvalidProof("post-state", p);

        _move(r, p);
        s.a = _dataRoot;
        uint64 n = _recordDescriptor(opHash, len, _op.kind);
        emit SlotRevealed(GAME_ID(), p, _op.out, _dataRoot);
        if (_moved(r, _other(p))) {
            uint256 d = GavelMerkle.depth(n);
            // forge-lint: disable-next-line(unsafe-typecast) depth of <= 2^23 chunks.
            r.level = uint8(d);
            _next(r, GAME_ID(), d == 0 ? _replayPhase() : Phase.Descent, 0, 0);
        } else {
            _round = r;
        }
    }

    /// @inheritdoc IDisputeGame
    function revealChildren(bytes32 _left, bytes32 _right) external {
        (Party p, Round memory r) = _party(Phase.Descent);
        Roots storage s = _sides[uint8(p)];
        if (GavelMerkle.node(_left, _right) != s.a) revert InvalidProof("children", p);
        _move(r, p);
        s.a = _left;
        s.b = _right;
        GameId id = GAME_ID();
        emit ChildrenRevealed(id, p, r.level - 1, _left, _right);
        if (_moved(r, _other(p))) _settleDescent(r, id);
        else _round = r;
    }

    ////////////////////////////////////////////////////////////////
    //                      PHASE 4: REPLAY                       //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IDisputeGame
    function revealChunk(bytes calldata _data) external {
        (Party p, Round memory r) = _party(Phase.ChunkReveal);
        Roots storage s = _sides[uint8(p)];
        uint256 want = _chunkLength();
        if (_data.length != want * 4) revert WrongCount(want * 4, _data.length);
        if (GavelMerkle.chunkLeaf(_data) != s.a) revert InvalidProof("chunk", p);
        _move(r, p);
        uint64 c = chunk;
        GameId id = GAME_ID();
        emit ChunkRevealed(id, p, c, _data);
        if (_moved(r, _other(p))) _next(r, id, Phase.Replay, c, 0);
        else _round = r;
    }

    /// @inheritdoc IDisputeGame
    function replayElement(
        OpDescriptor calldata _op,
        uint256 _index,
        bytes calldata _solverChunk,
        bytes calldata _challengerChunk,
        OneStepReplay.InputOpening[] calldata _inputs
    ) external {
        Round memory r = _round;
        if (r.phase != Phase.Replay) revert WrongPhase(r.phase, Phase.Replay);
        bytes32 h = keccak256(abi.encode(_op));
        if (h != descriptorHash) revert RootMismatch("descriptor", descriptorHash, h);
        if (_isElementwise(_op.kind)) revert WrongReplay(_op.kind);
        if (GavelMerkle.chunkLeaf(_solverChunk) != _sides[0].a) revert InvalidProof("chunk", Party.Solver);
        if (GavelMerkle.chunkLeaf(_challengerChunk) != _sides[1].a) revert InvalidProof("chunk", Party.Challenger);
        uint256 n = _solverChunk.length / 4;
        if (_index >= n) revert IndexPastChunk(_index, n);
        int32 vs = GavelMerkle.elementAt(_solverChunk, _index);
        if (vs == GavelMerkle.elementAt(_challengerChunk, _index)) revert SameElement(_index);
        uint256 e = uint256(chunk) * GavelMerkle.CHUNK_ELEMENTS + _index;
        int32 v = REPLAYER().replayElement(_op, step, e, agreed, SLOTS(), _inputs);
        emit ElementReplayed(GAME_ID(), e, v);
        _resolve(r, vs == v, Outcome.Replayed);
    }

    /// @inheritdoc IDisputeGame
    function replay(
        OpDescriptor calldata _op,
        GavelMerkle.SlotProof[] calldata _slots,
        GavelMerkle.ChunkProof[] calldata _chunks
    ) external {
        Round memory r = _round;
        if (r.phase != Phase.Replay) revert WrongPhase(r.phase, Phase.Replay);
        bytes32 h = keccak256(abi.encode(_op));
        if (h != descriptorHash) revert RootMismatch("descriptor", descriptorHash, h);
        if (!_isElementwise(_op.kind)) revert WrongReplay(_op.kind);
        bytes32 leaf = _replayChunk(_op, _slots, _chunks);
        emit Replayed(GAME_ID(), chunk, leaf);
        // The two leaves differ, so at most one equals the recomputed one.
        _resolve(r, _sides[0].a == leaf, Outcome.Replayed);
    }

    ////////////////////////////////////////////////////////////////
    //                     TIMEOUTS, UNBOUND                      //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IDisputeGame
    function timeout() external {
        Round memory r = _round;
        if (r.phase == Phase.Resolved) revert WrongPhase(r.phase, Phase.Replay);
        uint256 elapsed = block.timestamp - r.start;
        bool out0 = r.flags & MOVED_SOLVER == 0 && elapsed > r.remaining0;
        bool out1 = r.flags & MOVED_CHALLENGER == 0 && elapsed > r.remaining1;
        if (!out0 && !out1) revert NoTimeout(r.phase);
        // Both out: the one that ran out first loses; on a tie, the challenger.
        bool solverLoses = out0 && (!out1 || r.remaining0 < r.remaining1);
        _resolve(r, !solverLoses, Outcome.Timeout);
    }

    /// @inheritdoc IDisputeGame
    function resolveUnbound() external {
        if (BOUND()) revert ProgramBound();
        Round memory r = _round;
        if (r.phase == Phase.Resolved) revert WrongPhase(r.phase, Phase.Checkpoints);
        _resolve(r, false, Outcome.Unbound);
    }

    ////////////////////////////////////////////////////////////////
    //                           VIEWS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice The current phase.
    function phase() external view returns (Phase) {
        return _round.phase;
    }

    /// @notice The agreed position: a checkpoint, then an op boundary.
    function lo() external view returns (uint64) {
        return _round.lo;
    }

    /// @notice The first disputed position: a checkpoint, then an op boundary.
    function hi() external view returns (uint64) {
        return _round.hi;
    }

    /// @notice When the current round started.
    function roundStart() external view returns (uint64) {
        return _round.start;
    }

    /// @notice Height of the current chunk-tree nodes (phase `Descent`; 0 at a leaf).
    function level() external view returns (uint8) {
        return _round.level;
    }

    /// @notice Whether the parties' roots at `hi` were revealed (false while `hi = N`).
    function hiKnown() external view returns (bool) {
        return _round.flags & HI_KNOWN != 0;
    }

    /// @notice A party's state.
    /// @param _who The party.
    /// @return side_ Its roots, reveal, clock and whether it moved this round.
    function sideOf(Party _who) external view returns (Side memory side_) {
        Roots storage s = _sides[uint8(_who)];
        Round memory r = _round;
        side_ = Side({
            hi: s.hi, stepRoot: s.stepRoot, a: s.a, b: s.b, remaining: _remaining(r, _who), moved: _moved(r, _who)
        });
    }

    /// @notice Seconds a party has left now (0 if it ran out).
    /// @param _who The party.
    /// @return left_ Its clock minus the time it has owed a move this round.
    function clockLeft(Party _who) external view returns (uint256 left_) {
        Round memory r = _round;
        uint256 remaining = _remaining(r, _who);
        if (_moved(r, _who) || r.phase == Phase.Resolved) return remaining;
        uint256 elapsed = block.timestamp - r.start;
        left_ = elapsed >= remaining ? 0 : remaining - elapsed;
    }

    ////////////////////////////////////////////////////////////////
    //                         INTERNAL                           //
    ////////////////////////////////////////////////////////////////

    /// @dev The caller's party and the round (one storage read), checking the phase and
    ///      that the job is bound.
    function _party(Phase _expected) internal view returns (Party p_, Round memory r_) {
        r_ = _round;
        if (r_.phase != _expected) revert WrongPhase(r_.phase, _expected);
        if (!BOUND()) revert ProgramUnbound();
        if (msg.sender == SOLVER()) return (Party.Solver, r_);
        if (msg.sender == CHALLENGER()) return (Party.Challenger, r_);
        revert NotAParty(msg.sender);
    }

    /// @dev Charges the party's clock for this round and marks it moved (in `_r`, which
    ///      the caller writes back).
    function _move(Round memory _r, Party _p) internal view {
        if (_moved(_r, _p)) revert AlreadyMoved(_p);
        uint256 elapsed = block.timestamp - _r.start;
        uint256 remaining = _remaining(_r, _p);
        if (elapsed > remaining) revert ClockExpired(_p, elapsed, remaining);
        // forge-lint: disable-next-line(unsafe-typecast) elapsed <= remaining, a uint32.
        uint32 left = uint32(remaining - elapsed);
        if (_p == Party.Solver) {
            _r.remaining0 = left;
            _r.flags |= MOVED_SOLVER;
        } else {
            _r.remaining1 = left;
            _r.flags |= MOVED_CHALLENGER;
        }
    }

    /// @dev Whether `_p` moved in the round `_r`.
    function _moved(Round memory _r, Party _p) internal pure returns (bool moved_) {
        moved_ = _r.flags & (_p == Party.Solver ? MOVED_SOLVER : MOVED_CHALLENGER) != 0;
    }

    /// @dev `_p`'s clock at the start of the round `_r`.
    function _remaining(Round memory _r, Party _p) internal pure returns (uint64 remaining_) {
        remaining_ = _p == Party.Solver ? _r.remaining0 : _r.remaining1;
    }

    /// @dev The other party.
    function _other(Party _p) internal pure returns (Party other_) {
        other_ = _p == Party.Solver ? Party.Challenger : Party.Solver;
    }

    /// @dev A party's trace root.
    function _traceRoot(Party _p) internal view returns (bytes32 root_) {
        root_ = _p == Party.Solver ? SOLVER_TRACE_ROOT() : CHALLENGER_TRACE_ROOT();
    }

    /// @dev Starts the next round in `_phase` and writes the round back.
    function _next(Round memory _r, GameId _id, Phase _phase, uint64 _lo, uint64 _hi) internal {
        _r.phase = _phase;
        // forge-lint: disable-next-line(unsafe-typecast) a timestamp before the year 36812.
        _r.start = uint40(block.timestamp);
        _r.flags &= ~(MOVED_SOLVER | MOVED_CHALLENGER);
        _round = _r;
        emit RoundSettled(_id, _phase, _lo, _hi);
    }

    /// @dev Opens op `opIndex`'s descriptor in the op tree; returns its hash and the
    ///      element count of the slot it writes.
    function _openDescriptor(OpDescriptor calldata _op, bytes32[] calldata _opPath, Party _p)
        internal
        view
        returns (bytes32 hash_, uint256 len_)
    {
        bytes memory encoded = abi.encode(_op);
        bytes32 leaf = keccak256(abi.encodePacked(GavelMerkle.TAG_OP, encoded));
        (bool ok, bytes32 tree) = GavelMerkle.foldChecked(leaf, opIndex, OPS(), _opPath);
        if (!ok || tree != OP_TREE()) revert InvalidProof("descriptor", _p);
        if (_op.shapes.length == 0) revert MalformedDescriptor(_op.kind);
        bool shaped;
        (shaped, len_) = GavelMerkle.shapeLength(_op.shapes[0]);
        if (!shaped || len_ > MAX_ELEMENTS) revert MalformedDescriptor(_op.kind);
        hash_ = keccak256(encoded);
    }

    /// @dev Records the disputed op on the first `revealSlot` (both parties open the
    ///      same leaf of the op tree, so the second finds it recorded); returns the written
    ///      slot's chunk count.
    function _recordDescriptor(bytes32 _hash, uint256 _len, uint8 _kind) internal returns (uint64 chunks_) {
        if (descriptorHash != bytes32(uint256(1))) return chunks;
        descriptorHash = _hash;
        // forge-lint: disable-next-line(unsafe-typecast) len <= MAX_ELEMENTS.
        chunks_ = uint64(GavelMerkle.chunkCount(_len));
        chunks = chunks_;
        // forge-lint: disable-next-line(unsafe-typecast) len <= MAX_ELEMENTS.
        elements = uint64(_len);
        opKind = _kind;
    }

    /// @dev Both revealed the root at `_mid`: agreed moves `lo` up, disputed moves `hi`
    ///      down; when they are adjacent the game goes to `_then`.
    function _settleBisection(Round memory _r, GameId _id, uint64 _mid, Phase _then) internal {
        bytes32 a0 = _sides[0].a;
        bytes32 a1 = _sides[1].a;
        if (a0 == a1) {
            agreed = a0;
            _r.lo = _mid;
        } else {
            _r.hi = _mid;
            _sides[0].hi = a0;
            _sides[1].hi = a1;
            _r.flags |= HI_KNOWN;
        }
        uint64 newLo = _r.lo;
        uint64 newHi = _r.hi;
        if (newHi - newLo > 1) {
            _next(_r, _id, _r.phase, newLo, newHi);
        } else if (_then == Phase.StepCommit) {
            step = newLo;
            _next(_r, _id, Phase.StepCommit, newLo, newHi);
        } else {
            // forge-lint: disable-next-line(unsafe-typecast) newLo < OPS, a uint32.
            opIndex = uint32(newLo);
            _next(_r, _id, Phase.Slot, newLo, newHi);
        }
    }

    /// @dev Both committed their step roots: bisect over the ops, or end if the parties
    ///      turn out to agree on `h_N` (then nothing the solver committed is disputed).
    function _settleStepCommit(Round memory _r, GameId _id) internal {
        if (_r.flags & HI_KNOWN == 0) {
            _r.flags |= HI_KNOWN;
            if (_sides[0].hi == _sides[1].hi) {
                _resolve(_r, true, Outcome.NoDisagreement);
                return;
            }
        }
        _r.lo = 0;
        uint32 k = OPS();
        _r.hi = k;
        if (k == 1) {
            opIndex = 0;
            _next(_r, _id, Phase.Slot, 0, 1);
        } else {
            _next(_r, _id, Phase.Ops, 0, k);
        }
    }

    /// @dev Both revealed their children: follow the left ones if they differ, else the
    ///      right ones. At a leaf past the last chunk (padding, which must be the zero
    ///      word) the party with a non-zero leaf loses.
    function _settleDescent(Round memory _r, GameId _id) internal {
        Roots storage s0 = _sides[0];
        Roots storage s1 = _sides[1];
        uint64 c = chunk * 2;
        bytes32 a0 = s0.a;
        if (a0 == s1.a) {
            c += 1;
            a0 = s0.b;
            s0.a = a0;
            s1.a = s1.b;
        }
        chunk = c;
        uint8 l = _r.level - 1;
        _r.level = l;
        if (l > 0) {
            _next(_r, _id, Phase.Descent, c, 0);
        } else if (c >= chunks) {
            _resolve(_r, a0 == bytes32(0), Outcome.Padding);
        } else {
            _next(_r, _id, _replayPhase(), c, 0);
        }
    }

    /// @dev The phase after the descent: the element-wise operators are replayed chunk by
    ///      chunk at once; the others first need both chunks' bytes.
    function _replayPhase() internal view returns (Phase phase_) {
        phase_ = _isElementwise(opKind) ? Phase.Replay : Phase.ChunkReveal;
    }

    /// @dev Whether output chunk `c` of the operator reads only chunk `c` of each input.
    function _isElementwise(uint8 _kind) internal pure returns (bool yes_) {
        yes_ = _kind == OpKind.ADD || _kind == OpKind.SUB || _kind == OpKind.MUL || _kind == OpKind.SCALE
            || _kind == OpKind.RELU || _kind == OpKind.RELU_GRAD || _kind == OpKind.SGD;
    }

    /// @dev Recomputes the disputed chunk of the output from the inputs' chunks (same
    ///      index, same shape: the element-wise operators) and returns its leaf.
    function _replayChunk(
        OpDescriptor calldata _op,
        GavelMerkle.SlotProof[] calldata _slots,
        GavelMerkle.ChunkProof[] calldata _chunks
    ) internal view returns (bytes32 leaf_) {
        uint8 kind = _op.kind;
        uint256 nIn;
        if (kind == OpKind.SCALE || kind == OpKind.RELU) {
            nIn = 1;
        } else if (
            kind == OpKind.ADD || kind == OpKind.SUB || kind == OpKind.MUL || kind == OpKind.RELU_GRAD
                || kind == OpKind.SGD
        ) {
            nIn = 2;
        } else {
            revert UnsupportedOperator(kind);
        }
        if (_op.inputs.length != nIn || _op.shapes.length != nIn + 1) revert MalformedDescriptor(kind);
        if (_slots.length != nIn || _chunks.length != nIn) revert WrongCount(nIn, _slots.length);
        bytes32 outShape = keccak256(abi.encode(_op.shapes[0]));
        for (uint256 j = 0; j < nIn; ++j) {
            if (keccak256(abi.encode(_op.shapes[1 + j])) != outShape) revert MalformedDescriptor(kind);
            _openInput(_op.inputs[j], _op.shapes[1 + j], _slots[j], _chunks[j]);
        }

        bytes calldata a = _chunks[0].data;
        bytes calldata b = nIn == 2 ? _chunks[1].data : _chunks[0].data;
        uint256 n = a.length / 4;
        bytes memory out = new bytes(a.length);
        int32 param = _op.param;
        for (uint256 e = 0; e < n; ++e) {
            int32 x = GavelMerkle.elementAt(a, e);
            int32 y = GavelMerkle.elementAt(b, e);
            int32 v;
            if (kind == OpKind.ADD) v = OperatorReplay.add(x, y);
            else if (kind == OpKind.SUB) v = OperatorReplay.sub(x, y);
            else if (kind == OpKind.MUL) v = OperatorReplay.mul(x, y);
            else if (kind == OpKind.SCALE) v = OperatorReplay.scale(x, param);
            else if (kind == OpKind.RELU) v = OperatorReplay.relu(x);
            else if (kind == OpKind.RELU_GRAD) v = OperatorReplay.reluGrad(x, y);
            else v = OperatorReplay.sgd(x, y, param);
            _store(out, e, v);
        }
        leaf_ = GavelMerkle.chunkLeafMemory(out);
    }

    /// @dev Elements in the disputed chunk (512, fewer in the last).
    function _chunkLength() internal view returns (uint256 n_) {
        uint256 rest = uint256(elements) - uint256(chunk) * GavelMerkle.CHUNK_ELEMENTS;
        n_ = rest < GavelMerkle.CHUNK_ELEMENTS ? rest : GavelMerkle.CHUNK_ELEMENTS;
    }

    /// @dev Opens input slot `_slot` in the agreed pre-state and its disputed chunk.
    function _openInput(
        uint32 _slot,
        uint32[] calldata _shape,
        GavelMerkle.SlotProof calldata _slotProof,
        GavelMerkle.ChunkProof calldata _chunkProof
    ) internal view {
        if (_slotProof.slot != _slot) {
            revert WrongPosition(_slot, _slotProof.slot);
        }
        uint32 slots = SLOTS();
        if (_slotProof.count != slots) revert WrongCount(slots, _slotProof.count);
        if (!GavelMerkle.verifySlot(_slotProof, agreed)) revert InvalidProof("slot", Party.Solver);
        if (_chunkProof.chunk != chunk) revert WrongPosition(chunk, _chunkProof.chunk);
        if (keccak256(abi.encode(_chunkProof.shape)) != keccak256(abi.encode(_shape))) {
            revert InvalidProof("chunk", Party.Solver);
        }
        if (!GavelMerkle.verifyChunk(_chunkProof, _slotProof.root)) revert InvalidProof("chunk", Party.Solver);
    }

    /// @dev Writes element `_i` of a chunk as 4 little-endian bytes.
    function _store(bytes memory _out, uint256 _i, int32 _v) internal pure {
        // forge-lint: disable-next-line(unsafe-typecast) the two's-complement bits of an int32.
        uint32 v = uint32(_v);
        assembly ("memory-safe") {
            let p := add(add(_out, 32), shl(2, _i))
            mstore8(p, and(v, 0xff))
            mstore8(add(p, 1), and(shr(8, v), 0xff))
            mstore8(add(p, 2), and(shr(16, v), 0xff))
            mstore8(add(p, 3), shr(24, v))
        }
    }

    /// @dev Ends the game (writing the round `_r` back) and reports to the market (the
    ///      only external call, last).
    function _resolve(Round memory _r, bool _solverWon, Outcome _outcome) internal {
        _r.phase = Phase.Resolved;
        _round = _r;
        solverWon = _solverWon;
        outcome = _outcome;
        GameId id = GAME_ID();
        JobId job = JOB();
        emit GameResolved(id, job, _solverWon, _outcome);
        MARKET().resolveDispute(job, id, _solverWon);
    }
}

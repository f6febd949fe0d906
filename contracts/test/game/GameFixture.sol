// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DisputeGame} from "../../src/game/DisputeGame.sol";
import {DisputeGameDeployer} from "../../src/game/DisputeGameDeployer.sol";
import {DisputeGameFactory} from "../../src/game/DisputeGameFactory.sol";
import {OpDescriptor, OpKind, Party, Phase, ProgramCommitment} from "../../src/game/GameTypes.sol";
import {OneStepReplay} from "../../src/game/OneStepReplay.sol";
import {IDisputeGameFactory} from "../../src/interfaces/IDisputeGameFactory.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {DeviceId, GameId, JobId} from "../../src/interfaces/Types.sol";
import {GavelMerkle} from "../../src/merkle/GavelMerkle.sol";
import {OperatorReplay} from "../../src/replay/OperatorReplay.sol";
import {Test} from "../lib/Test.sol";
import {MerkleTree} from "../merkle/MerkleTree.sol";

/// @title MarketMock
/// @notice The two things a game and its factory need from the market: `jobOf` (for
///         program registration) and `resolveDispute` (the game's report), recorded.
contract MarketMock {
    /// @notice The job every id returns.
    IJobMarket.Job internal _job;

    /// @notice Reports received: game id => 1 + solverWon (0: none).
    mapping(uint64 game => uint256 report) public reports;

    /// @notice How many reports were received.
    uint256 public reportCount;

    /// @notice Sets the job `jobOf` returns.
    /// @param _submitter Its submitter.
    /// @param _state Its state.
    function setJob(address _submitter, IJobMarket.JobState _state) external {
        _job.submitter = _submitter;
        _job.state = _state;
    }

    /// @notice The job.
    /// @return job_ The job set by `setJob`.
    function jobOf(JobId) external view returns (IJobMarket.Job memory job_) {
        job_ = _job;
    }

    /// @notice Opens a game through the factory, as the market's `challenge` does.
    /// @param _factory The factory.
    /// @param _params The parameters.
    /// @return game_ The game.
    function open(DisputeGameFactory _factory, IDisputeGameFactory.DisputeParams calldata _params)
        external
        returns (address game_)
    {
        game_ = _factory.create(_params);
    }

    /// @notice Records a report; reverts on a second one for the same game.
    /// @param _game The game id.
    /// @param _solverWon The outcome.
    function resolveDispute(JobId, GameId _game, bool _solverWon) external {
        require(reports[GameId.unwrap(_game)] == 0, "reported twice");
        reports[GameId.unwrap(_game)] = _solverWon ? 2 : 1;
        ++reportCount;
    }
}

/// @title SplitTree
/// @notice Roots and paths of trees whose leaves are `x` up to index `split` and `y`
///         after it (then zero padding), in `O(depth)` per node: the shape of two traces
///         that agree up to a point and disagree after it, at any length (2^20 ops).
library SplitTree {
    /// @notice Precomputed uniform subtree roots.
    /// @param x Roots of all-`x` subtrees by height.
    /// @param y Roots of all-`y` subtrees by height.
    /// @param z Roots of all-padding subtrees by height.
    struct Tables {
        bytes32[65] x;
        bytes32[65] y;
        bytes32[65] z;
    }

    /// @notice The uniform roots for leaves `_x`, `_y`.
    function tables(bytes32 _x, bytes32 _y) internal pure returns (Tables memory t_) {
        (t_.x[0], t_.y[0]) = (_x, _y);
        for (uint256 h = 1; h <= 64; ++h) {
            t_.x[h] = GavelMerkle.node(t_.x[h - 1], t_.x[h - 1]);
            t_.y[h] = GavelMerkle.node(t_.y[h - 1], t_.y[h - 1]);
            t_.z[h] = GavelMerkle.node(t_.z[h - 1], t_.z[h - 1]);
        }
    }

    /// @notice The node at height `_h`, index `_idx` of the tree over `_n` leaves.
    function nodeAt(Tables memory _t, uint256 _split, uint256 _n, uint256 _h, uint256 _idx)
        internal
        pure
        returns (bytes32 node_)
    {
        uint256 lo = _idx << _h;
        uint256 hiEx = lo + (uint256(1) << _h);
        if (lo >= _n) return _t.z[_h];
        if (hiEx <= _n) {
            if (hiEx - 1 <= _split) return _t.x[_h];
            if (lo > _split) return _t.y[_h];
        }
        node_ = GavelMerkle.node(nodeAt(_t, _split, _n, _h - 1, 2 * _idx), nodeAt(_t, _split, _n, _h - 1, 2 * _idx + 1));
    }

    /// @notice The tree root.
    function root(Tables memory _t, uint256 _split, uint256 _n) internal pure returns (bytes32 root_) {
        root_ = nodeAt(_t, _split, _n, GavelMerkle.depth(_n), 0);
    }

    /// @notice The path of leaf `_i`.
    function path(Tables memory _t, uint256 _split, uint256 _n, uint256 _i)
        internal
        pure
        returns (bytes32[] memory p_)
    {
        p_ = new bytes32[](GavelMerkle.depth(_n));
        for (uint256 h = 0; h < p_.length; ++h) {
            p_[h] = nodeAt(_t, _split, _n, h, (_i >> h) ^ 1);
        }
    }
}

/// @title GameFixture
/// @notice A synthetic program and two traces for the dispute game suites.
/// @dev The program has 4 slots: `p [1100]` (var, written by `sgd`), `g [1100]` (const),
///      `r [3]` (var, non-negative, rewritten unchanged by `relu`) and `q [2]` (const). The
///      step body has `K` ops: op `J` is `sgd(p, g, lr)`, every other op `relu(r) -> r`
///      (which leaves the memory as it was). The honest trace: `h_i = A` for `i <= D`,
///      `B` after (A with `p` updated once); the lying one has `C` instead of `B`, built by
///      the chosen `Lie`. So the traces agree up to step `D` and op `J` and disagree after:
///      every bisection lands on op `J` of step `D`, at any `N` and `K` (2^20 ops included).
abstract contract GameFixture is Test {
    ////////////////////////////////////////////////////////////////
    //                          TYPES                             //
    ////////////////////////////////////////////////////////////////

    /// @notice How the liar's post-state differs from the truth.
    enum Lie {
        Element, // one element of `p` is off
        Padding, // `p`'s chunk tree has a non-zero padding leaf
        OtherSlot, // `p` is right but `q` changed too (not the written slot)
        Silent // the liar never moves
    }

    /// @notice One party's view of the dispute.
    struct Trace {
        bytes32 post; // its h_{D+1} = M_{D,J+1}
        bytes32 traceRoot;
        bytes32 stepRoot;
        bytes32[] outLeaves; // leaves of its p tree after op J (4: three chunks + padding)
        bytes32 outData; // root of that tree
        int32[] out; // its p after op J
        bool honest;
        Lie lie;
    }

    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @dev Chess clock of the games.
    uint64 internal constant CLOCK = 3 days;

    /// @dev Elements of `p` and `g` (three chunks, the last partial).
    uint32 internal constant LEN = 1100;

    /// @dev `sgd`'s learning rate (0.1 in Q16.16).
    int32 internal constant LR = 6554;

    /// @dev Slots.
    uint32 internal constant SLOTS = 4;

    ////////////////////////////////////////////////////////////////
    //                          STATE                             //
    ////////////////////////////////////////////////////////////////

    MarketMock internal market;
    OneStepReplay internal replayer;
    DisputeGameDeployer internal gameDeployer;
    DisputeGameFactory internal factory;
    address internal submitter = address(0x5B);
    address internal solver = address(0x501);
    address internal challenger = address(0xC4A);
    uint64 internal gameCount;

    // The world of the current game.
    uint64 internal N;
    uint32 internal K;
    uint64 internal D;
    uint32 internal J;
    int32[] internal pValues;
    int32[] internal gValues;
    int32[] internal qValues;

    /// @dev The kind of op J: `SGD` (element-wise, chunk replay), `ADD_BIAS` or `SOFTMAX`
    ///      (one-element replay after the chunk reveal).
    uint8 internal jKind = OpKind.SGD;
    bytes32[] internal slotsA;
    bytes32 internal memA;
    bytes32[] internal opLeaves;
    Trace internal truth;
    Trace internal lie;
    Party internal honestSide;

    ////////////////////////////////////////////////////////////////
    //                          SET-UP                            //
    ////////////////////////////////////////////////////////////////

    /// @notice Deploys the mock market and the factory.
    function setUp() public virtual {
        vm.warp(1_000_000);
        market = new MarketMock();
        replayer = new OneStepReplay();
        gameDeployer = new DisputeGameDeployer();
        factory = new DisputeGameFactory(CLOCK, replayer, gameDeployer);
        factory.setMarket(address(market));
        market.setJob(submitter, IJobMarket.JobState.Open);
        for (uint256 i = 0; i < LEN; ++i) {
            pValues.push(int32(int256((i * 7919) % 200_003)) - 100_000);
            gValues.push(int32(int256((i * 104_729) % 300_007)) - 150_000);
        }
        for (uint256 i = 0; i < 100; ++i) {
            qValues.push(int32(int256((i * 31_337) % 100_003)) - 50_000);
        }
    }

    ////////////////////////////////////////////////////////////////
    //                      WORLD BUILDING                        //
    ////////////////////////////////////////////////////////////////

    /// @notice The descriptor of op `_j` of the step body.
    function _op(uint32 _j) internal view virtual returns (OpDescriptor memory op_) {
        if (_j == J && jKind == OpKind.SGD) {
            op_.kind = OpKind.SGD;
            op_.inputs = new uint32[](2);
            (op_.inputs[0], op_.inputs[1]) = (0, 1);
            op_.shapes = new uint32[][](3);
            (op_.shapes[0], op_.shapes[1], op_.shapes[2]) = (_pShape(), _pShape(), _pShape());
            op_.param = LR;
        } else if (_j == J && jKind == OpKind.ADD_BIAS) {
            op_.kind = OpKind.ADD_BIAS;
            op_.inputs = new uint32[](2);
            (op_.inputs[0], op_.inputs[1]) = (1, 3);
            op_.shapes = new uint32[][](3);
            (op_.shapes[0], op_.shapes[1], op_.shapes[2]) = (_pShape(), _pShape(), _shape(100));
        } else if (_j == J) {
            op_.kind = OpKind.SOFTMAX;
            op_.inputs = new uint32[](1);
            op_.inputs[0] = 1;
            op_.shapes = new uint32[][](2);
            (op_.shapes[0], op_.shapes[1]) = (_pShape(), _pShape());
        } else {
            op_.kind = OpKind.RELU;
            op_.out = 2;
            op_.inputs = new uint32[](1);
            op_.inputs[0] = 2;
            op_.shapes = new uint32[][](2);
            (op_.shapes[0], op_.shapes[1]) = (_shape(3), _shape(3));
        }
    }

    /// @notice The shape of `p` and `g`: `[11, 100]`.
    function _pShape() internal pure returns (uint32[] memory s_) {
        s_ = new uint32[](2);
        (s_[0], s_[1]) = (11, 100);
    }

    /// @notice A rank-1 shape.
    function _shape(uint32 _n) internal pure returns (uint32[] memory s_) {
        s_ = new uint32[](1);
        s_[0] = _n;
    }

    /// @notice The true `p` after op `J`.
    function _pAfter() internal view returns (int32[] memory out_) {
        out_ = new int32[](LEN);
        if (jKind == OpKind.SOFTMAX) {
            for (uint256 r = 0; r < 11; ++r) {
                int32[] memory row = new int32[](100);
                for (uint256 i = 0; i < 100; ++i) {
                    row[i] = gValues[r * 100 + i];
                }
                int32[] memory sm = OperatorReplay.softmaxRow(row);
                for (uint256 i = 0; i < 100; ++i) {
                    out_[r * 100 + i] = sm[i];
                }
            }
            return out_;
        }
        for (uint256 i = 0; i < LEN; ++i) {
            out_[i] = jKind == OpKind.SGD
                ? OperatorReplay.sgd(pValues[i], gValues[i], LR)
                : OperatorReplay.addBias(gValues[i], qValues[i % 100]);
        }
    }

    /// @notice Builds the world: `N` steps, `K` ops, first divergence after op `_j` of step
    ///         `_d`; the liar's post-state by `_lie` (`_e`: which element for `Element`).
    function _build(uint64 _n, uint32 _k, uint64 _d, uint32 _j, Lie _lie, uint256 _e) internal {
        (N, K, D, J) = (_n, _k, _d, _j);
        delete slotsA;
        slotsA.push(MerkleTree.tensorRoot(_pShape(), pValues));
        slotsA.push(MerkleTree.tensorRoot(_pShape(), gValues));
        int32[] memory r = new int32[](3);
        (r[0], r[1], r[2]) = (1, 2, 3);
        slotsA.push(MerkleTree.tensorRoot(_shape(3), r));
        slotsA.push(MerkleTree.tensorRoot(_shape(100), qValues));
        memA = MerkleTree.memoryRoot(slotsA);
        delete opLeaves;
        for (uint32 j = 0; j < _k; ++j) {
            opLeaves.push(keccak256(abi.encodePacked(GavelMerkle.TAG_OP, abi.encode(_op(j)))));
        }

        int32[] memory after_ = _pAfter();
        _fill(truth, after_, false, true, _lie);
        if (_lie == Lie.Element) {
            after_[_e % LEN] = after_[_e % LEN] == type(int32).max ? int32(0) : after_[_e % LEN] + 1;
        }
        _fill(lie, after_, _lie == Lie.Padding, false, _lie);
        if (_lie == Lie.OtherSlot) {
            bytes32[] memory s = _copy(slotsA);
            s[0] = MerkleTree.wrapTensorMemory(_pShape(), lie.outData);
            s[3] = keccak256("changed");
            lie.post = MerkleTree.memoryRoot(s);
            _roots(lie);
        }
    }

    /// @dev Fills a trace from its `p` after op `J`.
    function _fill(Trace storage _t, int32[] memory _after, bool _badPadding, bool _honest, Lie _lie) internal {
        bytes32[] memory leaves = new bytes32[](4);
        bytes32[] memory real = MerkleTree.chunkLeaves(_after);
        (leaves[0], leaves[1], leaves[2]) = (real[0], real[1], real[2]);
        if (_badPadding) leaves[3] = keccak256("not padding");
        _t.outLeaves = leaves;
        _t.out = _after;
        _t.outData = MerkleTree.root(leaves);
        _t.honest = _honest;
        _t.lie = _lie;
        bytes32[] memory s = _copy(slotsA);
        s[0] = MerkleTree.wrapTensorMemory(_pShape(), _t.outData);
        _t.post = MerkleTree.memoryRoot(s);
        _roots(_t);
    }

    /// @dev The trace and step roots of a trace from its post-state.
    function _roots(Trace storage _t) internal {
        SplitTree.Tables memory tc = SplitTree.tables(memA, _t.post);
        _t.traceRoot = GavelMerkle.wrapTrace(N + 1, SplitTree.root(tc, D, N + 1));
        _t.stepRoot = GavelMerkle.wrapStep(D, K + 1, SplitTree.root(tc, J, K + 1));
    }

    /// @dev A copy of a bytes32 array.
    function _copy(bytes32[] memory _a) internal pure returns (bytes32[] memory b_) {
        b_ = new bytes32[](_a.length);
        for (uint256 i = 0; i < _a.length; ++i) {
            b_[i] = _a[i];
        }
    }

    /// @notice Registers the program and opens a game with the honest side as `_honest`.
    function _open(Party _honest) internal returns (DisputeGame game_) {
        Trace storage s = _honest == Party.Solver ? truth : lie;
        Trace storage c = _honest == Party.Solver ? lie : truth;
        game_ = _openWith(s.traceRoot, s.post, c.traceRoot);
        honestSide = _honest;
    }

    /// @notice Opens a game on the current world's program (a fresh factory: a program is
    ///         registered once per job) with the given commitments.
    function _openWith(bytes32 _solverTrace, bytes32 _solverOut, bytes32 _challengerTrace)
        internal
        returns (DisputeGame game_)
    {
        factory = new DisputeGameFactory(CLOCK, replayer, gameDeployer);
        factory.setMarket(address(market));
        vm.prank(submitter);
        factory.registerProgram(JobId.wrap(1), _program());
        game_ = DisputeGame(market.open(factory, _params(_solverTrace, _solverOut, _challengerTrace)));
        honestSide = Party.Solver;
    }

    /// @notice The program commitment of the world.
    function _program() internal view returns (ProgramCommitment memory p_) {
        p_ = ProgramCommitment(memA, SLOTS, K, MerkleTree.root(opLeaves));
    }

    /// @notice Dispute parameters for the current world.
    function _params(bytes32 _solverTrace, bytes32 _solverOut, bytes32 _challengerTrace)
        internal
        returns (IDisputeGameFactory.DisputeParams memory p_)
    {
        p_.job = JobId.wrap(1);
        p_.game = GameId.wrap(++gameCount);
        p_.solverDevice = DeviceId.wrap(1);
        p_.challengerDevice = DeviceId.wrap(2);
        p_.solver = solver;
        p_.challenger = challenger;
        p_.specHash = keccak256("spec");
        p_.inputHash = keccak256("inputs");
        p_.solverTraceRoot = _solverTrace;
        p_.solverOutputRoot = _solverOut;
        p_.challengerTraceRoot = _challengerTrace;
        p_.steps = N;
        p_.bond = 1 ether;
    }

    ////////////////////////////////////////////////////////////////
    //                          MOVES                             //
    ////////////////////////////////////////////////////////////////

    /// @notice The calldata of `_who`'s next move in `_game` from trace `_t` (empty when
    ///         the phase has no move of its own).
    function _moveData(DisputeGame _game, Trace storage _t) internal view returns (bytes memory data_) {
        Phase ph = _game.phase();
        if (ph == Phase.Checkpoints) {
            uint64 mid = _game.lo() + (_game.hi() - _game.lo()) / 2;
            data_ = abi.encodeCall(DisputeGame.revealCheckpoint, (_checkpoint(_t, mid)));
        } else if (ph == Phase.StepCommit) {
            data_ = abi.encodeCall(
                DisputeGame.commitStep, (_t.stepRoot, _opRoot(_t, 0), _opRoot(_t, K), _checkpoint(_t, N))
            );
        } else if (ph == Phase.Ops) {
            uint64 mid = _game.lo() + (_game.hi() - _game.lo()) / 2;
            data_ = abi.encodeCall(DisputeGame.revealOpRoot, (_opRoot(_t, uint32(mid))));
        } else if (ph == Phase.Slot) {
            data_ =
                abi.encodeCall(DisputeGame.revealSlot, (_op(J), MerkleTree.path(opLeaves, J), _slotA(0), _t.outData));
        } else if (ph == Phase.Descent) {
            (bytes32 l, bytes32 r) = _children(_t, _game.level(), _game.chunk());
            data_ = abi.encodeCall(DisputeGame.revealChildren, (l, r));
        } else if (ph == Phase.ChunkReveal) {
            data_ = abi.encodeCall(DisputeGame.revealChunk, (_chunkBytes(_t, _game.chunk())));
        }
    }

    /// @notice The bytes of chunk `_c` of a trace's `p` after op `J`.
    function _chunkBytes(Trace storage _t, uint64 _c) internal view returns (bytes memory data_) {
        data_ = GavelMerkle.encodeChunk(MerkleTree.chunkValues(_t.out, _c));
    }

    /// @notice The honest side's replay call for the current game.
    function _honestReplay(DisputeGame _game) internal view returns (bytes memory data_) {
        data_ = jKind == OpKind.SGD ? _replayData(_game.chunk()) : _replayElementData(_game.chunk());
    }

    /// @notice `replayElement` at the first element of chunk `_c` where the traces differ.
    function _replayElementData(uint64 _c) internal view returns (bytes memory data_) {
        uint256 base = uint256(_c) * GavelMerkle.CHUNK_ELEMENTS;
        uint256 i;
        while (truth.out[base + i] == lie.out[base + i]) {
            ++i;
        }
        bool solverHonest = honestSide == Party.Solver;
        bytes memory sc = _chunkBytes(solverHonest ? truth : lie, _c);
        bytes memory cc = _chunkBytes(solverHonest ? lie : truth, _c);
        OneStepReplay.InputOpening[] memory ins;
        if (jKind == OpKind.ADD_BIAS) {
            ins = new OneStepReplay.InputOpening[](2);
            ins[0].slot = _slotA(1);
            ins[0].chunks = new GavelMerkle.ChunkProof[](1);
            ins[0].chunks[0] = _chunkA(gValues, _c);
            ins[1].slot = _slotA(3);
            ins[1].chunks = new GavelMerkle.ChunkProof[](1);
            int32[] memory q = qValues;
            ins[1].chunks[0] = GavelMerkle.ChunkProof(
                _shape(100), 0, GavelMerkle.encodeChunk(q), MerkleTree.path(MerkleTree.chunkLeaves(q), 0)
            );
        } else {
            uint256 row = (base + i) / 100;
            uint64 lo = uint64(row * 100 / GavelMerkle.CHUNK_ELEMENTS);
            uint64 hi = uint64((row * 100 + 99) / GavelMerkle.CHUNK_ELEMENTS);
            ins = new OneStepReplay.InputOpening[](1);
            ins[0].slot = _slotA(1);
            ins[0].chunks = new GavelMerkle.ChunkProof[](hi - lo + 1);
            for (uint64 c = lo; c <= hi; ++c) {
                ins[0].chunks[c - lo] = _chunkA(gValues, c);
            }
        }
        data_ = abi.encodeCall(DisputeGame.replayElement, (_op(J), i, sc, cc, ins));
    }

    /// @notice The replay call for the current world (chunk `_c`).
    function _replayData(uint64 _c) internal view returns (bytes memory data_) {
        GavelMerkle.SlotProof[] memory s = new GavelMerkle.SlotProof[](2);
        (s[0], s[1]) = (_slotA(0), _slotA(1));
        GavelMerkle.ChunkProof[] memory c = new GavelMerkle.ChunkProof[](2);
        c[0] = _chunkA(pValues, _c);
        c[1] = _chunkA(gValues, _c);
        data_ = abi.encodeCall(DisputeGame.replay, (_op(J), s, c));
    }

    /// @notice `h_i` of a trace with its path.
    function _checkpoint(Trace storage _t, uint64 _i) internal view returns (GavelMerkle.CheckpointProof memory p_) {
        SplitTree.Tables memory tc = SplitTree.tables(memA, _t.post);
        p_ = GavelMerkle.CheckpointProof(_i, N + 1, _i <= D ? memA : _t.post, SplitTree.path(tc, D, N + 1, _i));
    }

    /// @notice `M_{D,j}` of a trace with its path.
    function _opRoot(Trace storage _t, uint32 _j) internal view returns (GavelMerkle.OpRootProof memory p_) {
        SplitTree.Tables memory tc = SplitTree.tables(memA, _t.post);
        p_ = GavelMerkle.OpRootProof(D, _j, K + 1, _j <= J ? memA : _t.post, SplitTree.path(tc, J, K + 1, _j));
    }

    /// @notice Slot `_s` in the agreed pre-state `A`.
    function _slotA(uint32 _s) internal view returns (GavelMerkle.SlotProof memory p_) {
        p_ = GavelMerkle.SlotProof(_s, SLOTS, slotsA[_s], MerkleTree.path(slotsA, _s));
    }

    /// @notice Chunk `_c` of a tensor of `A`.
    function _chunkA(int32[] memory _v, uint64 _c) internal pure returns (GavelMerkle.ChunkProof memory p_) {
        int32[] memory v = _v;
        p_ = GavelMerkle.ChunkProof(
            _pShape(),
            _c,
            GavelMerkle.encodeChunk(MerkleTree.chunkValues(v, _c)),
            MerkleTree.path(MerkleTree.chunkLeaves(v), _c)
        );
    }

    /// @notice The children of node `_idx` at height `_level` of a trace's `p` tree (4 leaves).
    function _children(Trace storage _t, uint8 _level, uint64 _idx) internal view returns (bytes32 l_, bytes32 r_) {
        bytes32[] memory lv = _t.outLeaves;
        if (_level == 2) {
            l_ = GavelMerkle.node(lv[0], lv[1]);
            r_ = GavelMerkle.node(lv[2], lv[3]);
        } else {
            (l_, r_) = (lv[2 * _idx], lv[2 * _idx + 1]);
        }
    }

    /// @notice Plays `_who`'s move from trace `_t`; a lying `Silent` trace never moves.
    ///         Returns whether a move was made.
    function _tryMove(DisputeGame _game, Party _who, Trace storage _t) internal returns (bool moved_) {
        if (!_t.honest && _t.lie == Lie.Silent) return false;
        if (_game.sideOf(_who).moved) return false;
        bytes memory data = _moveData(_game, _t);
        if (data.length == 0) return false;
        vm.prank(_who == Party.Solver ? solver : challenger);
        (moved_,) = address(_game).call(data);
    }

    /// @notice Plays the game to the end: both move each round (the liar when it can), the
    ///         honest side replays, and a stuck liar is timed out. Returns the moves made
    ///         by the honest side.
    function _playOut(DisputeGame _game, Party _honest) internal returns (uint256 honestMoves_) {
        Party liar = _honest == Party.Solver ? Party.Challenger : Party.Solver;
        for (uint256 round = 0; round < 200 && _game.phase() != Phase.Resolved; ++round) {
            if (_game.phase() == Phase.Replay) {
                (bool ok,) = address(_game).call(_honestReplay(_game));
                require(ok, "honest replay failed");
                ++honestMoves_;
                break;
            }
            vm.warp(block.timestamp + 1 hours);
            if (_tryMove(_game, _honest, truth)) ++honestMoves_;
            if (_game.phase() == Phase.Resolved) break;
            bool liarMoved = _tryMove(_game, liar, lie);
            if (!liarMoved && _game.phase() != Phase.Resolved && !_game.sideOf(liar).moved) {
                vm.warp(block.timestamp + CLOCK + 1);
                _game.timeout();
            }
        }
    }
}

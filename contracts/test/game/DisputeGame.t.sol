// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DisputeGame} from "../../src/game/DisputeGame.sol";
import {DisputeGameFactory} from "../../src/game/DisputeGameFactory.sol";
import {OpDescriptor, OpKind, Outcome, Party, Phase} from "../../src/game/GameTypes.sol";
import {IDisputeGame} from "../../src/game/IDisputeGame.sol";
import {OneStepReplay} from "../../src/game/OneStepReplay.sol";
import {JobId} from "../../src/interfaces/Types.sol";
import {GavelMerkle} from "../../src/merkle/GavelMerkle.sol";
import {MerkleTree} from "../merkle/MerkleTree.sol";
import {GameFixture} from "./GameFixture.sol";

/// @title DisputeGameTest
/// @notice Unit tests of every `DisputeGame` function and revert, and fuzz tests of its
///         state-changing entry points. World: 8 steps, 4 ops, divergence after op 2 of
///         step 3; the solver is honest, the challenger lies about element 700.
contract DisputeGameTest is GameFixture {
    DisputeGame internal game;

    /// @notice Builds the world and opens a game.
    function setUp() public override {
        super.setUp();
        _build(8, 4, 3, 2, Lie.Element, 700);
        game = _open(Party.Solver);
    }

    ////////////////////////////////////////////////////////////////
    //                         HELPERS                            //
    ////////////////////////////////////////////////////////////////

    /// @dev Both parties make their move of the current round.
    function _round() internal {
        _moveAs(Party.Solver);
        _moveAs(Party.Challenger);
    }

    /// @dev One party moves from its trace (must succeed).
    function _moveAs(Party _p) internal {
        bytes memory data = _moveData(game, _p == Party.Solver ? truth : lie);
        vm.prank(_p == Party.Solver ? solver : challenger);
        (bool ok,) = address(game).call(data);
        assertTrue(ok, "move");
    }

    /// @dev Plays rounds until `_phase`.
    function _until(Phase _phase) internal {
        for (uint256 i = 0; i < 50 && game.phase() != _phase; ++i) {
            _round();
        }
        assertTrue(game.phase() == _phase, "reached phase");
    }

    /// @dev Expects `InvalidProof(_what, _p)`.
    function _expectInvalid(bytes32 _what, Party _p) internal {
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.InvalidProof.selector, _what, _p));
    }

    ////////////////////////////////////////////////////////////////
    //                        CONSTRUCTOR                         //
    ////////////////////////////////////////////////////////////////

    /// @notice The game starts in `Checkpoints` with the program's `h_0` agreed.
    function test_constructor_succeeds() public view {
        assertTrue(game.phase() == Phase.Checkpoints, "phase");
        assertEq(game.lo(), 0, "lo");
        assertEq(game.hi(), 8, "hi");
        assertTrue(game.agreed() == memA, "h_0 agreed");
        assertTrue(game.BOUND(), "bound");
        assertEq(game.clockLeft(Party.Solver), CLOCK, "clock");
        assertEq(game.OPS(), 4, "ops");
        assertTrue(game.SOLVER() == solver && game.CHALLENGER() == challenger, "parties");
        assertEq(bytes(game.version()).length, 5, "version");
    }

    ////////////////////////////////////////////////////////////////
    //                   PHASE 1: CHECKPOINTS                     //
    ////////////////////////////////////////////////////////////////

    /// @notice A reveal records the root and marks the party moved; the second settles.
    function test_revealCheckpoint_succeeds() public {
        _moveAs(Party.Solver);
        assertTrue(game.sideOf(Party.Solver).moved, "moved");
        assertTrue(game.sideOf(Party.Solver).a == truth.post, "h_4 of the solver is B");
        _moveAs(Party.Challenger);
        // h_4 differs (divergence after step 3): hi comes down to 4.
        assertEq(game.hi(), 4, "hi");
        assertTrue(!game.sideOf(Party.Solver).moved, "new round");
        assertTrue(game.hiKnown(), "hi known");
    }

    /// @notice Reverts: not a party, twice in a round, wrong step, wrong count, bad proof,
    ///         and another phase's move.
    function test_revealCheckpoint_reverts() public {
        GavelMerkle.CheckpointProof memory p = _checkpoint(truth, 4);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NotAParty.selector, address(this)));
        game.revealCheckpoint(p);

        GavelMerkle.CheckpointProof memory wrong = _checkpoint(truth, 3);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPosition.selector, 4, 3));
        game.revealCheckpoint(wrong);

        wrong = _checkpoint(truth, 4);
        wrong.count = 10;
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongCount.selector, 9, 10));
        game.revealCheckpoint(wrong);

        // The solver's proof against the challenger's trace root.
        vm.prank(challenger);
        _expectInvalid("checkpoint", Party.Challenger);
        game.revealCheckpoint(p);

        vm.prank(solver);
        game.revealCheckpoint(p);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.AlreadyMoved.selector, Party.Solver));
        game.revealCheckpoint(p);

        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPhase.selector, Phase.Checkpoints, Phase.Ops));
        game.revealOpRoot(_opRoot(truth, 2));
    }

    /// @notice A party past its clock cannot move; `timeout` ends the game against it.
    function test_revealCheckpoint_clockExpired_reverts() public {
        vm.warp(block.timestamp + CLOCK + 1);
        GavelMerkle.CheckpointProof memory p = _checkpoint(truth, 4);
        vm.prank(solver);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.ClockExpired.selector, Party.Solver, uint256(CLOCK) + 1, CLOCK)
        );
        game.revealCheckpoint(p);
        assertEq(game.clockLeft(Party.Solver), 0, "no time left");
    }

    /// @notice Any legal reveal time is charged to the mover's clock exactly.
    function testFuzz_revealCheckpoint_chargesClock_succeeds(uint32 _wait) public {
        uint256 wait = bound(_wait, 0, CLOCK);
        vm.warp(block.timestamp + wait);
        _moveAs(Party.Challenger);
        assertEq(game.sideOf(Party.Challenger).remaining, CLOCK - wait, "charged");
        assertEq(game.clockLeft(Party.Challenger), CLOCK - wait, "view");
        assertEq(game.clockLeft(Party.Solver), CLOCK - wait, "the solver's runs too");
    }

    /// @notice A fuzzed checkpoint proof either is the party's own `h_mid` or reverts.
    function testFuzz_revealCheckpoint_forged_reverts(bytes32 _root, bytes32 _sibling, uint8 _at) public {
        GavelMerkle.CheckpointProof memory p = _checkpoint(truth, 4);
        vm.assume(_root != p.root);
        p.root = _root;
        p.siblings[bound(_at, 0, p.siblings.length - 1)] = _sibling;
        vm.prank(solver);
        _expectInvalid("checkpoint", Party.Solver);
        game.revealCheckpoint(p);
    }

    ////////////////////////////////////////////////////////////////
    //                   PHASE 2: STEP AND OPS                    //
    ////////////////////////////////////////////////////////////////

    /// @notice The step commit stores the step root; after both, op bisection starts.
    function test_commitStep_succeeds() public {
        _until(Phase.StepCommit);
        assertEq(game.step(), 3, "disputed step");
        _round();
        assertTrue(game.phase() == Phase.Ops, "ops");
        assertEq(game.hi(), 4, "K");
        assertTrue(game.sideOf(Party.Solver).stepRoot == truth.stepRoot, "step root");
    }

    /// @notice Reverts: wrong step, wrong ends, wrong counts, bad proofs, `M_{i,0}` not the
    ///         agreed `h_i`, `M_{i,K}` not the party's `h_{i+1}`.
    function test_commitStep_reverts() public {
        _until(Phase.StepCommit);
        GavelMerkle.OpRootProof memory first = _opRoot(truth, 0);
        GavelMerkle.OpRootProof memory last = _opRoot(truth, 4);
        GavelMerkle.CheckpointProof memory end = _checkpoint(truth, 8);

        GavelMerkle.OpRootProof memory bad = _opRoot(truth, 0);
        bad.step = 2;
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPosition.selector, 3, 2));
        game.commitStep(truth.stepRoot, bad, last, end);

        bad = _opRoot(truth, 1);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPosition.selector, 0, 1));
        game.commitStep(truth.stepRoot, bad, last, end);

        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPosition.selector, 4, 3));
        game.commitStep(truth.stepRoot, first, _opRoot(truth, 3), end);

        bad = _opRoot(truth, 0);
        bad.count = 6;
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongCount.selector, 5, 6));
        game.commitStep(truth.stepRoot, bad, last, end);

        vm.prank(solver);
        _expectInvalid("op root", Party.Solver);
        game.commitStep(lie.stepRoot, first, last, end);

        // The liar's op roots are its own, but its M_{i,K} must be its h_{i+1}: use the
        // honest step root as the challenger.
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.RootMismatch.selector, bytes32("h_{i+1}"), lie.post, truth.post)
        );
        game.commitStep(truth.stepRoot, first, last, end);
    }

    /// @notice `M_{i,0}` must be the agreed `h_i`.
    function test_commitStep_firstNotAgreed_reverts() public {
        _until(Phase.StepCommit);
        // A step root whose M_0 is not A (a one-leaf... use the op root of op 3 from a
        // trace where every M is `post`): build it directly.
        bytes32[] memory roots = new bytes32[](5);
        for (uint256 i = 0; i < 5; ++i) {
            roots[i] = truth.post;
        }
        bytes32 sr = MerkleTree.stepRoot(3, roots);
        GavelMerkle.OpRootProof memory first = GavelMerkle.OpRootProof(3, 0, 5, truth.post, MerkleTree.path(roots, 0));
        GavelMerkle.OpRootProof memory last = GavelMerkle.OpRootProof(3, 4, 5, truth.post, MerkleTree.path(roots, 4));
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.RootMismatch.selector, bytes32("h_i"), memA, truth.post));
        game.commitStep(sr, first, last, _checkpoint(truth, 8));
    }

    /// @notice When `h_N` was never revealed it is opened at the step commit, and the
    ///         solver's must be its output root; parties that agree on `h_N` end the game
    ///         for the solver.
    function test_commitStep_lastStep_succeeds() public {
        _build(4, 2, 3, 1, Lie.Element, 3);
        game = _open(Party.Solver);
        _until(Phase.StepCommit);
        assertTrue(!game.hiKnown(), "h_N not revealed yet");
        GavelMerkle.CheckpointProof memory end = _checkpoint(truth, 3);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPosition.selector, 4, 3));
        game.commitStep(truth.stepRoot, _opRoot(truth, 0), _opRoot(truth, 2), end);
        end = _checkpoint(truth, 4);
        end.count = 4;
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongCount.selector, 5, 4));
        game.commitStep(truth.stepRoot, _opRoot(truth, 0), _opRoot(truth, 2), end);
        vm.prank(solver);
        _expectInvalid("checkpoint", Party.Solver);
        game.commitStep(truth.stepRoot, _opRoot(truth, 0), _opRoot(truth, 2), _checkpoint(lie, 4));
        _round();
        assertTrue(game.phase() == Phase.Ops, "ops");
    }

    /// @notice A solver whose trace ends elsewhere than its output root cannot commit.
    function test_commitStep_outputMismatch_reverts() public {
        _build(4, 2, 3, 1, Lie.Element, 3);
        game = _openWith(truth.traceRoot, keccak256("other output"), lie.traceRoot);
        _until(Phase.StepCommit);
        vm.prank(solver);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.RootMismatch.selector, bytes32("output"), keccak256("other output"), truth.post
            )
        );
        game.commitStep(truth.stepRoot, _opRoot(truth, 0), _opRoot(truth, 2), _checkpoint(truth, 4));
    }

    /// @notice Traces that differ only before the end and agree on `h_N`: the solver wins.
    function test_commitStep_noDisagreement_succeeds() public {
        _build(4, 2, 3, 1, Lie.Element, 3);
        // The challenger uses the honest trace: nothing to dispute at h_N.
        game = _openWith(truth.traceRoot, truth.post, keccak256("another trace"));
        vm.prank(challenger);
        // Its checkpoints do not open against its (made-up) root: it cannot play.
        _expectInvalid("checkpoint", Party.Challenger);
        game.revealCheckpoint(_checkpoint(truth, 2));
        // Same trace on both sides through a game opened on identical roots.
        game = _openWith(truth.traceRoot, truth.post, truth.traceRoot);
        for (uint256 i = 0; i < 10 && game.phase() != Phase.Resolved; ++i) {
            bytes memory d = _moveData(game, truth);
            vm.prank(solver);
            (bool ok,) = address(game).call(d);
            assertTrue(ok, "solver");
            d = _moveData(game, truth);
            vm.prank(challenger);
            (ok,) = address(game).call(d);
            assertTrue(ok, "challenger");
        }
        assertEq(uint256(game.outcome()), uint256(Outcome.NoDisagreement), "no disagreement");
        assertTrue(game.solverWon(), "solver");
    }

    /// @notice Op bisection narrows to op J; reverts on wrong step, op, count and proof.
    function test_revealOpRoot_reverts() public {
        _until(Phase.Ops);
        GavelMerkle.OpRootProof memory p = _opRoot(truth, 2);
        p.step = 4;
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPosition.selector, 3, 4));
        game.revealOpRoot(p);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPosition.selector, 2, 1));
        game.revealOpRoot(_opRoot(truth, 1));
        p = _opRoot(truth, 2);
        p.count = 4;
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongCount.selector, 5, 4));
        game.revealOpRoot(p);
        vm.prank(solver);
        _expectInvalid("op root", Party.Solver);
        game.revealOpRoot(_opRoot(lie, 2));
        _until(Phase.Slot);
        assertEq(game.opIndex(), 2, "op J");
    }

    ////////////////////////////////////////////////////////////////
    //                  PHASE 3: SLOT AND DESCENT                 //
    ////////////////////////////////////////////////////////////////

    /// @notice Reverts: wrong descriptor, wrong slot, count, bad pre-state proof, a
    ///         post-state that is not the party's.
    function test_revealSlot_reverts() public {
        _until(Phase.Slot);
        OpDescriptor memory op = _op(J);
        bytes32[] memory path = MerkleTree.path(opLeaves, J);
        GavelMerkle.SlotProof memory pre = _slotA(0);

        vm.prank(solver);
        _expectInvalid("descriptor", Party.Solver);
        game.revealSlot(_op(J + 1), path, pre, truth.outData);

        OpDescriptor memory forged = _op(J);
        forged.param = LR + 1;
        vm.prank(solver);
        _expectInvalid("descriptor", Party.Solver);
        game.revealSlot(forged, path, pre, truth.outData);

        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPosition.selector, 0, 1));
        game.revealSlot(op, path, _slotA(1), truth.outData);

        GavelMerkle.SlotProof memory bad = _slotA(0);
        bad.count = 5;
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongCount.selector, 4, 5));
        game.revealSlot(op, path, bad, truth.outData);

        bad = _slotA(0);
        bad.root = keccak256("not p");
        vm.prank(solver);
        _expectInvalid("slot", Party.Solver);
        game.revealSlot(op, path, bad, truth.outData);

        vm.prank(solver);
        _expectInvalid("post-state", Party.Solver);
        game.revealSlot(op, path, pre, lie.outData);

        vm.prank(solver);
        game.revealSlot(op, path, pre, truth.outData);
        assertTrue(game.descriptorHash() == keccak256(abi.encode(op)), "descriptor stored");
        assertEq(game.chunks(), 3, "chunks");
    }

    /// @notice A descriptor whose output is larger than `MAX_ELEMENTS` (or has no valid
    ///         shape) is refused, even though it is in the program.
    function test_revealSlot_malformed_reverts() public {
        OpDescriptor memory huge = _op(J);
        huge.shapes[0] = new uint32[](3);
        (huge.shapes[0][0], huge.shapes[0][1], huge.shapes[0][2]) = (1 << 16, 1 << 16, 2);
        _replaceOp(huge);
        _until(Phase.Slot);
        bytes32[] memory path = MerkleTree.path(opLeaves, J);
        GavelMerkle.SlotProof memory pre = _slotA(0);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.MalformedDescriptor.selector, OpKind.SGD));
        game.revealSlot(huge, path, pre, truth.outData);
        OpDescriptor memory none = _op(J);
        none.shapes = new uint32[][](0);
        _replaceOp(none);
        _until(Phase.Slot);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.MalformedDescriptor.selector, OpKind.SGD));
        game.revealSlot(none, MerkleTree.path(opLeaves, J), pre, truth.outData);
    }

    /// @notice The descent follows the differing child down to the chunk of the lie.
    function test_revealChildren_succeeds() public {
        _until(Phase.Descent);
        assertEq(game.level(), 2, "two levels");
        _round();
        assertEq(game.chunk(), 0, "left half: chunks 0 and 1");
        _round();
        assertEq(game.chunk(), 1, "element 700 is in chunk 1");
        assertTrue(game.phase() == Phase.Replay, "replay");
    }

    /// @notice Children that do not hash to the party's node revert.
    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 256
    function testFuzz_revealChildren_forged_reverts(bytes32 _l, bytes32 _r) public {
        _until(Phase.Descent);
        (bytes32 l, bytes32 r) = _children(truth, 2, 0);
        vm.assume(_l != l || _r != r);
        vm.prank(solver);
        _expectInvalid("children", Party.Solver);
        game.revealChildren(_l, _r);
    }

    ////////////////////////////////////////////////////////////////
    //                      PHASE 4: REPLAY                       //
    ////////////////////////////////////////////////////////////////

    /// @notice The replay recomputes chunk 1 and rules for the honest solver.
    function test_replay_succeeds() public {
        _until(Phase.Replay);
        (bool ok,) = address(game).call(_replayData(1));
        assertTrue(ok, "replay");
        assertTrue(game.solverWon(), "solver");
        assertEq(uint256(game.outcome()), uint256(Outcome.Replayed), "replayed");
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPhase.selector, Phase.Resolved, Phase.Replay));
        game.timeout();
    }

    /// @notice Reverts: another descriptor, wrong input chunks, slots and counts.
    function test_replay_reverts() public {
        GavelMerkle.SlotProof[] memory s = new GavelMerkle.SlotProof[](2);
        (s[0], s[1]) = (_slotA(0), _slotA(1));
        GavelMerkle.ChunkProof[] memory c = new GavelMerkle.ChunkProof[](2);
        c[0] = _chunkA(pValues, 1);
        c[1] = _chunkA(gValues, 1);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPhase.selector, Phase.Checkpoints, Phase.Replay));
        game.replay(_op(J), s, c);
        _until(Phase.Replay);

        OpDescriptor memory other = _op(J + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputeGame.RootMismatch.selector,
                bytes32("descriptor"),
                keccak256(abi.encode(_op(J))),
                keccak256(abi.encode(other))
            )
        );
        game.replay(other, s, c);

        c[0] = _chunkA(pValues, 0);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPosition.selector, 1, 0));
        game.replay(_op(J), s, c);

        c[0] = _chunkA(gValues, 1);
        _expectInvalid("chunk", Party.Solver);
        game.replay(_op(J), s, c);

        c[0] = _chunkA(pValues, 1);
        (s[0], s[1]) = (_slotA(1), _slotA(0));
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPosition.selector, 0, 1));
        game.replay(_op(J), s, c);

        (s[0], s[1]) = (_slotA(0), _slotA(1));
        s[1].root = keccak256("forged g");
        _expectInvalid("slot", Party.Solver);
        game.replay(_op(J), s, c);

        GavelMerkle.SlotProof[] memory one = new GavelMerkle.SlotProof[](1);
        one[0] = _slotA(0);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongCount.selector, 2, 1));
        game.replay(_op(J), one, c);
    }

    ////////////////////////////////////////////////////////////////
    //                    TIMEOUTS, UNBOUND                       //
    ////////////////////////////////////////////////////////////////

    /// @notice `timeout` reverts while no owing party ran out; then rules against it.
    function test_timeout_succeeds() public {
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.NoTimeout.selector, Phase.Checkpoints));
        game.timeout();
        _moveAs(Party.Solver);
        vm.warp(block.timestamp + CLOCK + 1);
        game.timeout();
        assertTrue(game.solverWon(), "the challenger owed the move");
        assertEq(uint256(game.outcome()), uint256(Outcome.Timeout), "timeout");
    }

    /// @notice Both out of time: the one with less time left at the round's start loses;
    ///         a tie goes against the challenger.
    function test_timeout_both_succeeds() public {
        vm.warp(block.timestamp + CLOCK + 1);
        game.timeout();
        assertTrue(game.solverWon(), "tie: challenger loses");

        game = _open(Party.Solver);
        vm.warp(block.timestamp + 10);
        _moveAs(Party.Solver);
        vm.warp(block.timestamp + 90);
        _moveAs(Party.Challenger);
        // The solver has CLOCK - 10 left, the challenger CLOCK - 100; neither moves again.
        vm.warp(block.timestamp + CLOCK);
        game.timeout();
        assertTrue(game.solverWon(), "the challenger ran out first");
    }

    /// @notice A game on a job without a program commitment: no move is possible and
    ///         anyone can end it for the challenger.
    function test_resolveUnbound_succeeds() public {
        vm.expectRevert(IDisputeGame.ProgramBound.selector);
        game.resolveUnbound();
        DisputeGameFactory bare = new DisputeGameFactory(CLOCK, replayer, gameDeployer);
        bare.setMarket(address(market));
        DisputeGame g = DisputeGame(market.open(bare, _params(truth.traceRoot, truth.post, lie.traceRoot)));
        assertTrue(!g.BOUND(), "unbound");
        GavelMerkle.CheckpointProof memory p = _checkpoint(truth, 4);
        vm.prank(solver);
        vm.expectRevert(IDisputeGame.ProgramUnbound.selector);
        g.revealCheckpoint(p);
        g.resolveUnbound();
        assertTrue(!g.solverWon(), "challenger");
        assertEq(uint256(g.outcome()), uint256(Outcome.Unbound), "unbound");
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPhase.selector, Phase.Resolved, Phase.Checkpoints));
        g.resolveUnbound();
    }

    /// @notice Each replay entry point takes only its own operators, and a malformed
    ///         descriptor is refused.
    function test_replay_wrongEntryPoint_reverts() public {
        // Op J becomes a transpose (same slots): it goes through the chunk reveal.
        OpDescriptor memory t = _op(J);
        t.kind = OpKind.TRANSPOSE;
        _replaceOp(t);
        _until(Phase.ChunkReveal);
        _until(Phase.Replay);
        GavelMerkle.SlotProof[] memory s = new GavelMerkle.SlotProof[](2);
        GavelMerkle.ChunkProof[] memory c = new GavelMerkle.ChunkProof[](2);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongReplay.selector, OpKind.TRANSPOSE));
        game.replay(t, s, c);

        replacement = "";
        OpDescriptor memory m = _op(J);
        m.inputs = new uint32[](1);
        _replaceOp(m);
        _until(Phase.Replay);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.MalformedDescriptor.selector, OpKind.SGD));
        game.replay(m, s, c);
        OneStepReplay.InputOpening[] memory ins;
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongReplay.selector, OpKind.SGD));
        game.replayElement(m, 0, "", "", ins);
    }

    ////////////////////////////////////////////////////////////////
    //              CHUNK REVEAL AND ELEMENT REPLAY               //
    ////////////////////////////////////////////////////////////////

    /// @notice `add_bias`: both reveal their chunk, the element replay rules.
    function test_replayElement_succeeds() public {
        jKind = OpKind.ADD_BIAS;
        _build(8, 4, 3, 2, Lie.Element, 700);
        game = _open(Party.Solver);
        _until(Phase.ChunkReveal);
        _moveAs(Party.Solver);
        _moveAs(Party.Challenger);
        assertTrue(game.phase() == Phase.Replay, "replay");
        (bool ok,) = address(game).call(_replayElementData(1));
        assertTrue(ok, "element replay");
        assertTrue(game.solverWon(), "solver");
    }

    /// @notice `revealChunk` reverts: wrong length, bytes that are not the party's leaf.
    function test_revealChunk_reverts() public {
        jKind = OpKind.SOFTMAX;
        _build(8, 4, 3, 2, Lie.Element, 700);
        game = _open(Party.Solver);
        _until(Phase.ChunkReveal);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongCount.selector, 2048, 32));
        game.revealChunk(bytes.concat(bytes32(0)));
        vm.prank(challenger);
        _expectInvalid("chunk", Party.Challenger);
        game.revealChunk(_chunkBytes(truth, 1));
        vm.prank(challenger);
        game.revealChunk(_chunkBytes(lie, 1));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.AlreadyMoved.selector, Party.Challenger));
        game.revealChunk(_chunkBytes(lie, 1));
    }

    /// @notice `replayElement` reverts: chunks that are not the parties', an index past the
    ///         chunk, an element where both agree.
    function test_replayElement_reverts() public {
        jKind = OpKind.SOFTMAX;
        _build(8, 4, 3, 2, Lie.Element, 700);
        game = _open(Party.Solver);
        _until(Phase.Replay);
        bytes memory sc = _chunkBytes(truth, 1);
        bytes memory cc = _chunkBytes(lie, 1);
        OneStepReplay.InputOpening[] memory ins;
        OpDescriptor memory op = _op(J);
        _expectInvalid("chunk", Party.Solver);
        game.replayElement(op, 0, cc, cc, ins);
        _expectInvalid("chunk", Party.Challenger);
        game.replayElement(op, 0, sc, sc, ins);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.IndexPastChunk.selector, 512, 512));
        game.replayElement(op, 512, sc, cc, ins);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.SameElement.selector, 0));
        game.replayElement(op, 0, sc, cc, ins);
        vm.expectRevert(abi.encodeWithSelector(OneStepReplay.InputCount.selector, 1, 0));
        game.replayElement(op, 700 - 512, sc, cc, ins);
        (bool ok,) = address(game).call(_replayElementData(1));
        assertTrue(ok && game.solverWon(), "softmax replay");
    }

    /// @dev Re-opens the game with op J replaced by `_op` in the program.
    function _replaceOp(OpDescriptor memory _o) internal {
        opLeaves[J] = keccak256(abi.encodePacked(GavelMerkle.TAG_OP, abi.encode(_o)));
        replacement = abi.encode(_o);
        game = _openWith(truth.traceRoot, truth.post, lie.traceRoot);
    }

    /// @dev The encoded replacement of op J (empty: none).
    bytes internal replacement;

    /// @dev Op J's descriptor honours a replacement.
    function _op(uint32 _j) internal view override returns (OpDescriptor memory op_) {
        if (_j == J && replacement.length != 0) return abi.decode(replacement, (OpDescriptor));
        op_ = super._op(_j);
    }
}

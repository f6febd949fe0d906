// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DisputeGame} from "../../src/game/DisputeGame.sol";
import {OpKind, Outcome, Party, Phase} from "../../src/game/GameTypes.sol";
import {GameFixture} from "./GameFixture.sol";

/// @title DisputeGameFlowTest
/// @notice Whole games: an honest side against every lie, as solver and as challenger,
///         at several trace lengths and divergence points; the honest side always wins and
///         the game reports exactly once.
contract DisputeGameFlowTest is GameFixture {
    /// @notice Honest solver, challenger lies about one element: solver wins by replay.
    function test_play_honestSolver_element_succeeds() public {
        _build(8, 4, 3, 2, Lie.Element, 700);
        DisputeGame game = _open(Party.Solver);
        _playOut(game, Party.Solver);
        _assertWon(game, Party.Solver, Outcome.Replayed);
    }

    /// @notice Honest challenger, solver lies about one element: challenger wins by replay.
    function test_play_honestChallenger_element_succeeds() public {
        _build(8, 4, 3, 2, Lie.Element, 5);
        DisputeGame game = _open(Party.Challenger);
        _playOut(game, Party.Challenger);
        _assertWon(game, Party.Challenger, Outcome.Replayed);
    }

    /// @notice A lie in the padding of the output's chunk tree loses at the padding leaf.
    function test_play_padding_succeeds() public {
        _build(5, 3, 0, 0, Lie.Padding, 0);
        DisputeGame game = _open(Party.Challenger);
        _playOut(game, Party.Challenger);
        _assertWon(game, Party.Challenger, Outcome.Padding);
        _build(5, 3, 4, 2, Lie.Padding, 0);
        game = _open(Party.Solver);
        _playOut(game, Party.Solver);
        _assertWon(game, Party.Solver, Outcome.Padding);
    }

    /// @notice A post-state that changed another slot cannot be revealed: timeout.
    function test_play_otherSlot_succeeds() public {
        _build(6, 5, 2, 4, Lie.OtherSlot, 0);
        DisputeGame game = _open(Party.Solver);
        _playOut(game, Party.Solver);
        _assertWon(game, Party.Solver, Outcome.Timeout);
    }

    /// @notice A silent liar loses on time, as either party.
    function test_play_silent_succeeds() public {
        _build(6, 2, 1, 0, Lie.Silent, 0);
        DisputeGame game = _open(Party.Solver);
        _playOut(game, Party.Solver);
        _assertWon(game, Party.Solver, Outcome.Timeout);
        _build(6, 2, 1, 0, Lie.Silent, 0);
        game = _open(Party.Challenger);
        _playOut(game, Party.Challenger);
        _assertWon(game, Party.Challenger, Outcome.Timeout);
    }

    /// @notice One step, one op: straight to the slot reveal.
    function test_play_oneStepOneOp_succeeds() public {
        _build(1, 1, 0, 0, Lie.Element, 1099);
        DisputeGame game = _open(Party.Challenger);
        assertTrue(game.phase() == Phase.StepCommit, "starts at the step commit");
        _playOut(game, Party.Challenger);
        _assertWon(game, Party.Challenger, Outcome.Replayed);
    }

    /// @notice `add_bias` and `softmax` (one-element replay after the chunk reveal), either
    ///         side honest.
    function test_play_elementReplay_succeeds() public {
        jKind = OpKind.ADD_BIAS;
        _build(8, 4, 3, 2, Lie.Element, 1099);
        DisputeGame game = _open(Party.Challenger);
        _playOut(game, Party.Challenger);
        _assertWon(game, Party.Challenger, Outcome.Replayed);
        jKind = OpKind.SOFTMAX;
        _build(3, 2, 2, 1, Lie.Element, 42);
        game = _open(Party.Solver);
        _playOut(game, Party.Solver);
        _assertWon(game, Party.Solver, Outcome.Replayed);
    }

    /// @notice Any world, any lie, either side honest: the honest side wins, within the
    ///         clocks, reported once.
    /// forge-config: default.fuzz.runs = 32
    /// forge-config: ci.fuzz.runs = 96
    function testFuzz_play_honestWins_succeeds(
        uint64 _n,
        uint32 _k,
        uint64 _d,
        uint32 _j,
        uint8 _lie,
        uint256 _e,
        bool _solverHonest
    ) public {
        jKind = [OpKind.SGD, OpKind.ADD_BIAS, OpKind.SOFTMAX][_e % 3];
        uint64 n = uint64(bound(_n, 1, 1 << 12));
        uint32 k = uint32(bound(_k, 1, 64));
        uint64 d = uint64(bound(_d, 0, n - 1));
        uint32 j = uint32(bound(_j, 0, k - 1));
        _build(n, k, d, j, Lie(bound(_lie, 0, 3)), _e);
        Party honest = _solverHonest ? Party.Solver : Party.Challenger;
        uint256 start = block.timestamp;
        DisputeGame game = _open(honest);
        _playOut(game, honest);
        assertTrue(game.phase() == Phase.Resolved, "ended");
        assertTrue(game.solverWon() == _solverHonest, "honest side won");
        assertEq(market.reportCount(), 1, "reported once");
        // Each round costs the honest side 1 hour here; the liar at most its clock.
        assertTrue(block.timestamp - start <= 2 * uint256(CLOCK) + 200 hours, "within the clocks");
    }

    /// @dev The game ended with `_winner` winning for `_outcome`, reported to the market.
    function _assertWon(DisputeGame _game, Party _winner, Outcome _outcome) internal view {
        assertTrue(_game.phase() == Phase.Resolved, "resolved");
        assertTrue(_game.solverWon() == (_winner == Party.Solver), "winner");
        assertEq(uint256(_game.outcome()), uint256(_outcome), "outcome");
        assertEq(market.reports(uint64(gameCount)), _winner == Party.Solver ? 2 : 1, "report");
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Party, Phase} from "../../../src/game/GameTypes.sol";
import {InvariantTest} from "../InvariantTest.sol";
import {GameHandler} from "./GameHandler.sol";

/// @title GameInvariants
/// @notice Invariants of the dispute game under an honest side and a liar that plays
///         any timing, its lying trace, forged moves or silence (`GameHandler`).
contract GameInvariants is InvariantTest {
    /// @dev The handler.
    GameHandler internal handler;

    /// @notice Deploys the handler and fuzzes its four actions only.
    function setUp() public {
        handler = new GameHandler();
        bytes4[] memory selectors = new bytes4[](4);
        selectors[0] = GameHandler.liarMove.selector;
        selectors[1] = GameHandler.liarForge.selector;
        selectors[2] = GameHandler.callTimeout.selector;
        selectors[3] = GameHandler.newGame.selector;
        _targetContract(address(handler));
        _targetSelector(address(handler), selectors);
    }

    /// @notice The honest side never loses a game, whatever the liar does.
    /// forge-config: default.invariant.runs = 12
    /// forge-config: default.invariant.depth = 32
    /// forge-config: ci.invariant.runs = 20
    /// forge-config: ci.invariant.depth = 48
    function invariant_honestNeverLoses() public view {
        assertEq(handler.honestLosses(), 0, "honest side lost");
        if (handler.game().phase() == Phase.Resolved) {
            assertTrue(handler.game().solverWon() == (handler.honest() == Party.Solver), "current game");
        }
    }

    /// @notice Every game is decidable within both clocks: past `2 * CLOCK` after it
    ///         started, an unresolved game has a party that owes a move with no time left,
    ///         so `timeout` ends it; and each party's charged time never exceeds its clock.
    /// forge-config: default.invariant.runs = 12
    /// forge-config: default.invariant.depth = 32
    /// forge-config: ci.invariant.runs = 20
    /// forge-config: ci.invariant.depth = 48
    function invariant_decidableWithinClocks() public view {
        assertEq(handler.overdue(), 0, "a game outlived both clocks undecided");
        assertTrue(handler.game().sideOf(Party.Solver).remaining <= handler.game().CLOCK(), "solver clock");
        assertTrue(handler.game().sideOf(Party.Challenger).remaining <= handler.game().CLOCK(), "challenger clock");
    }

    /// @notice Every ended game reported to the market exactly once, and only ended ones.
    /// forge-config: default.invariant.runs = 12
    /// forge-config: default.invariant.depth = 32
    /// forge-config: ci.invariant.runs = 20
    /// forge-config: ci.invariant.depth = 48
    function invariant_reportedOnce() public view {
        assertEq(handler.reports(), handler.resolved(), "one report per ended game");
        assertTrue(handler.resolved() <= handler.games(), "games");
        assertTrue(handler.games() >= 1, "a game is always open or ended");
    }
}

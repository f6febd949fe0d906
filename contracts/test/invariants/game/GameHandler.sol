// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DisputeGame} from "../../../src/game/DisputeGame.sol";
import {OpKind, Party, Phase} from "../../../src/game/GameTypes.sol";
import {GameFixture} from "../../game/GameFixture.sol";

/// @title GameHandler
/// @notice The actor handler of the game invariants: one honest side that always moves at
///         once (a node that follows the chain), and one liar that waits any time up to
///         two days, plays its lying trace or forged moves, or stays silent; anyone may call
///         `timeout` at any time. A new world (trace length, ops, divergence point, kind of
///         lie, which side is honest) is drawn whenever the current game has ended.
contract GameHandler is GameFixture {
    ////////////////////////////////////////////////////////////////
    //                       GHOST STATE                          //
    ////////////////////////////////////////////////////////////////

    /// @notice The current game (zero before the first).
    DisputeGame public game;

    /// @notice Which side is honest in the current game.
    Party public honest;

    /// @notice When the current game started.
    uint256 public startedAt;

    /// @notice Games opened.
    uint256 public games;

    /// @notice Games that ended.
    uint256 public resolved;

    /// @notice Games the honest side lost (must stay 0).
    uint256 public honestLosses;

    /// @notice Games that ended later than `2 * CLOCK` after they started without having
    ///         been decidable by then (must stay 0).
    uint256 public overdue;

    /// @notice Reports the market received.
    /// @return count_ How many.
    function reports() external view returns (uint256 count_) {
        count_ = market.reportCount();
    }

    /// @notice Sets up the fixture and the first game.
    constructor() {
        setUp();
        _newGame(1);
    }

    ////////////////////////////////////////////////////////////////
    //                         ACTIONS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice The liar waits, then plays its trace's move (which may be refused).
    /// @param _wait Seconds to wait (up to two days).
    function liarMove(uint256 _wait) external {
        _honestCatchUp();
        if (_ended()) return;
        vm.warp(block.timestamp + bound(_wait, 0, 2 days));
        _tryMove(game, _liar(), lie);
        _honestCatchUp();
    }

    /// @notice The liar waits, then sends a forged move (random roots): always refused.
    /// @param _wait Seconds to wait.
    /// @param _root A random root.
    function liarForge(uint256 _wait, bytes32 _root) external {
        _honestCatchUp();
        if (_ended()) return;
        vm.warp(block.timestamp + bound(_wait, 0, 2 days));
        vm.prank(_liar() == Party.Solver ? solver : challenger);
        (bool ok,) = address(game).call(abi.encodeCall(DisputeGame.revealChildren, (_root, _root)));
        require(!ok, "a forged move was accepted");
        _honestCatchUp();
    }

    /// @notice Time passes (up to four days) and anyone calls `timeout`.
    /// @param _wait Seconds to wait.
    function callTimeout(uint256 _wait) external {
        _honestCatchUp();
        if (_ended()) return;
        vm.warp(block.timestamp + bound(_wait, 0, 4 days));
        _checkDecidable();
        (bool ok,) = address(game).call(abi.encodeCall(DisputeGame.timeout, ()));
        ok;
        _honestCatchUp();
    }

    /// @notice Starts a new game once the current one has ended.
    /// @param _seed Draws the world.
    function newGame(uint256 _seed) external {
        if (!_ended()) return;
        _newGame(_seed);
    }

    ////////////////////////////////////////////////////////////////
    //                         INTERNAL                           //
    ////////////////////////////////////////////////////////////////

    /// @dev The liar.
    function _liar() internal view returns (Party p_) {
        p_ = honest == Party.Solver ? Party.Challenger : Party.Solver;
    }

    /// @dev Whether the current game ended; records its outcome the first time.
    function _ended() internal returns (bool ended_) {
        ended_ = game.phase() == Phase.Resolved;
        if (ended_ && resolved < games) {
            ++resolved;
            if (game.solverWon() != (honest == Party.Solver)) ++honestLosses;
        }
    }

    /// @dev The honest side moves at once whenever it owes a move (and replays).
    function _honestCatchUp() internal {
        for (uint256 i = 0; i < 3 && !_ended(); ++i) {
            if (game.phase() == Phase.Replay) {
                (bool ok,) = address(game).call(_honestReplay(game));
                require(ok, "honest replay refused");
            } else if (!_tryMove(game, honest, truth)) {
                return;
            }
        }
        _ended();
    }

    /// @dev Past `2 * CLOCK` an unresolved game must be decidable by `timeout`: some
    ///      party owes a move and has no time left.
    function _checkDecidable() internal {
        if (_ended() || block.timestamp <= startedAt + 2 * uint256(CLOCK)) return;
        bool owes0 = !game.sideOf(Party.Solver).moved;
        bool owes1 = !game.sideOf(Party.Challenger).moved;
        bool out = (owes0 && game.clockLeft(Party.Solver) == 0) || (owes1 && game.clockLeft(Party.Challenger) == 0);
        if (!out) ++overdue;
    }

    /// @dev Draws and opens a new world.
    function _newGame(uint256 _seed) internal {
        uint64 n = uint64(bound(_seed, 1, 64));
        uint32 k = uint32(bound(_seed >> 8, 1, 8));
        uint64 d = uint64(bound(_seed >> 16, 0, n - 1));
        uint32 j = uint32(bound(_seed >> 24, 0, k - 1));
        Lie l = Lie(bound(_seed >> 32, 0, 3));
        honest = (_seed >> 40) & 1 == 0 ? Party.Solver : Party.Challenger;
        jKind = [OpKind.SGD, OpKind.ADD_BIAS, OpKind.SOFTMAX][(_seed >> 44) % 3];
        _build(n, k, d, j, l, _seed >> 48);
        game = _open(honest);
        startedAt = block.timestamp;
        ++games;
        _honestCatchUp();
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DisputeGame} from "../../src/game/DisputeGame.sol";
import {OpKind, Outcome, Party, Phase} from "../../src/game/GameTypes.sol";
import {console} from "../lib/Test.sol";
import {GameFixture} from "./GameFixture.sol";

/// @title DisputeGameGasTest
/// @notice Gas of a whole dispute over a trace of 2^20 ops (2^14 steps of 64 ops), per
///         move and per party, and of the game's creation, which the challenger pays in
///         `challenge` (docs/benchmarks.md). A move's cost is its execution gas
///         (measured) plus the transaction's intrinsic cost: 21,000 plus calldata at
///         4 / 16 gas per zero / non-zero byte, or the EIP-7623 floor (10 per token) where
///         that is higher.
/// @dev By default forge runs the whole test as one transaction: the game's accounts and
///      storage are warm after their first touch and its slots were first written in this
///      same transaction, so a move's reads cost 100 gas instead of 2,100 and its writes
///      100 instead of 2,900 or 5,000. With `--isolate`
///      every call from the test is its own transaction (cold accounts and slots, the
///      intrinsic cost included in `lastCallGas`): the figures are then what a sender
///      pays, and the test notices, takes them as they are and asserts the same targets
///      (a bisection move <= 80k per transaction: 71.5k).
contract DisputeGameGasTest is GameFixture {
    /// @dev Running totals of one party.
    struct Tally {
        uint256 moves;
        uint256 gas;
        uint256 maxBisection;
    }

    /// @dev Whether forge runs each call as its own transaction (`--isolate`).
    bool internal isolated;

    /// @notice Plays the 2^20-op dispute over an `sgd` (chunk replay) and logs and checks
    ///         the figures.
    function test_gas_dispute2pow20_succeeds() public {
        _dispute(OpKind.SGD);
    }

    /// @notice The same over a `softmax` (chunk reveal, then one-element replay of a row).
    function test_gas_dispute2pow20_elementReplay_succeeds() public {
        _dispute(OpKind.SOFTMAX);
    }

    /// @dev Plays a 2^20-op dispute whose op J is `_kind`.
    function _dispute(uint8 _kind) internal {
        jKind = _kind;
        console.log(_kind == OpKind.SGD ? "op J: sgd" : "op J: softmax");
        _build(1 << 14, 64, 9999, 40, Lie.Element, 5);
        DisputeGame game = _open(Party.Challenger);
        // A call to an account without code costs nothing, unless it is a transaction of
        // its own (forge isolates calls, not static calls).
        (bool ok,) = address(0xBEEF).call("");
        isolated = ok && vm.lastCallGas().gasTotalUsed >= 21_000;
        if (isolated) console.log("isolated: every call is its own transaction");
        // A second game (a new id) on the same factory: a clone of the implementation
        // with its parameters as immutable arguments, and its first round's storage.
        uint256 g0 = gasleft();
        market.open(factory, _params(lie.traceRoot, lie.post, truth.traceRoot));
        uint256 creation = g0 - gasleft();
        // Isolated, the whole transaction of the (mock) market's call into the factory.
        if (isolated) creation = vm.lastCallGas().gasTotalUsed;
        console.log(
            isolated
                ? "game creation through the factory (its whole transaction)"
                : "game creation through the factory (execution gas)",
            creation
        );
        Tally[2] memory t;
        uint256 replayGas;
        uint256 maxStepCommit;
        uint256 maxSlot;
        for (uint256 round = 0; round < 100 && game.phase() != Phase.Resolved; ++round) {
            Phase ph = game.phase();
            if (ph == Phase.Replay) {
                bytes memory data = _honestReplay(game);
                replayGas = _call(game, address(this), data);
                // The honest side pays for the replay.
                t[1].gas += replayGas;
                t[1].moves += 1;
                break;
            }
            vm.warp(block.timestamp + 1 hours);
            for (uint256 p = 0; p < 2; ++p) {
                bytes memory data = _moveData(game, p == 0 ? lie : truth);
                uint256 used = _call(game, p == 0 ? solver : challenger, data);
                t[p].moves += 1;
                t[p].gas += used;
                if (ph == Phase.Checkpoints || ph == Phase.Ops || ph == Phase.Descent) {
                    if (used > t[p].maxBisection) t[p].maxBisection = used;
                } else if (ph == Phase.StepCommit) {
                    if (used > maxStepCommit) maxStepCommit = used;
                } else if (used > maxSlot) {
                    maxSlot = used;
                }
            }
        }
        assertTrue(game.phase() == Phase.Resolved && !game.solverWon(), "the honest challenger won");
        assertEq(uint256(game.outcome()), uint256(Outcome.Replayed), "by replay");

        uint256 maxBisection = t[0].maxBisection > t[1].maxBisection ? t[0].maxBisection : t[1].maxBisection;
        // The output slot here has 3 chunks (2 descent rounds); a slot of 2^26 elements has
        // 2^17 chunks: 15 more descent moves each, bounded by the largest bisection move.
        uint256 extra = 15 * maxBisection;
        console.log("largest bisection move (tx gas)", maxBisection);
        console.log("step commit move (tx gas)", maxStepCommit);
        console.log("largest slot or chunk reveal move (tx gas)", maxSlot);
        console.log("replay with openings (tx gas)", replayGas);
        console.log("solver (liar) moves", t[0].moves);
        console.log("solver gas", t[0].gas);
        console.log("challenger (honest) moves, replay included", t[1].moves);
        console.log("challenger gas, replay included", t[1].gas);
        console.log("worst case per party with a 2^26-element slot: moves", t[1].moves + 15);
        console.log("worst case per party with a 2^26-element slot: gas", t[1].gas + extra);
        console.log("worst case, challenger with the game's creation: gas", t[1].gas + extra + creation);
        assertLe(creation, 1_000_000, "creation < 1M");
        assertLe(maxBisection, 80_000, "bisection move <= 80k");
        assertLe(replayGas, 1_500_000, "replay <= 1.5M");
        assertLe(t[1].moves + 15, 45, "<= 45 moves per party");
        assertLe(t[1].gas + extra + creation, 5_000_000, "<= 5M gas per party, creation included");
    }

    /// @dev Calls the game from `_from` and returns execution plus intrinsic gas.
    function _call(DisputeGame _game, address _from, bytes memory _data) internal returns (uint256 gas_) {
        vm.prank(_from);
        (bool ok,) = address(_game).call(_data);
        uint256 exec = vm.lastCallGas().gasTotalUsed;
        require(ok, "move failed");
        uint256 zeros;
        for (uint256 i = 0; i < _data.length; ++i) {
            if (_data[i] == 0) ++zeros;
        }
        uint256 tokens = zeros + 4 * (_data.length - zeros);
        // Isolated, `exec` is already the transaction's gas, the intrinsic cost included.
        uint256 standard = isolated ? exec : 21_000 + 4 * tokens + exec;
        uint256 floor = 21_000 + 10 * tokens;
        gas_ = standard > floor ? standard : floor;
    }

    /// @dev `a <= b`.
    function assertLe(uint256 _a, uint256 _b, string memory _e) internal pure {
        vm.assertLe(_a, _b, _e);
    }
}

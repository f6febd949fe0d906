// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OperatorEvaluator} from "../../src/replay/OperatorEvaluator.sol";
import {Test, console} from "../lib/Test.sol";

/// @title OperatorReplayGasTest
/// @notice The worst-case one-element replay of every operator, measured. Each test calls
///         the deployed `OperatorEvaluator` once with the longest operands the program
///         format allows (`MAX_REDUCE` = 128) and values that take the slowest paths (no
///         exp under the cut-off, a new maximum at every step), logs the gas of the call
///         and checks it against `ARITHMETIC_BUDGET`. The figures in docs/benchmarks.md
///         come from `forge test --mc OperatorReplayGasTest --gas-report`.
contract OperatorReplayGasTest is Test {
    /// @dev The evaluator under test.
    OperatorEvaluator private eval;

    /// @dev The share of the 1.5M-gas one-step budget (issue 5) that the arithmetic may
    ///      take, leaving the rest to the Merkle openings of up to 256 input elements and
    ///      the game's own checks.
    uint256 private constant ARITHMETIC_BUDGET = 500_000;

    /// @dev The longest row, column or chunk.
    uint256 private constant N = 128;

    /// @notice Deploys the evaluator.
    function setUp() public {
        eval = new OperatorEvaluator();
    }

    /// @notice `add`, `sub`, `mul`, `add_bias`, `scale`, `relu`, `relu_grad`, `sgd`: one element.
    function test_gas_elementwise_succeeds() public view {
        uint256 g = gasleft();
        eval.add(type(int32).max, 1);
        _record("add", g - gasleft());
        g = gasleft();
        eval.sub(type(int32).min, 1);
        _record("sub", g - gasleft());
        g = gasleft();
        eval.mul(3, 32_768);
        _record("mul", g - gasleft());
        g = gasleft();
        eval.addBias(type(int32).max, 1);
        _record("add_bias", g - gasleft());
        g = gasleft();
        eval.scale(3, 32_768);
        _record("scale", g - gasleft());
        g = gasleft();
        eval.relu(-1);
        _record("relu", g - gasleft());
        g = gasleft();
        eval.reluGrad(1, 5);
        _record("relu_grad", g - gasleft());
        g = gasleft();
        eval.sgd(1, 3, 32_768);
        _record("sgd", g - gasleft());
    }

    /// @notice `gather` and `transpose`: the position computations (the value is a copy).
    function test_gas_copies_succeeds() public view {
        uint256 g = gasleft();
        uint256 pos = eval.gatherIndexPosition(type(uint64).max, 7, 128, 127);
        pos = eval.gatherTablePosition(type(int32).min, 10_000, 64, 63);
        _record("gather (both positions)", g - gasleft());
        g = gasleft();
        pos = eval.transposeSourcePosition(8191, 64, 128);
        _record("transpose (position)", g - gasleft());
    }

    /// @notice `mat_mul`: one element from a full 128-product chunk.
    function test_gas_matMul_succeeds() public view {
        (int32[] memory a, int32[] memory b) = (_ramp(N, -64 * 65_536, 65_537), _ramp(N, 64 * 65_536, -65_535));
        uint256 g = gasleft();
        eval.matMul(a, b);
        _record("mat_mul (128-product chunk)", g - gasleft());
    }

    /// @notice `sum_rows`: one element from a 128-row column.
    function test_gas_sumRows_succeeds() public view {
        int32[] memory column = _ramp(N, type(int32).max - 1000, -1);
        uint256 g = gasleft();
        eval.sumRows(column);
        _record("sum_rows (128 rows)", g - gasleft());
    }

    /// @notice `softmax`: one element of a 128-wide row, every exp on its full path.
    function test_gas_softmax_succeeds() public view {
        int32[] memory row = _ramp(N, -8 * 65_536, 8191);
        uint256 g = gasleft();
        eval.softmax(row, 5);
        _record("softmax (element, row of 128)", g - gasleft());
        g = gasleft();
        eval.softmaxRow(row);
        _record("softmax (whole row of 128)", g - gasleft());
    }

    /// @notice `softmax_xent_grad`: one element of a 128-wide row.
    function test_gas_softmaxXentGrad_succeeds() public view {
        int32[] memory row = _ramp(N, -8 * 65_536, 8191);
        int32[] memory labels = _ramp(N, 0, 512);
        uint256 g = gasleft();
        eval.softmaxXentGrad(row, 5, 65_536, 2048);
        _record("softmax_xent_grad (element, row of 128)", g - gasleft());
        g = gasleft();
        eval.softmaxXentGradRow(row, labels, 2048);
        _record("softmax_xent_grad (whole row of 128)", g - gasleft());
    }

    /// @notice `xent_loss`: one row of 128 logits and labels.
    function test_gas_xentLoss_succeeds() public view {
        int32[] memory row = _ramp(N, -8 * 65_536, 8191);
        int32[] memory labels = _ramp(N, 0, 512);
        uint256 g = gasleft();
        eval.xentLoss(row, labels);
        _record("xent_loss (row of 128)", g - gasleft());
    }

    /// @notice `argmax`: a strictly increasing row of 128 (a new maximum at every step).
    function test_gas_argmax_succeeds() public view {
        int32[] memory row = _ramp(N, -1000, 1);
        uint256 g = gasleft();
        eval.argmax(row);
        _record("argmax (row of 128)", g - gasleft());
    }

    /// @dev Logs a measurement (caller side: includes the call and ABI encoding) and checks
    ///      it against the budget.
    function _record(string memory _what, uint256 _gas) private pure {
        console.log(string.concat(_what, ": gas"), _gas);
        vm.assertLe(_gas, ARITHMETIC_BUDGET, string.concat(_what, ": over the arithmetic budget"));
    }

    /// @dev `_len` values `_start + i * _step`.
    function _ramp(uint256 _len, int256 _start, int256 _step) private pure returns (int32[] memory x_) {
        x_ = new int32[](_len);
        for (uint256 i; i < _len; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) callers keep the ramp in range.
            x_[i] = int32(_start + int256(i) * _step);
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OperatorEvaluator} from "../../src/replay/OperatorEvaluator.sol";
import {Test, console} from "../lib/Test.sol";

/// @title OperatorReplayVectorsTest
/// @notice Differential tests: every case of every exported vector file
///         (tests/vectors/<op>.json, docs/vectors.md; at least 1,000 cases each, edge values
///         first) is recomputed element by element through the deployed `OperatorEvaluator`,
///         and every element must equal the CPU reference's output exactly. The position
///         helpers pick the input elements each output element reads, so they are checked
///         by the same cases.
contract OperatorReplayVectorsTest is Test {
    ////////////////////////////////////////////////////////////////
    //                    VECTOR FILE LAYOUT                      //
    ////////////////////////////////////////////////////////////////

    /// @dev One input tensor of a case (fields in the files' alphabetical key order).
    struct Input {
        string name;
        uint256[] shape;
        int256[] values;
    }

    /// @dev The expected output tensor of a case.
    struct Output {
        uint256[] shape;
        int256[] values;
    }

    /// @dev A case of an operator without scalar parameters.
    struct Case {
        uint256 id;
        Input[] inputs;
        Output output;
        uint256 step;
    }

    /// @dev `mat_mul`'s parameters.
    struct MatMulParams {
        uint256 kChunk;
        bool transA;
        bool transB;
    }

    /// @dev The dimensions of a `mat_mul` instance (`A [M, K]`, `B [K, N]`), and the output
    ///      element being replayed.
    struct MatMulDims {
        uint256 m;
        uint256 k;
        uint256 n;
        MatMulParams params;
        uint256 row;
        uint256 col;
    }

    /// @dev A `mat_mul` case.
    struct MatMulCase {
        uint256 id;
        Input[] inputs;
        Output output;
        MatMulParams params;
        uint256 step;
    }

    /// @dev The one Q16.16 parameter of `scale` (`factor`), `sgd` (`lr`) and
    ///      `softmax_xent_grad` (`scale`): decoded by position, so one struct serves all.
    struct ScalarParam {
        int256 value;
    }

    /// @dev A case of an operator with one Q16.16 parameter.
    struct ScalarCase {
        uint256 id;
        Input[] inputs;
        Output output;
        ScalarParam params;
        uint256 step;
    }

    /// @dev Type descriptions shared by every case type.
    string private constant TENSOR_TYPES =
        "Input(string name,uint256[] shape,int256[] values)Output(uint256[] shape,int256[] values)";

    /// @dev The number of cases every file must hold (docs/vectors.md).
    uint256 private constant MIN_CASES = 1000;

    ////////////////////////////////////////////////////////////////
    //                           STATE                            //
    ////////////////////////////////////////////////////////////////

    /// @dev The evaluator under test.
    OperatorEvaluator private eval;

    /// @notice Deploys the evaluator.
    function setUp() public {
        eval = new OperatorEvaluator();
    }

    ////////////////////////////////////////////////////////////////
    //                   ELEMENT-WISE OPERATORS                   //
    ////////////////////////////////////////////////////////////////

    /// @notice Every `add` case.
    function test_add_vectors_succeeds() public view {
        _checkBinary("add", 0);
    }

    /// @notice Every `sub` case.
    function test_sub_vectors_succeeds() public view {
        _checkBinary("sub", 1);
    }

    /// @notice Every `mul` case.
    function test_mul_vectors_succeeds() public view {
        _checkBinary("mul", 2);
    }

    /// @notice Every `relu_grad` case.
    function test_reluGrad_vectors_succeeds() public view {
        _checkBinary("relu_grad", 3);
    }

    /// @notice Every `relu` case.
    function test_relu_vectors_succeeds() public view {
        Case[] memory cases = _load("relu");
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            Case memory c = cases[i];
            int32[] memory a = _values(c.inputs[0], "a");
            for (uint256 e; e < c.output.values.length; ++e) {
                _expect(eval.relu(a[e]), c.output.values[e], "relu", c.id, e);
            }
            elements += c.output.values.length;
            _resetMemory(fmp);
        }
        _report("relu", cases.length, elements);
    }

    /// @notice Every `scale` case.
    function test_scale_vectors_succeeds() public view {
        ScalarCase[] memory cases = _loadScalar("scale", "factor");
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            ScalarCase memory c = cases[i];
            int32[] memory a = _values(c.inputs[0], "a");
            int32 factor = _i32(c.params.value);
            for (uint256 e; e < c.output.values.length; ++e) {
                _expect(eval.scale(a[e], factor), c.output.values[e], "scale", c.id, e);
            }
            elements += c.output.values.length;
            _resetMemory(fmp);
        }
        _report("scale", cases.length, elements);
    }

    /// @notice Every `sgd` case.
    function test_sgd_vectors_succeeds() public view {
        ScalarCase[] memory cases = _loadScalar("sgd", "lr");
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            ScalarCase memory c = cases[i];
            int32[] memory param = _values(c.inputs[0], "param");
            int32[] memory grad = _values(c.inputs[1], "grad");
            int32 lr = _i32(c.params.value);
            for (uint256 e; e < c.output.values.length; ++e) {
                _expect(eval.sgd(param[e], grad[e], lr), c.output.values[e], "sgd", c.id, e);
            }
            elements += c.output.values.length;
            _resetMemory(fmp);
        }
        _report("sgd", cases.length, elements);
    }

    /// @notice Every `add_bias` case: `a [R, N]`, `bias [N]`.
    function test_addBias_vectors_succeeds() public view {
        Case[] memory cases = _load("add_bias");
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            Case memory c = cases[i];
            int32[] memory a = _values(c.inputs[0], "a");
            int32[] memory bias = _values(c.inputs[1], "bias");
            uint256 n = c.inputs[0].shape[1];
            for (uint256 e; e < c.output.values.length; ++e) {
                int32 got = eval.addBias(a[e], bias[eval.addBiasPosition(e, n)]);
                _expect(got, c.output.values[e], "add_bias", c.id, e);
            }
            elements += c.output.values.length;
            _resetMemory(fmp);
        }
        _report("add_bias", cases.length, elements);
    }

    ////////////////////////////////////////////////////////////////
    //                      COPY OPERATORS                        //
    ////////////////////////////////////////////////////////////////

    /// @notice Every `gather` case: `table [R, C]`, `index [T, B]`, output `[B, C]`.
    function test_gather_vectors_succeeds() public view {
        Case[] memory cases = _load("gather");
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            Case memory c = cases[i];
            int32[] memory table = _values(c.inputs[0], "table");
            int32[] memory index = _values(c.inputs[1], "index");
            (uint256 rows, uint256 cols) = (c.inputs[0].shape[0], c.inputs[0].shape[1]);
            (uint256 t, uint256 batch) = (c.inputs[1].shape[0], c.inputs[1].shape[1]);
            assertEq(c.output.values.length, batch * cols, "gather: output size");
            for (uint256 e; e < c.output.values.length; ++e) {
                // forge-lint: disable-next-line(unsafe-typecast) steps fit u32 (docs/vectors.md).
                uint256 ipos = eval.gatherIndexPosition(uint64(c.step), t, batch, e / cols);
                uint256 tpos = eval.gatherTablePosition(index[ipos], rows, cols, e % cols);
                _expect(table[tpos], c.output.values[e], "gather", c.id, e);
            }
            elements += c.output.values.length;
            _resetMemory(fmp);
        }
        _report("gather", cases.length, elements);
    }

    /// @notice Every `transpose` case: `a [R, C]`, output `[C, R]`.
    function test_transpose_vectors_succeeds() public view {
        Case[] memory cases = _load("transpose");
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            Case memory c = cases[i];
            int32[] memory a = _values(c.inputs[0], "a");
            (uint256 rows, uint256 cols) = (c.inputs[0].shape[0], c.inputs[0].shape[1]);
            assertEq(c.output.values.length, rows * cols, "transpose: output size");
            for (uint256 e; e < c.output.values.length; ++e) {
                _expect(a[eval.transposeSourcePosition(e, rows, cols)], c.output.values[e], "transpose", c.id, e);
            }
            elements += c.output.values.length;
            _resetMemory(fmp);
        }
        _report("transpose", cases.length, elements);
    }

    ////////////////////////////////////////////////////////////////
    //                         REDUCTIONS                         //
    ////////////////////////////////////////////////////////////////

    /// @notice Every `mat_mul` case: each output element `(s, m, n)` from its chunk only.
    function test_matMul_vectors_succeeds() public view {
        string memory json = _read("mat_mul");
        MatMulCase[] memory cases = abi.decode(
            vm.parseJsonTypeArray(
                json,
                ".cases",
                string.concat(
                    "MatMulJsonCase(uint256 id,Input[] inputs,Output output,MatMulJsonParams params,uint256 step)",
                    "MatMulJsonParams(uint256 k_chunk,bool trans_a,bool trans_b)",
                    TENSOR_TYPES
                )
            ),
            (MatMulCase[])
        );
        _checkCount(json, cases.length);
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            elements += _checkMatMulCase(cases[i]);
            _resetMemory(fmp);
        }
        _report("mat_mul", cases.length, elements);
    }

    /// @notice Every `sum_rows` case: `a [R]`, `[R, 1]` or `[R, 1, 1]`, one column each.
    function test_sumRows_vectors_succeeds() public view {
        Case[] memory cases = _load("sum_rows");
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            Case memory c = cases[i];
            int32[] memory a = _values(c.inputs[0], "a");
            uint256 rows = c.inputs[0].shape[0];
            uint256 width = a.length / rows;
            assertEq(c.output.values.length, width, "sum_rows: output size");
            for (uint256 j; j < width; ++j) {
                int32[] memory column = new int32[](rows);
                for (uint256 r; r < rows; ++r) {
                    column[r] = a[eval.sumRowsPosition(r, j, width)];
                }
                _expect(eval.sumRows(column), c.output.values[j], "sum_rows", c.id, j);
            }
            elements += width;
            _resetMemory(fmp);
        }
        _report("sum_rows", cases.length, elements);
    }

    ////////////////////////////////////////////////////////////////
    //                    ROW-WISE OPERATORS                      //
    ////////////////////////////////////////////////////////////////

    /// @notice Every `softmax` case: the whole row, and the one-element form at three
    ///         positions (first, last, and one that moves with the case).
    function test_softmax_vectors_succeeds() public view {
        Case[] memory cases = _load("softmax");
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            Case memory c = cases[i];
            int32[] memory a = _values(c.inputs[0], "a");
            uint256 n = c.inputs[0].shape[1];
            for (uint256 r; r < a.length / n; ++r) {
                int32[] memory row = _slice(a, r * n, n);
                int32[] memory got = eval.softmaxRow(row);
                for (uint256 j; j < n; ++j) {
                    _expect(got[j], c.output.values[r * n + j], "softmax row", c.id, r * n + j);
                }
                uint256[3] memory js = [uint256(0), n - 1, c.id % n];
                for (uint256 k; k < 3; ++k) {
                    uint256 e = r * n + js[k];
                    _expect(eval.softmax(row, js[k]), c.output.values[e], "softmax", c.id, e);
                }
            }
            elements += c.output.values.length;
            _resetMemory(fmp);
        }
        _report("softmax", cases.length, elements);
    }

    /// @notice Every `softmax_xent_grad` case: the whole row, and the one-element form at
    ///         three positions.
    function test_softmaxXentGrad_vectors_succeeds() public view {
        ScalarCase[] memory cases = _loadScalar("softmax_xent_grad", "scale");
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            elements += _checkSoftmaxXentGradCase(cases[i]);
            _resetMemory(fmp);
        }
        _report("softmax_xent_grad", cases.length, elements);
    }

    /// @notice Every `xent_loss` case: `logits [R, N]`, `labels [R, N]`, output `[R]`.
    function test_xentLoss_vectors_succeeds() public view {
        Case[] memory cases = _load("xent_loss");
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            Case memory c = cases[i];
            int32[] memory x = _values(c.inputs[0], "logits");
            int32[] memory y = _values(c.inputs[1], "labels");
            uint256 n = c.inputs[0].shape[1];
            assertEq(c.output.values.length, x.length / n, "xent_loss: output size");
            for (uint256 r; r < c.output.values.length; ++r) {
                int32 got = eval.xentLoss(_slice(x, r * n, n), _slice(y, r * n, n));
                _expect(got, c.output.values[r], "xent_loss", c.id, r);
            }
            elements += c.output.values.length;
            _resetMemory(fmp);
        }
        _report("xent_loss", cases.length, elements);
    }

    /// @notice Every `argmax` case: `a [R, N]`, output `[R]`.
    function test_argmax_vectors_succeeds() public view {
        Case[] memory cases = _load("argmax");
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            Case memory c = cases[i];
            int32[] memory a = _values(c.inputs[0], "a");
            uint256 n = c.inputs[0].shape[1];
            assertEq(c.output.values.length, a.length / n, "argmax: output size");
            for (uint256 r; r < c.output.values.length; ++r) {
                _expect(eval.argmax(_slice(a, r * n, n)), c.output.values[r], "argmax", c.id, r);
            }
            elements += c.output.values.length;
            _resetMemory(fmp);
        }
        _report("argmax", cases.length, elements);
    }

    ////////////////////////////////////////////////////////////////
    //                      PER-CASE CHECKS                       //
    ////////////////////////////////////////////////////////////////

    /// @dev Checks the four element-wise binary operators: `add`, `sub`, `mul`, `relu_grad`.
    function _checkBinary(string memory _op, uint256 _which) private view {
        Case[] memory cases = _load(_op);
        uint256 elements;
        for (uint256 i; i < cases.length; ++i) {
            uint256 fmp = _freeMemory();
            Case memory c = cases[i];
            assertEq(c.inputs.length, 2, string.concat(_op, ": operand count"));
            int32[] memory a = _i32s(c.inputs[0].values);
            int32[] memory b = _i32s(c.inputs[1].values);
            for (uint256 e; e < c.output.values.length; ++e) {
                int32 got;
                if (_which == 0) got = eval.add(a[e], b[e]);
                else if (_which == 1) got = eval.sub(a[e], b[e]);
                else if (_which == 2) got = eval.mul(a[e], b[e]);
                else got = eval.reluGrad(a[e], b[e]);
                _expect(got, c.output.values[e], _op, c.id, e);
            }
            elements += c.output.values.length;
            _resetMemory(fmp);
        }
        _report(_op, cases.length, elements);
    }

    /// @dev Checks one `mat_mul` case; returns the number of output elements checked.
    function _checkMatMulCase(MatMulCase memory _c) private view returns (uint256 elements_) {
        int32[] memory a = _values(_c.inputs[0], "a");
        int32[] memory b = _values(_c.inputs[1], "b");
        (uint256[] memory sa, uint256[] memory sb) = (_c.inputs[0].shape, _c.inputs[1].shape);
        // A = a or a^T is [M, K]; B = b or b^T is [K, N].
        MatMulDims memory d;
        d.params = _c.params;
        (d.m, d.k) = _c.params.transA ? (sa[1], sa[0]) : (sa[0], sa[1]);
        uint256 kb;
        (kb, d.n) = _c.params.transB ? (sb[1], sb[0]) : (sb[0], sb[1]);
        assertEq(d.k, kb, "mat_mul: inner dimensions");
        uint256 chunks = (d.k + _c.params.kChunk - 1) / _c.params.kChunk;
        elements_ = _c.output.values.length;
        assertEq(elements_, chunks * d.m * d.n, "mat_mul: output size");
        for (uint256 e; e < elements_; ++e) {
            _expect(_matMulElement(a, b, d, e), _c.output.values[e], "mat_mul", _c.id, e);
        }
    }

    /// @dev Replays output element `_e` of a `mat_mul` from the chunk it reads.
    function _matMulElement(int32[] memory _a, int32[] memory _b, MatMulDims memory _d, uint256 _e)
        private
        view
        returns (int32 out_)
    {
        uint256 s;
        (s, _d.row, _d.col) = eval.matMulOutputCoords(_e, _d.m, _d.n);
        (uint256 lo, uint256 hi) = eval.matMulChunkBounds(_d.k, _d.params.kChunk, s);
        int32[] memory ca = new int32[](hi - lo);
        int32[] memory cb = new int32[](hi - lo);
        for (uint256 i = lo; i < hi; ++i) {
            ca[i - lo] = _a[eval.matMulLhsPosition(_d.params.transA, _d.row, i, _d.m, _d.k)];
            cb[i - lo] = _b[eval.matMulRhsPosition(_d.params.transB, i, _d.col, _d.k, _d.n)];
        }
        out_ = eval.matMul(ca, cb);
    }

    /// @dev Checks one `softmax_xent_grad` case; returns the number of elements checked.
    function _checkSoftmaxXentGradCase(ScalarCase memory _c) private view returns (uint256 elements_) {
        int32[] memory x = _values(_c.inputs[0], "logits");
        int32[] memory y = _values(_c.inputs[1], "labels");
        uint256 n = _c.inputs[0].shape[1];
        for (uint256 r; r < x.length / n; ++r) {
            _checkSoftmaxXentGradRow(_c, _slice(x, r * n, n), _slice(y, r * n, n), r * n);
        }
        elements_ = _c.output.values.length;
    }

    /// @dev Checks one row of a `softmax_xent_grad` case, starting at output element `_base`.
    function _checkSoftmaxXentGradRow(ScalarCase memory _c, int32[] memory _x, int32[] memory _y, uint256 _base)
        private
        view
    {
        int32 scale = _i32(_c.params.value);
        int32[] memory got = eval.softmaxXentGradRow(_x, _y, scale);
        for (uint256 j; j < _x.length; ++j) {
            _expect(got[j], _c.output.values[_base + j], "softmax_xent_grad row", _c.id, _base + j);
        }
        uint256[3] memory js = [uint256(0), _x.length - 1, _c.id % _x.length];
        for (uint256 k; k < 3; ++k) {
            int32 one = eval.softmaxXentGrad(_x, js[k], _y[js[k]], scale);
            _expect(one, _c.output.values[_base + js[k]], "softmax_xent_grad", _c.id, _base + js[k]);
        }
    }

    ////////////////////////////////////////////////////////////////
    //                          HELPERS                           //
    ////////////////////////////////////////////////////////////////

    /// @dev Path of an operator's vector file.
    function _path(string memory _op) private pure returns (string memory path_) {
        path_ = string.concat("tests/vectors/", _op, ".json");
    }

    /// @dev Reads an operator's file and checks its header.
    function _read(string memory _op) private view returns (string memory json_) {
        json_ = vm.readFile(_path(_op));
        assertEq(vm.parseJsonUint(json_, ".format_version"), 1, string.concat(_op, ": format_version"));
        vm.assertEq(vm.parseJsonString(json_, ".op"), _op, "op name");
    }

    /// @dev Checks the file's `count` against the decoded cases and the minimum.
    function _checkCount(string memory _json, uint256 _decoded) private pure {
        assertEq(_decoded, vm.parseJsonUint(_json, ".count"), "count field");
        vm.assertGe(_decoded, MIN_CASES, "too few cases");
    }

    /// @dev Loads the cases of an operator without parameters.
    function _load(string memory _op) private view returns (Case[] memory cases_) {
        string memory json = _read(_op);
        cases_ = abi.decode(
            vm.parseJsonTypeArray(
                json,
                ".cases",
                string.concat("Case(uint256 id,Input[] inputs,Output output,uint256 step)", TENSOR_TYPES)
            ),
            (Case[])
        );
        _checkCount(json, cases_.length);
    }

    /// @dev Loads the cases of an operator with one Q16.16 parameter named `_param`.
    function _loadScalar(string memory _op, string memory _param) private view returns (ScalarCase[] memory cases_) {
        string memory json = _read(_op);
        cases_ = abi.decode(
            vm.parseJsonTypeArray(
                json,
                ".cases",
                string.concat(
                    "ScalarJsonCase(uint256 id,Input[] inputs,Output output,ScalarJsonParam params,uint256 step)",
                    "ScalarJsonParam(int256 ",
                    _param,
                    ")",
                    TENSOR_TYPES
                )
            ),
            (ScalarCase[])
        );
        _checkCount(json, cases_.length);
    }

    /// @dev The values of an input, checking its name.
    function _values(Input memory _input, string memory _name) private pure returns (int32[] memory values_) {
        vm.assertEq(_input.name, _name, "operand name");
        values_ = _i32s(_input.values);
    }

    /// @dev Narrows decoded JSON integers to `int32`, failing on any out of range.
    function _i32s(int256[] memory _raw) private pure returns (int32[] memory out_) {
        out_ = new int32[](_raw.length);
        for (uint256 i; i < _raw.length; ++i) {
            out_[i] = _i32(_raw[i]);
        }
    }

    /// @dev Narrows one decoded JSON integer to `int32`.
    function _i32(int256 _value) private pure returns (int32 out_) {
        assertTrue(_value >= type(int32).min && _value <= type(int32).max, "vector value outside int32");
        // forge-lint: disable-next-line(unsafe-typecast) range checked above.
        out_ = int32(_value);
    }

    /// @dev A copy of `_len` elements of `_x` from `_from`.
    function _slice(int32[] memory _x, uint256 _from, uint256 _len) private pure returns (int32[] memory out_) {
        out_ = new int32[](_len);
        for (uint256 i; i < _len; ++i) {
            out_[i] = _x[_from + i];
        }
    }

    /// @dev Fails with the operator, case and element when a value differs.
    function _expect(int32 _got, int256 _want, string memory _op, uint256 _id, uint256 _e) private pure {
        if (_got == _want) return;
        fail(
            string.concat(
                _op,
                ": case ",
                vm.toString(_id),
                " element ",
                vm.toString(_e),
                ": got ",
                vm.toString(int256(_got)),
                ", want ",
                vm.toString(_want)
            )
        );
    }

    /// @dev Logs how much of a file was checked.
    function _report(string memory _op, uint256 _cases, uint256 _elements) private pure {
        console.log(string.concat(_op, ": cases verified"), _cases);
        console.log(string.concat(_op, ": output elements verified"), _elements);
    }

    /// @dev The free memory pointer.
    function _freeMemory() private pure returns (uint256 fmp_) {
        assembly ("memory-safe") {
            fmp_ := mload(0x40)
        }
    }

    /// @dev Releases the memory one case allocated (nothing allocated after `_fmp` is used
    ///      again), so that a 1,000-case loop does not pay for quadratic memory growth.
    function _resetMemory(uint256 _fmp) private pure {
        assembly ("memory-safe") {
            mstore(0x40, _fmp)
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OpDescriptor, OpKind} from "../../src/game/GameTypes.sol";
import {OneStepReplay} from "../../src/game/OneStepReplay.sol";
import {GavelMerkle} from "../../src/merkle/GavelMerkle.sol";
import {OperatorReplay} from "../../src/replay/OperatorReplay.sol";
import {Test, console} from "../lib/Test.sol";
import {MerkleTree} from "../merkle/MerkleTree.sol";

/// @title OneStepReplayTest
/// @notice Every operator's one-element replay from openings against a memory root,
///         checked against `OperatorReplay` on the same values; every revert; worst-case gas.
contract OneStepReplayTest is Test {
    OneStepReplay internal r;

    // The memory: slot tensors, shapes and roots.
    uint32[][] internal shapes;
    uint256[] internal seeds;
    uint256[] internal amps;
    uint256[] internal lens;
    bytes32[] internal roots;
    bytes32 internal mem;

    // Sparse slots (tensors too large to hash whole): only the listed chunks hold the slot's
    // values, every other chunk is 512 zeros.
    mapping(uint32 => uint256[]) internal sparse;
    mapping(uint32 => bool) internal isSparse;

    /// @notice Deploys the replay and builds the memory every fuzz test reads (once; each
    ///         fuzz run starts from this state).
    function setUp() public {
        r = new OneStepReplay();
        _slot(_s(30, 40), 5_000_000, 1); // 0 A
        _slot(_s(30, 40), 5_000_000, 2); // 1 B
        _slot(_s(30, 40), 1, 3); // 2 OUT
        _slot(_s(40, 0), 5_000_000, 5); // 3 BIAS
        _slot(_s(40, 30), 1, 7); // 4 OUTT
        _slot(_s(7, 8), 1000, 8); // 5 INDEX
        _slot(_s(8, 40), 1, 9); // 6 OUTG
        _slot(_s(6, 200), 1 << 18, 10); // 7 MA
        _slot(_s(200, 6), 1 << 18, 10); // 8 MAT
        _slot(_s(200, 5), 1 << 18, 11); // 9 MB
        _slot(_s(5, 200), 1 << 18, 11); // 10 MBT
        uint32[] memory os = new uint32[](3);
        (os[0], os[1], os[2]) = (4, 6, 5);
        _slot(os, 1 << 30, 14); // 11 MOUT
        _slot(_s(6, 5), 1, 13); // 12 SOUT
        _slot(_s(12, 100), 8 << 16, 20); // 13 X
        _slot(_s(12, 100), 1 << 16, 21); // 14 Y
        _slot(_s(12, 100), 1, 22); // 15 SMOUT
        _slot(_s(12, 0), 1, 23); // 16 ROUT
    }

    /// @dev Slot ids of the shared memory.
    uint32 internal constant A = 0;
    uint32 internal constant B = 1;
    uint32 internal constant OUT = 2;
    uint32 internal constant BIAS = 3;
    uint32 internal constant OUTT = 4;
    uint32 internal constant INDEX = 5;
    uint32 internal constant OUTG = 6;
    uint32 internal constant MA = 7;
    uint32 internal constant MAT = 8;
    uint32 internal constant MB = 9;
    uint32 internal constant MBT = 10;
    uint32 internal constant MOUT = 11;
    uint32 internal constant SOUT = 12;
    uint32 internal constant X = 13;
    uint32 internal constant Y = 14;
    uint32 internal constant SMOUT = 15;
    uint32 internal constant ROUT = 16;

    ////////////////////////////////////////////////////////////////
    //                          HELPERS                           //
    ////////////////////////////////////////////////////////////////

    /// @dev Value `_i` of a slot seeded `_seed` with amplitude `_amp` (a cheap LCG).
    function _value(uint256 _seed, uint256 _amp, uint256 _i) internal pure returns (int32 v_) {
        uint256 x = (_i * 2_654_435_761 + _seed * 40_503 + 12_345) ^ (_i >> 3);
        v_ = int32(int256(x % (2 * _amp + 1)) - int256(_amp));
    }

    /// @dev Adds a slot of `_shape` with pseudo-random values in `[-_amp, _amp]`; a large
    ///      one keeps no values (they are recomputed chunk by chunk).
    function _slot(uint32[] memory _shape, uint256 _amp, uint256 _seed) internal returns (uint32 id_) {
        uint256 n = 1;
        for (uint256 i = 0; i < _shape.length; ++i) {
            n *= _shape[i];
        }
        id_ = uint32(shapes.length);
        shapes.push(_shape);
        seeds.push(_seed);
        amps.push(_amp);
        lens.push(n);
        roots.push(MerkleTree.wrapTensorMemory(_shape, MerkleTree.root(_leaves(id_))));
        mem = MerkleTree.memoryRoot(roots);
    }

    /// @dev Element `_i` of slot `_id`.
    function _v(uint32 _id, uint256 _i) internal view returns (int32 v_) {
        v_ = _value(seeds[_id], amps[_id], _i);
    }

    /// @dev Chunk `_c` of slot `_id` as bytes (4 little-endian bytes per element).
    function _chunkData(uint32 _id, uint256 _c) internal view returns (bytes memory data_) {
        uint256 lo = _c * 512;
        uint256 hi = lo + 512 > lens[_id] ? lens[_id] : lo + 512;
        (uint256 seed, uint256 amp) = (seeds[_id], amps[_id]);
        data_ = new bytes(4 * (hi - lo));
        for (uint256 i = lo; i < hi; ++i) {
            uint32 v = uint32(_value(seed, amp, i));
            uint256 at = 4 * (i - lo);
            assembly ("memory-safe") {
                let p := add(add(data_, 32), at)
                mstore8(p, and(v, 0xff))
                mstore8(add(p, 1), and(shr(8, v), 0xff))
                mstore8(add(p, 2), and(shr(16, v), 0xff))
                mstore8(add(p, 3), shr(24, v))
            }
        }
    }

    /// @dev The chunk leaves of slot `_id`.
    function _leaves(uint32 _id) internal view returns (bytes32[] memory l_) {
        l_ = new bytes32[](GavelMerkle.chunkCount(lens[_id]));
        for (uint256 c = 0; c < l_.length; ++c) {
            l_[c] = GavelMerkle.chunkLeafMemory(_chunkData(_id, c));
        }
    }

    /// @dev Adds a sparse slot of `_shape`: chunks `_chunks` (ascending) hold values in
    ///      `[-_amp, _amp]`, the others zeros. Its root costs
    ///      `O(chunks * depth)` hashes, so tensors of up to `2^26` elements (the deepest
    ///      chunk trees) are cheap to commit.
    function _sparseSlot(uint32[] memory _shape, uint256 _amp, uint256 _seed, uint256[] memory _chunks)
        internal
        returns (uint32 id_)
    {
        uint256 n = 1;
        for (uint256 i = 0; i < _shape.length; ++i) {
            n *= _shape[i];
        }
        id_ = uint32(shapes.length);
        shapes.push(_shape);
        seeds.push(_seed);
        amps.push(_amp);
        lens.push(n);
        sparse[id_] = _chunks;
        isSparse[id_] = true;
        uint256 count = GavelMerkle.chunkCount(n);
        roots.push(MerkleTree.wrapTensorMemory(_shape, _sparseNode(id_, 0, GavelMerkle.depth(count), count)));
        mem = MerkleTree.memoryRoot(roots);
    }

    /// @dev The root of the subtree of height `_h` over leaves `[_lo, _lo + 2^h)` of sparse
    ///      slot `_id` (`_count` chunks; leaves past it are padding).
    function _sparseNode(uint32 _id, uint256 _lo, uint256 _h, uint256 _count) internal view returns (bytes32 node_) {
        uint256 hi = _lo + (1 << _h);
        if (_lo >= _count) return GavelMerkle.zeroRoot(_h);
        bool holds;
        uint256[] storage chunks = sparse[_id];
        for (uint256 i = 0; i < chunks.length; ++i) {
            if (chunks[i] >= _lo && chunks[i] < hi) holds = true;
        }
        if (!holds && hi <= lens[_id] / 512) {
            node_ = GavelMerkle.chunkLeafMemory(new bytes(2048));
            for (uint256 i = 0; i < _h; ++i) {
                node_ = GavelMerkle.node(node_, node_);
            }
            return node_;
        }
        if (_h == 0 && holds) return GavelMerkle.chunkLeafMemory(_chunkData(_id, _lo));
        if (_h == 0) return GavelMerkle.chunkLeafMemory(new bytes(4 * (lens[_id] - _lo * 512)));
        node_ = GavelMerkle.node(
            _sparseNode(_id, _lo, _h - 1, _count), _sparseNode(_id, _lo + (1 << (_h - 1)), _h - 1, _count)
        );
    }

    /// @dev The path of chunk `_c` of sparse slot `_id`.
    function _sparsePath(uint32 _id, uint256 _c) internal view returns (bytes32[] memory path_) {
        uint256 count = GavelMerkle.chunkCount(lens[_id]);
        path_ = new bytes32[](GavelMerkle.depth(count));
        for (uint256 h = 0; h < path_.length; ++h) {
            path_[h] = _sparseNode(_id, ((_c >> h) ^ 1) << h, h, count);
        }
    }

    /// @dev The distinct chunks holding `_pos`, ascending.
    function _chunksOf(uint256[] memory _pos) internal pure returns (uint256[] memory c_) {
        uint256[] memory all = new uint256[](_pos.length);
        uint256 n;
        for (uint256 i = 0; i < _pos.length; ++i) {
            uint256 c = _pos[i] / 512;
            uint256 k = n;
            bool seen;
            for (uint256 j = 0; j < n; ++j) {
                if (all[j] == c) seen = true;
            }
            if (seen) continue;
            while (k > 0 && all[k - 1] > c) {
                all[k] = all[k - 1];
                --k;
            }
            all[k] = c;
            ++n;
        }
        c_ = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            c_[i] = all[i];
        }
    }

    /// @dev A shape.
    function _s(uint32 _a, uint32 _b) internal pure returns (uint32[] memory s_) {
        s_ = new uint32[](_b == 0 ? 1 : 2);
        s_[0] = _a;
        if (_b != 0) s_[1] = _b;
    }

    /// @dev Opens slot `_id` with every chunk that holds one of `_pos`.
    function _open(uint32 _id, uint256[] memory _pos) internal view returns (OneStepReplay.InputOpening memory o_) {
        o_.slot = GavelMerkle.SlotProof(_id, uint32(roots.length), roots[_id], MerkleTree.path(roots, _id));
        if (isSparse[_id]) {
            uint256[] memory cs = _chunksOf(_pos);
            o_.chunks = new GavelMerkle.ChunkProof[](cs.length);
            for (uint256 i = 0; i < cs.length; ++i) {
                o_.chunks[i] =
                    GavelMerkle.ChunkProof(shapes[_id], uint64(cs[i]), _chunkData(_id, cs[i]), _sparsePath(_id, cs[i]));
            }
            return o_;
        }
        bytes32[] memory leaves = _leaves(_id);
        bool[] memory want = new bool[](leaves.length);
        uint256 n;
        for (uint256 i = 0; i < _pos.length; ++i) {
            uint256 c = _pos[i] / 512;
            if (!want[c]) (want[c], n) = (true, n + 1);
        }
        o_.chunks = new GavelMerkle.ChunkProof[](n);
        uint256 k;
        for (uint256 c = 0; c < leaves.length; ++c) {
            if (!want[c]) continue;
            o_.chunks[k++] =
                GavelMerkle.ChunkProof(shapes[_id], uint64(c), _chunkData(_id, c), MerkleTree.path(leaves, c));
        }
    }

    /// @dev `[_a, _a + _n)`.
    function _range(uint256 _a, uint256 _n) internal pure returns (uint256[] memory p_) {
        p_ = new uint256[](_n);
        for (uint256 i = 0; i < _n; ++i) {
            p_[i] = _a + i;
        }
    }

    /// @dev `[_x]`.
    function _one(uint256 _x) internal pure returns (uint256[] memory p_) {
        p_ = new uint256[](1);
        p_[0] = _x;
    }

    /// @dev A descriptor.
    function _op(uint8 _kind, uint32 _out, uint32[] memory _in) internal view returns (OpDescriptor memory op_) {
        op_.kind = _kind;
        op_.out = _out;
        op_.inputs = _in;
        op_.shapes = new uint32[][](_in.length + 1);
        op_.shapes[0] = shapes[_out];
        for (uint256 j = 0; j < _in.length; ++j) {
            op_.shapes[1 + j] = shapes[_in[j]];
        }
    }

    /// @dev `[_a]` / `[_a, _b]` as slot lists.
    function _ins(uint32 _a) internal pure returns (uint32[] memory l_) {
        l_ = new uint32[](1);
        l_[0] = _a;
    }

    function _ins(uint32 _a, uint32 _b) internal pure returns (uint32[] memory l_) {
        l_ = new uint32[](2);
        (l_[0], l_[1]) = (_a, _b);
    }

    /// @dev Replays and returns (value, gas).
    function _replay(OpDescriptor memory _o, uint64 _step, uint256 _e, OneStepReplay.InputOpening[] memory _in)
        internal
        view
        returns (int32 v_, uint256 gas_)
    {
        v_ = r.replayElement(_o, _step, _e, mem, uint32(roots.length), _in);
        gas_ = vm.lastCallGas().gasTotalUsed;
    }

    ////////////////////////////////////////////////////////////////
    //                   ELEMENT-WISE AND COPIES                  //
    ////////////////////////////////////////////////////////////////

    /// @notice add, sub, mul, relu_grad, sgd, scale, relu at a fuzzed element.
    /// forge-config: default.fuzz.runs = 48
    /// forge-config: ci.fuzz.runs = 128
    function testFuzz_replayElement_elementwise_succeeds(uint256 _e) public view {
        uint32 a = A;
        uint32 b = B;
        uint32 out = OUT;
        uint256 e = bound(_e, 0, 1199);
        OneStepReplay.InputOpening[] memory two = new OneStepReplay.InputOpening[](2);
        (two[0], two[1]) = (_open(a, _one(e)), _open(b, _one(e)));
        (int32 x, int32 y) = (_v(a, e), _v(b, e));
        uint8[5] memory kinds = [OpKind.ADD, OpKind.SUB, OpKind.MUL, OpKind.RELU_GRAD, OpKind.SGD];
        int32[5] memory want = [
            OperatorReplay.add(x, y),
            OperatorReplay.sub(x, y),
            OperatorReplay.mul(x, y),
            OperatorReplay.reluGrad(x, y),
            OperatorReplay.sgd(x, y, 6554)
        ];
        for (uint256 i = 0; i < 5; ++i) {
            OpDescriptor memory o = _op(kinds[i], out, _ins(a, b));
            o.param = 6554;
            (int32 v,) = _replay(o, 0, e, two);
            assertEq(int256(v), int256(want[i]), "element-wise");
        }
    }

    /// @notice scale and relu at a fuzzed element.
    /// forge-config: default.fuzz.runs = 48
    /// forge-config: ci.fuzz.runs = 128
    function testFuzz_replayElement_unary_succeeds(uint256 _e) public view {
        uint32 a = A;
        uint32 out = OUT;
        uint256 e = bound(_e, 0, 1199);
        OneStepReplay.InputOpening[] memory one = new OneStepReplay.InputOpening[](1);
        one[0] = _open(a, _one(e));
        OpDescriptor memory sc = _op(OpKind.SCALE, out, _ins(a));
        sc.param = -3 << 16;
        (int32 vs,) = _replay(sc, 0, e, one);
        assertEq(int256(vs), int256(OperatorReplay.scale(_v(a, e), -3 << 16)), "scale");
        (int32 vr,) = _replay(_op(OpKind.RELU, out, _ins(a)), 0, e, one);
        assertEq(int256(vr), int256(OperatorReplay.relu(_v(a, e))), "relu");
    }

    /// @notice add_bias, transpose and gather.
    /// forge-config: default.fuzz.runs = 48
    /// forge-config: ci.fuzz.runs = 128
    function testFuzz_replayElement_copies_succeeds(uint256 _e) public view {
        uint32 a = A;
        uint32 bias = BIAS;
        uint32 outA = OUT;
        uint32 outT = OUTT;
        uint256 e = bound(_e, 0, 1199);
        OneStepReplay.InputOpening[] memory two = new OneStepReplay.InputOpening[](2);
        (two[0], two[1]) = (_open(a, _one(e)), _open(bias, _one(e % 40)));
        (int32 v,) = _replay(_op(OpKind.ADD_BIAS, outA, _ins(a, bias)), 0, e, two);
        assertEq(int256(v), int256(OperatorReplay.addBias(_v(a, e), _v(bias, e % 40))), "add_bias");

        uint256 src = OperatorReplay.transposeSourcePosition(e, 30, 40);
        OneStepReplay.InputOpening[] memory one = new OneStepReplay.InputOpening[](1);
        one[0] = _open(a, _one(src));
        (v,) = _replay(_op(OpKind.TRANSPOSE, outT, _ins(a)), 0, e, one);
        assertEq(int256(v), int256(_v(a, src)), "transpose");
    }

    /// @notice gather(table [30, 40], index [7, 8]) -> [8, 40] at a fuzzed element and step.
    /// forge-config: default.fuzz.runs = 48
    /// forge-config: ci.fuzz.runs = 128
    function testFuzz_replayElement_gather_succeeds(uint256 _e, uint64 _step) public view {
        uint32 a = A;
        uint32 index = INDEX;
        uint32 outG = OUTG;
        uint256 eg = bound(_e, 0, 319);
        uint256 ip = OperatorReplay.gatherIndexPosition(_step, 7, 8, eg / 40);
        uint256 tp = OperatorReplay.gatherTablePosition(_v(index, ip), 30, 40, eg % 40);
        OneStepReplay.InputOpening[] memory two = new OneStepReplay.InputOpening[](2);
        (two[0], two[1]) = (_open(a, _one(tp)), _open(index, _one(ip)));
        (int32 v,) = _replay(_op(OpKind.GATHER, outG, _ins(a, index)), _step, eg, two);
        assertEq(int256(v), int256(_v(a, tp)), "gather");
    }

    ////////////////////////////////////////////////////////////////
    //                         REDUCTIONS                         //
    ////////////////////////////////////////////////////////////////

    /// @notice mat_mul, all four transposition flags, chunked: `A [6, 200]`, `B [200, 5]`,
    ///         `k_chunk = 64`, output `[4, 6, 5]`.
    /// forge-config: default.fuzz.runs = 48
    /// forge-config: ci.fuzz.runs = 128
    function testFuzz_replayElement_matMul_succeeds(uint256 _e, uint8 _flags) public view {
        bool ta = _flags & 1 != 0;
        bool tb = _flags & 2 != 0;
        uint32 a = ta ? MAT : MA;
        uint32 b = tb ? MBT : MB;
        uint32 out = MOUT;
        uint256 e = bound(_e, 0, 119);
        (uint256[] memory pa, uint256[] memory pb) = _matMulPositions(e, ta, tb);
        OneStepReplay.InputOpening[] memory two = new OneStepReplay.InputOpening[](2);
        (two[0], two[1]) = (_open(a, pa), _open(b, pb));
        OpDescriptor memory o = _op(OpKind.MAT_MUL, out, _ins(a, b));
        (o.kChunk, o.transA, o.transB) = (64, ta, tb);
        (int32 v,) = _replay(o, 0, e, two);
        assertEq(int256(v), int256(OperatorReplay.matMul(_at(a, pa), _at(b, pb))), "mat_mul");
    }

    /// @dev The positions in `a` and `b` that output element `_e` reads.
    function _matMulPositions(uint256 _e, bool _ta, bool _tb)
        internal
        pure
        returns (uint256[] memory pa_, uint256[] memory pb_)
    {
        (uint256 s, uint256 row, uint256 col) = OperatorReplay.matMulOutputCoords(_e, 6, 5);
        (uint256 lo, uint256 hi) = OperatorReplay.matMulChunkBounds(200, 64, s);
        pa_ = new uint256[](hi - lo);
        pb_ = new uint256[](hi - lo);
        for (uint256 d = lo; d < hi; ++d) {
            pa_[d - lo] = OperatorReplay.matMulLhsPosition(_ta, row, d, 6, 200);
            pb_[d - lo] = OperatorReplay.matMulRhsPosition(_tb, d, col, 200, 5);
        }
    }

    /// @dev The values of slot `_id` at `_pos`.
    function _at(uint32 _id, uint256[] memory _pos) internal view returns (int32[] memory v_) {
        v_ = new int32[](_pos.length);
        for (uint256 i = 0; i < _pos.length; ++i) {
            v_[i] = _v(_id, _pos[i]);
        }
    }

    /// @notice sum_rows(`[4, 6, 5]`) -> `[6, 5]`: one column of 4.
    /// forge-config: default.fuzz.runs = 48
    /// forge-config: ci.fuzz.runs = 128
    function testFuzz_replayElement_sumRows_succeeds(uint256 _j) public view {
        uint32 a = MOUT;
        uint32 out = SOUT;
        uint256 j = bound(_j, 0, 29);
        uint256[] memory ps = new uint256[](4);
        for (uint256 i = 0; i < 4; ++i) {
            ps[i] = i * 30 + j;
        }
        OneStepReplay.InputOpening[] memory one = new OneStepReplay.InputOpening[](1);
        one[0] = _open(a, ps);
        (int32 v,) = _replay(_op(OpKind.SUM_ROWS, out, _ins(a)), 0, j, one);
        assertEq(int256(v), int256(OperatorReplay.sumRows(_at(a, ps))), "sum_rows");
    }

    /// @notice softmax, softmax_xent_grad, xent_loss, argmax on rows of 100.
    /// forge-config: default.fuzz.runs = 48
    /// forge-config: ci.fuzz.runs = 128
    function testFuzz_replayElement_rows_succeeds(uint256 _e) public view {
        uint32 x = X;
        uint32 y = Y;
        uint32 out = SMOUT;
        uint256 e = bound(_e, 0, 1199);
        uint256 rr = e / 100;
        int32[] memory row = new int32[](100);
        int32[] memory lab = new int32[](100);
        for (uint256 i = 0; i < 100; ++i) {
            (row[i], lab[i]) = (_v(x, rr * 100 + i), _v(y, rr * 100 + i));
        }
        OneStepReplay.InputOpening[] memory one = new OneStepReplay.InputOpening[](1);
        one[0] = _open(x, _range(rr * 100, 100));
        (int32 v,) = _replay(_op(OpKind.SOFTMAX, out, _ins(x)), 0, e, one);
        assertEq(int256(v), int256(OperatorReplay.softmax(row, e % 100)), "softmax");

        OneStepReplay.InputOpening[] memory two = new OneStepReplay.InputOpening[](2);
        (two[0], two[1]) = (one[0], _open(y, _one(e)));
        OpDescriptor memory g = _op(OpKind.SOFTMAX_XENT_GRAD, out, _ins(x, y));
        g.param = 1 << 11;
        (v,) = _replay(g, 0, e, two);
        assertEq(int256(v), int256(OperatorReplay.softmaxXentGrad(row, e % 100, lab[e % 100], 1 << 11)), "grad");
    }

    /// @notice xent_loss and argmax on rows of 100.
    /// forge-config: default.fuzz.runs = 48
    /// forge-config: ci.fuzz.runs = 128
    function testFuzz_replayElement_rowReductions_succeeds(uint256 _r) public view {
        uint32 x = X;
        uint32 y = Y;
        uint32 outR = ROUT;
        uint256 rr = bound(_r, 0, 11);
        OneStepReplay.InputOpening[] memory two = new OneStepReplay.InputOpening[](2);
        (two[0], two[1]) = (_open(x, _range(rr * 100, 100)), _open(y, _range(rr * 100, 100)));
        (int32 v,) = _replay(_op(OpKind.XENT_LOSS, outR, _ins(x, y)), 0, rr, two);
        assertEq(int256(v), int256(OperatorReplay.xentLoss(_rowOf(x, rr), _rowOf(y, rr))), "xent");
        OneStepReplay.InputOpening[] memory one = new OneStepReplay.InputOpening[](1);
        one[0] = two[0];
        (v,) = _replay(_op(OpKind.ARGMAX, outR, _ins(x)), 0, rr, one);
        assertEq(int256(v), int256(OperatorReplay.argmax(_rowOf(x, rr))), "argmax");
    }

    /// @dev Row `_r` (of 100) of slot `_id`.
    function _rowOf(uint32 _id, uint256 _r) internal view returns (int32[] memory row_) {
        row_ = new int32[](100);
        for (uint256 i = 0; i < 100; ++i) {
            row_[i] = _v(_id, _r * 100 + i);
        }
    }

    ////////////////////////////////////////////////////////////////
    //                          REVERTS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice Every revert of `replayElement`.
    function test_replayElement_reverts() public {
        uint32 a = A;
        uint32 out = OUT;
        OneStepReplay.InputOpening[] memory one = new OneStepReplay.InputOpening[](1);
        one[0] = _open(a, _one(5));
        OpDescriptor memory o = _op(OpKind.RELU, out, _ins(a));

        OpDescriptor memory bad = _op(OpKind.RELU, out, _ins(a, a));
        vm.expectRevert(abi.encodeWithSelector(OneStepReplay.BadDescriptor.selector, OpKind.RELU));
        r.replayElement(bad, 0, 5, mem, 17, one);
        bad = _op(16, out, _ins(a));
        vm.expectRevert(abi.encodeWithSelector(OneStepReplay.BadDescriptor.selector, 16));
        r.replayElement(bad, 0, 5, mem, 17, one);

        vm.expectRevert(abi.encodeWithSelector(OneStepReplay.InputCount.selector, 1, 0));
        r.replayElement(o, 0, 5, mem, 17, new OneStepReplay.InputOpening[](0));

        vm.expectRevert(abi.encodeWithSelector(OneStepReplay.ElementOutOfRange.selector, 1200, 1200));
        r.replayElement(o, 0, 1200, mem, 17, one);

        vm.expectRevert(abi.encodeWithSelector(OneStepReplay.BadSlot.selector, 0));
        r.replayElement(o, 0, 5, keccak256("other memory"), 2, one);

        OneStepReplay.InputOpening[] memory forged = new OneStepReplay.InputOpening[](1);
        forged[0] = _open(a, _one(5));
        forged[0].chunks[0].data = GavelMerkle.encodeChunk(new int32[](512));
        vm.expectRevert(abi.encodeWithSelector(OneStepReplay.BadChunk.selector, 0, 0));
        r.replayElement(o, 0, 5, mem, 17, forged);

        vm.expectRevert(abi.encodeWithSelector(OneStepReplay.MissingElement.selector, 0, 700));
        r.replayElement(o, 0, 700, mem, 17, one);

        // The bound is on the chunks of all inputs together: 9 + 8 is one too many, though
        // each input alone is under it; it is checked before any proof.
        uint256 max = r.MAX_REPLAY_CHUNKS();
        OneStepReplay.InputOpening[] memory many = new OneStepReplay.InputOpening[](2);
        (many[0].slot, many[1].slot) = (one[0].slot, one[0].slot);
        many[0].chunks = new GavelMerkle.ChunkProof[](max / 2 + 1);
        many[1].chunks = new GavelMerkle.ChunkProof[](max - max / 2);
        vm.expectRevert(abi.encodeWithSelector(OneStepReplay.TooManyChunks.selector, max + 1, max));
        r.replayElement(_op(OpKind.ADD, out, _ins(a, a)), 0, 5, mem, 17, many);
    }

    /// @notice `MAX_REPLAY_CHUNKS` is the program rule's bound (executor/src/program.rs).
    function test_maxReplayChunks_matchesTheProgramRule_succeeds() public view {
        assertEq(r.MAX_REPLAY_CHUNKS(), 16, "MAX_REPLAY_CHUNKS");
    }

    ////////////////////////////////////////////////////////////////
    //                            GAS                             //
    ////////////////////////////////////////////////////////////////

    /// @dev Gas ceiling of one replay, execution and calldata (issue 5).
    uint256 internal constant REPLAY_BUDGET = 1_500_000;

    /// @notice `mat_mul` over 128 products with `A`'s row and `B`'s column each in one chunk
    ///         (`B` read through `trans_b`): the form the compiler emits.
    function test_gas_replayElement_matMulContiguous_succeeds() public {
        uint32 a = _slot(_s(1, 128), 1 << 20, 40);
        uint32 bt = _slot(_s(512, 128), 1 << 20, 41);
        uint32 out = _slot(_s(1, 512), 1, 43);
        uint256[] memory pa = _range(0, 128);
        uint256[] memory pb = _range(7 * 128, 128);
        OpDescriptor memory o = _op(OpKind.MAT_MUL, out, _ins(a, bt));
        (o.kChunk, o.transB) = (128, true);
        (int32 v, uint256 total) = _measure("mat_mul, 128 products, 2 chunks (trans_b)", o, 7, _pair(a, pa, bt, pb));
        assertEq(int256(v), int256(OperatorReplay.matMul(_at(a, pa), _at(bt, pb))), "value");
        assertLe(total, REPLAY_BUDGET, "contiguous mat_mul");
    }

    /// @notice The worst `mat_mul` the replay bound allows: 128 products over
    ///         `MAX_REPLAY_CHUNKS` full chunks, all in the deepest chunk trees (operands of
    ///         about `2^26` elements, 17 siblings a chunk); `B`'s column is strided.
    function test_gas_replayElement_matMulStrided_succeeds() public {
        uint256 max = r.MAX_REPLAY_CHUNKS();
        assertLe(_stridedMatMul(max), REPLAY_BUDGET, "strided mat_mul at the bound");
    }

    /// @notice The worst `sum_rows` the replay bound allows: `MAX_REPLAY_CHUNKS` rows of
    ///         `2^26 / MAX_REPLAY_CHUNKS` elements, one full chunk per row, deepest trees.
    function test_gas_replayElement_sumRowsStrided_succeeds() public {
        uint256 max = r.MAX_REPLAY_CHUNKS();
        assertLe(_stridedSumRows(max), REPLAY_BUDGET, "strided sum_rows at the bound");
    }

    /// @notice The row-wise worst cases: a `softmax` row of 128 and an `xent_loss` row of 127
    ///         that straddles two chunks in each input (4 chunks, the most exps and the ln),
    ///         deepest trees.
    function test_gas_replayElement_rows_succeeds() public {
        uint32 x = _slot(_s(4, 128), 8 << 16, 44);
        uint32 sm = _slot(_s(4, 128), 1, 45);
        OneStepReplay.InputOpening[] memory one = new OneStepReplay.InputOpening[](1);
        one[0] = _open(x, _range(128, 128));
        (, uint256 total) = _measure("softmax, a row of 128", _op(OpKind.SOFTMAX, sm, _ins(x)), 130, one);
        assertLe(total, REPLAY_BUDGET, "softmax");

        // Rows of 127 in a [528_416, 127] tensor (2^26 elements, rounded down): row 4 spans
        // positions 508..634, chunks 0 and 1.
        uint256[] memory pr = _range(4 * 127, 127);
        uint256[] memory c = _chunksOf(pr);
        uint32 lg = _sparseSlot(_s(528_416, 127), 8 << 16, 46, c);
        uint32 lb = _sparseSlot(_s(528_416, 127), 1 << 16, 47, c);
        uint32 rl = _sparseSlot(_s(528_416, 0), 1, 48, new uint256[](0));
        (int32 v, uint256 totalX) = _measure(
            "xent_loss, a row of 127 in 2 chunks of each input",
            _op(OpKind.XENT_LOSS, rl, _ins(lg, lb)),
            4,
            _pair(lg, pr, lb, pr)
        );
        assertEq(int256(v), int256(OperatorReplay.xentLoss(_at(lg, pr), _at(lb, pr))), "xent_loss value");
        assertLe(totalX, REPLAY_BUDGET, "xent_loss");
    }

    /// @dev Replays `mat_mul` element `(s 1, row 0, col N - 1)` of `A [M, K] x B [K, N]` with
    ///      `N = 4 (T - 1)`, `K` a multiple of 128 and `M` as large as `2^26` elements allow:
    ///      `A`'s row is one chunk, `B`'s column `T - 1` (its positions step by `N`, and
    ///      `128 N` is `T - 1` chunks). Returns execution + calldata gas.
    function _stridedMatMul(uint256 _t) internal returns (uint256 total_) {
        uint32 w = uint32(4 * (_t - 1));
        uint32 k = uint32(((1 << 26) / w / 128) * 128);
        uint32 m = uint32((1 << 26) / uint256(k));
        uint256[] memory pa = _range(128, 128);
        uint256[] memory pb = new uint256[](128);
        for (uint256 d = 0; d < 128; ++d) {
            pb[d] = (128 + d) * w + (w - 1);
        }
        OpDescriptor memory o = _stridedMatMulOp(m, k, w, pa, pb);
        OneStepReplay.InputOpening[] memory two = _pair(o.inputs[0], pa, o.inputs[1], pb);
        assertEq(two[0].chunks.length + two[1].chunks.length, _t, "chunks opened");
        string memory what = string.concat("mat_mul, 128 products, strided B, ", vm.toString(_t), " chunks");
        int32 v;
        (v, total_) = _measure(what, o, uint256(m) * w + w - 1, two);
        assertEq(int256(v), int256(OperatorReplay.matMul(_at(o.inputs[0], pa), _at(o.inputs[1], pb))), "value");
    }

    /// @dev The slots and descriptor of `_stridedMatMul`.
    function _stridedMatMulOp(uint32 _m, uint32 _k, uint32 _w, uint256[] memory _pa, uint256[] memory _pb)
        internal
        returns (OpDescriptor memory o_)
    {
        uint32 a = _sparseSlot(_s(_m, _k), 1 << 30, 50, _chunksOf(_pa));
        uint32 b = _sparseSlot(_s(_k, _w), 1 << 30, 51, _chunksOf(_pb));
        uint32[] memory os = new uint32[](3);
        (os[0], os[1], os[2]) = (_k / 128, _m, _w);
        o_ = _op(OpKind.MAT_MUL, _sparseSlot(os, 1, 52, new uint256[](0)), _ins(a, b));
        o_.kChunk = 128;
    }

    /// @dev Replays column 1000 of `sum_rows(a [T, 2^26 / T])`: `T` rows, one chunk each.
    ///      Returns execution + calldata gas.
    function _stridedSumRows(uint256 _t) internal returns (uint256 total_) {
        uint32 width = uint32((1 << 26) / _t);
        uint256[] memory ps = new uint256[](_t);
        for (uint256 i = 0; i < _t; ++i) {
            ps[i] = i * width + 1000;
        }
        uint32 a = _sparseSlot(_s(uint32(_t), width), 1 << 30, 53, _chunksOf(ps));
        uint32 out = _sparseSlot(_s(width, 0), 1, 54, new uint256[](0));
        OneStepReplay.InputOpening[] memory one = new OneStepReplay.InputOpening[](1);
        one[0] = _open(a, ps);
        assertEq(one[0].chunks.length, _t, "chunks opened");
        int32 v;
        (v, total_) = _measure(
            string.concat("sum_rows, strided column, ", vm.toString(_t), " chunks"),
            _op(OpKind.SUM_ROWS, out, _ins(a)),
            1000,
            one
        );
        assertEq(int256(v), int256(OperatorReplay.sumRows(_at(a, ps))), "value");
    }

    /// @dev Openings of two inputs.
    function _pair(uint32 _a, uint256[] memory _pa, uint32 _b, uint256[] memory _pb)
        internal
        view
        returns (OneStepReplay.InputOpening[] memory two_)
    {
        two_ = new OneStepReplay.InputOpening[](2);
        (two_[0], two_[1]) = (_open(_a, _pa), _open(_b, _pb));
    }

    /// @dev Replays element `_e` (step 0), logs its execution gas, its calldata gas (4 / 16
    ///      per zero / non-zero byte) and, for comparison, the EIP-7623 floor of that calldata
    ///      (10 per token, a non-zero byte 4 tokens); returns the value and execution +
    ///      calldata.
    function _measure(string memory _what, OpDescriptor memory _o, uint256 _e, OneStepReplay.InputOpening[] memory _in)
        internal
        view
        returns (int32 v_, uint256 total_)
    {
        uint256 exec;
        (v_, exec) = _replay(_o, 0, _e, _in);
        bytes memory data = abi.encodeCall(OneStepReplay.replayElement, (_o, 0, _e, mem, uint32(roots.length), _in));
        uint256 cd = _calldataGas(data);
        total_ = exec + cd;
        console.log(string.concat(_what, ": execution ", vm.toString(exec), ", + calldata ", vm.toString(total_)));
        console.log(string.concat("  (calldata at the EIP-7623 floor: ", vm.toString(_floorGas(data)), ")"));
    }

    /// @dev EIP-7623 floor of a call's data: 10 gas per token, a zero byte 1 token, a
    ///      non-zero byte 4.
    function _floorGas(bytes memory _data) internal pure returns (uint256 gas_) {
        for (uint256 i = 0; i < _data.length; ++i) {
            gas_ += _data[i] == 0 ? 10 : 40;
        }
    }

    /// @dev Calldata gas of a call (4 / 16 per zero / non-zero byte).
    function _calldataGas(bytes memory _data) internal pure returns (uint256 gas_) {
        for (uint256 i = 0; i < _data.length; ++i) {
            gas_ += _data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev `a <= b`.
    function assertLe(uint256 _a, uint256 _b, string memory _e) internal pure {
        vm.assertLe(_a, _b, _e);
    }
}

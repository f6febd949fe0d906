// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DisputeGameDeployer} from "../../src/game/DisputeGameDeployer.sol";
import {DisputeGameFactory} from "../../src/game/DisputeGameFactory.sol";
import {OpDescriptor, OpKind, ProgramCommitment} from "../../src/game/GameTypes.sol";
import {OneStepReplay} from "../../src/game/OneStepReplay.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {JobId} from "../../src/interfaces/Types.sol";
import {GavelMerkle} from "../../src/merkle/GavelMerkle.sol";
import {MarketMock} from "../game/GameFixture.sol";
import {Test} from "../lib/Test.sol";
import {MerkleTree} from "./MerkleTree.sol";

/// @title VmBytes
/// @notice The one cheatcode this suite needs beyond `Vm` in `lib/Test.sol`.
interface VmBytes {
    /// @notice Decodes a `0x`-hex JSON string at `_key` as bytes.
    function parseJsonBytes(string calldata _json, string calldata _key) external pure returns (bytes memory value_);
}

/// @title OpTableHarness
/// @notice Opens an op descriptor in an op tree exactly as `DisputeGame._openDescriptor`
///         does in `revealSlot`: the leaf of the calldata descriptor, then `foldChecked`.
contract OpTableHarness {
    /// @notice The op tree root that `_op` at `_index` with `_opPath` folds to.
    /// @param _op The descriptor.
    /// @param _index Its index in the step body.
    /// @param _count Operators in the step body (`K`).
    /// @param _opPath Siblings, bottom up.
    /// @return ok_ False for an index past `_count` or a path of the wrong length.
    /// @return tree_ The op tree root.
    function openDescriptor(OpDescriptor calldata _op, uint256 _index, uint256 _count, bytes32[] calldata _opPath)
        external
        pure
        returns (bool ok_, bytes32 tree_)
    {
        bytes32 leaf = keccak256(abi.encodePacked(GavelMerkle.TAG_OP, abi.encode(_op)));
        (ok_, tree_) = GavelMerkle.foldChecked(leaf, _index, _count, _opPath);
    }
}

/// @title ProgramVectorsTest
/// @notice Differential test against the program commitments the prover exported in
///         tests/vectors/merkle/program.json (prover/src/program.rs): every op
///         descriptor's `abi.encode` and leaf, the op tree, every op's path opened the way
///         the game opens it, and the program root as `DisputeGameFactory.programRootOf`
///         computes it after a real registration.
contract ProgramVectorsTest is Test {
    ////////////////////////////////////////////////////////////////
    //                          SET-UP                            //
    ////////////////////////////////////////////////////////////////

    /// @dev The vector file.
    string internal constant FILE = "tests/vectors/merkle/program.json";

    /// @dev The cheatcode handle for `parseJsonBytes`.
    VmBytes internal constant VMB = VmBytes(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @dev The op-path check under test.
    OpTableHarness internal harness;

    /// @dev A real factory whose market is a mock that says every job is ours and open.
    DisputeGameFactory internal factory;

    /// @notice Deploys the harness and a factory on a mock market.
    function setUp() public {
        harness = new OpTableHarness();
        factory = new DisputeGameFactory(3 days, new OneStepReplay(), new DisputeGameDeployer());
        MarketMock market = new MarketMock();
        market.setJob(address(this), IJobMarket.JobState.Open);
        factory.setMarket(address(market));
    }

    ////////////////////////////////////////////////////////////////
    //                          TESTS                             //
    ////////////////////////////////////////////////////////////////

    /// @notice The kind names the prover uses are `OpKind`'s numbers.
    function test_vectors_opKinds_succeeds() public view {
        string memory json = vm.readFile(FILE);
        uint256 n;
        for (; vm.keyExistsJson(json, _key(".op_kinds", n, "")); ++n) {
            assertEq(_kindOf(vm.parseJsonString(json, _key(".op_kinds", n, ""))), n, "kind number");
        }
        assertEq(n, 16, "kinds");
    }

    /// @notice Every program: descriptors encode and hash to the prover's leaves, the
    ///         leaves build its op tree, every path opens its op (and not a neighbour), and
    ///         the commitment hashes to its program root, also as the factory registers it.
    function test_vectors_programs_succeeds() public {
        string memory json = vm.readFile(FILE);
        uint256 p;
        for (; vm.keyExistsJson(json, _key(".programs", p, "")); ++p) {
            string memory k = _key(".programs", p, "");
            _checkProgram(json, k, JobId.wrap(uint64(p + 1)));
        }
        assertEq(p, 2, "programs");
    }

    ////////////////////////////////////////////////////////////////
    //                         CHECKS                             //
    ////////////////////////////////////////////////////////////////

    /// @dev One program of the file, registered for `_job`.
    function _checkProgram(string memory _json, string memory _k, JobId _job) internal {
        string memory ops = string.concat(_k, ".ops");
        uint256 n;
        while (vm.keyExistsJson(_json, _key(ops, n, ""))) ++n;
        bytes32[] memory leaves = new bytes32[](n);
        OpDescriptor[] memory descriptors = new OpDescriptor[](n);
        for (uint256 j = 0; j < n; ++j) {
            string memory o = _key(ops, j, "");
            assertEq(vm.parseJsonUint(_json, string.concat(o, ".index")), j, "index");
            OpDescriptor memory d = _descriptor(_json, string.concat(o, ".descriptor"));
            assertEq(d.kind, _kindOf(vm.parseJsonString(_json, string.concat(o, ".name"))), "kind");
            assertEq(d.shapes.length, d.inputs.length + 1, "one shape per slot");
            assertEq(d.inputs.length, _arity(d.kind), "arity");
            bytes memory encoded = abi.encode(d);
            assertEq(keccak256(encoded), keccak256(VMB.parseJsonBytes(_json, string.concat(o, ".abi"))), "abi.encode");
            leaves[j] = keccak256(abi.encodePacked(uint8(0x06), encoded));
            assertEq(leaves[j], vm.parseJsonBytes32(_json, string.concat(o, ".leaf")), "leaf");
            descriptors[j] = d;
        }
        bytes32 opTree = vm.parseJsonBytes32(_json, string.concat(_k, ".op_tree"));
        assertEq(MerkleTree.root(leaves), opTree, "op tree");
        assertEq(GavelMerkle.depth(n), vm.parseJsonUint(_json, string.concat(_k, ".depth")), "depth");
        for (uint256 j = 0; j < n; ++j) {
            bytes32[] memory path = vm.parseJsonBytes32Array(_json, _key(ops, j, ".path"));
            (bool ok, bytes32 tree) = harness.openDescriptor(descriptors[j], j, n, path);
            assertTrue(ok && tree == opTree, string.concat("path of op ", vm.toString(j)));
            (ok, tree) = harness.openDescriptor(descriptors[j], (j + 1) % n, n, path);
            assertTrue(!ok || tree != opTree, "path at the next index");
            (ok, tree) = harness.openDescriptor(descriptors[(j + 1) % n], j, n, path);
            assertTrue(!ok || tree != opTree, "the next descriptor");
        }

        string memory c = string.concat(_k, ".commitment");
        ProgramCommitment memory pc = ProgramCommitment(
            vm.parseJsonBytes32(_json, string.concat(c, ".initial_memory")),
            uint32(vm.parseJsonUint(_json, string.concat(c, ".slots"))),
            uint32(vm.parseJsonUint(_json, string.concat(c, ".ops"))),
            vm.parseJsonBytes32(_json, string.concat(c, ".op_tree"))
        );
        assertEq(pc.ops, n, "ops");
        assertEq(pc.opTree, opTree, "commitment op tree");
        bytes32 root = vm.parseJsonBytes32(_json, string.concat(_k, ".program_root"));
        assertEq(keccak256(abi.encodePacked(uint8(0x07), pc.initialMemory, pc.slots, pc.ops, pc.opTree)), root, "root");
        assertEq(GavelMerkle.wrapProgram(pc.initialMemory, pc.slots, pc.ops, pc.opTree), root, "wrapProgram");
        factory.registerProgram(_job, pc);
        assertEq(factory.programRootOf(_job), root, "programRootOf");
    }

    ////////////////////////////////////////////////////////////////
    //                         DECODING                           //
    ////////////////////////////////////////////////////////////////

    /// @dev The descriptor at `_k` (serde field names of prover `OpDescriptor`).
    function _descriptor(string memory _json, string memory _k) internal pure returns (OpDescriptor memory d_) {
        d_.kind = uint8(vm.parseJsonUint(_json, string.concat(_k, ".kind")));
        d_.out = uint32(vm.parseJsonUint(_json, string.concat(_k, ".out")));
        d_.inputs = _u32s(vm.parseJsonUintArray(_json, string.concat(_k, ".inputs")));
        string memory shapes = string.concat(_k, ".shapes");
        uint256 n;
        while (vm.keyExistsJson(_json, _key(shapes, n, ""))) ++n;
        d_.shapes = new uint32[][](n);
        for (uint256 i = 0; i < n; ++i) {
            d_.shapes[i] = _u32s(vm.parseJsonUintArray(_json, _key(shapes, i, "")));
        }
        d_.param = int32(vm.parseJsonInt(_json, string.concat(_k, ".param")));
        d_.kChunk = uint32(vm.parseJsonUint(_json, string.concat(_k, ".k_chunk")));
        d_.transA = vm.parseJsonBool(_json, string.concat(_k, ".trans_a"));
        d_.transB = vm.parseJsonBool(_json, string.concat(_k, ".trans_b"));
    }

    /// @dev `OpKind`'s number of an operator name (docs/numerics.md's names).
    function _kindOf(string memory _name) internal pure returns (uint256 kind_) {
        bytes32 h = keccak256(bytes(_name));
        if (h == keccak256("gather")) return OpKind.GATHER;
        if (h == keccak256("mat_mul")) return OpKind.MAT_MUL;
        if (h == keccak256("sum_rows")) return OpKind.SUM_ROWS;
        if (h == keccak256("add")) return OpKind.ADD;
        if (h == keccak256("sub")) return OpKind.SUB;
        if (h == keccak256("mul")) return OpKind.MUL;
        if (h == keccak256("add_bias")) return OpKind.ADD_BIAS;
        if (h == keccak256("scale")) return OpKind.SCALE;
        if (h == keccak256("relu")) return OpKind.RELU;
        if (h == keccak256("relu_grad")) return OpKind.RELU_GRAD;
        if (h == keccak256("transpose")) return OpKind.TRANSPOSE;
        if (h == keccak256("softmax")) return OpKind.SOFTMAX;
        if (h == keccak256("softmax_xent_grad")) return OpKind.SOFTMAX_XENT_GRAD;
        if (h == keccak256("xent_loss")) return OpKind.XENT_LOSS;
        if (h == keccak256("sgd")) return OpKind.SGD;
        if (h == keccak256("argmax")) return OpKind.ARGMAX;
        fail(string.concat("unknown operator ", _name));
    }

    /// @dev Inputs per operator, as `OneStepReplay` counts them.
    function _arity(uint8 _kind) internal pure returns (uint256 n_) {
        bool one = _kind == OpKind.SUM_ROWS || _kind == OpKind.SCALE || _kind == OpKind.RELU
            || _kind == OpKind.TRANSPOSE || _kind == OpKind.SOFTMAX || _kind == OpKind.ARGMAX;
        n_ = one ? 1 : 2;
    }

    /// @dev `<base>[i]<rest>`.
    function _key(string memory _base, uint256 _i, string memory _rest) internal pure returns (string memory k_) {
        k_ = string.concat(_base, "[", vm.toString(_i), "]", _rest);
    }

    /// @dev Narrows JSON integers to `uint32`.
    function _u32s(uint256[] memory _xs) internal pure returns (uint32[] memory ys_) {
        ys_ = new uint32[](_xs.length);
        for (uint256 i = 0; i < _xs.length; ++i) {
            ys_[i] = uint32(_xs[i]);
        }
    }

    /// @dev bytes32 equality.
    function assertEq(bytes32 _a, bytes32 _b, string memory _e) internal pure {
        vm.assertEq(_a, _b, _e);
    }
}

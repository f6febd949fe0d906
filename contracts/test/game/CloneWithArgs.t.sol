// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {CloneWithArgs} from "../../src/game/CloneWithArgs.sol";
import {Test} from "../lib/Test.sol";

/// @title CloneHarness
/// @notice `CloneWithArgs`' creation and `argsOf` as external calls (so reverts can be
///         expected and the clones' creator is this contract).
contract CloneHarness {
    /// @notice `CloneWithArgs.clone`.
    /// @param _implementation The implementation.
    /// @param _args The arguments.
    /// @return instance_ The clone.
    function clone(address _implementation, bytes calldata _args) external returns (address instance_) {
        instance_ = CloneWithArgs.clone(_implementation, _args);
    }

    /// @notice `CloneWithArgs.creationCode`.
    /// @param _implementation The implementation.
    /// @param _args The arguments.
    /// @return code_ The creation code.
    function creationCode(address _implementation, bytes calldata _args) external view returns (bytes memory code_) {
        code_ = CloneWithArgs.creationCode(_implementation, _args);
    }

    /// @notice `CloneWithArgs.argsOf`.
    /// @param _instance The clone.
    /// @return args_ Its arguments.
    function argsOf(address _instance) external view returns (bytes memory args_) {
        args_ = CloneWithArgs.argsOf(_instance);
    }
}

/// @title ArgsProbe
/// @notice An implementation that reads its clone's arguments, keeps a value in storage,
///         and reverts or returns data on request.
contract ArgsProbe {
    /// @notice A failure with data, to check that a clone bubbles reverts up.
    /// @param data The data.
    error Probe(bytes data);

    /// @notice A stored value (the clone's own storage).
    uint256 public value;

    /// @notice `CloneWithArgs.argWord`.
    /// @param _offset The offset.
    /// @return word_ The word.
    function word(uint256 _offset) external view returns (bytes32 word_) {
        word_ = CloneWithArgs.argWord(_offset);
    }

    /// @notice `CloneWithArgs.argAddress`.
    /// @param _offset The offset.
    /// @return value_ The address.
    function addressAt(uint256 _offset) external view returns (address value_) {
        value_ = CloneWithArgs.argAddress(_offset);
    }

    /// @notice `CloneWithArgs.argUint`.
    /// @param _offset The offset.
    /// @param _size The width in bytes.
    /// @return value_ The integer.
    function uintAt(uint256 _offset, uint256 _size) external view returns (uint256 value_) {
        value_ = CloneWithArgs.argUint(_offset, _size);
    }

    /// @notice Stores `_value`.
    /// @param _value The value.
    function set(uint256 _value) external {
        value = _value;
    }

    /// @notice Returns the executing address and its input.
    /// @param _data Any bytes.
    /// @return self_ `address(this)`.
    /// @return data_ `_data`.
    function echo(bytes calldata _data) external view returns (address self_, bytes memory data_) {
        (self_, data_) = (address(this), _data);
    }

    /// @notice Always reverts with `Probe(_data)`.
    /// @param _data The revert data.
    function fail(bytes calldata _data) external pure {
        revert Probe(_data);
    }
}

/// @title CloneWithArgsTest
/// @notice Unit and fuzz tests of `CloneWithArgs`: the clone's code, its arguments read
///         back exactly (whole, by word, as addresses and integers of any width), delegation
///         (own storage, return data, reverts), and every revert of the library.
contract CloneWithArgsTest is Test {
    CloneHarness internal harness;
    ArgsProbe internal probe;

    /// @notice Deploys the harness and the implementation.
    function setUp() public {
        harness = new CloneHarness();
        probe = new ArgsProbe();
    }

    /// @dev The byte at `_i` of `_b`, 0 past its end.
    function _byteAt(bytes memory _b, uint256 _i) internal pure returns (bytes1 b_) {
        if (_i < _b.length) b_ = _b[_i];
    }

    /// @notice The clone's runtime code is the EIP-1167 proxy naming the implementation,
    ///         then the arguments; its creation code is the 10-byte loader in front.
    function test_clone_code_succeeds() public {
        bytes memory args = hex"0102030405";
        address c = harness.clone(address(probe), args);
        bytes memory runtime =
            abi.encodePacked(hex"363d3d373d3d3d363d73", address(probe), hex"5af43d82803e903d91602b57fd5bf3", args);
        assertTrue(keccak256(c.code) == keccak256(runtime), "runtime code");
        assertEq(c.code.length, CloneWithArgs.PROXY_SIZE + args.length, "size");
        bytes memory creation = harness.creationCode(address(probe), args);
        assertTrue(
            keccak256(creation) == keccak256(abi.encodePacked(hex"6100328060", hex"0a3d393df3", runtime)), "loader"
        );
    }

    /// @notice Any arguments are read back exactly: whole, and word by word at every
    ///         offset (zero past the end).
    function testFuzz_clone_argsReadBack_succeeds(bytes calldata _args) public {
        vm.assume(_args.length <= 600);
        address c = harness.clone(address(probe), _args);
        assertTrue(keccak256(harness.argsOf(c)) == keccak256(_args), "args");
        for (uint256 off = 0; off <= _args.length; off += 7) {
            bytes32 w = ArgsProbe(c).word(off);
            for (uint256 i = 0; i < 32; ++i) {
                assertTrue(w[i] == _byteAt(_args, off + i), "word byte");
            }
        }
    }

    /// @notice Addresses and integers of every width at any offset read back as packed.
    function testFuzz_clone_typedArgs_succeeds(address _a, uint64 _x, uint32 _y, bool _f, bytes32 _w, uint8 _pad)
        public
    {
        bytes memory pad = new bytes(_pad);
        bytes memory args = abi.encodePacked(pad, _a, _x, _y, _f, _w);
        ArgsProbe c = ArgsProbe(harness.clone(address(probe), args));
        uint256 o = _pad;
        assertTrue(c.addressAt(o) == _a, "address");
        assertEq(c.uintAt(o + 20, 8), _x, "uint64");
        assertEq(c.uintAt(o + 28, 4), _y, "uint32");
        assertEq(c.uintAt(o + 32, 1), _f ? 1 : 0, "bool");
        assertTrue(c.word(o + 33) == _w, "word");
        assertEq(c.uintAt(o + 33, 32), uint256(_w), "uint256");
    }

    /// @notice A clone has its own storage, returns the implementation's return data as
    ///         its own (running at its own address), and bubbles reverts up unchanged.
    function test_clone_delegates_succeeds() public {
        ArgsProbe a = ArgsProbe(harness.clone(address(probe), hex"aa"));
        ArgsProbe b = ArgsProbe(harness.clone(address(probe), hex"bb"));
        assertTrue(address(a) != address(b), "distinct addresses");
        a.set(7);
        assertEq(a.value(), 7, "own storage");
        assertEq(b.value(), 0, "not shared");
        assertEq(probe.value(), 0, "not the implementation's");
        (address self, bytes memory data) = a.echo(hex"1234");
        assertTrue(self == address(a), "runs as the clone");
        assertTrue(keccak256(data) == keccak256(hex"1234"), "return data");
        vm.expectRevert(abi.encodeWithSelector(ArgsProbe.Probe.selector, bytes(hex"beef")));
        a.fail(hex"beef");
    }

    /// @notice A clone with no arguments reads zeros and `argsOf` is empty; `argsOf` of an
    ///         account without code is empty too.
    function test_clone_noArgs_succeeds() public {
        ArgsProbe c = ArgsProbe(harness.clone(address(probe), ""));
        assertEq(harness.argsOf(address(c)).length, 0, "no args");
        assertTrue(c.word(0) == bytes32(0), "zero");
        assertEq(harness.argsOf(address(0xdead)).length, 0, "no code");
    }

    /// @notice The largest argument blob fits; one byte more reverts; so does an
    ///         implementation without code.
    function test_clone_reverts() public {
        bytes memory max = new bytes(CloneWithArgs.MAX_ARGS);
        max[max.length - 1] = 0x5a;
        ArgsProbe c = ArgsProbe(harness.clone(address(probe), max));
        assertEq(address(c).code.length, 24_576, "EIP-170 limit");
        assertEq(c.uintAt(max.length - 1, 1), 0x5a, "last byte");
        bytes memory over = new bytes(CloneWithArgs.MAX_ARGS + 1);
        vm.expectRevert(abi.encodeWithSelector(CloneWithArgs.ArgsTooLong.selector, over.length, CloneWithArgs.MAX_ARGS));
        harness.clone(address(probe), over);
        vm.expectRevert(abi.encodeWithSelector(CloneWithArgs.NoImplementation.selector, address(0xdead)));
        harness.clone(address(0xdead), hex"01");
    }

    /// @notice CREATE fails when the creator cannot pay for the clone: `CloneFailed`.
    function test_clone_outOfGas_reverts() public {
        bytes memory args = new bytes(4000);
        // Enough to build the creation code, not to deposit 4 kB of code (200 gas a byte).
        (bool ok, bytes memory ret) =
            address(harness).call{gas: 300_000}(abi.encodeCall(CloneHarness.clone, (address(probe), args)));
        assertTrue(!ok, "reverted");
        assertTrue(bytes4(ret) == CloneWithArgs.CloneFailed.selector, "CloneFailed");
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Vm
/// @notice The subset of Foundry's cheatcode interface that gavel's tests use. Signatures
///         are Foundry's own (the cheatcode address dispatches on their selectors).
interface Vm {
    /// @notice Reads a whole file (paths allowed by foundry.toml's `fs_permissions`).
    function readFile(string calldata _path) external view returns (string memory data_);

    /// @notice Decodes a JSON value at `_key` with an explicit ABI type description.
    function parseJsonTypeArray(string calldata _json, string calldata _key, string calldata _typeDescription)
        external
        pure
        returns (bytes memory abi_);

    /// @notice Reads an unsigned integer at `_key`.
    function parseJsonUint(string calldata _json, string calldata _key) external pure returns (uint256 value_);

    /// @notice Reads a string at `_key`.
    function parseJsonString(string calldata _json, string calldata _key) external pure returns (string memory value_);

    /// @notice The next call must revert with exactly `_revertData`.
    function expectRevert(bytes calldata _revertData) external;

    /// @notice Discards the current fuzz input unless `_condition` holds.
    function assume(bool _condition) external pure;

    /// @notice Fails unless the two values are equal.
    function assertEq(int256 _left, int256 _right, string calldata _error) external pure;

    /// @notice Fails unless the two values are equal.
    function assertEq(uint256 _left, uint256 _right, string calldata _error) external pure;

    /// @notice Fails unless the two strings are equal.
    function assertEq(string calldata _left, string calldata _right, string calldata _error) external pure;

    /// @notice Fails unless `_left <= _right`.
    function assertLe(int256 _left, int256 _right, string calldata _error) external pure;

    /// @notice Fails unless `_left <= _right`.
    function assertLe(uint256 _left, uint256 _right, string calldata _error) external pure;

    /// @notice Fails unless `_left >= _right`.
    function assertGe(uint256 _left, uint256 _right, string calldata _error) external pure;

    /// @notice Fails unless `_condition` holds.
    function assertTrue(bool _condition, string calldata _error) external pure;

    /// @notice Decimal representation of a signed integer.
    function toString(int256 _value) external pure returns (string memory text_);

    /// @notice Decimal representation of an unsigned integer.
    function toString(uint256 _value) external pure returns (string memory text_);

    // The cheatcodes below are used by the registry, market and invariant suites.

    /// @notice A log recorded by `recordLogs`.
    /// @param topics The topics, the event's selector first.
    /// @param data The non-indexed data.
    /// @param emitter The contract that emitted it.
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    /// @notice The next call (only) is made from `_sender`.
    function prank(address _sender) external;

    /// @notice Every call until `stopPrank` is made from `_sender`.
    function startPrank(address _sender) external;

    /// @notice Ends `startPrank`.
    function stopPrank() external;

    /// @notice Sets an account's ETH balance.
    function deal(address _account, uint256 _balance) external;

    /// @notice Sets `block.timestamp`.
    function warp(uint256 _timestamp) external;

    /// @notice Sets `block.number`.
    function roll(uint256 _blockNumber) external;

    /// @notice The next call must revert with a custom error of this selector (any data).
    function expectRevert(bytes4 _selector) external;

    /// @notice The next call must revert (any data).
    function expectRevert() external;

    /// @notice The next event emitted must match the one emitted next by the test, in
    ///         every topic and the data.
    function expectEmit() external;

    /// @notice As `expectEmit()`, and the event must come from `_emitter`.
    function expectEmit(address _emitter) external;

    /// @notice Starts recording every log emitted.
    function recordLogs() external;

    /// @notice The logs recorded since `recordLogs` (and clears them).
    function getRecordedLogs() external returns (Log[] memory logs_);

    /// @notice Names an address in traces.
    function label(address _account, string calldata _name) external;

    /// @notice The address of a private key.
    function addr(uint256 _privateKey) external pure returns (address account_);

    /// @notice Fails unless the two addresses are equal.
    function assertEq(address _left, address _right, string calldata _error) external pure;

    /// @notice Fails unless the two words are equal.
    function assertEq(bytes32 _left, bytes32 _right, string calldata _error) external pure;

    /// @notice Fails unless the two booleans are equal.
    function assertEq(bool _left, bool _right, string calldata _error) external pure;

    // The cheatcodes below are used by the Merkle and dispute game suites.

    /// @notice Reads a bytes32 at `_key`.
    function parseJsonBytes32(string calldata _json, string calldata _key) external pure returns (bytes32 value_);

    /// @notice Reads an array of bytes32 at `_key`.
    function parseJsonBytes32Array(string calldata _json, string calldata _key)
        external
        pure
        returns (bytes32[] memory values_);

    /// @notice Reads an array of unsigned integers at `_key`.
    function parseJsonUintArray(string calldata _json, string calldata _key)
        external
        pure
        returns (uint256[] memory values_);

    /// @notice Reads an array of signed integers at `_key`.
    function parseJsonIntArray(string calldata _json, string calldata _key)
        external
        pure
        returns (int256[] memory values_);

    /// @notice Reads a signed integer at `_key`.
    function parseJsonInt(string calldata _json, string calldata _key) external pure returns (int256 value_);

    /// @notice Reads a boolean at `_key`.
    function parseJsonBool(string calldata _json, string calldata _key) external pure returns (bool value_);

    /// @notice Whether `_key` exists in the JSON.
    function keyExistsJson(string calldata _json, string calldata _key) external pure returns (bool exists_);

    /// @notice Gas of the last call (Foundry's `Gas` struct).
    /// @param gasLimit The call's gas limit.
    /// @param gasTotalUsed Gas the callee used.
    /// @param gasMemoryUsed Gas the callee spent on memory expansion.
    /// @param gasRefunded Gas refunded.
    /// @param gasRemaining Gas left at the end.
    struct Gas {
        uint64 gasLimit;
        uint64 gasTotalUsed;
        uint64 gasMemoryUsed;
        int64 gasRefunded;
        uint64 gasRemaining;
    }

    /// @notice The gas of the last call made by the test contract.
    function lastCallGas() external view returns (Gas memory gas_);
}

/// @title console
/// @notice The two `console.log` overloads the tests print with (shown with `-vv`).
library console {
    /// @dev Foundry's console address.
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    /// @notice Logs a message.
    /// @param _message The message.
    function log(string memory _message) internal pure {
        _send(abi.encodeWithSignature("log(string)", _message));
    }

    /// @notice Logs a message and a number.
    /// @param _message The message.
    /// @param _value The number.
    function log(string memory _message, uint256 _value) internal pure {
        _send(abi.encodeWithSignature("log(string,uint256)", _message, _value));
    }

    /// @dev Sends a payload to the console address from a pure context (the call is a
    ///      static call that the node intercepts; its result is ignored).
    function _send(bytes memory _payload) private pure {
        function(bytes memory) internal view fnIn = _sendView;
        function(bytes memory) internal pure pureSend;
        assembly ("memory-safe") {
            pureSend := fnIn
        }
        pureSend(_payload);
    }

    /// @dev The static call behind `_send`.
    function _sendView(bytes memory _payload) private view {
        (bool ok,) = CONSOLE.staticcall(_payload);
        ok;
    }
}

/// @title Test
/// @notice The in-repo test base (gavel does not depend on forge-std): the cheatcode
///         handle and a few assertion helpers on top of Foundry's assertion cheatcodes.
abstract contract Test {
    /// @notice Marks this contract as a test suite for forge.
    bool public IS_TEST = true;

    /// @notice Foundry's cheatcode address, `address(uint160(uint256(keccak256("hevm cheat code"))))`.
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @notice Fails unless two integers are equal.
    /// @param _left The value computed.
    /// @param _right The value expected.
    /// @param _error The message shown on failure.
    function assertEq(int256 _left, int256 _right, string memory _error) internal pure {
        vm.assertEq(_left, _right, _error);
    }

    /// @notice Fails unless two unsigned integers are equal.
    /// @param _left The value computed.
    /// @param _right The value expected.
    /// @param _error The message shown on failure.
    function assertEq(uint256 _left, uint256 _right, string memory _error) internal pure {
        vm.assertEq(_left, _right, _error);
    }

    /// @notice Fails unless a condition holds.
    /// @param _condition The condition.
    /// @param _error The message shown on failure.
    function assertTrue(bool _condition, string memory _error) internal pure {
        vm.assertTrue(_condition, _error);
    }

    /// @notice Fails unconditionally.
    /// @param _error The message shown.
    function fail(string memory _error) internal pure {
        vm.assertTrue(false, _error);
    }

    /// @notice Maps a fuzzed value into `[_min, _max]` (inclusive) without discarding it.
    /// @param _x The fuzzed value.
    /// @param _min The lower bound.
    /// @param _max The upper bound, at least `_min`.
    /// @return y_ A value in the range.
    function bound(uint256 _x, uint256 _min, uint256 _max) internal pure returns (uint256 y_) {
        if (_max - _min == type(uint256).max) return _x;
        y_ = _min + _x % (_max - _min + 1);
    }
}

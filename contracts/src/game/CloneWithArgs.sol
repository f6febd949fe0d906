// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title CloneWithArgs
/// @notice Minimal proxies (EIP-1167) with immutable arguments appended to their code: a
///         clone's runtime code is the 45-byte EIP-1167 proxy, which forwards every call to
///         the implementation with DELEGATECALL, followed by `args` (never executed: the
///         proxy ends in RETURN or REVERT before it). The implementation reads its
///         arguments back from the clone's code, so they cost a few hundred gas per read
///         instead of a cold storage read each, and nothing per game to store.
/// @dev Layout of a clone's runtime code:
///
///          offset 0   363d3d373d3d3d363d73   the EIP-1167 proxy head (10 bytes)
///          offset 10  <implementation>       20 bytes
///          offset 30  5af43d82803e903d91602b57fd5bf3   the proxy tail (15 bytes)
///          offset 45  args                   `args.length` bytes
///
///      Its creation code is a 10-byte loader that copies the runtime code above out of the
///      creation code and returns it:
///
///          61 <len:2>  PUSH2 len        runtime length (45 + args.length)
///          80          DUP1
///          60 0a       PUSH1 10         where the runtime starts in the creation code
///          3d          RETURNDATASIZE   0 (nothing was called yet)
///          39          CODECOPY         memory[0, len) = code[10, 10 + len)
///          3d          RETURNDATASIZE   0
///          f3          RETURN           memory[0, len)
///
///      Under DELEGATECALL, CODECOPY reads the implementation's code, so the arguments are
///      read with EXTCODECOPY of `address()`, which is the clone (always warm: it is the
///      account being executed, 100 gas plus 3 per word copied). Reading them in the
///      implementation itself (not through a clone) returns its own code bytes: an
///      implementation must make itself unusable (`DisputeGame` does in its constructor).
library CloneWithArgs {
    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Bytes of a clone's runtime code before its arguments (the EIP-1167 proxy).
    uint256 internal constant PROXY_SIZE = 45;

    /// @notice The longest argument blob: a clone's runtime code must fit the EIP-170 limit
    ///         of 24,576 bytes.
    uint256 internal constant MAX_ARGS = 24_576 - PROXY_SIZE;

    ////////////////////////////////////////////////////////////////
    //                           ERRORS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice The arguments do not fit a clone's code.
    /// @param length Their length in bytes.
    /// @param max The most a clone can carry.
    error ArgsTooLong(uint256 length, uint256 max);

    /// @notice The implementation has no code.
    /// @param implementation The address given.
    error NoImplementation(address implementation);

    /// @notice CREATE failed (out of gas, or the creator's nonce is exhausted).
    error CloneFailed();

    ////////////////////////////////////////////////////////////////
    //                         CREATION                           //
    ////////////////////////////////////////////////////////////////

    /// @notice Deploys a clone of `_implementation` carrying `_args` (CREATE, so a new
    ///         address per call).
    /// @param _implementation The contract every call is delegated to.
    /// @param _args The immutable arguments, read back with `argWord` and friends.
    /// @return instance_ The clone.
    function clone(address _implementation, bytes memory _args) internal returns (address instance_) {
        bytes memory code = creationCode(_implementation, _args);
        assembly ("memory-safe") {
            instance_ := create(0, add(code, 0x20), mload(code))
        }
        if (instance_ == address(0)) revert CloneFailed();
    }

    /// @notice The creation code of a clone of `_implementation` carrying `_args`.
    /// @param _implementation The contract every call is delegated to.
    /// @param _args The immutable arguments.
    /// @return code_ The loader followed by the clone's runtime code.
    function creationCode(address _implementation, bytes memory _args) internal view returns (bytes memory code_) {
        if (_args.length > MAX_ARGS) revert ArgsTooLong(_args.length, MAX_ARGS);
        if (_implementation.code.length == 0) revert NoImplementation(_implementation);
        // forge-lint: disable-next-line(unsafe-typecast) PROXY_SIZE + MAX_ARGS < 2^16.
        uint16 runtime = uint16(PROXY_SIZE + _args.length);
        code_ = abi.encodePacked(
            hex"61",
            runtime,
            hex"80600a3d393df3",
            hex"363d3d373d3d3d363d73",
            _implementation,
            hex"5af43d82803e903d91602b57fd5bf3",
            _args
        );
    }

    ////////////////////////////////////////////////////////////////
    //                          READING                           //
    ////////////////////////////////////////////////////////////////

    /// @notice All the arguments a clone carries (for views and tests; the implementation
    ///         reads single words with `argWord`).
    /// @param _instance The clone.
    /// @return args_ Its code after the proxy (empty if it has no more code than that).
    function argsOf(address _instance) internal view returns (bytes memory args_) {
        uint256 size = _instance.code.length;
        if (size <= PROXY_SIZE) return args_;
        args_ = new bytes(size - PROXY_SIZE);
        assembly ("memory-safe") {
            extcodecopy(_instance, add(args_, 0x20), PROXY_SIZE, mload(args_))
        }
    }

    /// @notice The 32 bytes at `_offset` of the executing clone's arguments (zero past
    ///         their end), for code that runs behind a clone.
    /// @param _offset The byte offset within the arguments.
    /// @return word_ The word, left-aligned.
    function argWord(uint256 _offset) internal view returns (bytes32 word_) {
        assembly ("memory-safe") {
            // Scratch space: 0x00..0x20 may be overwritten by inline assembly.
            extcodecopy(address(), 0x00, add(PROXY_SIZE, _offset), 0x20)
            word_ := mload(0x00)
        }
    }

    /// @notice The 20-byte address at `_offset` of the executing clone's arguments.
    /// @param _offset The byte offset within the arguments.
    /// @return value_ The address.
    function argAddress(uint256 _offset) internal view returns (address value_) {
        value_ = address(bytes20(argWord(_offset)));
    }

    /// @notice The big-endian unsigned integer of `_size` bytes (1 to 32) at `_offset` of
    ///         the executing clone's arguments.
    /// @param _offset The byte offset within the arguments.
    /// @param _size Its width in bytes (the caller's constant; not checked).
    /// @return value_ The integer.
    function argUint(uint256 _offset, uint256 _size) internal view returns (uint256 value_) {
        bytes32 word = argWord(_offset);
        assembly ("memory-safe") {
            value_ := shr(sub(256, shl(3, _size)), word)
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "../lib/Test.sol";

/// @title InvariantTest
/// @notice The part of forge's invariant interface gavel's suites use (forge-std's
///         `StdInvariant`, which gavel does not depend on): forge calls these views to learn
///         which contracts and functions to fuzz. Without them it would fuzz every contract
///         the suite deployed, with random callers; gavel's suites fuzz actor handlers only.
abstract contract InvariantTest is Test {
    /// @notice A contract and the functions of it to fuzz (forge's `FuzzSelector`).
    /// @param addr The contract.
    /// @param selectors The functions.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @dev The contracts to fuzz.
    address[] private _targetContracts;

    /// @dev The functions to fuzz.
    FuzzSelector[] private _targetSelectors;

    /// @dev Adds a contract to fuzz (all of its functions unless `_targetSelector` is used).
    /// @param _target The contract.
    function _targetContract(address _target) internal {
        _targetContracts.push(_target);
    }

    /// @dev Restricts fuzzing of a contract to some of its functions.
    /// @param _target The contract.
    /// @param _selectors The functions.
    function _targetSelector(address _target, bytes4[] memory _selectors) internal {
        _targetSelectors.push(FuzzSelector({addr: _target, selectors: _selectors}));
    }

    /// @notice The contracts forge fuzzes (read by forge).
    /// @return targets_ The contracts.
    function targetContracts() public view returns (address[] memory targets_) {
        targets_ = _targetContracts;
    }

    /// @notice The functions forge fuzzes (read by forge).
    /// @return selectors_ The contracts and functions.
    function targetSelectors() public view returns (FuzzSelector[] memory selectors_) {
        selectors_ = _targetSelectors;
    }
}

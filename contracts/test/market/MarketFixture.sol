// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../../src/interfaces/IDeviceRegistry.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {DeviceId, GameId, JobId} from "../../src/interfaces/Types.sol";
import {JobMarket} from "../../src/market/JobMarket.sol";
import {DeviceRegistry} from "../../src/registry/DeviceRegistry.sol";
import {Test} from "../lib/Test.sol";
import {DisputeGameDouble, DisputeGameFactoryDouble} from "./DisputeGameDouble.sol";

/// @title MarketFixture
/// @notice The deployment every registry, market and invariant suite starts from: a
///         registry, the test-only game factory and a market wired together, funded
///         actors, and helpers that walk a job through its states.
abstract contract MarketFixture is Test {
    /// @dev Least bonded stake of an active device.
    uint128 internal constant MIN_STAKE = 1 ether;
    /// @dev Unbonding period.
    uint64 internal constant UNBONDING = 7 days;
    /// @dev Least collateral (and bond) of a job.
    uint128 internal constant MIN_COLLATERAL = 0.1 ether;
    /// @dev Challenge window bounds.
    uint64 internal constant MIN_WINDOW = 1 hours;
    uint64 internal constant MAX_WINDOW = 30 days;

    /// @dev Defaults of the helper jobs.
    uint256 internal constant REWARD = 2 ether;
    uint128 internal constant COLLATERAL = 0.5 ether;
    uint64 internal constant WINDOW = 1 days;
    uint64 internal constant STEPS = 4000;
    bytes32 internal constant SPEC = keccak256("spec");
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant TRACE = keccak256("trace");
    bytes32 internal constant OUTPUT = keccak256("output");
    bytes32 internal constant OTHER_TRACE = keccak256("other trace");

    /// @dev Start of time in every suite (so that deadlines are far from zero).
    uint256 internal constant T0 = 1_700_000_000;

    DeviceRegistry internal registry;
    DisputeGameFactoryDouble internal factory;
    JobMarket internal market;

    address internal submitter;
    address internal solver;
    address internal challenger;
    address internal stranger;

    /// @notice Deploys and wires the contracts and funds the actors.
    function setUp() public virtual {
        vm.warp(T0);
        registry = new DeviceRegistry(MIN_STAKE, UNBONDING);
        factory = new DisputeGameFactoryDouble();
        market = new JobMarket(registry, factory, MIN_COLLATERAL, MIN_WINDOW, MAX_WINDOW);
        registry.setMarket(address(market));

        submitter = _actor("submitter");
        solver = _actor("solver");
        challenger = _actor("challenger");
        stranger = _actor("stranger");
    }

    ////////////////////////////////////////////////////////////////
    //                          HELPERS                           //
    ////////////////////////////////////////////////////////////////

    /// @dev A labelled address with 1,000 ETH.
    function _actor(string memory _name) internal returns (address actor_) {
        actor_ = vm.addr(uint256(keccak256(bytes(_name))));
        vm.label(actor_, _name);
        vm.deal(actor_, 1000 ether);
    }

    /// @dev Metadata with a name.
    function _metadata(string memory _name) internal pure returns (IDeviceRegistry.Metadata memory metadata_) {
        metadata_ = IDeviceRegistry.Metadata({
            name: _name, backend: "wgpu-vulkan", hardwareClass: "nvidia-h100", endpoint: "https://node.example/gavel"
        });
    }

    /// @dev Registers a device for `_owner` with `_stake`.
    function _register(address _owner, uint256 _stake) internal returns (DeviceId device_) {
        vm.prank(_owner);
        device_ = registry.register{value: _stake}(_metadata("device"));
    }

    /// @dev The default job parameters, deadlines relative to now.
    function _params() internal view returns (IJobMarket.JobParams memory params_) {
        params_ = IJobMarket.JobParams({
            specHash: SPEC,
            inputHash: INPUT,
            claimDeadline: uint64(block.timestamp + 1 days),
            executionDeadline: uint64(block.timestamp + 3 days),
            challengeWindow: WINDOW,
            steps: STEPS,
            collateral: COLLATERAL
        });
    }

    /// @dev Posts the default job from `submitter`.
    function _post() internal returns (JobId job_) {
        job_ = _post(_params(), REWARD);
    }

    /// @dev Posts a job from `submitter`.
    function _post(IJobMarket.JobParams memory _p, uint256 _reward) internal returns (JobId job_) {
        vm.prank(submitter);
        job_ = market.postJob{value: _reward}(_p);
    }

    /// @dev Registers a device for `solver` and claims `_job` with it.
    function _claim(JobId _job) internal returns (DeviceId device_) {
        device_ = _register(solver, 2 * MIN_STAKE);
        vm.prank(solver);
        market.claimJob(_job, device_);
    }

    /// @dev Posts, claims and submits the default job.
    function _submitted() internal returns (JobId job_, DeviceId device_) {
        job_ = _post();
        device_ = _claim(job_);
        vm.prank(solver);
        market.submitResult(job_, TRACE, OUTPUT, STEPS);
    }

    /// @dev Challenges `_job` from `_challenger` with the bond `_bond`.
    function _challenge(JobId _job, address _challenger, uint256 _bond)
        internal
        returns (GameId game_, DisputeGameDouble double_)
    {
        vm.prank(_challenger);
        address gameAddress;
        (game_, gameAddress) = market.challenge{value: _bond}(_job, DeviceId.wrap(0), OTHER_TRACE);
        double_ = DisputeGameDouble(gameAddress);
    }

    /// @dev The state of a job.
    function _state(JobId _job) internal view returns (IJobMarket.JobState state_) {
        state_ = market.jobOf(_job).state;
    }

    /// @dev The block time (a helper, so that the tests' deadline checks read alike).
    function _now() internal view returns (uint256 now_) {
        now_ = block.timestamp;
    }

    /// @dev Checks a job's state.
    function _assertState(JobId _job, IJobMarket.JobState _expected) internal view {
        assertEq(uint256(_state(_job)), uint256(_expected), "job state");
    }
}

/// @title EthRejecter
/// @notice TEST ONLY: an account that refuses ETH, to make a transfer fail. It can call the
///         registry and the market with the ETH it was given.
contract EthRejecter {
    /// @notice Forwards a call (with value) from this contract.
    /// @param _target The contract.
    /// @param _data The calldata.
    /// @return result_ The return data.
    function forward(address _target, bytes calldata _data) external payable returns (bytes memory result_) {
        bool ok;
        (ok, result_) = _target.call{value: msg.value}(_data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result_, 0x20), mload(result_))
            }
        }
    }
}

/// @title Reenterer
/// @notice TEST ONLY: an account whose `receive` calls back into the contract paying it and
///         records how that call ended (without reverting, so the payment goes through).
contract Reenterer {
    /// @notice The contract called back on receipt.
    address public target;
    /// @notice The calldata of the call-back.
    bytes public reentry;
    /// @notice Whether the last call-back succeeded.
    bool public reentered;
    /// @notice The last call-back's return or revert data.
    bytes public reentryResult;

    /// @notice Forwards a call (with value) from this contract.
    /// @param _target The contract.
    /// @param _data The calldata.
    /// @return result_ The return data.
    function forward(address _target, bytes calldata _data) external payable returns (bytes memory result_) {
        bool ok;
        (ok, result_) = _target.call{value: msg.value}(_data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result_, 0x20), mload(result_))
            }
        }
    }

    /// @notice Sets the call made on receipt.
    /// @param _target The contract.
    /// @param _data The calldata.
    function setReentry(address _target, bytes calldata _data) external {
        target = _target;
        reentry = _data;
    }

    /// @notice Calls back and records the outcome.
    receive() external payable {
        (reentered, reentryResult) = target.call(reentry);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../../src/interfaces/IDeviceRegistry.sol";
import {IDisputeGameFactory} from "../../src/interfaces/IDisputeGameFactory.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {DeviceId, GameId, JobId} from "../../src/interfaces/Types.sol";
import {JobMarket} from "../../src/market/JobMarket.sol";
import {DisputeGameDouble, DisputeGameFactoryDouble} from "./DisputeGameDouble.sol";
import {EthRejecter, MarketFixture, Reenterer} from "./MarketFixture.sol";

/// @title JobMarketTest
/// @notice Unit and fuzz tests of every JobMarket function and every revert, against the
///         real DeviceRegistry and the test-only dispute game double.
contract JobMarketTest is MarketFixture {
    ////////////////////////////////////////////////////////////////
    //                          HELPERS                           //
    ////////////////////////////////////////////////////////////////

    /// @dev Expects `UnexpectedJobState` for the next call.
    function _expectState(JobId _job, IJobMarket.JobState _state, IJobMarket.JobState _expected) internal {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.UnexpectedJobState.selector, _job, _state, _expected));
    }

    /// @dev The market's liabilities computed from its views: escrowed rewards of live
    ///      jobs, bonds of open disputes, and the credits of the suite's actors.
    function _marketClaims(address[] memory _accounts) internal view returns (uint256 claims_) {
        for (uint64 j = 1; j <= market.jobCount(); ++j) {
            IJobMarket.Job memory job = market.jobOf(JobId.wrap(j));
            if (
                job.state == IJobMarket.JobState.Open || job.state == IJobMarket.JobState.Claimed
                    || job.state == IJobMarket.JobState.Submitted
            ) claims_ += job.reward;
        }
        for (uint64 g = 1; g <= market.gameCount(); ++g) {
            IJobMarket.Dispute memory dispute = market.disputeOf(GameId.wrap(g));
            if (dispute.state == IJobMarket.DisputeState.Open) claims_ += dispute.bond;
        }
        for (uint256 i; i < _accounts.length; ++i) {
            claims_ += market.creditOf(_accounts[i]);
        }
    }

    /// @dev The suite's actors.
    function _actors() internal view returns (address[] memory actors_) {
        actors_ = new address[](4);
        actors_[0] = submitter;
        actors_[1] = solver;
        actors_[2] = challenger;
        actors_[3] = stranger;
    }

    /// @dev Checks the market's balance against its claims.
    function _assertMarketConserved() internal view {
        assertEq(address(market).balance, _marketClaims(_actors()), "market balance == claims");
    }

    ////////////////////////////////////////////////////////////////
    //                        CONSTRUCTOR                         //
    ////////////////////////////////////////////////////////////////

    /// @notice The constructor keeps its parameters.
    function test_constructor_setsParameters_succeeds() public view {
        vm.assertEq(address(market.REGISTRY()), address(registry), "registry");
        vm.assertEq(address(market.FACTORY()), address(factory), "factory");
        assertEq(market.MIN_COLLATERAL(), MIN_COLLATERAL, "min collateral");
        assertEq(market.MIN_CHALLENGE_WINDOW(), MIN_WINDOW, "min window");
        assertEq(market.MAX_CHALLENGE_WINDOW(), MAX_WINDOW, "max window");
        assertEq(market.WINNER_SHARE_BPS(), 5000, "share");
        vm.assertEq(market.version(), "0.1.0", "version");
    }

    /// @notice The registry and the factory must be set.
    function test_constructor_zeroAddress_reverts() public {
        vm.expectRevert(IJobMarket.ZeroAddress.selector);
        new JobMarket(IDeviceRegistry(address(0)), factory, MIN_COLLATERAL, MIN_WINDOW, MAX_WINDOW);
        vm.expectRevert(IJobMarket.ZeroAddress.selector);
        new JobMarket(registry, IDisputeGameFactory(address(0)), MIN_COLLATERAL, MIN_WINDOW, MAX_WINDOW);
    }

    /// @notice The minimum collateral must be positive and fit 128 bits.
    function test_constructor_badCollateral_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.CollateralTooLow.selector, 0, 1));
        new JobMarket(registry, factory, 0, MIN_WINDOW, MAX_WINDOW);
        uint256 huge = uint256(type(uint128).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.AmountOverflow.selector, huge));
        new JobMarket(registry, factory, huge, MIN_WINDOW, MAX_WINDOW);
    }

    /// @notice The window bounds must be positive and ordered.
    function test_constructor_badWindows_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.ChallengeWindowOutOfRange.selector, 10, 0, 10));
        new JobMarket(registry, factory, MIN_COLLATERAL, 0, 10);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.ChallengeWindowOutOfRange.selector, 9, 10, 9));
        new JobMarket(registry, factory, MIN_COLLATERAL, 10, 9);
    }

    ////////////////////////////////////////////////////////////////
    //                          postJob                           //
    ////////////////////////////////////////////////////////////////

    /// @notice Posting stores the job, escrows the reward and emits.
    function test_postJob_valid_succeeds() public {
        IJobMarket.JobParams memory p = _params();
        vm.expectEmit(address(market));
        emit IJobMarket.JobPosted(JobId.wrap(1), submitter, REWARD, p);
        JobId id = _post(p, REWARD);

        assertEq(JobId.unwrap(id), 1, "id");
        assertEq(market.jobCount(), 1, "count");
        IJobMarket.Job memory job = market.jobOf(id);
        vm.assertEq(job.submitter, submitter, "submitter");
        assertEq(uint256(job.state), uint256(IJobMarket.JobState.Open), "state");
        assertEq(job.reward, REWARD, "reward");
        assertEq(job.collateral, COLLATERAL, "collateral");
        assertEq(job.claimDeadline, p.claimDeadline, "claim deadline");
        assertEq(job.executionDeadline, p.executionDeadline, "execution deadline");
        assertEq(job.challengeWindow, WINDOW, "window");
        assertEq(job.steps, STEPS, "steps");
        vm.assertEq(job.specHash, SPEC, "spec");
        vm.assertEq(job.inputHash, INPUT, "input");
        vm.assertEq(job.solver, address(0), "no solver");
        assertEq(address(market).balance, REWARD, "escrow");
    }

    /// @notice The edges are accepted: claim deadline now, the window bounds, the minimum
    ///         collateral, one step.
    function test_postJob_edges_succeeds() public {
        IJobMarket.JobParams memory p = _params();
        p.claimDeadline = uint64(block.timestamp);
        p.executionDeadline = p.claimDeadline + 1;
        p.challengeWindow = MIN_WINDOW;
        p.collateral = MIN_COLLATERAL;
        p.steps = 1;
        _post(p, 1);
        p.challengeWindow = MAX_WINDOW;
        _post(p, 1);
    }

    /// @notice A job needs a reward.
    function test_postJob_zeroReward_reverts() public {
        vm.prank(submitter);
        vm.expectRevert(IJobMarket.ZeroReward.selector);
        market.postJob(_params());
    }

    /// @notice A reward beyond 128 bits is refused.
    function test_postJob_rewardOverflow_reverts() public {
        uint256 huge = uint256(type(uint128).max) + 1;
        vm.deal(submitter, huge);
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.AmountOverflow.selector, huge));
        market.postJob{value: huge}(_params());
    }

    /// @notice The spec and input hashes must be set.
    function test_postJob_zeroHash_reverts() public {
        IJobMarket.JobParams memory p = _params();
        p.specHash = bytes32(0);
        vm.prank(submitter);
        vm.expectRevert(IJobMarket.ZeroHash.selector);
        market.postJob{value: 1}(p);
        p = _params();
        p.inputHash = bytes32(0);
        vm.prank(submitter);
        vm.expectRevert(IJobMarket.ZeroHash.selector);
        market.postJob{value: 1}(p);
    }

    /// @notice A program has at least one step.
    function test_postJob_zeroSteps_reverts() public {
        IJobMarket.JobParams memory p = _params();
        p.steps = 0;
        vm.prank(submitter);
        vm.expectRevert(IJobMarket.ZeroSteps.selector);
        market.postJob{value: 1}(p);
    }

    /// @notice The claim deadline is not in the past, the execution deadline after it.
    function test_postJob_badDeadlines_reverts() public {
        IJobMarket.JobParams memory p = _params();
        p.claimDeadline = uint64(block.timestamp - 1);
        vm.prank(submitter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.InvalidDeadlines.selector, uint64(block.timestamp), p.claimDeadline, p.executionDeadline
            )
        );
        market.postJob{value: 1}(p);
        p = _params();
        p.executionDeadline = p.claimDeadline;
        vm.prank(submitter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.InvalidDeadlines.selector, uint64(block.timestamp), p.claimDeadline, p.executionDeadline
            )
        );
        market.postJob{value: 1}(p);
    }

    /// @notice The collateral is at least the minimum.
    function test_postJob_collateralTooLow_reverts() public {
        IJobMarket.JobParams memory p = _params();
        p.collateral = MIN_COLLATERAL - 1;
        vm.prank(submitter);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.CollateralTooLow.selector, MIN_COLLATERAL - 1, MIN_COLLATERAL)
        );
        market.postJob{value: 1}(p);
    }

    /// @notice The window is within the bounds.
    function test_postJob_windowOutOfRange_reverts() public {
        IJobMarket.JobParams memory p = _params();
        p.challengeWindow = MIN_WINDOW - 1;
        vm.prank(submitter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.ChallengeWindowOutOfRange.selector, MIN_WINDOW - 1, MIN_WINDOW, MAX_WINDOW
            )
        );
        market.postJob{value: 1}(p);
        p.challengeWindow = MAX_WINDOW + 1;
        vm.prank(submitter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.ChallengeWindowOutOfRange.selector, MAX_WINDOW + 1, MIN_WINDOW, MAX_WINDOW
            )
        );
        market.postJob{value: 1}(p);
    }

    /// @notice Any valid parameters are stored exactly and the reward escrowed.
    function testFuzz_postJob_params_succeeds(
        uint256 _reward,
        uint64 _claimIn,
        uint64 _execAfter,
        uint64 _window,
        uint64 _steps,
        uint128 _collateral
    ) public {
        _reward = bound(_reward, 1, 500 ether);
        IJobMarket.JobParams memory p = _params();
        p.claimDeadline = uint64(block.timestamp + bound(_claimIn, 0, 365 days));
        p.executionDeadline = uint64(p.claimDeadline + bound(_execAfter, 1, 365 days));
        p.challengeWindow = uint64(bound(_window, MIN_WINDOW, MAX_WINDOW));
        p.steps = uint64(bound(_steps, 1, type(uint64).max));
        p.collateral = uint128(bound(_collateral, MIN_COLLATERAL, type(uint128).max));
        JobId id = _post(p, _reward);
        IJobMarket.Job memory job = market.jobOf(id);
        assertEq(job.reward, _reward, "reward");
        assertEq(job.collateral, p.collateral, "collateral");
        assertEq(job.claimDeadline, p.claimDeadline, "claim");
        assertEq(job.executionDeadline, p.executionDeadline, "execution");
        assertEq(job.challengeWindow, p.challengeWindow, "window");
        assertEq(job.steps, p.steps, "steps");
        assertEq(address(market).balance, _reward, "escrow");
    }

    ////////////////////////////////////////////////////////////////
    //                         cancelJob                          //
    ////////////////////////////////////////////////////////////////

    /// @notice The submitter cancels an open job and is credited the reward.
    function test_cancelJob_open_succeeds() public {
        JobId id = _post();
        vm.expectEmit(address(market));
        emit IJobMarket.JobCancelled(id);
        vm.expectEmit(address(market));
        emit IJobMarket.Credited(submitter, id, REWARD);
        vm.prank(submitter);
        market.cancelJob(id);
        _assertState(id, IJobMarket.JobState.Cancelled);
        assertEq(market.creditOf(submitter), REWARD, "refund");
        _assertMarketConserved();
    }

    /// @notice Also after the claim deadline (nobody claimed it).
    function test_cancelJob_afterClaimDeadline_succeeds() public {
        JobId id = _post();
        vm.warp(block.timestamp + 30 days);
        vm.prank(submitter);
        market.cancelJob(id);
        _assertState(id, IJobMarket.JobState.Cancelled);
    }

    /// @notice Only the submitter.
    function test_cancelJob_notSubmitter_reverts() public {
        JobId id = _post();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotSubmitter.selector, id, stranger));
        market.cancelJob(id);
    }

    /// @notice Not once claimed, nor a job that does not exist, nor twice.
    function test_cancelJob_notOpen_reverts() public {
        JobId id = _post();
        _claim(id);
        vm.prank(submitter);
        _expectState(id, IJobMarket.JobState.Claimed, IJobMarket.JobState.Open);
        market.cancelJob(id);

        vm.prank(submitter);
        _expectState(JobId.wrap(9), IJobMarket.JobState.None, IJobMarket.JobState.Open);
        market.cancelJob(JobId.wrap(9));

        JobId other = _post();
        vm.prank(submitter);
        market.cancelJob(other);
        vm.prank(submitter);
        _expectState(other, IJobMarket.JobState.Cancelled, IJobMarket.JobState.Open);
        market.cancelJob(other);
    }

    /// @notice Any reward is refunded exactly, at any time before a claim.
    function testFuzz_cancelJob_reward_succeeds(uint256 _reward, uint256 _wait) public {
        _reward = bound(_reward, 1, 500 ether);
        JobId id = _post(_params(), _reward);
        vm.warp(block.timestamp + bound(_wait, 0, 400 days));
        vm.prank(submitter);
        market.cancelJob(id);
        assertEq(market.creditOf(submitter), _reward, "refund");
        _assertMarketConserved();
    }

    ////////////////////////////////////////////////////////////////
    //                          claimJob                          //
    ////////////////////////////////////////////////////////////////

    /// @notice A device owner claims; the collateral is locked by the market.
    function test_claimJob_open_succeeds() public {
        JobId id = _post();
        DeviceId device = _register(solver, 2 * MIN_STAKE);
        vm.expectEmit(address(market));
        emit IJobMarket.JobClaimed(id, device, solver);
        vm.prank(solver);
        market.claimJob(id, device);

        IJobMarket.Job memory job = market.jobOf(id);
        assertEq(uint256(job.state), uint256(IJobMarket.JobState.Claimed), "state");
        vm.assertEq(job.solver, solver, "solver");
        assertEq(DeviceId.unwrap(job.device), DeviceId.unwrap(device), "device");
        assertEq(registry.lockedBy(device, address(market)), COLLATERAL, "locked");
        assertEq(registry.freeStake(device), 2 * MIN_STAKE - COLLATERAL, "free");
    }

    /// @notice Exactly at the claim deadline is still in time.
    function test_claimJob_atDeadline_succeeds() public {
        JobId id = _post();
        vm.warp(market.jobOf(id).claimDeadline);
        _claim(id);
        _assertState(id, IJobMarket.JobState.Claimed);
    }

    /// @notice Only an open job.
    function test_claimJob_notOpen_reverts() public {
        JobId id = _post();
        _claim(id);
        DeviceId other = _register(stranger, MIN_STAKE);
        vm.prank(stranger);
        _expectState(id, IJobMarket.JobState.Claimed, IJobMarket.JobState.Open);
        market.claimJob(id, other);
    }

    /// @notice Not after the claim deadline.
    function test_claimJob_deadlinePassed_reverts() public {
        JobId id = _post();
        uint64 deadline = market.jobOf(id).claimDeadline;
        DeviceId device = _register(solver, MIN_STAKE);
        vm.warp(deadline + 1);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.ClaimDeadlinePassed.selector, id, deadline));
        market.claimJob(id, device);
    }

    /// @notice Only with a device the caller owns.
    function test_claimJob_notDeviceOwner_reverts() public {
        JobId id = _post();
        DeviceId device = _register(solver, MIN_STAKE);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.DeviceNotOwnedByCaller.selector, device, stranger, solver));
        market.claimJob(id, device);
    }

    /// @notice An unknown device is refused by the registry.
    function test_claimJob_unknownDevice_reverts() public {
        JobId id = _post();
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceNotFound.selector, DeviceId.wrap(4)));
        market.claimJob(id, DeviceId.wrap(4));
    }

    /// @notice The device's free stake must cover the collateral.
    function test_claimJob_insufficientStake_reverts() public {
        IJobMarket.JobParams memory p = _params();
        p.collateral = MIN_STAKE + 1;
        JobId id = _post(p, REWARD);
        DeviceId device = _register(solver, MIN_STAKE);
        vm.prank(solver);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.InsufficientFreeStake.selector, device, MIN_STAKE + 1, MIN_STAKE)
        );
        market.claimJob(id, device);
    }

    /// @notice A device that unstaked everything cannot claim.
    function test_claimJob_inactiveDevice_reverts() public {
        JobId id = _post();
        DeviceId device = _register(solver, MIN_STAKE);
        vm.prank(solver);
        registry.requestUnstake(device, MIN_STAKE);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceNotActive.selector, device, 0, MIN_STAKE));
        market.claimJob(id, device);
    }

    /// @notice A claim succeeds exactly when the free stake covers the collateral.
    function testFuzz_claimJob_stakeVsCollateral_succeeds(uint256 _stake, uint128 _collateral) public {
        _stake = bound(_stake, MIN_STAKE, 100 ether);
        IJobMarket.JobParams memory p = _params();
        p.collateral = uint128(bound(_collateral, MIN_COLLATERAL, 200 ether));
        JobId id = _post(p, REWARD);
        DeviceId device = _register(solver, _stake);
        vm.prank(solver);
        if (p.collateral > _stake) {
            vm.expectRevert(
                abi.encodeWithSelector(IDeviceRegistry.InsufficientFreeStake.selector, device, p.collateral, _stake)
            );
        }
        market.claimJob(id, device);
        if (p.collateral <= _stake) assertEq(registry.stakeOf(device).locked, p.collateral, "locked");
    }

    ////////////////////////////////////////////////////////////////
    //                        submitResult                        //
    ////////////////////////////////////////////////////////////////

    /// @notice The solver submits; the challenge window starts.
    function test_submitResult_claimed_succeeds() public {
        JobId id = _post();
        _claim(id);
        uint64 deadline = uint64(block.timestamp) + WINDOW;
        vm.expectEmit(address(market));
        emit IJobMarket.ResultSubmitted(id, TRACE, OUTPUT, STEPS, deadline);
        vm.prank(solver);
        market.submitResult(id, TRACE, OUTPUT, STEPS);

        IJobMarket.Job memory job = market.jobOf(id);
        assertEq(uint256(job.state), uint256(IJobMarket.JobState.Submitted), "state");
        vm.assertEq(job.traceRoot, TRACE, "trace");
        vm.assertEq(job.outputRoot, OUTPUT, "output");
        assertEq(job.challengeDeadline, deadline, "challenge deadline");
    }

    /// @notice Exactly at the execution deadline is still in time.
    function test_submitResult_atDeadline_succeeds() public {
        JobId id = _post();
        _claim(id);
        vm.warp(market.jobOf(id).executionDeadline);
        vm.prank(solver);
        market.submitResult(id, TRACE, OUTPUT, STEPS);
        _assertState(id, IJobMarket.JobState.Submitted);
    }

    /// @notice Only a claimed job.
    function test_submitResult_notClaimed_reverts() public {
        JobId id = _post();
        vm.prank(solver);
        _expectState(id, IJobMarket.JobState.Open, IJobMarket.JobState.Claimed);
        market.submitResult(id, TRACE, OUTPUT, STEPS);
    }

    /// @notice Only the solver.
    function test_submitResult_notSolver_reverts() public {
        JobId id = _post();
        _claim(id);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotSolver.selector, id, stranger));
        market.submitResult(id, TRACE, OUTPUT, STEPS);
    }

    /// @notice Not after the execution deadline.
    function test_submitResult_deadlinePassed_reverts() public {
        JobId id = _post();
        _claim(id);
        uint64 deadline = market.jobOf(id).executionDeadline;
        vm.warp(deadline + 1);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.ExecutionDeadlinePassed.selector, id, deadline));
        market.submitResult(id, TRACE, OUTPUT, STEPS);
    }

    /// @notice Both roots must be set.
    function test_submitResult_zeroRoot_reverts() public {
        JobId id = _post();
        _claim(id);
        vm.startPrank(solver);
        vm.expectRevert(IJobMarket.ZeroHash.selector);
        market.submitResult(id, bytes32(0), OUTPUT, STEPS);
        vm.expectRevert(IJobMarket.ZeroHash.selector);
        market.submitResult(id, TRACE, bytes32(0), STEPS);
        vm.stopPrank();
    }

    /// @notice The step count is the job's.
    function test_submitResult_stepMismatch_reverts() public {
        JobId id = _post();
        _claim(id);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.StepCountMismatch.selector, id, STEPS, STEPS + 1));
        market.submitResult(id, TRACE, OUTPUT, STEPS + 1);
    }

    /// @notice A submission is accepted exactly until the execution deadline, and the
    ///         window is measured from it.
    function testFuzz_submitResult_timing_succeeds(uint256 _wait, bytes32 _trace, bytes32 _output) public {
        vm.assume(_trace != bytes32(0) && _output != bytes32(0));
        JobId id = _post();
        _claim(id);
        uint64 deadline = market.jobOf(id).executionDeadline;
        vm.warp(block.timestamp + bound(_wait, 0, 6 days));
        vm.prank(solver);
        if (_now() > deadline) {
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.ExecutionDeadlinePassed.selector, id, deadline));
            market.submitResult(id, _trace, _output, STEPS);
        } else {
            market.submitResult(id, _trace, _output, STEPS);
            assertEq(market.jobOf(id).challengeDeadline, block.timestamp + WINDOW, "window");
            vm.assertEq(market.jobOf(id).traceRoot, _trace, "trace");
        }
    }

    ////////////////////////////////////////////////////////////////
    //                         challenge                          //
    ////////////////////////////////////////////////////////////////

    /// @notice A challenge escrows the bond, opens a game with the right parameters and
    ///         approves it in the registry.
    function test_challenge_submitted_succeeds() public {
        (JobId id, DeviceId device) = _submitted();
        vm.expectEmit(address(market));
        emit IJobMarket.DisputeOpened(
            id, GameId.wrap(1), challenger, _nextGameAddress(), DeviceId.wrap(0), OTHER_TRACE, COLLATERAL
        );
        (GameId game, DisputeGameDouble double) = _challenge(id, challenger, COLLATERAL);

        assertEq(GameId.unwrap(game), 1, "id");
        assertEq(market.gameCount(), 1, "count");
        IJobMarket.Dispute memory dispute = market.disputeOf(game);
        vm.assertEq(dispute.game, address(double), "game address");
        assertEq(JobId.unwrap(dispute.job), JobId.unwrap(id), "job");
        assertEq(uint256(dispute.state), uint256(IJobMarket.DisputeState.Open), "state");
        vm.assertEq(dispute.challenger, challenger, "challenger");
        assertEq(dispute.bond, COLLATERAL, "bond");
        assertEq(market.jobOf(id).openDisputes, 1, "open");
        assertTrue(registry.isApprovedGame(address(double)), "approved");
        assertEq(address(market).balance, REWARD + COLLATERAL, "escrow");

        IDisputeGameFactory.DisputeParams memory p = double.allParams();
        assertEq(JobId.unwrap(p.job), JobId.unwrap(id), "p.job");
        assertEq(GameId.unwrap(p.game), 1, "p.game");
        assertEq(DeviceId.unwrap(p.solverDevice), DeviceId.unwrap(device), "p.solverDevice");
        assertEq(DeviceId.unwrap(p.challengerDevice), 0, "p.challengerDevice");
        vm.assertEq(p.solver, solver, "p.solver");
        vm.assertEq(p.challenger, challenger, "p.challenger");
        vm.assertEq(p.specHash, SPEC, "p.spec");
        vm.assertEq(p.inputHash, INPUT, "p.input");
        vm.assertEq(p.solverTraceRoot, TRACE, "p.trace");
        vm.assertEq(p.solverOutputRoot, OUTPUT, "p.output");
        vm.assertEq(p.challengerTraceRoot, OTHER_TRACE, "p.challengerTrace");
        assertEq(p.steps, STEPS, "p.steps");
        assertEq(p.bond, COLLATERAL, "p.bond");
        vm.assertEq(address(double.MARKET()), address(market), "reports to the market");
    }

    /// @notice A challenger may name its own device (for its reputation); several
    ///         challengers each get their own game; the last second of the window counts.
    function test_challenge_severalWithDevice_succeeds() public {
        (JobId id,) = _submitted();
        DeviceId watch = _register(challenger, MIN_STAKE);
        vm.prank(challenger);
        (GameId first,) = market.challenge{value: COLLATERAL}(id, watch, OTHER_TRACE);
        assertEq(DeviceId.unwrap(market.disputeOf(first).challengerDevice), DeviceId.unwrap(watch), "device");
        vm.warp(market.jobOf(id).challengeDeadline);
        (GameId second, DisputeGameDouble double) = _challenge(id, stranger, COLLATERAL);
        assertEq(GameId.unwrap(second), 2, "second id");
        assertEq(market.jobOf(id).openDisputes, 2, "open");
        assertTrue(market.disputeOf(first).game != address(double), "separate games");
    }

    /// @notice Only a submitted result.
    function test_challenge_notSubmitted_reverts() public {
        JobId id = _post();
        _claim(id);
        vm.prank(challenger);
        _expectState(id, IJobMarket.JobState.Claimed, IJobMarket.JobState.Submitted);
        market.challenge{value: COLLATERAL}(id, DeviceId.wrap(0), OTHER_TRACE);
    }

    /// @notice Not after the window.
    function test_challenge_windowClosed_reverts() public {
        (JobId id,) = _submitted();
        uint64 deadline = market.jobOf(id).challengeDeadline;
        vm.warp(deadline + 1);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.ChallengeWindowClosed.selector, id, deadline));
        market.challenge{value: COLLATERAL}(id, DeviceId.wrap(0), OTHER_TRACE);
    }

    /// @notice The bond is exactly the collateral.
    function test_challenge_wrongBond_reverts() public {
        (JobId id,) = _submitted();
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.WrongBond.selector, id, COLLATERAL - 1, COLLATERAL));
        market.challenge{value: COLLATERAL - 1}(id, DeviceId.wrap(0), OTHER_TRACE);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.WrongBond.selector, id, COLLATERAL + 1, COLLATERAL));
        market.challenge{value: COLLATERAL + 1}(id, DeviceId.wrap(0), OTHER_TRACE);
    }

    /// @notice The challenger commits a trace root.
    function test_challenge_zeroTraceRoot_reverts() public {
        (JobId id,) = _submitted();
        vm.prank(challenger);
        vm.expectRevert(IJobMarket.ZeroHash.selector);
        market.challenge{value: COLLATERAL}(id, DeviceId.wrap(0), bytes32(0));
    }

    /// @notice The solver's own trace root is a valid challenge (of the output root alone):
    ///         the game gets it as the challenger's trace root.
    function test_challenge_solversTraceRoot_succeeds() public {
        (JobId id,) = _submitted();
        vm.prank(challenger);
        (, address gameAddress) = market.challenge{value: COLLATERAL}(id, DeviceId.wrap(0), TRACE);
        IDisputeGameFactory.DisputeParams memory p = DisputeGameDouble(gameAddress).allParams();
        vm.assertEq(p.challengerTraceRoot, TRACE, "challenger's trace root");
        vm.assertEq(p.solverTraceRoot, TRACE, "solver's trace root");
        vm.assertEq(p.solverOutputRoot, OUTPUT, "solver's output root");
        assertEq(market.jobOf(id).openDisputes, 1, "open");
        _assertMarketConserved();
    }

    /// @notice Every non-zero trace root opens a game, the solver's own included; zero
    ///         never does.
    function testFuzz_challenge_traceRoot_succeeds(bytes32 _traceRoot, bool _solvers) public {
        (JobId id,) = _submitted();
        bytes32 root = _solvers ? TRACE : _traceRoot;
        vm.prank(challenger);
        if (root == bytes32(0)) {
            vm.expectRevert(IJobMarket.ZeroHash.selector);
            market.challenge{value: COLLATERAL}(id, DeviceId.wrap(0), root);
            assertEq(market.gameCount(), 0, "no game");
            return;
        }
        (, address gameAddress) = market.challenge{value: COLLATERAL}(id, DeviceId.wrap(0), root);
        vm.assertEq(DisputeGameDouble(gameAddress).allParams().challengerTraceRoot, root, "root passed on");
        assertEq(market.gameCount(), 1, "one game");
        _assertMarketConserved();
    }

    /// @notice A device cannot challenge its own result.
    function test_challenge_selfChallenge_reverts() public {
        (JobId id, DeviceId device) = _submitted();
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SelfChallenge.selector, id, device));
        market.challenge{value: COLLATERAL}(id, device, OTHER_TRACE);
    }

    /// @notice A named device must be the caller's, and exist.
    function test_challenge_badChallengerDevice_reverts() public {
        (JobId id,) = _submitted();
        DeviceId other = _register(stranger, MIN_STAKE);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.DeviceNotOwnedByCaller.selector, other, challenger, stranger));
        market.challenge{value: COLLATERAL}(id, other, OTHER_TRACE);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceNotFound.selector, DeviceId.wrap(8)));
        market.challenge{value: COLLATERAL}(id, DeviceId.wrap(8), OTHER_TRACE);
    }

    /// @notice A factory that returns no game is refused.
    function test_challenge_invalidGame_reverts() public {
        (JobId id,) = _submitted();
        factory.setMode(DisputeGameFactoryDouble.Mode.ReturnZero);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.InvalidGame.selector, address(0)));
        market.challenge{value: COLLATERAL}(id, DeviceId.wrap(0), OTHER_TRACE);
    }

    /// @notice A factory that returns the same game twice is refused (by the registry).
    function test_challenge_repeatedGame_reverts() public {
        (JobId id,) = _submitted();
        (, DisputeGameDouble double) = _challenge(id, challenger, COLLATERAL);
        factory.setMode(DisputeGameFactoryDouble.Mode.ReturnLast);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.GameAlreadyApproved.selector, address(double)));
        market.challenge{value: COLLATERAL}(id, DeviceId.wrap(0), OTHER_TRACE);
    }

    /// @notice The factory cannot re-enter the market while a game is being opened.
    function test_challenge_reentry_reverts() public {
        (JobId id,) = _submitted();
        factory.setMode(DisputeGameFactoryDouble.Mode.Reenter);
        vm.prank(challenger);
        vm.expectRevert(IJobMarket.Reentrancy.selector);
        market.challenge{value: COLLATERAL}(id, DeviceId.wrap(0), OTHER_TRACE);
    }

    /// @notice A challenge is accepted exactly within the window and with the exact bond.
    function testFuzz_challenge_bondAndTiming_succeeds(uint256 _bond, uint256 _wait) public {
        (JobId id,) = _submitted();
        _bond = bound(_bond, 0, 2 * COLLATERAL);
        vm.warp(block.timestamp + bound(_wait, 0, 2 * WINDOW));
        uint64 deadline = market.jobOf(id).challengeDeadline;
        vm.prank(challenger);
        if (_now() > deadline) {
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.ChallengeWindowClosed.selector, id, deadline));
        } else if (_bond != COLLATERAL) {
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.WrongBond.selector, id, _bond, COLLATERAL));
        }
        market.challenge{value: _bond}(id, DeviceId.wrap(0), OTHER_TRACE);
        _assertMarketConserved();
    }

    /// @dev The address of the factory's first game (its first CREATE, at nonce 1).
    function _nextGameAddress() internal view returns (address next_) {
        next_ = address(uint160(uint256(keccak256(abi.encodePacked(bytes2(0xd694), address(factory), bytes1(0x01))))));
    }

    ////////////////////////////////////////////////////////////////
    //                       resolveDispute                       //
    ////////////////////////////////////////////////////////////////

    /// @notice The solver wins: the bond is split between the solver and the submitter, the
    ///         collateral stays locked, reputation is recorded and the game revoked.
    function test_resolveDispute_solverWon_succeeds() public {
        (JobId id, DeviceId device) = _submitted();
        DeviceId watch = _register(challenger, MIN_STAKE);
        vm.prank(challenger);
        (GameId game, address gameAddress) = market.challenge{value: COLLATERAL}(id, watch, OTHER_TRACE);

        vm.expectEmit(address(market));
        emit IJobMarket.DisputeResolved(id, game, true, false);
        DisputeGameDouble(gameAddress).resolve(true);

        uint256 share = COLLATERAL / 2;
        assertEq(market.creditOf(solver), share, "solver share");
        assertEq(market.creditOf(submitter), COLLATERAL - share, "submitter rest");
        assertEq(market.creditOf(challenger), 0, "challenger lost its bond");
        assertEq(uint256(market.disputeOf(game).state), uint256(IJobMarket.DisputeState.SolverWon), "state");
        assertEq(market.jobOf(id).openDisputes, 0, "open");
        _assertState(id, IJobMarket.JobState.Submitted);
        assertEq(registry.lockedBy(device, address(market)), COLLATERAL, "collateral still locked");
        assertEq(registry.reputationOf(device).disputesWon, 1, "solver won");
        assertEq(registry.reputationOf(watch).disputesLost, 1, "challenger lost");
        assertTrue(!registry.isApprovedGame(gameAddress), "revoked");
        _assertMarketConserved();
    }

    /// @notice The challenger wins: the result is rejected, the reward and the bond go back,
    ///         the collateral is slashed half to the challenger and half to the submitter.
    function test_resolveDispute_challengerWon_succeeds() public {
        (JobId id, DeviceId device) = _submitted();
        DeviceId watch = _register(challenger, MIN_STAKE);
        vm.prank(challenger);
        (GameId game, address gameAddress) = market.challenge{value: COLLATERAL}(id, watch, OTHER_TRACE);

        vm.expectEmit(address(market));
        emit IJobMarket.DisputeResolved(id, game, false, false);
        vm.expectEmit(address(market));
        emit IJobMarket.JobRejected(id, game, device);
        DisputeGameDouble(gameAddress).resolve(false);

        uint256 share = COLLATERAL / 2;
        _assertState(id, IJobMarket.JobState.Rejected);
        assertEq(market.creditOf(challenger), COLLATERAL, "bond back");
        assertEq(market.creditOf(submitter), REWARD, "reward back");
        assertEq(market.creditOf(solver), 0, "solver unpaid");
        assertEq(registry.creditOf(challenger), share, "challenger share of the collateral");
        assertEq(registry.creditOf(submitter), COLLATERAL - share, "submitter rest of the collateral");
        IDeviceRegistry.Stake memory stake = registry.stakeOf(device);
        assertEq(stake.bonded, 2 * MIN_STAKE - COLLATERAL, "slashed");
        assertEq(stake.locked, 0, "nothing locked");
        IDeviceRegistry.Reputation memory rep = registry.reputationOf(device);
        assertEq(rep.disputesLost, 1, "solver lost");
        assertEq(rep.amountSlashed, COLLATERAL, "amount slashed");
        assertEq(registry.reputationOf(watch).disputesWon, 1, "challenger won");
        assertEq(uint256(market.disputeOf(game).state), uint256(IJobMarket.DisputeState.ChallengerWon), "state");
        assertTrue(!registry.isApprovedGame(gameAddress), "revoked");
        _assertMarketConserved();
    }

    /// @notice After a rejection the other games are moot: each returns its bond whatever it
    ///         reports, nothing more is slashed and no reputation is recorded.
    function test_resolveDispute_mootAfterRejection_succeeds() public {
        (JobId id, DeviceId device) = _submitted();
        (, DisputeGameDouble first) = _challenge(id, challenger, COLLATERAL);
        (GameId second, DisputeGameDouble secondGame) = _challenge(id, stranger, COLLATERAL);
        (, DisputeGameDouble third) = _challenge(id, stranger, COLLATERAL);
        first.resolve(false);

        vm.expectEmit(address(market));
        emit IJobMarket.DisputeResolved(id, second, true, true);
        secondGame.resolve(true);
        third.resolve(false);

        assertEq(market.creditOf(stranger), 2 * COLLATERAL, "both bonds back");
        assertEq(market.creditOf(solver), 0, "no share for the solver");
        assertEq(registry.reputationOf(device).disputesLost, 1, "one loss");
        assertEq(registry.reputationOf(device).disputesWon, 0, "no win");
        assertEq(registry.reputationOf(device).amountSlashed, COLLATERAL, "slashed once");
        assertEq(market.jobOf(id).openDisputes, 0, "all reported");
        _assertState(id, IJobMarket.JobState.Rejected);
        _assertMarketConserved();
    }

    /// @notice Unknown game ids are refused.
    function test_resolveDispute_unknownGame_reverts() public {
        (JobId id,) = _submitted();
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.GameNotFound.selector, GameId.wrap(1)));
        market.resolveDispute(id, GameId.wrap(1), true);
    }

    /// @notice Only the game itself reports (not another game, not a party).
    function test_resolveDispute_notGame_reverts() public {
        (JobId id,) = _submitted();
        (GameId game,) = _challenge(id, challenger, COLLATERAL);
        (, DisputeGameDouble other) = _challenge(id, stranger, COLLATERAL);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotGame.selector, game, challenger));
        market.resolveDispute(id, game, false);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotGame.selector, game, address(other)));
        other.resolveAs(id, game, false);
    }

    /// @notice The job given must be the game's.
    function test_resolveDispute_jobMismatch_reverts() public {
        (JobId id,) = _submitted();
        (GameId game, DisputeGameDouble double) = _challenge(id, challenger, COLLATERAL);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.GameJobMismatch.selector, game, id, JobId.wrap(JobId.unwrap(id) + 1))
        );
        double.resolveAs(JobId.wrap(JobId.unwrap(id) + 1), game, false);
    }

    /// @notice A game reports once.
    function test_resolveDispute_twice_reverts() public {
        (JobId id,) = _submitted();
        (GameId game, DisputeGameDouble double) = _challenge(id, challenger, COLLATERAL);
        double.resolve(true);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.DisputeAlreadyResolved.selector, game, IJobMarket.DisputeState.SolverWon)
        );
        double.resolve(false);
    }

    /// @notice With any number of games and outcomes, the money ends where the rules say:
    ///         one loss rejects and slashes once; otherwise every lost bond is split.
    function testFuzz_resolveDispute_outcomes_succeeds(uint8 _games, uint256 _outcomes) public {
        uint256 n = bound(_games, 1, 6);
        (JobId id, DeviceId device) = _submitted();
        DisputeGameDouble[] memory games = new DisputeGameDouble[](n);
        for (uint256 i; i < n; ++i) {
            (, games[i]) = _challenge(id, i % 2 == 0 ? challenger : stranger, COLLATERAL);
        }
        uint256 solverWins;
        bool rejected;
        uint256 bondsBack;
        for (uint256 i; i < n; ++i) {
            bool solverWon = (_outcomes >> i) & 1 == 1;
            games[i].resolve(solverWon);
            if (rejected) {
                bondsBack += COLLATERAL;
            } else if (solverWon) {
                ++solverWins;
            } else {
                rejected = true;
                bondsBack += COLLATERAL;
            }
        }
        uint256 share = COLLATERAL / 2;
        assertEq(market.creditOf(solver), solverWins * share, "solver shares");
        assertEq(market.creditOf(challenger) + market.creditOf(stranger), bondsBack, "bonds back to challengers");
        assertEq(market.creditOf(submitter), solverWins * (COLLATERAL - share) + (rejected ? REWARD : 0), "submitter");
        assertEq(registry.reputationOf(device).amountSlashed, rejected ? COLLATERAL : 0, "slashed at most once");
        assertEq(registry.reputationOf(device).disputesWon, solverWins, "wins");
        _assertState(id, rejected ? IJobMarket.JobState.Rejected : IJobMarket.JobState.Submitted);
        _assertMarketConserved();
    }

    ////////////////////////////////////////////////////////////////
    //                          finalize                          //
    ////////////////////////////////////////////////////////////////

    /// @notice After the window, with no dispute: the solver is credited the reward, the
    ///         collateral unlocked and the job counted.
    function test_finalize_afterWindow_succeeds() public {
        (JobId id, DeviceId device) = _submitted();
        vm.warp(market.jobOf(id).challengeDeadline + 1);
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(id, device, REWARD);
        vm.prank(stranger);
        market.finalize(id);

        _assertState(id, IJobMarket.JobState.Finalized);
        assertEq(market.creditOf(solver), REWARD, "reward");
        assertEq(registry.stakeOf(device).locked, 0, "unlocked");
        assertEq(registry.reputationOf(device).jobsCompleted, 1, "completed");
        _assertMarketConserved();
    }

    /// @notice After every game reported for the solver, the result is final too.
    function test_finalize_afterDefendedDisputes_succeeds() public {
        (JobId id, DeviceId device) = _submitted();
        (, DisputeGameDouble a) = _challenge(id, challenger, COLLATERAL);
        (, DisputeGameDouble b) = _challenge(id, stranger, COLLATERAL);
        a.resolve(true);
        b.resolve(true);
        vm.warp(market.jobOf(id).challengeDeadline + 1);
        market.finalize(id);
        assertEq(market.creditOf(solver), REWARD + COLLATERAL, "reward and two half bonds");
        assertEq(registry.stakeOf(device).locked, 0, "unlocked");
    }

    /// @notice Only a submitted result.
    function test_finalize_notSubmitted_reverts() public {
        JobId id = _post();
        _expectState(id, IJobMarket.JobState.Open, IJobMarket.JobState.Submitted);
        market.finalize(id);
    }

    /// @notice Not while the window is open (its last second included).
    function test_finalize_windowOpen_reverts() public {
        (JobId id,) = _submitted();
        uint64 deadline = market.jobOf(id).challengeDeadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.ChallengeWindowOpen.selector, id, deadline));
        market.finalize(id);
    }

    /// @notice Not while a game has not reported.
    function test_finalize_disputesOpen_reverts() public {
        (JobId id,) = _submitted();
        _challenge(id, challenger, COLLATERAL);
        vm.warp(market.jobOf(id).challengeDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.DisputesOpen.selector, id, 1));
        market.finalize(id);
    }

    /// @notice Not a rejected result.
    function test_finalize_rejected_reverts() public {
        (JobId id,) = _submitted();
        (, DisputeGameDouble double) = _challenge(id, challenger, COLLATERAL);
        double.resolve(false);
        vm.warp(market.jobOf(id).challengeDeadline + 1);
        _expectState(id, IJobMarket.JobState.Rejected, IJobMarket.JobState.Submitted);
        market.finalize(id);
    }

    /// @notice Finalization opens exactly after the window and pays exactly the reward.
    function testFuzz_finalize_timing_succeeds(uint256 _wait, uint256 _reward) public {
        _reward = bound(_reward, 1, 500 ether);
        JobId id = _post(_params(), _reward);
        _claim(id);
        vm.prank(solver);
        market.submitResult(id, TRACE, OUTPUT, STEPS);
        uint64 deadline = market.jobOf(id).challengeDeadline;
        vm.warp(block.timestamp + bound(_wait, 0, 2 * WINDOW));
        if (_now() <= deadline) {
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.ChallengeWindowOpen.selector, id, deadline));
            market.finalize(id);
        } else {
            market.finalize(id);
            assertEq(market.creditOf(solver), _reward, "reward");
        }
        _assertMarketConserved();
    }

    ////////////////////////////////////////////////////////////////
    //                         expireJob                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Anyone ends a job whose solver missed the deadline: the reward goes back
    ///         and the whole collateral is slashed to the submitter.
    function test_expireJob_missedDeadline_succeeds() public {
        JobId id = _post();
        DeviceId device = _claim(id);
        vm.warp(market.jobOf(id).executionDeadline + 1);
        vm.expectEmit(address(market));
        emit IJobMarket.JobExpired(id, device, COLLATERAL);
        vm.prank(stranger);
        market.expireJob(id);

        _assertState(id, IJobMarket.JobState.Expired);
        assertEq(market.creditOf(submitter), REWARD, "reward back");
        assertEq(registry.creditOf(submitter), COLLATERAL, "collateral to the submitter");
        assertEq(registry.stakeOf(device).bonded, 2 * MIN_STAKE - COLLATERAL, "slashed");
        assertEq(registry.stakeOf(device).locked, 0, "nothing locked");
        assertEq(registry.reputationOf(device).amountSlashed, COLLATERAL, "counted");
        _assertMarketConserved();
    }

    /// @notice The submitter can post the same job again afterwards.
    function test_expireJob_thenRepost_succeeds() public {
        JobId id = _post();
        _claim(id);
        vm.warp(market.jobOf(id).executionDeadline + 1);
        market.expireJob(id);
        JobId again = _post();
        vm.assertEq(market.jobOf(again).specHash, market.jobOf(id).specHash, "same spec");
        _assertState(again, IJobMarket.JobState.Open);
    }

    /// @notice Only a claimed job.
    function test_expireJob_notClaimed_reverts() public {
        (JobId id,) = _submitted();
        vm.warp(market.jobOf(id).executionDeadline + 1);
        _expectState(id, IJobMarket.JobState.Submitted, IJobMarket.JobState.Claimed);
        market.expireJob(id);
    }

    /// @notice Not before the deadline has passed (its last second included).
    function test_expireJob_deadlineNotPassed_reverts() public {
        JobId id = _post();
        _claim(id);
        uint64 deadline = market.jobOf(id).executionDeadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.ExecutionDeadlineNotPassed.selector, id, deadline));
        market.expireJob(id);
    }

    /// @notice Expiry opens exactly after the deadline and slashes exactly the collateral.
    function testFuzz_expireJob_timing_succeeds(uint256 _wait, uint128 _collateral) public {
        IJobMarket.JobParams memory p = _params();
        p.collateral = uint128(bound(_collateral, MIN_COLLATERAL, 2 * MIN_STAKE));
        JobId id = _post(p, REWARD);
        DeviceId device = _claim(id);
        vm.warp(block.timestamp + bound(_wait, 0, 6 days));
        if (_now() <= p.executionDeadline) {
            vm.expectRevert(
                abi.encodeWithSelector(IJobMarket.ExecutionDeadlineNotPassed.selector, id, p.executionDeadline)
            );
            market.expireJob(id);
        } else {
            market.expireJob(id);
            assertEq(registry.creditOf(submitter), p.collateral, "slashed to submitter");
            assertEq(registry.stakeOf(device).bonded, 2 * MIN_STAKE - p.collateral, "bonded");
        }
        _assertMarketConserved();
    }

    ////////////////////////////////////////////////////////////////
    //                       withdrawCredit                       //
    ////////////////////////////////////////////////////////////////

    /// @notice A credited account withdraws everything, with an event.
    function test_withdrawCredit_credited_succeeds() public {
        JobId id = _post();
        vm.prank(submitter);
        market.cancelJob(id);
        uint256 before = submitter.balance;
        vm.expectEmit(address(market));
        emit IJobMarket.CreditWithdrawn(submitter, REWARD);
        vm.prank(submitter);
        assertEq(market.withdrawCredit(), REWARD, "amount");
        assertEq(submitter.balance, before + REWARD, "paid");
        assertEq(market.creditOf(submitter), 0, "cleared");
        assertEq(address(market).balance, 0, "empty");
    }

    /// @notice No credit, nothing to withdraw.
    function test_withdrawCredit_noCredit_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NoCredit.selector, stranger));
        market.withdrawCredit();
    }

    /// @notice An account that refuses ETH keeps its credit.
    function test_withdrawCredit_transferFailed_reverts() public {
        EthRejecter rejecter = new EthRejecter();
        rejecter.forward{value: 1 ether}(address(market), abi.encodeCall(IJobMarket.postJob, (_params())));
        rejecter.forward(address(market), abi.encodeCall(IJobMarket.cancelJob, (JobId.wrap(1))));
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.TransferFailed.selector, address(rejecter), 1 ether));
        rejecter.forward(address(market), abi.encodeCall(IJobMarket.withdrawCredit, ()));
        assertEq(market.creditOf(address(rejecter)), 1 ether, "credit kept");
    }

    /// @notice The recipient's `receive` cannot re-enter to withdraw twice.
    function test_withdrawCredit_reentry_reverts() public {
        Reenterer reenterer = new Reenterer();
        reenterer.forward{value: 1 ether}(address(market), abi.encodeCall(IJobMarket.postJob, (_params())));
        reenterer.forward(address(market), abi.encodeCall(IJobMarket.cancelJob, (JobId.wrap(1))));
        _post(); // Another job's escrow that a second withdrawal would take.
        reenterer.setReentry(address(market), abi.encodeCall(IJobMarket.withdrawCredit, ()));
        reenterer.forward(address(market), abi.encodeCall(IJobMarket.withdrawCredit, ()));

        assertTrue(!reenterer.reentered(), "re-entry failed");
        vm.assertEq(
            keccak256(reenterer.reentryResult()),
            keccak256(abi.encodeWithSelector(IJobMarket.Reentrancy.selector)),
            "with Reentrancy"
        );
        assertEq(address(reenterer).balance, 1 ether, "paid once");
        assertEq(address(market).balance, REWARD, "other escrow intact");
    }

    /// @notice Credits from several sources add up and are paid exactly once.
    function testFuzz_withdrawCredit_accumulated_succeeds(uint8 _jobs, uint256 _reward) public {
        uint256 n = bound(_jobs, 1, 8);
        _reward = bound(_reward, 1, 50 ether);
        for (uint256 i; i < n; ++i) {
            JobId id = _post(_params(), _reward);
            vm.prank(submitter);
            market.cancelJob(id);
        }
        uint256 before = submitter.balance;
        vm.prank(submitter);
        market.withdrawCredit();
        assertEq(submitter.balance, before + n * _reward, "paid");
        assertEq(address(market).balance, 0, "empty");
    }

    ////////////////////////////////////////////////////////////////
    //                           VIEWS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice Unknown jobs and games are refused by the views.
    function test_views_unknown_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobNotFound.selector, JobId.wrap(1)));
        market.jobOf(JobId.wrap(1));
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.GameNotFound.selector, GameId.wrap(1)));
        market.disputeOf(GameId.wrap(1));
    }

    ////////////////////////////////////////////////////////////////
    //                         LIFECYCLES                         //
    ////////////////////////////////////////////////////////////////

    /// @notice The honest path, end to end: every wei leaves both contracts.
    function test_lifecycle_honest_succeeds() public {
        (JobId id, DeviceId device) = _submitted();
        vm.warp(market.jobOf(id).challengeDeadline + 1);
        market.finalize(id);
        vm.prank(solver);
        market.withdrawCredit();
        vm.prank(solver);
        registry.requestUnstake(device, 2 * MIN_STAKE);
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(solver);
        registry.withdrawStake(device);
        assertEq(address(market).balance, 0, "market empty");
        assertEq(address(registry).balance, 0, "registry empty");
    }

    /// @notice A lying solver loses: every wei still leaves both contracts, and the liar is
    ///         down its collateral while the challenger is up half of it.
    function test_lifecycle_lyingSolver_succeeds() public {
        (JobId id, DeviceId device) = _submitted();
        uint256 challengerBefore = challenger.balance;
        (, DisputeGameDouble double) = _challenge(id, challenger, COLLATERAL);
        double.resolve(false);
        vm.prank(challenger);
        market.withdrawCredit();
        vm.prank(challenger);
        registry.withdrawCredit();
        vm.prank(submitter);
        market.withdrawCredit();
        vm.prank(submitter);
        registry.withdrawCredit();
        vm.prank(solver);
        registry.requestUnstake(device, 2 * MIN_STAKE - COLLATERAL);
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(solver);
        registry.withdrawStake(device);

        assertEq(challenger.balance, challengerBefore + COLLATERAL / 2, "challenger earns half");
        assertEq(address(market).balance, 0, "market empty");
        assertEq(address(registry).balance, 0, "registry empty");
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../../src/interfaces/IDeviceRegistry.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {DeviceId, GameId, JobId} from "../../src/interfaces/Types.sol";
import {JobMarket} from "../../src/market/JobMarket.sol";
import {DeviceRegistry} from "../../src/registry/DeviceRegistry.sol";
import {console} from "../lib/Test.sol";
import {DisputeGameFactoryDouble} from "../market/DisputeGameDouble.sol";
import {InvariantTest} from "./InvariantTest.sol";
import {MarketHandler} from "./MarketHandler.sol";

/// @title EscrowInvariants
/// @notice Invariants of the registry and the market under random sequences of every
///         action their users and dispute games can take (MarketHandler). Each is checked
///         after every call; `afterInvariant` then ends every game and job, withdraws
///         everything, and checks that no wei is left behind.
/// @dev The handler never makes a call whose preconditions fail, so any revert is a bug:
///      the suite runs with `fail-on-revert`.
///      CI runs 48 sequences of 128 calls per invariant (instead of the ci profile's 256):
///      five campaigns of those take about 40 s on the 2-core CI machine.
/// forge-config: default.invariant.fail-on-revert = true
/// forge-config: ci.invariant.fail-on-revert = true
/// forge-config: ci.invariant.runs = 48
contract EscrowInvariants is InvariantTest {
    DeviceRegistry internal registry;
    DisputeGameFactoryDouble internal factory;
    JobMarket internal market;
    MarketHandler internal handler;

    /// @notice Deploys the contracts and points forge at the handler's actions.
    function setUp() public {
        vm.warp(1_700_000_000);
        registry = new DeviceRegistry(1 ether, 7 days);
        factory = new DisputeGameFactoryDouble();
        market = new JobMarket(registry, factory, 0.1 ether, 1 hours, 30 days);
        registry.setMarket(address(market));
        handler = new MarketHandler(registry, market);

        bytes4[] memory selectors = new bytes4[](17);
        selectors[0] = MarketHandler.register.selector;
        selectors[1] = MarketHandler.addStake.selector;
        selectors[2] = MarketHandler.requestUnstake.selector;
        selectors[3] = MarketHandler.withdrawStake.selector;
        selectors[4] = MarketHandler.postJob.selector;
        selectors[5] = MarketHandler.cancelJob.selector;
        selectors[6] = MarketHandler.claimJob.selector;
        selectors[7] = MarketHandler.submitResult.selector;
        selectors[8] = MarketHandler.challenge.selector;
        selectors[9] = MarketHandler.resolve.selector;
        selectors[10] = MarketHandler.finalize.selector;
        selectors[11] = MarketHandler.expireJob.selector;
        selectors[12] = MarketHandler.withdrawMarketCredit.selector;
        selectors[13] = MarketHandler.withdrawRegistryCredit.selector;
        selectors[14] = MarketHandler.warp.selector;
        selectors[15] = MarketHandler.gameLock.selector;
        selectors[16] = MarketHandler.gameRelease.selector;
        _targetContract(address(handler));
        _targetSelector(address(handler), selectors);
    }

    ////////////////////////////////////////////////////////////////
    //                         INVARIANTS                         //
    ////////////////////////////////////////////////////////////////

    /// @notice Escrow conservation, registry: its balance is exactly what it owes, the
    ///         bonded and unbonding stake of every device plus every credit.
    function invariant_registryBalanceEqualsClaims() public view {
        uint256 claims;
        for (uint256 j; j < handler.deviceCount(); ++j) {
            IDeviceRegistry.Stake memory stake = registry.stakeOf(handler.devices(j));
            claims += uint256(stake.bonded) + stake.unbonding;
        }
        for (uint256 i; i < handler.actorCount(); ++i) {
            claims += registry.creditOf(handler.actors(i));
        }
        assertEq(address(registry).balance, claims, "registry balance == stake + credits");
        assertEq(
            address(registry).balance,
            handler.ghostRegistryIn() - handler.ghostRegistryOut(),
            "registry balance == wei in - wei out"
        );
    }

    /// @notice Escrow conservation, market: its balance is exactly what it owes, the reward
    ///         of every job not yet ended, the bond of every game not yet reported, and
    ///         every credit.
    function invariant_marketBalanceEqualsClaims() public view {
        uint256 claims;
        for (uint64 j = 1; j <= market.jobCount(); ++j) {
            IJobMarket.Job memory job = market.jobOf(JobId.wrap(j));
            if (
                job.state == IJobMarket.JobState.Open || job.state == IJobMarket.JobState.Claimed
                    || job.state == IJobMarket.JobState.Submitted
            ) claims += job.reward;
        }
        for (uint64 g = 1; g <= market.gameCount(); ++g) {
            IJobMarket.Dispute memory dispute = market.disputeOf(GameId.wrap(g));
            if (dispute.state == IJobMarket.DisputeState.Open) claims += dispute.bond;
        }
        for (uint256 i; i < handler.actorCount(); ++i) {
            claims += market.creditOf(handler.actors(i));
        }
        assertEq(address(market).balance, claims, "market balance == rewards + bonds + credits");
        assertEq(
            address(market).balance,
            handler.ghostMarketIn() - handler.ghostMarketOut(),
            "market balance == wei in - wei out"
        );
    }

    /// @notice Locks are consistent: a device's locked stake never exceeds its bonded
    ///         stake (so stake never goes negative), it is exactly the sum of its lockers'
    ///         locks, and the market's lock is exactly the collateral of the device's jobs
    ///         that are claimed or submitted.
    function invariant_locksMatchJobs() public view {
        // The handler registers every device, so ids are 1..deviceCount.
        uint256 devices = handler.deviceCount();
        uint256[] memory collateral = new uint256[](devices + 1);
        for (uint64 j = 1; j <= market.jobCount(); ++j) {
            IJobMarket.Job memory job = market.jobOf(JobId.wrap(j));
            if (job.state == IJobMarket.JobState.Claimed || job.state == IJobMarket.JobState.Submitted) {
                collateral[DeviceId.unwrap(job.device)] += job.collateral;
            }
        }
        for (uint256 d = 1; d <= devices; ++d) {
            DeviceId device = handler.devices(d - 1);
            IDeviceRegistry.Stake memory stake = registry.stakeOf(device);
            assertTrue(stake.locked <= stake.bonded, "locked <= bonded");
            uint256 marketLock = registry.lockedBy(device, address(market));
            assertEq(marketLock, collateral[d], "market lock == collateral of live jobs");
            uint256 gameLocks;
            for (uint64 g = 1; g <= market.gameCount(); ++g) {
                gameLocks += registry.lockedBy(device, market.disputeOf(GameId.wrap(g)).game);
            }
            assertEq(stake.locked, marketLock + gameLocks, "locked == sum of lockers' locks");
        }
    }

    /// @notice Nothing is slashed twice or without cause: each device's slashed total is
    ///         exactly what the rules call for (the collateral of each of its jobs that
    ///         expired or lost a dispute, once, plus what games slashed from their own locks),
    ///         and its stake is exactly what went in, less what came out and was slashed.
    function invariant_slashedExactlyOnce() public view {
        for (uint256 d; d < handler.deviceCount(); ++d) {
            DeviceId device = handler.devices(d);
            uint256 slashed = registry.reputationOf(device).amountSlashed;
            assertEq(slashed, handler.ghostSlashed(device), "slashed == what the rules call for");
            IDeviceRegistry.Stake memory stake = registry.stakeOf(device);
            assertEq(
                uint256(stake.bonded) + stake.unbonding,
                handler.ghostDeviceIn(device) - handler.ghostDeviceOut(device) - slashed,
                "stake == in - out - slashed"
            );
        }
    }

    /// @notice Every job's open-dispute count is the number of its games that have not
    ///         reported; a job can only be final-for-the-solver with none open; a game is
    ///         approved in the registry exactly while it runs.
    function invariant_disputesTracked() public view {
        uint64 jobs = market.jobCount();
        uint256[] memory open = new uint256[](jobs + 1);
        for (uint64 g = 1; g <= market.gameCount(); ++g) {
            IJobMarket.Dispute memory dispute = market.disputeOf(GameId.wrap(g));
            bool running = dispute.state == IJobMarket.DisputeState.Open;
            if (running) ++open[JobId.unwrap(dispute.job)];
            vm.assertEq(registry.isApprovedGame(dispute.game), running, "approved while running");
        }
        for (uint64 j = 1; j <= jobs; ++j) {
            IJobMarket.Job memory job = market.jobOf(JobId.wrap(j));
            assertEq(job.openDisputes, open[j], "open disputes counted");
            if (job.state != IJobMarket.JobState.Submitted && job.state != IJobMarket.JobState.Rejected) {
                assertEq(job.openDisputes, 0, "disputes only on a submitted or rejected result");
            }
        }
    }

    /// @notice No wei stuck: after every game reports and every job ends, once everyone
    ///         withdraws, both contracts hold nothing and the actors hold exactly the ETH
    ///         they started with (none created, none lost).
    function afterInvariant() public {
        handler.drain(uint256(keccak256(abi.encode(block.timestamp, market.jobCount()))));
        assertEq(address(market).balance, 0, "market drained");
        assertEq(address(registry).balance, 0, "registry drained");
        assertEq(handler.actorBalance(), handler.initialActorBalance(), "actors whole");
        invariant_slashedExactlyOnce();
        _logCalls();
    }

    /// @dev Prints how often each action did something (shown with `-vv`).
    function _logCalls() internal view {
        string[18] memory names = [
            "register",
            "addStake",
            "requestUnstake",
            "withdrawStake",
            "postJob",
            "cancelJob",
            "claimJob",
            "submitResult",
            "challenge",
            "resolve",
            "finalize",
            "expireJob",
            "withdrawMarketCredit",
            "withdrawRegistryCredit",
            "warp",
            "gameLock",
            "gameSlash",
            "gameUnlock"
        ];
        for (uint256 i; i < 18; ++i) {
            console.log(names[i], handler.calls(names[i]));
        }
    }
}

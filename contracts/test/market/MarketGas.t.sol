// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../../src/interfaces/IDeviceRegistry.sol";
import {IDisputeGameFactory} from "../../src/interfaces/IDisputeGameFactory.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {DeviceId, GameId, JobId} from "../../src/interfaces/Types.sol";
import {DeviceRegistry} from "../../src/registry/DeviceRegistry.sol";
import {DisputeGameDouble} from "./DisputeGameDouble.sol";
import {MarketFixture} from "./MarketFixture.sol";

/// @title MarketGasTest
/// @notice The registry's and the market's external functions, each called on its
///         ordinary successful path, for the gas figures in docs/benchmarks.md
///         ("Contracts: registry and market gas"). Run with `--isolate` so that every call
///         is its own transaction (cold storage, as on a chain):
///         `forge test --mc MarketGasTest --isolate --gas-report`.
contract MarketGasTest is MarketFixture {
    /// @notice A device's life: register, metadata, top-up, unstake, withdraw, and the
    ///         deployer's `setMarket` on a fresh registry.
    function test_gas_registry_succeeds() public {
        DeviceId device = _register(solver, 2 * MIN_STAKE);
        vm.prank(solver);
        registry.updateMetadata(device, _metadata("renamed"));
        vm.prank(solver);
        registry.addStake{value: 1 ether}(device);
        vm.prank(solver);
        registry.requestUnstake(device, 1 ether);
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(solver);
        registry.withdrawStake(device);

        DeviceRegistry fresh = new DeviceRegistry(MIN_STAKE, UNBONDING);
        fresh.setMarket(address(market));
    }

    /// @notice The honest path: post, claim, submit, finalize, withdraw the reward.
    function test_gas_honestJob_succeeds() public {
        JobId job = _post();
        _claim(job);
        vm.prank(solver);
        market.submitResult(job, TRACE, OUTPUT, STEPS);
        vm.warp(block.timestamp + WINDOW + 1);
        market.finalize(job);
        vm.prank(solver);
        market.withdrawCredit();
    }

    /// @notice A job cancelled before any claim, and one whose solver missed its deadline
    ///         (the submitter then withdraws the slashed collateral from the registry).
    function test_gas_cancelAndExpire_succeeds() public {
        JobId cancelled = _post();
        vm.prank(submitter);
        market.cancelJob(cancelled);

        JobId expired = _post();
        _claim(expired);
        vm.warp(block.timestamp + 3 days + 1);
        market.expireJob(expired);
        vm.prank(submitter);
        registry.withdrawCredit();
    }

    /// @notice Disputes: two challenges on one result; the first game reports for the
    ///         solver (bond split), the second for the challenger (result rejected,
    ///         collateral slashed), and a third, moot, returns its bond.
    function test_gas_disputes_succeeds() public {
        (JobId job,) = _submitted();
        DeviceId watch = _register(challenger, MIN_STAKE);
        vm.prank(challenger);
        (, address first) = market.challenge{value: COLLATERAL}(job, watch, OTHER_TRACE);
        (, DisputeGameDouble second) = _challenge(job, stranger, COLLATERAL);
        (, DisputeGameDouble third) = _challenge(job, stranger, COLLATERAL);
        DisputeGameDouble(first).resolve(true);
        second.resolve(false);
        third.resolve(true);
        vm.prank(stranger);
        market.withdrawCredit();
    }

    /// @notice An approved game's own lock, unlock and slash.
    function test_gas_gamePowers_succeeds() public {
        (JobId job, DeviceId device) = _submitted();
        (, DisputeGameDouble game) = _challenge(job, challenger, COLLATERAL);
        game.lock(IDeviceRegistry(address(registry)), device, 0.2 ether);
        game.unlock(IDeviceRegistry(address(registry)), device, 0.1 ether);
        game.slash(IDeviceRegistry(address(registry)), device, 0.1 ether, challenger);
    }

    /// @notice The market's own cost of `challenge` (the factory returns a game built
    ///         beforehand, so the figure leaves out the game's deployment), and
    ///         `resolveDispute` called by the game as a transaction of its own, for each
    ///         outcome.
    function test_gas_marketDisputeShare_succeeds() public {
        (JobId job, DeviceId device) = _submitted();
        address[3] memory games;
        for (uint256 i; i < 3; ++i) {
            IDisputeGameFactory.DisputeParams memory p;
            p.job = job;
            p.game = GameId.wrap(uint64(i + 1));
            p.solverDevice = device;
            factory.prebuild(market, p);
            vm.prank(stranger);
            (, games[i]) = market.challenge{value: COLLATERAL}(job, DeviceId.wrap(0), OTHER_TRACE);
        }
        vm.prank(games[0]);
        market.resolveDispute(job, GameId.wrap(1), true);
        vm.prank(games[1]);
        market.resolveDispute(job, GameId.wrap(2), false);
        vm.prank(games[2]);
        market.resolveDispute(job, GameId.wrap(3), true);
        assertEq(uint256(market.jobOf(job).state), uint256(IJobMarket.JobState.Rejected), "rejected");
    }

    /// @notice The registry's market-only functions as transactions of their own.
    function test_gas_registryMarketCalls_succeeds() public {
        DeviceId device = _register(solver, 2 * MIN_STAKE);
        vm.startPrank(address(market));
        registry.approveGame(stranger);
        registry.lock(device, COLLATERAL);
        registry.unlock(device, COLLATERAL / 2);
        registry.slash(device, COLLATERAL / 2, challenger);
        registry.recordJobCompleted(device);
        registry.recordDispute(device, true);
        registry.revokeGame(stranger);
        vm.stopPrank();
    }
}

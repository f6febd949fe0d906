// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DisputeGame} from "../../src/game/DisputeGame.sol";
import {DisputeGameFactory} from "../../src/game/DisputeGameFactory.sol";
import {OpKind, Party, Phase} from "../../src/game/GameTypes.sol";
import {IDeviceRegistry} from "../../src/interfaces/IDeviceRegistry.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {DeviceId, GameId, JobId} from "../../src/interfaces/Types.sol";
import {JobMarket} from "../../src/market/JobMarket.sol";
import {DeviceRegistry} from "../../src/registry/DeviceRegistry.sol";
import {GameFixture} from "./GameFixture.sol";

/// @title DisputeGameMarketTest
/// @notice End to end with the real DeviceRegistry and JobMarket: a job is posted with its
///         program, claimed, answered, challenged; the market opens the game through the
///         factory, the game is played to the end and reports, and the market settles.
contract DisputeGameMarketTest is GameFixture {
    DeviceRegistry internal registry;
    DisputeGameFactory internal realFactory;
    JobMarket internal jobMarket;

    uint128 internal constant COLLATERAL = 0.5 ether;

    /// @notice Deploys and wires registry, factory and market; funds the actors.
    function setUp() public override {
        super.setUp();
        registry = new DeviceRegistry(1 ether, 7 days);
        realFactory = new DisputeGameFactory(CLOCK, replayer, gameDeployer);
        jobMarket = new JobMarket(registry, realFactory, 0.1 ether, 1 hours, 30 days);
        registry.setMarket(address(jobMarket));
        realFactory.setMarket(address(jobMarket));
        vm.deal(submitter, 100 ether);
        vm.deal(solver, 100 ether);
        vm.deal(challenger, 100 ether);
    }

    /// @notice An honest challenger rejects a wrong result through the whole protocol.
    function test_endToEnd_challengerWins_succeeds() public {
        (JobId job, GameId id, DisputeGame game) = _dispute(Party.Challenger, OpKind.ADD_BIAS);
        _playOut(game, Party.Challenger);
        assertTrue(game.phase() == Phase.Resolved && !game.solverWon(), "challenger won");
        assertTrue(jobMarket.disputeOf(id).state == IJobMarket.DisputeState.ChallengerWon, "market recorded it");
        assertTrue(jobMarket.jobOf(job).state == IJobMarket.JobState.Rejected, "result rejected");
        assertTrue(!registry.isApprovedGame(address(game)), "game revoked");
        assertTrue(jobMarket.creditOf(challenger) >= COLLATERAL, "bond back");
    }

    /// @notice An honest solver defeats a lying challenger; the result can be finalized.
    function test_endToEnd_solverWins_succeeds() public {
        (JobId job, GameId id, DisputeGame game) = _dispute(Party.Solver, OpKind.SGD);
        _playOut(game, Party.Solver);
        assertTrue(game.phase() == Phase.Resolved && game.solverWon(), "solver won");
        assertTrue(jobMarket.disputeOf(id).state == IJobMarket.DisputeState.SolverWon, "market recorded it");
        vm.warp(block.timestamp + 2 days);
        jobMarket.finalize(job);
        assertTrue(jobMarket.jobOf(job).state == IJobMarket.JobState.Finalized, "finalized");
    }

    /// @dev Posts, binds, claims, answers (from the side that is not `_honest`'s opponent)
    ///      and challenges a job whose op J is `_kind`.
    function _dispute(Party _honest, uint8 _kind) internal returns (JobId job_, GameId id_, DisputeGame game_) {
        jKind = _kind;
        _build(8, 4, 3, 2, Lie.Element, 700);
        honestSide = _honest;
        vm.prank(solver);
        DeviceId sd = registry.register{value: 2 ether}(_meta("solver"));
        vm.prank(challenger);
        DeviceId cd = registry.register{value: 2 ether}(_meta("watchtower"));
        vm.prank(submitter);
        job_ = jobMarket.postJob{value: 1 ether}(
            IJobMarket.JobParams({
                specHash: keccak256("spec"),
                inputHash: keccak256("inputs"),
                claimDeadline: uint64(block.timestamp + 1 days),
                executionDeadline: uint64(block.timestamp + 2 days),
                challengeWindow: 1 days,
                steps: N,
                collateral: COLLATERAL
            })
        );
        vm.prank(submitter);
        realFactory.registerProgram(job_, _program());
        vm.prank(solver);
        jobMarket.claimJob(job_, sd);
        Trace storage s = _honest == Party.Solver ? truth : lie;
        Trace storage c = _honest == Party.Solver ? lie : truth;
        vm.prank(solver);
        jobMarket.submitResult(job_, s.traceRoot, s.post, N);
        vm.prank(challenger);
        address gameAddress;
        (id_, gameAddress) = jobMarket.challenge{value: COLLATERAL}(job_, cd, c.traceRoot);
        game_ = DisputeGame(gameAddress);
        assertTrue(registry.isApprovedGame(gameAddress), "approved while it runs");
        assertTrue(game_.BOUND(), "bound to the program");
    }

    /// @dev Device metadata.
    function _meta(string memory _name) internal pure returns (IDeviceRegistry.Metadata memory m_) {
        m_ = IDeviceRegistry.Metadata({
            name: _name, backend: "cpu", hardwareClass: "test", endpoint: "http://127.0.0.1"
        });
    }
}

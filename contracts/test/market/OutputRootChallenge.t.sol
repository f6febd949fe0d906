// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DisputeGame} from "../../src/game/DisputeGame.sol";
import {DisputeGameFactory} from "../../src/game/DisputeGameFactory.sol";
import {Outcome, Party, Phase} from "../../src/game/GameTypes.sol";
import {IDisputeGame} from "../../src/game/IDisputeGame.sol";
import {IDeviceRegistry} from "../../src/interfaces/IDeviceRegistry.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {DeviceId, GameId, JobId} from "../../src/interfaces/Types.sol";
import {JobMarket} from "../../src/market/JobMarket.sol";
import {DeviceRegistry} from "../../src/registry/DeviceRegistry.sol";
import {GameFixture} from "../game/GameFixture.sol";

/// @title OutputRootChallengeTest
/// @notice A challenge of the output root alone, through the real market, registry,
///         factory and game on real Merkle trees: the challenger commits the solver's own
///         trace root. Every checkpoint agrees, so the bisection only moves `lo` up, and at
///         `StepCommit` the solver must open `h_N` from its trace root and show that it is
///         its output root. A wrong output root cannot be shown (the solver loses on time
///         and is slashed); a right one ends the game for the solver (`NoDisagreement`) and
///         the challenger loses its bond. Amounts: docs/contracts.md, "Amounts and shares".
contract OutputRootChallengeTest is GameFixture {
    DeviceRegistry internal registry;
    DisputeGameFactory internal realFactory;
    JobMarket internal jobMarket;

    /// @dev Collateral and bond; odd, so that the winner's share is rounded down.
    uint128 internal constant COLLATERAL = 0.5 ether + 1;
    /// @dev Half of it, rounded down, and the rest.
    uint256 internal constant SHARE = COLLATERAL / 2;
    uint256 internal constant REST = COLLATERAL - SHARE;
    uint256 internal constant REWARD = 1 ether;
    uint256 internal constant SOLVER_STAKE = 2 ether;
    uint64 internal constant WINDOW = 1 days;

    DeviceId internal solverDevice;
    DeviceId internal challengerDevice;

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

    ////////////////////////////////////////////////////////////////
    //                           TESTS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice An honest trace with a wrong output root: the bisection agrees at every
    ///         checkpoint, the solver cannot commit the last step, loses on time, and the
    ///         market rejects the result and slashes it as for any lost game.
    function test_challenge_wrongOutputRootLosesOnTime_succeeds() public {
        _build(8, 4, 7, 2, Lie.Element, 700);
        bytes32 wrong = lie.post;
        (JobId job, GameId id, DisputeGame game) = _openOutputDispute(wrong);

        uint256 rounds = _bisect(game);
        assertEq(rounds, 3, "log2(8) checkpoint rounds");
        _assertAtLastStep(game);

        // The solver cannot open h_N as its output root: its own trace says otherwise.
        vm.prank(solver);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputeGame.RootMismatch.selector, bytes32("output"), wrong, truth.post)
        );
        _commitStep(game);
        // The challenger can, and does; the solver's clock runs out.
        vm.prank(challenger);
        _commitStep(game);
        vm.warp(block.timestamp + CLOCK + 1);
        game.timeout();

        assertTrue(game.phase() == Phase.Resolved && !game.solverWon(), "challenger won");
        assertEq(uint256(game.outcome()), uint256(Outcome.Timeout), "on time");
        _assertSolverSlashed(job, id);
    }

    /// @notice An honest result challenged with its own trace root: both open the same
    ///         `h_N`, which is the output root, so the solver wins (`NoDisagreement`) and
    ///         the challenger's bond is split; the result is finalized after the window.
    function test_challenge_honestOutputRootWins_succeeds() public {
        _build(8, 4, 7, 2, Lie.Element, 700);
        (JobId job, GameId id, DisputeGame game) = _openOutputDispute(truth.post);

        _bisect(game);
        _assertAtLastStep(game);
        vm.prank(solver);
        _commitStep(game);
        vm.prank(challenger);
        _commitStep(game);

        assertTrue(game.phase() == Phase.Resolved && game.solverWon(), "solver won");
        assertEq(uint256(game.outcome()), uint256(Outcome.NoDisagreement), "no disagreement");
        _assertChallengerLost(job, id);
    }

    /// @notice Over trace lengths (one step included, where the game starts at the step
    ///         commit) and output roots: a challenge with the solver's trace root is
    ///         decided by the output root alone.
    /// forge-config: default.fuzz.runs = 48
    /// forge-config: ci.fuzz.runs = 128
    function testFuzz_challenge_outputRootOnly_succeeds(uint64 _steps, bytes32 _output, bool _honest) public {
        uint64 n = uint64(bound(_steps, 1, 40));
        _build(n, 4, n - 1, 2, Lie.Element, 700);
        bytes32 output = _honest || _output == bytes32(0) ? truth.post : _output;
        (JobId job, GameId id, DisputeGame game) = _openOutputDispute(output);

        _bisect(game);
        _assertAtLastStep(game);
        vm.prank(challenger);
        _commitStep(game);
        vm.prank(solver);
        (bool committed,) = address(game).call(_commitStepData());
        vm.assertEq(committed, output == truth.post, "the solver commits iff its output root is h_N");
        if (!committed) {
            vm.warp(block.timestamp + CLOCK + 1);
            game.timeout();
            _assertSolverSlashed(job, id);
        } else {
            assertEq(uint256(game.outcome()), uint256(Outcome.NoDisagreement), "no disagreement");
            _assertChallengerLost(job, id);
        }
    }

    ////////////////////////////////////////////////////////////////
    //                          HELPERS                           //
    ////////////////////////////////////////////////////////////////

    /// @dev Posts and binds the world's job, lets the solver claim it and submit the honest
    ///      trace root with `_output`, and the challenger challenge with the same trace root.
    function _openOutputDispute(bytes32 _output) internal returns (JobId job_, GameId id_, DisputeGame game_) {
        vm.prank(solver);
        solverDevice = registry.register{value: SOLVER_STAKE}(_meta("solver"));
        vm.prank(challenger);
        challengerDevice = registry.register{value: 1 ether}(_meta("watchtower"));
        vm.prank(submitter);
        job_ = jobMarket.postJob{value: REWARD}(
            IJobMarket.JobParams({
                specHash: keccak256("spec"),
                inputHash: keccak256("inputs"),
                claimDeadline: uint64(block.timestamp + 1 days),
                executionDeadline: uint64(block.timestamp + 2 days),
                challengeWindow: WINDOW,
                steps: N,
                collateral: COLLATERAL
            })
        );
        vm.prank(submitter);
        realFactory.registerProgram(job_, _program());
        vm.prank(solver);
        jobMarket.claimJob(job_, solverDevice);
        vm.prank(solver);
        jobMarket.submitResult(job_, truth.traceRoot, _output, N);
        vm.prank(challenger);
        address gameAddress;
        (id_, gameAddress) = jobMarket.challenge{value: COLLATERAL}(job_, challengerDevice, truth.traceRoot);
        game_ = DisputeGame(gameAddress);
        vm.assertEq(game_.SOLVER_TRACE_ROOT(), game_.CHALLENGER_TRACE_ROOT(), "same trace roots");
        vm.assertEq(game_.SOLVER_OUTPUT_ROOT(), _output, "the submitted output root");
    }

    /// @dev Plays the checkpoint bisection with both sides on the honest trace: every round
    ///      agrees, so `lo` moves up to `mid` and `hi` stays `N`. Returns the rounds played.
    function _bisect(DisputeGame _game) internal returns (uint256 rounds_) {
        while (_game.phase() == Phase.Checkpoints) {
            uint64 mid = _game.lo() + (_game.hi() - _game.lo()) / 2;
            vm.warp(block.timestamp + 1 hours);
            assertTrue(_tryMove(_game, Party.Challenger, truth), "challenger reveals");
            assertTrue(_tryMove(_game, Party.Solver, truth), "solver reveals");
            assertEq(_game.lo(), mid, "agreed: lo = mid");
            assertEq(_game.hi(), N, "hi stays at N");
            vm.assertEq(_game.agreed(), mid <= D ? memA : truth.post, "agreed h_mid");
            ++rounds_;
        }
    }

    /// @dev The bisection ended at the last step without ever revealing `h_N`.
    function _assertAtLastStep(DisputeGame _game) internal view {
        assertTrue(_game.phase() == Phase.StepCommit, "step commit");
        assertEq(_game.step(), N - 1, "the last step");
        assertTrue(!_game.hiKnown(), "h_N never revealed");
    }

    /// @dev `commitStep` from the honest trace, by the pranked caller; reverts bubble up.
    function _commitStep(DisputeGame _game) internal {
        (bool ok, bytes memory ret) = address(_game).call(_commitStepData());
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    /// @dev The honest trace's `commitStep` calldata at the last step (the worlds here
    ///      change the memory in their last step, `D = N - 1`), with `h_N` and its proof.
    function _commitStepData() internal view returns (bytes memory data_) {
        data_ = abi.encodeCall(
            DisputeGame.commitStep, (truth.stepRoot, _opRoot(truth, 0), _opRoot(truth, K), _checkpoint(truth, N))
        );
    }

    /// @dev The solver lost: result rejected; the challenger gets its bond back and half
    ///      the collateral, the submitter its reward and the rest; the solver loses `C`.
    function _assertSolverSlashed(JobId _job, GameId _id) internal view {
        assertTrue(jobMarket.disputeOf(_id).state == IJobMarket.DisputeState.ChallengerWon, "challenger won");
        assertTrue(jobMarket.jobOf(_job).state == IJobMarket.JobState.Rejected, "rejected");
        assertEq(jobMarket.creditOf(challenger), COLLATERAL, "challenger: bond back");
        assertEq(registry.creditOf(challenger), SHARE, "challenger: half the collateral");
        assertEq(jobMarket.creditOf(submitter), REWARD, "submitter: reward back");
        assertEq(registry.creditOf(submitter), REST, "submitter: the rest of the collateral");
        assertEq(jobMarket.creditOf(solver) + registry.creditOf(solver), 0, "solver: nothing");
        IDeviceRegistry.Stake memory stake = registry.stakeOf(solverDevice);
        assertEq(stake.bonded, SOLVER_STAKE - COLLATERAL, "solver: C slashed");
        assertEq(stake.locked, 0, "solver: nothing locked");
        _assertReputation(solverDevice, 0, 0, 1, COLLATERAL);
        _assertReputation(challengerDevice, 0, 1, 0, 0);
        assertTrue(!registry.isApprovedGame(jobMarket.disputeOf(_id).game), "game revoked");
        assertEq(address(jobMarket).balance, REWARD + COLLATERAL, "market: the credits");
    }

    /// @dev The challenger lost: the solver gets half the bond and the submitter the rest;
    ///      the collateral stays locked until the result is finalized, then the reward.
    function _assertChallengerLost(JobId _job, GameId _id) internal {
        assertTrue(jobMarket.disputeOf(_id).state == IJobMarket.DisputeState.SolverWon, "solver won");
        assertTrue(jobMarket.jobOf(_job).state == IJobMarket.JobState.Submitted, "still submitted");
        assertEq(jobMarket.creditOf(solver), SHARE, "solver: half the bond");
        assertEq(jobMarket.creditOf(submitter), REST, "submitter: the rest of the bond");
        assertEq(jobMarket.creditOf(challenger) + registry.creditOf(challenger), 0, "challenger: nothing");
        assertEq(registry.stakeOf(solverDevice).locked, COLLATERAL, "collateral still locked");
        _assertReputation(solverDevice, 0, 1, 0, 0);
        _assertReputation(challengerDevice, 0, 0, 1, 0);

        vm.warp(uint256(jobMarket.jobOf(_job).challengeDeadline) + 1);
        jobMarket.finalize(_job);
        assertTrue(jobMarket.jobOf(_job).state == IJobMarket.JobState.Finalized, "finalized");
        assertEq(jobMarket.creditOf(solver), SHARE + REWARD, "solver: the reward too");
        IDeviceRegistry.Stake memory stake = registry.stakeOf(solverDevice);
        assertEq(stake.bonded, SOLVER_STAKE, "solver: nothing slashed");
        assertEq(stake.locked, 0, "solver: unlocked");
        _assertReputation(solverDevice, 1, 1, 0, 0);
    }

    /// @dev Checks a device's reputation counters.
    function _assertReputation(DeviceId _device, uint64 _done, uint64 _won, uint64 _lost, uint256 _slashed)
        internal
        view
    {
        IDeviceRegistry.Reputation memory r = registry.reputationOf(_device);
        assertEq(r.jobsCompleted, _done, "jobs completed");
        assertEq(r.disputesWon, _won, "disputes won");
        assertEq(r.disputesLost, _lost, "disputes lost");
        assertEq(r.amountSlashed, _slashed, "amount slashed");
    }

    /// @dev Device metadata.
    function _meta(string memory _name) internal pure returns (IDeviceRegistry.Metadata memory m_) {
        m_ = IDeviceRegistry.Metadata({
            name: _name, backend: "cpu", hardwareClass: "test", endpoint: "http://127.0.0.1"
        });
    }
}

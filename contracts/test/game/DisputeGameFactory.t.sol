// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DisputeGame} from "../../src/game/DisputeGame.sol";
import {DisputeGameFactory} from "../../src/game/DisputeGameFactory.sol";
import {ProgramCommitment} from "../../src/game/GameTypes.sol";
import {IDisputeGameFactory} from "../../src/interfaces/IDisputeGameFactory.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {GameId, JobId} from "../../src/interfaces/Types.sol";
import {GavelMerkle} from "../../src/merkle/GavelMerkle.sol";
import {GameFixture} from "./GameFixture.sol";

/// @title DisputeGameFactoryTest
/// @notice Unit and fuzz tests of every `DisputeGameFactory` function and revert.
contract DisputeGameFactoryTest is GameFixture {
    /// @notice A small world; `factory` is fresh, market set, no program yet.
    function setUp() public override {
        super.setUp();
        _build(4, 2, 1, 1, Lie.Element, 0);
    }

    /// @notice Constructor and `setMarket`: zero clock, deployer only, once, non-zero.
    function test_setMarket_reverts() public {
        vm.expectRevert(DisputeGameFactory.ZeroClock.selector);
        new DisputeGameFactory(0, replayer, gameDeployer);
        DisputeGameFactory f = new DisputeGameFactory(CLOCK, replayer, gameDeployer);
        assertEq(f.CLOCK(), CLOCK, "clock");
        assertTrue(f.DEPLOYER() == address(this), "deployer");
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(DisputeGameFactory.NotDeployer.selector, solver));
        f.setMarket(address(market));
        vm.expectRevert(DisputeGameFactory.ZeroAddress.selector);
        f.setMarket(address(0));
        vm.expectEmit(address(f));
        emit DisputeGameFactory.MarketSet(address(market));
        f.setMarket(address(market));
        assertTrue(f.market() == address(market), "market");
        vm.expectRevert(abi.encodeWithSelector(DisputeGameFactory.MarketAlreadySet.selector, address(market)));
        f.setMarket(address(1));
        assertEq(bytes(f.version()).length, 5, "version");
    }

    /// @notice Registration by the submitter of an open job, once; the root is
    ///         `wrapProgram` of the fields.
    function test_registerProgram_succeeds() public {
        ProgramCommitment memory p = _program();
        bytes32 root = GavelMerkle.wrapProgram(p.initialMemory, p.slots, p.ops, p.opTree);
        vm.expectEmit(address(factory));
        emit DisputeGameFactory.ProgramRegistered(JobId.wrap(1), root, p);
        vm.prank(submitter);
        factory.registerProgram(JobId.wrap(1), p);
        assertTrue(factory.programRootOf(JobId.wrap(1)) == root, "root");
        assertTrue(factory.programOf(JobId.wrap(1)).opTree == p.opTree, "stored");
        assertTrue(factory.programRootOf(JobId.wrap(2)) == bytes32(0), "none");
    }

    /// @notice Registration reverts: empty fields, not the submitter, job not open, twice.
    function test_registerProgram_reverts() public {
        ProgramCommitment memory p = _program();
        ProgramCommitment memory bad = _program();
        bad.ops = 0;
        vm.prank(submitter);
        vm.expectRevert(DisputeGameFactory.InvalidProgram.selector);
        factory.registerProgram(JobId.wrap(1), bad);
        bad = _program();
        bad.initialMemory = bytes32(0);
        vm.prank(submitter);
        vm.expectRevert(DisputeGameFactory.InvalidProgram.selector);
        factory.registerProgram(JobId.wrap(1), bad);

        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(DisputeGameFactory.NotSubmitter.selector, JobId.wrap(1), solver));
        factory.registerProgram(JobId.wrap(1), p);

        market.setJob(submitter, IJobMarket.JobState.Claimed);
        vm.prank(submitter);
        vm.expectRevert(
            abi.encodeWithSelector(DisputeGameFactory.JobNotOpen.selector, JobId.wrap(1), IJobMarket.JobState.Claimed)
        );
        factory.registerProgram(JobId.wrap(1), p);

        market.setJob(submitter, IJobMarket.JobState.Open);
        vm.prank(submitter);
        factory.registerProgram(JobId.wrap(1), p);
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(DisputeGameFactory.ProgramAlreadyRegistered.selector, JobId.wrap(1)));
        factory.registerProgram(JobId.wrap(1), p);
    }

    /// @notice Any fields: registration stores exactly what was given.
    function testFuzz_registerProgram_succeeds(bytes32 _h0, uint32 _slots, uint32 _ops, bytes32 _tree) public {
        vm.assume(_h0 != 0 && _tree != 0 && _slots != 0 && _ops != 0);
        ProgramCommitment memory p = ProgramCommitment(_h0, _slots, _ops, _tree);
        vm.prank(submitter);
        factory.registerProgram(JobId.wrap(1), p);
        assertTrue(factory.programRootOf(JobId.wrap(1)) == GavelMerkle.wrapProgram(_h0, _slots, _ops, _tree), "root");
    }

    /// @notice `create` by the market opens a bound game with the parameters given.
    function test_create_succeeds() public {
        vm.prank(submitter);
        factory.registerProgram(JobId.wrap(1), _program());
        IDisputeGameFactory.DisputeParams memory p = _params(truth.traceRoot, truth.post, lie.traceRoot);
        DisputeGame g = DisputeGame(market.open(factory, p));
        assertTrue(factory.gameOf(p.game) == address(g), "recorded");
        assertTrue(g.BOUND() && g.OP_TREE() == _program().opTree, "bound");
        assertTrue(address(g.MARKET()) == address(market), "reports to the market");
        assertTrue(GameId.unwrap(g.GAME_ID()) == GameId.unwrap(p.game), "game id");
        assertEq(g.STEPS(), N, "steps");
        assertEq(g.CLOCK(), CLOCK, "clock");
    }

    /// @notice `create` reverts for any caller but the market, and for a self-dispute.
    function testFuzz_create_reverts(address _caller) public {
        vm.assume(_caller != address(market));
        IDisputeGameFactory.DisputeParams memory p = _params(truth.traceRoot, truth.post, lie.traceRoot);
        vm.prank(_caller);
        vm.expectRevert(abi.encodeWithSelector(DisputeGameFactory.NotMarket.selector, _caller));
        factory.create(p);
        p.challenger = p.solver;
        vm.expectRevert(abi.encodeWithSelector(DisputeGameFactory.SameParties.selector, solver));
        market.open(factory, p);
    }

    /// @notice Without a registered program the game is unbound.
    function test_create_unbound_succeeds() public {
        DisputeGame g = DisputeGame(market.open(factory, _params(truth.traceRoot, truth.post, lie.traceRoot)));
        assertTrue(!g.BOUND(), "unbound");
        g.resolveUnbound();
        assertTrue(!g.solverWon(), "challenger");
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {CloneWithArgs} from "../../src/game/CloneWithArgs.sol";
import {DisputeGame} from "../../src/game/DisputeGame.sol";
import {DisputeGameDeployer} from "../../src/game/DisputeGameDeployer.sol";
import {GameArgs} from "../../src/game/GameArgs.sol";
import {Party, Phase, ProgramCommitment} from "../../src/game/GameTypes.sol";
import {IDisputeGame} from "../../src/game/IDisputeGame.sol";
import {OneStepReplay} from "../../src/game/OneStepReplay.sol";
import {IDisputeGameFactory, IDisputeResolver} from "../../src/interfaces/IDisputeGameFactory.sol";
import {DeviceId, GameId, JobId} from "../../src/interfaces/Types.sol";
import {GavelMerkle} from "../../src/merkle/GavelMerkle.sol";
import {GameFixture} from "./GameFixture.sol";

/// @title DisputeGameCloneTest
/// @notice How games are created: each is a `CloneWithArgs` clone of the deployer's one
///         implementation, its parameters read back exactly from the clone's code, its
///         first round initialised once and by the deployer only; the implementation itself
///         cannot be initialised or played.
contract DisputeGameCloneTest is GameFixture {
    DisputeGame internal game;

    /// @notice A small world and a game opened through the factory.
    function setUp() public override {
        super.setUp();
        _build(8, 4, 3, 2, Lie.Element, 700);
        game = _open(Party.Solver);
    }

    /// @notice The game is a clone of the deployer's implementation: the EIP-1167 proxy
    ///         naming it, then `GameArgs.LENGTH` bytes of arguments.
    function test_deploy_clone_succeeds() public view {
        DisputeGame impl = gameDeployer.IMPLEMENTATION();
        bytes memory code = address(game).code;
        assertEq(code.length, CloneWithArgs.PROXY_SIZE + GameArgs.LENGTH, "clone size");
        bytes memory head = new bytes(CloneWithArgs.PROXY_SIZE);
        for (uint256 i = 0; i < head.length; ++i) {
            head[i] = code[i];
        }
        bytes memory proxy =
            abi.encodePacked(hex"363d3d373d3d3d363d73", address(impl), hex"5af43d82803e903d91602b57fd5bf3");
        assertTrue(keccak256(head) == keccak256(proxy), "EIP-1167 proxy of the implementation");
        assertEq(bytes(gameDeployer.version()).length, 5, "version");
    }

    /// @notice Any parameters: every getter of a game opened by the deployer returns
    ///         exactly what was given, and its first round is initialised from them.
    function testFuzz_deploy_argsReadBack_succeeds(
        IDisputeGameFactory.DisputeParams memory _p,
        ProgramCommitment memory _prog,
        bool _bound,
        uint64 _clock,
        address _market,
        address _replayer
    ) public {
        DisputeGame g = DisputeGame(
            gameDeployer.deploy(_p, _prog, _bound, _clock, IDisputeResolver(_market), OneStepReplay(_replayer))
        );
        assertTrue(address(g.MARKET()) == _market, "market");
        assertTrue(address(g.REPLAYER()) == _replayer, "replayer");
        assertEq(JobId.unwrap(g.JOB()), JobId.unwrap(_p.job), "job");
        assertEq(GameId.unwrap(g.GAME_ID()), GameId.unwrap(_p.game), "game id");
        assertTrue(g.SOLVER() == _p.solver && g.CHALLENGER() == _p.challenger, "parties");
        assertTrue(g.SOLVER_TRACE_ROOT() == _p.solverTraceRoot, "solver trace");
        assertTrue(g.CHALLENGER_TRACE_ROOT() == _p.challengerTraceRoot, "challenger trace");
        assertTrue(g.SOLVER_OUTPUT_ROOT() == _p.solverOutputRoot, "output");
        assertEq(g.STEPS(), _p.steps, "steps");
        assertEq(g.CLOCK(), _clock, "clock");
        assertTrue(g.BOUND() == _bound, "bound");
        assertTrue(g.INITIAL_MEMORY() == _prog.initialMemory, "h_0");
        assertEq(g.SLOTS(), _prog.slots, "slots");
        assertEq(g.OPS(), _prog.ops, "ops");
        assertTrue(g.OP_TREE() == _prog.opTree, "op tree");
        // The first round, from the arguments.
        assertTrue(g.phase() == (_p.steps == 1 ? Phase.StepCommit : Phase.Checkpoints), "phase");
        assertEq(g.lo(), 0, "lo");
        assertEq(g.hi(), _p.steps, "hi");
        assertEq(g.roundStart(), block.timestamp, "round start");
        assertTrue(g.agreed() == _prog.initialMemory, "agreed");
        assertTrue(g.descriptorHash() == bytes32(uint256(1)), "descriptor placeholder");
        for (uint256 i = 0; i < 2; ++i) {
            DisputeGame.Side memory s = g.sideOf(Party(i));
            // The round word keeps a clock as a uint32 (136 years): longer ones are clamped.
            assertEq(s.remaining, _clock > type(uint32).max ? type(uint32).max : _clock, "clock");
            assertTrue(!s.moved && s.a == bytes32(uint256(1)) && s.b == bytes32(uint256(1)), "side words");
            assertTrue(s.hi == bytes32(uint256(1)) && s.stepRoot == bytes32(uint256(1)), "side roots");
        }
    }

    /// @notice A game cannot be initialised again, by the deployer or anyone else.
    function testFuzz_initialize_twice_reverts(address _caller) public {
        vm.assume(_caller != address(gameDeployer));
        vm.prank(address(gameDeployer));
        vm.expectRevert(DisputeGame.AlreadyInitialized.selector);
        game.initialize();
        vm.prank(_caller);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotInitializer.selector, _caller));
        game.initialize();
        // Nothing moved: the game plays on.
        assertTrue(game.phase() == Phase.Checkpoints && game.hi() == N, "unchanged");
    }

    /// @notice The implementation is initialised and resolved by its constructor: it
    ///         cannot be initialised, no move, `timeout` or `resolveUnbound` works on it,
    ///         and it never reports.
    function test_implementation_cannot_be_played_reverts() public {
        DisputeGame impl = gameDeployer.IMPLEMENTATION();
        assertTrue(impl.phase() == Phase.Resolved, "resolved");
        vm.prank(address(gameDeployer));
        vm.expectRevert(DisputeGame.AlreadyInitialized.selector);
        impl.initialize();
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotInitializer.selector, address(this)));
        impl.initialize();

        GavelMerkle.CheckpointProof memory p = _checkpoint(truth, 4);
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPhase.selector, Phase.Resolved, Phase.Checkpoints));
        impl.revealCheckpoint(p);
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPhase.selector, Phase.Resolved, Phase.Descent));
        impl.revealChildren(bytes32(0), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IDisputeGame.WrongPhase.selector, Phase.Resolved, Phase.Replay));
        impl.timeout();
        // `BOUND()` reads the implementation's own code, so either `ProgramBound` or
        // `WrongPhase`: it reverts either way.
        vm.expectRevert();
        impl.resolveUnbound();
        assertEq(market.reportCount(), 0, "no report");
    }

    /// @notice A fresh implementation is unusable the same way, whoever deployed it: a
    ///         clone of it made by anyone else can never be initialised.
    function test_foreignClone_cannot_be_initialized_reverts() public {
        DisputeGame impl = new DisputeGame();
        IDisputeGameFactory.DisputeParams memory p = _params(truth.traceRoot, truth.post, lie.traceRoot);
        ProgramCommitment memory prog = _program();
        bytes memory args =
            new GameArgsEncoder().encode(p, prog, true, CLOCK, IDisputeResolver(address(market)), replayer);
        assertEq(args.length, GameArgs.LENGTH, "length");
        DisputeGame c = DisputeGame(CloneWithArgs.clone(address(impl), args));
        assertEq(c.STEPS(), N, "args are there");
        vm.prank(solver);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotInitializer.selector, solver));
        c.initialize();
        // The deployer of this implementation (this test) may initialise it once.
        c.initialize();
        assertTrue(c.phase() == Phase.Checkpoints && c.hi() == N, "initialised");
        vm.expectRevert(DisputeGame.AlreadyInitialized.selector);
        c.initialize();
    }

    /// @notice Two games are two clones with their own state.
    function test_deploy_independentGames_succeeds() public {
        DisputeGame other = DisputeGame(market.open(factory, _params(truth.traceRoot, truth.post, lie.traceRoot)));
        assertTrue(address(other) != address(game), "distinct");
        GavelMerkle.CheckpointProof memory p = _checkpoint(truth, 4);
        vm.prank(solver);
        game.revealCheckpoint(p);
        assertTrue(game.sideOf(Party.Solver).moved, "moved in one");
        assertTrue(!other.sideOf(Party.Solver).moved, "not in the other");
        assertTrue(GameId.unwrap(other.GAME_ID()) == GameId.unwrap(game.GAME_ID()) + 1, "own id");
    }

    /// @notice `deploy` needs no privilege (a game only counts if the market opened it
    ///         through its factory) and each call makes a new clone.
    function test_deploy_anyCaller_succeeds() public {
        IDisputeGameFactory.DisputeParams memory p = _params(truth.traceRoot, truth.post, lie.traceRoot);
        p.solverDevice = DeviceId.wrap(9);
        vm.prank(challenger);
        address a = gameDeployer.deploy(p, _program(), true, CLOCK, IDisputeResolver(address(market)), replayer);
        address b = gameDeployer.deploy(p, _program(), true, CLOCK, IDisputeResolver(address(market)), replayer);
        assertTrue(a != b && a.code.length == b.code.length, "two clones");
        assertTrue(factory.gameOf(p.game) == address(0), "unknown to the factory");
    }

    /// @notice The deployer's constructor deploys a fresh implementation each time.
    function test_deployer_ownImplementation_succeeds() public {
        DisputeGameDeployer d = new DisputeGameDeployer();
        assertTrue(address(d.IMPLEMENTATION()) != address(gameDeployer.IMPLEMENTATION()), "own implementation");
        assertTrue(address(d.IMPLEMENTATION()).code.length > 0, "deployed");
    }
}

/// @title GameArgsEncoder
/// @notice `GameArgs.encode` as an external call (it reads calldata, as the deployer does).
contract GameArgsEncoder {
    /// @notice `GameArgs.encode`.
    /// @param _p The dispute parameters.
    /// @param _prog The program commitment.
    /// @param _bound Whether it is bound.
    /// @param _clock The clock.
    /// @param _market The market.
    /// @param _replayer The replayer.
    /// @return args_ The packed arguments.
    function encode(
        IDisputeGameFactory.DisputeParams calldata _p,
        ProgramCommitment calldata _prog,
        bool _bound,
        uint64 _clock,
        IDisputeResolver _market,
        OneStepReplay _replayer
    ) external pure returns (bytes memory args_) {
        args_ = GameArgs.encode(_p, _prog, _bound, _clock, _market, _replayer);
    }
}

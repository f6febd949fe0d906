// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDisputeGameFactory, IDisputeResolver} from "../interfaces/IDisputeGameFactory.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {GameId, JobId} from "../interfaces/Types.sol";
import {DisputeGameDeployer} from "./DisputeGameDeployer.sol";
import {ProgramCommitment} from "./GameTypes.sol";
import {OneStepReplay} from "./OneStepReplay.sol";

/// @title DisputeGameFactory
/// @notice Opens one `DisputeGame` per challenge for the JobMarket, and holds the program
///         commitment each job's games are played against (docs/contracts.md, "Program
///         root"): the job's submitter registers it while the job is still open, before
///         any device claims it, so a solver can check it against the spec before claiming.
/// @dev The market is set once by the deployer (the market is deployed after the factory,
///      which its constructor takes). Only the market may `create`.
contract DisputeGameFactory is IDisputeGameFactory {
    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Semantic version of the factory.
    string public constant version = "0.1.0";

    ////////////////////////////////////////////////////////////////
    //                           ERRORS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice Only the deployer may set the market.
    /// @param caller The caller.
    error NotDeployer(address caller);

    /// @notice The market is already set.
    /// @param market The market.
    error MarketAlreadySet(address market);

    /// @notice An address that must be set is zero.
    error ZeroAddress();

    /// @notice The clock must be at least one second.
    error ZeroClock();

    /// @notice Only the market may open games.
    /// @param caller The caller.
    error NotMarket(address caller);

    /// @notice Only the job's submitter may register its program.
    /// @param job The job.
    /// @param caller The caller.
    error NotSubmitter(JobId job, address caller);

    /// @notice A program can only be registered while the job is open (before a claim).
    /// @param job The job.
    /// @param state Its state.
    error JobNotOpen(JobId job, IJobMarket.JobState state);

    /// @notice The job's program is already registered.
    /// @param job The job.
    error ProgramAlreadyRegistered(JobId job);

    /// @notice A program commitment needs a non-zero initial memory and op tree, at least
    ///         one slot and one op.
    error InvalidProgram();

    /// @notice The solver and the challenger are the same address (nothing to play).
    /// @param party The address.
    error SameParties(address party);

    ////////////////////////////////////////////////////////////////
    //                           EVENTS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice The market was set.
    /// @param market The market.
    event MarketSet(address indexed market);

    /// @notice A job's program commitment was registered.
    /// @param job The job.
    /// @param programRoot The program root (`GavelMerkle.wrapProgram` of the fields).
    /// @param program The commitment.
    event ProgramRegistered(JobId indexed job, bytes32 indexed programRoot, ProgramCommitment program);

    /// @notice A game was opened.
    /// @param job The job.
    /// @param game The market's id of the game.
    /// @param gameAddress The game.
    /// @param bound Whether the job has a program commitment.
    event GameCreated(JobId indexed job, GameId indexed game, address indexed gameAddress, bool bound);

    ////////////////////////////////////////////////////////////////
    //                     IMMUTABLES, STORAGE                    //
    ////////////////////////////////////////////////////////////////

    /// @notice Who may set the market.
    address public immutable DEPLOYER;

    /// @notice Seconds on each party's chess clock in every game.
    uint64 public immutable CLOCK;

    /// @notice The one-element replay every game uses.
    OneStepReplay public immutable REPLAYER;

    /// @notice Deploys the games (holds their creation code).
    DisputeGameDeployer public immutable DEPLOYER_OF_GAMES;

    /// @notice The market (zero until set).
    address public market;

    /// @dev Program commitments by job.
    mapping(JobId job => ProgramCommitment program) internal _programs;

    /// @notice Game addresses by the market's game id.
    mapping(GameId game => address gameAddress) public gameOf;

    ////////////////////////////////////////////////////////////////
    //                        CONSTRUCTOR                         //
    ////////////////////////////////////////////////////////////////

    /// @notice Deploys the factory.
    /// @param _clock Seconds on each party's chess clock (docs/contracts.md: 3 days).
    /// @param _replayer The deployed `OneStepReplay`.
    /// @param _deployer The deployed `DisputeGameDeployer`.
    constructor(uint64 _clock, OneStepReplay _replayer, DisputeGameDeployer _deployer) {
        if (_clock == 0) revert ZeroClock();
        if (address(_replayer) == address(0) || address(_deployer) == address(0)) revert ZeroAddress();
        DEPLOYER = msg.sender;
        CLOCK = _clock;
        REPLAYER = _replayer;
        DEPLOYER_OF_GAMES = _deployer;
    }

    ////////////////////////////////////////////////////////////////
    //                         EXTERNAL                           //
    ////////////////////////////////////////////////////////////////

    /// @notice Sets the market, once, by the deployer.
    /// @param _market The JobMarket.
    function setMarket(address _market) external {
        if (msg.sender != DEPLOYER) revert NotDeployer(msg.sender);
        if (market != address(0)) revert MarketAlreadySet(market);
        if (_market == address(0)) revert ZeroAddress();
        market = _market;
        emit MarketSet(_market);
    }

    /// @notice Binds a job to its program: its initial memory and op table. Only the
    ///         job's submitter, while the job is open, once.
    /// @param _job The job.
    /// @param _program The commitment.
    function registerProgram(JobId _job, ProgramCommitment calldata _program) external {
        if (
            _program.initialMemory == bytes32(0) || _program.opTree == bytes32(0) || _program.slots == 0
                || _program.ops == 0
        ) revert InvalidProgram();
        IJobMarket.Job memory job = IJobMarket(market).jobOf(_job);
        if (job.submitter != msg.sender) revert NotSubmitter(_job, msg.sender);
        if (job.state != IJobMarket.JobState.Open) revert JobNotOpen(_job, job.state);
        if (_programs[_job].ops != 0) revert ProgramAlreadyRegistered(_job);
        _programs[_job] = _program;
        emit ProgramRegistered(_job, programRootOf(_job), _program);
    }

    /// @inheritdoc IDisputeGameFactory
    function create(DisputeParams calldata _params) external returns (address game_) {
        if (msg.sender != market || market == address(0)) revert NotMarket(msg.sender);
        if (_params.solver == _params.challenger) revert SameParties(_params.solver);
        ProgramCommitment memory program = _programs[_params.job];
        bool bound = program.ops != 0;
        game_ = DEPLOYER_OF_GAMES.deploy(_params, program, bound, CLOCK, IDisputeResolver(msg.sender), REPLAYER);
        gameOf[_params.game] = game_;
        emit GameCreated(_params.job, _params.game, game_, bound);
    }

    ////////////////////////////////////////////////////////////////
    //                           VIEWS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice A job's program commitment (all zero when none).
    /// @param _job The job.
    /// @return program_ The commitment.
    function programOf(JobId _job) external view returns (ProgramCommitment memory program_) {
        program_ = _programs[_job];
    }

    /// @notice A job's program root, `keccak256(0x07 ‖ h_0 ‖ slots ‖ ops ‖ op tree)`, or
    ///         zero when none is registered.
    /// @param _job The job.
    /// @return root_ The root.
    function programRootOf(JobId _job) public view returns (bytes32 root_) {
        ProgramCommitment storage p = _programs[_job];
        if (p.ops == 0) return bytes32(0);
        root_ = keccak256(abi.encodePacked(uint8(0x07), p.initialMemory, p.slots, p.ops, p.opTree));
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../interfaces/IDeviceRegistry.sol";
import {IDisputeGameFactory, IDisputeResolver} from "../interfaces/IDisputeGameFactory.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {DeviceId, GameId, JobId} from "../interfaces/Types.sol";

/// @title JobMarket
/// @notice Escrow for gavel jobs. A submitter posts a job and its reward; a registered
///         device claims it, locking the job's collateral from its stake in the
///         DeviceRegistry; the solver submits its trace and output roots; during the
///         challenge window anyone may dispute the result with a bond equal to the
///         collateral, each dispute in its own game opened through `FACTORY`; the result
///         is final when the window has closed and every game has reported for the solver.
/// @dev Amounts and shares are in docs/contracts.md ("Amounts and shares"). Every payment
///      is a credit withdrawn with `withdrawCredit` (pull), except slashed stake, which the
///      registry credits to its recipient. Accounting (checked by the invariant suite):
///      `address(this).balance == sum(reward of Open, Claimed and Submitted jobs)
///       + sum(bond of Open disputes) + sum(credit)`.
///      Trust: `REGISTRY` and `FACTORY` (and the games it creates) are trusted code, fixed
///      at deployment; the market's external calls go only to them and to `withdrawCredit`
///      recipients, and every function that makes one is guarded against re-entry.
contract JobMarket is IJobMarket {
    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Semantic version of the market.
    string public constant version = "0.1.0";

    /// @inheritdoc IJobMarket
    uint256 public constant WINNER_SHARE_BPS = 5000;

    /// @dev Basis points in a whole.
    uint256 internal constant BPS = 10_000;

    ////////////////////////////////////////////////////////////////
    //                         IMMUTABLES                         //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IJobMarket
    IDeviceRegistry public immutable REGISTRY;

    /// @inheritdoc IJobMarket
    IDisputeGameFactory public immutable FACTORY;

    /// @inheritdoc IJobMarket
    uint256 public immutable MIN_COLLATERAL;

    /// @inheritdoc IJobMarket
    uint64 public immutable MIN_CHALLENGE_WINDOW;

    /// @inheritdoc IJobMarket
    uint64 public immutable MAX_CHALLENGE_WINDOW;

    ////////////////////////////////////////////////////////////////
    //                          STORAGE                           //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IJobMarket
    uint64 public jobCount;

    /// @inheritdoc IJobMarket
    uint64 public gameCount;

    /// @dev Jobs by id.
    mapping(JobId job => Job record) internal _jobs;

    /// @dev Disputes by game id.
    mapping(GameId game => Dispute record) internal _disputes;

    /// @dev Wei owed to each account.
    mapping(address account => uint256 amount) internal _credit;

    /// @dev Re-entrancy guard of the functions that make external calls.
    bool private transient _entered;

    ////////////////////////////////////////////////////////////////
    //                         MODIFIERS                          //
    ////////////////////////////////////////////////////////////////

    /// @dev Rejects re-entry (transient storage, cleared per transaction).
    modifier nonReentrant() {
        if (_entered) revert Reentrancy();
        _entered = true;
        _;
        _entered = false;
    }

    ////////////////////////////////////////////////////////////////
    //                        CONSTRUCTOR                         //
    ////////////////////////////////////////////////////////////////

    /// @notice Creates the market; the registry's deployer then points the registry at it.
    /// @param _registry The device registry.
    /// @param _factory The dispute game factory.
    /// @param _minCollateral The least collateral (and bond) a job may ask for (positive).
    /// @param _minChallengeWindow The shortest challenge window, in seconds (positive).
    /// @param _maxChallengeWindow The longest challenge window, in seconds.
    constructor(
        IDeviceRegistry _registry,
        IDisputeGameFactory _factory,
        uint256 _minCollateral,
        uint64 _minChallengeWindow,
        uint64 _maxChallengeWindow
    ) {
        if (address(_registry) == address(0) || address(_factory) == address(0)) {
            revert ZeroAddress();
        }
        if (_minCollateral == 0) revert CollateralTooLow(0, 1);
        _toU128(_minCollateral);
        if (_minChallengeWindow == 0 || _maxChallengeWindow < _minChallengeWindow) {
            revert ChallengeWindowOutOfRange(_maxChallengeWindow, _minChallengeWindow, _maxChallengeWindow);
        }
        REGISTRY = _registry;
        FACTORY = _factory;
        MIN_COLLATERAL = _minCollateral;
        MIN_CHALLENGE_WINDOW = _minChallengeWindow;
        MAX_CHALLENGE_WINDOW = _maxChallengeWindow;
    }

    ////////////////////////////////////////////////////////////////
    //                         SUBMITTERS                         //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IJobMarket
    function postJob(JobParams calldata _params) external payable returns (JobId job_) {
        if (msg.value == 0) revert ZeroReward();
        uint128 reward = _toU128(msg.value);
        if (_params.specHash == bytes32(0) || _params.inputHash == bytes32(0)) revert ZeroHash();
        if (_params.steps == 0) revert ZeroSteps();
        // forge-lint: disable-next-line(block-timestamp) deadlines are hours apart.
        if (_params.claimDeadline < block.timestamp || _params.executionDeadline <= _params.claimDeadline) {
            revert InvalidDeadlines(uint64(block.timestamp), _params.claimDeadline, _params.executionDeadline);
        }
        if (_params.collateral < MIN_COLLATERAL) revert CollateralTooLow(_params.collateral, MIN_COLLATERAL);
        if (_params.challengeWindow < MIN_CHALLENGE_WINDOW || _params.challengeWindow > MAX_CHALLENGE_WINDOW) {
            revert ChallengeWindowOutOfRange(_params.challengeWindow, MIN_CHALLENGE_WINDOW, MAX_CHALLENGE_WINDOW);
        }

        job_ = JobId.wrap(++jobCount);
        Job storage job = _jobs[job_];
        job.submitter = msg.sender;
        job.claimDeadline = _params.claimDeadline;
        job.state = JobState.Open;
        job.reward = reward;
        job.collateral = _params.collateral;
        job.executionDeadline = _params.executionDeadline;
        job.challengeWindow = _params.challengeWindow;
        job.steps = _params.steps;
        job.specHash = _params.specHash;
        job.inputHash = _params.inputHash;

        emit JobPosted(job_, msg.sender, msg.value, _params);
    }

    /// @inheritdoc IJobMarket
    function cancelJob(JobId _job) external {
        Job storage job = _inState(_job, JobState.Open);
        if (msg.sender != job.submitter) revert NotSubmitter(_job, msg.sender);

        job.state = JobState.Cancelled;
        emit JobCancelled(_job);
        _creditTo(job.submitter, _job, job.reward);
    }

    ////////////////////////////////////////////////////////////////
    //                          SOLVERS                           //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IJobMarket
    function claimJob(JobId _job, DeviceId _device) external nonReentrant {
        Job storage job = _inState(_job, JobState.Open);
        // forge-lint: disable-next-line(block-timestamp) deadlines are hours apart.
        if (block.timestamp > job.claimDeadline) revert ClaimDeadlinePassed(_job, job.claimDeadline);
        address owner = REGISTRY.ownerOf(_device);
        if (owner != msg.sender) revert DeviceNotOwnedByCaller(_device, msg.sender, owner);

        job.state = JobState.Claimed;
        job.solver = msg.sender;
        job.device = _device;
        emit JobClaimed(_job, _device, msg.sender);

        REGISTRY.lock(_device, job.collateral);
    }

    /// @inheritdoc IJobMarket
    function submitResult(JobId _job, bytes32 _traceRoot, bytes32 _outputRoot, uint64 _steps) external {
        Job storage job = _inState(_job, JobState.Claimed);
        if (msg.sender != job.solver) revert NotSolver(_job, msg.sender);
        // forge-lint: disable-next-line(block-timestamp) deadlines are hours apart.
        if (block.timestamp > job.executionDeadline) revert ExecutionDeadlinePassed(_job, job.executionDeadline);
        if (_traceRoot == bytes32(0) || _outputRoot == bytes32(0)) revert ZeroHash();
        if (_steps != job.steps) revert StepCountMismatch(_job, job.steps, _steps);

        uint64 challengeDeadline = uint64(block.timestamp) + job.challengeWindow;
        job.state = JobState.Submitted;
        job.traceRoot = _traceRoot;
        job.outputRoot = _outputRoot;
        job.challengeDeadline = challengeDeadline;

        emit ResultSubmitted(_job, _traceRoot, _outputRoot, _steps, challengeDeadline);
    }

    ////////////////////////////////////////////////////////////////
    //                        CHALLENGERS                         //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IJobMarket
    function challenge(JobId _job, DeviceId _challengerDevice, bytes32 _traceRoot)
        external
        payable
        nonReentrant
        returns (GameId game_, address gameAddress_)
    {
        Job storage job = _inState(_job, JobState.Submitted);
        // forge-lint: disable-next-line(block-timestamp) windows are hours long.
        if (block.timestamp > job.challengeDeadline) revert ChallengeWindowClosed(_job, job.challengeDeadline);
        if (msg.value != job.collateral) revert WrongBond(_job, msg.value, job.collateral);
        // The solver's own trace root is accepted: the game then binds its output root to
        // that trace (docs/contracts.md, "JobMarket"), so a wrong output root alone loses.
        if (_traceRoot == bytes32(0)) revert ZeroHash();
        if (DeviceId.unwrap(_challengerDevice) != 0) {
            if (_challengerDevice == job.device) revert SelfChallenge(_job, _challengerDevice);
            address owner = REGISTRY.ownerOf(_challengerDevice);
            if (owner != msg.sender) revert DeviceNotOwnedByCaller(_challengerDevice, msg.sender, owner);
        }

        game_ = GameId.wrap(++gameCount);
        ++job.openDisputes;
        Dispute storage dispute = _disputes[game_];
        dispute.job = _job;
        dispute.state = DisputeState.Open;
        dispute.challenger = msg.sender;
        dispute.challengerDevice = _challengerDevice;
        dispute.bond = job.collateral;

        gameAddress_ = FACTORY.create(_disputeParams(job, _job, game_, _challengerDevice, _traceRoot));
        if (gameAddress_.code.length == 0) revert InvalidGame(gameAddress_);
        dispute.game = gameAddress_;

        emit DisputeOpened(_job, game_, msg.sender, gameAddress_, _challengerDevice, _traceRoot, msg.value);

        REGISTRY.approveGame(gameAddress_);
    }

    /// @inheritdoc IDisputeResolver
    function resolveDispute(JobId _job, GameId _game, bool _solverWon) external nonReentrant {
        Dispute storage dispute = _disputes[_game];
        if (dispute.state == DisputeState.None) revert GameNotFound(_game);
        if (msg.sender != dispute.game) revert NotGame(_game, msg.sender);
        if (dispute.job != _job) revert GameJobMismatch(_game, dispute.job, _job);
        if (dispute.state != DisputeState.Open) revert DisputeAlreadyResolved(_game, dispute.state);

        Job storage job = _jobs[_job];
        dispute.state = _solverWon ? DisputeState.SolverWon : DisputeState.ChallengerWon;
        --job.openDisputes;
        // The only other state a job with an open dispute can be in is `Rejected`.
        bool moot = job.state != JobState.Submitted;
        emit DisputeResolved(_job, _game, _solverWon, moot);

        if (moot) {
            // Another game already rejected the result and settled the collateral: the
            // challenger gets its bond back, whatever this game says.
            _creditTo(dispute.challenger, _job, dispute.bond);
        } else if (_solverWon) {
            _settleSolverWon(job, dispute, _job);
        } else {
            _settleChallengerWon(job, dispute, _job, _game);
        }

        REGISTRY.revokeGame(msg.sender);
    }

    ////////////////////////////////////////////////////////////////
    //                          ANYONE                            //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IJobMarket
    function finalize(JobId _job) external nonReentrant {
        Job storage job = _inState(_job, JobState.Submitted);
        // forge-lint: disable-next-line(block-timestamp) windows are hours long.
        if (block.timestamp <= job.challengeDeadline) revert ChallengeWindowOpen(_job, job.challengeDeadline);
        if (job.openDisputes != 0) revert DisputesOpen(_job, job.openDisputes);

        job.state = JobState.Finalized;
        emit JobFinalized(_job, job.device, job.reward);
        _creditTo(job.solver, _job, job.reward);

        REGISTRY.unlock(job.device, job.collateral);
        REGISTRY.recordJobCompleted(job.device);
    }

    /// @inheritdoc IJobMarket
    function expireJob(JobId _job) external nonReentrant {
        Job storage job = _inState(_job, JobState.Claimed);
        // forge-lint: disable-next-line(block-timestamp) deadlines are hours apart.
        if (block.timestamp <= job.executionDeadline) revert ExecutionDeadlineNotPassed(_job, job.executionDeadline);

        job.state = JobState.Expired;
        emit JobExpired(_job, job.device, job.collateral);
        _creditTo(job.submitter, _job, job.reward);

        REGISTRY.slash(job.device, job.collateral, job.submitter);
    }

    /// @inheritdoc IJobMarket
    function withdrawCredit() external nonReentrant returns (uint256 amount_) {
        amount_ = _credit[msg.sender];
        if (amount_ == 0) revert NoCredit(msg.sender);

        _credit[msg.sender] = 0;
        emit CreditWithdrawn(msg.sender, amount_);

        (bool ok,) = msg.sender.call{value: amount_}("");
        if (!ok) revert TransferFailed(msg.sender, amount_);
    }

    ////////////////////////////////////////////////////////////////
    //                           VIEWS                            //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IJobMarket
    function jobOf(JobId _job) external view returns (Job memory job_) {
        job_ = _jobs[_job];
        if (job_.state == JobState.None) revert JobNotFound(_job);
    }

    /// @inheritdoc IJobMarket
    function disputeOf(GameId _game) external view returns (Dispute memory dispute_) {
        dispute_ = _disputes[_game];
        if (dispute_.state == DisputeState.None) revert GameNotFound(_game);
    }

    /// @inheritdoc IJobMarket
    function creditOf(address _account) external view returns (uint256 credit_) {
        credit_ = _credit[_account];
    }

    ////////////////////////////////////////////////////////////////
    //                          INTERNAL                          //
    ////////////////////////////////////////////////////////////////

    /// @dev The solver defended its result: the challenger's bond is split between the
    ///      solver (`WINNER_SHARE_BPS`) and the submitter (the rest).
    /// @param _jobRecord The job.
    /// @param _dispute The dispute.
    /// @param _job The job's id.
    function _settleSolverWon(Job storage _jobRecord, Dispute storage _dispute, JobId _job) internal {
        uint256 bond = _dispute.bond;
        uint256 share = _winnerShare(bond);
        _creditTo(_jobRecord.solver, _job, share);
        _creditTo(_jobRecord.submitter, _job, bond - share);

        REGISTRY.recordDispute(_jobRecord.device, true);
        if (DeviceId.unwrap(_dispute.challengerDevice) != 0) REGISTRY.recordDispute(_dispute.challengerDevice, false);
    }

    /// @dev The challenger won: the result is rejected, the reward and the bond go back,
    ///      and the solver's collateral is slashed, `WINNER_SHARE_BPS` of it to the
    ///      challenger and the rest to the submitter (as registry credits).
    /// @param _jobRecord The job.
    /// @param _dispute The dispute.
    /// @param _job The job's id.
    /// @param _game The game's id.
    function _settleChallengerWon(Job storage _jobRecord, Dispute storage _dispute, JobId _job, GameId _game) internal {
        _jobRecord.state = JobState.Rejected;
        DeviceId device = _jobRecord.device;
        address submitter = _jobRecord.submitter;
        address challenger = _dispute.challenger;
        emit JobRejected(_job, _game, device);
        _creditTo(challenger, _job, _dispute.bond);
        _creditTo(submitter, _job, _jobRecord.reward);

        uint256 collateral = _jobRecord.collateral;
        uint256 share = _winnerShare(collateral);
        if (share != 0) REGISTRY.slash(device, share, challenger);
        if (collateral != share) REGISTRY.slash(device, collateral - share, submitter);

        REGISTRY.recordDispute(device, false);
        if (DeviceId.unwrap(_dispute.challengerDevice) != 0) REGISTRY.recordDispute(_dispute.challengerDevice, true);
    }

    /// @dev What a new game is opened with.
    /// @param _jobRecord The job.
    /// @param _job The job's id.
    /// @param _game The game's id.
    /// @param _challengerDevice The challenger's device, or 0.
    /// @param _traceRoot The challenger's trace root.
    /// @return params_ The parameters.
    function _disputeParams(
        Job storage _jobRecord,
        JobId _job,
        GameId _game,
        DeviceId _challengerDevice,
        bytes32 _traceRoot
    ) internal view returns (IDisputeGameFactory.DisputeParams memory params_) {
        params_.job = _job;
        params_.game = _game;
        params_.solverDevice = _jobRecord.device;
        params_.challengerDevice = _challengerDevice;
        params_.solver = _jobRecord.solver;
        params_.challenger = msg.sender;
        params_.specHash = _jobRecord.specHash;
        params_.inputHash = _jobRecord.inputHash;
        params_.solverTraceRoot = _jobRecord.traceRoot;
        params_.solverOutputRoot = _jobRecord.outputRoot;
        params_.challengerTraceRoot = _traceRoot;
        params_.steps = _jobRecord.steps;
        params_.bond = _jobRecord.collateral;
    }

    /// @dev The job, which must be in `_expected`.
    /// @param _job The job's id.
    /// @param _expected The state the caller needs.
    /// @return job_ The job.
    function _inState(JobId _job, JobState _expected) internal view returns (Job storage job_) {
        job_ = _jobs[_job];
        if (job_.state != _expected) revert UnexpectedJobState(_job, job_.state, _expected);
    }

    /// @dev Credits an account and says so.
    /// @param _account The account.
    /// @param _job The job the credit comes from.
    /// @param _amount The wei (nothing happens for 0).
    function _creditTo(address _account, JobId _job, uint256 _amount) internal {
        if (_amount == 0) return;
        _credit[_account] += _amount;
        emit Credited(_account, _job, _amount);
    }

    /// @dev The winner's share of an amount, rounded down (the rest is exact).
    /// @param _amount The loser's collateral or bond.
    /// @return share_ `_amount * WINNER_SHARE_BPS / 10_000`.
    function _winnerShare(uint256 _amount) internal pure returns (uint256 share_) {
        share_ = _amount * WINNER_SHARE_BPS / BPS;
    }

    /// @dev Narrows an amount to 128 bits.
    /// @param _amount The wei.
    /// @return amount_ The same value.
    function _toU128(uint256 _amount) internal pure returns (uint128 amount_) {
        if (_amount > type(uint128).max) revert AmountOverflow(_amount);
        // forge-lint: disable-next-line(unsafe-typecast) checked on the line above.
        amount_ = uint128(_amount);
    }
}

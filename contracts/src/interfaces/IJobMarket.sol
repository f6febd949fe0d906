// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDeviceRegistry} from "./IDeviceRegistry.sol";
import {IDisputeGameFactory, IDisputeResolver} from "./IDisputeGameFactory.sol";
import {DeviceId, GameId, JobId} from "./Types.sol";

/// @title IJobMarket
/// @notice Escrow for gavel jobs: a submitter posts a job with a reward, a registered
///         device claims it against collateral locked from its stake, submits its trace
///         and output roots, and is paid after a challenge window in which anyone may
///         dispute the result through a dispute game. Amounts and shares: docs/contracts.md.
interface IJobMarket is IDisputeResolver {
    ////////////////////////////////////////////////////////////////
    //                           TYPES                            //
    ////////////////////////////////////////////////////////////////

    /// @notice Where a job is in its life.
    /// @dev `None` (never posted) -> `Open` -> `Claimed` -> `Submitted` -> `Finalized`;
    ///      `Open` -> `Cancelled`; `Claimed` -> `Expired` (execution deadline missed);
    ///      `Submitted` -> `Rejected` (the solver lost a dispute). The last four are final.
    enum JobState {
        None,
        Open,
        Claimed,
        Submitted,
        Finalized,
        Cancelled,
        Expired,
        Rejected
    }

    /// @notice Where a dispute is: `Open` until its game reports, then the outcome.
    enum DisputeState {
        None,
        Open,
        SolverWon,
        ChallengerWon
    }

    /// @notice What a submitter posts (the reward is `msg.value`).
    /// @param specHash keccak256 of the job spec's bytes (non-zero).
    /// @param inputHash keccak256 of the job inputs' bytes (non-zero).
    /// @param claimDeadline Last second a device may claim (unix seconds, not in the past).
    /// @param executionDeadline Last second the solver may submit (after `claimDeadline`).
    /// @param challengeWindow Seconds after submission in which a result can be disputed,
    ///        within `[MIN_CHALLENGE_WINDOW, MAX_CHALLENGE_WINDOW]`.
    /// @param steps The program's step count (the trace has `steps + 1` checkpoints).
    /// @param collateral Stake the solver locks, and the bond each challenger posts
    ///        (at least `MIN_COLLATERAL`).
    struct JobParams {
        bytes32 specHash;
        bytes32 inputHash;
        uint64 claimDeadline;
        uint64 executionDeadline;
        uint64 challengeWindow;
        uint64 steps;
        uint128 collateral;
    }

    /// @notice A job.
    /// @param submitter Who posted it (and is refunded or compensated).
    /// @param claimDeadline Last second to claim.
    /// @param state Where it is.
    /// @param solver The owner of the claiming device (zero until claimed).
    /// @param device The claiming device (0 until claimed).
    /// @param openDisputes Games opened on its result that have not reported yet.
    /// @param reward The reward in escrow, in wei.
    /// @param collateral The solver's collateral and each challenger's bond, in wei.
    /// @param executionDeadline Last second to submit.
    /// @param challengeWindow Seconds of the challenge window.
    /// @param challengeDeadline Last second to challenge (0 until submitted).
    /// @param steps The program's step count.
    /// @param specHash keccak256 of the job spec.
    /// @param inputHash keccak256 of the inputs.
    /// @param traceRoot The solver's trace root (zero until submitted).
    /// @param outputRoot The solver's final output root (zero until submitted).
    struct Job {
        address submitter;
        uint64 claimDeadline;
        JobState state;
        address solver;
        DeviceId device;
        uint32 openDisputes;
        uint128 reward;
        uint128 collateral;
        uint64 executionDeadline;
        uint64 challengeWindow;
        uint64 challengeDeadline;
        uint64 steps;
        bytes32 specHash;
        bytes32 inputHash;
        bytes32 traceRoot;
        bytes32 outputRoot;
    }

    /// @notice A dispute: one challenger against one result, played by one game.
    /// @param game The game's address (the only caller of `resolveDispute` for it).
    /// @param job The disputed job.
    /// @param state Open, or the outcome.
    /// @param challenger The challenger (refunded or paid here).
    /// @param challengerDevice The device the challenger named, or 0.
    /// @param bond The challenger's bond in wei.
    struct Dispute {
        address game;
        JobId job;
        DisputeState state;
        address challenger;
        DeviceId challengerDevice;
        uint128 bond;
    }

    ////////////////////////////////////////////////////////////////
    //                           ERRORS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice An address that must be set is zero.
    error ZeroAddress();

    /// @notice A hash or root that must be set is zero.
    error ZeroHash();

    /// @notice A job must have a reward.
    error ZeroReward();

    /// @notice A job must have at least one step.
    error ZeroSteps();

    /// @notice An amount does not fit 128 bits.
    /// @param amount The amount.
    error AmountOverflow(uint256 amount);

    /// @notice The deadlines are not `now <= claimDeadline < executionDeadline`.
    /// @param now_ The block time.
    /// @param claimDeadline The claim deadline given.
    /// @param executionDeadline The execution deadline given.
    error InvalidDeadlines(uint64 now_, uint64 claimDeadline, uint64 executionDeadline);

    /// @notice The collateral is below `MIN_COLLATERAL`.
    /// @param collateral The collateral given.
    /// @param minimum `MIN_COLLATERAL`.
    error CollateralTooLow(uint256 collateral, uint256 minimum);

    /// @notice The challenge window is outside the market's bounds.
    /// @param window The window given, in seconds.
    /// @param min `MIN_CHALLENGE_WINDOW`.
    /// @param max `MAX_CHALLENGE_WINDOW`.
    error ChallengeWindowOutOfRange(uint64 window, uint64 min, uint64 max);

    /// @notice No job has this id.
    /// @param job The id.
    error JobNotFound(JobId job);

    /// @notice The job is not in the state this call needs (`None`: no such job).
    /// @param job The job.
    /// @param state Its state.
    /// @param expected The state the call needs.
    error UnexpectedJobState(JobId job, JobState state, JobState expected);

    /// @notice Only the job's submitter may call this.
    /// @param job The job.
    /// @param caller The caller.
    error NotSubmitter(JobId job, address caller);

    /// @notice Only the job's solver may call this.
    /// @param job The job.
    /// @param caller The caller.
    error NotSolver(JobId job, address caller);

    /// @notice The caller does not own the device it named.
    /// @param device The device.
    /// @param caller The caller.
    /// @param owner The device's owner.
    error DeviceNotOwnedByCaller(DeviceId device, address caller, address owner);

    /// @notice The claim deadline has passed.
    /// @param job The job.
    /// @param deadline The claim deadline.
    error ClaimDeadlinePassed(JobId job, uint64 deadline);

    /// @notice The execution deadline has passed.
    /// @param job The job.
    /// @param deadline The execution deadline.
    error ExecutionDeadlinePassed(JobId job, uint64 deadline);

    /// @notice The execution deadline has not passed yet.
    /// @param job The job.
    /// @param deadline The execution deadline.
    error ExecutionDeadlineNotPassed(JobId job, uint64 deadline);

    /// @notice The challenge window has closed.
    /// @param job The job.
    /// @param deadline The last second of the window.
    error ChallengeWindowClosed(JobId job, uint64 deadline);

    /// @notice The challenge window is still open.
    /// @param job The job.
    /// @param deadline The last second of the window.
    error ChallengeWindowOpen(JobId job, uint64 deadline);

    /// @notice The submitted step count is not the job's.
    /// @param job The job.
    /// @param expected The job's step count.
    /// @param actual The step count submitted.
    error StepCountMismatch(JobId job, uint64 expected, uint64 actual);

    /// @notice The challenger's bond is not the job's collateral.
    /// @param job The job.
    /// @param sent The wei sent.
    /// @param required The job's collateral.
    error WrongBond(JobId job, uint256 sent, uint256 required);

    /// @notice A device cannot challenge its own result.
    /// @param job The job.
    /// @param device The device.
    error SelfChallenge(JobId job, DeviceId device);

    /// @notice The job still has games that have not reported.
    /// @param job The job.
    /// @param open How many.
    error DisputesOpen(JobId job, uint256 open);

    /// @notice The factory returned no game (zero address or no code).
    /// @param game The address returned.
    error InvalidGame(address game);

    /// @notice No dispute has this id.
    /// @param game The id.
    error GameNotFound(GameId game);

    /// @notice Only the game may report its outcome.
    /// @param game The game's id.
    /// @param caller The caller.
    error NotGame(GameId game, address caller);

    /// @notice The game disputes another job.
    /// @param game The game's id.
    /// @param expected The job the game disputes.
    /// @param actual The job given.
    error GameJobMismatch(GameId game, JobId expected, JobId actual);

    /// @notice The game already reported.
    /// @param game The game's id.
    /// @param state The outcome it reported.
    error DisputeAlreadyResolved(GameId game, DisputeState state);

    /// @notice The account has no credit to withdraw.
    /// @param account The account.
    error NoCredit(address account);

    /// @notice Sending ETH failed.
    /// @param to The recipient.
    /// @param amount The wei.
    error TransferFailed(address to, uint256 amount);

    /// @notice A guarded function was re-entered.
    error Reentrancy();

    ////////////////////////////////////////////////////////////////
    //                           EVENTS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice A job was posted.
    /// @param job The job.
    /// @param submitter Who posted it.
    /// @param reward The reward in escrow.
    /// @param params What was posted.
    event JobPosted(JobId indexed job, address indexed submitter, uint256 reward, JobParams params);

    /// @notice An open job was cancelled; its reward is credited back to the submitter.
    /// @param job The job.
    event JobCancelled(JobId indexed job);

    /// @notice A device claimed a job and locked the collateral.
    /// @param job The job.
    /// @param device The device.
    /// @param solver Its owner.
    event JobClaimed(JobId indexed job, DeviceId indexed device, address indexed solver);

    /// @notice The solver submitted its result.
    /// @param job The job.
    /// @param traceRoot The trace root.
    /// @param outputRoot The final output root.
    /// @param steps The step count.
    /// @param challengeDeadline The last second to dispute it.
    event ResultSubmitted(
        JobId indexed job, bytes32 traceRoot, bytes32 outputRoot, uint64 steps, uint64 challengeDeadline
    );

    /// @notice A challenger disputed a result and a game was opened.
    /// @param job The job.
    /// @param game The game's id.
    /// @param challenger The challenger.
    /// @param gameAddress The game's address.
    /// @param challengerDevice The device the challenger named, or 0.
    /// @param challengerTraceRoot The challenger's trace root.
    /// @param bond The bond posted.
    event DisputeOpened(
        JobId indexed job,
        GameId indexed game,
        address indexed challenger,
        address gameAddress,
        DeviceId challengerDevice,
        bytes32 challengerTraceRoot,
        uint256 bond
    );

    /// @notice A game reported its outcome.
    /// @param job The job.
    /// @param game The game's id.
    /// @param solverWon Whether the solver's result stood.
    /// @param moot True when the result had already been rejected by another game, so only
    ///        the challenger's bond was returned.
    event DisputeResolved(JobId indexed job, GameId indexed game, bool solverWon, bool moot);

    /// @notice A result was finalized and the reward credited to the solver.
    /// @param job The job.
    /// @param device The solver's device.
    /// @param reward The reward.
    event JobFinalized(JobId indexed job, DeviceId indexed device, uint256 reward);

    /// @notice A result was rejected by a game: the collateral was slashed and the reward
    ///         credited back to the submitter.
    /// @param job The job.
    /// @param game The game that rejected it.
    /// @param device The solver's device.
    event JobRejected(JobId indexed job, GameId indexed game, DeviceId indexed device);

    /// @notice The solver missed the execution deadline: its collateral was slashed to the
    ///         submitter and the reward credited back to the submitter.
    /// @param job The job.
    /// @param device The solver's device.
    /// @param slashed The collateral slashed.
    event JobExpired(JobId indexed job, DeviceId indexed device, uint256 slashed);

    /// @notice An account was credited (withdraw with `withdrawCredit`).
    /// @param account The account.
    /// @param job The job the credit comes from.
    /// @param amount The wei.
    event Credited(address indexed account, JobId indexed job, uint256 amount);

    /// @notice An account withdrew its credit.
    /// @param account The account.
    /// @param amount The wei.
    event CreditWithdrawn(address indexed account, uint256 amount);

    ////////////////////////////////////////////////////////////////
    //                         SUBMITTERS                         //
    ////////////////////////////////////////////////////////////////

    /// @notice Posts a job with `msg.value` as its reward, held in escrow.
    /// @param _params The job.
    /// @return job_ The new job's id.
    function postJob(JobParams calldata _params) external payable returns (JobId job_);

    /// @notice Cancels a job nobody has claimed; the reward is credited to the submitter.
    /// @param _job The job (the caller must have posted it).
    function cancelJob(JobId _job) external;

    ////////////////////////////////////////////////////////////////
    //                          SOLVERS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice Claims an open job for a device the caller owns, locking the job's
    ///         collateral from the device's stake.
    /// @param _job The job (open, claim deadline not passed).
    /// @param _device The device.
    function claimJob(JobId _job, DeviceId _device) external;

    /// @notice Submits the result of a claimed job; the challenge window starts.
    /// @param _job The job (the caller must be its solver, before the execution deadline).
    /// @param _traceRoot The trace root over `h_0..h_steps` (non-zero).
    /// @param _outputRoot The final output root (non-zero).
    /// @param _steps The step count (must be the job's).
    function submitResult(JobId _job, bytes32 _traceRoot, bytes32 _outputRoot, uint64 _steps) external;

    ////////////////////////////////////////////////////////////////
    //                        CHALLENGERS                         //
    ////////////////////////////////////////////////////////////////

    /// @notice Disputes a submitted result with a bond of `msg.value` (the job's
    ///         collateral) and opens a dispute game through the factory.
    /// @dev The trace root may be the solver's own: that disputes the output root alone.
    ///      With equal trace roots every checkpoint agrees and the game asks the solver, at
    ///      the last step, to open `h_N` from its trace root and show it equals its output
    ///      root: it cannot when the output root is wrong (it loses on time), and when the
    ///      output root is right the game ends for it (`NoDisagreement`) and the challenger
    ///      loses its bond.
    /// @param _job The job (submitted, within its challenge window).
    /// @param _challengerDevice A device the caller owns, for its reputation, or 0.
    /// @param _traceRoot The challenger's own trace root (non-zero; may equal the solver's).
    /// @return game_ The game's id.
    /// @return gameAddress_ The game's address.
    function challenge(JobId _job, DeviceId _challengerDevice, bytes32 _traceRoot)
        external
        payable
        returns (GameId game_, address gameAddress_);

    ////////////////////////////////////////////////////////////////
    //                          ANYONE                            //
    ////////////////////////////////////////////////////////////////

    /// @notice Finalizes a result after its challenge window when every game has reported
    ///         for the solver: the reward is credited to the solver, the collateral unlocked.
    /// @param _job The job.
    function finalize(JobId _job) external;

    /// @notice Ends a claimed job whose execution deadline passed without a result: the
    ///         collateral is slashed to the submitter and the reward credited back to it.
    /// @param _job The job.
    function expireJob(JobId _job) external;

    /// @notice Sends the caller its credit (rewards, refunds, bonds and shares of bonds).
    /// @return amount_ The wei sent.
    function withdrawCredit() external returns (uint256 amount_);

    ////////////////////////////////////////////////////////////////
    //                           VIEWS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice The device registry.
    /// @return registry_ The registry.
    function REGISTRY() external view returns (IDeviceRegistry registry_);

    /// @notice The dispute game factory.
    /// @return factory_ The factory.
    function FACTORY() external view returns (IDisputeGameFactory factory_);

    /// @notice The least collateral (and bond) a job may ask for, in wei.
    /// @return minCollateral_ `MIN_COLLATERAL`.
    function MIN_COLLATERAL() external view returns (uint256 minCollateral_);

    /// @notice The shortest challenge window, in seconds.
    /// @return window_ `MIN_CHALLENGE_WINDOW`.
    function MIN_CHALLENGE_WINDOW() external view returns (uint64 window_);

    /// @notice The longest challenge window, in seconds.
    /// @return window_ `MAX_CHALLENGE_WINDOW`.
    function MAX_CHALLENGE_WINDOW() external view returns (uint64 window_);

    /// @notice The winner's share of the loser's collateral or bond, in basis points; the
    ///         rest goes to the submitter (docs/contracts.md, "Amounts and shares").
    /// @return bps_ `WINNER_SHARE_BPS` (5,000: a half).
    function WINNER_SHARE_BPS() external view returns (uint256 bps_);

    /// @notice The number of jobs posted (the last id).
    /// @return count_ The count.
    function jobCount() external view returns (uint64 count_);

    /// @notice The number of games opened (the last id, across all jobs).
    /// @return count_ The count.
    function gameCount() external view returns (uint64 count_);

    /// @notice A job.
    /// @param _job The job (reverts if it does not exist).
    /// @return job_ The job.
    function jobOf(JobId _job) external view returns (Job memory job_);

    /// @notice A dispute.
    /// @param _game The game's id (reverts if it does not exist).
    /// @return dispute_ The dispute.
    function disputeOf(GameId _game) external view returns (Dispute memory dispute_);

    /// @notice An account's credit.
    /// @param _account The account.
    /// @return credit_ The wei.
    function creditOf(address _account) external view returns (uint256 credit_);
}

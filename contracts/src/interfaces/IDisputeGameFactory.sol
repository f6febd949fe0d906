// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DeviceId, GameId, JobId} from "./Types.sol";

/// @title IDisputeGameFactory
/// @notice What the JobMarket needs from a dispute game: a factory that opens one game per
///         challenge. The game then plays the dispute (docs/protocol.md, DESIGN "The dispute
///         game") and reports its outcome, exactly once, by calling
///         `IDisputeResolver(market).resolveDispute(jobId, gameId, solverWon)` from the game's
///         own address; the market moves the bond, the collateral and the reward.
/// @dev The caller of `create` is the market: a factory hands `msg.sender` to the game as
///      the address to report to. A game must end (chess clocks) so that the job it
///      disputes can be finalized: the market waits for every game it opened on a result.
///      A game is approved in the DeviceRegistry while it runs, so it may lock, unlock and
///      slash device stake of its own, but it does not have to: the market settles the
///      bond and the collateral itself.
interface IDisputeGameFactory {
    /// @notice Everything a game is opened with: the two parties and their commitments.
    /// @param job The disputed job.
    /// @param game The id the market gave this game (the game reports it back).
    /// @param solverDevice The device that submitted the result.
    /// @param challengerDevice The challenger's device, or 0 when it named none.
    /// @param solver The solver's address (the device owner).
    /// @param challenger The challenger's address.
    /// @param specHash keccak256 of the job spec.
    /// @param inputHash keccak256 of the job inputs.
    /// @param solverTraceRoot The solver's committed trace root (over `h_0..h_steps`).
    /// @param solverOutputRoot The solver's committed final output root.
    /// @param challengerTraceRoot The challenger's trace root (differs from the solver's).
    /// @param steps The program's step count: both traces have `steps + 1` checkpoints.
    /// @param bond The challenger's bond in wei (equal to the job's collateral).
    struct DisputeParams {
        JobId job;
        GameId game;
        DeviceId solverDevice;
        DeviceId challengerDevice;
        address solver;
        address challenger;
        bytes32 specHash;
        bytes32 inputHash;
        bytes32 solverTraceRoot;
        bytes32 solverOutputRoot;
        bytes32 challengerTraceRoot;
        uint64 steps;
        uint256 bond;
    }

    /// @notice Opens a dispute game.
    /// @param _params The parties and their commitments.
    /// @return game_ The new game's address (non-zero, with code); only it may report.
    function create(DisputeParams calldata _params) external returns (address game_);
}

/// @title IDisputeResolver
/// @notice The callback through which a dispute game reports its outcome to the market.
interface IDisputeResolver {
    /// @notice Reports the outcome of a game. Only the game itself, once.
    /// @param _job The disputed job.
    /// @param _game The game's id, as given in `DisputeParams.game`.
    /// @param _solverWon True if the solver's result stood, false if the challenger won.
    function resolveDispute(JobId _job, GameId _game, bool _solverWon) external;
}

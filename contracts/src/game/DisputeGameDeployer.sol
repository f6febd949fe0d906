// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDisputeGameFactory, IDisputeResolver} from "../interfaces/IDisputeGameFactory.sol";
import {DisputeGame} from "./DisputeGame.sol";
import {ProgramCommitment} from "./GameTypes.sol";
import {OneStepReplay} from "./OneStepReplay.sol";

/// @title DisputeGameDeployer
/// @notice Holds `DisputeGame`'s creation code and deploys games for the factory, so that
///         the factory itself stays far below the contract size limit (a contract that
///         says `new DisputeGame` carries the game's whole creation code).
/// @dev Stateless; anyone may deploy a game with it, which gives that caller nothing: a
///      game's report counts only if the market opened it through its factory.
contract DisputeGameDeployer {
    /// @notice Semantic version.
    string public constant version = "0.1.0";

    /// @notice Deploys a game (see `DisputeGame`'s constructor).
    /// @param _params The parties and their commitments.
    /// @param _program The job's program commitment.
    /// @param _bound Whether the job has one.
    /// @param _clock Seconds on each party's clock.
    /// @param _market The market the game reports to.
    /// @param _replayer The one-element replay.
    /// @return game_ The game.
    function deploy(
        IDisputeGameFactory.DisputeParams calldata _params,
        ProgramCommitment calldata _program,
        bool _bound,
        uint64 _clock,
        IDisputeResolver _market,
        OneStepReplay _replayer
    ) external returns (address game_) {
        game_ = address(new DisputeGame(_params, _program, _bound, _clock, _market, _replayer));
    }
}

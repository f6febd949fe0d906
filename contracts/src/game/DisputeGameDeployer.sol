// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDisputeGameFactory, IDisputeResolver} from "../interfaces/IDisputeGameFactory.sol";
import {CloneWithArgs} from "./CloneWithArgs.sol";
import {DisputeGame} from "./DisputeGame.sol";
import {GameArgs} from "./GameArgs.sol";
import {ProgramCommitment} from "./GameTypes.sol";
import {OneStepReplay} from "./OneStepReplay.sol";

/// @title DisputeGameDeployer
/// @notice Deploys the `DisputeGame` implementation once (in its constructor) and opens
///         each game for the factory as a minimal proxy of it (`CloneWithArgs`: EIP-1167
///         with the game's parameters appended to the clone's code), initialised in the
///         same call. A game costs a clone and its first round's storage instead of a
///         whole deployment, and the factory stays far below the contract size limit.
/// @dev Stateless; anyone may deploy a game with it, which gives that caller nothing: a
///      game's report counts only if the market opened it through its factory. Only this
///      contract can initialise clones of its implementation (`DisputeGame.initialize`).
contract DisputeGameDeployer {
    /// @notice Semantic version.
    string public constant version = "0.2.0";

    /// @notice The implementation every game delegates to (resolved; not playable itself).
    DisputeGame public immutable IMPLEMENTATION;

    /// @notice Deploys the implementation.
    constructor() {
        IMPLEMENTATION = new DisputeGame();
    }

    /// @notice Opens a game: a clone of `IMPLEMENTATION` carrying the parameters, then
    ///         initialised (its first round starts now).
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
        bytes memory args = GameArgs.encode(_params, _program, _bound, _clock, _market, _replayer);
        game_ = CloneWithArgs.clone(address(IMPLEMENTATION), args);
        DisputeGame(game_).initialize();
    }
}

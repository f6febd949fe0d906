// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../../src/interfaces/IDeviceRegistry.sol";
import {IDisputeGameFactory, IDisputeResolver} from "../../src/interfaces/IDisputeGameFactory.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {DeviceId, GameId, JobId} from "../../src/interfaces/Types.sol";

/// @title DisputeGameDouble
/// @notice TEST ONLY: a stand-in for the dispute game (not written yet) whose outcome the
///         test decides. It keeps what the market opened it with and reports to the market
///         when told to; it can also use the registry powers an approved game has.
contract DisputeGameDouble {
    /// @notice The market that opened the game (the factory's caller).
    IDisputeResolver public immutable MARKET;

    /// @notice What the market opened the game with.
    IDisputeGameFactory.DisputeParams public params;

    /// @notice Keeps the market and the parameters.
    /// @param _market The market.
    /// @param _params The parameters.
    constructor(IDisputeResolver _market, IDisputeGameFactory.DisputeParams memory _params) {
        MARKET = _market;
        params = _params;
    }

    /// @notice Reports the outcome the test chose.
    /// @param _solverWon Whether the solver won.
    function resolve(bool _solverWon) external {
        MARKET.resolveDispute(params.job, params.game, _solverWon);
    }

    /// @notice Reports with any ids (to test the market's checks).
    /// @param _job The job id to report.
    /// @param _game The game id to report.
    /// @param _solverWon Whether the solver won.
    function resolveAs(JobId _job, GameId _game, bool _solverWon) external {
        MARKET.resolveDispute(_job, _game, _solverWon);
    }

    /// @notice `IDeviceRegistry.lock` from this game.
    /// @param _registry The registry.
    /// @param _device The device.
    /// @param _amount The wei.
    function lock(IDeviceRegistry _registry, DeviceId _device, uint256 _amount) external {
        _registry.lock(_device, _amount);
    }

    /// @notice `IDeviceRegistry.unlock` from this game.
    /// @param _registry The registry.
    /// @param _device The device.
    /// @param _amount The wei.
    function unlock(IDeviceRegistry _registry, DeviceId _device, uint256 _amount) external {
        _registry.unlock(_device, _amount);
    }

    /// @notice `IDeviceRegistry.slash` from this game.
    /// @param _registry The registry.
    /// @param _device The device.
    /// @param _amount The wei.
    /// @param _recipient Who is credited.
    function slash(IDeviceRegistry _registry, DeviceId _device, uint256 _amount, address _recipient) external {
        _registry.slash(_device, _amount, _recipient);
    }

    /// @notice The job this game disputes.
    /// @return job_ The job.
    function job() external view returns (JobId job_) {
        job_ = params.job;
    }

    /// @notice This game's id.
    /// @return game_ The id.
    function gameId() external view returns (GameId game_) {
        game_ = params.game;
    }

    /// @notice The full parameters (the public getter flattens the struct).
    /// @return params_ The parameters.
    function allParams() external view returns (IDisputeGameFactory.DisputeParams memory params_) {
        params_ = params;
    }
}

/// @title DisputeGameFactoryDouble
/// @notice TEST ONLY: opens a `DisputeGameDouble` per challenge, or misbehaves on purpose
///         (returns no game, repeats a game, re-enters the market) for the revert tests, or
///         returns a game built beforehand (so that gas figures show the market's own cost).
contract DisputeGameFactoryDouble is IDisputeGameFactory {
    /// @notice How `create` behaves.
    enum Mode {
        Normal,
        ReturnZero,
        ReturnLast,
        Reenter,
        Prebuilt
    }

    /// @notice The behaviour of the next `create`.
    Mode public mode;

    /// @notice The game created last.
    address public lastGame;

    /// @notice The game `create` returns in `Prebuilt` mode.
    address public prebuilt;

    /// @notice Games by the id the market gave them.
    mapping(GameId game => address gameAddress) public games;

    /// @notice Sets the behaviour of the next `create` calls.
    /// @param _mode The behaviour.
    function setMode(Mode _mode) external {
        mode = _mode;
    }

    /// @notice Builds the game the next `create` returns (for the market `_market`).
    /// @param _market The market the game reports to.
    /// @param _params What the market will open it with.
    /// @return game_ The game.
    function prebuild(IDisputeResolver _market, DisputeParams calldata _params) external returns (address game_) {
        game_ = address(new DisputeGameDouble(_market, _params));
        prebuilt = game_;
        mode = Mode.Prebuilt;
    }

    /// @inheritdoc IDisputeGameFactory
    function create(DisputeParams calldata _params) external returns (address game_) {
        if (mode == Mode.Prebuilt) {
            mode = Mode.Normal;
            return prebuilt;
        }
        if (mode == Mode.ReturnZero) return address(0);
        if (mode == Mode.ReturnLast) return lastGame;
        if (mode == Mode.Reenter) IJobMarket(msg.sender).withdrawCredit();
        game_ = address(new DisputeGameDouble(IDisputeResolver(msg.sender), _params));
        lastGame = game_;
        games[_params.game] = game_;
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../../src/interfaces/IDeviceRegistry.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {DeviceId, GameId, JobId} from "../../src/interfaces/Types.sol";
import {JobMarket} from "../../src/market/JobMarket.sol";
import {DeviceRegistry} from "../../src/registry/DeviceRegistry.sol";
import {Test} from "../lib/Test.sol";
import {DisputeGameDouble} from "../market/DisputeGameDouble.sol";

/// @title MarketHandler
/// @notice The actors of the invariant suite: five accounts that register devices, stake,
///         unstake, post, cancel, claim, submit, challenge, finalize and expire jobs,
///         withdraw credits, and dispute games (the test double) that report outcomes and
///         use their own lock, unlock and slash powers. Every action picks a target that
///         meets its preconditions (or does nothing), so no call is expected to revert: the
///         suite runs with `fail_on_revert`, and a revert is a bug.
/// @dev Ghost variables record every wei in and out of each contract and every slash the
///      rules call for, independently of the contracts' own bookkeeping.
contract MarketHandler is Test {
    ////////////////////////////////////////////////////////////////
    //                          CONFIG                            //
    ////////////////////////////////////////////////////////////////

    /// @dev Bounds that keep a run's state small enough to scan.
    uint256 internal constant MAX_DEVICES = 8;
    uint256 internal constant MAX_JOBS = 48;
    uint256 internal constant MAX_GAMES = 48;

    DeviceRegistry public immutable registry;
    JobMarket public immutable market;
    uint256 internal immutable MIN_STAKE;
    uint256 internal immutable MIN_COLLATERAL;
    uint64 internal immutable MIN_WINDOW;

    /// @notice The accounts that act (every credit goes to one of them).
    address[] public actors;

    /// @notice The devices registered.
    DeviceId[] public devices;

    ////////////////////////////////////////////////////////////////
    //                          GHOSTS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice Wei sent to the registry (registrations, top-ups).
    uint256 public ghostRegistryIn;
    /// @notice Wei sent out by the registry (stake and credit withdrawals).
    uint256 public ghostRegistryOut;
    /// @notice Wei sent to the market (rewards, bonds).
    uint256 public ghostMarketIn;
    /// @notice Wei sent out by the market (credit withdrawals).
    uint256 public ghostMarketOut;
    /// @notice Stake put into each device.
    mapping(DeviceId device => uint256 amount) public ghostDeviceIn;
    /// @notice Stake withdrawn from each device.
    mapping(DeviceId device => uint256 amount) public ghostDeviceOut;
    /// @notice What the rules say each device must have been slashed: the collateral of
    ///         each of its jobs that expired or was rejected, plus what games slashed.
    mapping(DeviceId device => uint256 amount) public ghostSlashed;
    /// @notice How many times each action did something (for the summary).
    mapping(string action => uint256 count) public calls;

    /// @notice The sum of the actors' ETH at the start.
    uint256 public initialActorBalance;

    /// @notice Creates the actors, each with 10,000 ETH.
    constructor(DeviceRegistry _registry, JobMarket _market) {
        registry = _registry;
        market = _market;
        MIN_STAKE = _registry.MIN_STAKE();
        MIN_COLLATERAL = _market.MIN_COLLATERAL();
        MIN_WINDOW = _market.MIN_CHALLENGE_WINDOW();
        for (uint256 i; i < 5; ++i) {
            address actor = vm.addr(0xA11CE + i);
            vm.deal(actor, 10_000 ether);
            actors.push(actor);
            initialActorBalance += 10_000 ether;
        }
    }

    ////////////////////////////////////////////////////////////////
    //                     DEVICE OWNER ACTIONS                   //
    ////////////////////////////////////////////////////////////////

    /// @notice An actor registers a device.
    function register(uint256 _actor, uint256 _stake) external {
        _register(_actor, bound(_stake, MIN_STAKE, 10 ether));
    }

    /// @notice An owner tops up a device.
    function addStake(uint256 _device, uint256 _amount) external {
        if (devices.length == 0) return;
        DeviceId device = devices[_device % devices.length];
        uint256 amount = bound(_amount, 1, 5 ether);
        vm.prank(registry.ownerOf(device));
        registry.addStake{value: amount}(device);
        ghostRegistryIn += amount;
        ghostDeviceIn[device] += amount;
        ++calls["addStake"];
    }

    /// @notice An owner starts unbonding some free stake (or all of it, when none is locked).
    function requestUnstake(uint256 _device, uint256 _amount) external {
        if (devices.length == 0) return;
        DeviceId device = devices[_device % devices.length];
        IDeviceRegistry.Stake memory stake = registry.stakeOf(device);
        uint256 amount;
        if (stake.locked == 0 && stake.bonded != 0 && _amount % 4 == 0) {
            amount = stake.bonded;
        } else {
            uint256 free = stake.bonded - stake.locked;
            uint256 maxPartial = stake.bonded >= MIN_STAKE ? stake.bonded - MIN_STAKE : 0;
            if (free < maxPartial) maxPartial = free;
            if (maxPartial == 0) return;
            amount = bound(_amount, 1, maxPartial);
        }
        vm.prank(registry.ownerOf(device));
        registry.requestUnstake(device, amount);
        ++calls["requestUnstake"];
    }

    /// @notice An owner withdraws unbonded stake (time moves on to when it is ready).
    function withdrawStake(uint256 _device) external {
        if (devices.length == 0) return;
        DeviceId device = devices[_device % devices.length];
        IDeviceRegistry.Stake memory stake = registry.stakeOf(device);
        if (stake.unbonding == 0) return;
        if (_now() < stake.readyAt) vm.warp(stake.readyAt);
        vm.prank(registry.ownerOf(device));
        uint256 amount = registry.withdrawStake(device);
        ghostRegistryOut += amount;
        ghostDeviceOut[device] += amount;
        ++calls["withdrawStake"];
    }

    ////////////////////////////////////////////////////////////////
    //                       MARKET ACTIONS                       //
    ////////////////////////////////////////////////////////////////

    /// @notice An actor posts a job.
    function postJob(
        uint256 _actor,
        uint256 _reward,
        uint256 _collateral,
        uint256 _claimIn,
        uint256 _execAfter,
        uint256 _window
    ) external {
        _post(_actor, _reward, _collateral, _claimIn, _execAfter, _window);
    }

    /// @notice A submitter cancels an open job.
    function cancelJob(uint256 _job) external {
        (bool found, JobId job) = _findJob(_job, IJobMarket.JobState.Open, false);
        if (!found) return;
        vm.prank(market.jobOf(job).submitter);
        market.cancelJob(job);
        ++calls["cancelJob"];
    }

    /// @notice A device owner claims an open job (posting one, and registering or topping
    ///         up a device, when none fits).
    function claimJob(uint256 _job, uint256 _device) external {
        _claim(_job, _device);
    }

    /// @notice A solver submits in time (claiming a job first when none is claimed).
    function submitResult(uint256 _job, bytes32 _trace) external {
        _submit(_job, _trace);
    }

    /// @notice An actor challenges a result in its window, naming one of its devices or not
    ///         (a result is submitted first when none is in its window).
    function challenge(uint256 _job, uint256 _actor, bool _withDevice) external {
        _challenge(_job, _actor, _withDevice);
    }

    /// @notice A game reports an outcome (a game is opened first when none is running).
    function resolve(uint256 _game, bool _solverWon) external {
        (bool found, GameId game) = _findOpenGame(_game);
        if (!found) (found, game) = _challenge(_game, _game >> 8, _solverWon);
        if (!found) return;
        _resolve(game, _solverWon);
        ++calls["resolve"];
    }

    /// @notice Anyone finalizes a result whose games all reported (time moves past the
    ///         window if needed).
    function finalize(uint256 _job) external {
        (bool found, JobId job) = _findJob(_job, IJobMarket.JobState.Submitted, false);
        if (!found) return;
        IJobMarket.Job memory record = market.jobOf(job);
        if (record.openDisputes != 0) return;
        if (_now() <= record.challengeDeadline) vm.warp(uint256(record.challengeDeadline) + 1);
        market.finalize(job);
        ++calls["finalize"];
    }

    /// @notice Anyone expires a claimed job (time moves past the deadline if needed).
    function expireJob(uint256 _job) external {
        (bool found, JobId job) = _findJob(_job, IJobMarket.JobState.Claimed, false);
        if (!found) return;
        _expire(job);
        ++calls["expireJob"];
    }

    /// @notice An actor withdraws its market credit.
    function withdrawMarketCredit(uint256 _actor) external {
        for (uint256 i; i < actors.length; ++i) {
            address actor = actors[(_actor % actors.length + i) % actors.length];
            if (market.creditOf(actor) == 0) continue;
            vm.prank(actor);
            ghostMarketOut += market.withdrawCredit();
            ++calls["withdrawMarketCredit"];
            return;
        }
    }

    /// @notice An actor withdraws its registry credit (slashed stake paid to it).
    function withdrawRegistryCredit(uint256 _actor) external {
        for (uint256 i; i < actors.length; ++i) {
            address actor = actors[(_actor % actors.length + i) % actors.length];
            if (registry.creditOf(actor) == 0) continue;
            vm.prank(actor);
            ghostRegistryOut += registry.withdrawCredit();
            ++calls["withdrawRegistryCredit"];
            return;
        }
    }

    /// @notice Time passes.
    function warp(uint256 _seconds) external {
        vm.warp(block.timestamp + bound(_seconds, 0, 4 days));
        ++calls["warp"];
    }

    ////////////////////////////////////////////////////////////////
    //                     APPROVED-GAME POWERS                   //
    ////////////////////////////////////////////////////////////////

    /// @notice A running game locks some free stake of a device.
    function gameLock(uint256 _game, uint256 _device, uint256 _amount) external {
        (bool found, GameId game) = _findOpenGame(_game);
        if (!found) return;
        (bool ok, DeviceId device) = _findDeviceWithFree(_device, 1, address(0), DeviceId.wrap(0));
        if (!ok) return;
        uint256 amount = bound(_amount, 1, registry.freeStake(device));
        _gameAt(game).lock(registry, device, amount);
        ++calls["gameLock"];
    }

    /// @notice A game (running or ended) releases or slashes part of a lock it holds.
    function gameRelease(uint256 _game, uint256 _device, uint256 _amount, bool _slash, uint256 _recipient) external {
        uint64 games = market.gameCount();
        if (games == 0 || devices.length == 0) return;
        for (uint256 i; i < games; ++i) {
            GameId game = GameId.wrap(uint64((_game % games + i) % games + 1));
            for (uint256 j; j < devices.length; ++j) {
                DeviceId device = devices[(_device % devices.length + j) % devices.length];
                uint256 held = registry.lockedBy(device, address(_gameAt(game)));
                if (held == 0) continue;
                uint256 amount = bound(_amount, 1, held);
                if (_slash) {
                    _gameAt(game).slash(registry, device, amount, _pickActor(_recipient));
                    ghostSlashed[device] += amount;
                    ++calls["gameSlash"];
                } else {
                    _gameAt(game).unlock(registry, device, amount);
                    ++calls["gameUnlock"];
                }
                return;
            }
        }
    }

    ////////////////////////////////////////////////////////////////
    //                 DRAIN (called by afterInvariant)           //
    ////////////////////////////////////////////////////////////////

    /// @notice Ends everything: every game reports, every game lock is released, every job
    ///         reaches a final state, every credit and every stake is withdrawn.
    /// @param _seed Decides the outcomes of the games still open.
    function drain(uint256 _seed) external {
        uint64 games = market.gameCount();
        for (uint64 g = 1; g <= games; ++g) {
            GameId game = GameId.wrap(g);
            if (market.disputeOf(game).state == IJobMarket.DisputeState.Open) _resolve(game, (_seed >> g) & 1 == 1);
            for (uint256 j; j < devices.length; ++j) {
                uint256 held = registry.lockedBy(devices[j], address(_gameAt(game)));
                if (held != 0) _gameAt(game).unlock(registry, devices[j], held);
            }
        }

        vm.warp(block.timestamp + 30 days);
        uint64 jobs = market.jobCount();
        for (uint64 i = 1; i <= jobs; ++i) {
            JobId job = JobId.wrap(i);
            IJobMarket.Job memory record = market.jobOf(job);
            if (record.state == IJobMarket.JobState.Open) {
                vm.prank(record.submitter);
                market.cancelJob(job);
            } else if (record.state == IJobMarket.JobState.Claimed) {
                _expire(job);
            } else if (record.state == IJobMarket.JobState.Submitted) {
                market.finalize(job);
            }
        }

        for (uint256 i; i < actors.length; ++i) {
            vm.startPrank(actors[i]);
            if (market.creditOf(actors[i]) != 0) ghostMarketOut += market.withdrawCredit();
            if (registry.creditOf(actors[i]) != 0) ghostRegistryOut += registry.withdrawCredit();
            vm.stopPrank();
        }

        for (uint256 j; j < devices.length; ++j) {
            IDeviceRegistry.Stake memory stake = registry.stakeOf(devices[j]);
            if (stake.bonded != 0) {
                vm.prank(registry.ownerOf(devices[j]));
                registry.requestUnstake(devices[j], stake.bonded);
            }
        }
        vm.warp(block.timestamp + registry.UNBONDING_PERIOD());
        for (uint256 j; j < devices.length; ++j) {
            if (registry.stakeOf(devices[j]).unbonding == 0) continue;
            vm.prank(registry.ownerOf(devices[j]));
            uint256 amount = registry.withdrawStake(devices[j]);
            ghostRegistryOut += amount;
            ghostDeviceOut[devices[j]] += amount;
        }
    }

    ////////////////////////////////////////////////////////////////
    //                           VIEWS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice The number of actors.
    function actorCount() external view returns (uint256 count_) {
        count_ = actors.length;
    }

    /// @notice The number of devices.
    function deviceCount() external view returns (uint256 count_) {
        count_ = devices.length;
    }

    /// @notice The sum of the actors' ETH now.
    function actorBalance() external view returns (uint256 balance_) {
        for (uint256 i; i < actors.length; ++i) {
            balance_ += actors[i].balance;
        }
    }

    ////////////////////////////////////////////////////////////////
    //                          INTERNAL                          //
    ////////////////////////////////////////////////////////////////

    /// @dev Registers a device for the actor a seed picks.
    function _register(uint256 _actor, uint256 _stake) internal returns (bool ok_, DeviceId device_) {
        if (devices.length >= MAX_DEVICES) return (false, device_);
        vm.prank(_pickActor(_actor));
        device_ = registry.register{value: _stake}(IDeviceRegistry.Metadata("d", "cpu", "x86", "http://d"));
        devices.push(device_);
        ghostRegistryIn += _stake;
        ghostDeviceIn[device_] += _stake;
        ++calls["register"];
        ok_ = true;
    }

    /// @dev Posts a job from the actor a seed picks, with bounded parameters.
    function _post(
        uint256 _actor,
        uint256 _reward,
        uint256 _collateral,
        uint256 _claimIn,
        uint256 _execAfter,
        uint256 _window
    ) internal returns (bool ok_, JobId job_) {
        if (market.jobCount() >= MAX_JOBS) return (false, job_);
        uint256 reward = bound(_reward, 1, 10 ether);
        IJobMarket.JobParams memory p = IJobMarket.JobParams({
            specHash: keccak256(abi.encode("spec", _reward)),
            inputHash: keccak256(abi.encode("input", _collateral)),
            claimDeadline: uint64(_now() + bound(_claimIn, 0, 2 days)),
            executionDeadline: 0,
            challengeWindow: uint64(bound(_window, MIN_WINDOW, 2 days)),
            steps: 100,
            collateral: uint128(bound(_collateral, MIN_COLLATERAL, 3 ether))
        });
        p.executionDeadline = p.claimDeadline + uint64(bound(_execAfter, 1, 3 days));
        vm.prank(_pickActor(_actor));
        job_ = market.postJob{value: reward}(p);
        ghostMarketIn += reward;
        ++calls["postJob"];
        ok_ = true;
    }

    /// @dev Claims an open job in time, posting one when none is, with a device whose free
    ///      stake covers the collateral, registering or topping one up when none does.
    function _claim(uint256 _job, uint256 _device) internal returns (bool ok_, JobId job_) {
        (ok_, job_) = _findJob(_job, IJobMarket.JobState.Open, true);
        if (!ok_) (ok_, job_) = _post(_job, _device, _job >> 16, _job >> 32, _job >> 48, _device >> 16);
        if (!ok_) return (false, job_);
        uint256 collateral = market.jobOf(job_).collateral;
        (bool found, DeviceId device) = _findDeviceWithFree(_device, collateral, address(0), DeviceId.wrap(0));
        if (!found) {
            uint256 stake = collateral < MIN_STAKE ? MIN_STAKE : collateral;
            (found, device) = _register(_device, stake);
        }
        if (!found) {
            device = devices[_device % devices.length];
            uint256 free = registry.freeStake(device);
            uint256 bonded = registry.stakeOf(device).bonded;
            uint256 topUp = collateral > free ? collateral - free : 0;
            if (bonded + topUp < MIN_STAKE) topUp = MIN_STAKE - bonded;
            if (topUp != 0) {
                vm.prank(registry.ownerOf(device));
                registry.addStake{value: topUp}(device);
                ghostRegistryIn += topUp;
                ghostDeviceIn[device] += topUp;
            }
        }
        vm.prank(registry.ownerOf(device));
        market.claimJob(job_, device);
        ++calls["claimJob"];
    }

    /// @dev Submits the result of a claimed job in time, claiming one when none is.
    function _submit(uint256 _job, bytes32 _trace) internal returns (bool ok_, JobId job_) {
        (ok_, job_) = _findJob(_job, IJobMarket.JobState.Claimed, true);
        if (!ok_) (ok_, job_) = _claim(_job, uint256(_trace));
        if (!ok_) return (false, job_);
        IJobMarket.Job memory record = market.jobOf(job_);
        bytes32 trace = keccak256(abi.encode(_trace, "trace"));
        vm.prank(record.solver);
        market.submitResult(job_, trace, keccak256(abi.encode(trace)), record.steps);
        ++calls["submitResult"];
    }

    /// @dev Challenges a result in its window, submitting one when none is.
    function _challenge(uint256 _job, uint256 _actor, bool _withDevice) internal returns (bool ok_, GameId game_) {
        if (market.gameCount() >= MAX_GAMES) return (false, game_);
        (bool found, JobId job) = _findJob(_job, IJobMarket.JobState.Submitted, true);
        if (!found) (found, job) = _submit(_job, bytes32(_actor));
        if (!found) return (false, game_);
        IJobMarket.Job memory record = market.jobOf(job);
        address actor = _pickActor(_actor);
        DeviceId device;
        if (_withDevice) {
            (bool own, DeviceId owned) = _findDeviceWithFree(_actor, 0, actor, record.device);
            if (own) device = owned;
        }
        // Now and then the solver's own trace root: a dispute of the output root alone.
        bytes32 trace =
            (_actor >> 128) % 4 == 0 ? record.traceRoot : keccak256(abi.encode(record.traceRoot, market.gameCount()));
        vm.prank(actor);
        (game_,) = market.challenge{value: record.collateral}(job, device, trace);
        ghostMarketIn += record.collateral;
        ++calls["challenge"];
        ok_ = true;
    }

    /// @dev Reports a game's outcome and records the slash the rules call for.
    function _resolve(GameId _game, bool _solverWon) internal {
        IJobMarket.Dispute memory dispute = market.disputeOf(_game);
        IJobMarket.Job memory record = market.jobOf(dispute.job);
        if (!_solverWon && record.state == IJobMarket.JobState.Submitted) {
            ghostSlashed[record.device] += record.collateral;
        }
        DisputeGameDouble(dispute.game).resolve(_solverWon);
    }

    /// @dev Expires a claimed job after its deadline and records the slash.
    function _expire(JobId _job) internal {
        IJobMarket.Job memory record = market.jobOf(_job);
        if (_now() <= record.executionDeadline) vm.warp(uint256(record.executionDeadline) + 1);
        ghostSlashed[record.device] += record.collateral;
        market.expireJob(_job);
    }

    /// @dev The block time.
    function _now() internal view returns (uint256 now_) {
        now_ = block.timestamp;
    }

    /// @dev The actor a seed picks.
    function _pickActor(uint256 _seed) internal view returns (address actor_) {
        actor_ = actors[_seed % actors.length];
    }

    /// @dev The game double of a dispute.
    function _gameAt(GameId _game) internal view returns (DisputeGameDouble game_) {
        game_ = DisputeGameDouble(market.disputeOf(_game).game);
    }

    /// @dev A job in `_state`, starting the scan at the seed; with `_inTime`, one whose
    ///      deadline for the next step (claim, execution or challenge) has not passed.
    function _findJob(uint256 _seed, IJobMarket.JobState _state, bool _inTime)
        internal
        view
        returns (bool found_, JobId job_)
    {
        uint64 n = market.jobCount();
        for (uint256 i; i < n; ++i) {
            JobId job = JobId.wrap(uint64((_seed % n + i) % n + 1));
            IJobMarket.Job memory record = market.jobOf(job);
            if (record.state != _state) continue;
            if (_inTime) {
                uint64 deadline = _state == IJobMarket.JobState.Open
                    ? record.claimDeadline
                    : _state == IJobMarket.JobState.Claimed ? record.executionDeadline : record.challengeDeadline;
                if (_now() > deadline) continue;
            }
            return (true, job);
        }
    }

    /// @dev An open dispute, starting the scan at the seed.
    function _findOpenGame(uint256 _seed) internal view returns (bool found_, GameId game_) {
        uint64 n = market.gameCount();
        for (uint256 i; i < n; ++i) {
            GameId game = GameId.wrap(uint64((_seed % n + i) % n + 1));
            if (market.disputeOf(game).state == IJobMarket.DisputeState.Open) return (true, game);
        }
    }

    /// @dev An active device with at least `_free` unlocked stake, owned by `_owner` unless
    ///      that is zero, and other than `_not`.
    function _findDeviceWithFree(uint256 _seed, uint256 _free, address _owner, DeviceId _not)
        internal
        view
        returns (bool found_, DeviceId device_)
    {
        uint256 n = devices.length;
        for (uint256 i; i < n; ++i) {
            DeviceId device = devices[(_seed % n + i) % n];
            if (device == _not) continue;
            if (_owner != address(0) && registry.ownerOf(device) != _owner) continue;
            IDeviceRegistry.Stake memory stake = registry.stakeOf(device);
            if (stake.bonded < MIN_STAKE || stake.bonded - stake.locked < _free) continue;
            return (true, device);
        }
    }
}

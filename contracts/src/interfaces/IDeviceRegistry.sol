// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DeviceId} from "./Types.sol";

/// @title IDeviceRegistry
/// @notice Device identities with native-ETH stake, the locks that back jobs and disputes,
///         and the reputation counters of a leaderboard. See docs/contracts.md.
/// @dev Authorisation: the market (set once by the deployer) and the dispute games the
///      market approves may lock, unlock and slash stake; each can only unlock or slash what
///      it locked itself. Only the market records reputation.
interface IDeviceRegistry {
    ////////////////////////////////////////////////////////////////
    //                           TYPES                            //
    ////////////////////////////////////////////////////////////////

    /// @notice What a device says about itself (free text, bounded in length).
    /// @param name A display name (non-empty).
    /// @param backend The executor backend it runs, e.g. `wgpu-vulkan` or `cpu`.
    /// @param hardwareClass The hardware, e.g. `nvidia-h100`.
    /// @param endpoint The HTTP(S) URL where it serves job inputs and results.
    struct Metadata {
        string name;
        string backend;
        string hardwareClass;
        string endpoint;
    }

    /// @notice A device's stake, in wei.
    /// @param bonded Stake that backs work; `locked` of it is held by jobs and disputes.
    /// @param locked The part of `bonded` locked by the market and approved games.
    /// @param unbonding Stake on its way out: no longer bonded, withdrawable at `readyAt`.
    /// @param readyAt When `unbonding` can be withdrawn (unix seconds; 0 when nothing is).
    struct Stake {
        uint128 bonded;
        uint128 locked;
        uint128 unbonding;
        uint64 readyAt;
    }

    /// @notice A device's track record, for anyone to rank devices by.
    /// @param jobsCompleted Jobs whose result was finalized.
    /// @param disputesWon Dispute games the device won (as solver or as challenger).
    /// @param disputesLost Dispute games the device lost (as solver or as challenger).
    /// @param amountSlashed Total wei slashed from its stake.
    struct Reputation {
        uint64 jobsCompleted;
        uint64 disputesWon;
        uint64 disputesLost;
        uint128 amountSlashed;
    }

    ////////////////////////////////////////////////////////////////
    //                           ERRORS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice Only the deployer may set the market.
    /// @param caller The caller.
    error NotDeployer(address caller);

    /// @notice The market is set once; it already is.
    /// @param market The market already set.
    error MarketAlreadySet(address market);

    /// @notice An address that must be set is zero.
    error ZeroAddress();

    /// @notice Only the market may call this.
    /// @param caller The caller.
    error NotMarket(address caller);

    /// @notice Only the market or a game it approved may call this.
    /// @param caller The caller.
    error NotAuthorised(address caller);

    /// @notice The game is already approved (a factory returned the same address twice).
    /// @param game The game.
    error GameAlreadyApproved(address game);

    /// @notice The game is not approved.
    /// @param game The game.
    error GameNotApproved(address game);

    /// @notice No device has this id.
    /// @param device The id.
    error DeviceNotFound(DeviceId device);

    /// @notice Only the device's owner may call this.
    /// @param device The device.
    /// @param caller The caller.
    error NotDeviceOwner(DeviceId device, address caller);

    /// @notice The stake sent to register is below the minimum.
    /// @param amount The wei sent.
    /// @param minimum `MIN_STAKE`.
    error StakeBelowMinimum(uint256 amount, uint256 minimum);

    /// @notice A device must have a name.
    error EmptyName();

    /// @notice A metadata field is longer than `MAX_METADATA_BYTES`.
    /// @param length The field's length in bytes.
    /// @param max `MAX_METADATA_BYTES`.
    error MetadataTooLong(uint256 length, uint256 max);

    /// @notice An amount that must be positive is zero.
    error ZeroAmount();

    /// @notice An amount does not fit the 128-bit stake fields.
    /// @param amount The amount.
    error AmountOverflow(uint256 amount);

    /// @notice The device's unlocked bonded stake does not cover the amount.
    /// @param device The device.
    /// @param requested The amount asked for.
    /// @param free `bonded - locked`.
    error InsufficientFreeStake(DeviceId device, uint256 requested, uint256 free);

    /// @notice Unstaking would leave a bonded stake that is neither zero nor the minimum.
    /// @param device The device.
    /// @param remaining The bonded stake that would remain.
    /// @param minimum `MIN_STAKE`.
    error RemainingStakeBelowMinimum(DeviceId device, uint256 remaining, uint256 minimum);

    /// @notice The device has nothing unbonding to withdraw.
    /// @param device The device.
    error NothingUnbonding(DeviceId device);

    /// @notice The unbonding period has not passed yet.
    /// @param device The device.
    /// @param readyAt When the stake can be withdrawn.
    /// @param now_ The block time.
    error UnbondingNotReady(DeviceId device, uint64 readyAt, uint64 now_);

    /// @notice The device's bonded stake is below the minimum, so nothing can be locked.
    /// @param device The device.
    /// @param bonded Its bonded stake.
    /// @param minimum `MIN_STAKE`.
    error DeviceNotActive(DeviceId device, uint256 bonded, uint256 minimum);

    /// @notice The caller has not locked that much of the device's stake.
    /// @param device The device.
    /// @param locker The caller.
    /// @param requested The amount to unlock or slash.
    /// @param locked What the caller holds locked.
    error InsufficientLock(DeviceId device, address locker, uint256 requested, uint256 locked);

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

    /// @notice The market was set (once).
    /// @param market The JobMarket.
    event MarketSet(address indexed market);

    /// @notice The market approved a dispute game to lock and slash stake.
    /// @param game The game.
    event GameApproved(address indexed game);

    /// @notice The market revoked a game's approval (it can still release its own locks).
    /// @param game The game.
    event GameRevoked(address indexed game);

    /// @notice A device was registered.
    /// @param device Its id.
    /// @param owner Its owner.
    /// @param stake The stake sent with it.
    /// @param metadata What it says about itself.
    event DeviceRegistered(DeviceId indexed device, address indexed owner, uint256 stake, Metadata metadata);

    /// @notice A device's metadata changed.
    /// @param device The device.
    /// @param metadata The new metadata.
    event MetadataUpdated(DeviceId indexed device, Metadata metadata);

    /// @notice Stake was added to a device.
    /// @param device The device.
    /// @param amount The wei added.
    /// @param bonded Its bonded stake after.
    event StakeAdded(DeviceId indexed device, uint256 amount, uint256 bonded);

    /// @notice Stake started unbonding.
    /// @param device The device.
    /// @param amount The wei moved from bonded to unbonding.
    /// @param unbonding The total unbonding after.
    /// @param readyAt When it can be withdrawn (the period restarts with each request).
    event UnstakeRequested(DeviceId indexed device, uint256 amount, uint256 unbonding, uint64 readyAt);

    /// @notice Unbonded stake was withdrawn to the owner.
    /// @param device The device.
    /// @param owner The owner who received it.
    /// @param amount The wei.
    event StakeWithdrawn(DeviceId indexed device, address indexed owner, uint256 amount);

    /// @notice Stake was locked.
    /// @param device The device.
    /// @param locker The market or game that locked it.
    /// @param amount The wei locked now.
    /// @param locked The device's total locked stake after.
    event StakeLocked(DeviceId indexed device, address indexed locker, uint256 amount, uint256 locked);

    /// @notice Stake was unlocked.
    /// @param device The device.
    /// @param locker The market or game that had locked it.
    /// @param amount The wei unlocked now.
    /// @param locked The device's total locked stake after.
    event StakeUnlocked(DeviceId indexed device, address indexed locker, uint256 amount, uint256 locked);

    /// @notice Locked stake was slashed and credited to a recipient.
    /// @param device The device.
    /// @param locker The market or game that had locked it and slashed it.
    /// @param recipient Who was credited.
    /// @param amount The wei.
    event StakeSlashed(DeviceId indexed device, address indexed locker, address indexed recipient, uint256 amount);

    /// @notice A finalized job was added to a device's record.
    /// @param device The device.
    /// @param jobsCompleted Its count after.
    event JobCompletedRecorded(DeviceId indexed device, uint64 jobsCompleted);

    /// @notice A dispute outcome was added to a device's record.
    /// @param device The device.
    /// @param won Whether it won.
    event DisputeRecorded(DeviceId indexed device, bool won);

    /// @notice An account withdrew its credit (slashed stake paid to it).
    /// @param account The account.
    /// @param amount The wei.
    event CreditWithdrawn(address indexed account, uint256 amount);

    ////////////////////////////////////////////////////////////////
    //                       DEVICE OWNERS                        //
    ////////////////////////////////////////////////////////////////

    /// @notice Registers a device owned by the caller, with `msg.value` as its first stake.
    /// @param _metadata Name (non-empty), backend, hardware class, endpoint; each at most
    ///        `MAX_METADATA_BYTES`.
    /// @return device_ The new device's id.
    function register(Metadata calldata _metadata) external payable returns (DeviceId device_);

    /// @notice Replaces a device's metadata.
    /// @param _device The device (the caller must own it).
    /// @param _metadata The new metadata, checked as in `register`.
    function updateMetadata(DeviceId _device, Metadata calldata _metadata) external;

    /// @notice Adds `msg.value` to a device's bonded stake.
    /// @param _device The device (the caller must own it).
    function addStake(DeviceId _device) external payable;

    /// @notice Moves unlocked bonded stake to unbonding; it can be withdrawn after
    ///         `UNBONDING_PERIOD` (each request restarts the period for the whole amount).
    /// @param _device The device (the caller must own it).
    /// @param _amount The wei; the bonded stake left must be zero or at least `MIN_STAKE`.
    function requestUnstake(DeviceId _device, uint256 _amount) external;

    /// @notice Sends a device's unbonded stake to its owner once the period has passed.
    /// @param _device The device (the caller must own it).
    /// @return amount_ The wei sent.
    function withdrawStake(DeviceId _device) external returns (uint256 amount_);

    /// @notice Sends the caller its credit (stake slashed to it).
    /// @return amount_ The wei sent.
    function withdrawCredit() external returns (uint256 amount_);

    ////////////////////////////////////////////////////////////////
    //                 MARKET AND APPROVED GAMES                  //
    ////////////////////////////////////////////////////////////////

    /// @notice Sets the market, once. Only the deployer.
    /// @param _market The JobMarket.
    function setMarket(address _market) external;

    /// @notice Lets a game lock and slash stake. Only the market.
    /// @param _game The game.
    function approveGame(address _game) external;

    /// @notice Stops a game from locking more stake. Only the market.
    /// @param _game The game.
    function revokeGame(address _game) external;

    /// @notice Locks part of a device's unlocked bonded stake for the caller.
    /// @param _device The device; its bonded stake must be at least `MIN_STAKE`.
    /// @param _amount The wei (positive, at most `bonded - locked`).
    function lock(DeviceId _device, uint256 _amount) external;

    /// @notice Releases stake the caller locked.
    /// @param _device The device.
    /// @param _amount The wei (positive, at most what the caller holds locked).
    function unlock(DeviceId _device, uint256 _amount) external;

    /// @notice Slashes stake the caller locked: it leaves the device's bonded stake and is
    ///         credited to `_recipient`, who withdraws it with `withdrawCredit`.
    /// @param _device The device.
    /// @param _amount The wei (positive, at most what the caller holds locked).
    /// @param _recipient Who is paid (non-zero).
    function slash(DeviceId _device, uint256 _amount, address _recipient) external;

    /// @notice Adds a finalized job to a device's record. Only the market.
    /// @param _device The device.
    function recordJobCompleted(DeviceId _device) external;

    /// @notice Adds a dispute outcome to a device's record. Only the market.
    /// @param _device The device.
    /// @param _won Whether it won.
    function recordDispute(DeviceId _device, bool _won) external;

    ////////////////////////////////////////////////////////////////
    //                           VIEWS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice The least bonded stake an active device has, in wei.
    /// @return minStake_ `MIN_STAKE`.
    function MIN_STAKE() external view returns (uint256 minStake_);

    /// @notice How long unstaked stake waits before it can be withdrawn, in seconds.
    /// @return period_ `UNBONDING_PERIOD`.
    function UNBONDING_PERIOD() external view returns (uint64 period_);

    /// @notice The market (zero until set).
    /// @return market_ The JobMarket.
    function market() external view returns (address market_);

    /// @notice Whether a game is approved.
    /// @param _game The game.
    /// @return approved_ True while approved.
    function isApprovedGame(address _game) external view returns (bool approved_);

    /// @notice The number of devices registered (the last id).
    /// @return count_ The count.
    function deviceCount() external view returns (uint64 count_);

    /// @notice A device's owner.
    /// @param _device The device (reverts if it does not exist).
    /// @return owner_ The owner.
    function ownerOf(DeviceId _device) external view returns (address owner_);

    /// @notice A device's metadata.
    /// @param _device The device (reverts if it does not exist).
    /// @return metadata_ The metadata.
    function metadataOf(DeviceId _device) external view returns (Metadata memory metadata_);

    /// @notice A device's stake.
    /// @param _device The device (reverts if it does not exist).
    /// @return stake_ The stake.
    function stakeOf(DeviceId _device) external view returns (Stake memory stake_);

    /// @notice A device's reputation counters.
    /// @param _device The device (reverts if it does not exist).
    /// @return reputation_ The counters.
    function reputationOf(DeviceId _device) external view returns (Reputation memory reputation_);

    /// @notice A device's bonded stake that is not locked (what it can lock or unstake).
    /// @param _device The device (reverts if it does not exist).
    /// @return free_ `bonded - locked`.
    function freeStake(DeviceId _device) external view returns (uint256 free_);

    /// @notice How much of a device's stake a locker holds locked.
    /// @param _device The device.
    /// @param _locker The market or a game.
    /// @return locked_ The wei.
    function lockedBy(DeviceId _device, address _locker) external view returns (uint256 locked_);

    /// @notice An account's credit (slashed stake paid to it, not yet withdrawn).
    /// @param _account The account.
    /// @return credit_ The wei.
    function creditOf(address _account) external view returns (uint256 credit_);
}

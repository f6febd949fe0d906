// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../interfaces/IDeviceRegistry.sol";
import {DeviceId} from "../interfaces/Types.sol";

/// @title DeviceRegistry
/// @notice Device identities for gavel: an owner, metadata (name, backend, hardware class,
///         the endpoint that serves data), native-ETH stake with a minimum and an unbonding
///         period, the locks that back jobs and disputes, and reputation counters.
/// @dev Accounting (checked by the invariant suite):
///      `address(this).balance == sum(bonded + unbonding over devices) + sum(credit)`,
///      and for each device `locked <= bonded` and `locked == sum(lockedBy[device][*])`.
///      Locks are kept per locker, so a locker can only unlock or slash what it locked
///      itself: nothing is slashed twice, and a game cannot touch the market's locks.
///      Slashed stake becomes a credit of the recipient (pull payment): slashing makes no
///      external call, so a recipient cannot block a dispute's resolution.
contract DeviceRegistry is IDeviceRegistry {
    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Semantic version of the registry.
    string public constant version = "0.1.0";

    /// @notice The longest metadata field, in bytes.
    uint256 public constant MAX_METADATA_BYTES = 256;

    ////////////////////////////////////////////////////////////////
    //                         IMMUTABLES                         //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IDeviceRegistry
    uint256 public immutable MIN_STAKE;

    /// @inheritdoc IDeviceRegistry
    uint64 public immutable UNBONDING_PERIOD;

    /// @notice The account that may set the market, once.
    address public immutable DEPLOYER;

    ////////////////////////////////////////////////////////////////
    //                          STORAGE                           //
    ////////////////////////////////////////////////////////////////

    /// @notice One device's state.
    /// @param owner Its owner (non-zero for a registered device).
    /// @param stake Its stake.
    /// @param reputation Its counters.
    /// @param metadata What it says about itself.
    struct DeviceRecord {
        address owner;
        Stake stake;
        Reputation reputation;
        Metadata metadata;
    }

    /// @inheritdoc IDeviceRegistry
    address public market;

    /// @inheritdoc IDeviceRegistry
    uint64 public deviceCount;

    /// @inheritdoc IDeviceRegistry
    mapping(address game => bool approved) public isApprovedGame;

    /// @dev Devices by id.
    mapping(DeviceId device => DeviceRecord record) internal _devices;

    /// @dev Stake locked per device per locker (the market or a game).
    mapping(DeviceId device => mapping(address locker => uint256 amount)) internal _lockedBy;

    /// @dev Slashed stake owed to each recipient.
    mapping(address account => uint256 amount) internal _credit;

    /// @dev Re-entrancy guard of the functions that send ETH.
    bool private transient _entered;

    ////////////////////////////////////////////////////////////////
    //                         MODIFIERS                          //
    ////////////////////////////////////////////////////////////////

    /// @dev Rejects re-entry (transient storage: no refund games, cleared per transaction).
    modifier nonReentrant() {
        if (_entered) revert Reentrancy();
        _entered = true;
        _;
        _entered = false;
    }

    /// @dev Only the device's owner.
    modifier onlyOwnerOf(DeviceId _device) {
        _checkOwner(_device);
        _;
    }

    /// @dev Only the market.
    modifier onlyMarket() {
        if (msg.sender != market) revert NotMarket(msg.sender);
        _;
    }

    /// @dev Only the market or an approved game.
    modifier onlyAuthorised() {
        if (msg.sender != market && !isApprovedGame[msg.sender]) revert NotAuthorised(msg.sender);
        _;
    }

    ////////////////////////////////////////////////////////////////
    //                        CONSTRUCTOR                         //
    ////////////////////////////////////////////////////////////////

    /// @notice Creates the registry; the deployer then sets the market with `setMarket`.
    /// @param _minStake The least bonded stake of an active device, in wei (positive).
    /// @param _unbondingPeriod Seconds between `requestUnstake` and `withdrawStake`.
    constructor(uint256 _minStake, uint64 _unbondingPeriod) {
        if (_minStake == 0) revert ZeroAmount();
        if (_minStake > type(uint128).max) revert AmountOverflow(_minStake);
        MIN_STAKE = _minStake;
        UNBONDING_PERIOD = _unbondingPeriod;
        DEPLOYER = msg.sender;
    }

    ////////////////////////////////////////////////////////////////
    //                       DEVICE OWNERS                        //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IDeviceRegistry
    function register(Metadata calldata _metadata) external payable returns (DeviceId device_) {
        if (msg.value < MIN_STAKE) revert StakeBelowMinimum(msg.value, MIN_STAKE);
        uint128 amount = _toU128(msg.value);
        _checkMetadata(_metadata);

        device_ = DeviceId.wrap(++deviceCount);
        DeviceRecord storage record = _devices[device_];
        record.owner = msg.sender;
        record.stake.bonded = amount;
        record.metadata = _metadata;

        emit DeviceRegistered(device_, msg.sender, msg.value, _metadata);
    }

    /// @inheritdoc IDeviceRegistry
    function updateMetadata(DeviceId _device, Metadata calldata _metadata) external onlyOwnerOf(_device) {
        _checkMetadata(_metadata);
        _devices[_device].metadata = _metadata;
        emit MetadataUpdated(_device, _metadata);
    }

    /// @inheritdoc IDeviceRegistry
    function addStake(DeviceId _device) external payable onlyOwnerOf(_device) {
        if (msg.value == 0) revert ZeroAmount();
        Stake storage stake = _devices[_device].stake;
        uint256 bonded = uint256(stake.bonded) + msg.value;
        stake.bonded = _toU128(bonded);
        emit StakeAdded(_device, msg.value, bonded);
    }

    /// @inheritdoc IDeviceRegistry
    function requestUnstake(DeviceId _device, uint256 _amount) external onlyOwnerOf(_device) {
        if (_amount == 0) revert ZeroAmount();
        Stake storage stake = _devices[_device].stake;
        uint256 free = stake.bonded - stake.locked;
        if (_amount > free) revert InsufficientFreeStake(_device, _amount, free);
        uint256 remaining = stake.bonded - _amount;
        if (remaining != 0 && remaining < MIN_STAKE) {
            revert RemainingStakeBelowMinimum(_device, remaining, MIN_STAKE);
        }

        uint128 amount = _toU128(_amount);
        stake.bonded -= amount;
        stake.unbonding += amount;
        uint64 readyAt = uint64(block.timestamp) + UNBONDING_PERIOD;
        stake.readyAt = readyAt;

        emit UnstakeRequested(_device, _amount, stake.unbonding, readyAt);
    }

    /// @inheritdoc IDeviceRegistry
    function withdrawStake(DeviceId _device) external nonReentrant onlyOwnerOf(_device) returns (uint256 amount_) {
        Stake storage stake = _devices[_device].stake;
        amount_ = stake.unbonding;
        if (amount_ == 0) revert NothingUnbonding(_device);
        // forge-lint: disable-next-line(block-timestamp) a period of days; seconds of drift are harmless.
        if (block.timestamp < stake.readyAt) {
            revert UnbondingNotReady(_device, stake.readyAt, uint64(block.timestamp));
        }

        stake.unbonding = 0;
        stake.readyAt = 0;
        emit StakeWithdrawn(_device, msg.sender, amount_);

        _send(msg.sender, amount_);
    }

    /// @inheritdoc IDeviceRegistry
    function withdrawCredit() external nonReentrant returns (uint256 amount_) {
        amount_ = _credit[msg.sender];
        if (amount_ == 0) revert NoCredit(msg.sender);

        _credit[msg.sender] = 0;
        emit CreditWithdrawn(msg.sender, amount_);

        _send(msg.sender, amount_);
    }

    ////////////////////////////////////////////////////////////////
    //                 MARKET AND APPROVED GAMES                  //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IDeviceRegistry
    function setMarket(address _market) external {
        if (msg.sender != DEPLOYER) revert NotDeployer(msg.sender);
        if (market != address(0)) revert MarketAlreadySet(market);
        if (_market == address(0)) revert ZeroAddress();
        market = _market;
        emit MarketSet(_market);
    }

    /// @inheritdoc IDeviceRegistry
    function approveGame(address _game) external onlyMarket {
        if (_game == address(0)) revert ZeroAddress();
        if (isApprovedGame[_game]) revert GameAlreadyApproved(_game);
        isApprovedGame[_game] = true;
        emit GameApproved(_game);
    }

    /// @inheritdoc IDeviceRegistry
    function revokeGame(address _game) external onlyMarket {
        if (!isApprovedGame[_game]) revert GameNotApproved(_game);
        isApprovedGame[_game] = false;
        emit GameRevoked(_game);
    }

    /// @inheritdoc IDeviceRegistry
    function lock(DeviceId _device, uint256 _amount) external onlyAuthorised {
        if (_amount == 0) revert ZeroAmount();
        Stake storage stake = _existing(_device).stake;
        if (stake.bonded < MIN_STAKE) revert DeviceNotActive(_device, stake.bonded, MIN_STAKE);
        uint256 free = stake.bonded - stake.locked;
        if (_amount > free) revert InsufficientFreeStake(_device, _amount, free);

        stake.locked += _toU128(_amount);
        _lockedBy[_device][msg.sender] += _amount;

        emit StakeLocked(_device, msg.sender, _amount, stake.locked);
    }

    /// @inheritdoc IDeviceRegistry
    function unlock(DeviceId _device, uint256 _amount) external {
        Stake storage stake = _release(_device, _amount);
        emit StakeUnlocked(_device, msg.sender, _amount, stake.locked);
    }

    /// @inheritdoc IDeviceRegistry
    function slash(DeviceId _device, uint256 _amount, address _recipient) external {
        if (_recipient == address(0)) revert ZeroAddress();
        DeviceRecord storage record = _devices[_device];
        Stake storage stake = _release(_device, _amount);

        uint128 amount = _toU128(_amount);
        stake.bonded -= amount;
        record.reputation.amountSlashed += amount;
        _credit[_recipient] += _amount;

        emit StakeSlashed(_device, msg.sender, _recipient, _amount);
    }

    /// @inheritdoc IDeviceRegistry
    function recordJobCompleted(DeviceId _device) external onlyMarket {
        Reputation storage reputation = _existing(_device).reputation;
        uint64 completed = ++reputation.jobsCompleted;
        emit JobCompletedRecorded(_device, completed);
    }

    /// @inheritdoc IDeviceRegistry
    function recordDispute(DeviceId _device, bool _won) external onlyMarket {
        Reputation storage reputation = _existing(_device).reputation;
        if (_won) ++reputation.disputesWon;
        else ++reputation.disputesLost;
        emit DisputeRecorded(_device, _won);
    }

    ////////////////////////////////////////////////////////////////
    //                           VIEWS                            //
    ////////////////////////////////////////////////////////////////

    /// @inheritdoc IDeviceRegistry
    function ownerOf(DeviceId _device) external view returns (address owner_) {
        owner_ = _existing(_device).owner;
    }

    /// @inheritdoc IDeviceRegistry
    function metadataOf(DeviceId _device) external view returns (Metadata memory metadata_) {
        metadata_ = _existing(_device).metadata;
    }

    /// @inheritdoc IDeviceRegistry
    function stakeOf(DeviceId _device) external view returns (Stake memory stake_) {
        stake_ = _existing(_device).stake;
    }

    /// @inheritdoc IDeviceRegistry
    function reputationOf(DeviceId _device) external view returns (Reputation memory reputation_) {
        reputation_ = _existing(_device).reputation;
    }

    /// @inheritdoc IDeviceRegistry
    function freeStake(DeviceId _device) external view returns (uint256 free_) {
        Stake storage stake = _existing(_device).stake;
        free_ = stake.bonded - stake.locked;
    }

    /// @inheritdoc IDeviceRegistry
    function lockedBy(DeviceId _device, address _locker) external view returns (uint256 locked_) {
        locked_ = _lockedBy[_device][_locker];
    }

    /// @inheritdoc IDeviceRegistry
    function creditOf(address _account) external view returns (uint256 credit_) {
        credit_ = _credit[_account];
    }

    ////////////////////////////////////////////////////////////////
    //                          INTERNAL                          //
    ////////////////////////////////////////////////////////////////

    /// @dev Takes `_amount` out of the caller's lock on `_device` and the device's total.
    ///      The caller must be the market, an approved game, or a revoked game that still
    ///      holds a lock (so that revoking a game never strands the stake it locked).
    /// @param _device The device.
    /// @param _amount The wei (positive, at most the caller's lock).
    /// @return stake_ The device's stake, updated.
    function _release(DeviceId _device, uint256 _amount) internal returns (Stake storage stake_) {
        uint256 held = _lockedBy[_device][msg.sender];
        if (held == 0 && msg.sender != market && !isApprovedGame[msg.sender]) revert NotAuthorised(msg.sender);
        if (_amount == 0) revert ZeroAmount();
        if (_amount > held) revert InsufficientLock(_device, msg.sender, _amount, held);

        _lockedBy[_device][msg.sender] = held - _amount;
        stake_ = _devices[_device].stake;
        stake_.locked -= _toU128(_amount);
    }

    /// @dev The record of a registered device; reverts for an unknown id.
    /// @param _device The device.
    /// @return record_ Its record.
    function _existing(DeviceId _device) internal view returns (DeviceRecord storage record_) {
        record_ = _devices[_device];
        if (record_.owner == address(0)) revert DeviceNotFound(_device);
    }

    /// @dev Reverts unless the caller owns the (registered) device.
    /// @param _device The device.
    function _checkOwner(DeviceId _device) internal view {
        if (_existing(_device).owner != msg.sender) revert NotDeviceOwner(_device, msg.sender);
    }

    /// @dev Checks a device's metadata: a name, and no field longer than the bound.
    /// @param _metadata The metadata.
    function _checkMetadata(Metadata calldata _metadata) internal pure {
        if (bytes(_metadata.name).length == 0) revert EmptyName();
        _checkLength(bytes(_metadata.name).length);
        _checkLength(bytes(_metadata.backend).length);
        _checkLength(bytes(_metadata.hardwareClass).length);
        _checkLength(bytes(_metadata.endpoint).length);
    }

    /// @dev Reverts if a field is longer than `MAX_METADATA_BYTES`.
    /// @param _length The field's length in bytes.
    function _checkLength(uint256 _length) internal pure {
        if (_length > MAX_METADATA_BYTES) revert MetadataTooLong(_length, MAX_METADATA_BYTES);
    }

    /// @dev Narrows an amount to the 128-bit stake fields.
    /// @param _amount The wei.
    /// @return amount_ The same value.
    function _toU128(uint256 _amount) internal pure returns (uint128 amount_) {
        if (_amount > type(uint128).max) revert AmountOverflow(_amount);
        // forge-lint: disable-next-line(unsafe-typecast) checked on the line above.
        amount_ = uint128(_amount);
    }

    /// @dev Sends ETH (state already updated; guarded by `nonReentrant`).
    /// @param _to The recipient.
    /// @param _amount The wei.
    function _send(address _to, uint256 _amount) internal {
        (bool ok,) = _to.call{value: _amount}("");
        if (!ok) revert TransferFailed(_to, _amount);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDeviceRegistry} from "../../src/interfaces/IDeviceRegistry.sol";
import {DeviceId} from "../../src/interfaces/Types.sol";
import {DeviceRegistry} from "../../src/registry/DeviceRegistry.sol";
import {EthRejecter, MarketFixture, Reenterer} from "../market/MarketFixture.sol";

/// @title DeviceRegistryTest
/// @notice Unit and fuzz tests of every DeviceRegistry function and every revert. The
///         market's calls are made by pranking as the deployed JobMarket; `game` is an
///         address the market approves.
contract DeviceRegistryTest is MarketFixture {
    address internal owner;
    address internal game;
    DeviceId internal device;

    /// @notice A device owned by `owner` with twice the minimum stake, and an approved game.
    function setUp() public override {
        super.setUp();
        owner = _actor("owner");
        game = _actor("game");
        device = _register(owner, 2 * MIN_STAKE);
        vm.prank(address(market));
        registry.approveGame(game);
    }

    ////////////////////////////////////////////////////////////////
    //                          HELPERS                           //
    ////////////////////////////////////////////////////////////////

    /// @dev Locks as `_locker`.
    function _lock(address _locker, DeviceId _device, uint256 _amount) internal {
        vm.prank(_locker);
        registry.lock(_device, _amount);
    }

    /// @dev A string of `_n` bytes.
    function _bytes(uint256 _n) internal pure returns (string memory s_) {
        s_ = string(new bytes(_n));
    }

    /// @dev Checks every field of a device's stake.
    function _assertStake(DeviceId _device, uint256 _bonded, uint256 _locked, uint256 _unbonding, uint256 _readyAt)
        internal
        view
    {
        IDeviceRegistry.Stake memory stake = registry.stakeOf(_device);
        assertEq(stake.bonded, _bonded, "bonded");
        assertEq(stake.locked, _locked, "locked");
        assertEq(stake.unbonding, _unbonding, "unbonding");
        assertEq(stake.readyAt, _readyAt, "readyAt");
    }

    ////////////////////////////////////////////////////////////////
    //                        CONSTRUCTOR                         //
    ////////////////////////////////////////////////////////////////

    /// @notice The constructor keeps its parameters and the deployer.
    function test_constructor_setsParameters_succeeds() public view {
        assertEq(registry.MIN_STAKE(), MIN_STAKE, "min stake");
        assertEq(registry.UNBONDING_PERIOD(), UNBONDING, "unbonding");
        vm.assertEq(registry.DEPLOYER(), address(this), "deployer");
        vm.assertEq(registry.market(), address(market), "market");
        assertEq(registry.MAX_METADATA_BYTES(), 256, "metadata bound");
        vm.assertEq(registry.version(), "0.1.0", "version");
    }

    /// @notice A zero minimum stake is refused.
    function test_constructor_zeroMinStake_reverts() public {
        vm.expectRevert(IDeviceRegistry.ZeroAmount.selector);
        new DeviceRegistry(0, UNBONDING);
    }

    /// @notice A minimum stake beyond 128 bits is refused.
    function test_constructor_minStakeOverflow_reverts() public {
        uint256 huge = uint256(type(uint128).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.AmountOverflow.selector, huge));
        new DeviceRegistry(huge, UNBONDING);
    }

    ////////////////////////////////////////////////////////////////
    //                         setMarket                          //
    ////////////////////////////////////////////////////////////////

    /// @notice The deployer sets the market once, with an event.
    function test_setMarket_deployer_succeeds() public {
        DeviceRegistry fresh = new DeviceRegistry(MIN_STAKE, UNBONDING);
        vm.expectEmit(address(fresh));
        emit IDeviceRegistry.MarketSet(address(market));
        fresh.setMarket(address(market));
        vm.assertEq(fresh.market(), address(market), "market");
    }

    /// @notice Nobody else may set it.
    function test_setMarket_notDeployer_reverts() public {
        DeviceRegistry fresh = new DeviceRegistry(MIN_STAKE, UNBONDING);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotDeployer.selector, stranger));
        fresh.setMarket(address(market));
    }

    /// @notice It is set once.
    function test_setMarket_alreadySet_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.MarketAlreadySet.selector, address(market)));
        registry.setMarket(stranger);
    }

    /// @notice It cannot be zero.
    function test_setMarket_zeroAddress_reverts() public {
        DeviceRegistry fresh = new DeviceRegistry(MIN_STAKE, UNBONDING);
        vm.expectRevert(IDeviceRegistry.ZeroAddress.selector);
        fresh.setMarket(address(0));
    }

    /// @notice Only the deployer sets any non-zero market, once.
    function testFuzz_setMarket_anyCaller_succeeds(address _caller, address _market) public {
        vm.assume(_market != address(0));
        DeviceRegistry fresh = new DeviceRegistry(MIN_STAKE, UNBONDING);
        vm.prank(_caller);
        if (_caller != address(this)) {
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotDeployer.selector, _caller));
            fresh.setMarket(_market);
            return;
        }
        fresh.setMarket(_market);
        vm.assertEq(fresh.market(), _market, "market");
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.MarketAlreadySet.selector, _market));
        fresh.setMarket(_market);
    }

    ////////////////////////////////////////////////////////////////
    //                          register                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Registering stores the owner, metadata and stake, zero reputation, and emits.
    function test_register_newDevice_succeeds() public {
        IDeviceRegistry.Metadata memory meta = _metadata("rig-7");
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceRegistered(DeviceId.wrap(2), stranger, 3 ether, meta);
        vm.prank(stranger);
        DeviceId id = registry.register{value: 3 ether}(meta);

        assertEq(DeviceId.unwrap(id), 2, "id");
        assertEq(registry.deviceCount(), 2, "count");
        vm.assertEq(registry.ownerOf(id), stranger, "owner");
        IDeviceRegistry.Metadata memory stored = registry.metadataOf(id);
        vm.assertEq(stored.name, "rig-7", "name");
        vm.assertEq(stored.backend, meta.backend, "backend");
        vm.assertEq(stored.hardwareClass, meta.hardwareClass, "hardware");
        vm.assertEq(stored.endpoint, meta.endpoint, "endpoint");
        _assertStake(id, 3 ether, 0, 0, 0);
        IDeviceRegistry.Reputation memory rep = registry.reputationOf(id);
        assertEq(rep.jobsCompleted + rep.disputesWon + rep.disputesLost + rep.amountSlashed, 0, "reputation");
        assertEq(registry.freeStake(id), 3 ether, "free");
        assertEq(address(registry).balance, 5 ether, "balance");
    }

    /// @notice Exactly the minimum is enough, and empty optional fields are allowed.
    function test_register_exactMinimum_succeeds() public {
        vm.prank(stranger);
        DeviceId id = registry.register{value: MIN_STAKE}(IDeviceRegistry.Metadata("x", "", "", ""));
        _assertStake(id, MIN_STAKE, 0, 0, 0);
    }

    /// @notice Below the minimum is refused.
    function test_register_belowMinimum_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.StakeBelowMinimum.selector, MIN_STAKE - 1, MIN_STAKE));
        registry.register{value: MIN_STAKE - 1}(_metadata("x"));
    }

    /// @notice A stake beyond 128 bits is refused.
    function test_register_amountOverflow_reverts() public {
        uint256 huge = uint256(type(uint128).max) + 1;
        vm.deal(stranger, huge);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.AmountOverflow.selector, huge));
        registry.register{value: huge}(_metadata("x"));
    }

    /// @notice A device needs a name.
    function test_register_emptyName_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(IDeviceRegistry.EmptyName.selector);
        registry.register{value: MIN_STAKE}(_metadata(""));
    }

    /// @notice Each field is bounded (the bound itself is allowed).
    function test_register_fieldTooLong_reverts() public {
        string memory ok = _bytes(256);
        string memory long = _bytes(257);
        IDeviceRegistry.Metadata[4] memory bad = [
            IDeviceRegistry.Metadata(long, "", "", ""),
            IDeviceRegistry.Metadata("x", long, "", ""),
            IDeviceRegistry.Metadata("x", "", long, ""),
            IDeviceRegistry.Metadata("x", "", "", long)
        ];
        for (uint256 i; i < 4; ++i) {
            vm.prank(stranger);
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.MetadataTooLong.selector, 257, 256));
            registry.register{value: MIN_STAKE}(bad[i]);
        }
        vm.prank(stranger);
        registry.register{value: MIN_STAKE}(IDeviceRegistry.Metadata(ok, ok, ok, ok));
    }

    /// @notice Any stake at or above the minimum registers, and is held exactly.
    function testFuzz_register_stake_succeeds(uint256 _stake, uint8 _nameLength) public {
        _stake = bound(_stake, MIN_STAKE, 500 ether);
        uint256 nameLength = bound(_nameLength, 1, 256);
        uint256 before = address(registry).balance;
        vm.prank(stranger);
        DeviceId id = registry.register{value: _stake}(IDeviceRegistry.Metadata(_bytes(nameLength), "b", "h", "e"));
        _assertStake(id, _stake, 0, 0, 0);
        assertEq(address(registry).balance, before + _stake, "balance");
    }

    ////////////////////////////////////////////////////////////////
    //                       updateMetadata                       //
    ////////////////////////////////////////////////////////////////

    /// @notice The owner replaces the metadata, with an event.
    function test_updateMetadata_owner_succeeds() public {
        IDeviceRegistry.Metadata memory meta = IDeviceRegistry.Metadata("new", "cpu", "epyc", "https://x.example");
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.MetadataUpdated(device, meta);
        vm.prank(owner);
        registry.updateMetadata(device, meta);
        vm.assertEq(registry.metadataOf(device).name, "new", "name");
        vm.assertEq(registry.metadataOf(device).endpoint, "https://x.example", "endpoint");
    }

    /// @notice Only the owner.
    function test_updateMetadata_notOwner_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotDeviceOwner.selector, device, stranger));
        registry.updateMetadata(device, _metadata("x"));
    }

    /// @notice Unknown devices are refused.
    function test_updateMetadata_unknownDevice_reverts() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceNotFound.selector, DeviceId.wrap(9)));
        registry.updateMetadata(DeviceId.wrap(9), _metadata("x"));
    }

    /// @notice The new metadata is checked like at registration.
    function test_updateMetadata_invalid_reverts() public {
        vm.startPrank(owner);
        vm.expectRevert(IDeviceRegistry.EmptyName.selector);
        registry.updateMetadata(device, _metadata(""));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.MetadataTooLong.selector, 300, 256));
        registry.updateMetadata(device, IDeviceRegistry.Metadata("x", "", _bytes(300), ""));
        vm.stopPrank();
    }

    /// @notice Any valid lengths are stored as given; longer ones are refused.
    function testFuzz_updateMetadata_lengths_succeeds(uint16 _length) public {
        uint256 length = bound(_length, 0, 400);
        vm.prank(owner);
        if (length > 256) {
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.MetadataTooLong.selector, length, 256));
        }
        registry.updateMetadata(device, IDeviceRegistry.Metadata("n", "", "", _bytes(length)));
        if (length <= 256) assertEq(bytes(registry.metadataOf(device).endpoint).length, length, "endpoint length");
    }

    ////////////////////////////////////////////////////////////////
    //                          addStake                          //
    ////////////////////////////////////////////////////////////////

    /// @notice The owner tops up, with an event.
    function test_addStake_owner_succeeds() public {
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.StakeAdded(device, 1 ether, 3 ether);
        vm.prank(owner);
        registry.addStake{value: 1 ether}(device);
        _assertStake(device, 3 ether, 0, 0, 0);
    }

    /// @notice A top-up must send something.
    function test_addStake_zero_reverts() public {
        vm.prank(owner);
        vm.expectRevert(IDeviceRegistry.ZeroAmount.selector);
        registry.addStake(device);
    }

    /// @notice Only the owner.
    function test_addStake_notOwner_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotDeviceOwner.selector, device, stranger));
        registry.addStake{value: 1 ether}(device);
    }

    /// @notice Unknown devices are refused.
    function test_addStake_unknownDevice_reverts() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceNotFound.selector, DeviceId.wrap(0)));
        registry.addStake{value: 1 ether}(DeviceId.wrap(0));
    }

    /// @notice A bonded stake beyond 128 bits is refused.
    function test_addStake_amountOverflow_reverts() public {
        uint256 add = uint256(type(uint128).max);
        vm.deal(owner, add);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.AmountOverflow.selector, add + 2 * MIN_STAKE));
        registry.addStake{value: add}(device);
    }

    /// @notice Top-ups add exactly.
    function testFuzz_addStake_amount_succeeds(uint256 _amount) public {
        _amount = bound(_amount, 1, 900 ether);
        vm.prank(owner);
        registry.addStake{value: _amount}(device);
        _assertStake(device, 2 * MIN_STAKE + _amount, 0, 0, 0);
        assertEq(address(registry).balance, 2 * MIN_STAKE + _amount, "balance");
    }

    ////////////////////////////////////////////////////////////////
    //                       requestUnstake                       //
    ////////////////////////////////////////////////////////////////

    /// @notice Part of the stake starts unbonding, with an event.
    function test_requestUnstake_partial_succeeds() public {
        uint64 readyAt = uint64(block.timestamp) + UNBONDING;
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.UnstakeRequested(device, 1 ether, 1 ether, readyAt);
        vm.prank(owner);
        registry.requestUnstake(device, 1 ether);
        _assertStake(device, 1 ether, 0, 1 ether, readyAt);
    }

    /// @notice All of it may leave (the device becomes inactive).
    function test_requestUnstake_full_succeeds() public {
        vm.prank(owner);
        registry.requestUnstake(device, 2 * MIN_STAKE);
        _assertStake(device, 0, 0, 2 * MIN_STAKE, block.timestamp + UNBONDING);
    }

    /// @notice A second request adds up and restarts the period for the whole amount.
    function test_requestUnstake_twice_succeeds() public {
        vm.prank(owner);
        registry.addStake{value: 2 ether}(device);
        vm.prank(owner);
        registry.requestUnstake(device, 1 ether);
        vm.warp(block.timestamp + 1 days);
        vm.prank(owner);
        registry.requestUnstake(device, 1 ether);
        _assertStake(device, 2 ether, 0, 2 ether, block.timestamp + UNBONDING);
    }

    /// @notice Nothing to unstake is refused.
    function test_requestUnstake_zero_reverts() public {
        vm.prank(owner);
        vm.expectRevert(IDeviceRegistry.ZeroAmount.selector);
        registry.requestUnstake(device, 0);
    }

    /// @notice Only the owner.
    function test_requestUnstake_notOwner_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotDeviceOwner.selector, device, stranger));
        registry.requestUnstake(device, 1 ether);
    }

    /// @notice Locked stake cannot be unstaked.
    function test_requestUnstake_lockedStake_reverts() public {
        _lock(address(market), device, 1.5 ether);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.InsufficientFreeStake.selector, device, 1 ether, 0.5 ether)
        );
        registry.requestUnstake(device, 1 ether);
    }

    /// @notice What remains bonded must be zero or at least the minimum.
    function test_requestUnstake_remainderBelowMinimum_reverts() public {
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDeviceRegistry.RemainingStakeBelowMinimum.selector, device, MIN_STAKE - 1, MIN_STAKE
            )
        );
        registry.requestUnstake(device, MIN_STAKE + 1);
    }

    /// @notice Any amount up to the free stake moves exactly, or is refused for the rule it
    ///         breaks.
    function testFuzz_requestUnstake_amount_succeeds(uint256 _amount, uint256 _locked) public {
        _locked = bound(_locked, 0, 2 * MIN_STAKE);
        _amount = bound(_amount, 1, 2 * MIN_STAKE);
        if (_locked != 0) _lock(address(market), device, _locked);
        uint256 free = 2 * MIN_STAKE - _locked;
        uint256 remaining = 2 * MIN_STAKE - _amount;
        vm.prank(owner);
        if (_amount > free) {
            vm.expectRevert(
                abi.encodeWithSelector(IDeviceRegistry.InsufficientFreeStake.selector, device, _amount, free)
            );
        } else if (remaining != 0 && remaining < MIN_STAKE) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IDeviceRegistry.RemainingStakeBelowMinimum.selector, device, remaining, MIN_STAKE
                )
            );
        }
        registry.requestUnstake(device, _amount);
        IDeviceRegistry.Stake memory stake = registry.stakeOf(device);
        assertEq(stake.bonded + stake.unbonding, 2 * MIN_STAKE, "stake conserved");
        assertTrue(stake.locked <= stake.bonded, "locked within bonded");
    }

    ////////////////////////////////////////////////////////////////
    //                       withdrawStake                        //
    ////////////////////////////////////////////////////////////////

    /// @notice After the period the owner gets the unbonded stake, with an event.
    function test_withdrawStake_afterPeriod_succeeds() public {
        vm.prank(owner);
        registry.requestUnstake(device, 1 ether);
        vm.warp(block.timestamp + UNBONDING);
        uint256 before = owner.balance;
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.StakeWithdrawn(device, owner, 1 ether);
        vm.prank(owner);
        uint256 amount = registry.withdrawStake(device);
        assertEq(amount, 1 ether, "amount");
        assertEq(owner.balance, before + 1 ether, "paid");
        _assertStake(device, 1 ether, 0, 0, 0);
    }

    /// @notice Not before the period has passed.
    function test_withdrawStake_beforePeriod_reverts() public {
        vm.prank(owner);
        registry.requestUnstake(device, 1 ether);
        uint64 readyAt = uint64(block.timestamp) + UNBONDING;
        vm.warp(readyAt - 1);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.UnbondingNotReady.selector, device, readyAt, readyAt - 1)
        );
        registry.withdrawStake(device);
    }

    /// @notice Nothing unbonding, nothing to withdraw.
    function test_withdrawStake_nothingUnbonding_reverts() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NothingUnbonding.selector, device));
        registry.withdrawStake(device);
    }

    /// @notice Only the owner.
    function test_withdrawStake_notOwner_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotDeviceOwner.selector, device, stranger));
        registry.withdrawStake(device);
    }

    /// @notice An owner that refuses ETH gets nothing, and the stake stays.
    function test_withdrawStake_transferFailed_reverts() public {
        EthRejecter rejecter = new EthRejecter();
        DeviceId id = DeviceId.wrap(2);
        rejecter.forward{value: MIN_STAKE}(
            address(registry), abi.encodeCall(IDeviceRegistry.register, (_metadata("r")))
        );
        rejecter.forward(address(registry), abi.encodeCall(IDeviceRegistry.requestUnstake, (id, MIN_STAKE)));
        vm.warp(block.timestamp + UNBONDING);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.TransferFailed.selector, address(rejecter), MIN_STAKE));
        rejecter.forward(address(registry), abi.encodeCall(IDeviceRegistry.withdrawStake, (id)));
        assertEq(registry.stakeOf(id).unbonding, MIN_STAKE, "still unbonding");
    }

    /// @notice The owner's `receive` cannot re-enter to withdraw twice.
    function test_withdrawStake_reentry_reverts() public {
        Reenterer reenterer = new Reenterer();
        vm.deal(address(reenterer), 10 ether);
        DeviceId id = DeviceId.wrap(2);
        reenterer.forward{value: 2 * MIN_STAKE}(
            address(registry), abi.encodeCall(IDeviceRegistry.register, (_metadata("r")))
        );
        reenterer.forward(address(registry), abi.encodeCall(IDeviceRegistry.requestUnstake, (id, MIN_STAKE)));
        vm.warp(block.timestamp + UNBONDING);
        reenterer.setReentry(address(registry), abi.encodeCall(IDeviceRegistry.withdrawStake, (id)));
        reenterer.forward(address(registry), abi.encodeCall(IDeviceRegistry.withdrawStake, (id)));

        assertTrue(!reenterer.reentered(), "re-entry failed");
        vm.assertEq(
            keccak256(reenterer.reentryResult()),
            keccak256(abi.encodeWithSelector(IDeviceRegistry.Reentrancy.selector)),
            "with Reentrancy"
        );
        assertEq(address(reenterer).balance, 10 ether + MIN_STAKE, "paid once");
        _assertStake(id, MIN_STAKE, 0, 0, 0);
    }

    /// @notice Withdrawal opens exactly at `readyAt` and pays exactly the unbonded stake.
    function testFuzz_withdrawStake_timing_succeeds(uint256 _amount, uint256 _wait) public {
        _amount = bound(_amount, 1, MIN_STAKE);
        _wait = bound(_wait, 0, 2 * UNBONDING);
        vm.prank(owner);
        registry.requestUnstake(device, _amount);
        uint64 readyAt = uint64(block.timestamp) + UNBONDING;
        vm.warp(block.timestamp + _wait);
        uint256 before = owner.balance;
        vm.prank(owner);
        if (_wait < UNBONDING) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IDeviceRegistry.UnbondingNotReady.selector, device, readyAt, uint64(block.timestamp)
                )
            );
            registry.withdrawStake(device);
        } else {
            registry.withdrawStake(device);
            assertEq(owner.balance, before + _amount, "paid");
            assertEq(address(registry).balance, 2 * MIN_STAKE - _amount, "balance");
        }
    }

    ////////////////////////////////////////////////////////////////
    //                       withdrawCredit                       //
    ////////////////////////////////////////////////////////////////

    /// @notice A slash recipient withdraws its credit, with an event.
    function test_withdrawCredit_recipient_succeeds() public {
        _lock(address(market), device, 1 ether);
        vm.prank(address(market));
        registry.slash(device, 0.4 ether, stranger);
        uint256 before = stranger.balance;
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.CreditWithdrawn(stranger, 0.4 ether);
        vm.prank(stranger);
        assertEq(registry.withdrawCredit(), 0.4 ether, "amount");
        assertEq(stranger.balance, before + 0.4 ether, "paid");
        assertEq(registry.creditOf(stranger), 0, "cleared");
    }

    /// @notice No credit, nothing to withdraw.
    function test_withdrawCredit_noCredit_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NoCredit.selector, stranger));
        registry.withdrawCredit();
    }

    /// @notice A recipient that refuses ETH keeps its credit.
    function test_withdrawCredit_transferFailed_reverts() public {
        EthRejecter rejecter = new EthRejecter();
        _lock(address(market), device, 1 ether);
        vm.prank(address(market));
        registry.slash(device, 1 ether, address(rejecter));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.TransferFailed.selector, address(rejecter), 1 ether));
        rejecter.forward(address(registry), abi.encodeCall(IDeviceRegistry.withdrawCredit, ()));
        assertEq(registry.creditOf(address(rejecter)), 1 ether, "credit kept");
    }

    /// @notice Any credit is paid exactly once.
    function testFuzz_withdrawCredit_amount_succeeds(uint256 _amount) public {
        _amount = bound(_amount, 1, 2 * MIN_STAKE);
        _lock(address(market), device, _amount);
        vm.prank(address(market));
        registry.slash(device, _amount, stranger);
        uint256 before = stranger.balance;
        vm.prank(stranger);
        registry.withdrawCredit();
        assertEq(stranger.balance, before + _amount, "paid");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NoCredit.selector, stranger));
        registry.withdrawCredit();
    }

    ////////////////////////////////////////////////////////////////
    //                   approveGame, revokeGame                  //
    ////////////////////////////////////////////////////////////////

    /// @notice The market approves a game, with an event.
    function test_approveGame_market_succeeds() public {
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.GameApproved(stranger);
        vm.prank(address(market));
        registry.approveGame(stranger);
        assertTrue(registry.isApprovedGame(stranger), "approved");
    }

    /// @notice Only the market (not the deployer, not a game).
    function test_approveGame_notMarket_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotMarket.selector, address(this)));
        registry.approveGame(stranger);
        vm.prank(game);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotMarket.selector, game));
        registry.approveGame(stranger);
    }

    /// @notice Not the zero address.
    function test_approveGame_zeroAddress_reverts() public {
        vm.prank(address(market));
        vm.expectRevert(IDeviceRegistry.ZeroAddress.selector);
        registry.approveGame(address(0));
    }

    /// @notice Not twice.
    function test_approveGame_alreadyApproved_reverts() public {
        vm.prank(address(market));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.GameAlreadyApproved.selector, game));
        registry.approveGame(game);
    }

    /// @notice The market revokes a game, with an event.
    function test_revokeGame_market_succeeds() public {
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.GameRevoked(game);
        vm.prank(address(market));
        registry.revokeGame(game);
        assertTrue(!registry.isApprovedGame(game), "revoked");
    }

    /// @notice Only the market.
    function test_revokeGame_notMarket_reverts() public {
        vm.prank(game);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotMarket.selector, game));
        registry.revokeGame(game);
    }

    /// @notice Only an approved game.
    function test_revokeGame_notApproved_reverts() public {
        vm.prank(address(market));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.GameNotApproved.selector, stranger));
        registry.revokeGame(stranger);
    }

    /// @notice Approval toggles for any address.
    function testFuzz_approveGame_anyAddress_succeeds(address _game) public {
        vm.assume(_game != address(0) && _game != game);
        vm.startPrank(address(market));
        registry.approveGame(_game);
        assertTrue(registry.isApprovedGame(_game), "approved");
        registry.revokeGame(_game);
        assertTrue(!registry.isApprovedGame(_game), "revoked");
        vm.stopPrank();
    }

    ////////////////////////////////////////////////////////////////
    //                            lock                            //
    ////////////////////////////////////////////////////////////////

    /// @notice The market locks free stake, with an event.
    function test_lock_market_succeeds() public {
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.StakeLocked(device, address(market), 1 ether, 1 ether);
        _lock(address(market), device, 1 ether);
        _assertStake(device, 2 ether, 1 ether, 0, 0);
        assertEq(registry.lockedBy(device, address(market)), 1 ether, "market lock");
        assertEq(registry.freeStake(device), 1 ether, "free");
    }

    /// @notice An approved game locks too, separately from the market.
    function test_lock_approvedGame_succeeds() public {
        _lock(address(market), device, 1 ether);
        _lock(game, device, 0.5 ether);
        _assertStake(device, 2 ether, 1.5 ether, 0, 0);
        assertEq(registry.lockedBy(device, game), 0.5 ether, "game lock");
        assertEq(registry.lockedBy(device, address(market)), 1 ether, "market lock");
    }

    /// @notice Nobody else (a revoked game included).
    function test_lock_notAuthorised_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotAuthorised.selector, stranger));
        registry.lock(device, 1);
        vm.prank(address(market));
        registry.revokeGame(game);
        vm.prank(game);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotAuthorised.selector, game));
        registry.lock(device, 1);
    }

    /// @notice Locking nothing is refused.
    function test_lock_zero_reverts() public {
        vm.prank(address(market));
        vm.expectRevert(IDeviceRegistry.ZeroAmount.selector);
        registry.lock(device, 0);
    }

    /// @notice Unknown devices are refused.
    function test_lock_unknownDevice_reverts() public {
        vm.prank(address(market));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceNotFound.selector, DeviceId.wrap(5)));
        registry.lock(DeviceId.wrap(5), 1);
    }

    /// @notice A device below the minimum (fully unstaked, or slashed under it) is inactive.
    function test_lock_inactiveDevice_reverts() public {
        vm.prank(owner);
        registry.requestUnstake(device, 2 * MIN_STAKE);
        vm.prank(address(market));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceNotActive.selector, device, 0, MIN_STAKE));
        registry.lock(device, 1);
    }

    /// @notice No more than the free stake.
    function test_lock_insufficientFreeStake_reverts() public {
        _lock(address(market), device, 1.5 ether);
        vm.prank(game);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.InsufficientFreeStake.selector, device, 0.6 ether, 0.5 ether)
        );
        registry.lock(device, 0.6 ether);
    }

    /// @notice Locks add up exactly and never exceed the bonded stake.
    function testFuzz_lock_amounts_succeeds(uint256 _a, uint256 _b) public {
        _a = bound(_a, 1, 2 * MIN_STAKE);
        _b = bound(_b, 1, 2 * MIN_STAKE);
        _lock(address(market), device, _a);
        vm.prank(game);
        if (_a + _b > 2 * MIN_STAKE) {
            vm.expectRevert(
                abi.encodeWithSelector(IDeviceRegistry.InsufficientFreeStake.selector, device, _b, 2 * MIN_STAKE - _a)
            );
            registry.lock(device, _b);
            _b = 0;
        } else {
            registry.lock(device, _b);
        }
        _assertStake(device, 2 * MIN_STAKE, _a + _b, 0, 0);
        assertEq(registry.lockedBy(device, address(market)) + registry.lockedBy(device, game), _a + _b, "sum");
    }

    ////////////////////////////////////////////////////////////////
    //                           unlock                           //
    ////////////////////////////////////////////////////////////////

    /// @notice A locker releases its lock, with an event.
    function test_unlock_locker_succeeds() public {
        _lock(address(market), device, 1 ether);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.StakeUnlocked(device, address(market), 0.25 ether, 0.75 ether);
        vm.prank(address(market));
        registry.unlock(device, 0.25 ether);
        _assertStake(device, 2 ether, 0.75 ether, 0, 0);
    }

    /// @notice A revoked game still releases what it locked.
    function test_unlock_revokedGame_succeeds() public {
        _lock(game, device, 1 ether);
        vm.prank(address(market));
        registry.revokeGame(game);
        vm.prank(game);
        registry.unlock(device, 1 ether);
        _assertStake(device, 2 ether, 0, 0, 0);
    }

    /// @notice Strangers cannot unlock.
    function test_unlock_notAuthorised_reverts() public {
        _lock(address(market), device, 1 ether);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotAuthorised.selector, stranger));
        registry.unlock(device, 1 ether);
    }

    /// @notice Unlocking nothing is refused.
    function test_unlock_zero_reverts() public {
        vm.prank(address(market));
        vm.expectRevert(IDeviceRegistry.ZeroAmount.selector);
        registry.unlock(device, 0);
    }

    /// @notice A locker cannot release more than it locked, nor another locker's lock.
    function test_unlock_moreThanLocked_reverts() public {
        _lock(address(market), device, 1 ether);
        vm.prank(address(market));
        vm.expectRevert(
            abi.encodeWithSelector(
                IDeviceRegistry.InsufficientLock.selector, device, address(market), 1 ether + 1, 1 ether
            )
        );
        registry.unlock(device, 1 ether + 1);
        vm.prank(game);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.InsufficientLock.selector, device, game, 1, 0));
        registry.unlock(device, 1);
    }

    /// @notice Lock then unlock any split returns to the start.
    function testFuzz_unlock_split_succeeds(uint256 _amount, uint256 _first) public {
        _amount = bound(_amount, 2, 2 * MIN_STAKE);
        _first = bound(_first, 1, _amount - 1);
        _lock(address(market), device, _amount);
        vm.startPrank(address(market));
        registry.unlock(device, _first);
        registry.unlock(device, _amount - _first);
        vm.stopPrank();
        _assertStake(device, 2 * MIN_STAKE, 0, 0, 0);
        assertEq(registry.lockedBy(device, address(market)), 0, "released");
    }

    ////////////////////////////////////////////////////////////////
    //                           slash                            //
    ////////////////////////////////////////////////////////////////

    /// @notice Slashing takes locked stake out of the bond into the recipient's credit.
    function test_slash_locked_succeeds() public {
        _lock(address(market), device, 1 ether);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.StakeSlashed(device, address(market), stranger, 0.75 ether);
        vm.prank(address(market));
        registry.slash(device, 0.75 ether, stranger);
        _assertStake(device, 1.25 ether, 0.25 ether, 0, 0);
        assertEq(registry.creditOf(stranger), 0.75 ether, "credit");
        assertEq(registry.reputationOf(device).amountSlashed, 0.75 ether, "slashed");
        assertEq(address(registry).balance, 2 ether, "ETH stays until withdrawn");
    }

    /// @notice A game slashes its own lock, even after it was revoked.
    function test_slash_revokedGame_succeeds() public {
        _lock(game, device, 1 ether);
        vm.prank(address(market));
        registry.revokeGame(game);
        vm.prank(game);
        registry.slash(device, 1 ether, stranger);
        _assertStake(device, 1 ether, 0, 0, 0);
    }

    /// @notice The recipient must be set.
    function test_slash_zeroRecipient_reverts() public {
        _lock(address(market), device, 1 ether);
        vm.prank(address(market));
        vm.expectRevert(IDeviceRegistry.ZeroAddress.selector);
        registry.slash(device, 1 ether, address(0));
    }

    /// @notice Strangers cannot slash.
    function test_slash_notAuthorised_reverts() public {
        _lock(address(market), device, 1 ether);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotAuthorised.selector, stranger));
        registry.slash(device, 1 ether, stranger);
    }

    /// @notice Slashing nothing is refused.
    function test_slash_zero_reverts() public {
        vm.prank(address(market));
        vm.expectRevert(IDeviceRegistry.ZeroAmount.selector);
        registry.slash(device, 0, stranger);
    }

    /// @notice No slashing beyond the caller's lock: a slashed lock is gone, so nothing is
    ///         slashed twice, and a game cannot slash the market's lock.
    function test_slash_twice_reverts() public {
        _lock(address(market), device, 1 ether);
        vm.prank(address(market));
        registry.slash(device, 1 ether, stranger);
        vm.prank(address(market));
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.InsufficientLock.selector, device, address(market), 1, 0)
        );
        registry.slash(device, 1, stranger);
        _lock(address(market), device, 0.5 ether);
        vm.prank(game);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.InsufficientLock.selector, device, game, 1, 0));
        registry.slash(device, 1, game);
    }

    /// @notice Any slash moves exactly the amount: bond down, credit and counter up.
    function testFuzz_slash_amount_succeeds(uint256 _locked, uint256 _slashed) public {
        _locked = bound(_locked, 1, 2 * MIN_STAKE);
        _slashed = bound(_slashed, 1, _locked);
        _lock(game, device, _locked);
        vm.prank(game);
        registry.slash(device, _slashed, stranger);
        _assertStake(device, 2 * MIN_STAKE - _slashed, _locked - _slashed, 0, 0);
        assertEq(registry.creditOf(stranger), _slashed, "credit");
        assertEq(registry.reputationOf(device).amountSlashed, _slashed, "counter");
        assertEq(address(registry).balance, registry.stakeOf(device).bonded + _slashed, "conservation");
    }

    ////////////////////////////////////////////////////////////////
    //                recordJobCompleted, recordDispute           //
    ////////////////////////////////////////////////////////////////

    /// @notice The market counts a completed job, with an event.
    function test_recordJobCompleted_market_succeeds() public {
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.JobCompletedRecorded(device, 1);
        vm.prank(address(market));
        registry.recordJobCompleted(device);
        assertEq(registry.reputationOf(device).jobsCompleted, 1, "completed");
    }

    /// @notice Only the market (an approved game may not).
    function test_recordJobCompleted_notMarket_reverts() public {
        vm.prank(game);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotMarket.selector, game));
        registry.recordJobCompleted(device);
    }

    /// @notice Unknown devices are refused.
    function test_recordJobCompleted_unknownDevice_reverts() public {
        vm.prank(address(market));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceNotFound.selector, DeviceId.wrap(3)));
        registry.recordJobCompleted(DeviceId.wrap(3));
    }

    /// @notice The counter counts exactly, per device.
    function testFuzz_recordJobCompleted_counts_succeeds(uint8 _n) public {
        uint256 n = bound(_n, 0, 40);
        DeviceId other = _register(stranger, MIN_STAKE);
        vm.startPrank(address(market));
        for (uint256 i; i < n; ++i) {
            registry.recordJobCompleted(device);
        }
        vm.stopPrank();
        assertEq(registry.reputationOf(device).jobsCompleted, n, "counted");
        assertEq(registry.reputationOf(other).jobsCompleted, 0, "other device untouched");
    }

    /// @notice The market counts won and lost disputes, with events.
    function test_recordDispute_wonAndLost_succeeds() public {
        vm.startPrank(address(market));
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DisputeRecorded(device, true);
        registry.recordDispute(device, true);
        registry.recordDispute(device, false);
        registry.recordDispute(device, false);
        vm.stopPrank();
        IDeviceRegistry.Reputation memory rep = registry.reputationOf(device);
        assertEq(rep.disputesWon, 1, "won");
        assertEq(rep.disputesLost, 2, "lost");
    }

    /// @notice Only the market.
    function test_recordDispute_notMarket_reverts() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.NotMarket.selector, owner));
        registry.recordDispute(device, true);
    }

    /// @notice Unknown devices are refused.
    function test_recordDispute_unknownDevice_reverts() public {
        vm.prank(address(market));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceNotFound.selector, DeviceId.wrap(3)));
        registry.recordDispute(DeviceId.wrap(3), false);
    }

    /// @notice Counters count exactly.
    function testFuzz_recordDispute_counts_succeeds(uint8 _won, uint8 _lost) public {
        uint256 won = bound(_won, 0, 20);
        uint256 lost = bound(_lost, 0, 20);
        vm.startPrank(address(market));
        for (uint256 i; i < won; ++i) {
            registry.recordDispute(device, true);
        }
        for (uint256 i; i < lost; ++i) {
            registry.recordDispute(device, false);
        }
        vm.stopPrank();
        assertEq(registry.reputationOf(device).disputesWon, won, "won");
        assertEq(registry.reputationOf(device).disputesLost, lost, "lost");
    }

    ////////////////////////////////////////////////////////////////
    //                           VIEWS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice Every per-device view refuses an unknown id.
    function test_views_unknownDevice_reverts() public {
        DeviceId unknown = DeviceId.wrap(77);
        bytes memory err = abi.encodeWithSelector(IDeviceRegistry.DeviceNotFound.selector, unknown);
        vm.expectRevert(err);
        registry.ownerOf(unknown);
        vm.expectRevert(err);
        registry.metadataOf(unknown);
        vm.expectRevert(err);
        registry.stakeOf(unknown);
        vm.expectRevert(err);
        registry.reputationOf(unknown);
        vm.expectRevert(err);
        registry.freeStake(unknown);
    }
}

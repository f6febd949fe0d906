// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

// The identifiers shared by the registry, the market and the dispute games. Each is its
// own type so that a device id cannot be passed where a job id is expected (all three are
// small counters that start at 1; 0 means "none").

/// @notice A device identity in the DeviceRegistry: 1, 2, ... in registration order.
type DeviceId is uint64;

/// @notice A job in the JobMarket: 1, 2, ... in posting order.
type JobId is uint64;

/// @notice A dispute game opened by the JobMarket: 1, 2, ... in opening order, across all jobs.
type GameId is uint64;

using {eqDevice as ==, neDevice as !=} for DeviceId global;
using {eqJob as ==, neJob as !=} for JobId global;
using {eqGame as ==, neGame as !=} for GameId global;

/// @notice `DeviceId` equality.
function eqDevice(DeviceId _a, DeviceId _b) pure returns (bool eq_) {
    eq_ = DeviceId.unwrap(_a) == DeviceId.unwrap(_b);
}

/// @notice `DeviceId` inequality.
function neDevice(DeviceId _a, DeviceId _b) pure returns (bool ne_) {
    ne_ = DeviceId.unwrap(_a) != DeviceId.unwrap(_b);
}

/// @notice `JobId` equality.
function eqJob(JobId _a, JobId _b) pure returns (bool eq_) {
    eq_ = JobId.unwrap(_a) == JobId.unwrap(_b);
}

/// @notice `JobId` inequality.
function neJob(JobId _a, JobId _b) pure returns (bool ne_) {
    ne_ = JobId.unwrap(_a) != JobId.unwrap(_b);
}

/// @notice `GameId` equality.
function eqGame(GameId _a, GameId _b) pure returns (bool eq_) {
    eq_ = GameId.unwrap(_a) == GameId.unwrap(_b);
}

/// @notice `GameId` inequality.
function neGame(GameId _a, GameId _b) pure returns (bool ne_) {
    ne_ = GameId.unwrap(_a) != GameId.unwrap(_b);
}

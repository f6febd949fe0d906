// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDisputeGameFactory, IDisputeResolver} from "../interfaces/IDisputeGameFactory.sol";
import {GameId, JobId} from "../interfaces/Types.sol";
import {ProgramCommitment} from "./GameTypes.sol";
import {OneStepReplay} from "./OneStepReplay.sol";

/// @title GameArgs
/// @notice The per-game parameters of a `DisputeGame` clone, packed into the immutable
///         arguments its code carries (`CloneWithArgs`): written once by
///         `DisputeGameDeployer`, read by the game at these offsets.
/// @dev Packed big-endian (`abi.encodePacked`), 281 bytes:
///
///          offset  bytes  field
///          0       20     MARKET
///          20      20     REPLAYER
///          40      20     SOLVER
///          60      20     CHALLENGER
///          80      8      JOB
///          88      8      GAME_ID
///          96      8      STEPS
///          104     8      CLOCK
///          112     4      SLOTS
///          116     4      OPS
///          120     1      BOUND
///          121     32     SOLVER_TRACE_ROOT
///          153     32     CHALLENGER_TRACE_ROOT
///          185     32     SOLVER_OUTPUT_ROOT
///          217     32     INITIAL_MEMORY
///          249     32     OP_TREE
library GameArgs {
    /// @notice Offset of the market the game reports to.
    uint256 internal constant MARKET = 0;
    /// @notice Offset of the one-element replay.
    uint256 internal constant REPLAYER = 20;
    /// @notice Offset of the solver.
    uint256 internal constant SOLVER = 40;
    /// @notice Offset of the challenger.
    uint256 internal constant CHALLENGER = 60;
    /// @notice Offset of the disputed job.
    uint256 internal constant JOB = 80;
    /// @notice Offset of the market's id of the game.
    uint256 internal constant GAME_ID = 88;
    /// @notice Offset of `N`, the program's step count.
    uint256 internal constant STEPS = 96;
    /// @notice Offset of the seconds on each party's clock.
    uint256 internal constant CLOCK = 104;
    /// @notice Offset of the program's slot count.
    uint256 internal constant SLOTS = 112;
    /// @notice Offset of `K`, operators per step.
    uint256 internal constant OPS = 116;
    /// @notice Offset of whether the job has a program commitment.
    uint256 internal constant BOUND = 120;
    /// @notice Offset of the solver's trace root.
    uint256 internal constant SOLVER_TRACE_ROOT = 121;
    /// @notice Offset of the challenger's trace root.
    uint256 internal constant CHALLENGER_TRACE_ROOT = 153;
    /// @notice Offset of the solver's output root.
    uint256 internal constant SOLVER_OUTPUT_ROOT = 185;
    /// @notice Offset of `h_0` from the program commitment.
    uint256 internal constant INITIAL_MEMORY = 217;
    /// @notice Offset of the op descriptor tree's root.
    uint256 internal constant OP_TREE = 249;
    /// @notice Length of the arguments.
    uint256 internal constant LENGTH = 281;

    /// @notice Packs a game's parameters at the offsets above.
    /// @param _params The parties and their commitments, as the market gave them.
    /// @param _program The job's program commitment (all zero when unbound).
    /// @param _bound Whether `_program` was registered for the job.
    /// @param _clock Seconds on each party's clock.
    /// @param _market The market to report to.
    /// @param _replayer The one-element replay.
    /// @return args_ The arguments, `LENGTH` bytes.
    function encode(
        IDisputeGameFactory.DisputeParams calldata _params,
        ProgramCommitment calldata _program,
        bool _bound,
        uint64 _clock,
        IDisputeResolver _market,
        OneStepReplay _replayer
    ) internal pure returns (bytes memory args_) {
        args_ = abi.encodePacked(
            _market,
            _replayer,
            _params.solver,
            _params.challenger,
            JobId.unwrap(_params.job),
            GameId.unwrap(_params.game),
            _params.steps,
            _clock,
            _program.slots,
            _program.ops,
            _bound
        );
        args_ = abi.encodePacked(
            args_,
            _params.solverTraceRoot,
            _params.challengerTraceRoot,
            _params.solverOutputRoot,
            _program.initialMemory,
            _program.opTree
        );
    }
}

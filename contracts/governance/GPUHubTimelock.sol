// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title GPUHubTimelock: the marketplace's governance address and treasury.
/// @notice OpenZeppelin's TimelockController unchanged: the governor is its only proposer and
/// canceller, anyone may execute a proposal once its delay has passed, and it administers itself.
/// Fees accrue to it in the marketplace, so only a passed proposal can pay them out.
contract GPUHubTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}

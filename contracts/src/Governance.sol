// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

// Compiled only so that contracts/build/ carries the timelock artifact that deployments use as
// the governor of the vault and the admin of every role.
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

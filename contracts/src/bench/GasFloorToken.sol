// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title GasFloorToken
 * @notice Benchmark only: the cheapest way to credit many holders, used as the gas floor that
 * `RewardVault.settle` is compared against. Anyone may mint; never deploy outside a benchmark.
 */
contract GasFloorToken is ERC20 {
    constructor() ERC20("Gas Floor", "FLOOR") {}

    /// @notice Mints `amounts[i]` to `holders[i]` for every i (arrays assumed equal length).
    function batchMint(address[] calldata holders, uint256[] calldata amounts) external {
        for (uint256 i = 0; i < holders.length; ++i) {
            _mint(holders[i], amounts[i]);
        }
    }
}

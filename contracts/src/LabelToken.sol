// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/**
 * @title LabelToken
 * @notice The reward token paid to workers for verified labels.
 * @dev A plain OpenZeppelin ERC-20 with EIP-2612 permit. Supply grows only through {mint}, which is
 * restricted to accounts holding {MINTER_ROLE}. Role administration belongs to `DEFAULT_ADMIN_ROLE`,
 * which deployments give to the governance timelock.
 */
contract LabelToken is ERC20, ERC20Permit, AccessControl {
    /// @notice Role allowed to create new tokens.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /**
     * @param name_ ERC-20 name, also the EIP-712 domain name used by permit.
     * @param symbol_ ERC-20 symbol.
     * @param admin Receives `DEFAULT_ADMIN_ROLE` (grants and revokes every role).
     * @param minter Receives {MINTER_ROLE}; may be the zero address to start with no minter.
     */
    constructor(string memory name_, string memory symbol_, address admin, address minter)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
    {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (minter != address(0)) {
            _grantRole(MINTER_ROLE, minter);
        }
    }

    /**
     * @notice Creates `amount` tokens for `to`.
     * @dev Requirements:
     * - the caller holds {MINTER_ROLE};
     * - `to` is not the zero address.
     *
     * Emits a {Transfer} event from the zero address.
     */
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }
}

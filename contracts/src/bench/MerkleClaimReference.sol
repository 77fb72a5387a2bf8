// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";

/**
 * @title MerkleClaimReference
 * @notice Benchmark only: the pull-payment alternative to {RewardVault-settle}, where every worker
 * sends their own claim with a Merkle proof. Measured by the gas report as the reference design.
 */
contract MerkleClaimReference {
    using SafeERC20 for IERC20;
    using BitMaps for BitMaps.BitMap;

    error MerkleClaimReferenceAlreadyClaimed(uint256 index);
    error MerkleClaimReferenceInvalidProof(uint256 index);

    event Claimed(uint256 indexed index, address indexed account, uint256 amount);

    IERC20 public immutable token;
    bytes32 public immutable root;
    BitMaps.BitMap private _claimed;

    constructor(IERC20 token_, bytes32 root_) {
        token = token_;
        root = root_;
    }

    /// @notice Pays `amount` to `account` when `proof` shows (index, account, amount) is in the tree.
    function claim(uint256 index, address account, uint256 amount, bytes32[] calldata proof) external {
        if (_claimed.get(index)) revert MerkleClaimReferenceAlreadyClaimed(index);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(index, account, amount))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert MerkleClaimReferenceInvalidProof(index);
        _claimed.set(index);
        token.safeTransfer(account, amount);
        emit Claimed(index, account, amount);
    }
}

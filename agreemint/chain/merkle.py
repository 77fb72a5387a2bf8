"""Merkle trees verifiable by OpenZeppelin's `MerkleProof` (keccak256, sorted pairs).

Leaves are double-hashed, as OpenZeppelin recommends, so a 64-byte internal node can never be
passed off as a leaf.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi import encode as abi_encode
from eth_utils import keccak


def leaf_hash(types: Sequence[str], values: Sequence[object]) -> bytes:
    """keccak256(keccak256(abi.encode(values))): the leaf format the reference contract checks."""
    return keccak(keccak(abi_encode(list(types), list(values))))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def _layers(leaves: Sequence[bytes]) -> list[list[bytes]]:
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    layers = [list(leaves)]
    while len(layers[-1]) > 1:
        level = layers[-1]
        # An odd node out is carried up unchanged.
        layers.append(
            [
                _pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                for i in range(0, len(level), 2)
            ]
        )
    return layers


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Root over `leaves` in the given order."""
    return _layers(leaves)[-1][0]


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Sibling hashes from leaf `index` up to the root."""
    proof = []
    for level in _layers(leaves)[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return proof


def verify(proof: Sequence[bytes], root: bytes, leaf: bytes) -> bool:
    """Same fold as MerkleProof.verify."""
    node = leaf
    for sibling in proof:
        node = _pair(node, sibling)
    return node == root

"""Batch validation and the deterministic split into settle transactions."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from agreemint.chain.errors import InvalidChainInput
from agreemint.chain.merkle import leaf_hash, merkle_proof, merkle_root, verify
from agreemint.chain.payouts import Payout, chunk_batch_id, max_workers_for_gas, plan_chunks

W = "0x00000000000000000000000000000000000a11ce"


def test_plan_is_deterministic_and_checksums() -> None:
    payouts = [Payout(W, i, 9_000) for i in range(7)]
    plan = plan_chunks(keccak(b"b"), payouts, 3)
    assert [len(c.payouts) for c in plan] == [3, 3, 1]
    assert plan[0].batch_id == keccak(b"b")
    assert (
        plan[1].batch_id
        == keccak(keccak(b"b") + (1).to_bytes(4, "big"))
        == chunk_batch_id(keccak(b"b"), 1)
    )
    assert len({c.batch_id for c in plan}) == 3
    assert plan == plan_chunks("0x" + keccak(b"b").hex(), payouts, 3)
    assert plan[0].payouts[0].worker == "0x00000000000000000000000000000000000A11cE"


@pytest.mark.parametrize(
    ("batch_id", "payouts"),
    [
        (bytes(32), [Payout(W, 1, 1)]),
        (b"x" * 31, [Payout(W, 1, 1)]),
        (keccak(b"b"), []),
        (keccak(b"b"), [Payout(W, 1, 10_001)]),
        (keccak(b"b"), [Payout(W, True, 1)]),  # type: ignore[arg-type]
        (keccak(b"b"), [Payout(W, 2**32, 1)]),
        (keccak(b"b"), [Payout("0x" + "00" * 20, 1, 1)]),
    ],
)
def test_invalid_batches(batch_id: bytes, payouts: list[Payout]) -> None:
    with pytest.raises(InvalidChainInput):
        plan_chunks(batch_id, payouts, 10)


def test_gas_sizing_keeps_500_under_the_osaka_cap() -> None:
    assert max_workers_for_gas(16_777_216) >= 500
    assert max_workers_for_gas(1_000_000) < 40
    assert max_workers_for_gas(10) == 1


def test_merkle_proofs_verify() -> None:
    leaves = [leaf_hash(["uint256", "address", "uint256"], [i, W, 5]) for i in range(11)]
    root = merkle_root(leaves)
    assert all(verify(merkle_proof(leaves, i), root, leaf) for i, leaf in enumerate(leaves))
    assert not verify(merkle_proof(leaves, 0), root, leaves[1])

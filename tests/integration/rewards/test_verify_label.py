"""verify-label on anvil: a settled item's true label is proven against the BatchSettled root."""

from __future__ import annotations

from agreemint.chain.merkle import verify
from agreemint.services.label_proof import prove_label, render
from tests.integration.rewards.conftest import Rig
from tests.integration.rewards.helpers import OPTIONS, link_wallets, make_crowd, round_and_assess


async def test_true_label_verifies_and_wrong_label_is_refused(rig: Rig) -> None:
    services, settlement = rig.services, rig.settlement
    crowd = await make_crowd(services, items=5, workers=3, wrong={2: {"item 1"}})
    await round_and_assess(services, crowd)
    await link_wallets(services, crowd)
    await settlement.open_campaign_onchain(crowd.campaign_id)
    assert (await settlement.settle_once()).paid == 1
    sm = services.sessionmaker

    report = await prove_label(sm, rig.chain, crowd.campaign_id, "i1")
    assert report.ok, render(report)
    [proof] = report.batches
    assert proof.label == OPTIONS[1] and proof.chain_root == proof.root and proof.tx_hash
    assert verify([bytes.fromhex(p[2:]) for p in proof.proof], bytes.fromhex(proof.root[2:]),
                  bytes.fromhex(proof.leaf[2:]))
    text = render(report)
    assert "verified" in text and proof.leaf in text and proof.tx_hash in text
    assert (await prove_label(sm, rig.chain, crowd.campaign_id, "i1", OPTIONS[1])).ok

    wrong = await prove_label(sm, rig.chain, crowd.campaign_id, "i1", OPTIONS[2])
    assert not wrong.ok
    assert wrong.batches[0].reason is not None and "'bird' is not the leaf" in (
        wrong.batches[0].reason)
    assert "NOT PROVEN" in render(wrong)


async def test_unpaid_or_unknown_items_are_not_proven(rig: Rig) -> None:
    services = rig.services
    crowd = await make_crowd(services, items=2, workers=3)
    await round_and_assess(services, crowd)  # assessed, never settled
    sm = services.sessionmaker
    unpaid = await prove_label(sm, rig.chain, crowd.campaign_id, "i0")
    assert not unpaid.ok and unpaid.reason is not None and "never anchored" in unpaid.reason
    unknown = await prove_label(sm, rig.chain, crowd.campaign_id, "nope")
    assert not unknown.ok and "has no item 'nope'" in render(unknown)

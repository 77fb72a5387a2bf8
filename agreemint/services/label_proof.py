"""Proving that an item's label is in the Merkle root a paid settlement batch anchored on-chain.

For every paid batch of the campaign that paid an answer to the item: the batch's leaves are
rebuilt from its ledger entries exactly as settlement built them (one leaf per distinct item,
sorted by item id, leaf = keccak256(keccak256(abi.encode(uint256 itemId, string label))), gold
label for gold items, consensus label otherwise); the rebuilt root must equal the stored one;
the proof of the claimed label's leaf is checked locally (OpenZeppelin MerkleProof fold) and
against the `merkleRoot` of the vault's `BatchSettled` event for that batch id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from agreemint.chain.context import ChainContext
from agreemint.chain.merkle import leaf_hash, merkle_proof, merkle_root, verify
from agreemint.services.settlement_store import batch_labels
from agreemint.store.engine import SessionMaker
from agreemint.store.models import Answer, Campaign, Item, LedgerEntry, SettlementBatch


@dataclass(frozen=True, slots=True)
class BatchProof:
    batch_key: str
    label: str  # the label the batch anchored for the item
    leaf: str
    proof: tuple[str, ...]
    root: str  # rebuilt from the ledger
    chain_root: str | None  # from the BatchSettled event (None: no event found)
    tx_hash: str | None
    block: int | None
    ok: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LabelReport:
    campaign_id: int
    external_id: str
    item_id: int | None
    claimed: str | None
    batches: list[BatchProof] = field(default_factory=list)
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.batches) and all(b.ok for b in self.batches)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


async def _paid_batches(
    sm: SessionMaker, campaign_id: int, item_id: int
) -> list[tuple[SettlementBatch, dict[int, str]]]:
    async with sm() as s:
        batches = list(await s.scalars(
            select(SettlementBatch).where(
                SettlementBatch.campaign_id == campaign_id, SettlementBatch.status == "paid",
                SettlementBatch.id.in_(
                    select(LedgerEntry.batch_id).join(Answer, Answer.id == LedgerEntry.answer_id)
                    .where(Answer.item_id == item_id)))
            .order_by(SettlementBatch.id)))
        out = []
        for batch in batches:
            entry_ids = list(await s.scalars(
                select(LedgerEntry.id).where(LedgerEntry.batch_id == batch.id)))
            out.append((batch, await batch_labels(s, entry_ids)))
        return out


Anchor = tuple[str, str, int]  # root, transaction, block of a BatchSettled event


async def _chain_roots(chain: ChainContext, chain_campaign_id: int | None) -> dict[str, Anchor]:
    if chain_campaign_id is None:
        return {}
    events = await chain.vault.batch_settlements(
        chain.deployment.block_number, campaign_id=chain_campaign_id, with_payouts=False)
    return {_hex(e.batch_id): (_hex(e.merkle_root), e.tx_hash, e.block_number) for e in events}


def _prove(batch: SettlementBatch, labels: dict[int, str], item_id: int, claimed: str | None,
           anchored: Anchor | None) -> BatchProof:
    order = sorted(labels)
    leaves = [leaf_hash(["uint256", "string"], [i, labels[i]]) for i in order]
    index = order.index(item_id)
    label = claimed if claimed is not None else labels[item_id]
    leaf = leaf_hash(["uint256", "string"], [item_id, label])
    proof = merkle_proof(leaves, index)
    root = merkle_root(leaves)
    chain_root, tx_hash, block = anchored if anchored is not None else (None, None, None)
    reason = None
    if _hex(root) != batch.merkle_root:
        reason = (f"the ledger's labels rebuild root {_hex(root)}, not the stored "
                  f"{batch.merkle_root}: labels changed after settlement")
    elif chain_root is None:
        reason = f"no BatchSettled event for batch {batch.batch_key} on this chain"
    elif not verify(proof, root, leaf):
        reason = (f"label {label!r} is not the leaf anchored for this item "
                  f"(the batch anchored {labels[item_id]!r})")
    elif not verify(proof, bytes.fromhex(chain_root[2:]), leaf):
        reason = f"the on-chain root {chain_root} differs from the ledger's {_hex(root)}"
    return BatchProof(batch.batch_key, labels[item_id], _hex(leaf),
                      tuple(_hex(p) for p in proof), _hex(root), chain_root, tx_hash, block,
                      reason is None, reason)


async def prove_label(
    sm: SessionMaker, chain: ChainContext, campaign_id: int, external_id: str,
    label: str | None = None,
) -> LabelReport:
    """The proof(s) that `label` (default: the stored one) of the item is anchored on-chain."""
    async with sm() as s:
        campaign = await s.get(Campaign, campaign_id)
        item_id = await s.scalar(select(Item.id).where(
            Item.campaign_id == campaign_id, Item.external_id == external_id))
    report = LabelReport(campaign_id, external_id, item_id, label)
    if campaign is None:
        return LabelReport(campaign_id, external_id, None, label,
                           reason=f"campaign {campaign_id} does not exist")
    if item_id is None:
        return LabelReport(campaign_id, external_id, None, label,
                           reason=f"campaign {campaign_id} has no item {external_id!r}")
    paid = await _paid_batches(sm, campaign_id, item_id)
    if not paid:
        return LabelReport(campaign_id, external_id, item_id, label, reason=(
            "no paid settlement batch includes this item: its label was never anchored"))
    roots = await _chain_roots(chain, campaign.chain_campaign_id)
    for batch, labels in paid:
        report.batches.append(_prove(batch, labels, item_id, label, roots.get(batch.batch_key)))
    return report


def render(report: LabelReport) -> str:
    head = f"campaign {report.campaign_id}, item {report.external_id!r}"
    if report.reason is not None:
        return f"NOT PROVEN: {head}: {report.reason}"
    lines = []
    for b in report.batches:
        status = "verified" if b.ok else f"NOT PROVEN: {b.reason}"
        lines += [
            f"{head} (item id {report.item_id}), batch {b.batch_key}: {status}",
            f"  label: {report.claimed if report.claimed is not None else b.label}",
            f"  leaf:  {b.leaf}",
            "  proof: " + (", ".join(b.proof) if b.proof else "(empty: single-leaf tree)"),
            f"  root:  {b.root} (ledger), {b.chain_root or '-'} (BatchSettled)",
            f"  tx:    {b.tx_hash or '-'} (block {b.block if b.block is not None else '-'})",
        ]
    return "\n".join(lines)

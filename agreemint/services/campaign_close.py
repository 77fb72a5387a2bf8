"""Closing a campaign for good: refusing while rewards are owed, refunding the escrow, then
marking the row closed.

Closing a campaign that has a vault escrow refunds the remainder on-chain first and marks the
row closed after, so a crash in between is repaired by closing again (the vault already closed:
only the row changes). The refund waits out the vault's lock: a manager signer from the
campaign's end, a mere funder also through the settlement window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.domain import CampaignStatus
from agreemint.services.campaign_access import CampaignAccess, ControlRefused, Viewer
from agreemint.store.models import Campaign, LedgerEntry


@dataclass(frozen=True, slots=True)
class CloseResult:
    refunded_wei: int | None  # None: nothing on-chain to refund


class CampaignClosing(CampaignAccess):
    """Closing, with the escrow refunded first."""

    async def close(self, viewer: Viewer, campaign_id: int) -> CloseResult:
        """Stop the campaign for good and refund the vault's remainder to its funder.

        Refused while rewards are still owed (pending or verified): after the vault closes,
        they could never be paid.
        """
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id)
            await self._check_closable(session, c)
            chain_id = c.chain_campaign_id
        refunded = await self._refund(chain_id) if chain_id is not None else None
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id, for_update=True)
            if c.status == CampaignStatus.CLOSED:  # a concurrent close got here first
                return CloseResult(refunded)
            self._set(session, viewer, c, CampaignStatus.CLOSED, "campaign.closed",
                      refunded_wei=str(refunded) if refunded is not None else None)
            await session.commit()
        return CloseResult(refunded)

    async def _check_closable(self, session: AsyncSession, c: Campaign) -> None:
        if c.status == CampaignStatus.CLOSED:
            raise ControlRefused(f"Campaign #{c.id} is already closed.")
        owed = await session.scalar(select(func.count()).where(
            LedgerEntry.campaign_id == c.id, LedgerEntry.status.in_(("pending", "verified"))))
        if owed:
            raise ControlRefused(
                f"{owed} rewards are still being assessed or paid; pause the campaign and close "
                "it once they are settled.")
        if c.chain_campaign_id is not None and self._chain is None:
            raise ControlRefused("The payment network is not connected, so the escrow cannot "
                                 "be refunded now. Try again later.")

    async def _refund(self, chain_id: int) -> int:
        assert self._chain is not None
        vault = self._chain.vault
        info = await vault.campaign(chain_id)
        if info.closed:  # closed on-chain earlier (e.g. a crash before the row was updated)
            return 0
        unlocks_at = info.ends_at
        # Our signer closes from the end as a manager; as a mere funder it waits out the window
        # the vault keeps for settling the last answers.
        if not await vault.has_role("MANAGER_ROLE", self._chain.sender.address):
            unlocks_at += await vault.settlement_window()
        block = await self._chain.w3.eth.get_block("latest")
        if int(block["timestamp"]) < unlocks_at:
            ends = datetime.fromtimestamp(unlocks_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise ControlRefused(
                f"The escrow is locked on-chain until {ends}; the remainder can be refunded "
                "only after that. Pause the campaign meanwhile.")
        return await vault.close(chain_id)  # a revert surfaces as a typed ChainError

"""A manager's control of campaigns: pause, resume and extend; and `CampaignControl`, the one
object that also lists, shows and closes them.

Managers control the campaigns they own; admins every campaign (campaign_access.py). Each state
change is audited in the transaction that makes it. Extending a campaign moves the vault's end
first and the deadline after: a vault end later than the deadline is harmless, an earlier one
lets the funder take the escrow while workers are still owed. Reading is campaign_views.py and
closing campaign_close.py; their names are re-exported here so callers need not know the split.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

from agreemint.chain.errors import RewardVaultEndTimeNotLater
from agreemint.domain import CampaignStatus
from agreemint.services.audit import audit
from agreemint.services.campaign_access import ControlRefused, Viewer
from agreemint.services.campaign_close import CampaignClosing, CloseResult
from agreemint.services.campaign_views import CampaignCard, CampaignLine, CampaignViews, ChartData
from agreemint.store.models import Campaign

__all__ = [
    "MAX_EXTENSION", "CampaignCard", "CampaignControl", "CampaignLine",
    "ChartData", "CloseResult", "ControlRefused", "Viewer",
]

log = logging.getLogger(__name__)

MAX_EXTENSION = timedelta(days=365)


class CampaignControl(CampaignViews, CampaignClosing):
    """Everything a manager does with campaigns; pausing, resuming and extending live here."""

    async def pause(self, viewer: Viewer, campaign_id: int) -> None:
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id, for_update=True)
            if c.status != CampaignStatus.ACTIVE:
                raise ControlRefused(f"Only a running campaign can be paused; "
                                     f"campaign #{c.id} is {c.status}.")
            self._set(session, viewer, c, CampaignStatus.PAUSED, "campaign.paused")
            await session.commit()

    async def resume(self, viewer: Viewer, campaign_id: int) -> None:
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id, for_update=True)
            if c.status != CampaignStatus.PAUSED:
                raise ControlRefused(f"Only a paused campaign can be resumed; "
                                     f"campaign #{c.id} is {c.status}.")
            if c.deadline is not None and c.deadline <= self._now():
                raise ControlRefused("The deadline has passed: extend it before resuming.")
            self._set(session, viewer, c, CampaignStatus.ACTIVE, "campaign.resumed")
            await session.commit()

    async def extend(self, viewer: Viewer, campaign_id: int, new_deadline: datetime) -> datetime:
        """Move the deadline later, and the vault's end with it when it would end earlier.

        The vault goes first: a crash before the row is written leaves the vault later than the
        deadline (harmless), and the retry finds the vault late enough and sends nothing.
        """
        if new_deadline.tzinfo is None:
            raise ValueError("new_deadline must be timezone-aware")
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id)
            self._check_extension(c, new_deadline)
            chain_id = c.chain_campaign_id
        if chain_id is not None:
            await self._extend_vault(campaign_id, chain_id, new_deadline)
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id, for_update=True)
            self._check_extension(c, new_deadline)  # again: it may have changed meanwhile
            previous, c.deadline = c.deadline, new_deadline
            audit(session, "campaign.extended", "campaign", c.id, actor=str(viewer.telegram_id),
                  previous=previous.isoformat() if previous else None,
                  deadline=new_deadline.astimezone(UTC).isoformat())
            await session.commit()
            return new_deadline

    def _check_extension(self, c: Campaign, new_deadline: datetime) -> None:
        now = self._now()
        if c.status == CampaignStatus.CLOSED:
            raise ControlRefused("A closed campaign cannot be extended.")
        if new_deadline <= now or (c.deadline is not None and new_deadline <= c.deadline):
            raise ControlRefused("The new deadline must be later than now and than the "
                                 "current deadline.")
        if new_deadline > now + MAX_EXTENSION:
            raise ControlRefused("A deadline can be at most a year ahead.")

    async def _extend_vault(self, campaign_id: int, chain_id: int, deadline: datetime) -> None:
        """Make the vault's end no earlier than `deadline`, or refuse (the deadline stays)."""
        if self._chain is None:
            raise ControlRefused("The payment network is not connected, so the escrow's end "
                                 "cannot move; the deadline is unchanged. Try again later.")
        vault = self._chain.vault
        ends_at = math.ceil(deadline.timestamp())  # whole seconds on-chain: never round earlier
        try:
            info = await vault.campaign(chain_id)
            if not info.closed and info.ends_at < ends_at:
                await vault.extend(chain_id, ends_at)
        except RewardVaultEndTimeNotLater:
            return  # a concurrent extension moved the vault at least as far between read and send
        except Exception as exc:  # reverts, RPC down, timeouts: the deadline stays, retry is safe
            log.warning("extending vault campaign %s to %s failed", chain_id, ends_at,
                        exc_info=True)
            raise ControlRefused(
                f"The deadline of campaign #{campaign_id} is unchanged: the payment network "
                "did not take the escrow's new end time. Try again later.") from exc
        if info.closed:  # refunded on-chain by a close that crashed before the row changed
            raise ControlRefused(f"The escrow of campaign #{campaign_id} was already refunded, "
                                 "so it cannot be extended; close the campaign.")

    async def extend_by(self, viewer: Viewer, campaign_id: int, days: int) -> datetime:
        """Push the deadline `days` later (from now if it has passed or is not set)."""
        if not 1 <= days <= MAX_EXTENSION.days:
            raise ControlRefused(f"Extend by 1 to {MAX_EXTENSION.days} days.")
        now = self._now()
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id)
            base = max(c.deadline or now, now)
        return await self.extend(viewer, campaign_id, base + timedelta(days=days))

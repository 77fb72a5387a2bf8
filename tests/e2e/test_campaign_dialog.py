"""/newcampaign over the fake Bot API: every step, bad answers, cancel, upload, funding on anvil."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from agreemint.chain.context import ChainContext
from agreemint.domain import CampaignStatus
from agreemint.services.funding import FundingService
from agreemint.services.settlement import SettlementService
from agreemint.store.models import Campaign
from tests.e2e.conftest import Harness
from tests.integration.rewards.conftest import chain

__all__ = ["chain"]  # fixtures imported for pytest

BOSS = 700
GOOD_CSV = b"id,text,gold\na1,a fluffy cat,\na2,a barking dog,\ng1,a kitten,cat\n"
BAD_CSV = b"id,text,gold\na1,a cat,\na1,again,\na3,,\na4,x,horse\n"


async def say(h: Harness, text: str) -> str:
    """The manager writes `text`; returns the bot's reply."""
    before = len(await h.tg.messages(BOSS))
    await h.tg.send_text(BOSS, text)
    return (await h.tg.wait_for(BOSS, before + 1))[-1].content


async def press(h: Harness, button: str, replies: int = 1) -> list[str]:
    before = len(await h.tg.messages(BOSS))
    await h.tg.press(BOSS, button)
    msgs = await h.tg.wait_for(BOSS, before + replies, timeout=20)
    return [m.content for m in msgs[before:]]


async def upload(h: Harness, data: bytes, name: str) -> str:
    before = len(await h.tg.messages(BOSS))
    await h.tg.send_document(BOSS, data, name)
    return (await h.tg.wait_for(BOSS, before + 1))[-1].content


async def manager(h: Harness, tmp_path: Path, funding: FundingService | None = None) -> None:
    h.services.roles._managers = frozenset({BOSS})
    h.dp["upload_dir"] = tmp_path
    if funding is not None:
        h.dp["funding"] = funding
    await h.tg.create_user(BOSS, "Boss")


async def campaigns(h: Harness) -> list[Campaign]:
    async with h.services.sessionmaker() as s:
        return list(await s.scalars(select(Campaign)))


async def to_upload_step(h: Harness) -> None:
    """Walks every step with one bad answer each; each bad answer keeps the step."""
    assert "Step 1 of 10" in await say(h, "/newcampaign")
    assert "1-200 characters" in await say(h, "x" * 201)
    assert "Step 2" in await say(h, "Pets <b>")
    assert "Step 3" in await say(h, "Pick the animal.")
    assert "choose the task type" in await say(h, "single")
    assert "Step 4" in (await press(h, "Single choice"))[0]
    assert "they repeat" in await say(h, "cat, Cat")
    assert "Step 5" in await say(h, "cat, dog")
    assert "whole numbers" in await say(h, "5 3")
    assert "Step 6" in await say(h, "2 3")
    assert "0.5 to 0.99" in await say(h, "0.3")
    assert "Step 7" in await say(h, "90%")
    assert "0 to 0.5" in await say(h, "0.9")
    assert "Step 8" in await say(h, "0.1")
    assert "positive number" in await say(h, "abc")
    assert "positive number" in await say(h, "0.0000001")
    assert "Step 9" in await say(h, "0.05")
    assert "future date" in await say(h, "2000-01-01")
    assert "Step 10" in await say(h, "7")
    assert "as a file" in await say(h, "here it is")


async def test_full_dialog_creates_and_mints(
    harness: Harness, tmp_path: Path, chain: ChainContext
) -> None:
    h = harness
    settlement = SettlementService(h.services.sessionmaker, chain, h.services.rewards._settings)
    funding = FundingService(h.services.sessionmaker, settlement, chain,
                             curve=await chain.vault.quality_curve(), allow_mint=True)
    await manager(h, tmp_path, funding)
    await to_upload_step(h)
    assert "I read" in await upload(h, b"hello", "items.txt")
    report = await upload(h, BAD_CSV, "bad.csv")
    assert "nothing imported" in report and "line 3" in report and "line 5" in report
    assert await campaigns(h) == []
    summary = await upload(h, GOOD_CSV, "pets.csv")
    # 3 items × 3 answers × 0.05 × 1.5 = 0.675
    assert "Read 3 items (1 gold)" in summary and "Budget: 0.675 LBL" in summary
    assert "Pets <b>" in summary  # typed HTML shown as text, not markup
    assert "tap Confirm" in await say(h, "ok")
    replies = await press(h, "Confirm", replies=2)
    assert "saved as a draft" in replies[0] and "active" in replies[1]
    (row,) = await campaigns(h)
    budget = 3 * 3 * 50_000 * 10**12 * 15 // 10
    assert row.status == CampaignStatus.ACTIVE and row.budget_wei == budget
    assert row.max_overlap == 3 and row.overlap == 2 and row.target_confidence == 0.9
    assert row.gold_rate == 0.1 and row.deadline is not None and row.owner_id is not None
    assert row.chain_campaign_id is not None
    assert (await chain.vault.campaign(row.chain_campaign_id)).escrow == budget
    assert not list((tmp_path / "uploads").iterdir())  # the upload is removed


async def test_deposit_needed_then_check_funding(
    harness: Harness, tmp_path: Path, chain: ChainContext
) -> None:
    h = harness
    settlement = SettlementService(h.services.sessionmaker, chain, h.services.rewards._settings)
    funding = FundingService(h.services.sessionmaker, settlement, chain,
                             curve=await chain.vault.quality_curve(), allow_mint=False)
    await manager(h, tmp_path, funding)
    await say(h, "/newcampaign")
    await say(h, "Quick")
    await say(h, "Is it a cat?")
    assert "Step 5" in (await press(h, "Yes / no"))[0]  # yes/no skips the labels step
    for answer in ("3", "0.8", "0", "1", "none"):
        await say(h, answer)
    await upload(h, b'{"id": "q1", "text": "a cat"}\n{"id": "q2", "text": "a dog"}\n', "q.jsonl")
    replies = await press(h, "Confirm", replies=2)
    assert "approve(" in replies[1] and "fund(" in replies[1]
    (row,) = await campaigns(h)
    assert row.status == CampaignStatus.DRAFT and row.label_options == ["yes", "no"]
    assert "waiting for funds" in (await press(h, "Check funding"))[0]
    assert row.chain_campaign_id is not None
    await chain.vault.fund_with_mint(row.chain_campaign_id, row.budget_wei)  # the deposit
    assert "active" in (await press(h, "Check funding"))[0]
    assert "funded with" in await say(h, f"/fund {row.id}")  # re-check: nothing more to do
    assert (await campaigns(h))[0].status == CampaignStatus.ACTIVE


async def test_cancel_at_any_step_saves_nothing(harness: Harness, tmp_path: Path) -> None:
    h = harness
    await manager(h, tmp_path)
    await say(h, "/newcampaign")
    assert "cancelled" in await say(h, "/cancel")
    assert "buttons under the task" in await say(h, "Pets")  # the dialog is over
    await say(h, "/newcampaign")
    await say(h, "Pets")
    await say(h, "Pick.")
    assert "cancelled" in (await press(h, "Cancel"))[0]  # at the task-type buttons
    await to_upload_step(h)
    assert "cancelled" in await say(h, "/cancel")
    await to_upload_step(h)
    await upload(h, GOOD_CSV, "pets.csv")
    assert "cancelled" in (await press(h, "Cancel"))[0]  # at the summary
    assert await campaigns(h) == []
    assert not list((tmp_path / "uploads").iterdir())


async def test_without_funding_the_draft_gives_no_tasks(harness: Harness, tmp_path: Path) -> None:
    h = harness
    await manager(h, tmp_path)  # no FundingService: a bot without a chain
    await to_upload_step(h)
    await upload(h, GOOD_CSV, "pets.csv")
    replies = await press(h, "Confirm", replies=2)
    assert "without one" in replies[1]
    (row,) = await campaigns(h)
    assert row.status == CampaignStatus.DRAFT
    await h.tg.create_user(801, "Worker")
    await h.tg.send_text(801, "/next")
    await h.tg.wait_for(801, 1)
    worker = await h.services.workers.register(801, "Worker", None, "en")
    assert await h.services.tasks.next_task(worker.id) is None


async def test_non_manager_is_refused(harness: Harness) -> None:
    h = harness
    await h.tg.create_user(BOSS + 1, "Nobody")
    await h.tg.send_text(BOSS + 1, "/start")  # registered first: the next two run concurrently
    await h.tg.wait_for(BOSS + 1, 1)
    for command in ("/newcampaign", "/fund 1"):
        await h.tg.send_text(BOSS + 1, command)
    msgs = await h.tg.wait_for(BOSS + 1, 3)
    await asyncio.sleep(0.2)
    assert [m.content for m in msgs[1:]] == ["Sorry, that is only for campaign managers."] * 2
    async with h.services.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Campaign)) == 0

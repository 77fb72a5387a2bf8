"""The incentive loop through the real bot, the sandbox and anvil: label → round → settle →
/balance shows paid, the wallet holds the tokens, and the worker was told."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from eth_account import Account
from pydantic import SecretStr
from sqlalchemy import func, select

from agreemint.chain.context import ChainContext
from agreemint.config import Settings
from agreemint.demo.crowd import SimWorker, link_wallet
from agreemint.domain import ItemKind
from agreemint.money import format_tokens
from agreemint.runtime import build_services
from agreemint.sandbox import FakeBotAPI, SandboxClient
from agreemint.services.campaigns import CampaignSpec
from agreemint.services.itemfile import ItemSpec
from agreemint.store.engine import create_engine, create_sessionmaker
from agreemint.store.models import LedgerEntry, Worker
from bot import texts
from bot.app import build_bot, build_dispatcher, run_polling
from bot.notifier import deliver
from tests.conftest import Clock, quiet_trust
from tests.e2e.conftest import Harness
from tests.integration.rewards.conftest import chain  # noqa: F401 - fixture

RATE_MICRO = 250_000  # 0.25 LBL per verified label


@pytest.fixture
async def paid(db_url: str, chain: ChainContext, tmp_path: Path,  # noqa: F811
               clock: Clock) -> AsyncIterator[Harness]:
    settings = Settings(_env_file=None, data_dir=tmp_path, chain=chain.sender.settings,
                        trust=quiet_trust())
    settings.tasks.gold_rate = 0.0
    engine = create_engine(db_url)
    services = build_services(create_sessionmaker(engine), settings, clock, chain,
                              await chain.vault.quality_curve())
    async with FakeBotAPI() as api, SandboxClient(api.base_url) as tg:
        settings.bot.token, settings.bot.api_base = SecretStr(api.token), api.base_url
        bot = build_bot(settings.bot)
        dp = build_dispatcher(services)
        polling = asyncio.create_task(run_polling(bot, dp, polling_timeout=1))
        try:
            yield Harness(api, tg, bot, dp, services)
        finally:
            await dp.stop_polling()
            await asyncio.wait_for(polling, timeout=10)
            await bot.session.close()
            await engine.dispose()


async def answer_everything(h: Harness, worker: SimWorker, option: int) -> None:
    before = await h.tg.last_message(worker.user_id)
    last = before.message_id if before else 0
    await h.tg.send_text(worker.user_id, "/next")
    while True:
        msgs = await h.tg.wait_for(worker.user_id, lambda ms, after=last: ms[-1].message_id > after)
        task = msgs[-1]
        if texts.SKIP not in task.button_texts:
            return
        data = task.buttons[0][option].callback_data or ""
        await h.tg.tap(worker.user_id, task.message_id, data)
        # Telegram delivers the tap twice, and the worker taps the old button again.
        await h.tg.duplicate_last_update(worker.user_id)
        await h.tg.wait_for(worker.user_id, lambda ms, t=task.message_id: ms[-1].message_id > t)
        await h.tg.tap(worker.user_id, task.message_id, data, force=True)
        last = task.message_id


async def test_verified_answers_are_paid_to_the_linked_wallet(paid: Harness) -> None:
    h = paid
    spec = CampaignSpec(name="Pets", instructions="Pick.", options=("cat", "dog"), overlap=2,
                        reward_rate_micro=RATE_MICRO)
    items = [ItemSpec(f"i{n}", ItemKind.TEXT, f"pet {n}", None, None) for n in range(2)]
    campaign = await h.services.campaigns.create(spec, items)
    assert h.services.settlement is not None and h.services.chain is not None
    await h.services.settlement.open_campaign_onchain(campaign)
    crowd = [SimWorker(800 + n, f"W{n}", "careful", 1.0, Account.create()) for n in range(2)]
    for worker in crowd:
        await h.tg.create_user(worker.user_id, worker.name)
        await link_wallet(h.tg, worker)
        await answer_everything(h, worker, option=0)
    async with h.services.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    [summary] = await h.services.rounds.run_all()
    assessed = await h.services.rewards.assess(summary.round_id)
    assert assessed.verified == 4
    result = await h.services.settlement.settle_once()
    assert result.paid == 1 and result.failed == 0
    assert await deliver(h.bot, h.services.notifications) == 2
    async with h.services.sessionmaker() as s:
        rows = (await s.execute(select(Worker.telegram_id, LedgerEntry)
                                .join(Worker, Worker.id == LedgerEntry.worker_id))).all()
    assert len(rows) == 4  # one entry per answer despite duplicates and double taps
    assert {e.status for _, e in rows} == {"paid"} and all(e.tx_hash for _, e in rows)
    for worker in crowd:
        ledger = sum(e.amount_wei for tg_id, e in rows if tg_id == worker.user_id)
        onchain = await h.services.chain.token.balance_of(worker.account.address)
        assert onchain == ledger > 0
        msgs = await h.tg.messages(worker.user_id)
        assert any("You were paid" in m.content and "0x" in m.content for m in msgs)
        await h.tg.send_text(worker.user_id, "/balance")
        reply = (await h.tg.wait_for(worker.user_id,
                                     lambda ms: "Your balance" in ms[-1].content))[-1]
        shown = format_tokens(onchain)
        assert f"Paid: 2 answers — {shown}" in reply.content
        assert f"{shown} on-chain" in reply.content and worker.account.address in reply.content

"""The demo's progress bar and its closing summary (ledger against the chain)."""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from agreemint.demo.crowd import SimWorker
from agreemint.money import WEI_PER_TOKEN
from agreemint.runtime import Services
from agreemint.sandbox import SandboxClient
from agreemint.services.reconcile import reconcile
from agreemint.store.models import Answer, Item, LedgerEntry, Worker

PAYOUT_MESSAGE = "You were paid"


def tokens(wei: int) -> float:
    return float(Decimal(wei) / WEI_PER_TOKEN)


async def progress(services: Services, items: int) -> None:
    """A progress bar on stderr while the crowd works (the summary goes to stdout).

    On a terminal the bar redraws in place; in a log it prints a line every few seconds.
    """
    tty = sys.stderr.isatty()
    while True:
        async with services.sessionmaker() as s:
            answers = int(await s.scalar(select(func.count()).select_from(Answer)) or 0)
            labeled = int(await s.scalar(
                select(func.count()).where(Item.resolved.is_(True))) or 0)
            paid = int(await s.scalar(
                select(func.count()).where(LedgerEntry.status == "paid")) or 0)
        width = 30
        filled = int(min(1.0, labeled / max(1, items)) * width)
        line = (f"  [{'█' * filled}{'·' * (width - filled)}] {labeled}/{items} items labeled · "
                f"{answers} answers · {paid} paid")
        print(f"\r{line}" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
        await asyncio.sleep(0.5 if tty else 3.0)


async def summarize(services: Services, crowd: list[SimWorker], truth: dict[str, str],
                    tg: SandboxClient) -> dict[str, Any]:
    assert services.chain is not None
    async with services.sessionmaker() as s:
        labeled = list(await s.scalars(select(Item).where(Item.resolved.is_(True))))
        regular = int(await s.scalar(select(func.count()).where(Item.is_gold.is_(False))) or 0)
        answers = int(await s.scalar(select(func.count()).select_from(Answer)) or 0)
        ledger = (await s.execute(
            select(Worker.telegram_id, LedgerEntry.status, LedgerEntry.amount_wei)
            .join(Worker, Worker.id == LedgerEntry.worker_id)
        )).all()
    paid = {w.user_id: 0 for w in crowd}
    withheld = {w.user_id: 0 for w in crowd}
    for telegram_id, status, amount in ledger:
        if status == "paid":
            paid[telegram_id] += int(amount)
        elif status == "withheld":
            withheld[telegram_id] += 1
    onchain = {w.user_id: await services.chain.token.balance_of(w.account.address) for w in crowd}
    report = await reconcile(services.sessionmaker, services.chain)
    correct = sum(1 for i in labeled if truth.get(i.text or "") == i.consensus_label)
    workers = []
    for w in crowd:
        messages = await tg.messages(w.user_id)
        workers.append({
            "name": w.name, "profile": w.profile, "wallet": w.account.address,
            "accuracy": round(w.correct / w.answers, 4) if w.answers else 0.0,
            "answers": w.answers, "tokens_paid": tokens(paid[w.user_id]),
            "onchain_balance": tokens(onchain[w.user_id]), "withheld": withheld[w.user_id],
            "payout_messages": sum(PAYOUT_MESSAGE in m.content for m in messages),
            "refused_taps": w.refused,
        })
    ledger_paid, onchain_paid = sum(paid.values()), sum(onchain.values())
    return {
        "items": regular, "items_labeled": len(labeled), "answers": answers,
        "accuracy": round(correct / len(labeled), 4) if labeled else 0.0,
        "ledger_paid": tokens(ledger_paid), "onchain_paid": tokens(onchain_paid),
        "vault_paid": tokens(report.chain_paid_wei),
        "match": ledger_paid == onchain_paid == report.chain_paid_wei and report.ok,
        "workers": workers,
    }


def print_summary(summary: dict[str, Any], json_out: bool) -> None:
    print("agreemint demo: local chain + Telegram sandbox + the real bot + a simulated crowd")
    print(f"{'worker':<7} {'profile':<8} {'answers':>7} {'accuracy':>8} {'withheld':>8} "
          f"{'paid (LBL)':>11} {'wallet (LBL)':>12} {'msgs':>4}")
    for w in summary["workers"]:
        print(f"{w['name']:<7} {w['profile']:<8} {w['answers']:>7} {w['accuracy']:>8.1%} "
              f"{w['withheld']:>8} {w['tokens_paid']:>11.4f} {w['onchain_balance']:>12.4f} "
              f"{w['payout_messages']:>4}")
    verdict = "match" if summary["match"] else "DO NOT MATCH"
    print(f"items labeled: {summary['items_labeled']}/{summary['items']} · answers: "
          f"{summary['answers']} · label accuracy vs known truth: {summary['accuracy']:.1%}")
    print(f"paid: ledger {summary['ledger_paid']:.4f} LBL · on-chain (wallets) "
          f"{summary['onchain_paid']:.4f} LBL · vault events {summary['vault_paid']:.4f} LBL · "
          f"{verdict} · {summary['seconds']} s")
    if json_out:
        print(json.dumps(summary, separators=(",", ":")))

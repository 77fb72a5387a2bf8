"""Broadcast benchmark: 10,000 simulated workers through the fake Bot API, at Telegram's limits.

    python benchmarks/broadcast.py                       # one sender, start to end
    python benchmarks/broadcast.py --kill-after 120      # SIGKILL the sender, then restart it

The parent process runs the sandbox (FakeBotAPI on 127.0.0.1) with flood limits on (1 msg/s
per chat, 30 msg/s overall) and seeded random 429s and 403s. It fills a temporary SQLite
database with workers, queues one broadcast, and runs the sender (bot.broadcaster) in a child
process: with --kill-after the child is killed with SIGKILL after N seconds and a new one is
started, while the sandbox keeps running in the parent. Everything is then counted from the
sandbox's own call log:

- lost: a worker who should have got the message (did not block the bot) but never had a
  successful sendMessage;
- duplicated: a worker with more than one successful sendMessage;
- rate: successful sends per second, from the first send to the last (kill and restart
  included); `limit` is the configured messages_per_second.

Ends with one JSON line: rate, limit, lost, duplicated, seconds (and a few more figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import insert

from agreemint.config import BroadcastSettings
from agreemint.sandbox import FakeBotAPI, SandboxClient
from agreemint.services.broadcast import BroadcastService
from agreemint.store import migrate
from agreemint.store.engine import create_engine, create_sessionmaker
from agreemint.store.models import Worker
from bot.broadcaster import run_broadcasts

MANAGER = 1
SCRIPT = str(Path(__file__).resolve())
FIRST_WORKER = 100_000


def _bot(base_url: str, token: str) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))


# -- the child: one sender process ----------------------------------------------------------


async def child(db_url: str, base_url: str, token: str, rate: float, lease: float) -> None:
    engine = create_engine(db_url)
    service = BroadcastService(create_sessionmaker(engine),
                               BroadcastSettings(messages_per_second=rate))
    bot = _bot(base_url, token)
    try:
        await run_broadcasts(bot, service, lease_seconds=lease)
    finally:
        await bot.session.close()
        await engine.dispose()


# -- the parent: sandbox, data, sender processes, counting ----------------------------------


async def seed(db_url: str, tg: SandboxClient, workers: int) -> None:
    await migrate.upgrade(db_url)
    engine = create_engine(db_url)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.execute(insert(Worker), [
                {"telegram_id": FIRST_WORKER + n, "first_name": f"W{n}"} for n in range(workers)
            ])
            await session.commit()
    finally:
        await engine.dispose()
    ids = [MANAGER] + [FIRST_WORKER + n for n in range(workers)]
    for start in range(0, len(ids), 200):  # 200 at a time: fast, and gentle on the server
        await asyncio.gather(*(tg.create_user(i, started=True) for i in ids[start:start + 200]))


async def queue_broadcast(db_url: str, base_url: str, token: str, rate: float) -> int:
    bot = _bot(base_url, token)
    engine = create_engine(db_url)
    try:
        status = await bot.send_message(MANAGER, "Broadcast: queued")
        service = BroadcastService(create_sessionmaker(engine),
                                   BroadcastSettings(messages_per_second=rate))
        return await service.create(
            "New campaign: Pets. Send /next to start labeling.",
            status_chat_id=MANAGER, status_message_id=status.message_id)
    finally:
        await bot.session.close()
        await engine.dispose()


async def spawn(args: argparse.Namespace, db_url: str, base_url: str, token: str
                ) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, SCRIPT, "--child", "--db", db_url,
        "--api", base_url, "--token", token, "--rate", str(args.rate),
        "--lease", str(args.lease),
    )


async def progress(tg: SandboxClient, total: int, stop: asyncio.Event) -> None:
    since = 0
    ok = 0
    while not stop.is_set():
        with_timeout = asyncio.create_task(stop.wait())
        await asyncio.wait({with_timeout}, timeout=15)
        with_timeout.cancel()
        calls = await tg.calls("sendMessage", since=since)
        if calls:
            since = max(c["seq"] for c in calls)
        ok += sum(1 for c in calls if c["ok"])
        print(f"  … {ok:,} / {total:,} delivered", flush=True)


async def parent(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="agreemint-bench-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
    async with FakeBotAPI() as api, SandboxClient(api.base_url) as tg:
        # Count the sandbox limiter's own refusals apart from the injected 429s.
        limiter_refusals = Counter[str]()
        check = api.limiter.check

        def counting_check(method: str, chat_id: int | None) -> None:
            try:
                check(method, chat_id)
            except Exception:
                limiter_refusals[method] += 1
                raise

        api.limiter.check = counting_check  # type: ignore[method-assign]

        print(f"seeding {args.workers:,} workers …", flush=True)
        await seed(db_url, tg, args.workers)
        await queue_broadcast(db_url, api.base_url, api.token, args.rate)
        await tg.set_limits(True, per_chat_rate=1.0, per_chat_burst=1.0,
                            global_rate=30.0, global_burst=30.0)
        await tg.random_faults(seed=args.seed, p429=args.p429, p403=args.p403,
                               retry_after=1, block_on_403=True, methods=["sendMessage"])
        first_call = len(await tg.calls("sendMessage"))

        print(f"sending at {args.rate:g}/s (sandbox: 30/s overall, 1/s per chat; "
              f"p429={args.p429}, p403={args.p403})", flush=True)
        stop = asyncio.Event()
        reporter = asyncio.create_task(progress(tg, args.workers, stop))
        wall = time.monotonic()
        runs = 0
        proc = await spawn(args, db_url, api.base_url, api.token)
        runs += 1
        if args.kill_after:
            try:
                await asyncio.wait_for(proc.wait(), timeout=args.kill_after)
            except TimeoutError:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                print(f"  ✗ sender SIGKILLed after {args.kill_after:g} s; restarting",
                      flush=True)
                proc = await spawn(args, db_url, api.base_url, api.token)
                runs += 1
        code = await proc.wait()
        wall = time.monotonic() - wall
        stop.set()
        await reporter
        if code != 0:
            raise SystemExit(f"sender exited with {code}")

        calls = (await tg.calls("sendMessage"))[first_call:]
        final_status = await tg.last_message(MANAGER)

    ok_per_chat: Counter[int] = Counter()
    blocked: set[int] = set()
    errors: Counter[int] = Counter()
    times = []
    for c in calls:
        chat = int(c["params"]["chat_id"])
        if chat == MANAGER:
            continue
        if c["ok"]:
            ok_per_chat[chat] += 1
            times.append(float(c["time"]))
        else:
            errors[int(c["error_code"])] += 1
            if c["error_code"] == 403:
                blocked.add(chat)
    expected = {FIRST_WORKER + n for n in range(args.workers)} - blocked
    lost = sum(1 for chat in expected if ok_per_chat[chat] == 0)
    duplicated = sum(1 for n in ok_per_chat.values() if n > 1)
    delivered = sum(1 for n in ok_per_chat.values() if n >= 1)
    span = (max(times) - min(times)) if len(times) > 1 else 0.0
    rate = (len(times) - 1) / span if span > 0 else 0.0
    attempts_rate = len(calls) / span if span > 0 else 0.0
    print()
    print(f"workers            {args.workers:>10,}")
    print(f"sender runs        {runs:>10}  ({'killed once' if runs > 1 else 'no kill'})")
    print(f"sendMessage calls  {len(calls):>10,}  ({attempts_rate:.2f}/s incl. 429/403)")
    print(f"delivered          {delivered:>10,}")
    print(f"blocked (403)      {len(blocked):>10,}")
    print(f"429 responses      {errors[429]:>10,}  (of them by the sandbox's flood limiter: "
          f"{limiter_refusals['sendmessage']})")
    print(f"lost               {lost:>10,}")
    print(f"duplicated         {duplicated:>10,}")
    print(f"send span          {span:>10.1f} s  (wall {wall:.1f} s incl. process start)")
    print(f"rate               {rate:>10.2f} msg/s  = {rate / args.rate:.1%} of the "
          f"{args.rate:g}/s limit")
    print(f"status message     {final_status.content if final_status else '-'}")
    return {
        "rate": round(rate, 3), "limit": args.rate, "lost": lost, "duplicated": duplicated,
        "seconds": round(span, 2), "workers": args.workers, "delivered": delivered,
        "blocked": len(blocked), "http_429": errors[429],
        "limiter_429": limiter_refusals["sendmessage"], "killed": runs > 1,
        "wall_seconds": round(wall, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=BroadcastSettings().messages_per_second,
                   help="messages_per_second for the sender (default: the setting's default)")
    p.add_argument("--kill-after", type=float, default=0.0,
                   help="SIGKILL the sender after N seconds and start a new one")
    p.add_argument("--p429", type=float, default=0.01)
    p.add_argument("--p403", type=float, default=0.005)
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--lease", type=float, default=45.0,
                   help="seconds before a dead sender's in-flight copy is resolved")
    # The child (sender) process.
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--api", help=argparse.SUPPRESS)
    p.add_argument("--token", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        asyncio.run(child(args.db, args.api, args.token, args.rate, args.lease))
        return
    result = asyncio.run(parent(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

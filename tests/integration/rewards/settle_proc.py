"""A settling process to kill: one `settle_once` against a test database and anvil.

    python settle_proc.py DB_URL RPC_URL DEPLOYMENT_JSON POINT

POINT is where the process SIGKILLs itself: `before_send` (batch row committed and marked sent,
nothing broadcast), `mid_send` (transaction broadcast, receipt not yet read) or `after_receipt`
(receipt in hand, ledger not yet marked paid). A real SIGKILL: no finally blocks, no flushes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

from agreemint.chain.anvil import ANVIL_DEV_KEY
from agreemint.chain.context import ChainContext, make_sender, make_web3
from agreemint.chain.deploy import Deployment
from agreemint.chain.settings import ChainSettings
from agreemint.config import RewardSettings
from agreemint.services.settlement import SettlementService
from agreemint.store.engine import create_engine, create_sessionmaker


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(db_url: str, rpc_url: str, deployment: str, point: str) -> None:
    cfg = ChainSettings(poll_interval_seconds=0.01, request_timeout_seconds=10,
                        receipt_timeout_seconds=20)
    sender = make_sender(make_web3(rpc_url, cfg), ANVIL_DEV_KEY, cfg)
    chain = ChainContext.bind(sender, Deployment(**json.loads(deployment)), cfg)
    if point == "mid_send":
        async def wait(tx_hash: Any) -> Any:  # broadcast done; die instead of reading the receipt
            die()
        sender.wait = wait  # type: ignore[method-assign]

    async def hook(at: str, key: str) -> None:
        if at == point:
            die()

    engine = create_engine(db_url)
    service = SettlementService(create_sessionmaker(engine), chain, RewardSettings(), hook=hook)
    print(await service.settle_once(), flush=True)
    sys.exit(3)  # reaching this means the kill point was never hit


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))

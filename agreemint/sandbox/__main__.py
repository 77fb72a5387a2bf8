"""Run the sandbox on its own: `python -m agreemint.sandbox --port 8081`.

Prints the base URL (point the bot at it) and the token to use, then serves until
interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .server import DEFAULT_TOKEN, FakeBotAPI


async def _serve(host: str, port: int, token: str) -> None:
    api = FakeBotAPI(token)
    base_url = await api.start(host, port)
    print(base_url, flush=True)
    print(f"token: {token}", flush=True)
    try:
        await asyncio.Event().wait()  # until cancelled by Ctrl-C
    finally:
        await api.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agreemint.sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.token))


if __name__ == "__main__":
    main()

"""Run the emulator standalone: python -m sandbox --port 8081"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .emulator import Emulator


async def _serve(args: argparse.Namespace) -> None:
    emu = Emulator(token=args.token, bot_username=args.username, host=args.host, port=args.port)
    await emu.start()
    print(
        f"Bot API emulator: base_url={emu.base_url} base_file_url={emu.base_file_url}", flush=True
    )
    print(f"token={emu.token}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Telegram Bot API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--username", default="branchbot_test")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()

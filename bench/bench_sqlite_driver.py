"""SQLite calls made on the event loop's thread (models.db._InlineConnection) against
aiosqlite's own way, each call handed to its thread and back.

    python bench/bench_sqlite_driver.py [--seconds S]

Two parts, each run both ways on a fresh SQLite file (WAL, as the bot opens it), the two
ways taking turns three times:

1. a statement: `SELECT 1` through the engine, one after another; CPU ms per statement;
2. writers beside busy lanes: two tasks that each commit one-row transactions, beside two
   tasks doing Python work in small steps (other chats' handlers); commits/s, steps/s, and
   the longest the loop took to come back to a step.

Figures only, no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import db

WAYS = ("inline", "thread")


async def _on_thread(connection: db._InlineConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """aiosqlite's way: the call handed to its thread (tried again when busy, as inline)."""
    while True:
        try:
            return await aiosqlite.Connection._execute(connection, fn, *args, **kwargs)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode not in db._BUSY:
                raise
        await asyncio.sleep(0.001)


@contextmanager
def calls_made(way: str) -> Iterator[None]:
    """`thread`: every call of the bot's connection goes through aiosqlite's thread."""
    inline = db._InlineConnection._execute
    if way == "thread":
        db._InlineConnection._execute = _on_thread  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        db._InlineConnection._execute = inline  # type: ignore[method-assign]


async def statement_cost(url: str, count: int = 3000) -> float:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            started = time.process_time()
            for _ in range(count):
                await connection.execute(text("SELECT 1"))
            return (time.process_time() - started) * 1000 / count
    finally:
        await engine.dispose()


async def writers_beside_lanes(url: str, seconds: float) -> tuple[float, float, float]:
    engine = db.create_engine(url, connections=4)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
    stop = time.monotonic() + seconds
    commits = steps = 0
    longest = 0.0

    async def writer() -> None:
        nonlocal commits
        while time.monotonic() < stop:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (1)"))
            commits += 1

    async def lane() -> None:
        nonlocal steps, longest
        while time.monotonic() < stop:
            before = time.monotonic()
            await asyncio.sleep(0)
            longest = max(longest, time.monotonic() - before)
            sum(range(2000))  # a handler's bit of Python
            steps += 1

    try:
        await asyncio.gather(writer(), writer(), lane(), lane())
    finally:
        await engine.dispose()
    return commits / seconds, steps / seconds, longest * 1000


async def main(seconds: float) -> None:
    print(
        f"bench_sqlite_driver: Python {sys.version.split()[0]}, aiosqlite {aiosqlite.__version__}"
    )
    with tempfile.TemporaryDirectory(prefix="branchbot-bench-") as tmp:
        print("\n1. SELECT 1, one after another")
        print(f"{'way':8} {'CPU ms/statement':>17}")
        for turn in range(3):
            for way in WAYS:
                url = f"sqlite+aiosqlite:///{Path(tmp) / f'select-{way}-{turn}.db'}"
                with calls_made(way):
                    cost = await statement_cost(url)
                print(f"{way:8} {cost:17.3f}")
        print(f"\n2. two writers beside two busy lanes, {seconds:.0f} s each")
        print(f"{'way':8} {'commits/s':>10} {'lane steps/s':>13} {'longest loop wait ms':>21}")
        for turn in range(3):
            for way in WAYS:
                url = f"sqlite+aiosqlite:///{Path(tmp) / f'write-{way}-{turn}.db'}"
                with calls_made(way):
                    commits, steps, longest = await writers_beside_lanes(url, seconds)
                print(f"{way:8} {commits:10.1f} {steps:13.0f} {longest:21.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each run of part 2")
    asyncio.run(main(parser.parse_args().seconds))

"""End-to-end harness: the real Application talking HTTP to the Bot API emulator.

`emulator` fails the test if the bot sent any request the real Bot API would
reject. `bot` runs the whole bot (database migrated by Alembic, polling) on each
database backend; `bot_in_each_mode` adds the webhook mode.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from bot.app import BotRuntime
from bot.config import Config, DatabaseConfig, TelegramConfig, WebhookConfig
from sandbox import Emulator
from scheduler.clock import ManualClock
from tests.conftest import Database

# A fixed, ordinary moment: a Tuesday morning in Zhanjiang.
START_TIME = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        yield emu
        violations = "\n".join(f"  {v}" for v in emu.violations)
        assert not emu.violations, f"the bot sent requests Telegram would reject:\n{violations}"


@dataclass
class RunningBot:
    """A bot process as the tests see it; `restart()` is a clean stop and start."""

    emulator: Emulator
    database: Database
    clock: ManualClock
    config: Config
    webhook: bool
    runtime: BotRuntime

    async def restart(self) -> None:
        await self.runtime.stop()
        self.runtime = BotRuntime(self.config, clock=self.clock)
        await self.runtime.start(webhook=self.webhook)


def bot_config(emulator: Emulator, database: Database, webhook: bool) -> Config:
    config = Config(
        telegram=TelegramConfig(token=emulator.token, api_base_url=emulator.url),
        database=DatabaseConfig(url=database.url),
    )
    if webhook:
        port = free_port()
        config = replace(
            config,
            webhook=WebhookConfig(
                listen="127.0.0.1",
                port=port,
                public_url=f"http://127.0.0.1:{port}",
                secret_token=secrets.token_urlsafe(16),
            ),
        )
    return config


@pytest.fixture
async def bot(emulator: Emulator, database: Database) -> AsyncIterator[RunningBot]:
    running = await _start(emulator, database, webhook=False)
    try:
        yield running
    finally:
        await running.runtime.stop()


@pytest.fixture(params=["polling", "webhook"])
async def bot_in_each_mode(
    request: pytest.FixtureRequest, emulator: Emulator, database: Database
) -> AsyncIterator[RunningBot]:
    running = await _start(emulator, database, webhook=request.param == "webhook")
    try:
        yield running
    finally:
        await running.runtime.stop()


async def _start(emulator: Emulator, database: Database, webhook: bool) -> RunningBot:
    config = bot_config(emulator, database, webhook)
    clock = ManualClock(START_TIME)
    runtime = BotRuntime(config, clock=clock)
    await runtime.start(webhook=webhook)
    return RunningBot(emulator, database, clock, config, webhook, runtime)

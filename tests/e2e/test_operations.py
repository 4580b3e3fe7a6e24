"""What an operator meets: the webhook's answers to bodies that are not updates and to a
database outage, and start-up while the Bot API cannot be reached."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot import app
from bot.app import BotRuntime
from models import InboundUpdate
from models.db import create_engine, create_session_factory
from sandbox import Emulator
from scheduler.clock import ManualClock
from tests.conftest import Database
from tests.e2e.conftest import START_TIME, RunningBot, bot_config, free_port
from tests.e2e.texts import said

ROOT = Path(__file__).resolve().parents[2]
NOT_UPDATES = [
    b'{"update_id": 5, "message": "x"}',  # once a 500 and a 60-line traceback
    b'{"update_id": 6, "callback_query": []}',
    b'{"update_id": 7, "message": {"chat": "x"}}',
    b'{"update_id": 8, "message": {"message_id": 1, "date": "soon", "chat": 3}}',
]


def update(update_id: int, user_id: int, text: str) -> bytes:
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_773_000_000,
                "chat": {"id": user_id, "type": "private", "first_name": "Alice"},
                "from": {
                    "id": user_id,
                    "is_bot": False,
                    "first_name": "Alice",
                    "language_code": "en",
                },
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
            },
        }
    ).encode()


async def post(running: RunningBot, body: bytes) -> httpx.Response:
    webhook = running.config.webhook
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"http://127.0.0.1:{webhook.port}{webhook.path}",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": webhook.secret_token,
            },
        )


async def health(port: int) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}/healthz")


async def stored(database: Database) -> int:
    async with database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(InboundUpdate)) or 0


@pytest.fixture
async def webhook_bot(emulator: Emulator, database: Database):  # type: ignore[no-untyped-def]
    from tests.e2e.conftest import _start

    running = await _start(emulator, database, webhook=True)
    try:
        yield running
    finally:
        await running.runtime.stop()


async def test_a_body_that_is_not_an_update_gets_400_and_one_log_line(
    webhook_bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        for body in NOT_UPDATES:
            caplog.clear()
            response = await post(webhook_bot, body)
            assert response.status_code == 400, body
            lines = [r.getMessage() for r in caplog.records if r.name == "bot.webhook"]
            assert len(lines) == 1, body
            assert lines[0].startswith("webhook: refused a body that is not an update ("), body
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
            assert "Traceback" not in caplog.text
    assert await stored(webhook_bot.database) == 0
    alice = webhook_bot.emulator.user("Alice", language_code="en")
    assert (await post(webhook_bot, update(700_001, alice.id, "/help"))).status_code == 200
    assert (await alice.next_message()).text == said("en", "help.member")


async def test_an_update_while_the_database_is_down_gets_503_and_comes_again(
    webhook_bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram sends an update again after a 5xx: a 503 loses nothing, a 500's traceback
    told the operator nothing."""
    alice = webhook_bot.emulator.user("Alice", language_code="en")
    inbox = webhook_bot.runtime.updates
    # A database that refuses connections: nobody listens on port 1.
    gone = create_engine("postgresql+asyncpg://branchbot:branchbot@127.0.0.1:1/branchbot")
    working, inbox.sessions = inbox.sessions, create_session_factory(gone)
    try:
        with caplog.at_level(logging.INFO):
            response = await post(webhook_bot, update(700_002, alice.id, "/help"))
            down = await health(webhook_bot.config.webhook.port)
    finally:
        inbox.sessions = working
        await gone.dispose()
    assert response.status_code == 503
    lines = [r for r in caplog.records if r.name == "bot.webhook"]
    assert len(lines) == 1 and lines[0].getMessage().startswith(
        "webhook: update 700002 not stored, the database is unavailable ("
    ), caplog.text
    assert "Traceback" not in caplog.text
    assert down.status_code == 200  # the bot's own database was up all along
    await alice.expect_no_message(within=0.3)
    # Telegram's next try, once the database is back.
    assert (await post(webhook_bot, update(700_002, alice.id, "/help"))).status_code == 200
    assert (await alice.next_message()).text == said("en", "help.member")


@pytest.mark.parametrize("webhook", [True, False], ids=["webhook", "polling"])
async def test_start_up_waits_for_the_bot_api_and_says_why(
    database: Database,
    webhook: bool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """It once exited after 2 s, and a supervisor restarted it in a loop."""
    monkeypatch.setattr(app, "BOT_API_RETRY_MAX_SECONDS", 0.2)
    emu = Emulator(port=free_port())  # not listening yet: the Bot API is away
    config = bot_config(emu, database, webhook)
    runtime = BotRuntime(config, clock=ManualClock(START_TIME))
    with caplog.at_level(logging.INFO, logger="bot.app"):
        starting = asyncio.create_task(runtime.start(webhook=webhook))
        try:
            await asyncio.sleep(2.0)
            assert not starting.done(), "start-up gave up while the Bot API was away"
            if webhook:
                waiting = await health(config.webhook.port)
                assert waiting.status_code == 503
                assert waiting.json()["status"] == "starting"
                assert waiting.json()["reason"].startswith(
                    f"the Bot API ({emu.url}) is unreachable: "
                )
                alice_id = 900_001
                refused = await post(
                    RunningBot(emu, database, runtime.services.clock, config, webhook, runtime),
                    update(700_003, alice_id, "/help"),
                )
                assert refused.status_code == 503  # Telegram sends it again later
            async with emu:
                await asyncio.wait_for(starting, 10)
                if webhook:
                    assert (await health(config.webhook.port)).json() == {"status": "ok"}
                alice = emu.user("Alice", language_code="en")
                await alice.send("/help")
                assert (await alice.next_message()).text == said("en", "help.member")
                assert not emu.violations, emu.violations
        finally:
            await runtime.stop()
    notices = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(notices) == 1, notices  # about ten tries, said once a minute
    assert notices[0].endswith("trying again (said once a minute while it lasts)")
    assert any(r.getMessage().startswith("the Bot API answers again after") for r in caplog.records)


async def test_a_bot_stopped_while_waiting_for_the_bot_api_stops_cleanly(
    database: Database,
) -> None:
    emu = Emulator(port=free_port())
    config = bot_config(emu, database, webhook=True)
    runtime = BotRuntime(config, clock=ManualClock(START_TIME))
    starting = asyncio.create_task(runtime.start(webhook=True))
    await asyncio.sleep(0.5)
    runtime.stopping.set()  # SIGTERM from the supervisor
    await asyncio.wait_for(starting, 5)
    assert not runtime.ready.is_set()
    await runtime.stop()
    with pytest.raises(httpx.ConnectError):  # the port is closed again
        await health(config.webhook.port)


async def check_config_online(emu: Emulator, token: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check-config",
        "--online",
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "BRANCHBOT_TOKEN": token,
            "BRANCHBOT_CHECKIN_SECRET": "a-check-in-secret-for-tests",
            "BRANCHBOT_TELEGRAM_API_BASE_URL": emu.url,
        },
        cwd=ROOT / "tests",  # no branchbot.toml there
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_check_config_online_asks_the_bot_api_about_the_token(emulator: Emulator) -> None:
    status, out, err = await check_config_online(emulator, emulator.token)
    assert status == 0, err
    assert out.splitlines()[-1] == (
        f"the Bot API at {emulator.url} knows the token: @{emulator.bot.username}"
    )
    async with Emulator() as strict:  # a rejected getMe is what this part is about
        wrong = strict.token.split(":")[0] + ":not-the-token"
        status, out, err = await check_config_online(strict, wrong)
        assert [(v.method, v.status) for v in strict.violations] == [("getMe", 401)]
    assert status == 2
    assert err.splitlines() == [
        f"branchbot: configuration error: telegram.token: rejected by the Bot API at "
        f"{strict.url} (is it the token @BotFather gave?)"
    ]
    assert "not-the-token" not in out + err

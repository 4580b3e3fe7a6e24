"""/start, /help, /language, the error handler and update delivery, as people use them."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

import handlers
from bot.webhook import MAX_BODY_BYTES
from handlers import work
from models import InboundUpdate, inbox
from models.account import Account
from sandbox import Emulator
from tests.conftest import Database
from tests.e2e.conftest import RunningBot
from tests.e2e.texts import said, t


async def test_start_and_help_speak_the_users_language(bot_in_each_mode: RunningBot) -> None:
    emu = bot_in_each_mode.emulator
    wang = emu.user("王芳", language_code="zh-hans")
    alice = emu.user("Alice", language_code="en")

    await wang.send("/start")
    await alice.send("/start")
    greeting_zh = await wang.next_message()
    greeting_en = await alice.next_message()
    assert greeting_zh.text == said("zh", "start.welcome", name="王芳")
    assert greeting_en.text == said("en", "start.welcome", name="Alice")
    # consent comes next
    assert [t("zh", "profile.consent_yes")] in (await wang.next_message()).buttons
    assert [t("en", "profile.consent_yes")] in (await alice.next_message()).buttons

    await alice.send("/help")
    help_en = await alice.next_message()
    assert help_en.text == said("en", "help.member")


async def test_language_switch_is_remembered_across_restarts(bot_in_each_mode: RunningBot) -> None:
    emu = bot_in_each_mode.emulator
    li = emu.user("Li", language_code="zh")

    await li.send("/language")
    chooser = await li.next_message()
    assert chooser.text == said("zh", "language.choose")
    assert chooser.buttons == [["✓ 中文", "English"]]
    await li.press("English")
    edited = await li.next_event()
    assert edited.message.text == said("en", "language.set")
    assert (await li.answer_of_last_press()) is not None

    await bot_in_each_mode.restart()
    await li.send("/help")
    assert (await li.next_message()).text == said("en", "help.member")
    async with bot_in_each_mode.database.sessions() as session:
        assert (await session.get(Account, li.id)).language == "en"


async def test_command_menus_per_language(bot: RunningBot) -> None:
    emu = bot.emulator
    zh_menu = emu.commands(language_code="zh")
    en_menu = emu.commands(language_code="en")
    default_menu = emu.commands()
    assert [c["command"] for c in zh_menu] == [
        "start",
        "me",
        "help",
        "language",
        "cancel",
        "mydata",
        "forget",
        "events",
        "record",
        "calendar",
        "notices",
    ]
    assert en_menu[2]["description"] == t("en", "command.help")
    assert zh_menu[2]["description"] == t("zh", "command.help")
    assert default_menu == zh_menu  # the configured default language is zh

    # After /language, this chat's menu follows the choice.
    tom = emu.user("Tom", language_code="zh")
    await tom.send("/language")
    await tom.next_message()
    await tom.press("English")
    await tom.next_event()
    assert emu.commands(chat_id=tom.id)[2]["description"] == t("en", "command.help")


async def test_unknown_command_and_stray_text_get_a_polite_reply(bot: RunningBot) -> None:
    emu = bot.emulator
    alice = emu.user("Alice", language_code="en")
    await alice.send("/fly")
    assert (await alice.next_message()).text == said("en", "error.unknown_command")
    await alice.send("hello there")
    assert (await alice.next_message()).text == said("en", "error.unexpected_message")
    await alice.send_document(b"%PDF-1.4", "notes.pdf", "application/pdf")
    assert (await alice.next_message()).text == said("en", "error.unexpected_message")


async def test_a_failing_handler_apologises_and_logs_without_secrets(
    emulator, database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.e2e.conftest import _start

    async def broken_help(update, context) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("database on fire near +8613800138000")

    monkeypatch.setitem(handlers.COMMANDS, "help", broken_help)
    running = await _start(emulator, database, webhook=False)
    try:
        zhang = emulator.user("张伟", language_code="zh")
        alice = emulator.user("Alice", language_code="en")
        with caplog.at_level(logging.ERROR):
            await zhang.send("/help")
            assert (await zhang.next_message()).text == said("zh", "error.apology")
            await alice.send("/help")
            assert (await alice.next_message()).text == said("en", "error.apology")
        # The bot is still alive afterwards.
        await alice.send("/start")
        assert (await alice.next_message()).text == said("en", "start.welcome", name="Alice")
    finally:
        await running.runtime.stop()

    from bot.logs import RedactingFormatter

    failures = [r for r in caplog.records if r.getMessage().startswith("handler failed")]
    assert len(failures) == 2
    text = RedactingFormatter("%(message)s").format(failures[0])
    assert "RuntimeError" in text and "update" in text
    assert "8613800138000" not in text and emulator.token not in text


async def test_what_a_failing_handler_wrote_is_undone_and_its_update_marked_done(
    emulator, database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.e2e.conftest import _start

    async def writes_then_fails(update, context) -> None:  # type: ignore[no-untyped-def]
        account = await context.session.get_one(Account, update.effective_user.id)
        account.language = "en"
        await context.session.flush()
        raise RuntimeError("a bug after a write")

    monkeypatch.setitem(handlers.COMMANDS, "help", writes_then_fails)
    running = await _start(emulator, database, webhook=False)
    try:
        zhang = emulator.user("张伟", language_code="zh")
        await zhang.send("/help")
        assert (await zhang.next_message()).text == said("zh", "error.apology")
        await zhang.send("/start")  # still in Chinese: the write was undone
        assert (await zhang.next_message()).text == said("zh", "start.welcome", name="张伟")
    finally:
        await running.runtime.stop()
    async with database.sessions() as session:
        assert (await session.get_one(Account, zhang.id)).language is None
        assert await inbox.unprocessed(session, running.runtime.services.bot_id) == []


async def test_a_failed_update_another_replica_handled_meanwhile_is_not_answered_twice(
    emulator, database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the rollback of a failed update and its mark (the chat's lock is let go in
    between), another replica may have taken the update, handled it and answered."""
    from tests.e2e.conftest import _start

    async def broken_help(update, context) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    lock_chat = inbox.lock_chat
    taken: list[int] = []

    async def another_replica_takes_it(session, key) -> None:  # type: ignore[no-untyped-def]
        if work._current.get(None) is not None:  # taken again after the rollback
            async with database.sessions.begin() as other:
                for row in await inbox.unprocessed(other, running.runtime.services.bot_id, 1):
                    await inbox.mark_processed(other, row.bot_id, row.update_id)
                    taken.append(row.update_id)
        await lock_chat(session, key)

    monkeypatch.setitem(handlers.COMMANDS, "help", broken_help)
    running = await _start(emulator, database, webhook=False)
    try:
        alice = emulator.user("Alice", language_code="en")
        await alice.send("/start")
        assert (await alice.next_message()).text == said("en", "start.welcome", name="Alice")
        await alice.next_message()  # the consent
        monkeypatch.setattr(inbox, "lock_chat", another_replica_takes_it)
        await alice.send("/help")
        await alice.send("/language")
        # No apology for /help: the other replica answered it. /language is answered.
        assert (await alice.next_message()).text == said("en", "language.choose")
    finally:
        await running.runtime.stop()
    assert len(taken) == 1


FORGED_DATA = [
    "",
    None,  # no data at all
    "x" * 65,  # over Telegram's 64 bytes
    "lang:" + "9" * 5000,
    "\x00\x01\x02\x7f",
    "\ufffd\ufffd\ufffd",
    "💥" * 16,
    "\u202elang:zh",
    "lang:zh\n",
    "rep:ok:٣",  # an Arabic-Indic digit
]


async def test_forged_presses_get_the_stale_button_alert(
    bot_in_each_mode: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Empty, missing, over-long or garbled callback data: the stale alert, nothing else.
    (A NUL once stopped the intake on PostgreSQL: JSONB cannot store it.)"""
    bot = bot_in_each_mode
    zhang = bot.emulator.user("张伟", language_code="zh")
    alice = bot.emulator.user("Alice", language_code="en")
    with caplog.at_level(logging.INFO):
        for person, language in ((zhang, "zh"), (alice, "en")):
            await person.send("/language")
            choice = await person.next_message()
            for data in FORGED_DATA:
                person.press_forged(choice, data)
                answer = await person.answer_of_last_press()
                assert answer.show_alert, data
                assert answer.text == said(language, "error.stale_button"), data
            await person.expect_no_message()
            assert not choice.edited
    assert "StaleButton" in caplog.text
    assert "handler failed" not in caplog.text and "Traceback" not in caplog.text
    async with bot.database.sessions() as session:
        assert await session.scalar(select(Account.language).where(Account.id == alice.id)) is None


async def test_polling_outlives_a_database_that_fails_to_store(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Updates not stored are not confirmed: Telegram sends them again, and polling goes on."""

    store = inbox.store_updates
    failures = [DBAPIError("INSERT", None, OSError("the database is gone"))]

    async def fails_once(*args: Any) -> list[dict[str, Any]]:
        if failures:
            raise failures.pop()
        return await store(*args)

    monkeypatch.setattr(inbox, "store_updates", fails_once)
    alice = bot.emulator.user("Alice", language_code="en")
    with caplog.at_level(logging.ERROR):
        await alice.send("/help")
        assert (await alice.next_message(timeout=10)).text == said("en", "help.member")
    assert "updates could not be stored" in caplog.text
    await alice.expect_no_message()


async def test_nothing_is_kept_in_memory_per_person(bot: RunningBot) -> None:
    """Memory stays flat however many people write: everything about them is in the
    database, nothing in python-telegram-bot's user_data or chat_data, nor in the marks
    it keeps of whom to save to a persistence (the bot has none)."""
    people = [bot.emulator.user(f"User {n}", language_code="en") for n in range(5)]
    for person in people:
        await person.send("/help")
        assert (await person.next_message()).text == said("en", "help.member")
    await bot.runtime.updates.join()
    application = bot.runtime.application
    assert dict(application.user_data) == {}
    assert dict(application.chat_data) == {}
    assert application._user_ids_to_be_updated_in_persistence == set()
    assert application._chat_ids_to_be_updated_in_persistence == set()


async def test_stored_but_unprocessed_updates_are_handled_after_a_crash(bot: RunningBot) -> None:
    emu = bot.emulator
    alice = emu.user("Alice", language_code="en")
    await alice.send("/start")
    await alice.next_message()  # welcome
    await alice.next_message()  # consent
    # As if the process died after storing an update and before handling it.
    payload = {
        "update_id": 999_001,
        "message": {
            "message_id": 4242,
            "date": 1_773_000_000,
            "chat": {"id": alice.id, "type": "private", "first_name": "Alice"},
            "from": {"id": alice.id, "is_bot": False, "first_name": "Alice", "language_code": "en"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    await bot.runtime.stop()
    bot_id = bot.runtime.services.bot_id
    async with bot.database.sessions.begin() as session:
        assert await inbox.store_update(session, bot_id, payload)
    from bot.app import BotRuntime

    bot.runtime = BotRuntime(bot.config, clock=bot.clock)
    await bot.runtime.start()
    assert (await alice.next_message()).text == said("en", "help.member")
    await bot.runtime.updates.join()
    async with bot.database.sessions() as session:
        row = await session.get(InboundUpdate, (bot_id, 999_001))
        assert row is not None and row.processed_at is not None


async def test_two_bots_on_one_database_each_handle_their_own_update_ids(
    database: Database,
) -> None:
    """Update ids are counted per bot: another token's first updates are not repeats."""
    from tests.e2e.conftest import _start

    async with (
        Emulator(token="111111:FIRST-token") as first_emu,
        Emulator(token="222222:SECOND-token", bot_username="second_bot") as second_emu,
    ):
        first = await _start(first_emu, database, webhook=False)
        second = await _start(second_emu, database, webhook=True)
        try:
            # One person (one Telegram user id) talking to both bots.
            alice = first_emu.user("Alice", language_code="en")
            also_alice = second_emu.user("Alice", language_code="en")
            assert alice.id == also_alice.id
            await alice.send("/help")
            assert (await alice.next_message()).text == said("en", "help.member")
            await also_alice.send("/help")
            assert (await also_alice.next_message()).text == said("en", "help.member")
            async with database.sessions() as session:
                rows = await session.execute(select(InboundUpdate.bot_id, InboundUpdate.update_id))
                assert sorted(rows) == [(111111, 100001), (222222, 100001)]

            # Telegram delivers the second bot's update again: it is still handled once.
            (again,) = second_emu.webhook_delivered
            secret = second.config.webhook.secret_token
            assert (await _post(second, json.dumps(again).encode(), secret)).status_code == 200
            await also_alice.expect_no_message(within=0.7)
            await alice.expect_no_message(within=0.1)
        finally:
            await first.runtime.stop()
            await second.runtime.stop()
        assert first_emu.violations == [] and second_emu.violations == []


async def _post(running: RunningBot, body: bytes, secret: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    url = f"http://127.0.0.1:{running.config.webhook.port}{running.config.webhook.path}"
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers)


def _update(update_id: int, user_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_773_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Alice"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Alice", "language_code": "en"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


@pytest.fixture
async def webhook_bot(emulator, database):  # type: ignore[no-untyped-def]
    from tests.e2e.conftest import _start

    running = await _start(emulator, database, webhook=True)
    try:
        yield running
    finally:
        await running.runtime.stop()


async def _count_inbound(running: RunningBot) -> int:
    async with running.database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(InboundUpdate)) or 0


async def test_webhook_refuses_a_wrong_or_missing_secret(webhook_bot: RunningBot) -> None:
    alice = webhook_bot.emulator.user("Alice", language_code="en")
    body = json.dumps(_update(500_001, alice.id, "/help")).encode()
    assert (await _post(webhook_bot, body, secret=None)).status_code == 403
    assert (await _post(webhook_bot, body, secret="wrong")).status_code == 403
    assert await _count_inbound(webhook_bot) == 0
    await alice.expect_no_message(within=0.5)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"no_update_id": 1}',
        b'{"update_id": "7"}',
        b'{"update_id": true}',
        b'{"update_id": 7, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
async def test_webhook_rejects_malformed_bodies(webhook_bot: RunningBot, body: bytes) -> None:
    response = await _post(webhook_bot, body, webhook_bot.config.webhook.secret_token)
    assert response.status_code == 400
    assert await _count_inbound(webhook_bot) == 0


async def test_webhook_refuses_an_oversized_body_unread(
    webhook_bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """5 MB was once read and stored; a body over the limit gets 413, with one log line."""
    alice = webhook_bot.emulator.user("Alice", language_code="en")
    huge = _update(500_003, alice.id, "/help")
    huge["message"]["text"] = "/help " + "x" * 5_000_000
    secret = webhook_bot.config.webhook.secret_token
    with caplog.at_level(logging.WARNING, logger="bot.webhook"):
        response = await _post(webhook_bot, json.dumps(huge).encode(), secret)

        async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
            for _ in range(40):
                yield b" " * 64 * 1024

        url = f"http://127.0.0.1:{webhook_bot.config.webhook.port}{webhook_bot.config.webhook.path}"
        async with httpx.AsyncClient() as client:
            streamed = await client.post(
                url, content=chunked(), headers={"X-Telegram-Bot-Api-Secret-Token": secret}
            )
    assert response.status_code == 413 and streamed.status_code == 413
    refusals = [r for r in caplog.records if r.name == "bot.webhook"]
    assert [r.getMessage() for r in refusals] == [
        f"webhook: refused a body of more than {MAX_BODY_BYTES} bytes"
    ] * 2
    assert await _count_inbound(webhook_bot) == 0
    # Just under the limit is still an update.
    fits = _update(500_004, alice.id, "/help")
    fits["message"]["caption"] = "x" * (MAX_BODY_BYTES - len(json.dumps(fits)) - 20)
    assert (await _post(webhook_bot, json.dumps(fits).encode(), secret)).status_code == 200
    assert (await alice.next_message()).text == said("en", "help.member")


async def test_webhook_handles_a_repeated_update_once(webhook_bot: RunningBot) -> None:
    alice = webhook_bot.emulator.user("Alice", language_code="en")
    body = json.dumps(_update(500_002, alice.id, "/help")).encode()
    secret = webhook_bot.config.webhook.secret_token
    assert (await _post(webhook_bot, body, secret)).status_code == 200
    assert (await _post(webhook_bot, body, secret)).status_code == 200
    assert (await alice.next_message()).text == said("en", "help.member")
    await alice.expect_no_message(within=0.7)
    assert await _count_inbound(webhook_bot) == 1


async def test_webhook_health(webhook_bot: RunningBot) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{webhook_bot.config.webhook.port}/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}

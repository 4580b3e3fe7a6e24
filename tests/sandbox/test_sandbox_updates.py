"""getUpdates long polling and webhook delivery behave like Telegram's."""

import asyncio
import json
import socket
import time
from typing import Any

import pytest
import uvicorn
from telegram import Bot
from telegram.error import Conflict

from sandbox import Emulator


async def test_get_updates_offset_confirms(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    await alice.send("/start payload")
    await alice.send("hello")
    updates = await bot.get_updates()
    assert [u.message.text for u in updates] == ["/start payload", "hello"]
    assert updates[0].message.entities[0].type == "bot_command"
    assert updates[0].message.entities[0].length == len("/start")
    again = await bot.get_updates(offset=updates[0].update_id + 1)
    assert [u.message.text for u in again] == ["hello"]
    assert await bot.get_updates(offset=again[-1].update_id + 1) == ()
    assert await bot.get_updates() == ()  # confirmed updates are forgotten for good


async def test_long_poll_waits_for_update(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.3)
    assert not poll.done()
    await alice.send("wake up")
    updates = await asyncio.wait_for(poll, 2)
    assert updates[0].message.text == "wake up"
    assert time.monotonic() - started < 2
    # An empty long poll returns after its timeout.
    started = time.monotonic()
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 2


async def test_privacy_mode_in_groups(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    group = emu.group("Branch chat", members=[alice])
    await alice.send("just chatting", chat=group)
    await alice.send("/report@branchbot_test", chat=group)
    await alice.send("/other@some_other_bot", chat=group)
    updates = await bot.get_updates()
    assert [u.message.text for u in updates] == ["/report@branchbot_test"]
    assert updates[0].message.chat.type == "group"


class _Receiver:
    """A tiny webhook endpoint that fails the first `fail` deliveries with HTTP 500."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.seen: list[tuple[dict[str, Any], str | None]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = dict(scope["headers"])
        self.seen.append(
            (
                json.loads(body),
                headers.get(b"x-telegram-bot-api-secret-token", b"").decode() or None,
            )
        )
        status = 500 if len(self.seen) <= self.fail else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def test_webhook_delivery_with_secret_and_retry(emu: Emulator, bot: Bot) -> None:
    receiver = _Receiver(fail=1)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(receiver, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        alice = emu.user("Alice")
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret_-X")
        with pytest.raises(Conflict):
            await bot.get_updates()
        await alice.send("one")
        await alice.send("two")
        for _ in range(100):
            if len(emu.webhook_delivered) == 2:
                break
            await asyncio.sleep(0.05)
        texts = [u["message"]["text"] for u, _ in receiver.seen]
        assert texts == ["one", "one", "two"]  # retried after the 500, in order
        assert {secret for _, secret in receiver.seen} == {"s3cret_-X"}
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert "500" in (info.last_error_message or "")
        await bot.delete_webhook()
        assert await bot.get_updates() == ()
    finally:
        server.should_exit = True
        await task
    assert len(emu.violations) == 1  # the getUpdates while a webhook was set


async def test_webhook_unreachable_keeps_updates_pending(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    await bot.set_webhook("http://127.0.0.1:9/nothing-here")
    await alice.send("hello?")
    await asyncio.sleep(0.3)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1 and info.last_error_message
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()

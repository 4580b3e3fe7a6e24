"""The sandbox as its users meet it: the bot, the emulator and the page's API in one process,
on a fresh data folder, at a fixed moment (a Tuesday morning in Zhanjiang)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.demo import DEMO_PEOPLE
from bot.sandbox import Options, Sandbox
from sandbox.formatting import parse_html

# Tuesday 10 March 2026, 09:30 in Zhanjiang.
START = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)


async def start_sandbox(data: Path, **options: Any) -> Sandbox:
    box = Sandbox(Options(**{"data": data, "port": 0, "start_at": START, **options}))
    try:
        await box.start()
    except BaseException:
        await box.stop()
        raise
    return box


async def stop_sandbox(box: Sandbox) -> None:
    violations = list(box.emulator.violations)
    await box.stop()
    listed = "\n".join(f"  {v}" for v in violations)
    assert not violations, f"the bot sent requests Telegram would reject:\n{listed}"


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    box = await start_sandbox(tmp_path / "sandbox")
    try:
        yield box
    finally:
        await stop_sandbox(box)


@pytest.fixture
async def page(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """What the page does, over HTTP."""
    async with httpx.AsyncClient(base_url=sandbox.address, timeout=10) as client:
        yield client


def person_id(sandbox: Sandbox, key: str) -> int:
    """The emulated person the demo calls `key` ("newcomer", "secretary", …)."""
    index = [p.key for p in DEMO_PEOPLE].index(key)
    return sorted(sandbox.web.people)[index]  # type: ignore[union-attr]


async def chat_until(
    page: httpx.AsyncClient,
    person: int,
    condition: Callable[[dict[str, Any]], bool],
    timeout: float = 10.0,  # noqa: ASYNC109
) -> dict[str, Any]:
    """The person's chat once `condition(chat)` holds; fails with the chat shown."""
    deadline = time.monotonic() + timeout
    while True:
        chat = (await page.get(f"/api/people/{person}/chat")).json()
        if condition(chat):
            return chat
        if time.monotonic() > deadline:
            texts = "\n".join(f"  {m['html']} {m['buttons']}" for m in chat["messages"])
            raise AssertionError(f"the chat of {person} never got there:\n{texts}")
        await asyncio.sleep(0.1)


def last_bot_message(chat: dict[str, Any]) -> dict[str, Any]:
    return [m for m in chat["messages"] if m["from_bot"]][-1]


def plain(html: str) -> str:
    """The text a person reads in a message the page shows."""
    return parse_html(html)[0]


def texts(chat: dict[str, Any]) -> list[str]:
    return [plain(m["html"]) for m in chat["messages"] if m["from_bot"]]


async def press(page: httpx.AsyncClient, person: int, label: str) -> None:
    """Press the inline button with this label on the latest bot message that has it."""
    chat = (await page.get(f"/api/people/{person}/chat")).json()
    for message in reversed(chat["messages"]):
        for row, buttons in enumerate(message["buttons"]):
            for column, button in enumerate(buttons):
                if button["text"] == label:
                    body = {"message_id": message["id"], "row": row, "column": column}
                    answer = await page.post(f"/api/people/{person}/press", json=body)
                    assert answer.status_code == 200, answer.text
                    return
    raise AssertionError(f"no button {label!r} in {texts(chat)}")


async def say(page: httpx.AsyncClient, person: int, text: str) -> None:
    answer = await page.post(f"/api/people/{person}/send", json={"text": text})
    assert answer.status_code == 200, answer.text


def has_text(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda chat: any(text in shown for shown in texts(chat))

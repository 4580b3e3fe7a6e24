"""The inbox's lanes: each chat's updates in order, one at a time, different chats side by
side; on PostgreSQL across replicas too; failures tried again, then set aside.

The handling itself is a stand-in that records when it ran, so that order and overlap
can be seen: like handlers.work.process it does its database work and commits (which
keeps the mark the lane made as it took the update), then takes a while over its
replies (the network).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

import bot.app
from bot.app import UpdateInbox
from handlers.context import Services
from models import inbox
from models.db import create_engine, create_session_factory
from models.inbox import InboundUpdate
from scheduler.clock import ManualClock
from tests.conftest import Database
from views.i18n import Defaults

BOT = 123_456
WORK = 0.005  # seconds of a stand-in handling's transaction
REPLIES = 0.02  # and of its replies, after the commit


@dataclass
class Handled:
    replica: str
    chat: int
    update_id: int
    started: float
    committed: float
    ended: float


class Recorder:
    """Stands in for handlers.work.process; `failing` update ids raise every time."""

    def __init__(self) -> None:
        self.handled: list[Handled] = []
        self.failing: set[int] = set()
        self.tries: dict[int, int] = {}
        self.replicas: dict[int, str] = {}  # id of an inbox's services -> its name

    async def process(
        self,
        application: Any,
        update: Update,
        services: Services,
        session: AsyncSession,
        chat_key: int,
    ) -> None:
        self.tries[update.update_id] = self.tries.get(update.update_id, 0) + 1
        started = time.monotonic()
        await asyncio.sleep(WORK)
        if update.update_id in self.failing:
            raise RuntimeError("a bug in a handler")
        await session.commit()  # the update was marked processed as the lane took it
        committed = time.monotonic()
        await asyncio.sleep(REPLIES)
        chat = update.effective_chat.id if update.effective_chat else 0
        replica = self.replicas.get(id(services), "A")
        self.handled.append(
            Handled(replica, chat, update.update_id, started, committed, time.monotonic())
        )


def message(update_id: int, chat: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_773_000_000,
            "chat": {"id": chat, "type": "private", "first_name": "P"},
            "from": {"id": chat, "is_bot": False, "first_name": "P"},
            "text": f"message {update_id}",
        },
    }


def an_inbox(sessions: Any, lanes: int = 8) -> UpdateInbox:
    services = Services(
        defaults=Defaults(language="zh", timezone="Asia/Shanghai"),
        sessions=sessions,
        clock=ManualClock(datetime(2026, 3, 10, tzinfo=UTC)),
        bot_id=BOT,
    )
    return UpdateInbox(SimpleNamespace(bot=None), services, lanes)  # type: ignore[arg-type]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(bot.app, "process", recorder.process)
    return recorder


def assert_in_order_one_at_a_time(
    handled: list[Handled], chats: list[int], replies_too: bool = True
) -> None:
    """Each chat's updates handled in order, each after the one before it was committed
    (in one process, after its replies were sent too; replicas each send their own)."""
    for chat in chats:
        mine = sorted((h for h in handled if h.chat == chat), key=lambda h: h.started)
        assert [h.update_id for h in mine] == sorted(h.update_id for h in mine), chat
        for before, after in itertools.pairwise(mine):
            done = before.ended if replies_too else before.committed
            assert done <= after.started, f"chat {chat}: two updates at once"


def most_at_once(handled: list[Handled]) -> int:
    edges = sorted([(h.started, 1) for h in handled] + [(h.ended, -1) for h in handled])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


async def unprocessed(database: Database) -> list[int]:
    async with database.sessions() as session:
        return [row.update_id for row in await inbox.unprocessed(session, BOT)]


def test_the_chat_key_is_what_telegram_calls_the_effective_chat_else_user() -> None:
    user = {"id": 42, "is_bot": False, "first_name": "P"}
    group = {"id": -100_123, "type": "supergroup", "title": "支部群"}
    in_group = {"message_id": 1, "date": 1_773_000_000, "chat": group, "from": user}
    payloads = [
        message(1, 77),
        {"update_id": 2, "edited_message": {**in_group, "edit_date": 1_773_000_001}},
        {
            "update_id": 3,
            "callback_query": {"id": "q", "from": user, "chat_instance": "c", "message": in_group},
        },
        # A press on a message sent inline has no message: its person is its lane.
        {
            "update_id": 4,
            "callback_query": {"id": "q", "from": user, "chat_instance": "c", "data": "x"},
        },
        {"update_id": 5, "inline_query": {"id": "i", "from": user, "query": "", "offset": ""}},
        {
            "update_id": 6,
            "my_chat_member": {
                "chat": group,
                "from": user,
                "date": 1_773_000_000,
                "old_chat_member": {"status": "left", "user": user},
                "new_chat_member": {"status": "member", "user": user},
            },
        },
        {
            "update_id": 7,
            "poll_answer": {
                "poll_id": "p",
                "user": user,
                "option_ids": [0],
                "option_persistent_ids": ["a"],
            },
        },
        {
            "update_id": 8,
            "poll": {
                "id": "p",
                "question": "?",
                "options": [],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
            },
        },
    ]
    for payload in payloads:
        update = Update.de_json(payload, None)
        chat, person = update.effective_chat, update.effective_user
        expected = chat.id if chat else person.id if person else 0
        assert inbox.chat_key(payload) == expected, payload
    assert [inbox.chat_key(p) for p in payloads] == [
        77,
        -100_123,
        -100_123,
        42,
        42,
        -100_123,
        42,
        0,
    ]


async def test_each_chats_updates_in_order_and_different_chats_side_by_side(
    database: Database, recorder: Recorder
) -> None:
    chats = [1001, 1002, 1003, 1004]
    updates = an_inbox(database.sessions, lanes=8)
    await updates.start()
    try:
        # Interleaved as Telegram would send them; several in one polled batch.
        payloads = [message(100 + n, chats[n % 4]) for n in range(24)]
        for batch in (payloads[:10], payloads[10:11], payloads[11:]):
            assert await updates.accept_batch(batch) == len(batch)
        assert await updates.accept_batch(payloads[:3]) == 0  # repeats: stored once
        await asyncio.wait_for(updates.join(), 30)
    finally:
        await updates.stop()
    assert sorted(h.update_id for h in recorder.handled) == list(range(100, 124))
    assert_in_order_one_at_a_time(recorder.handled, chats)
    assert most_at_once(recorder.handled) >= 3, "chats did not go side by side"
    assert await unprocessed(database) == []


async def test_one_lane_is_one_update_at_a_time(database: Database, recorder: Recorder) -> None:
    updates = an_inbox(database.sessions, lanes=1)
    await updates.start()
    try:
        await updates.accept_batch([message(200 + n, 2000 + n % 3) for n in range(9)])
        await asyncio.wait_for(updates.join(), 30)
    finally:
        await updates.stop()
    assert len(recorder.handled) == 9
    assert most_at_once(recorder.handled) == 1


async def test_a_lane_looks_for_a_chats_next_update_only_when_one_is_waiting(
    database: Database, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each look is a transaction: after the chat's last update the lane ends without one
    more, and an update stored while the lane runs is still found."""
    looks: list[int] = []
    take_next = inbox.take_next

    async def counted(session: AsyncSession, bot_id: int, key: int) -> Any:
        looks.append(key)
        return await take_next(session, bot_id, key)

    monkeypatch.setattr(inbox, "take_next", counted)
    updates = an_inbox(database.sessions, lanes=8)
    await updates.start()
    try:
        await updates.accept_batch([message(300 + n, 3000 + n % 2) for n in range(6)])
        await asyncio.sleep(WORK)  # chat 3000's lane is busy with its first update
        await updates.accept_batch([message(306, 3000)])
        await asyncio.wait_for(updates.join(), 30)
    finally:
        await updates.stop()
    assert sorted(h.update_id for h in recorder.handled) == list(range(300, 307))
    assert_in_order_one_at_a_time(recorder.handled, [3000, 3001])
    assert sorted(looks) == [3000] * 4 + [3001] * 3


async def test_a_failing_update_is_tried_again_then_set_aside_without_holding_up_its_chat(
    database: Database,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(bot.app, "SWEEP_SECONDS", 0.05)
    monkeypatch.setattr(bot.app, "LEFT_WAITING", timedelta(0))
    recorder.failing.add(301)
    updates = an_inbox(database.sessions)
    await updates.start()
    try:
        with caplog.at_level(logging.ERROR):
            await updates.accept_batch([message(300, 3000), message(301, 3000), message(302, 3000)])
            for _ in range(200):
                if [h.update_id for h in recorder.handled] == [300, 302]:
                    break
                await asyncio.sleep(0.05)
    finally:
        await updates.stop()
    assert [h.update_id for h in recorder.handled] == [300, 302]
    assert recorder.tries[301] == inbox.MAX_ATTEMPTS
    assert "update 301 set aside after 3 failed attempts" in caplog.text
    async with database.sessions() as session:
        row = await session.get(InboundUpdate, (BOT, 301))
        assert row is not None and row.processed_at is not None and row.attempts == 3
    assert await unprocessed(database) == []


async def test_start_resumes_every_chat_left_waiting(
    database: Database, recorder: Recorder
) -> None:
    """As after a crash: stored, never handled; all of them, of every chat, however many."""
    async with database.sessions.begin() as session:
        stored = await inbox.store_updates(
            session, BOT, [message(400 + n, 4000 + n % 50) for n in range(150)]
        )
    assert len(stored) == 150
    updates = an_inbox(database.sessions)
    await updates.start()
    try:
        await asyncio.wait_for(updates.join(), 60)
    finally:
        await updates.stop()
    assert sorted(h.update_id for h in recorder.handled) == list(range(400, 550))
    assert_in_order_one_at_a_time(recorder.handled, list(range(4000, 4050)))


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_two_replicas_on_one_database_keep_each_chats_order(
    database: Database, recorder: Recorder
) -> None:
    """Webhook replicas behind a proxy: a chat's updates reach both, interleaved. Each
    replica has its own engine (its own connections), as separate processes would."""
    engines = [create_engine(database.url) for _ in range(2)]
    replicas = {}
    for name, engine in zip("AB", engines, strict=True):
        replicas[name] = an_inbox(create_session_factory(engine))
        recorder.replicas[id(replicas[name].services)] = name
    for replica in replicas.values():
        await replica.start()
    chats = [5001, 5002, 5003]
    try:
        for n in range(30):
            replica = replicas["AB"[n % 2]]  # the proxy alternates
            assert await replica.accept(message(500 + n, chats[n % 3]))
        # A repeat reaching the other replica is known there too.
        assert not await replicas["B"].accept(message(500, chats[0]))
        await asyncio.wait_for(asyncio.gather(*(r.join() for r in replicas.values())), 30)
        for _ in range(100):  # a lane that lost the race for a lock finds nothing left
            if await unprocessed(database) == []:
                break
            await asyncio.sleep(0.05)
    finally:
        for replica in replicas.values():
            await replica.stop()
        for engine in engines:
            await engine.dispose()
    assert sorted(h.update_id for h in recorder.handled) == list(range(500, 530))  # each once
    assert_in_order_one_at_a_time(recorder.handled, chats, replies_too=False)
    assert {h.replica for h in recorder.handled} == {"A", "B"}
    assert await unprocessed(database) == []


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_replica_that_dies_leaves_its_stored_updates_to_the_other(
    database: Database, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.app, "SWEEP_SECONDS", 0.05)
    monkeypatch.setattr(bot.app, "LEFT_WAITING", timedelta(0))
    survivor = an_inbox(database.sessions)
    await survivor.start()
    try:
        # What the dead replica stored and acknowledged, and never handled.
        async with database.sessions.begin() as session:
            await inbox.store_updates(session, BOT, [message(600 + n, 6000) for n in range(5)])
        for _ in range(200):
            if len(recorder.handled) == 5:
                break
            await asyncio.sleep(0.05)
    finally:
        await survivor.stop()
    assert [h.update_id for h in recorder.handled] == list(range(600, 605))
    async with database.sessions() as session:
        assert (
            await session.scalar(
                select(InboundUpdate.update_id).where(InboundUpdate.processed_at.is_(None))
            )
            is None
        )

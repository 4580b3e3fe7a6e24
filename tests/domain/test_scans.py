"""The scheduler's scans (scheduler.jobs) against a database: each message once, and a scan
a minute later costs the same few statements however many members there are."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, event, select, update

from models.account import set_language
from models.activities import Activity, Participation, create_activity, sign_up
from models.attendance import respond_attend
from models.attendance.reminders import OVERLAP
from models.members import Member, Membership
from models.org import OrgUnit, import_org, list_tree
from models.outbox import Delivery
from models.staff import DigestDay
from scheduler import jobs
from scheduler.clock import ManualClock
from scheduler.service import JobContext, SchedulerSettings
from tests.conftest import Database
from tests.domain.conftest import NOW, example_org
from tests.domain.test_activities_support import (
    ADMIN,
    MEETING,
    ORGANIZER,
    OTHER_SECRETARY,
    SECRETARY,
    active_member,
    draft,
    grant_staff,
)

HOUR = timedelta(hours=1)
# The meeting starts in 20 hours and was created two days ago: its announcement, its
# day-before reminder and the nudge to answer are all due at NOW.
STARTS = NOW + 20 * HOUR
CREATED = NOW - timedelta(days=2)


class NoSender:
    def wake(self) -> None:
        pass


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)


async def scan(context: JobContext) -> None:
    for part in (
        jobs.generate_series,
        jobs.enqueue_announcements,
        jobs.enqueue_reminders,
        jobs.enqueue_nudges,
        jobs.enqueue_digests,
    ):
        await part(context)


async def kinds_to(database: Database) -> Counter[tuple[str, int]]:
    async with database.sessions() as session:
        rows = await session.execute(select(Delivery.kind, Delivery.chat_id))
        return Counter((kind, chat) for kind, chat in rows)


async def add_members(
    database: Database, unit: OrgUnit, first: int, count: int, joined: Any
) -> list[int]:
    async with database.sessions.begin() as session:
        ids = [
            (await active_member(session, unit, first + i, f"党员{first + i:04d}")).telegram_id
            for i in range(count)
        ]
        await session.execute(
            update(Membership)
            .where(Membership.member_id.in_(select(Member.id).where(Member.telegram_id >= first)))
            .values(decided_at=joined)
        )
    return [i for i in ids if i is not None]


async def setup(database: Database, starts: Any = STARTS) -> tuple[JobContext, OrgUnit, int]:
    async with database.sessions.begin() as session:
        await import_org(session, example_org())
        units = {unit.code: unit for _, unit in await list_tree(session)}
        await grant_staff(session, units)
        meeting = await create_activity(
            session,
            SECRETARY,
            units["wanda-plaza"].id,
            draft(MEETING, starts_at=starts, ends_at=starts + HOUR),
            CREATED,
        )
        branch = units["wanda-plaza"]
    await add_members(database, branch, 100, 3, NOW - timedelta(days=30))
    async with database.sessions.begin() as session:
        volunteer = await create_activity(
            session,
            SECRETARY,
            branch.id,
            draft(starts_at=starts, ends_at=starts + HOUR, capacity=10),
            CREATED,
        )
        for member in await session.scalars(select(Member).where(Member.telegram_id < 102)):
            await sign_up(session, volunteer.id, member, CREATED)
    clock = ManualClock(NOW)
    context = JobContext(None, database.sessions, clock, SchedulerSettings(), NoSender())  # type: ignore[arg-type]
    return context, branch, meeting.id


async def test_each_message_once_and_a_later_scan_costs_the_same_for_ten_times_the_members(
    database: Database,
) -> None:
    context, branch, _ = await setup(database)
    await scan(context)
    first = await kinds_to(database)
    for member in (100, 101, 102):
        assert first[("announcement", member)] == 2  # the meeting and the volunteering
        assert first[("nudge", member)] == 1
    assert first[("reminder", 100)] == 2 and first[("reminder", 102)] == 1  # signed up: 2
    assert first[("digest", SECRETARY)] == 1

    context.clock.advance(timedelta(minutes=1))
    with statements(database) as few:
        await scan(context)
    assert await kinds_to(database) == first  # nothing twice

    # Ten times the members, who joined a moment ago: each hears of both activities at the
    # next scan, once.
    joined = await add_members(database, branch, 1000, 27, context.clock.now())
    context.clock.advance(timedelta(minutes=1))
    await scan(context)
    after = await kinds_to(database)
    for member in joined:
        assert after[("announcement", member)] == 2
    assert after[("nudge", joined[0])] == 0  # they are nudged a day after they joined
    assert {k: v for k, v in after.items() if k[1] not in joined} == first

    # Past the overlap in which scans look again at who joined just before them.
    context.clock.advance(OVERLAP)
    await scan(context)
    context.clock.advance(timedelta(minutes=1))
    with statements(database) as still_few:
        await scan(context)
    assert await kinds_to(database) == after
    assert len(still_few) == len(few), "\n---\n".join(still_few) + "\n=====\n" + "\n---\n".join(few)


async def test_reminders_and_the_report_of_silence_go_once_per_offset(database: Database) -> None:
    context, _, meeting = await setup(database)
    await scan(context)
    context.clock.set(STARTS - HOUR)  # the hour before: the last reminder
    await scan(context)
    await scan(context)
    sent = await kinds_to(database)
    # The day before and the hour before: the meeting's, and the volunteering's to those
    # signed up for it.
    assert sent[("reminder", 102)] == 2 and sent[("reminder", 101)] == 4
    # Nudged at NOW, silent 19 hours later: not yet a day, the secretary is not told.
    assert sent[("unanswered", SECRETARY)] == 0
    async with database.sessions() as session:
        activity = await session.get(Activity, meeting)
        assert activity is not None and activity.reminded_at == STARTS - HOUR


async def test_the_silent_are_reported_once_a_day_after_the_nudge(database: Database) -> None:
    context, _, _ = await setup(database, starts=STARTS + timedelta(days=2))
    await scan(context)
    context.clock.advance(timedelta(hours=25))
    await scan(context)
    await scan(context)
    sent = await kinds_to(database)
    assert sent[("unanswered", SECRETARY)] == 1
    assert sent[("nudge", 100)] == 1


async def test_a_day_with_nothing_to_say_is_not_looked_at_again(database: Database) -> None:
    context, _, _ = await setup(database)
    await scan(context)
    async with database.sessions() as session:
        days = set((await session.execute(select(DigestDay.telegram_id))).scalars())
    # Everyone with a role had their day's digest made; the other branch's secretary had
    # nothing to say (tomorrow's activities are Wanda Plaza's), and got no message.
    assert days == {ADMIN, SECRETARY, ORGANIZER, OTHER_SECRETARY}
    sent = await kinds_to(database)
    assert {tg for kind, tg in sent if kind == "digest"} == {ADMIN, SECRETARY, ORGANIZER}
    context.clock.advance(timedelta(minutes=1))
    with statements(database) as seen:
        await jobs.enqueue_digests(context)
    assert len(seen) <= 6, "\n".join(seen)


async def test_a_member_who_joins_after_the_nudges_is_nudged_a_day_after_joining(
    database: Database,
) -> None:
    context, branch, meeting = await setup(database, starts=STARTS + timedelta(days=3))
    await scan(context)
    assert (await kinds_to(database))[("nudge", 100)] == 1
    joined = await add_members(database, branch, 2000, 3, context.clock.now())
    async with database.sessions.begin() as session:
        answering = await session.scalar(select(Member).where(Member.telegram_id == joined[0]))
        assert answering is not None
        await respond_attend(session, meeting, answering, context.clock.now())
    context.clock.advance(timedelta(hours=23))
    await scan(context)
    early = await kinds_to(database)
    assert [early[("nudge", tg)] for tg in joined] == [0, 0, 0]
    context.clock.advance(timedelta(hours=1, minutes=1))
    await scan(context)
    await scan(context)
    sent = await kinds_to(database)
    # The one who answered is not nudged; the other two once; the first ones not again.
    assert [sent[("nudge", tg)] for tg in joined] == [0, 1, 1]
    assert sent[("nudge", 100)] == 1
    async with database.sessions() as session:
        activity = await session.get(Activity, meeting)
        assert activity is not None and activity.nudges_queued_at == context.clock.now()


async def first_scan_statements(database: Database, members: int) -> tuple[int, Counter[str]]:
    """The statements of the first announcements and nudges to a branch of `members`
    (besides the three of setup), and the nudges' languages: half the new ones chose English."""
    context, branch, _ = await setup(database)
    joined = await add_members(database, branch, 1000, members, NOW - timedelta(days=30))
    async with database.sessions.begin() as session:
        for telegram_id in joined[::2]:
            await set_language(session, telegram_id, "en")
    with statements(database) as seen:
        await jobs.enqueue_announcements(context)
        await jobs.enqueue_nudges(context)
    async with database.sessions() as session:
        rows = await session.execute(
            select(Delivery.chat_id, Delivery.text).where(Delivery.kind == "nudge")
        )
        chats_by_text: dict[str, set[int]] = {}
        for chat, text in rows:
            chats_by_text.setdefault(text, set()).add(chat)
    english = set(joined[::2])
    languages = Counter(
        ("en" if chats <= english else "zh") + (":new" if chat in joined else ":old")
        for chats in chats_by_text.values()
        for chat in chats
    )
    return len(seen), languages


async def test_first_announcements_and_nudges_take_the_same_statements_for_ten_times_the_members(
    database: Database,
) -> None:
    """The copies are written by the database (INSERT ... SELECT per language), so the
    statements do not grow with the audience; each member gets theirs in their language."""
    small, languages = await first_scan_statements(database, 4)
    assert languages == Counter({"zh:old": 3, "zh:new": 2, "en:new": 2})
    async with database.sessions.begin() as session:
        for table in (Delivery, Participation, Activity, Membership, Member):
            await session.execute(delete(table))
    big, languages = await first_scan_statements(database, 40)
    assert languages == Counter({"zh:old": 3, "zh:new": 20, "en:new": 20})
    assert big == small

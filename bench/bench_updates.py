"""Updates per second, CPU per update and memory of the bot through the Bot API emulator:
a realistic mix from scripted members, against a bare PTB bot in the same run.

    python bench/bench_updates.py [--updates N] [--users U] [--round-trips MS,..]
                                  [--parts read,write] [--steps] [--only TEXT] [--profile]
                                  [--sql-log FILE]
    python bench/bench_updates.py --memory [--updates 10000] [--users 100]

The bot under test runs in a process of its own (bench/updates_bot.py), long polling the
emulator, which runs in this process with the scripted members. CPU is the bot process's
own (utime + stime from /proc/<pid>/stat, all its threads) over the flood only; RSS is its
VmRSS from /proc/<pid>/status (`idle`: 2 s after it said ready, before any update;
`end`: after the flood); `SQL/upd` and `txn/upd` are the statements (SAVEPOINT and
RELEASE included, SQLite's own BEGIN IMMEDIATE not) and transactions branchbot's engine
ran over the flood, per update (SQLAlchemy events in its process); `emu ms` is this
process's CPU per update (the emulator and the members), to show it is not the ceiling.

The world, seeded untimed before the bot starts (with the domain's own operations on the
database file or PostgreSQL database the bot then uses, migrated by `migrate.upgrade`): the
example organisation (examples/org.example.toml), a secretary of the Wanda Plaza branch and
U members managed by it (each a user of the emulator, half zh and half en: account,
consent, profile, membership approved a month ago), their record (four meetings of the
last weeks, closed, two in three checked in), and upcoming activities: a volunteer service
in 3 days with a seat for everyone (sign-up and cancel), a lecture in 2 days (leave), a
theme day and a tree planting next week, and K general meetings starting in 20 minutes,
open for check-in by the code read out (one per check-in a member makes, so that every
check-in is a real one). All are marked announced, so that the scheduler tells nobody of
them during the run. Before the flood, untimed, each member opens the cards it acts on
through their share links (/start a_…).

Then every member runs its loop, one update at a time (it sends, waits for the whole
answer and checks it, then goes on), all U members at once, N updates per part in all:

- read-heavy: /events; a card pressed in the list (the list message becomes the card);
  the card's Back (the list again); another card; /record;
- writes: Sign up and Cancel on the service's card; on a meeting's card "enter the code",
  then the code typed as the reply to the bot's ForceReply question (checked in: a message
  and a new card); on the lecture's card "ask for leave", then the reason typed (the
  request goes to the secretary; a message and a new card); Attend on the new card.

The mix is both parts together: its figures are the two parts' sums (as many updates of
each). The echo bot gets the same updates from the same members (the same texts, and a
press on its latest message where branchbot's member presses a card button), and answers
every message with one message and every press with an answer and an edit of the pressed
message, where branchbot sends one or two messages or answers and edits; it reads and
writes nothing. Every update must get its whole answer; an answer branchbot would not give
(a refusal, a wrong card) stops the row. The emulator's violations (requests Telegram
would reject) and messages nobody waited for are reported.

Rows, each with a fresh emulator, database and bot process, once per emulated round trip
(`--round-trips`, default 0 and 50 ms: every Bot API call but getUpdates answered that much
later, `Emulator.round_trip`): the echo bot handling one update at a time, and with
`concurrent_updates`; branchbot on SQLite (a file in a temp directory) and on PostgreSQL
(a throwaway database, when BRANCHBOT_TEST_POSTGRES_URL is set), with 1 lane and 8. "vs
echo" is against the echo bot that handles updates the same way (one at a time, or side by
side). `alone` is the latency of 25 read-heavy updates from one member while the others
wait, before the flood; `p50/p99` the latency in the flood, from a member's send or press
to the whole answer. `--steps` adds each step's median latency and the Bot API calls per
update. `--only TEXT` runs the rows whose name has TEXT (alternatives separated by |).

`--memory`: the echo bot's RSS once started (the baseline), then branchbot on SQLite with
8 lanes, no round trip and U members (default 100): its RSS once started and idle, after
the cards were opened, and after every 2,000 updates of the mix up to N (default 10,000;
each member's loop is the read-heavy one then the writes), with the rate and CPU of each
2,000.

`--sql-log FILE` writes every statement branchbot runs to FILE, one a line (COMMIT after
each transaction): with `--users 1 --only "SQLite, 1 lane"`, each update's in turn.

`--profile` adds a row (SQLite, 8 lanes, no round trip) with cProfile in the bot's process
over the flood, and prints where its CPU went: by package, and the top functions by own
time. The profiler slows that row, so its rate is not comparable.

Figures only, no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import pstats
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy
import telegram

# Run as a script, sys.path[0] is bench/; the repository root must win over an editable install
# made before a package gained its __init__.py (which would import it as an empty namespace).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import migrate
from models.account import touch_account
from models.activities import ActivityDraft, ActivityKind, create_activity, share_payload
from models.attendance import close_record, mark_announced, roster_check_in
from models.db import create_engine, create_session_factory
from models.members import (
    MemberType,
    Via,
    approve_report,
    give_consent,
    report,
    set_member_type,
    set_phone,
    set_real_name,
    start_profile,
)
from models.notifications import take_pending
from models.org import import_org, unit_by_code
from models.permissions import grant_role
from sandbox import Emulator, Person
from sandbox.state import ChatMessage
from tests.e2e.texts import said
from tests.postgres import throwaway_database
from views.buttons import (
    AskLeave,
    Attend,
    CancelSignUp,
    EnterCode,
    EventsPage,
    ShowCard,
    SignUp,
)
from views.i18n import t

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ENV = "BRANCHBOT_TEST_POSTGRES_URL"
CHILD = Path(__file__).with_name("updates_bot.py")
ORG_FILE = ROOT / "examples" / "org.example.toml"
CHECK_IN_SECRET = "bench-check-in-secret-0123456789"
UNIT = "wanda-plaza"
ZONE = ZoneInfo("Asia/Shanghai")  # the bot's default time zone (bot.timezone)

READ_LOOP = ("events", "card", "back", "card", "record")
WRITE_LOOP = ("sign_up", "cancel", "code", "code_answer", "leave", "reason", "attend")
LOOPS = {"read": READ_LOOP, "write": WRITE_LOOP, "mix": READ_LOOP + WRITE_LOOP}
PART_NAMES = {"read": "read-heavy", "write": "writes", "mix": "mix"}
MESSAGE_STEPS = {"events", "record", "code_answer", "reason"}  # the others are presses
ALONE_LOOPS = 5  # read-heavy loops (25 updates) from one member alone, before the flood
STEP_TIMEOUT = 120.0  # seconds for one step's whole answer before the row is declared stuck
IDLE_SECONDS = 2.0  # after `ready`, before the idle RSS (the scheduler's first scan)
MEMORY_EVERY = 2000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- figures ------------------------------------------------------------------------------------
@dataclass
class Part:
    updates: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the bot process's, over this part
    bench_cpu_seconds: float = 0.0  # this process's: the emulator and the members
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # Bot API methods
    statements: int = 0  # SQL statements the bot ran (branchbot)
    transactions: int = 0

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.updates if self.updates else 0.0

    @property
    def bench_cpu_ms(self) -> float:
        return 1000 * self.bench_cpu_seconds / self.updates if self.updates else 0.0

    def all_latencies(self) -> list[float]:
        return [value for values in self.latencies.values() for value in values]

    def add(self, other: Part) -> Part:
        total = Part(
            self.updates + other.updates,
            self.seconds + other.seconds,
            self.cpu_seconds + other.cpu_seconds,
            self.bench_cpu_seconds + other.bench_cpu_seconds,
            statements=self.statements + other.statements,
            transactions=self.transactions + other.transactions,
        )
        for source in (self, other):
            for step, values in source.latencies.items():
                total.latencies[step] += values
            for method, count in source.calls.items():
                total.calls[method] += count
        return total


@dataclass
class Result:
    name: str
    kind: str  # "echo" or "branchbot"
    round_trip: float = 0.0  # seconds each Bot API call waits (the emulated network)
    side_by_side: bool = False  # updates handled concurrently (lanes, concurrent_updates)
    database: str = ""
    profile: bool = False
    parts: dict[str, Part] = field(default_factory=dict)
    alone: list[float] = field(default_factory=list)
    idle_rss_mb: float = 0.0
    rss_mb: float = 0.0  # after the flood
    violations: list[str] = field(default_factory=list)
    unexpected: int = 0  # bot messages and edits in the members' chats nobody waited for
    log_lines: list[str] = field(default_factory=list)  # the bot's warnings and errors
    error: str = ""

    @property
    def mix(self) -> Part:
        total = Part()
        for part in self.parts.values():
            total = total.add(part)
        return total


def percentile_ms(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# -- the world ----------------------------------------------------------------------------------
@dataclass
class World:
    service: int  # sign-up and cancel
    lecture: int  # leave, then attend
    meetings: list[tuple[int, str]]  # (id, check-in code), one per check-in of a member
    payloads: dict[int, str]  # activity id -> /start payload of its share link
    titles: dict[int, str]


async def seed(url: str, people: list[Person], secretary: Person, meetings: int) -> World:
    """The organisation, the members, their record and the upcoming activities (see the
    docstring), written with the domain's operations; nobody is told of any of it."""
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        sessions = create_session_factory(engine)
        now = datetime.now(UTC)
        hour = now.replace(minute=0, second=0, microsecond=0)  # activities start on the hour
        joined = now - timedelta(days=30)
        async with sessions.begin() as session:
            await import_org(session, tomllib.loads(ORG_FILE.read_text(encoding="utf-8")))
            unit = await unit_by_code(session, UNIT)
            await grant_role(session, secretary.id, "secretary", unit.id, None)
            await touch_account(session, secretary.id, telegram_language="zh")
            members = []
            for number, person in enumerate(people):
                await touch_account(session, person.id, telegram_language=person.user.language_code)
                member = await start_profile(session, person.id, joined)
                await give_consent(session, member, joined)
                set_real_name(member, person.name)
                set_phone(member, f"+86139{number:08d}")
                set_member_type(member, MemberType.regular, None)
                await session.flush()
                membership = await report(session, member, unit, via=Via.tree, now=joined)
                await session.flush()
                await approve_report(session, membership.id, secretary.id, joined)
                members.append(member)

            async def activity(
                title: str, kind: ActivityKind, starts: datetime, **more: Any
            ) -> Any:
                draft = ActivityDraft(
                    kind=kind,
                    title=title,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    **more,
                )
                # Created now; one already held, two days before it was.
                planned = now if starts > now else starts - timedelta(days=2)
                return await create_activity(session, secretary.id, unit.id, draft, planned)

            for weeks in range(4):  # the record: two in three checked in, the rest absent
                held = await activity(
                    f"支部党员大会（第{4 - weeks}周）",
                    ActivityKind.general_meeting,
                    hour - timedelta(days=3 + 7 * weeks),
                )
                for number, member in enumerate(members):
                    if number % 3 != weeks % 3:
                        await roster_check_in(
                            session, held.id, member.id, secretary.id, held.starts_at
                        )
                await close_record(session, held.id, held.ends_at + timedelta(minutes=1))

            service = await activity(
                "社区志愿服务",
                ActivityKind.volunteer,
                hour + timedelta(days=3),
                capacity=len(people) + 5,
                place="万达广场一楼中庭",
            )
            lecture = await activity(
                "党课：学习新思想", ActivityKind.lecture, hour + timedelta(days=2)
            )
            others = [
                await activity("主题党日", ActivityKind.theme_day, hour + timedelta(days=6)),
                await activity(
                    "乡村植树添新绿",
                    ActivityKind.tree_planting,
                    hour + timedelta(days=8),
                    capacity=40,
                ),
            ]
            soon = now + timedelta(minutes=20)  # check-in opens 30 minutes before
            opened = [
                await activity(f"支部党员大会 {number + 1}", ActivityKind.general_meeting, soon)
                for number in range(meetings)
            ]
            upcoming = [service, lecture, *others, *opened]
            await mark_announced(session, [a.id for a in upcoming], now)
            take_pending(session)  # what the operations above would tell people: nobody
            return World(
                service=service.id,
                lecture=lecture.id,
                meetings=[(a.id, a.check_in_code) for a in opened],
                payloads={a.id: share_payload(a) for a in upcoming},
                titles={a.id: a.title for a in upcoming},
            )
    finally:
        await engine.dispose()


# -- the bot's process --------------------------------------------------------------------------
class Child:
    """bench/updates_bot.py in a process of its own; its CPU time and RSS from /proc."""

    def __init__(self, kind: str, settings: dict[str, Any]) -> None:
        self.kind, self.settings = kind, settings
        self.process: asyncio.subprocess.Process | None = None
        self.log: list[str] = []
        self._reading: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CHILD),
            self.kind,
            json.dumps(self.settings),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self._reading = asyncio.create_task(self._read_log(self.process.stderr))
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout=120)
        except TimeoutError:
            line = b""
        if line.strip() != b"ready":
            await self.stop()
            raise RuntimeError(
                f"the {self.kind} process did not start:\n" + "\n".join(self.log[-20:])
            )

    async def _read_log(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            self.log.append(line.decode(errors="replace").rstrip())

    def _proc(self, name: str) -> str:
        assert self.process is not None
        return Path(f"/proc/{self.process.pid}/{name}").read_text()

    def cpu_seconds(self, name: str = "stat") -> float:
        fields = self._proc(name).rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def main_thread_cpu_seconds(self) -> float:
        """The event loop's thread (the process's first); the rest are the database driver's
        (aiosqlite runs each connection in a thread) and the interpreter's."""
        assert self.process is not None
        return self.cpu_seconds(f"task/{self.process.pid}/stat")

    def rss_mb(self) -> float:
        for line in self._proc("status").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    async def command(self, command: str) -> dict[str, Any]:
        """A command to the bot's process (see updates_bot.py), and its answer."""
        assert self.process is not None
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout=60)
        return json.loads(line)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()  # SIGTERM: a clean stop
        try:
            await asyncio.wait_for(self.process.wait(), timeout=30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if self._reading is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reading, timeout=5)


# -- the members --------------------------------------------------------------------------------
class Unexpected(AssertionError):
    pass


async def collect(
    person: Person,
    *,
    new: int = 0,
    edit: ChatMessage | None = None,
    query: str | None = None,
) -> tuple[list[ChatMessage], int]:
    """Reads the person's chat until `new` new messages came, `edit` was edited and the press
    `query` was answered: the new messages, and how many other events were read past."""
    deadline = time.monotonic() + STEP_TIMEOUT
    got: list[ChatMessage] = []
    edited = edit is None
    other = 0
    while len(got) < new or not edited:
        event = await person.next_event(timeout=max(deadline - time.monotonic(), 0.0))
        if event.kind == "new" and len(got) < new:
            got.append(event.message)
        elif event.kind == "edit" and edit is not None and event.message is edit and not edited:
            edited = True
        else:
            other += 1
    if query is not None:
        await person.wait_answer(timeout=max(deadline - time.monotonic(), 0.0), query_id=query)
    return got, other


def press(person: Person, message: ChatMessage, data: str) -> str:
    """The button with this callback data on this message, pressed: the query id."""
    for row in message.inline_keyboard:
        for button in row:
            if button.get("callback_data") == data:
                return person.press_button(message, button)
    raise Unexpected(
        f"{person.name}: no button {data!r} on message #{message.message_id} "
        f"(it shows {message.buttons})\n{person.transcript()}"
    )


def has_button(message: ChatMessage, data: str) -> bool:
    return any(b.get("callback_data") == data for row in message.inline_keyboard for b in row)


class Member:
    """One scripted member: a Person, where it is in each loop and what it acts on."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.language = person.user.language_code or "zh"
        self.other = 0  # events read past while waiting for an answer

    async def read(self, **expect: Any) -> list[ChatMessage]:
        got, other = await collect(self.person, **expect)
        self.other += other
        return got

    def fail(self, what: str) -> Unexpected:
        return Unexpected(f"{self.person.name}: {what}\n{self.person.transcript()}")

    async def prepare(self) -> None:
        raise NotImplementedError

    async def do(self, step: str) -> None:
        raise NotImplementedError

    def text_of(self, step: str) -> str:
        return {"events": "/events", "record": "/record"}.get(step, "")


class EchoMember(Member):
    """Sends what branchbot's member sends; presses the button of the echo bot's latest
    message where branchbot's member presses a card's."""

    last: ChatMessage

    async def prepare(self) -> None:
        await self.person.send("/start")
        [self.last] = await self.read(new=1)

    async def do(self, step: str) -> None:
        if step in MESSAGE_STEPS:
            text = {"code_answer": "1234", "reason": "家中有事"}.get(step) or self.text_of(step)
            await self.person.send(
                text, reply_to=self.last if step not in {"events", "record"} else None
            )
            [self.last] = await self.read(new=1)
        else:
            query = press(self.person, self.last, "echo")
            await self.read(edit=self.last, query=query)


class BranchbotMember(Member):
    def __init__(self, person: Person, world: World) -> None:
        super().__init__(person)
        self.world = world
        self.cards: dict[int, ChatMessage] = {}  # activity id -> the card acted on
        self.listing: ChatMessage | None = None  # the /events message (list or card)
        self.shown: list[str] = []  # ShowCard data of the list's first page
        self.turn = 0  # which card of the list to open next
        self.checked_in = 0  # meetings checked in so far
        self.question: ChatMessage | None = None

    def said(self, key: str, **values: Any) -> str:
        return said(self.language, key, **values)

    async def prepare(self) -> None:
        """The cards it acts on, opened through their share links."""
        wanted = [self.world.service, self.world.lecture, *(m for m, _ in self.world.meetings)]
        for activity_id in wanted:
            await self.person.send(f"/start {self.world.payloads[activity_id]}")
            [card] = await self.read(new=1)
            if not card.text.startswith(self.world.titles[activity_id]):
                raise self.fail(f"the link of activity {activity_id} opened no card")
            self.cards[activity_id] = card

    async def do(self, step: str) -> None:
        await getattr(self, f"_{step}")()

    # read-heavy
    async def _events(self) -> None:
        await self.person.send("/events")
        [self.listing] = await self.read(new=1)
        self._list_shown()

    def _list_shown(self) -> None:
        assert self.listing is not None
        prefix = ShowCard.key + ":"
        self.shown = [
            b["callback_data"]
            for row in self.listing.inline_keyboard
            for b in row
            if b.get("callback_data", "").startswith(prefix)
        ]
        if not self.shown:
            raise self.fail("the list shows no activity")

    async def _card(self) -> None:
        assert self.listing is not None
        data = self.shown[self.turn % len(self.shown)]
        self.turn += 1
        query = press(self.person, self.listing, data)
        await self.read(edit=self.listing, query=query)
        if not has_button(self.listing, EventsPage(1).pack()):
            raise self.fail("the card has no Back button")

    async def _back(self) -> None:
        assert self.listing is not None
        query = press(self.person, self.listing, EventsPage(1).pack())
        await self.read(edit=self.listing, query=query)
        self._list_shown()

    async def _record(self) -> None:
        await self.person.send("/record")
        [record] = await self.read(new=1)
        if "\n" not in record.text:
            raise self.fail("/record has no lines")

    # writes
    async def _press_on_card(self, activity_id: int, data: str, note: str) -> None:
        card = self.cards[activity_id]
        query = press(self.person, card, data)
        await self.read(edit=card, query=query)
        answer = self.person.emu.callbacks[query]
        if answer.text != t(self.language, note):
            raise self.fail(f"the press {data} was answered {answer.text!r}")

    async def _sign_up(self) -> None:
        service = self.world.service
        await self._press_on_card(service, SignUp(service).pack(), "events.signed_up_note")

    async def _cancel(self) -> None:
        service = self.world.service
        await self._press_on_card(service, CancelSignUp(service).pack(), "events.cancelled_note")

    async def _ask(self, activity_id: int, data: str, key: str) -> None:
        query = press(self.person, self.cards[activity_id], data)
        [self.question] = await self.read(new=1, query=query)
        expected = self.said(key, title=self.world.titles[activity_id])
        if self.question.text != expected:
            raise self.fail(f"asked {self.question.text!r}, not {expected!r}")

    async def _answer(self, text: str, key: str, activity_id: int) -> None:
        await self.person.send(text, reply_to=self.question)
        said, card = await self.read(new=2)
        if said.text != self.said(key, title=self.world.titles[activity_id]):
            raise self.fail(f"the answer {text!r} got {said.text!r}")
        self.cards[activity_id] = card

    def _meeting(self) -> tuple[int, str]:
        if self.checked_in >= len(self.world.meetings):
            raise self.fail("no meeting left to check in to (the bench seeded too few)")
        return self.world.meetings[self.checked_in]

    async def _code(self) -> None:
        meeting, _ = self._meeting()
        await self._ask(meeting, EnterCode(meeting).pack(), "checkin.ask_code")

    async def _code_answer(self) -> None:
        meeting, code = self._meeting()
        await self._answer(code, "events.checked_in", meeting)
        self.checked_in += 1

    async def _leave(self) -> None:
        lecture = self.world.lecture
        await self._ask(lecture, AskLeave(lecture).pack(), "events.ask_leave_reason")

    async def _reason(self) -> None:
        reason = "家中有事" if self.language == "zh" else "A family matter"
        await self._answer(reason, "events.leave_sent", self.world.lecture)

    async def _attend(self) -> None:
        lecture = self.world.lecture
        await self._press_on_card(lecture, Attend(lecture).pack(), "events.attend_note")


def plans(users: int, parts: list[tuple[str, int]]) -> list[list[tuple[str, list[str]]]]:
    """Per member, per part in order: the steps it takes (each part's N updates shared out
    as evenly as the members allow, each member going on in its loop where it was)."""
    positions = [dict.fromkeys(LOOPS, 0) for _ in range(users)]
    result: list[list[tuple[str, list[str]]]] = [[] for _ in range(users)]
    for part, updates in parts:
        loop = LOOPS[part]
        for member in range(users):
            count = updates // users + (1 if member < updates % users else 0)
            start = positions[member][part]
            steps = [loop[(start + i) % len(loop)] for i in range(count)]
            positions[member][part] = start + count
            result[member].append((part, steps))
    return result


def check_ins(plan: list[list[tuple[str, list[str]]]]) -> int:
    return max((sum(steps.count("code") for _, steps in member) for member in plan), default=0)


async def run_steps(members: list[Member], steps: list[list[str]], part: Part) -> None:
    async def one(member: Member, todo: list[str]) -> None:
        for step in todo:
            sent = time.monotonic()
            await member.do(step)
            part.latencies[step].append(time.monotonic() - sent)

    start, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(one(m, todo) for m, todo in zip(members, steps, strict=True)))
    part.seconds = time.monotonic() - start
    part.bench_cpu_seconds = time.process_time() - cpu
    part.updates = sum(len(todo) for todo in steps)


# -- a row --------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def database(kind: str) -> AsyncIterator[str]:
    if kind == "PostgreSQL":
        async with throwaway_database(os.environ[POSTGRES_ENV], "branchbot_bench") as url:
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix="branchbot-bench-") as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"


SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜敏静丽强磊军洋"
ENGLISH = ("Anna", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Henry", "Ivy", "Jack")


def name_of(number: int, language: str) -> str:
    """A real name (letters only, as the profile takes them), distinct for each number."""
    digits = [int(d) for d in f"{number:03d}"]
    if language == "zh":
        return SURNAMES[digits[0]] + GIVEN[digits[1]] + GIVEN[digits[2]]
    return f"{ENGLISH[digits[1]]} {ENGLISH[digits[2]]}son {'I' * (1 + digits[0])}"


def people_of(emu: Emulator, users: int) -> tuple[list[Person], Person]:
    secretary = emu.user("李书记", language_code="zh", username="secretary")
    people = []
    for i in range(users):
        language = "en" if i % 2 else "zh"
        people.append(emu.user(name_of(i, language), language_code=language, username=f"member{i}"))
    return people, secretary


async def run_row(
    result: Result,
    args: argparse.Namespace,
    parts: list[tuple[str, int]],
    memory: list[tuple[str, float, Part | None]] | None = None,
) -> None:
    """One bot process on a fresh emulator (and database): seeded, started, the cards
    opened, `alone`, then each part timed."""
    plan = plans(args.users, parts)
    async with Emulator() as emu, contextlib.AsyncExitStack() as stack:
        people, secretary = people_of(emu, args.users)
        settings: dict[str, Any] = {"token": emu.token, "api_base_url": emu.url}
        if result.kind == "echo":
            settings["concurrent"] = result.side_by_side
            members: list[Member] = [EchoMember(p) for p in people]
        else:
            url = await stack.enter_async_context(database(result.database))
            world = await seed(url, people, secretary, check_ins(plan))
            away = datetime.now(ZONE) + timedelta(hours=12)
            settings |= {
                "database_url": url,
                "lanes": 8 if result.side_by_side else 1,
                "check_in_secret": CHECK_IN_SECRET,
                "quiet_hours": [f"{away:%H}:00", f"{away + timedelta(hours=1):%H}:00"],
            }
            if args.sql_log:
                settings["sql_log"] = args.sql_log
            members = [BranchbotMember(p, world) for p in people]
        profile_to = ""
        if result.profile:
            profile_to = str(Path(stack.enter_context(tempfile.TemporaryDirectory())) / "prof")
            settings["profile"] = profile_to
        child = Child(result.kind, settings)
        await child.start()
        try:
            await asyncio.sleep(IDLE_SECONDS)
            result.idle_rss_mb = child.rss_mb()
            if memory is not None:
                memory.append(("idle, once started", result.idle_rss_mb, None))
            await asyncio.gather(*(m.prepare() for m in members))  # no round trip: untimed
            if memory is not None:
                memory.append(("cards opened", child.rss_mb(), None))
            emu.round_trip = result.round_trip
            # Latency without a queue: one member, one update at a time.
            # Whole loops, so that the member goes on from the start of its loop.
            for step in READ_LOOP * ALONE_LOOPS:
                sent = time.monotonic()
                await members[0].do(step)
                result.alone.append(time.monotonic() - sent)
            done = 0
            threads = [0.0, 0.0]  # the event loop thread's CPU, the whole process's
            for index, (part_name, _) in enumerate(parts):
                steps = [member[index][1] for member in plan]
                part = Part()
                if result.profile:
                    await child.command("profile-start")
                counts = await child.command("counts")
                cpu, main_cpu = child.cpu_seconds(), child.main_thread_cpu_seconds()
                requests = len(emu.requests)
                await run_steps(members, steps, part)
                part.cpu_seconds = child.cpu_seconds() - cpu
                after = await child.command("counts")
                part.statements = after.get("statements", 0) - counts.get("statements", 0)
                part.transactions = after.get("transactions", 0) - counts.get("transactions", 0)
                for request in emu.requests[requests:]:
                    part.calls[request.method] += 1
                threads[0] += child.main_thread_cpu_seconds() - main_cpu
                threads[1] += part.cpu_seconds
                if result.profile:
                    await child.command("profile-stop")
                done += part.updates
                if memory is not None:
                    memory.append((f"after {done:,} updates", child.rss_mb(), part))
                key = part_name if part_name not in result.parts else f"{part_name}{index}"
                result.parts[key] = part
            result.rss_mb = child.rss_mb()
            await asyncio.sleep(0.3)  # anything still coming
            result.unexpected = sum(m.other for m in members) + sum(
                len(m.person.chat.events) - m.person._cursor.get(m.person.chat.id, 0)
                for m in members
            )
        finally:
            await child.stop()
            result.violations = [str(v) for v in emu.violations]
            result.log_lines = [
                line for line in child.log if line.startswith(("WARNING", "ERROR", "CRITICAL"))
            ] or [line for line in child.log if "Traceback" in line]
        if result.profile:
            print_profile(profile_to, result, threads)


async def measure(result: Result, args: argparse.Namespace, parts: list[tuple[str, int]]) -> Result:
    try:
        await run_row(result, args, parts)
    except Exception as exc:  # report the row as failed, keep the others
        text = f"{type(exc).__name__}: {exc}"
        result.error = text if len(text) < 4000 else text[:4000] + " …"
    return result


# -- report -------------------------------------------------------------------------------------
def print_table(results: list[Result], parts: list[str], steps: bool) -> None:
    header = (
        f"{'bot':<30} {'part':<10} {'upd/s':>7} {'vs echo':>7} {'CPU ms/upd':>10} "
        f"{'vs echo':>7} {'SQL/upd':>7} {'txn/upd':>7} {'p50/p99 ms':>12} {'alone p50':>9} "
        f"{'RSS MB idle/end':>15} {'emu ms':>6}"
    )
    names = [*parts, "mix"] if len(parts) > 1 else parts
    for round_trip in sorted({r.round_trip for r in results}):
        print(f"\nround trip {1000 * round_trip:.0f} ms")
        print(header)
        print("-" * len(header))
        rows = [r for r in results if r.round_trip == round_trip]
        echo = {r.side_by_side: r for r in rows if r.kind == "echo" and not r.error}
        for r in rows:
            if r.error:
                print(f"{r.name:<30} failed: {r.error}")
                continue
            baseline = echo.get(r.side_by_side)
            for index, name in enumerate(names):
                part = r.mix if name == "mix" else r.parts[name]
                base = None
                if baseline is not None:
                    base = baseline.mix if name == "mix" else baseline.parts.get(name)
                ratio = part.rate / base.rate if base and base.rate else 0.0
                cpu_ratio = part.cpu_ms / base.cpu_ms if base and base.cpu_ms else 0.0
                lat = part.all_latencies()
                latency = f"{percentile_ms(lat, 50):.0f} / {percentile_ms(lat, 99):.0f}"
                first = index == 0
                label = r.name if first else ""
                alone = f"{percentile_ms(r.alone, 50):.1f}" if first else ""
                rss = f"{r.idle_rss_mb:.0f} / {r.rss_mb:.0f}" if first else ""
                sql = f"{part.statements / part.updates:.1f}" if part.statements else "-"
                txn = f"{part.transactions / part.updates:.2f}" if part.transactions else "-"
                print(
                    f"{label:<30} {PART_NAMES[name]:<10} {part.rate:>7.1f} {ratio:>7.2f} "
                    f"{part.cpu_ms:>10.2f} {cpu_ratio:>7.2f} {sql:>7} {txn:>7} {latency:>12} "
                    f"{alone:>9} {rss:>15} {part.bench_cpu_ms:>6.1f}"
                )
        if steps:
            print_steps([r for r in rows if not r.error])
    print(
        "\nvs echo: against the echo bot handling updates the same way (one at a time, or side "
        "by side); p50/p99: from a member's send or press to the whole answer, in the flood; "
        f"alone: {ALONE_LOOPS * len(READ_LOOP)} read-heavy updates from one member while the "
        "others wait; "
        "CPU: the bot's process alone; emu ms: CPU per update of this process (the emulator "
        "and the members)"
    )
    print_warnings(results)


def print_warnings(results: list[Result]) -> None:
    """What a row saw besides its figures: requests Telegram would refuse, messages nobody
    waited for, the bot's own warnings."""
    for r in results:
        if r.violations:
            print(f"warning: {r.name}: {len(r.violations)} request(s) the Bot API would reject:")
            for line in r.violations[:5]:
                print(f"  {line[:300]}")
        if r.unexpected:
            print(f"note: {r.name}: {r.unexpected} bot message(s) or edit(s) nobody waited for")
        if r.log_lines:
            print(f"note: {r.name}: the bot logged {len(r.log_lines)} warning(s), first:")
            for line in r.log_lines[:3]:
                print(f"  {line[:300]}")


def print_steps(rows: list[Result]) -> None:
    """Each step's median latency, per row; the Bot API calls per update."""
    short = [r.name.replace("branchbot, ", "").replace("PTB echo, ", "echo ") for r in rows]
    print(f"\n  {'step (p50 ms)':<13}" + "".join(f" {name[:18]:>18}" for name in short))
    for step in (*READ_LOOP[:3], READ_LOOP[4], *WRITE_LOOP):
        cells = []
        for r in rows:
            values = [v for part in r.parts.values() for v in part.latencies.get(step, [])]
            cells.append(f"{percentile_ms(values, 50):.0f}" if values else "-")
        print(f"  {step:<13}" + "".join(f" {cell:>18}" for cell in cells))
    print("  Bot API calls per update, in the flood:")
    for r in rows:
        mix = r.mix
        calls = ", ".join(
            f"{method} {count / mix.updates:.2f}"
            for method, count in sorted(mix.calls.items(), key=lambda item: -item[1])
        )
        print(f"    {r.name}: {calls}")


GROUPS = (
    ("sqlalchemy", "SQLAlchemy"),
    ("aiosqlite", "aiosqlite + sqlite3"),
    ("sqlite3", "aiosqlite + sqlite3"),
    ("asyncpg", "asyncpg"),
    ("telegram", "python-telegram-bot"),
    ("httpx", "httpx + httpcore + h11"),
    ("httpcore", "httpx + httpcore + h11"),
    ("h11", "httpx + httpcore + h11"),
    ("anyio", "anyio"),
    ("apscheduler", "APScheduler"),
    ("babel", "Babel"),
    ("asyncio", "asyncio"),
    ("json", "json"),
    ("/bot/", "branchbot (bot, handlers, models, views, scheduler)"),
    ("/handlers/", "branchbot (bot, handlers, models, views, scheduler)"),
    ("/models/", "branchbot (bot, handlers, models, views, scheduler)"),
    ("/views/", "branchbot (bot, handlers, models, views, scheduler)"),
    ("/scheduler/", "branchbot (bot, handlers, models, views, scheduler)"),
)


def print_profile(path: str, result: Result, threads: list[float]) -> None:
    mix = result.mix
    print(
        f"\n{result.name}: {mix.updates} updates, {mix.rate:.1f}/s, {mix.cpu_ms:.1f} ms CPU "
        f"per update, of which the event loop's thread {1000 * threads[0] / mix.updates:.1f} "
        f"ms and the other threads (the database driver's) "
        f"{1000 * (threads[1] - threads[0]) / mix.updates:.1f} ms"
    )
    stats = pstats.Stats(path)
    groups: dict[str, float] = defaultdict(float)
    idle = 0.0
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if filename == "~" and "poll' of 'select.epoll" in name:
            idle += row[2]  # the loop waiting for something to do: not CPU
            continue
        where = filename if filename != "~" else name
        group = next((label for needle, label in GROUPS if needle in where), "other")
        if group == "other" and filename == "~":
            group = "built-ins (C functions: sockets, queues, isinstance, …)"
        groups[group] += row[2]
    total = sum(groups.values())
    print(
        "\nthe event loop's thread under cProfile, over the flood: own time by package "
        f"(the profiler's clock is the wall's: {idle:.1f} s waiting in epoll left out)"
    )
    for label, seconds in sorted(groups.items(), key=lambda item: -item[1]):
        print(f"  {label:<55} {seconds:7.2f} s {100 * seconds / total:5.1f}%")
    print("\ntop functions by own time")
    stats.sort_stats("tottime").print_stats(25)


def print_versions() -> None:
    print(
        f"Python {platform.python_version()}, python-telegram-bot {telegram.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f} at the start"
    )


async def run_memory(args: argparse.Namespace) -> int:
    print(
        f"bench_updates --memory: {args.updates:,} updates of the mix from {args.users} members, "
        f"branchbot on SQLite with 8 lanes, no round trip; RSS every {MEMORY_EVERY:,}"
    )
    print_versions()
    echo = Result("PTB echo, concurrent_updates", "echo", side_by_side=True)
    branchbot = Result(
        "branchbot, SQLite, 8 lanes", "branchbot", side_by_side=True, database="SQLite"
    )
    series: list[tuple[str, float, Part | None]] = []
    status = 0
    try:
        await run_row(echo, args, [])
        chunks = [("mix", MEMORY_EVERY)] * (args.updates // MEMORY_EVERY)
        if args.updates % MEMORY_EVERY:
            chunks.append(("mix", args.updates % MEMORY_EVERY))
        await run_row(branchbot, args, chunks, series)
    except Exception as exc:
        print(f"failed: {type(exc).__name__}: {exc}")
        status = 1
    print(f"\n{'':<32} {'RSS MB':>8} {'upd/s':>7} {'CPU ms/upd':>10}")
    print(f"{'echo bot, idle once started':<32} {echo.idle_rss_mb:>8.1f}")
    for label, rss, part in series:
        figures = f" {part.rate:>7.1f} {part.cpu_ms:>10.2f}" if part else ""
        print(f"{'branchbot, ' + label:<32} {rss:>8.1f}{figures}")
    print_warnings([echo, branchbot])
    return status


async def main(args: argparse.Namespace) -> int:
    if args.memory:
        return await run_memory(args)
    parts = [(name, args.updates) for name in args.parts]
    databases = ["SQLite"]
    if os.environ.get(POSTGRES_ENV):
        databases.append("PostgreSQL")
    names = ", ".join(PART_NAMES[p] for p in args.parts)
    print(
        f"bench_updates: {args.updates} updates per part ({names}) from {args.users} members, "
        "each one update at a time"
    )
    print_versions()
    if len(databases) == 1:
        print(f"(PostgreSQL rows skipped: {POSTGRES_ENV} is not set)")
    rows: list[Result] = []
    for round_trip in args.round_trips:
        for side_by_side, how in ((False, "one at a time"), (True, "concurrent_updates")):
            rows.append(Result(f"PTB echo, {how}", "echo", round_trip, side_by_side))
        for db in databases:
            for side_by_side, how in ((False, "1 lane"), (True, "8 lanes")):
                name = f"branchbot, {db}, {how}"
                rows.append(Result(name, "branchbot", round_trip, side_by_side, db))
    if args.only:
        rows = [r for r in rows if any(text in r.name for text in args.only.split("|"))]
    results = [await measure(row, args, parts) for row in rows]
    print_table(results, args.parts, args.steps)
    if args.profile:
        row = Result(
            "branchbot, SQLite, 8 lanes (cProfile)", "branchbot", 0.0, True, "SQLite", True
        )
        await measure(row, args, parts)
        if row.error:
            print(f"the profiled row failed: {row.error}")
    return 1 if any(r.error for r in results) else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--updates", type=int, default=None, help="updates per part (default 300; --memory 10000)"
    )
    parser.add_argument(
        "--users", type=int, default=None, help="scripted members (default 20; --memory 100)"
    )
    parser.add_argument(
        "--round-trips",
        type=lambda text: [float(ms) / 1000 for ms in text.split(",")],
        default=[0.0, 0.05],
        help="emulated Bot API round trips in ms, comma-separated (default 0,50)",
    )
    parser.add_argument(
        "--parts",
        type=lambda text: text.split(","),
        default=["read", "write"],
        help="parts of the mix, comma-separated: read, write (default both)",
    )
    parser.add_argument(
        "--only", default="", help="only the rows whose name has one of these, separated by |"
    )
    parser.add_argument("--steps", action="store_true", help="also each step's median latency")
    parser.add_argument(
        "--sql-log", default="", help="write every statement branchbot runs to this file"
    )
    parser.add_argument("--profile", action="store_true", help="a row under cProfile, at the end")
    parser.add_argument(
        "--memory", action="store_true", help="RSS over 10,000 updates (SQLite, 8 lanes)"
    )
    args = parser.parse_args()
    if args.updates is None:
        args.updates = 10_000 if args.memory else 300
    if args.users is None:
        args.users = 100 if args.memory else 20
    if min(args.updates, args.users) < 1:
        parser.error("--updates and --users must be at least 1")
    if not set(args.parts) <= {"read", "write"}:
        parser.error("--parts takes read and write")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))

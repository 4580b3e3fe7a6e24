"""End-to-end harness: the real Application talking HTTP to the Bot API emulator.

`emulator` fails the test if the bot sent any request the real Bot API would
reject. `bot` runs the whole bot (database migrated by Alembic, polling) on each
database backend; `bot_in_each_mode` adds the webhook mode.
"""

from __future__ import annotations

import secrets
import socket
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import BotRuntime
from bot.config import (
    BotConfig,
    CheckInConfig,
    Config,
    DatabaseConfig,
    SchedulerConfig,
    TelegramConfig,
    WebhookConfig,
)
from models.activities import Activity, ActivityDraft, create_activity
from models.org import OrgUnit, import_org, invite_payload, unit_by_code
from models.permissions import grant_role
from sandbox import Emulator
from sandbox.person import Person
from scheduler.clock import ManualClock
from tests.conftest import Database

# A fixed, ordinary moment: a Tuesday morning in Zhanjiang (09:30), outside quiet hours.
START_TIME = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)
# Thursday 12 March 2026, 09:00 in Zhanjiang: two days after START_TIME.
THURSDAY_9AM = datetime(2026, 3, 12, 1, 0, tzinfo=UTC)
# The digest comes in the evening in tests, so that it stays out of the other tests' way.
TEST_DIGEST_HOUR = 20
TEST_CHECK_IN_SECRET = "e2e-check-in-secret-0123456789"


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
        scheduler=SchedulerConfig(digest_hour=TEST_DIGEST_HOUR),
        checkin=CheckInConfig(secret=TEST_CHECK_IN_SECRET),
        # One lane: a test's people act one after another, and a step may follow another
        # chat's (a member blocks the bot, then the secretary looks), an order that lanes
        # do not keep between chats. Lanes are tested in tests/test_lanes.py and, with
        # several, where a test sets them (bot.lanes).
        bot=BotConfig(lanes=1),
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


ORG_FILE = Path(__file__).resolve().parents[2] / "examples" / "org.example.toml"


async def seed_org(database: Database) -> dict[str, int]:
    """The example organisation (the seed's development zone); unit code → id."""
    async with database.sessions.begin() as session:
        await import_org(session, tomllib.loads(ORG_FILE.read_text(encoding="utf-8")))
        return {
            code: unit_id
            for unit_id, code in await session.execute(select(OrgUnit.id, OrgUnit.code))
        }


async def grant(database: Database, person: Person, role: str, unit_code: str | None) -> None:
    async with database.sessions.begin() as session:
        unit_id = (await unit_by_code(session, unit_code)).id if unit_code else None
        await grant_role(session, person.id, role, unit_id, None)


async def invite_payload_of(database: Database, unit_code: str) -> str:
    async with database.sessions() as session:
        return invite_payload(await unit_by_code(session, unit_code))


async def onboard(
    person: Person,
    name: str,
    member_type: str,
    home_branch: str | None = None,
    workplace: str | None = None,
    payload: str | None = None,
) -> None:
    """A member goes through /start to the end of the profile, answering every question."""
    await person.send(f"/start {payload}" if payload else "/start")
    await person.next_message()  # welcome
    consent = await person.next_message()
    assert consent.buttons, person.transcript()
    await person.press(consent.buttons[0][0])  # agree
    await person.next_event()  # the consent message becomes "thank you"
    await person.next_message()  # name?
    await person.send(name)
    await person.next_message()  # phone?
    await person.tap(person.reply_keyboard[0][0])
    await person.next_message()  # phone saved
    await person.next_message()  # type?
    await person.press(member_type)
    await person.next_event()  # type chosen
    if home_branch is not None:
        await person.next_message()  # home branch?
        await person.send(home_branch)
    await person.next_message()  # workplace?
    if workplace is None:
        await person.press(person.chat.ordered()[-1].buttons[0][0])  # skip
        await person.next_event()
    else:
        await person.send(workplace)
    await person.next_message()  # profile saved


async def meet(person: Person) -> None:
    """The person has talked to the bot before (so it knows their language)."""
    await person.send("/help")
    await person.next_message()


async def enrol(bot: RunningBot, person: Person, name: str, unit_code: str) -> None:
    """A member managed by the unit, set up directly in the database (not what's tested)."""
    from models.members import (
        MemberType,
        approve_report,
        give_consent,
        report,
        set_member_type,
        set_phone,
        set_real_name,
        start_profile,
    )

    now = bot.clock.now()
    async with bot.database.sessions.begin() as session:
        member = await start_profile(session, person.id, now)
        await give_consent(session, member, now)
        set_real_name(member, name)
        set_phone(member, f"+86138{person.id:08d}")
        set_member_type(member, MemberType.regular)
        unit = await unit_by_code(session, unit_code)
        membership = await report(session, member, unit, now=now)
        grant_holder = 1  # an admin id for the approval
        await grant_role(session, grant_holder, "admin", None, None)
        await approve_report(session, membership.id, grant_holder, now)
    await meet(person)


async def new_activity(
    bot: RunningBot,
    creator: Person,
    title: str,
    starts_at: datetime | None = None,
    hours: float = 2,
    unit_code: str = "wanda-plaza",
    **fields: Any,
) -> Activity:
    starts_at = starts_at or THURSDAY_9AM
    fields.setdefault("kind", "volunteer")
    draft = ActivityDraft(
        title=title, starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), **fields
    )
    async with bot.database.sessions.begin() as session:
        unit = await unit_by_code(session, unit_code)
        return await create_activity(session, creator.id, unit.id, draft, bot.clock.now())


@pytest.fixture
async def org(bot: RunningBot) -> dict[str, int]:
    """The example organisation, seeded: unit code → id."""
    return await seed_org(bot.database)


@pytest.fixture
async def secretary(bot: RunningBot, org: dict[str, int]) -> Person:
    """The secretary of the Wanda Plaza branch, who has talked to the bot (zh)."""
    person = bot.emulator.user("李书记", language_code="zh")
    await grant(bot.database, person, "secretary", "wanda-plaza")
    await meet(person)
    return person

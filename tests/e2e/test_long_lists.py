"""Lists longer than one message, end to end: 500 members with the longest names the profile
allows, in a branch with the longest name a unit may have, and every list a secretary or a
member can ask for, read page by page to the end.

Each list shows everyone exactly once across its pages, says how many there are in all and
which page this is, and keeps to Telegram's limits: the emulator records any request Telegram
would reject, and each text is also counted here in UTF-16, as Telegram counts it (a letter
outside the BMP counts twice). A page number out of range, forged or left on an old button,
shows the nearest page.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import events, manage
from handlers.manage import LEAVE_PAGE, PEOPLE_PAGE
from handlers.record import ENTRIES_PAGE
from handlers.reporting import PENDING_PAGE
from handlers.roster import ROLL_PAGE, TRAIL_PAGE
from handlers.staff import ROSTER_PAGE, UNREACHABLE_PAGE
from models import outbox
from models.activities import TITLE_MAX, sign_up
from models.attendance import correct_attendance, request_leave
from models.attendance.answers import LEAVE_REASON_MAX
from models.attendance.reminders import ANNOUNCE_AHEAD
from models.members import (
    Member,
    Membership,
    MembershipKind,
    MembershipStatus,
    MemberType,
    Via,
    set_member_type,
    set_phone,
    set_real_name,
)
from models.members.tables import NAME_MAX
from models.org import NAME_MAX as UNIT_NAME_MAX
from models.org import import_org, unit_by_code, unit_display_name
from models.permissions import Permission
from models.staff import managed_units, reporting_points
from sandbox.formatting import utf16_len
from sandbox.person import Person
from sandbox.state import ChatMessage
from tests.e2e.conftest import (
    THURSDAY_9AM,
    RunningBot,
    enrol,
    grant,
    meet,
    new_activity,
    seed_org,
)
from tests.e2e.texts import said, said_page, t
from views.buttons import CHOICES_PAGE, short

CROWD = 500
APPROVER = 1  # who approved the crowd's reports
TEXT_MAX = 4096  # Telegram's limit on a message's text, in UTF-16 units
BUTTONS_MAX = 100

# The longest names there may be, in three scripts: Chinese outside the BMP (two UTF-16
# units a letter), Chinese inside it, and Latin with the punctuation names may hold.
ASTRAL = [chr(0x20000 + k) for k in range(26)]
CHINESE = [chr(0x4E00 + k) for k in range(26)]
LATIN = list("abcdefghijklmnopqrstuvwxyz")
LATIN_START = "Ó Súilleabháin-O'Brien · Zoë Æthelflæd "
EMOJI = "😀"  # outside the BMP; allowed in titles and reasons, not in names
# Activities start after the scheduler would announce them, so that the tests' hundreds of
# people are sent nothing meanwhile (which would take the sender minutes).
UNANNOUNCED = THURSDAY_9AM + ANNOUNCE_AHEAD + timedelta(days=1)
PAGE_NUMBER = re.compile(r"^[0-9]+/[0-9]+$")


def _code(number: int, alphabet: list[str]) -> str:
    """Three letters of `alphabet` that tell the number (below 26³)."""
    return "".join(alphabet[number // 26**power % 26] for power in (2, 1, 0))


def longest_name(number: int) -> str:
    """A name of NAME_MAX letters, different for each number."""
    script = number % 3
    if script == 0:
        return ASTRAL[7] * (NAME_MAX - 3) + _code(number, ASTRAL)
    if script == 1:
        return "王" * (NAME_MAX - 3) + _code(number, CHINESE)
    return LATIN_START.ljust(NAME_MAX - 3, "x") + _code(number, LATIN)


def longest_unit(prefix: str) -> dict[str, str]:
    """A unit's names of UNIT_NAME_MAX characters, told apart at the start (as buttons show)."""
    return {
        "zh": prefix + ASTRAL[3] * (UNIT_NAME_MAX - len(prefix)),
        "en": (prefix + "Branch of a Very Long Name ").ljust(UNIT_NAME_MAX, "e"),
    }


LONGEST = longest_unit("")


async def import_branches(bot: RunningBot, parent: str, codes: dict[str, dict[str, str]]) -> None:
    """Branches under `parent`, by code, with their names by language."""
    tables = [
        {"code": code, "kind": "branch", "parent": parent, "name_zh": n["zh"], "name_en": n["en"]}
        for code, n in codes.items()
    ]
    async with bot.database.sessions.begin() as session:
        await import_org(session, {"unit": tables})


async def longest_branch(bot: RunningBot) -> None:
    """The example organisation, and in it a branch with the longest names a unit may have."""
    await seed_org(bot.database)
    await import_branches(bot, "zhanjiang-edz", {"longest": LONGEST})


async def crowd(bot: RunningBot, approved: bool = True) -> list[str]:
    """CROWD people (each with a chat, so that whatever the bot tells them can arrive) who
    reported to the branch "longest", approved unless `approved` is False; their names.

    The names are set by the profile's own rules (set_real_name); the rows are written at
    once, as the domain tests do for many members: report and approve_report one by one
    would take seconds."""
    names = [longest_name(n) for n in range(CROWD)]
    people = [bot.emulator.user(f"p{n}") for n in range(CROWD)]
    now = bot.clock.now()
    async with bot.database.sessions.begin() as session:
        unit = await unit_by_code(session, "longest")
        for number, (person, name) in enumerate(zip(people, names, strict=True)):
            member = Member(telegram_id=person.id, consent_at=now, created_at=now, updated_at=now)
            set_real_name(member, name)
            set_phone(member, f"+8613{number:010d}")  # 15 digits, the most there may be
            set_member_type(member, MemberType.regular)
            status = MembershipStatus.active if approved else MembershipStatus.pending
            decided = {"decided_at": now, "decided_by": APPROVER} if approved else {}
            membership = Membership(
                member=member,
                unit=unit,
                kind=MembershipKind.primary,
                status=status,
                via=Via.tree,
                requested_at=now,
                **decided,
            )
            session.add_all([member, membership])
    return names


async def secretary_of_longest(bot: RunningBot, language: str) -> Person:
    person = bot.emulator.user("Sec", language_code=language)
    await grant(bot.database, person, "secretary", "longest")
    await meet(person)
    return person


# --- reading a list page by page --------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A page as it was read: its message is edited into the next page when that is asked."""

    text: str
    buttons: list[list[str]]

    def labels(self) -> list[str]:
        """Its buttons' labels, but ‹, › and the page number."""
        return [
            label
            for row in self.buttons
            for label in row
            if label not in ("‹", "›") and not PAGE_NUMBER.match(label)
        ]


def within_limits(message: ChatMessage) -> Shown:
    shown = Shown(message.text, message.buttons)
    assert utf16_len(shown.text) <= TEXT_MAX, f"{utf16_len(shown.text)} UTF-16 units"
    assert sum(len(row) for row in shown.buttons) <= BUTTONS_MAX
    return shown


async def edited(person: Person, message: ChatMessage) -> Shown:
    """The message once the bot edited it (messages that arrive meanwhile are skipped)."""
    return within_limits(await person.next_edit(message))


async def turned(person: Person, message: ChatMessage, label: str) -> Shown:
    await person.press(label, message=message)
    return await edited(person, message)


async def forged(person: Person, message: ChatMessage, data: str) -> Shown:
    """The list after a press of one of its page buttons whose page number was changed."""
    person.press_forged(message, data)
    return await edited(person, message)


async def every_page(person: Person, message: ChatMessage) -> list[Shown]:
    """The list from its first page (`message`) to its last, turned with ›; each page's row
    of page buttons says which page it is."""
    pages = [within_limits(message)]
    while message.button("›"):
        pages.append(await turned(person, message, "›"))
    count = len(pages)
    if count > 1:
        for number, page in enumerate(pages, 1):
            assert any(f"{number}/{count}" in row for row in page.buttons), page.buttons
    return pages


def titled(pages: list[Shown], title: Callable[[int, int], str]) -> None:
    """Each page starts with the list's title (with the total), and which page it is."""
    for number, page in enumerate(pages, 1):
        assert page.text.startswith(title(number, len(pages))), page.text[:300]


def each_once(names: list[str], pages: list[Shown]) -> None:
    everything = "\n".join(page.text for page in pages)
    wrong = {name: everything.count(name) for name in names if everything.count(name) != 1}
    assert not wrong, f"{len(wrong)} not shown exactly once, e.g. {next(iter(wrong.items()))}"


async def reply(person: Person, command: str) -> ChatMessage:
    await person.send(command)
    return await person.next_message()


# --- the roster, /unreachable ---------------------------------------------------------------


async def test_the_roster_shows_all_500(bot: RunningBot) -> None:
    await longest_branch(bot)
    secretary = await secretary_of_longest(bot, "zh")
    names = await crowd(bot)
    everyone = t("zh", "staff.filter.all")

    def roster_title(page: int, pages: int) -> str:
        values = {"unit": LONGEST["zh"], "filter": everyone, "total": CROWD}
        return said_page("zh", "staff.roster_title", page, pages, **values)

    listing = await reply(secretary, "/roster")
    pages = await every_page(secretary, listing)
    assert len(pages) == math.ceil(CROWD / ROSTER_PAGE)
    titled(pages, roster_title)
    each_once(names, pages)

    # A page number too high or too low (a forged button) gives the nearest page there is.
    back = listing.button("‹")
    assert back is not None
    unit_id = back["callback_data"].split(":")[2]  # ros:p:<unit>:<filter>:<page>
    assert await forged(secretary, listing, f"ros:p:{unit_id}:0:0") == pages[0]
    assert await forged(secretary, listing, f"ros:p:{unit_id}:0:9999") == pages[-1]
    # The page number between ‹ and › does nothing.
    await secretary.press(f"{len(pages)}/{len(pages)}", message=listing)
    answer = await secretary.answer_of_last_press()
    assert answer.answer is not None and not answer.answer.get("show_alert")
    assert answer.text is None


async def test_the_unreachable_show_all_500(bot: RunningBot) -> None:
    await longest_branch(bot)
    secretary = await secretary_of_longest(bot, "zh")
    names = await crowd(bot)
    async with bot.database.sessions.begin() as session:
        crowd_ids = list(await session.scalars(select(Member.telegram_id).order_by(Member.id)))
        for telegram_id in crowd_ids:
            await outbox.mark_unreachable(session, telegram_id, bot.clock.now(), "blocked")

    listing = await reply(secretary, "/unreachable")
    pages = await every_page(secretary, listing)
    count = len(pages)
    assert count == math.ceil(CROWD / UNREACHABLE_PAGE)
    titled(pages, lambda page, n: said_page("zh", "staff.unreachable_title", page, n, count=CROWD))
    each_once(names, pages)

    # A page's worth can be reached again while the list is on its last page but one: its ›
    # (to the last page) shows the last page there is now.
    await turned(secretary, listing, "‹")
    async with bot.database.sessions.begin() as session:
        for telegram_id in crowd_ids[:UNREACHABLE_PAGE]:
            await outbox.mark_reachable(session, telegram_id)
    last = await turned(secretary, listing, "›")
    shorter = CROWD - UNREACHABLE_PAGE
    title = said_page("zh", "staff.unreachable_title", count - 1, count - 1, count=shorter)
    assert last.text.startswith(title)
    assert last.buttons[-1] == ["‹", f"{count - 1}/{count - 1}"]


# --- an activity's people: sign-ups and waitlist, leave requests, no answer -------------------

TITLE = "A" + EMOJI * (TITLE_MAX - 1)  # the activity's, in the first line of its lists


async def activity_of_500(bot: RunningBot, **fields: Any) -> tuple[Person, list[str], int]:
    """A branch of 500, its secretary, and an activity of theirs (its id)."""
    await longest_branch(bot)
    secretary = await secretary_of_longest(bot, "en")
    names = await crowd(bot)
    activity = await new_activity(bot, secretary, TITLE, UNANNOUNCED, unit_code="longest", **fields)
    return secretary, names, activity.id


async def each_member(bot: RunningBot) -> AsyncIterator[tuple[AsyncSession, Member]]:
    """Every member, in one transaction."""
    async with bot.database.sessions.begin() as session:
        for member in await session.scalars(select(Member).order_by(Member.id)):
            yield session, member


async def read_people(secretary: Person, list_key: str, count: int) -> list[Shown]:
    """The activity's list `list_key`, from /activities, to its last page, and back."""
    activities = await reply(secretary, "/activities")
    assert activities.text.startswith(said("en", "manage.list_title", total=1))
    await turned(secretary, activities, activities.buttons[0][0])  # the activity
    await turned(secretary, activities, t("en", list_key))
    pages = await every_page(secretary, activities)
    values = {"list": t("en", list_key), "title": TITLE, "count": count}
    titled(pages, lambda page, n: said_page("en", "manage.people_title", page, n, **values))
    detail = await turned(secretary, activities, t("en", "button.back"))
    assert detail.text.startswith(TITLE)
    return pages


async def test_the_sign_ups_and_the_waitlist_show_all_500(bot: RunningBot) -> None:
    secretary, names, activity = await activity_of_500(bot, capacity=CROWD // 2)
    async for session, member in each_member(bot):
        await sign_up(session, activity, member, bot.clock.now())

    signed_up = await read_people(secretary, "manage.list.signed_up", CROWD // 2)
    waitlist = await read_people(secretary, "manage.list.waitlist", CROWD // 2)
    assert len(signed_up) == len(waitlist) == math.ceil(CROWD / 2 / PEOPLE_PAGE)
    each_once(names, signed_up + waitlist)


async def test_the_leave_requests_show_all_500(bot: RunningBot) -> None:
    secretary, names, meeting = await activity_of_500(bot, kind="general_meeting")
    reason = EMOJI * LEAVE_REASON_MAX
    async for session, member in each_member(bot):
        await request_leave(session, meeting, member, reason, bot.clock.now())

    pages = await read_people(secretary, "manage.list.leave", CROWD)
    assert len(pages) == math.ceil(CROWD / LEAVE_PAGE)
    each_once(names, pages)
    for page in pages:  # each request with its reason, its Approve and Decline; and Back
        assert page.text.count(reason) * 2 == len(page.labels()) - 1


async def test_who_has_not_answered_shows_all_500(bot: RunningBot) -> None:
    secretary, names, _ = await activity_of_500(bot, kind="lecture")
    pages = await read_people(secretary, "manage.list.no_answer", CROWD)
    assert len(pages) == math.ceil(CROWD / PEOPLE_PAGE)
    each_once(names, pages)


async def test_an_activitys_roster_and_its_trail_show_all_500(bot: RunningBot) -> None:
    """Each member corrected by a secretary of the longest name, with the longest reason;
    one of them three times, after asking for leave with the longest reason: their card
    holds all of that."""
    secretary, names, meeting = await activity_of_500(bot, kind="general_meeting")
    reason = EMOJI * LEAVE_REASON_MAX
    members = [member async for _, member in each_member(bot)]
    chief, busy = members[0], members[1]
    assert chief.telegram_id is not None
    async with bot.database.sessions.begin() as session:
        await grant_role_to(session, chief.telegram_id)
        await request_leave(session, meeting, busy, reason, bot.clock.now())
    bot.clock.set(UNANNOUNCED + timedelta(minutes=10))  # under way
    async with bot.database.sessions.begin() as session:
        now, by = bot.clock.now(), chief.telegram_id
        for member in members[1:]:
            await correct_attendance(session, meeting, member.id, by, "present", reason, now)
        for correction in ("absent", "excused"):
            await correct_attendance(session, meeting, busy.id, by, correction, reason, now)

    activities = await reply(secretary, "/activities")
    await turned(secretary, activities, activities.buttons[0][0])  # the activity
    await turned(secretary, activities, t("en", "roll.open"))
    roster = await every_page(secretary, activities)
    assert len(roster) == math.ceil(CROWD / ROLL_PAGE)
    titled(roster, lambda page, n: said_page("en", "roll.title", page, n, title=TITLE, count=CROWD))
    each_once(names, roster)
    assert sum(len(page.labels()) for page in roster) == CROWD + len(roster)  # and Back

    # The busy member's card: their leave, and their three changes.
    card = await forged(secretary, activities, f"att:m:{meeting}:{busy.id}")  # its button
    assert card.text.count(reason) == 4  # the leave, and three changes
    assert said("en", "roll.card_changes", count=3) in card.text

    await turned(secretary, activities, t("en", "roll.back"))
    await turned(secretary, activities, t("en", "button.back"))
    await turned(secretary, activities, t("en", "roll.trail"))
    trail = await every_page(secretary, activities)
    changes = CROWD - 1 + 2
    assert len(trail) == math.ceil(changes / TRAIL_PAGE)
    values = {"title": TITLE, "count": changes}
    titled(trail, lambda page, n: said_page("en", "roll.trail_title", page, n, **values))
    everything = "\n".join(page.text for page in trail)
    assert everything.count(names[0]) == changes  # who made each change
    assert everything.count(names[1]) == 3
    each_once(names[2:], trail)


async def grant_role_to(session: AsyncSession, telegram_id: int) -> None:
    from models.permissions import Role, grant_role

    unit = await unit_by_code(session, "longest")
    await grant_role(session, telegram_id, Role.secretary, unit.id, None)


# --- reports waiting for approval ---------------------------------------------------------------


async def test_the_pending_reports_show_all_500(bot: RunningBot) -> None:
    await longest_branch(bot)
    secretary = await secretary_of_longest(bot, "en")
    names = await crowd(bot, approved=False)

    listing = await reply(secretary, "/pending")
    pages = await every_page(secretary, listing)
    assert len(pages) == math.ceil(CROWD / PENDING_PAGE)  # each with the button of its card
    titled(pages, lambda page, n: said_page("en", "report.pending_title", page, n, count=CROWD))
    each_once(names, pages)
    assert sum(len(page.labels()) for page in pages) == CROWD

    # The last page's first report: its card comes under the list, and is decided there.
    first_of_last = pages[-1].labels()[0]
    assert first_of_last.startswith(f"{(len(pages) - 1) * PENDING_PAGE + 1}. ")
    await secretary.press(first_of_last, message=listing)
    card = await secretary.next_message()
    assert pages[-1].text.split("\n")[1].startswith(f"{first_of_last.split()[0]} ")
    await secretary.press(t("en", "report.approve_button"), message=card)
    assert said("en", "report.card_approved") in (await edited(secretary, card)).text
    back = await turned(secretary, listing, "‹")  # the list, one shorter
    title = said_page("en", "report.pending_title", len(pages) - 1, len(pages), count=CROWD - 1)
    assert back.text.startswith(title)


# --- activities: /events, /activities, /record ---------------------------------------------


async def test_lists_of_activities_show_every_one(bot: RunningBot) -> None:
    await longest_branch(bot)
    secretary = await secretary_of_longest(bot, "zh")
    member = bot.emulator.user("Member", language_code="zh")
    await enrol(bot, member, longest_name(0), "longest")
    titles = [f"{n:02d}" + EMOJI * (TITLE_MAX - 2) for n in range(23)]
    for day, title in enumerate(titles):
        starts = UNANNOUNCED + timedelta(days=day)
        await new_activity(bot, secretary, title, starts, kind="lecture", unit_code="longest")

    coming = await every_page(member, await reply(member, "/events"))
    assert len(coming) == math.ceil(len(titles) / events.PAGE_SIZE)
    titled(coming, lambda page, n: said_page("zh", "events.list_title", page, n, total=23))
    each_once(titles, coming)

    managed = await every_page(secretary, await reply(secretary, "/activities"))
    assert len(managed) == math.ceil(len(titles) / manage.PAGE_SIZE)
    titled(managed, lambda page, n: said_page("zh", "manage.list_title", page, n, total=23))
    each_once(titles, managed)

    bot.clock.advance(ANNOUNCE_AHEAD + timedelta(days=30))  # all past: on the member's record
    record = await every_page(member, await reply(member, "/record"))
    assert len(record) == math.ceil(len(titles) / ENTRIES_PAGE)
    for number, page in enumerate(record, 1):
        entries = said_page("zh", "events.record_entries", number, len(record), total=23)
        assert entries in page.text
    each_once(titles, record)


# --- choosing among many units ------------------------------------------------------------------

MANY = {f"many-{n:02d}": longest_unit(f"{n:02d} ") for n in range(45)}


async def many_branches(bot: RunningBot) -> None:
    """The example organisation and 45 more branches, with the longest names, under one
    committee."""
    await seed_org(bot.database)
    committee = {
        "code": "many",
        "kind": "committee",
        "parent": "zhanjiang-edz",
        "name_zh": "多支部工委",
        "name_en": "Committee of Many Branches",
    }
    async with bot.database.sessions.begin() as session:
        await import_org(session, {"unit": [committee]})
    await import_branches(bot, "many", MANY)


async def test_choices_of_many_units_show_every_one(bot: RunningBot) -> None:
    await many_branches(bot)
    admin = bot.emulator.user("Admin", language_code="en")
    await grant(bot.database, admin, "admin", None)
    await meet(admin)
    async with bot.database.sessions() as session:
        everything = await managed_units(session, admin.id, Permission.view_roster)
        points = await reporting_points(session, admin.id)
    every_unit = sorted(short(unit_display_name(u, "en")) for u in everything)
    every_point = sorted(short(unit_display_name(u, "en")) for u in points)
    assert len(every_unit) > 40  # more than there used to be room for

    for command, expected in [("/roster", every_unit), ("/register", every_unit)]:
        choice = await reply(admin, command)
        assert choice.text == said("en", "staff.choose_unit")
        pages = await every_page(admin, choice)
        assert sorted(label for page in pages for label in page.labels()) == expected
    pages = await every_page(admin, await reply(admin, "/qr"))
    assert sorted(label for page in pages for label in page.labels()) == every_point

    await admin.send("/new")
    await admin.next_message()
    await admin.press(t("en", "activity.kind.lecture"))
    await admin.next_event()
    choice = await admin.next_message()
    assert choice.text == said("en", "new.ask_unit")
    pages = await every_page(admin, choice)
    assert sorted(label for page in pages for label in page.labels()) == every_unit
    await admin.press(short(MANY["many-44"]["en"]), message=choice)  # on the last page
    assert (await admin.next_message()).text == said("en", "new.ask_title")


async def test_reporting_from_a_unit_with_many_branches(bot: RunningBot) -> None:
    await many_branches(bot)
    member = bot.emulator.user("Member", language_code="en")
    await enrol(bot, member, "Member", "huaduhui")
    me = await reply(member, "/me")
    await member.press(t("en", "report.to_branch_button"), message=me)
    first = await edited(member, me)  # the one unit at the top is passed through
    assert first.labels() == [
        "Lehua Street Working Committee",
        "Huanlejia Building Committee",
        "Committee of Many Branches",
    ]
    await turned(member, me, "Committee of Many Branches")
    pages = await every_page(member, me)
    assert len(pages) == math.ceil(len(MANY) / CHOICES_PAGE)
    back = t("en", "button.back")
    labels = [label for page in pages for label in page.labels()]
    assert labels.count(back) == len(pages)  # under each page
    assert sorted(label for label in labels if label != back) == sorted(
        short(names["en"]) for names in MANY.values()
    )
    confirm = await turned(member, me, short(MANY["many-44"]["en"]))  # on the last page
    assert confirm.text == said("en", "report.confirm", unit=MANY["many-44"]["en"], address="—")

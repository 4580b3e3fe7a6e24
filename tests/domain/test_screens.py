"""Check-in and check-out screens: opening (who, when), what needs an edit, closing, the scan."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import Activity, ActivityDraft, cancel_activity, create_activity, sign_up
from models.attendance import (
    CONFIRM_GRACE,
    CheckInNotOpen,
    CheckInScreen,
    ScreenAction,
    ScreenPurpose,
    check_in,
    check_out,
    check_scan,
    close_screen,
    make_token,
    managed_screen,
    mark_refreshed,
    new_code,
    open_screen,
    screen_count,
    screen_shown,
    screens_due,
)
from models.errors import DomainError, PermissionDenied
from models.members import Member
from models.org import OrgUnit
from tests.domain.conftest import NOW
from tests.domain.test_activities_support import (
    CHECK_IN_SECRET,
    END,
    MEETING,
    OTHER_SECRETARY,
    SECRETARY,
    START,
    VOLUNTEER,
    active_member,
    draft,
    grant_staff,
    qr,
)

SECRETARY_CHAT = SECRETARY  # a private chat's id is the person's
QR_SECONDS = 60
IN, OUT = ScreenPurpose.check_in, ScreenPurpose.check_out


@contextmanager
def refused(code: str) -> Iterator[None]:
    """The operation inside is refused with this domain error code."""
    with pytest.raises(DomainError) as caught:
        yield
    assert caught.value.code == code


@pytest.fixture(autouse=True)
async def staff(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    await grant_staff(session, units)


@pytest.fixture
async def members(session: AsyncSession, units: dict[str, OrgUnit]) -> list[Member]:
    return [
        await active_member(session, units["wanda-plaza"], 100 + i, f"成员{i}") for i in range(3)
    ]


async def _activity(
    session: AsyncSession,
    units: dict[str, OrgUnit],
    base: ActivityDraft = VOLUNTEER,
    **changes: Any,
) -> Activity:
    chosen = draft(base, **changes)
    return await create_activity(session, SECRETARY, units["wanda-plaza"].id, chosen, NOW)


async def _open(
    session: AsyncSession,
    activity: Activity,
    now: datetime,
    purpose: ScreenPurpose = IN,
    by: int = SECRETARY,
) -> CheckInScreen:
    opened = await open_screen(
        session, by, activity.id, purpose, by, now, CHECK_IN_SECRET, QR_SECONDS
    )
    return opened.screen


async def _screen_rows(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(CheckInScreen)) or 0


# --- opening --------------------------------------------------------------------------------


async def test_a_manager_opens_a_screen_in_the_window(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _activity(session, units, MEETING)
    now = START - timedelta(minutes=10, microseconds=123)
    opened = await open_screen(
        session, SECRETARY, meeting.id, IN, SECRETARY_CHAT, now, CHECK_IN_SECRET, QR_SECONDS
    )
    screen = opened.screen
    assert (opened.count, opened.of) == (0, 3)  # none checked in, three expected
    assert screen.message_id is None and screen.closed_at is None
    expires = (now + timedelta(seconds=QR_SECONDS)).replace(microsecond=0)
    assert opened.token.expires_at == screen.token_expires_at == expires
    assert screen.refresh_due_at == expires - timedelta(seconds=QR_SECONDS / 2)
    assert screen.closes_at == meeting.ends_at
    assert opened.token == make_token(CHECK_IN_SECRET, meeting.id, IN, screen.token_expires_at)
    assert opened.token.payload.startswith(f"qi_{meeting.id}_")
    assert opened.replaced == []


async def test_only_managers_of_the_activity_open_or_close_screens(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _activity(session, units, MEETING)
    for someone in (OTHER_SECRETARY, members[0].telegram_id):
        with pytest.raises(PermissionDenied):
            await _open(session, meeting, START, by=someone)
    assert await _screen_rows(session) == 0
    screen = await _open(session, meeting, START)
    with pytest.raises(PermissionDenied):
        await close_screen(session, screen.id, START, by=OTHER_SECRETARY)
    with pytest.raises(PermissionDenied):
        await managed_screen(session, OTHER_SECRETARY, screen.id)
    assert screen.closed_at is None
    closed = await close_screen(session, screen.id, START, by=SECRETARY)
    assert closed.closed_at == START
    again = await close_screen(session, screen.id, START + timedelta(minutes=1))
    assert again.closed_at == START  # the bot closing it again changes nothing
    with refused("screen.closed"):
        await managed_screen(session, SECRETARY, screen.id)
    with refused("screen.closed"):  # a second press of Close
        await close_screen(session, screen.id, START, by=SECRETARY)


async def test_the_windows_of_the_two_screens(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    service = await _activity(session, units, check_out_required=True)
    opens = service.check_in_opens_at
    for purpose in (IN, OUT):
        with pytest.raises(CheckInNotOpen) as not_open:
            await _open(session, service, opens - timedelta(seconds=1), purpose)
        assert not_open.value.opens_at == opens
    assert (await _open(session, service, opens)).closes_at == END
    check_out_screen = await _open(session, service, END + timedelta(minutes=59), OUT)
    assert check_out_screen.closes_at == END + timedelta(hours=1)
    with refused("checkin.closed"):
        await _open(session, service, END + timedelta(seconds=1))
    with refused("screen.check_out_over"):
        await _open(session, service, END + timedelta(hours=1, seconds=1), OUT)

    plain = await _activity(session, units, title="没有签退")
    with refused("screen.no_check_out"):
        await _open(session, plain, START, OUT)
    no_qr = await _activity(session, units, title="不扫码", check_in_by_qr=False)
    with refused("screen.qr_off"):
        await _open(session, no_qr, START)
    await cancel_activity(session, service.id, SECRETARY, NOW)
    with refused("activity.cancelled"):
        await _open(session, service, START, OUT)


async def test_opening_again_in_the_same_chat_replaces_the_screen(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    meeting = await _activity(session, units, MEETING)
    first = await _open(session, meeting, START)
    elsewhere = await open_screen(
        session, SECRETARY, meeting.id, IN, -100123, START, CHECK_IN_SECRET, QR_SECONDS
    )
    later = START + timedelta(minutes=5)
    second = await open_screen(
        session, SECRETARY, meeting.id, IN, SECRETARY_CHAT, later, CHECK_IN_SECRET, QR_SECONDS
    )
    assert [s.id for s in second.replaced] == [first.id]
    assert first.closed_at == later
    assert elsewhere.screen.closed_at is None  # another chat keeps its own


# --- keeping it fresh -------------------------------------------------------------------------


async def test_what_each_screen_needs_and_when(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _activity(session, units, MEETING)
    screen = await _open(session, meeting, START)
    assert await screens_due(session, START + timedelta(hours=1)) == []  # no photo yet
    await screen_shown(session, screen.id, 77)
    assert screen.message_id == 77
    assert await screens_due(session, START) == []  # nothing changed

    await check_in(session, meeting.id, members[0], "qr", START, token=qr(meeting.id, START))
    (due,) = await screens_due(session, START)
    assert (due.screen.id, due.action, due.count, due.of) == (screen.id, ScreenAction.recount, 1, 3)
    await mark_refreshed(session, screen.id, due.count)
    assert screen.count_shown == 1
    assert screen.token_expires_at == START + timedelta(seconds=60)  # the same code
    assert await screens_due(session, START) == []

    half = START + timedelta(seconds=QR_SECONDS / 2)
    (due,) = await screens_due(session, half)
    assert due.action is ScreenAction.refresh
    code = new_code(CHECK_IN_SECRET, meeting.id, IN, half, QR_SECONDS)
    await mark_refreshed(session, screen.id, due.count, code)
    assert screen.token_expires_at == half + timedelta(seconds=QR_SECONDS)
    assert screen.refresh_due_at == half + timedelta(seconds=QR_SECONDS / 2)
    assert make_token(CHECK_IN_SECRET, meeting.id, IN, screen.token_expires_at) == code.token
    assert await screens_due(session, half + timedelta(seconds=29)) == []

    (due,) = await screens_due(session, meeting.ends_at)
    assert due.action is ScreenAction.close
    await close_screen(session, screen.id, meeting.ends_at)
    assert await screens_due(session, meeting.ends_at) == []


async def test_screens_of_a_cancelled_activity_close_even_unshown(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    service = await _activity(session, units, check_out_required=True)
    shown = await _open(session, service, START)
    await screen_shown(session, shown.id, 5)
    unshown = await _open(session, service, START, OUT)
    await cancel_activity(session, service.id, SECRETARY, NOW)
    due = await screens_due(session, START)
    assert [(d.screen.id, d.action) for d in due] == [
        (shown.id, ScreenAction.close),
        (unshown.id, ScreenAction.close),
    ]


async def test_the_count_of_a_check_out_screen(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    service = await _activity(session, units, check_out_required=True, capacity=10)
    for member in members:
        await sign_up(session, service.id, member, NOW)
    assert await screen_count(session, service, OUT) == (0, 0)
    for member in members[:2]:
        await check_in(session, service.id, member, "qr", START, token=qr(service.id, START))
    await check_out(session, service.id, members[0], START + timedelta(hours=1))
    assert await screen_count(session, service, OUT) == (1, 2)  # out of those checked in
    assert await screen_count(session, service, IN) == (2, 3)  # of those holding a seat


# --- the scan ---------------------------------------------------------------------------------


async def test_a_scanned_code_is_checked_strictly_before_the_confirmation(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _activity(session, units, MEETING)
    token = qr(meeting.id, START)
    assert (await check_scan(session, token, members[0], START)).id == meeting.id
    just_expired = token.expires_at + timedelta(seconds=1)
    with refused("checkin.token_expired"):
        await check_scan(session, token, members[0], just_expired)  # no grace at the scan
    # The press of the confirmation has the grace: the member had scanned it in time.
    await check_in(session, meeting.id, members[0], "qr", just_expired, token=token)
    with refused("checkin.already"):
        await check_scan(session, qr(meeting.id, START), members[0], START)
    with refused("checkin.token_expired"):
        late = token.expires_at + CONFIRM_GRACE + timedelta(seconds=1)
        await check_in(session, meeting.id, members[1], "qr", late, token=token)

    with pytest.raises(CheckInNotOpen):
        early = meeting.check_in_opens_at - timedelta(minutes=1)
        await check_scan(session, qr(meeting.id, early), members[1], early)
    with refused("checkin.closed"):
        after = meeting.ends_at + timedelta(minutes=1)
        await check_scan(session, qr(meeting.id, after), members[1], after)


async def test_who_may_check_in_is_asked_at_the_scan(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    outsider = await active_member(session, units["tech-incubator"], 300, "外单位")
    meeting = await _activity(session, units, MEETING)
    with refused("activity.not_in_audience"):
        await check_scan(session, qr(meeting.id, START), outsider, START)
    service = await _activity(session, units, title="只限报名")
    with refused("checkin.not_signed_up"):
        await check_scan(session, qr(service.id, START), members[0], START)
    open_door = await _activity(session, units, title="欢迎参加", walk_ins_allowed=True)
    assert (await check_scan(session, qr(open_door.id, START), outsider, START)).id == open_door.id


async def test_tokens_of_another_activity_or_purpose_are_refused(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _activity(session, units, MEETING)
    other = await _activity(session, units, MEETING, title="另一次")
    with refused("checkin.token_wrong_activity"):
        await check_in(session, meeting.id, members[0], "qr", START, token=qr(other.id, START))
    check_out_token = make_token(CHECK_IN_SECRET, meeting.id, OUT, START + timedelta(minutes=1))
    with refused("checkin.token_wrong_purpose"):
        await check_in(session, meeting.id, members[0], "qr", START, token=check_out_token)
    service = await _activity(session, units, check_out_required=True, capacity=5)
    await sign_up(session, service.id, members[0], NOW)
    await check_in(session, service.id, members[0], "qr", START, token=qr(service.id, START))
    with refused("checkin.token_wrong_purpose"):
        await check_out(session, service.id, members[0], START, token=qr(service.id, START))


async def test_a_check_out_code_is_scanned_by_those_checked_in(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    service = await _activity(session, units, check_out_required=True, capacity=5)
    await sign_up(session, service.id, members[0], NOW)
    code = make_token(CHECK_IN_SECRET, service.id, OUT, START + timedelta(minutes=1))
    with refused("checkout.not_checked_in"):
        await check_scan(session, code, members[0], START)
    await check_in(session, service.id, members[0], "qr", START, token=qr(service.id, START))
    assert (await check_scan(session, code, members[0], START)).id == service.id
    await check_out(session, service.id, members[0], START, token=code)
    with refused("checkout.already"):
        await check_scan(session, code, members[0], START)


def test_tokens_expire_on_whole_seconds() -> None:
    now = datetime(2026, 3, 15, 1, 0, 0, 999_999, tzinfo=UTC)
    code = new_code(CHECK_IN_SECRET, 1, IN, now, 20)
    assert code.token.expires_at == datetime(2026, 3, 15, 1, 0, 20, tzinfo=UTC)
    assert code.replace_at == datetime(2026, 3, 15, 1, 0, 10, tzinfo=UTC)

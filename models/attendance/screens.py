"""The secretary's check-in and check-out screens: a QR code that changes, with the live count.

A manager of the activity opens a screen (`open_screen`) from the opening of the
check-in window to its end (a check-out screen: to CHECK_OUT_CLOSES_AFTER after the
end). The screen shows a token (models.attendance.tokens) that expires `qr_seconds`
after it was made and is replaced at half that, so the code on screen always has at
least half its life left; a photo of it is taken at home, forwarded, and has expired
before anyone far away can use it. The scheduler asks which screens need an edit
(`screens_due`), edits them, and records what it showed (`mark_refreshed`) or that
the screen is gone (`close_screen`).

A member who scans the code is asked to confirm; `check_scan` refuses at the scan
what the confirmation would refuse, and the token must be fresh then without the
CONFIRM_GRACE that the press after it gets.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    Activity,
    ActivityStatus,
    CheckInMethod,
    Participation,
    managed_activity,
    participation_of,
)
from models.attendance.checkin import (
    CHECK_OUT_CLOSES_AFTER,
    CheckInNotOpen,
    admission,
    check_in_allowed,
    check_out_allowed,
    check_token,
    check_window,
    method_enabled,
)
from models.attendance.closing import attendance_count
from models.attendance.tables import CheckInScreen, ScreenPurpose
from models.attendance.tokens import Token, check_fresh, make_token
from models.errors import InvalidState, NotFound
from models.members import Member


class ScreenAction(enum.Enum):
    """What a screen needs now (screens_due)."""

    close = "close"  # its window ended, or the activity was cancelled
    refresh = "refresh"  # a new code (and the count)
    recount = "recount"  # only the count changed


@dataclass(frozen=True)
class DueScreen:
    screen: CheckInScreen
    activity: Activity
    action: ScreenAction
    count: int  # checked in (a check-out screen: checked out)
    of: int  # expected or holding a seat (a check-out screen: checked in)


@dataclass(frozen=True)
class Code:
    """A code to show: its token, and when it is replaced by the next."""

    token: Token
    replace_at: datetime


def new_code(
    secret: str, activity_id: int, purpose: ScreenPurpose, now: datetime, qr_seconds: int
) -> Code:
    """A code shown from now: it lives `qr_seconds` (in whole seconds, as tokens carry
    them) and is replaced at half its life."""
    life = timedelta(seconds=qr_seconds)
    token = make_token(secret, activity_id, purpose, now + life)
    return Code(token, token.expires_at - life / 2)


def screen_closes_at(activity: Activity, purpose: ScreenPurpose) -> datetime:
    """The end of the screen's window: the end of check-in, or of check-out."""
    if purpose is ScreenPurpose.check_out:
        return activity.ends_at + CHECK_OUT_CLOSES_AFTER
    return activity.ends_at


def check_screen_window(activity: Activity, purpose: ScreenPurpose, now: datetime) -> None:
    """InvalidState activity.cancelled, checkin.not_open (CheckInNotOpen), checkin.closed,
    screen.check_out_over, screen.qr_off, screen.no_check_out."""
    if purpose is ScreenPurpose.check_in:
        check_window(activity, now)
        if not method_enabled(activity, CheckInMethod.qr):
            raise InvalidState("screen.qr_off", f"activity {activity.id}")
        return
    if not activity.check_out_required:
        raise InvalidState("screen.no_check_out", f"activity {activity.id}")
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled", f"activity {activity.id}")
    if now < activity.check_in_opens_at:
        raise CheckInNotOpen(activity.check_in_opens_at)
    if now > screen_closes_at(activity, purpose):
        raise InvalidState("screen.check_out_over", f"activity {activity.id}")


async def screen_count(
    session: AsyncSession, activity: Activity, purpose: ScreenPurpose
) -> tuple[int, int]:
    """The screen's live count: (checked in, expected), or (checked out, checked in)."""
    if purpose is ScreenPurpose.check_in:
        return await attendance_count(session, activity)
    row = await session.execute(
        select(func.count(Participation.checked_in_at), func.count(Participation.checked_out_at))
        .where(Participation.activity_id == activity.id)
        .where(Participation.checked_in_at.is_not(None))
    )
    checked_in, checked_out = row.one()
    return checked_out, checked_in


@dataclass(frozen=True)
class OpenedScreen:
    screen: CheckInScreen
    activity: Activity
    token: Token  # the code it shows first
    count: int
    of: int
    # The same activity's screen of the same purpose open in this chat before: closed now,
    # so that one chat holds one (and is edited no more often than one screen's pace).
    replaced: list[CheckInScreen]


async def open_screen(
    session: AsyncSession,
    telegram_id: int,
    activity_id: int,
    purpose: ScreenPurpose,
    chat_id: int,
    now: datetime,
    secret: str,
    qr_seconds: int,
) -> OpenedScreen:
    """A new screen, by a manager of the activity, in its window (check_screen_window);
    its photo is sent afterwards (screen_shown). PermissionDenied for anyone else."""
    activity = await managed_activity(session, telegram_id, activity_id)
    check_screen_window(activity, purpose, now)
    replaced = list(
        await session.scalars(
            select(CheckInScreen).where(
                CheckInScreen.activity_id == activity.id,
                CheckInScreen.purpose == purpose,
                CheckInScreen.chat_id == chat_id,
                CheckInScreen.closed_at.is_(None),
            )
        )
    )
    for old in replaced:
        old.closed_at = now
    count, of = await screen_count(session, activity, purpose)
    code = new_code(secret, activity.id, purpose, now, qr_seconds)
    screen = CheckInScreen(
        activity_id=activity.id,
        purpose=purpose,
        chat_id=chat_id,
        opened_by=telegram_id,
        opened_at=now,
        refresh_due_at=code.replace_at,
        token_expires_at=code.token.expires_at,
        count_shown=count,
        closes_at=screen_closes_at(activity, purpose),
    )
    session.add(screen)
    await session.flush()
    return OpenedScreen(screen, activity, code.token, count, of, replaced)


async def screen_shown(session: AsyncSession, screen_id: int, message_id: int) -> None:
    """The screen's photo was sent: from now on it is edited in place."""
    screen = await _screen(session, screen_id)
    screen.message_id = message_id
    await session.flush()


async def _screen(session: AsyncSession, screen_id: int) -> CheckInScreen:
    screen = await session.get(CheckInScreen, screen_id)
    if screen is None:
        raise NotFound("screen.not_found", f"no screen {screen_id}")
    return screen


async def managed_screen(
    session: AsyncSession, telegram_id: int, screen_id: int
) -> tuple[CheckInScreen, Activity]:
    """An open screen, for a manager of its activity (its Refresh and Close buttons);
    InvalidState screen.closed once it is closed."""
    screen = await _screen(session, screen_id)
    activity = await managed_activity(session, telegram_id, screen.activity_id)
    if screen.closed_at is not None:
        raise InvalidState("screen.closed", f"screen {screen.id}")
    return screen, activity


async def screens_due(session: AsyncSession, now: datetime) -> list[DueScreen]:
    """The open screens that need an edit now, oldest first: to close (their window ended,
    the activity was cancelled), a new code (refresh_due_at passed) or a new count."""
    rows = await session.execute(
        select(CheckInScreen, Activity)
        .join(Activity, Activity.id == CheckInScreen.activity_id)
        .where(CheckInScreen.closed_at.is_(None))
        .order_by(CheckInScreen.id)
    )
    due: list[DueScreen] = []
    for screen, activity in rows:
        count, of = await screen_count(session, activity, screen.purpose)
        if now >= screen.closes_at or activity.status is ActivityStatus.cancelled:
            action = ScreenAction.close
        elif screen.message_id is None:
            continue  # its photo is on its way
        elif now >= screen.refresh_due_at:
            action = ScreenAction.refresh
        elif count != screen.count_shown:
            action = ScreenAction.recount
        else:
            continue
        due.append(DueScreen(screen, activity, action, count, of))
    return due


async def mark_refreshed(
    session: AsyncSession, screen_id: int, count: int, code: Code | None = None
) -> None:
    """What the screen shows now: the count, and the new code if it got one."""
    screen = await _screen(session, screen_id)
    screen.count_shown = count
    if code is not None:
        screen.token_expires_at = code.token.expires_at
        screen.refresh_due_at = code.replace_at
    await session.flush()


async def close_screen(
    session: AsyncSession, screen_id: int, now: datetime, by: int | None = None
) -> CheckInScreen:
    """The screen is closed: by a manager of its activity (`by`; InvalidState screen.closed
    when it is closed already), or by the bot (None) when its window ended or its message
    is gone, which changes nothing on a closed screen."""
    if by is not None:
        screen, _ = await managed_screen(session, by, screen_id)
    else:
        screen = await _screen(session, screen_id)
    if screen.closed_at is None:
        screen.closed_at = now
        await session.flush()
    return screen


async def check_scan(
    session: AsyncSession, token: Token, member: Member, now: datetime
) -> Activity:
    """A code just scanned (its signature checked by read_token): the activity, if the
    member can check in (or out) by it now, before they are asked to confirm. The code
    must be fresh without grace: the grace is for the press of the confirmation."""
    if token.purpose is ScreenPurpose.check_in:
        activity = await check_in_allowed(session, token.activity_id, CheckInMethod.qr, now)
        row = await participation_of(session, activity.id, member.id)
        await admission(session, activity, member, row)
    else:
        activity = await check_out_allowed(session, token.activity_id, member, now)
    check_token(activity.id, token, token.purpose, now)
    check_fresh(token, now)
    return activity

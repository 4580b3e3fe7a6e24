"""The audit trail: every change of a member's attendance, with who, when, what and why.

Each operation that changes the record writes one AttendanceChange in its own
transaction (`record_change`), with the member's outcome before and after, so the
trail reads as a history and a secretary's correction never hides what it replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.activities import Activity, Participation
from models.attendance.record import Outcome, outcome_of
from models.attendance.tables import REASON_MAX, AttendanceAction, AttendanceChange
from models.members import Member
from models.paging import Page, clamp
from models.text import clean_text


def clean_reason(reason: str | None, *, required: bool) -> str | None:
    """A reason as typed (models.text.clean_text), 1-200 characters; InvalidInput reason.empty
    when required and missing, reason.too_long, reason.invalid."""
    return clean_text(reason, "reason", REASON_MAX, required=required) or None


def record_change(
    session: AsyncSession,
    activity: Activity,
    row: Participation,
    action: AttendanceAction,
    before: Outcome | None,
    by: int | None,
    now: datetime,
    reason: str | None = None,
) -> AttendanceChange:
    """Append one change to the trail; `before` is outcome_of the row before the change."""
    change = AttendanceChange(
        activity_id=activity.id,
        member_id=row.member_id,
        action=action,
        before=before.value if before else None,
        after=_value(outcome_of(activity, row)),
        reason=reason,
        changed_by=by,
        changed_at=now,
    )
    session.add(change)
    return change


async def record_changes(
    session: AsyncSession,
    activity: Activity,
    changes: Sequence[tuple[int, Outcome | None, Outcome | None]],
    action: AttendanceAction,
    by: int | None,
    now: datetime,
) -> None:
    """Append many changes of one kind (member id, outcome before, outcome after) in one
    INSERT: closing the record of a meeting of thousands."""
    if not changes:
        return
    rows = [
        {
            "activity_id": activity.id,
            "member_id": member_id,
            "action": action,
            "before": _value(before),
            "after": _value(after),
            "reason": None,
            "changed_by": by,
            "changed_at": now,
        }
        for member_id, before, after in changes
    ]
    await session.execute(insert(AttendanceChange), rows)


def _value(outcome: Outcome | None) -> str | None:
    return outcome.value if outcome else None


@dataclass(frozen=True)
class TrailEntry:
    change: AttendanceChange
    member: Member  # whose attendance changed
    # Who changed it, when they have a member profile (a secretary may have none); for
    # changed_by None it was the bot (closing the record).
    changed_by: Member | None


async def changes_page(
    session: AsyncSession,
    activity_id: int,
    page: int,
    size: int,
    member_id: int | None = None,
) -> Page[TrailEntry]:
    """The activity's trail (or one member's part of it), newest first. Read it after
    checking that the reader manages the activity."""
    where = [AttendanceChange.activity_id == activity_id]
    if member_id is not None:
        where.append(AttendanceChange.member_id == member_id)
    total = await session.scalar(select(func.count()).select_from(AttendanceChange).where(*where))
    page, pages = clamp(total or 0, page, size)
    changer = aliased(Member)
    rows = await session.execute(
        select(AttendanceChange, Member, changer)
        .join(Member, Member.id == AttendanceChange.member_id)
        .outerjoin(changer, changer.telegram_id == AttendanceChange.changed_by)
        .where(*where)
        .order_by(AttendanceChange.changed_at.desc(), AttendanceChange.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    )
    items = [TrailEntry(change, member, by) for change, member, by in rows]
    return Page(items, total or 0, page, pages, size)

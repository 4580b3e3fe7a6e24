"""Who a notice is for: each audience as one query of member ids, always within the
notice's unit and the units below it, never the forgotten."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    Activity,
    ActivityStatus,
    Participation,
    ParticipationStatus,
    concerned_member_ids,
    get_activity,
)
from models.errors import InvalidInput
from models.members import Member, Membership, MembershipStatus, MemberType
from models.notices.tables import Audience, Notice, NoticeRecipient
from models.org import descendant_ids
from models.permissions import Permission, require

# Audiences that name an activity, and the one that names an earlier notice.
ABOUT_ACTIVITY = frozenset({Audience.activity, Audience.activity_absent})


@dataclass(frozen=True)
class AudienceChoice:
    """An audience as the author chose it."""

    audience: Audience
    activity_id: int | None = None
    notice_id: int | None = None


@dataclass(frozen=True)
class AudienceSize:
    recipients: int  # members who will be sent the notice (the author left out)
    unreachable: int  # of them, how many blocked the bot: they are counted, not written to


def _active_in(unit_ids: set[int]) -> Select[tuple[int]]:
    return select(Membership.member_id).where(
        Membership.status == MembershipStatus.active, Membership.org_unit_id.in_(unit_ids)
    )


async def check_choice(
    session: AsyncSession, author: int, unit_id: int, choice: AudienceChoice
) -> None:
    """The activity or the earlier notice an audience names must be the unit's (or below)."""
    tree = await descendant_ids(session, unit_id)
    if choice.audience in ABOUT_ACTIVITY:
        if choice.activity_id is None:
            raise InvalidInput("audience", "notice.audience_needs_activity")
        activity = await get_activity(session, choice.activity_id)
        if activity.org_unit_id not in tree:
            raise InvalidInput("audience", "notice.activity_elsewhere")
        await require(session, author, Permission.broadcast, activity.org_unit_id)
    if choice.audience is Audience.not_acknowledged:
        earlier = (
            await session.get(Notice, choice.notice_id) if choice.notice_id is not None else None
        )
        if earlier is None or earlier.org_unit_id not in tree or not earlier.ack_required:
            raise InvalidInput("audience", "notice.earlier_notice_invalid")


async def audience_query(
    session: AsyncSession, author: int, unit_id: int, choice: AudienceChoice
) -> Select[tuple[int]]:
    """The member ids of the audience, as a query: active in the unit's tree, not the
    author, not forgotten, and reachable by Telegram id."""
    await check_choice(session, author, unit_id, choice)
    tree = await descendant_ids(session, unit_id)
    in_scope = _active_in({unit_id} if choice.audience is Audience.unit else tree)
    query = select(Member.id).where(
        Member.id.in_(in_scope),
        Member.forgotten_at.is_(None),
        Member.telegram_id.is_not(None),
        Member.telegram_id != author,
    )
    if choice.audience is Audience.floating:
        query = query.where(Member.member_type == MemberType.floating)
    elif choice.audience is Audience.activity:
        activity = await session.get_one(Activity, choice.activity_id)
        query = query.where(Member.id.in_(await concerned_member_ids(session, activity)))
    elif choice.audience is Audience.activity_absent:
        absent = select(Participation.member_id).where(
            Participation.activity_id == choice.activity_id,
            Participation.status == ParticipationStatus.absent,
        )
        query = query.where(Member.id.in_(absent))
    elif choice.audience is Audience.not_acknowledged:
        silent = select(NoticeRecipient.member_id).where(
            NoticeRecipient.notice_id == choice.notice_id,
            NoticeRecipient.acknowledged_at.is_(None),
        )
        query = query.where(Member.id.in_(silent))
    return query


async def audience_size(
    session: AsyncSession, author: int, unit_id: int, choice: AudienceChoice
) -> AudienceSize:
    members = (await audience_query(session, author, unit_id, choice)).subquery()
    total, unreachable = (
        await session.execute(
            select(func.count(), func.count(Member.unreachable_at)).where(
                Member.id.in_(select(members.c.id))
            )
        )
    ).one()
    return AudienceSize(total or 0, unreachable or 0)


CHOICES = 40  # activities or earlier notices offered to choose from


async def activities_to_address(
    session: AsyncSession, author: int, unit_id: int, now: datetime, *, absent: bool
) -> list[Activity]:
    """The activities of the unit's tree a notice may be addressed about: those coming up
    or of the last 60 days (for those signed up or expected), or those whose record closed
    (for the absent), the nearest in time first."""
    await require(session, author, Permission.broadcast, unit_id)
    tree = await descendant_ids(session, unit_id)
    query = select(Activity).where(
        Activity.org_unit_id.in_(tree), Activity.status != ActivityStatus.cancelled
    )
    if absent:
        query = query.where(Activity.record_closed_at.is_not(None)).order_by(
            Activity.starts_at.desc()
        )
    else:
        query = query.where(Activity.ends_at > now - timedelta(days=60)).order_by(
            Activity.starts_at.desc()
        )
    return list(await session.scalars(query.limit(CHOICES)))


async def earlier_notices(session: AsyncSession, author: int, unit_id: int) -> list[Notice]:
    """The unit tree's sent notices that ask for acknowledgement, the latest first."""
    await require(session, author, Permission.broadcast, unit_id)
    tree = await descendant_ids(session, unit_id)
    rows = await session.scalars(
        select(Notice)
        .where(
            Notice.org_unit_id.in_(tree),
            Notice.ack_required.is_(True),
            Notice.sent_at.is_not(None),
            Notice.withdrawn_at.is_(None),
        )
        .order_by(Notice.sent_at.desc(), Notice.id.desc())
        .limit(CHOICES)
    )
    return list(rows)

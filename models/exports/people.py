"""The rows about people: the roster, volunteer hours, notice acknowledgements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.activities import (
    SEAT_STATUSES,
    SERVICE_KINDS,
    Activity,
    ActivityStatus,
    Participation,
    PledgeKind,
)
from models.attendance.record import service_seconds
from models.exports.scope import Scope, in_period, member_unit
from models.members import Member, Membership, MembershipKind, MembershipStatus, MemberType
from models.notices.follow_up import delivery_status, with_delivery
from models.notices.tables import Notice, NoticeRecipient
from models.outbox import DeliveryStatus
from models.stats.period import Period

# --- the roster ------------------------------------------------------------------------------


class RosterRow(NamedTuple):
    name: str | None
    phone: str | None
    member_type: MemberType | None
    unit_id: int
    approved_at: datetime | None
    dual_reporting: bool  # has an active community membership (双报到)


async def roster_rows(session: AsyncSession, scope: Scope) -> list[RosterRow]:
    """Active members of the scope, once each (under their primary unit where it is in
    the scope), by unit and name."""
    ranked = (
        select(
            Membership.member_id,
            Membership.org_unit_id,
            Membership.decided_at,
            func.row_number()
            .over(
                partition_by=Membership.member_id,
                order_by=(
                    case((Membership.kind == MembershipKind.primary, 0), else_=1),
                    Membership.org_unit_id,
                ),
            )
            .label("rank"),
        )
        .where(
            Membership.status == MembershipStatus.active,
            Membership.org_unit_id.in_(scope.unit_ids),
        )
        .subquery()
    )
    community = aliased(Membership)
    dual = exists().where(
        community.member_id == Member.id,
        community.kind == MembershipKind.community,
        community.status == MembershipStatus.active,
    )
    rows = await session.execute(
        select(
            Member.real_name,
            Member.phone,
            Member.member_type,
            ranked.c.org_unit_id,
            ranked.c.decided_at,
            dual.label("dual"),
        )
        .join(ranked, ranked.c.member_id == Member.id)
        .where(ranked.c.rank == 1, Member.forgotten_at.is_(None))
        .order_by(ranked.c.org_unit_id, Member.real_name, Member.id)
    )
    return [RosterRow(n, p, t, u, a, bool(d)) for n, p, t, u, a, d in rows.all()]


# --- volunteer hours ---------------------------------------------------------------------------


class VolunteerRow(NamedTuple):
    name: str | None
    unit_id: int | None
    attended: int  # service activities checked in at
    hours: float
    saplings_planted: int
    saplings_pledged: int  # 认种
    money_pledged: int  # 认捐, whole yuan


async def volunteer_rows(
    session: AsyncSession, scope: Scope, period: Period, zone: tzinfo
) -> list[VolunteerRow]:
    """Per member, over the volunteering and tree planting of the period (not cancelled)
    they signed up for or attended: what they did and pledged, by name."""
    units = member_unit(scope.unit_ids)
    holding = Participation.status.in_(list(SEAT_STATUSES))

    def pledged(kind: PledgeKind) -> Any:
        amount = case((and_(holding, Activity.pledge_kind == kind), Participation.pledge_amount))
        return func.coalesce(func.sum(amount), 0)

    found = await session.execute(
        select(
            Member.real_name,
            units.c.unit_id,
            func.count(Participation.checked_in_at),
            func.coalesce(func.sum(service_seconds()), 0.0) / 3600.0,
            func.coalesce(func.sum(Participation.saplings_planted), 0),
            pledged(PledgeKind.saplings),
            pledged(PledgeKind.money),
        )
        .join(Participation, Participation.member_id == Member.id)
        .join(Activity, Activity.id == Participation.activity_id)
        .outerjoin(units, units.c.member_id == Member.id)
        .where(
            in_period(scope, period, zone),
            Activity.kind.in_(list(SERVICE_KINDS)),
            Activity.status == ActivityStatus.scheduled,
            or_(holding, Participation.checked_in_at.is_not(None)),
            Member.forgotten_at.is_(None),
        )
        .group_by(Member.id, Member.real_name, units.c.unit_id)
        .order_by(Member.real_name, Member.id)
    )
    return [
        VolunteerRow(name, unit, int(n), float(hours), int(planted), int(saplings), int(money))
        for name, unit, n, hours, planted, saplings, money in found.all()
    ]


# --- notice acknowledgements -------------------------------------------------------------


class NoticeRow(NamedTuple):
    notice_id: int
    name: str | None  # None: the member was forgotten
    unit_id: int | None
    status: DeliveryStatus | None  # None: not handed to Telegram yet
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class NoticeInfo:
    sent_at: datetime
    body_html: str
    ack_required: bool


@dataclass(frozen=True)
class NoticeSheet:
    notices: dict[int, NoticeInfo]
    rows: list[NoticeRow]  # by notice (as sent) and name


async def notice_rows(
    session: AsyncSession, scope: Scope, period: Period, zone: tzinfo
) -> NoticeSheet:
    """One row per notice sent in the period by a unit of the scope and per recipient:
    what became of the copy and when it was acknowledged."""
    sent = and_(
        Notice.org_unit_id.in_(scope.unit_ids),
        Notice.sent_at >= period.starts_at(zone),  # type: ignore[arg-type]
        Notice.sent_at < period.ends_at(zone),  # type: ignore[arg-type]
    )
    notices = {
        notice_id: NoticeInfo(sent_at, body, ack)
        for notice_id, sent_at, body, ack in (
            await session.execute(
                select(Notice.id, Notice.sent_at, Notice.body_html, Notice.ack_required).where(sent)
            )
        ).all()
    }
    if not notices:
        return NoticeSheet({}, [])
    units = member_unit()
    found = await session.execute(
        with_delivery(
            select(
                Notice.id,
                Member.real_name,
                units.c.unit_id,
                delivery_status(),
                NoticeRecipient.acknowledged_at,
            )
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .join(Member, Member.id == NoticeRecipient.member_id)
            .outerjoin(units, units.c.member_id == Member.id)
        )
        .where(sent)
        .order_by(Notice.sent_at, Notice.id, Member.real_name, Member.id)
    )
    rows = [
        NoticeRow(n, name, unit, DeliveryStatus(status) if status else None, acknowledged)
        for n, name, unit, status, acknowledged in found.all()
    ]
    return NoticeSheet(notices, rows)

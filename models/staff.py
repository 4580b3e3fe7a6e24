"""The secretary's side: which units one manages, the member's card, appointing, the
reporting points, members who cannot be reached, and the daily digest.

Every function here that shows or changes something checks the permission itself
(models.permissions), so no caller needs to.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, selectinload

from models.activities import Activity, ActivityStatus, Participation, ParticipationStatus
from models.base import Base, TelegramId
from models.errors import InvalidState, NotFound, NotStaff
from models.members import Member, Membership, MembershipStatus, get_membership
from models.notifications import UNREACHABLE_NAMED, Digest, Notification, RoleGranted, notify
from models.org import (
    REPORTABLE_KINDS,
    OrgUnit,
    descendant_ids,
    get_unit,
    list_tree,
    parent_map,
    unit_zones,
)
from models.paging import Page, page_of_rows
from models.permissions import (
    Permission,
    Role,
    RoleGrant,
    can,
    grant_role,
    managed_ids_from,
    managed_unit_ids,
    require,
    reviewers_of,
)
from models.sql import in_parts, insert_or_skip

__all__ = [
    "DigestDay",
    "DigestDue",
    "MemberCard",
    "appoint",
    "digests_due",
    "digests_for",
    "digests_made",
    "managed_units",
    "member_card",
    "membership_to_end",
    "open_membership",
    "prune_digest_days",
    "reporting_point",
    "reporting_points",
    "reviewers_of",
    "staff_home_units",
    "staff_unit",
    "staff_units",
    "unreachable_members",
    "unreachable_page",
]

DIGEST_ACTIVITIES = 50  # tomorrow's activities a digest names, at most


async def managed_units(
    session: AsyncSession, telegram_id: int, permission: Permission
) -> list[OrgUnit]:
    """The units this person may act on with `permission`, in tree order."""
    allowed = await managed_unit_ids(session, telegram_id, permission)
    return [unit for _, unit in await list_tree(session) if allowed is None or unit.id in allowed]


async def staff_units(
    session: AsyncSession, telegram_id: int, permission: Permission
) -> list[OrgUnit]:
    """`managed_units`, or NotStaff when there are none: the command is not theirs."""
    units = await managed_units(session, telegram_id, permission)
    if not units:
        raise NotStaff(permission, None, telegram_id)
    return units


async def staff_unit(
    session: AsyncSession, telegram_id: int, permission: Permission, unit_id: int
) -> OrgUnit:
    """One unit this person may act on with `permission`."""
    unit = await get_unit(session, unit_id)
    await require(session, telegram_id, permission, unit.id)
    return unit


async def reporting_points(session: AsyncSession, telegram_id: int) -> list[OrgUnit]:
    """The units whose reporting-point QR code this person may hand out."""
    units = await staff_units(session, telegram_id, Permission.view_roster)
    reportable = {*REPORTABLE_KINDS[False], *REPORTABLE_KINDS[True]}
    found = [unit for unit in units if unit.kind in reportable]
    if not found:
        raise NotStaff(Permission.view_roster, None, telegram_id)
    return found


async def reporting_point(session: AsyncSession, telegram_id: int, unit_id: int) -> OrgUnit:
    return await staff_unit(session, telegram_id, Permission.view_roster, unit_id)


async def open_membership(
    session: AsyncSession, member_id: int, unit_ids: set[int] | None
) -> Membership:
    """The member's active membership among these units (None: any), with member and unit."""
    query = (
        select(Membership)
        .where(Membership.member_id == member_id, Membership.status == MembershipStatus.active)
        .options(selectinload(Membership.member), selectinload(Membership.unit))
        .order_by(Membership.id)
    )
    if unit_ids is not None:
        query = query.where(Membership.org_unit_id.in_(unit_ids))
    membership = await session.scalar(query)
    if membership is None:
        raise NotFound("membership.not_found", f"member {member_id} has no active membership")
    return membership


@dataclass(frozen=True)
class MemberCard:
    membership: Membership  # the member's active membership in the roster's units
    may_manage: bool  # remove, transfer out
    may_appoint: bool  # make secretary or organizer


async def member_card(
    session: AsyncSession, viewer: int, unit_id: int, member_id: int
) -> MemberCard:
    """A member as the roster of `unit_id` shows them, and what the viewer may do."""
    await require(session, viewer, Permission.view_roster, unit_id)
    membership = await open_membership(session, member_id, await descendant_ids(session, unit_id))
    unit_of_member = membership.org_unit_id
    return MemberCard(
        membership,
        may_manage=await can(session, viewer, Permission.manage_members, unit_of_member),
        may_appoint=await can(session, viewer, Permission.appoint_roles, unit_of_member),
    )


async def membership_to_end(session: AsyncSession, viewer: int, membership_id: int) -> Membership:
    """A membership this person may end (before they confirm removing or transferring)."""
    membership = await get_membership(session, membership_id)
    await require(session, viewer, Permission.manage_members, membership.org_unit_id)
    return membership


async def appoint(session: AsyncSession, by: int, membership_id: int, role: Role) -> Membership:
    """Make the member secretary or organizer of the unit of this membership; they are told."""
    membership = await get_membership(session, membership_id)
    await require(session, by, Permission.appoint_roles, membership.org_unit_id)
    appointee = membership.member.telegram_id
    if appointee is None:
        raise InvalidState("member.forgotten", f"membership {membership.id}")
    await grant_role(session, appointee, role, membership.org_unit_id, by)
    message = RoleGranted(role, membership.unit)
    notify(session, Notification(appointee, message, membership.unit))
    return membership


# The nameless last on both databases (SQLite sorts NULL first, PostgreSQL last).
_BY_NAME = (Member.real_name.is_(None), Member.real_name, Member.id, Membership.id)


async def _unreachable(session: AsyncSession, telegram_id: int) -> Select[tuple[Membership]]:
    units = await managed_unit_ids(session, telegram_id)
    if units is not None and not units:
        raise NotStaff(Permission.view_roster, None, telegram_id)
    query = (
        select(Membership)
        .join(Member, Membership.member_id == Member.id)
        .where(Membership.status == MembershipStatus.active, Member.unreachable_at.is_not(None))
        .options(selectinload(Membership.member), selectinload(Membership.unit))
        .order_by(*_BY_NAME)
    )
    if units is not None:
        query = query.where(Membership.org_unit_id.in_(units))
    return query


async def unreachable_members(
    session: AsyncSession, telegram_id: int
) -> list[tuple[Member, OrgUnit]]:
    """Active members of this person's units whom Telegram reports as unreachable (403);
    NotStaff for someone with no role."""
    query = await _unreachable(session, telegram_id)
    return [(m.member, m.unit) for m in await session.scalars(query)]


async def unreachable_page(
    session: AsyncSession, telegram_id: int, page: int, page_size: int
) -> Page[tuple[Member, OrgUnit]]:
    """One page of `unreachable_members`."""
    found = await page_of_rows(session, await _unreachable(session, telegram_id), page, page_size)
    return found.with_items([(m.member, m.unit) for m in found.items])


# --- the secretaries' daily digest --------------------------------------------------------


class DigestDay(Base):
    """A day whose digest was made for this person, sent or empty: made once a day."""

    __tablename__ = "digest_days"

    telegram_id: Mapped[TelegramId] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # in their time zone


@dataclass(frozen=True)
class DigestDue:
    telegram_id: int
    unit: OrgUnit | None  # whose time zone is theirs; None: the default's
    zone: ZoneInfo
    day: date  # today where they are
    end_of_day: datetime


async def staff_home_units(session: AsyncSession) -> dict[int, OrgUnit | None]:
    """Everyone with a role, and the unit whose time zone is theirs: that of their first
    grant (None for admins, who keep the default's)."""
    homes: dict[int, int | None] = {}
    grants = await session.execute(
        select(RoleGrant.telegram_id, RoleGrant.org_unit_id).order_by(RoleGrant.id)
    )
    for telegram_id, unit_id in grants:
        homes.setdefault(telegram_id, unit_id)
    ids = {unit_id for unit_id in homes.values() if unit_id is not None}
    units = {u.id: u for u in await session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    return {tg: None if unit_id is None else units[unit_id] for tg, unit_id in homes.items()}


async def digests_due(
    session: AsyncSession, now: datetime, digest_hour: int, default_zone: str
) -> list[DigestDue]:
    """Whoever has a role, is at `digest_hour` or later of their day, and has not had that
    day's digest made: a handful of queries however many there are."""
    zones = await unit_zones(session, default_zone)
    candidates = []
    for telegram_id, unit in (await staff_home_units(session)).items():
        zone = zones[unit.id] if unit is not None else ZoneInfo(default_zone)
        local = now.astimezone(zone)
        if local.time() >= time(digest_hour):
            end = datetime.combine(local.date() + timedelta(days=1), time(), zone)
            candidates.append(DigestDue(telegram_id, unit, zone, local.date(), end))
    if not candidates:
        return []
    rows = await session.execute(
        select(DigestDay.telegram_id, DigestDay.day).where(
            DigestDay.day >= min(due.day for due in candidates)
        )
    )
    made = {(telegram_id, day) for telegram_id, day in rows}
    return [due for due in candidates if (due.telegram_id, due.day) not in made]


async def digests_made(session: AsyncSession, due: list[DigestDue]) -> None:
    """Recorded once, even when two scans (the first one at start-up and the minute's)
    made them at the same moment."""
    rows = [{"telegram_id": item.telegram_id, "day": item.day} for item in due]
    for part in in_parts(rows):
        await session.execute(insert_or_skip(session, DigestDay, ["telegram_id", "day"]), part)


async def prune_digest_days(session: AsyncSession, now: datetime) -> int:
    """Days long past are not asked about again."""
    result = await session.execute(
        delete(DigestDay).where(DigestDay.day < (now - timedelta(days=7)).date())
    )
    return result.rowcount or 0


@dataclass
class _UnitFigures:
    """What one unit adds to the digest of whoever sees it."""

    pending_reports: int = 0
    leave_requests: int = 0
    unreachable: int = 0
    # Its first UNREACHABLE_NAMED unreachable members: (place among all of them, name).
    unreachable_named: list[tuple[int, str]] = field(default_factory=list)


async def digests_for(
    session: AsyncSession, due: list[DigestDue], now: datetime
) -> dict[int, Digest]:
    """The digest of each of these people (empty when there is nothing to say): reports
    waiting, leave requests for activities not yet over, tomorrow's activities and members
    who cannot be reached, in their units. Each figure is read once for all units, in a
    handful of statements however many people and members there are, and summed over the
    units each person sees, as the lists they open count them."""
    if not due:
        return {}
    parents = await parent_map(session)
    grants: dict[int, list[RoleGrant]] = {}
    for grant in await session.scalars(select(RoleGrant).order_by(RoleGrant.id)):
        grants.setdefault(grant.telegram_id, []).append(grant)
    by_unit = await _unit_figures(session, now)
    soon = await _starting_soon(session, now)

    def figures(units: set[int] | None) -> list[_UnitFigures]:
        return list(by_unit.values()) if units is None else [by_unit[u] for u in units]

    digests: dict[int, Digest] = {}
    for item in due:
        held = grants.get(item.telegram_id, [])
        deciding = managed_ids_from(held, Permission.approve_reports, parents)
        organised = managed_ids_from(held, Permission.manage_activities, parents)
        seen = figures(managed_ids_from(held, None, parents))
        named = sorted(named for unit in seen for named in unit.unreachable_named)
        digests[item.telegram_id] = Digest(
            pending_reports=sum(unit.pending_reports for unit in figures(deciding)),
            leave_requests=sum(unit.leave_requests for unit in figures(organised)),
            tomorrow=_tomorrow(soon, organised, item.zone, item.day),
            unreachable=sum(unit.unreachable for unit in seen),
            unreachable_names=tuple(name for _, name in named[:UNREACHABLE_NAMED]),
        )
    return digests


async def _unit_figures(session: AsyncSession, now: datetime) -> defaultdict[int, _UnitFigures]:
    by_unit: defaultdict[int, _UnitFigures] = defaultdict(_UnitFigures)
    pending = await session.execute(
        select(Membership.org_unit_id, func.count())
        .where(Membership.status == MembershipStatus.pending)
        .group_by(Membership.org_unit_id)
    )
    for unit_id, count in pending:
        by_unit[unit_id].pending_reports = count
    leave = await session.execute(
        select(Activity.org_unit_id, func.count())
        .join(Participation, Participation.activity_id == Activity.id)
        .where(
            Participation.status == ParticipationStatus.leave_requested,
            Activity.status == ActivityStatus.scheduled,
            Activity.ends_at > now,
        )
        .group_by(Activity.org_unit_id)
    )
    for unit_id, count in leave:
        by_unit[unit_id].leave_requests = count
    # Each unit's first names and its count in one pass; `place` orders the names of
    # several units as one list would, whatever the database's collation.
    order = _BY_NAME
    ranked = (
        select(
            Membership.org_unit_id.label("unit_id"),
            Member.real_name.label("name"),
            func.row_number().over(order_by=order).label("place"),
            func.row_number()
            .over(partition_by=Membership.org_unit_id, order_by=order)
            .label("in_unit"),
            func.count().over(partition_by=Membership.org_unit_id).label("of_unit"),
        )
        .join(Member, Member.id == Membership.member_id)
        .where(Membership.status == MembershipStatus.active, Member.unreachable_at.is_not(None))
        .subquery()
    )
    unreachable = await session.execute(
        select(ranked.c.unit_id, ranked.c.name, ranked.c.place, ranked.c.of_unit).where(
            ranked.c.in_unit <= UNREACHABLE_NAMED
        )
    )
    for unit_id, name, place, count in unreachable:
        figures = by_unit[unit_id]
        figures.unreachable = count
        figures.unreachable_named.append((place, name or "—"))
    return by_unit


async def _starting_soon(session: AsyncSession, now: datetime) -> list[Activity]:
    """Scheduled activities that may be tomorrow somewhere: starting within two days."""
    rows = await session.scalars(
        select(Activity)
        .where(
            Activity.status == ActivityStatus.scheduled,
            Activity.starts_at >= now,
            Activity.starts_at < now + timedelta(days=2),
        )
        .order_by(Activity.starts_at, Activity.id)
    )
    return list(rows)


def _tomorrow(
    soon: list[Activity], units: set[int] | None, zone: tzinfo, today: date
) -> tuple[Activity, ...]:
    """The soonest DIGEST_ACTIVITIES of these units' activities on the day after `today`."""
    day = today + timedelta(days=1)
    found = [
        activity
        for activity in soon
        if (units is None or activity.org_unit_id in units)
        and activity.starts_at.astimezone(zone).date() == day
    ]
    return tuple(found[:DIGEST_ACTIVITIES])

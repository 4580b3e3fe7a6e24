"""Reporting to a unit (报到) and the life of a membership: approve, reject, leave, transfer.

A report is a membership in state `pending`; the secretary approves it (纳入管理,
`active`) or rejects it. Leaving, being removed and being transferred out end
an active membership (`left`, `transferred`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.base import move_status
from models.db import SessionMemo
from models.errors import InvalidInput, InvalidState, NotFound, NotStaff, PrimaryElsewhere
from models.members.profile import (
    check_not_forgotten,
    clean_text,
    get_member,
    missing_profile_fields,
    profile_complete,
)
from models.members.tables import (
    OPEN_STATUSES,
    REASON_MAX,
    Member,
    Membership,
    MembershipKind,
    MembershipStatus,
    Via,
)
from models.notifications import (
    MembershipEnded,
    ReportApproved,
    ReportRejected,
    ReportSubmitted,
    notify_each,
)
from models.org import OrgUnit, UnitKind, get_unit
from models.paging import Page, page_of_rows
from models.permissions import Permission, managed_unit_ids, require, reviewers_of, reviewing


async def _open_memberships(session: AsyncSession, member_id: int) -> list[Membership]:
    rows = await session.scalars(
        select(Membership)
        .where(Membership.member_id == member_id, Membership.status.in_(OPEN_STATUSES))
        .options(selectinload(Membership.unit))
    )
    return list(rows)


async def report(
    session: AsyncSession,
    member: Member,
    unit: OrgUnit,
    *,
    kind: MembershipKind | str = MembershipKind.primary,
    via: Via | str = Via.invite,
    now: datetime,
) -> Membership:
    """Ask to be managed by `unit` (primary) or report to a community (双报到): pending.

    The unit's reviewers (its secretaries, else the nearest above, else the admins)
    get the report as a card to decide on."""
    check_not_forgotten(member)
    if not profile_complete(member):
        raise InvalidState("profile.incomplete", ", ".join(missing_profile_fields(member)))
    kind = MembershipKind(kind)
    via = Via(via)
    if kind is MembershipKind.primary and unit.kind not in (UnitKind.branch, UnitKind.group):
        raise InvalidState("report.not_a_branch", f"{unit.code} is a {unit.kind}")
    if kind is MembershipKind.community and unit.kind is not UnitKind.community:
        raise InvalidState("report.not_a_community", f"{unit.code} is a {unit.kind}")
    current = await _open_memberships(session, member.id)
    for membership in current:
        if membership.org_unit_id == unit.id:
            raise InvalidState(f"report.already_{membership.status}", unit.code)
    for membership in current:
        if kind is MembershipKind.primary and membership.kind is MembershipKind.primary:
            raise PrimaryElsewhere(membership.unit)
    membership = Membership(
        member=member,
        unit=unit,
        kind=kind,
        status=MembershipStatus.pending,
        via=via,
        requested_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(membership)
    except IntegrityError:
        # The same report arrived twice at once (a double press); the other one won.
        raise InvalidState("report.already_pending", unit.code) from None
    reviewers = await reviewers_of(session, unit.id)
    notify_each(session, reviewers, ReportSubmitted(membership), unit)
    return membership


async def submit_report(
    session: AsyncSession, telegram_id: int, unit_id: int, *, via: Via | str, now: datetime
) -> Membership:
    """The member with this Telegram id reports to the unit: managed by a branch (or one of
    its groups), or 双报到 when the unit is a community."""
    member = await session.scalar(select(Member).where(Member.telegram_id == telegram_id))
    if member is None:
        raise InvalidState("profile.incomplete")
    unit = await get_unit(session, unit_id)
    community = unit.kind is UnitKind.community
    kind = MembershipKind.community if community else MembershipKind.primary
    return await report(session, member, unit, kind=kind, via=via, now=now)


async def report_reviewer(session: AsyncSession, unit_id: int) -> OrgUnit | None:
    """The unit whose secretaries get a report to this unit as a card to decide on: the
    unit itself, else the nearest above that has any; None when it is the admins."""
    reviewer_id, _ = await reviewing(session, unit_id)
    return None if reviewer_id is None else await get_unit(session, reviewer_id)


async def get_membership(session: AsyncSession, membership_id: int) -> Membership:
    """A membership with its member and unit; NotFound "report.not_found"."""
    membership = await session.scalar(
        select(Membership)
        .where(Membership.id == membership_id)
        .options(selectinload(Membership.member), selectinload(Membership.unit))
    )
    if membership is None:
        raise NotFound("report.not_found", f"no membership {membership_id}")
    return membership


async def approve_report(
    session: AsyncSession, membership_id: int, approver_telegram_id: int, now: datetime
) -> Membership:
    """纳入管理: the pending report becomes an active membership."""
    membership = await get_membership(session, membership_id)
    await require(session, approver_telegram_id, Permission.approve_reports, membership.org_unit_id)
    values = {
        "status": MembershipStatus.active,
        "decided_at": now,
        "decided_by": approver_telegram_id,
    }
    await move_status(
        session, membership, MembershipStatus.pending, "report.already_decided", values
    )
    told = [membership.member.telegram_id]
    notify_each(session, told, ReportApproved(membership.unit), membership.unit)
    return membership


async def report_to_decide(
    session: AsyncSession, membership_id: int, approver_telegram_id: int
) -> Membership:
    """A pending report this person may decide (before they type a reason to reject it)."""
    membership = await get_membership(session, membership_id)
    await require(session, approver_telegram_id, Permission.approve_reports, membership.org_unit_id)
    if membership.status is not MembershipStatus.pending:
        raise InvalidState("report.already_decided", f"membership {membership.id}")
    return membership


async def reject_report(
    session: AsyncSession,
    membership_id: int,
    approver_telegram_id: int,
    reason: str,
    now: datetime,
) -> Membership:
    """Refuse a pending report; the reason (1-200 characters) is shown to the member."""
    membership = await get_membership(session, membership_id)
    await require(session, approver_telegram_id, Permission.approve_reports, membership.org_unit_id)
    cleaned = clean_text(reason, "reason", REASON_MAX)
    if cleaned is None:
        raise InvalidInput("reason", "reason.empty")
    values = {
        "status": MembershipStatus.rejected,
        "decided_at": now,
        "decided_by": approver_telegram_id,
        "reject_reason": cleaned,
    }
    await move_status(
        session, membership, MembershipStatus.pending, "report.already_decided", values
    )
    told = [membership.member.telegram_id]
    notify_each(session, told, ReportRejected(membership.unit, cleaned), membership.unit)
    return membership


async def _pending(session: AsyncSession, telegram_id: int) -> Select[tuple[Membership]]:
    units = await managed_unit_ids(session, telegram_id, Permission.approve_reports)
    if units is not None and not units:
        raise NotStaff(Permission.approve_reports, None, telegram_id)
    query = (
        select(Membership)
        .where(Membership.status == MembershipStatus.pending)
        .options(selectinload(Membership.member), selectinload(Membership.unit))
        .order_by(Membership.requested_at, Membership.id)
    )
    if units is not None:
        query = query.where(Membership.org_unit_id.in_(units))
    return query


async def pending_reports(session: AsyncSession, telegram_id: int) -> list[Membership]:
    """Reports this person may decide, oldest first, with member and unit loaded;
    NotStaff for someone who may decide on none."""
    return list(await session.scalars(await _pending(session, telegram_id)))


async def pending_page(
    session: AsyncSession, telegram_id: int, page: int, page_size: int
) -> Page[Membership]:
    """One page of `pending_reports`."""
    return await page_of_rows(session, await _pending(session, telegram_id), page, page_size)


async def leave(session: AsyncSession, member: Member, unit_id: int, now: datetime) -> Membership:
    """The member leaves the unit, or withdraws a report still pending there."""
    for membership in await _open_memberships(session, member.id):
        if membership.org_unit_id == unit_id:
            values = {"status": MembershipStatus.left, "ended_at": now}
            await move_status(session, membership, membership.status, "membership.not_open", values)
            return membership
    raise NotFound("membership.not_found", f"member {member.id} is not in unit {unit_id}")


async def leave_unit(
    session: AsyncSession, telegram_id: int, unit_id: int, now: datetime
) -> Membership:
    """`leave`, for the member with this Telegram id."""
    member = await session.scalar(select(Member).where(Member.telegram_id == telegram_id))
    if member is None:
        raise NotFound("membership.not_found", f"{telegram_id} has no profile")
    return await leave(session, member, unit_id, now)


async def _end_by_secretary(
    session: AsyncSession,
    membership_id: int,
    by: int,
    status: MembershipStatus,
    now: datetime,
) -> Membership:
    membership = await get_membership(session, membership_id)
    await require(session, by, Permission.manage_members, membership.org_unit_id)
    values = {"status": status, "ended_at": now, "ended_by": by}
    await move_status(session, membership, MembershipStatus.active, "membership.not_active", values)
    told = [membership.member.telegram_id]
    notify_each(session, told, MembershipEnded(membership.unit), membership.unit)
    return membership


async def transfer_out(
    session: AsyncSession, membership_id: int, by: int, now: datetime
) -> Membership:
    """转出: the member's active membership ends because it moved to another organisation."""
    return await _end_by_secretary(session, membership_id, by, MembershipStatus.transferred, now)


async def remove_member(
    session: AsyncSession, membership_id: int, by: int, now: datetime
) -> Membership:
    """A secretary ends an active membership (status left, ended_by set)."""
    return await _end_by_secretary(session, membership_id, by, MembershipStatus.left, now)


async def memberships_of(session: AsyncSession, member: Member) -> list[Membership]:
    """Every membership of the member, oldest first, with units loaded."""
    rows = await session.scalars(
        select(Membership)
        .where(Membership.member_id == member.id)
        .options(selectinload(Membership.unit))
        .order_by(Membership.requested_at, Membership.id)
    )
    return list(rows)


async def active_member(session: AsyncSession, telegram_id: int) -> Member | None:
    """The member, if they have a profile and at least one active membership."""
    member = await get_member(session, telegram_id)
    if member is None or member.forgotten_at is not None:
        return None
    return member if await active_unit_ids(session, member.id) else None


# member id -> their active units
_active_units = SessionMemo[dict[int, frozenset[int]]]("active_units", dict, Membership)


async def active_unit_ids(session: AsyncSession, member_id: int) -> frozenset[int]:
    """The units where the member's membership is active.

    Read once per session (an update asks "is this a member?", then "of which units?"):
    a session that writes a membership, or rolls back, reads them again."""
    known = _active_units(session)
    units = known.get(member_id)
    if units is None:
        rows = await session.scalars(
            select(Membership.org_unit_id).where(
                Membership.member_id == member_id, Membership.status == MembershipStatus.active
            )
        )
        units = known[member_id] = frozenset(rows)
    return units

"""/mydata: everything stored about a person, as JSON-ready data (ISO 8601 times, UTC).

One query per table (joined with what names its rows), never one per row. Left out, as
the secretary's data rather than the member's: who decided on their reports and leave,
who changed their attendance record. Messages the bot sent them are listed with their
kind, times and fate, not their text (that is in their chat). Updates received from them
(kept a few days so that none is lost) are counted, not copied.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.account import Account
from models.activities import Activity, Participation
from models.attendance.record import outcome_of
from models.attendance.tables import AttendanceChange, CodeAttempts
from models.inbox import updates_from
from models.members import Member, Membership, get_member
from models.notices.follow_up import delivery_status, with_delivery
from models.notices.tables import Notice, NoticeRecipient
from models.org import OrgUnit
from models.outbox import Delivery
from models.permissions import RoleGrant

EXCERPT = 80  # characters of a notice's text that name it in the file


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _value(value: Any) -> Any:
    """An enum as its stored value; anything else as it is."""
    return getattr(value, "value", value)


def _excerpt(body_html: str) -> str:
    shown = " ".join(unescape(re.sub(r"<[^>]+>", "", body_html)).split())
    return shown if len(shown) <= EXCERPT else shown[: EXCERPT - 1] + "…"


async def has_personal_data(session: AsyncSession, telegram_id: int) -> bool:
    """Whether anything personal is stored about this Telegram user: a profile begun with
    consent, any row about them as a member, or a role. The account alone (the language
    chosen, kept for every person who writes) and the updates of the last days are not."""
    return await _personal(session, await get_member(session, telegram_id), telegram_id)


async def _personal(session: AsyncSession, member: Member | None, telegram_id: int) -> bool:
    if member is not None and (
        member.consent_at is not None
        or any((member.real_name, member.phone, member.home_branch, member.workplace))
        or member.member_type is not None
    ):
        return True
    found = [exists().where(RoleGrant.telegram_id == telegram_id)]
    if member is not None:
        found += [
            exists().where(table.member_id == member.id)
            for table in (
                Membership,
                Participation,
                AttendanceChange,
                NoticeRecipient,
                CodeAttempts,
            )
        ]
    return any((await session.execute(select(*found))).one())


async def export_data(session: AsyncSession, telegram_id: int) -> dict[str, Any] | None:
    """What /mydata sends this Telegram user; None when nothing personal is stored."""
    member = await get_member(session, telegram_id)
    if not await _personal(session, member, telegram_id):
        return None
    return await _export(session, member, telegram_id)


async def export_member_data(session: AsyncSession, member: Member) -> dict[str, Any]:
    """Everything stored about the member (also once forgotten: then what stays, anonymous)."""
    return await _export(session, member, member.telegram_id)


async def _export(
    session: AsyncSession, member: Member | None, telegram_id: int | None
) -> dict[str, Any]:
    units = {unit.id: unit for unit in await session.scalars(select(OrgUnit))}
    codes = {unit_id: unit.code for unit_id, unit in units.items()}
    data: dict[str, Any] = {
        "profile": _profile(member) if member is not None else None,
        "account": None,
        "memberships": [],
        "roles": [],
        "participations": [],
        "attendance_changes": [],
        "notices": [],
        "messages": [],
        "check_in_code_attempts": None,
        "updates_received": {"count": 0, "first_received_at": None, "last_received_at": None},
    }
    if member is not None:
        data["memberships"] = await _memberships(session, member, units)
        data["participations"] = await _participations(session, member, codes)
        data["attendance_changes"] = await _attendance_changes(session, member)
        data["notices"] = await _notices(session, member, codes)
        attempts = await session.get(CodeAttempts, member.id)
        if attempts is not None:
            data["check_in_code_attempts"] = {
                "failures": attempts.failures,
                "last_failed_at": _iso(attempts.last_failed_at),
            }
    if telegram_id is not None:
        data["account"] = await _account(session, telegram_id, codes)
        data["roles"] = await _roles(session, telegram_id, codes)
        data["messages"] = await _messages(session, telegram_id)
        count, first, last = await updates_from(session, telegram_id)
        data["updates_received"] = {
            "count": count,
            "first_received_at": _iso(first),
            "last_received_at": _iso(last),
        }
    return data


def _profile(member: Member) -> dict[str, Any]:
    return {
        "telegram_id": member.telegram_id,
        "consent_at": _iso(member.consent_at),
        "real_name": member.real_name,
        "phone": member.phone,
        "member_type": _value(member.member_type),
        "home_branch": member.home_branch,
        "workplace": member.workplace,
        "created_at": _iso(member.created_at),
        "updated_at": _iso(member.updated_at),
        "forgotten_at": _iso(member.forgotten_at),
        "unreachable_at": _iso(member.unreachable_at),
    }


async def _account(
    session: AsyncSession, telegram_id: int, codes: dict[int, str]
) -> dict[str, Any] | None:
    account = await session.get(Account, telegram_id)
    if account is None:
        return None
    return {
        "language": account.language,
        "telegram_language": account.telegram_language,
        "created_at": _iso(account.created_at),
        "last_seen_at": _iso(account.last_seen_at),
        # A question of the bot's still waiting for an answer, and what it gathered so far.
        "open_question": account.awaiting,
        "answers_so_far": account.draft,
        "report_to_unit_code": codes.get(account.report_unit_id)
        if account.report_unit_id
        else None,
    }


async def _memberships(
    session: AsyncSession, member: Member, units: dict[int, OrgUnit]
) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Membership)
        .where(Membership.member_id == member.id)
        .order_by(Membership.requested_at, Membership.id)
    )
    return [
        {
            "unit_code": units[m.org_unit_id].code,
            "unit_name_zh": units[m.org_unit_id].name_zh,
            "unit_name_en": units[m.org_unit_id].name_en,
            "kind": _value(m.kind),
            "status": _value(m.status),
            "via": _value(m.via),
            "requested_at": _iso(m.requested_at),
            "decided_at": _iso(m.decided_at),
            "reject_reason": m.reject_reason,
            "ended_at": _iso(m.ended_at),
        }
        for m in rows
    ]


async def _roles(
    session: AsyncSession, telegram_id: int, codes: dict[int, str]
) -> list[dict[str, Any]]:
    grants = await session.scalars(
        select(RoleGrant).where(RoleGrant.telegram_id == telegram_id).order_by(RoleGrant.id)
    )
    return [
        {
            "role": _value(g.role),
            "unit_code": codes.get(g.org_unit_id) if g.org_unit_id else None,
            "granted_at": _iso(g.granted_at),
        }
        for g in grants
    ]


async def _participations(
    session: AsyncSession, member: Member, codes: dict[int, str]
) -> list[dict[str, Any]]:
    """Each activity they signed up for, answered, asked leave from, attended or missed."""
    rows = await session.execute(
        select(Participation, Activity)
        .join(Activity, Activity.id == Participation.activity_id)
        .where(Participation.member_id == member.id)
        .order_by(Activity.starts_at, Activity.id)
    )
    found = []
    for p, activity in rows:
        # The outcome counts once the record is closed (the activity ended); not before.
        outcome = outcome_of(activity, p) if activity.record_closed_at is not None else None
        found.append(
            {
                "activity_id": activity.id,
                "activity_title": activity.title,
                "activity_kind": _value(activity.kind),
                "unit_code": codes.get(activity.org_unit_id),
                "starts_at": _iso(activity.starts_at),
                "ends_at": _iso(activity.ends_at),
                "activity_cancelled": activity.cancelled_at is not None,
                "status": _value(p.status),
                "outcome": _value(outcome),
                "queue_number": p.queue_number,
                "queued_at": _iso(p.queued_at),
                "pledge_amount": p.pledge_amount,
                "pledge_kind": _value(activity.pledge_kind) if p.pledge_amount else None,
                "leave_reason": p.leave_reason,
                "decided_at": _iso(p.decided_at),
                "responded_at": _iso(p.responded_at),
                "nudged_at": _iso(p.nudged_at),
                "checked_in_at": _iso(p.checked_in_at),
                "check_in_method": _value(p.check_in_method),
                "checked_in_latitude": p.checked_in_latitude,
                "checked_in_longitude": p.checked_in_longitude,
                "checked_out_at": _iso(p.checked_out_at),
                "saplings_planted": p.saplings_planted,
                "walk_in": p.walk_in,
                "made_up_reported_at": _iso(p.made_up_reported_at),
                "made_up_note": p.made_up_note,
                "created_at": _iso(p.created_at),
                "updated_at": _iso(p.updated_at),
            }
        )
    return found


async def _attendance_changes(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    """Every change of their attendance record: what, before and after, why, when."""
    rows = await session.execute(
        select(AttendanceChange, Activity.title)
        .join(Activity, Activity.id == AttendanceChange.activity_id)
        .where(AttendanceChange.member_id == member.id)
        .order_by(AttendanceChange.changed_at, AttendanceChange.id)
    )
    return [
        {
            "activity_id": change.activity_id,
            "activity_title": title,
            "action": _value(change.action),
            "before": change.before,
            "after": change.after,
            "reason": change.reason,
            "changed_at": _iso(change.changed_at),
        }
        for change, title in rows
    ]


async def _notices(
    session: AsyncSession, member: Member, codes: dict[int, str]
) -> list[dict[str, Any]]:
    """The notices sent to them: which, when, whether it reached them, when they
    acknowledged it."""
    rows = await session.execute(
        with_delivery(
            select(
                NoticeRecipient,
                Notice,
                delivery_status(),
                func.coalesce(Delivery.sent_at, NoticeRecipient.delivered_at),
            ).join(Notice, Notice.id == NoticeRecipient.notice_id)
        )
        .where(NoticeRecipient.member_id == member.id)
        .order_by(Notice.sent_at, Notice.id)
    )
    return [
        {
            "notice_id": notice.id,
            "unit_code": codes.get(notice.org_unit_id),
            "excerpt": _excerpt(notice.body_html),
            "sent_at": _iso(notice.sent_at),
            "acknowledgement_asked": notice.ack_required,
            "ack_deadline": _iso(notice.ack_deadline),
            "withdrawn_at": _iso(notice.withdrawn_at),
            "delivery": _value(status),
            "delivered_at": _iso(delivered_at),
            "acknowledged_at": _iso(recipient.acknowledged_at),
            "reminded_at": _iso(recipient.reminded_at),
        }
        for recipient, notice, status, delivered_at in rows
    ]


async def _messages(session: AsyncSession, telegram_id: int) -> list[dict[str, Any]]:
    """What the bot sent them on its own, or will: what kind, when, what became of it."""
    rows = await session.scalars(
        select(Delivery)
        .where(Delivery.chat_id == telegram_id)
        .order_by(Delivery.created_at, Delivery.id)
    )
    return [
        {
            "kind": d.kind,
            "created_at": _iso(d.created_at),
            "due_at": _iso(d.due_at),
            "status": _value(d.status),
            "sent_at": _iso(d.sent_at),
        }
        for d in rows
    ]

"""The member's own data: export_member_data, and forget_member (the right to be forgotten)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.account import Account
from models.members.reporting import memberships_of
from models.members.tables import OPEN_STATUSES, Member, Membership, MembershipStatus
from models.org import OrgUnit
from models.permissions import RoleGrant


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _profile_data(member: Member) -> dict[str, Any]:
    """The member's own row, for export_member_data."""
    return {
        "telegram_id": member.telegram_id,
        "consent_at": _iso(member.consent_at),
        "real_name": member.real_name,
        "phone": member.phone,
        "member_type": member.member_type.value if member.member_type else None,
        "home_branch": member.home_branch,
        "workplace": member.workplace,
        "created_at": _iso(member.created_at),
        "updated_at": _iso(member.updated_at),
        "forgotten_at": _iso(member.forgotten_at),
        "unreachable_at": _iso(member.unreachable_at),
    }


async def export_member_data(session: AsyncSession, member: Member) -> dict[str, Any]:
    """Everything stored about the member, as JSON-ready data (ISO 8601 times, UTC).

    Who decided on their reports is left out: that is the secretary's data.
    """
    account = (
        await session.get(Account, member.telegram_id) if member.telegram_id is not None else None
    )
    grants: list[RoleGrant] = []
    if member.telegram_id is not None:
        grants = list(
            await session.scalars(
                select(RoleGrant)
                .where(RoleGrant.telegram_id == member.telegram_id)
                .order_by(RoleGrant.id)
            )
        )
    unit_codes = {
        unit_id: code for unit_id, code in await session.execute(select(OrgUnit.id, OrgUnit.code))
    }
    return {
        "profile": _profile_data(member),
        "account": None
        if account is None
        else {
            "language": account.language,
            "created_at": _iso(account.created_at),
            "last_seen_at": _iso(account.last_seen_at),
        },
        "memberships": [
            {
                "unit_code": m.unit.code,
                "unit_name_zh": m.unit.name_zh,
                "unit_name_en": m.unit.name_en,
                "kind": m.kind.value,
                "status": m.status.value,
                "via": m.via.value,
                "requested_at": _iso(m.requested_at),
                "decided_at": _iso(m.decided_at),
                "reject_reason": m.reject_reason,
                "ended_at": _iso(m.ended_at),
            }
            for m in await memberships_of(session, member)
        ],
        "roles": [
            {
                "role": g.role.value,
                "unit_code": unit_codes.get(g.org_unit_id) if g.org_unit_id else None,
                "granted_at": _iso(g.granted_at),
            }
            for g in grants
        ],
    }


async def forget_member(session: AsyncSession, member: Member, now: datetime) -> None:
    """Erase the member's personal data (right to be forgotten); forgetting twice is a no-op.

    Memberships stay, ended, so the branch's statistics keep an anonymous record;
    the member type stays too, for the same statistics. Their account (language
    choice) and role grants are deleted.
    """
    if member.forgotten_at is not None:
        return
    await session.execute(
        update(Membership)
        .where(Membership.member_id == member.id, Membership.status.in_(OPEN_STATUSES))
        .values(status=MembershipStatus.left, ended_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if member.telegram_id is not None:
        await session.execute(delete(RoleGrant).where(RoleGrant.telegram_id == member.telegram_id))
        await session.execute(delete(Account).where(Account.id == member.telegram_id))
    member.telegram_id = None
    member.consent_at = None
    member.real_name = None
    member.phone = None
    member.home_branch = None
    member.workplace = None
    member.unreachable_at = None
    member.forgotten_at = now
    member.updated_at = now
    await session.flush()

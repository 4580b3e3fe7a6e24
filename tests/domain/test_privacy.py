"""A member's own data: export everything, and forget them."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.account import Account, set_language
from models.members import (
    Member,
    MembershipStatus,
    MemberType,
    approve_report,
    export_member_data,
    floating_register,
    forget_member,
    get_member,
    memberships_of,
    report,
    roster,
    set_workplace,
)
from models.org import OrgUnit
from models.permissions import Role, RoleGrant, grant_role, roles_of
from tests.domain.conftest import NOW, make_member

TELEGRAM_ID = 6_100_000_123
LATER = NOW + timedelta(days=30)


async def _stored_member(session: AsyncSession, units: dict[str, OrgUnit]) -> Member:
    member = await make_member(session, TELEGRAM_ID, "王小明", MemberType.floating, "长沙某支部")
    set_workplace(member, "湛江华都汇购物中心")
    await set_language(session, TELEGRAM_ID, "en")
    await grant_role(session, 1, Role.admin, None, None)
    primary = await report(session, member, units["huaduhui"], now=NOW)
    await approve_report(session, primary.id, 1, NOW)
    await report(session, member, units["haibinbei-community"], kind="community", now=NOW)
    await grant_role(session, TELEGRAM_ID, Role.organizer, units["huaduhui"].id, 1)
    return member


async def test_export_contains_everything_stored(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    member = await _stored_member(session, units)
    data = await export_member_data(session, member)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data  # JSON as it is
    profile = data["profile"]
    assert profile["telegram_id"] == TELEGRAM_ID
    assert (profile["real_name"], profile["phone"]) == ("王小明", "+8613800138000")
    assert (profile["member_type"], profile["home_branch"]) == ("floating", "长沙某支部")
    assert profile["workplace"] == "湛江华都汇购物中心"
    assert profile["consent_at"] == NOW.isoformat()
    assert data["account"]["language"] == "en"
    assert data["memberships"] == [
        {
            "unit_code": "huaduhui",
            "unit_name_zh": "湛江华都汇商圈党支部",
            "unit_name_en": "Zhanjiang Huaduhui Commercial District Branch",
            "kind": "primary",
            "status": "active",
            "via": "invite",
            "requested_at": NOW.isoformat(),
            "decided_at": NOW.isoformat(),
            "reject_reason": None,
            "ended_at": None,
        },
        {
            "unit_code": "haibinbei-community",
            "unit_name_zh": "海滨北社区党委",
            "unit_name_en": "Haibin North Community Committee",
            "kind": "community",
            "status": "pending",
            "via": "invite",
            "requested_at": NOW.isoformat(),
            "decided_at": None,
            "reject_reason": None,
            "ended_at": None,
        },
    ]
    assert [(r["role"], r["unit_code"]) for r in data["roles"]] == [("organizer", "huaduhui")]


async def test_forget_erases_the_person_and_keeps_anonymous_memberships(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    member = await _stored_member(session, units)
    await forget_member(session, member, LATER)
    await forget_member(session, member, LATER + timedelta(days=1))  # twice is harmless

    assert await get_member(session, TELEGRAM_ID) is None
    assert (member.real_name, member.phone, member.home_branch, member.workplace) == (
        None,
        None,
        None,
        None,
    )
    assert (member.telegram_id, member.consent_at, member.forgotten_at) == (None, None, LATER)
    assert await session.get(Account, TELEGRAM_ID) is None
    assert await roles_of(session, TELEGRAM_ID) == []
    assert await session.scalar(select(func.count()).select_from(RoleGrant)) == 1  # the admin

    memberships = await memberships_of(session, member)
    assert [(m.unit.code, m.status, m.ended_at) for m in memberships] == [
        ("huaduhui", MembershipStatus.left, LATER),
        ("haibinbei-community", MembershipStatus.left, LATER),
    ]
    assert (await roster(session, 1, units["huaduhui"].id)).total == 0
    assert await floating_register(session, 1, units["huaduhui"].id) == []
    exported = await export_member_data(session, member)
    assert exported["profile"]["real_name"] is None and exported["roles"] == []
    assert exported["account"] is None
    assert len(exported["memberships"]) == 2

    # Stored as erased, not only in this session's objects.
    member_id = member.id
    session.expire_all()
    stored = await session.get(Member, member_id)
    assert stored is not None
    assert (stored.real_name, stored.phone, stored.telegram_id) == (None, None, None)
    assert stored.member_type is MemberType.floating  # kept, for the statistics

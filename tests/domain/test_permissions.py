"""The one permission check, against every role, for every permission."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import InvalidInput, NotFound, PermissionDenied
from models.org import OrgUnit
from models.permissions import (
    Permission,
    Role,
    RoleGrant,
    can,
    grant_role,
    managed_unit_ids,
    require,
    revoke_role,
    roles_of,
)
from tests.domain.conftest import make_member

ADMIN, SECRETARY, ANCESTOR_SECRETARY, FOREIGN_SECRETARY, ORGANIZER, MEMBER, NOBODY = (
    1001,
    1002,
    1003,
    1004,
    1005,
    1006,
    1007,
)
EVERYTHING_BUT_APPOINTING = set(Permission) - {Permission.appoint_roles}
ORGANIZER_PERMISSIONS = {
    Permission.view_roster,
    Permission.manage_activities,
    Permission.broadcast,
}
# Who may do what on wanda-plaza.
EXPECTED = {
    ADMIN: set(Permission),
    SECRETARY: EVERYTHING_BUT_APPOINTING,
    ANCESTOR_SECRETARY: EVERYTHING_BUT_APPOINTING,
    FOREIGN_SECRETARY: set(),
    ORGANIZER: ORGANIZER_PERMISSIONS,
    MEMBER: set(),
    NOBODY: set(),
}


@pytest.fixture
async def people(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    await grant_role(session, ADMIN, Role.admin, None, granted_by=None)
    await grant_role(session, SECRETARY, Role.secretary, units["wanda-plaza"].id, ADMIN)
    await grant_role(session, ANCESTOR_SECRETARY, Role.secretary, units["lehua-street"].id, ADMIN)
    await grant_role(session, FOREIGN_SECRETARY, Role.secretary, units["tech-incubator"].id, ADMIN)
    await grant_role(session, ORGANIZER, Role.organizer, units["wanda-plaza"].id, ADMIN)
    await make_member(session, MEMBER)


@pytest.mark.usefixtures("people")
async def test_every_role_against_every_permission(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"].id
    allowed = {
        who: {p for p in Permission if await can(session, who, p, wanda)} for who in EXPECTED
    }
    assert allowed == EXPECTED


@pytest.mark.usefixtures("people")
async def test_grants_cover_the_unit_and_below_never_above_or_beside(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    def ids(*codes: str) -> set[int]:
        return {units[code].id for code in codes}

    async def covered(who: int) -> set[int]:
        return {
            unit.id
            for unit in units.values()
            if await can(session, who, Permission.view_roster, unit.id)
        }

    assert await covered(ADMIN) == ids(*units)
    assert await covered(ANCESTOR_SECRETARY) == ids(
        "lehua-street", "haibinbei-community", "wanda-plaza", "huaduhui", "lejin-community"
    )
    assert await covered(SECRETARY) == ids("wanda-plaza")
    assert await covered(ORGANIZER) == ids("wanda-plaza")
    assert await covered(FOREIGN_SECRETARY) == ids("tech-incubator")
    assert await covered(NOBODY) == set()
    # The whole tree (unit None) is for admins only.
    assert await can(session, ADMIN, Permission.broadcast, None)
    assert not await can(session, ANCESTOR_SECRETARY, Permission.broadcast, None)


@pytest.mark.usefixtures("people")
async def test_require_raises_permission_denied(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"].id
    await require(session, SECRETARY, Permission.approve_reports, wanda)
    with pytest.raises(PermissionDenied) as caught:
        await require(session, ORGANIZER, Permission.approve_reports, wanda)
    assert caught.value.code == "permission.denied"
    assert caught.value.permission == Permission.approve_reports
    assert caught.value.unit_id == wanda
    assert caught.value.telegram_id == ORGANIZER


@pytest.mark.usefixtures("people")
async def test_managed_unit_ids(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    assert await managed_unit_ids(session, ADMIN) is None
    assert await managed_unit_ids(session, ANCESTOR_SECRETARY) == {
        units[c].id
        for c in (
            "lehua-street",
            "haibinbei-community",
            "wanda-plaza",
            "huaduhui",
            "lejin-community",
        )
    }
    assert await managed_unit_ids(session, ORGANIZER) == {units["wanda-plaza"].id}
    assert await managed_unit_ids(session, ORGANIZER, Permission.approve_reports) == set()
    assert await managed_unit_ids(session, NOBODY) == set()


async def test_grant_is_idempotent_and_revoke_takes_it_away(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"].id
    admin = await grant_role(session, ADMIN, Role.admin, None, granted_by=None)
    assert (await grant_role(session, ADMIN, Role.admin, None, granted_by=None)).id == admin.id
    first = await grant_role(session, SECRETARY, "secretary", wanda, granted_by=ADMIN)
    again = await grant_role(session, SECRETARY, Role.secretary, wanda, granted_by=ADMIN)
    assert again.id == first.id and again.granted_by == ADMIN
    count = await session.scalar(select(func.count()).select_from(RoleGrant))
    assert count == 2
    assert [g.role for g in await roles_of(session, SECRETARY)] == [Role.secretary]

    await revoke_role(session, SECRETARY, Role.secretary, wanda)
    assert await roles_of(session, SECRETARY) == []
    assert not await can(session, SECRETARY, Permission.view_roster, wanda)
    with pytest.raises(NotFound) as caught:
        await revoke_role(session, SECRETARY, Role.secretary, wanda)
    assert caught.value.code == "role.not_granted"


@pytest.mark.parametrize(
    ("role", "with_unit", "reason"),
    [
        ("admin", True, "role.admin_has_no_unit"),
        ("secretary", False, "role.unit_required"),
        ("organizer", False, "role.unit_required"),
        ("chairman", True, "role.invalid"),
    ],
)
async def test_grant_checks_role_and_unit(
    session: AsyncSession, units: dict[str, OrgUnit], role: str, with_unit: bool, reason: str
) -> None:
    unit_id = units["wanda-plaza"].id if with_unit else None
    with pytest.raises(InvalidInput) as caught:
        await grant_role(session, SECRETARY, role, unit_id, granted_by=None)
    assert caught.value.code == reason
    assert await roles_of(session, SECRETARY) == []


async def test_grant_on_a_missing_unit_is_not_found(session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await grant_role(session, SECRETARY, Role.secretary, 424242, granted_by=None)


async def test_database_refuses_an_admin_bound_to_a_unit_and_duplicate_admins(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            session.add(RoleGrant(telegram_id=1, role=Role.admin, org_unit_id=units["huaduhui"].id))
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            session.add(RoleGrant(telegram_id=1, role=Role.secretary, org_unit_id=None))
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            session.add(RoleGrant(telegram_id=1, role=Role.admin))
            session.add(RoleGrant(telegram_id=1, role=Role.admin))


async def test_only_those_who_may_appoint_grant_roles(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    """grant_role checks the granter itself: a secretary or a stranger appoints nobody."""
    wanda = units["wanda-plaza"].id
    await grant_role(session, SECRETARY, Role.secretary, wanda, granted_by=None)
    for granter in (SECRETARY, NOBODY):
        with pytest.raises(PermissionDenied):
            await grant_role(session, MEMBER, Role.organizer, wanda, granted_by=granter)
        with pytest.raises(PermissionDenied):
            await grant_role(session, MEMBER, Role.admin, None, granted_by=granter)
    assert await roles_of(session, MEMBER) == []

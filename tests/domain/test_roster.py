"""Rosters (filters, pages) and the floating-member register."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import InvalidInput, NotFound
from models.members import (
    MembershipStatus,
    MemberType,
    RosterFilter,
    approve_report,
    floating_register,
    leave,
    reject_report,
    report,
    roster,
)
from models.org import OrgUnit
from models.permissions import Role, grant_role
from tests.domain.conftest import NOW, make_member

ADMIN = 3000
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


async def _active(
    session: AsyncSession, unit: OrgUnit, telegram_id: int, name: str, kind: MemberType
) -> None:
    member = await make_member(session, telegram_id, name, kind)
    membership = await report(session, member, unit, now=NOW)
    await approve_report(session, membership.id, ADMIN, NOW)


@pytest.fixture
async def populated(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    """wanda-plaza: 12 regular, 8 floating, 3 undeclared; huaduhui: 2 floating; one pending."""
    await grant_role(session, ADMIN, Role.admin, None, None)
    kinds = [MemberType.regular] * 12 + [MemberType.floating] * 8 + [MemberType.undeclared] * 3
    for i, kind in enumerate(kinds):
        await _active(session, units["wanda-plaza"], 100 + i, f"Wanda {LETTERS[i]}", kind)
    for i in range(2):
        await _active(session, units["huaduhui"], 200 + i, f"Hua {LETTERS[i]}", MemberType.floating)
    waiting = await make_member(session, 300, "Waiting", MemberType.floating)
    await report(session, waiting, units["wanda-plaza"], now=NOW)


pytestmark = pytest.mark.usefixtures("populated")


async def test_roster_filters(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    wanda = units["wanda-plaza"].id
    totals = {f: (await roster(session, ADMIN, wanda, f)).total for f in RosterFilter}
    assert totals == {
        RosterFilter.all: 23,
        RosterFilter.regular: 12,
        RosterFilter.floating: 8,
        RosterFilter.undeclared: 3,
    }
    floating = await roster(session, ADMIN, wanda, "floating", page_size=50)
    assert {m.member_type for m in floating.items} == {MemberType.floating}
    assert "Waiting" not in {m.real_name for m in floating.items}  # pending is not on it
    with pytest.raises(InvalidInput) as caught:
        await roster(session, ADMIN, wanda, "everyone")
    assert caught.value.code == "roster.bad_filter"
    with pytest.raises(NotFound):
        await roster(session, ADMIN, 999_999)


async def test_roster_pages_in_name_order(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    wanda = units["wanda-plaza"].id
    pages = [await roster(session, ADMIN, wanda, page=n) for n in (1, 2, 3)]
    assert [(p.page, p.pages, p.total, len(p.items)) for p in pages] == [
        (1, 3, 23, 10),
        (2, 3, 23, 10),
        (3, 3, 23, 3),
    ]
    names = [m.real_name for p in pages for m in p.items]
    assert names == [f"Wanda {LETTERS[i]}" for i in range(23)]
    beyond = await roster(session, ADMIN, wanda, page=9)  # an old button after members left
    assert (beyond.page, [m.real_name for m in beyond.items]) == (3, names[20:])
    assert (await roster(session, ADMIN, wanda, page=0)).page == 1


async def test_roster_includes_units_below(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    community = await roster(session, ADMIN, units["haibinbei-community"].id, page_size=100)
    assert community.total == 25
    assert {"Hua A", "Hua B", "Wanda A"} <= {m.real_name for m in community.items}
    assert (await roster(session, ADMIN, units["huaduhui"].id)).total == 2
    empty = await roster(session, ADMIN, units["tech-incubator"].id)
    assert (empty.total, empty.page, empty.pages, empty.items) == (0, 1, 1, [])


async def test_a_member_who_left_is_off_the_roster(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"]
    leaver = await make_member(session, 400, "Leaver", MemberType.regular)
    membership = await report(session, leaver, wanda, now=NOW)
    await approve_report(session, membership.id, ADMIN, NOW)
    assert (await roster(session, ADMIN, wanda.id, "regular")).total == 13
    await leave(session, leaver, wanda.id, NOW)
    assert (await roster(session, ADMIN, wanda.id, "regular")).total == 12


async def test_floating_register_rows(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    wanda = units["wanda-plaza"]
    turned_down = await make_member(session, 500, "Rejected", MemberType.floating)
    membership = await report(session, turned_down, units["huaduhui"], now=NOW)
    await reject_report(session, membership.id, ADMIN, "不在本商圈", NOW)

    rows = await floating_register(session, ADMIN, wanda.id)
    assert len(rows) == 9  # 8 active and 1 pending; regular members are not on it
    first = rows[0]
    assert (first.name, first.phone, first.unit_code) == ("Waiting", "+8613800138000", wanda.code)
    assert first.unit_name == "湛江万达广场商圈党支部"
    assert first.home_branch == "湖南省长沙市某社区党支部"
    assert (first.status, first.reported_at, first.approved_at) == (
        MembershipStatus.pending,
        NOW,
        None,
    )
    active = [r for r in rows if r.status is MembershipStatus.active]
    assert [r.name for r in active] == [f"Wanda {LETTERS[i]}" for i in range(12, 20)]
    assert all(r.approved_at == NOW for r in active)

    everything = await floating_register(session, ADMIN, units["zhanjiang-edz"].id, language="en")
    assert len(everything) == 11  # rejected reports are left out
    assert {r.unit_code for r in everything} == {"wanda-plaza", "huaduhui"}
    hua = [r for r in everything if r.unit_code == "huaduhui"]
    assert hua[0].unit_name == "Zhanjiang Huaduhui Commercial District Branch"

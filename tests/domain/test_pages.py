"""Long lists read a page at a time from the database (models.paging.page_of_rows): the pages
of reports waiting, of members who cannot be reached and of an activity's people are their
whole lists cut in order, and a page number out of range gives the nearest page."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    ParticipationStatus,
    create_activity,
    participations_of,
    participations_page,
    sign_up,
)
from models.errors import NotStaff
from models.members import Member, approve_report, pending_page, pending_reports, report
from models.org import OrgUnit
from models.staff import unreachable_members, unreachable_page
from tests.domain.conftest import NOW, make_member
from tests.domain.test_activities_support import SECRETARY, draft, grant_staff

ADMIN = 2000  # test_activities_support's
ELEVEN = 11  # two pages of 5 and one of 1
STEMS = "甲乙丙丁戊己庚辛壬癸子"  # names hold no digits


@pytest.fixture
async def members(session: AsyncSession, units: dict[str, OrgUnit]) -> list[Member]:
    await grant_staff(session, units)
    return [await make_member(session, 100 + n, f"成员{STEMS[n]}") for n in range(ELEVEN)]


def cut(whole: list[object], size: int) -> list[list[object]]:
    return [whole[start : start + size] for start in range(0, len(whole), size)]


async def test_reports_waiting_a_page_at_a_time(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    for member in members:
        await report(session, member, units["wanda-plaza"], now=NOW)
    whole = await pending_reports(session, SECRETARY)
    pages = [await pending_page(session, SECRETARY, n, 5) for n in (1, 2, 3)]
    assert [page.items for page in pages] == cut(whole, 5)
    assert [(p.total, p.page, p.pages, p.offset) for p in pages[1:]] == [
        (ELEVEN, 2, 3, 5),
        (ELEVEN, 3, 3, 10),
    ]
    assert (await pending_page(session, SECRETARY, 0, 5)).items == whole[:5]
    assert (await pending_page(session, SECRETARY, 9999, 5)).items == whole[10:]
    assert (await pending_page(session, SECRETARY, 1, ELEVEN)).pages == 1  # exactly one
    with pytest.raises(NotStaff):
        await pending_page(session, 4242, 1, 5)


async def test_members_who_cannot_be_reached_a_page_at_a_time(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    for member in members:
        membership = await report(session, member, units["wanda-plaza"], now=NOW)
        await approve_report(session, membership.id, ADMIN, NOW)
        member.unreachable_at = NOW
    await session.flush()
    whole = await unreachable_members(session, SECRETARY)
    assert len(whole) == ELEVEN
    pages = [await unreachable_page(session, SECRETARY, n, 5) for n in (1, 2, 3)]
    assert [page.items for page in pages] == cut(whole, 5)
    assert (await unreachable_page(session, SECRETARY, 4, 5)).items == whole[10:]
    members[0].unreachable_at = None  # reachable again: one fewer, on two pages
    await session.flush()
    shorter = await unreachable_page(session, SECRETARY, 3, 5)
    assert (shorter.total, shorter.page, shorter.pages) == (ELEVEN - 1, 2, 2)


async def test_an_activitys_people_a_page_at_a_time(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    for member in members:
        membership = await report(session, member, units["wanda-plaza"], now=NOW)
        await approve_report(session, membership.id, ADMIN, NOW)
    activity = await create_activity(
        session, SECRETARY, units["wanda-plaza"].id, draft(capacity=4), NOW
    )
    for member in members:
        await sign_up(session, activity.id, member, NOW)
    waitlisted = {ParticipationStatus.waitlisted}
    whole = await participations_of(session, activity.id, waitlisted)
    assert len(whole) == ELEVEN - 4
    pages = [await participations_page(session, activity.id, waitlisted, n, 5) for n in (1, 2)]
    assert [page.items for page in pages] == cut(whole, 5)  # in waitlist order
    empty = await participations_page(session, activity.id, {ParticipationStatus.excused}, 3, 5)
    assert (empty.items, empty.total, empty.page, empty.pages) == ([], 0, 1, 1)

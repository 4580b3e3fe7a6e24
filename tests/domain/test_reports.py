"""Reporting to a branch (报到): the state machine and its rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import (
    InvalidInput,
    InvalidState,
    NotFound,
    NotStaff,
    PermissionDenied,
    PrimaryElsewhere,
)
from models.members import (
    MembershipKind,
    MembershipStatus,
    Via,
    approve_report,
    get_membership,
    leave,
    memberships_of,
    pending_reports,
    reject_report,
    remove_member,
    report,
    start_profile,
    transfer_out,
)
from models.org import OrgUnit
from models.permissions import Role, grant_role
from tests.conftest import Database
from tests.domain.conftest import NOW, example_org, make_member

SECRETARY, OTHER_SECRETARY, ORGANIZER, COMMITTEE_SECRETARY = 2001, 2002, 2003, 2004
LATER = NOW + timedelta(hours=2)


@pytest.fixture
async def staff(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    await grant_role(session, SECRETARY, Role.secretary, units["wanda-plaza"].id, None)
    await grant_role(session, OTHER_SECRETARY, Role.secretary, units["tech-incubator"].id, None)
    await grant_role(session, ORGANIZER, Role.organizer, units["wanda-plaza"].id, None)
    await grant_role(session, COMMITTEE_SECRETARY, Role.secretary, units["zhanjiang-edz"].id, None)


pytestmark = pytest.mark.usefixtures("staff")


async def test_report_then_approve(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    member = await make_member(session, 1)
    pending = await report(session, member, units["wanda-plaza"], now=NOW)
    assert (pending.status, pending.kind, pending.via) == (
        MembershipStatus.pending,
        MembershipKind.primary,
        Via.invite,
    )
    assert pending.requested_at == NOW and pending.decided_at is None

    approved = await approve_report(session, pending.id, SECRETARY, LATER)
    assert approved.status is MembershipStatus.active
    assert (approved.decided_at, approved.decided_by) == (LATER, SECRETARY)
    membership_id = pending.id
    session.expire_all()
    stored = await get_membership(session, membership_id)
    assert stored.status is MembershipStatus.active and stored.decided_at == LATER


async def test_report_then_reject_with_a_reason(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    member = await make_member(session, 1)
    pending = await report(session, member, units["wanda-plaza"], now=NOW)
    for reason, code in (("  ", "reason.empty"), ("因" * 201, "reason.too_long")):
        with pytest.raises(InvalidInput) as caught:
            await reject_report(session, pending.id, SECRETARY, reason, LATER)
        assert caught.value.code == code
    assert pending.status is MembershipStatus.pending
    rejected = await reject_report(session, pending.id, SECRETARY, " 请先联系书记 ", LATER)
    assert rejected.status is MembershipStatus.rejected
    assert rejected.reject_reason == "请先联系书记"
    # Rejected is not open: the member may report again.
    again = await report(session, member, units["wanda-plaza"], now=LATER)
    assert again.status is MembershipStatus.pending and again.id != pending.id


async def test_a_second_decision_is_refused(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    member = await make_member(session, 1)
    pending = await report(session, member, units["wanda-plaza"], now=NOW)
    await approve_report(session, pending.id, SECRETARY, LATER)
    for decide in (
        approve_report(session, pending.id, COMMITTEE_SECRETARY, LATER),
        reject_report(session, pending.id, COMMITTEE_SECRETARY, "too late", LATER),
    ):
        with pytest.raises(InvalidState) as caught:
            await decide
        assert caught.value.code == "report.already_decided"
    stored = await get_membership(session, pending.id)
    assert (stored.status, stored.decided_by) == (MembershipStatus.active, SECRETARY)


# On SQLite the second secretary's transaction waits for the first one's at BEGIN
# (models.db), so it reads the decided report; the interleaving below is PostgreSQL's.
@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_two_secretaries_at_once_only_one_decides(
    database: Database, session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    """Both load the pending report; the second to write is refused, whatever it read."""
    await session.commit()  # the tree and the staff, visible to the other sessions
    async with database.sessions() as first, first.begin():
        member = await make_member(first, 1)
        membership_id = (
            await report(first, member, await first.merge(units["huaduhui"]), now=NOW)
        ).id
    async with database.sessions() as a, database.sessions() as b:
        async with a.begin():
            seen_by_b = await get_membership(b, membership_id)  # b reads: pending
            assert seen_by_b.status is MembershipStatus.pending
            await approve_report(a, membership_id, COMMITTEE_SECRETARY, LATER)
        with pytest.raises(InvalidState) as caught:
            await reject_report(b, membership_id, COMMITTEE_SECRETARY, "no", LATER)
        assert caught.value.code == "report.already_decided"
        await b.rollback()
    async with database.sessions() as check:
        stored = await get_membership(check, membership_id)
        assert stored.status is MembershipStatus.active


async def test_deciding_needs_approve_reports_on_that_unit(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    member = await make_member(session, 1)
    pending = await report(session, member, units["wanda-plaza"], now=NOW)
    for who in (OTHER_SECRETARY, ORGANIZER, 1):
        with pytest.raises(PermissionDenied):
            await approve_report(session, pending.id, who, LATER)
        with pytest.raises(PermissionDenied):
            await reject_report(session, pending.id, who, "no", LATER)
    assert pending.status is MembershipStatus.pending
    # A secretary of a committee above decides for the branches below it.
    await approve_report(session, pending.id, COMMITTEE_SECRETARY, LATER)
    assert pending.status is MembershipStatus.active
    with pytest.raises(NotFound) as caught:
        await approve_report(session, 999_999, SECRETARY, LATER)
    assert caught.value.code == "report.not_found"


async def test_report_preconditions(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    incomplete = await start_profile(session, 7, NOW)
    with pytest.raises(InvalidState) as caught:
        await report(session, incomplete, units["wanda-plaza"], now=NOW)
    assert caught.value.code == "profile.incomplete"

    member = await make_member(session, 1)
    for unit in ("haibinbei-community", "lehua-street"):
        with pytest.raises(InvalidState) as caught:
            await report(session, member, units[unit], now=NOW)
        assert caught.value.code == "report.not_a_branch"
    with pytest.raises(InvalidState) as caught:
        await report(session, member, units["huaduhui"], kind=MembershipKind.community, now=NOW)
    assert caught.value.code == "report.not_a_community"
    assert await memberships_of(session, member) == []

    member.forgotten_at = NOW
    with pytest.raises(InvalidState) as caught:
        await report(session, member, units["wanda-plaza"], now=NOW)
    assert caught.value.code == "member.forgotten"


async def test_already_pending_or_active_there(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    member = await make_member(session, 1)
    pending = await report(session, member, units["wanda-plaza"], now=NOW)
    with pytest.raises(InvalidState) as caught:
        await report(session, member, units["wanda-plaza"], now=LATER)
    assert caught.value.code == "report.already_pending"
    await approve_report(session, pending.id, SECRETARY, LATER)
    with pytest.raises(InvalidState) as caught:
        await report(session, member, units["wanda-plaza"], now=LATER)
    assert caught.value.code == "report.already_active"
    assert len(await memberships_of(session, member)) == 1


async def test_one_primary_at_a_time_names_the_other_unit(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    member = await make_member(session, 1)
    await report(session, member, units["wanda-plaza"], now=NOW)
    with pytest.raises(PrimaryElsewhere) as caught:
        await report(session, member, units["tech-incubator"], now=LATER)
    assert caught.value.code == "report.primary_elsewhere"
    assert caught.value.unit_id == units["wanda-plaza"].id
    assert caught.value.unit_names["zh"] == units["wanda-plaza"].name_zh
    assert [m.unit.code for m in await memberships_of(session, member)] == ["wanda-plaza"]


async def test_community_dual_report_alongside_the_primary(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    member = await make_member(session, 1)
    primary = await report(session, member, units["wanda-plaza"], now=NOW)
    await approve_report(session, primary.id, SECRETARY, NOW)
    community = await report(
        session, member, units["haibinbei-community"], kind="community", via=Via.tree, now=LATER
    )
    assert (community.kind, community.status) == (
        MembershipKind.community,
        MembershipStatus.pending,
    )
    # The branch secretary does not manage the community; the committee above does.
    with pytest.raises(PermissionDenied):
        await approve_report(session, community.id, SECRETARY, LATER)
    await approve_report(session, community.id, COMMITTEE_SECRETARY, LATER)
    statuses = {(m.unit.code, m.kind, m.status) for m in await memberships_of(session, member)}
    assert statuses == {
        ("wanda-plaza", MembershipKind.primary, MembershipStatus.active),
        ("haibinbei-community", MembershipKind.community, MembershipStatus.active),
    }


async def test_leave_and_report_elsewhere(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    member = await make_member(session, 1)
    first = await report(session, member, units["wanda-plaza"], now=NOW)
    await approve_report(session, first.id, SECRETARY, NOW)
    left = await leave(session, member, units["wanda-plaza"].id, LATER)
    assert (left.status, left.ended_at, left.ended_by) == (MembershipStatus.left, LATER, None)
    with pytest.raises(NotFound) as caught:
        await leave(session, member, units["wanda-plaza"].id, LATER)
    assert caught.value.code == "membership.not_found"

    moved = await report(session, member, units["tech-incubator"], now=LATER)
    await approve_report(session, moved.id, OTHER_SECRETARY, LATER)
    # ...and later back to the first branch, as a new membership.
    await leave(session, member, units["tech-incubator"].id, LATER)
    back = await report(session, member, units["wanda-plaza"], now=LATER)
    history = [(m.unit.code, m.status) for m in await memberships_of(session, member)]
    assert history == [
        ("wanda-plaza", MembershipStatus.left),
        ("tech-incubator", MembershipStatus.left),
        ("wanda-plaza", MembershipStatus.pending),
    ]
    assert back.id not in (first.id, moved.id)


async def test_withdrawing_a_pending_report(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    member = await make_member(session, 1)
    pending = await report(session, member, units["wanda-plaza"], now=NOW)
    await leave(session, member, units["wanda-plaza"].id, LATER)
    assert pending.status is MembershipStatus.left
    assert await pending_reports(session, SECRETARY) == []
    with pytest.raises(InvalidState):
        await approve_report(session, pending.id, SECRETARY, LATER)


async def test_transfer_out_and_remove(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    one, two = await make_member(session, 1), await make_member(session, 2, "李四")
    first = await report(session, one, units["wanda-plaza"], now=NOW)
    second = await report(session, two, units["wanda-plaza"], now=NOW)
    with pytest.raises(InvalidState) as caught:  # only active memberships end this way
        await transfer_out(session, first.id, SECRETARY, LATER)
    assert caught.value.code == "membership.not_active"
    for membership in (first, second):
        await approve_report(session, membership.id, SECRETARY, NOW)

    for who in (ORGANIZER, OTHER_SECRETARY):
        with pytest.raises(PermissionDenied):
            await remove_member(session, first.id, who, LATER)
        with pytest.raises(PermissionDenied):
            await transfer_out(session, first.id, who, LATER)
    assert first.status is MembershipStatus.active

    transferred = await transfer_out(session, first.id, SECRETARY, LATER)
    assert (transferred.status, transferred.ended_by) == (MembershipStatus.transferred, SECRETARY)
    removed = await remove_member(session, second.id, COMMITTEE_SECRETARY, LATER)
    assert (removed.status, removed.ended_at) == (MembershipStatus.left, LATER)
    assert removed.ended_by == COMMITTEE_SECRETARY
    with pytest.raises(InvalidState):
        await remove_member(session, second.id, SECRETARY, LATER)
    # A transferred member may report anew.
    assert (await report(session, one, units["huaduhui"], now=LATER)).status is (
        MembershipStatus.pending
    )


async def test_pending_reports_for_the_units_one_manages(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    members = [await make_member(session, i, f"Member {chr(64 + i)}") for i in range(1, 5)]
    at_wanda_late = await report(session, members[0], units["wanda-plaza"], now=LATER)
    at_wanda_early = await report(session, members[1], units["wanda-plaza"], now=NOW)
    at_tech = await report(session, members[2], units["tech-incubator"], now=NOW)
    decided = await report(session, members[3], units["huaduhui"], now=NOW)
    await approve_report(session, decided.id, COMMITTEE_SECRETARY, NOW)

    mine = await pending_reports(session, SECRETARY)
    assert [m.id for m in mine] == [at_wanda_early.id, at_wanda_late.id]  # oldest first
    assert mine[0].member.real_name == "Member B"  # loaded with the report
    assert mine[0].unit.code == "wanda-plaza"
    assert [m.id for m in await pending_reports(session, OTHER_SECRETARY)] == [at_tech.id]
    assert {m.id for m in await pending_reports(session, COMMITTEE_SECRETARY)} == {
        at_wanda_early.id,
        at_wanda_late.id,
        at_tech.id,
    }
    with pytest.raises(NotStaff):  # an organizer decides on no report: /pending is not theirs
        await pending_reports(session, ORGANIZER)
    await grant_role(session, 9, Role.admin, None, None)
    assert len(await pending_reports(session, 9)) == 3


async def test_the_database_keeps_one_open_primary_even_if_checks_are_skipped(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    from sqlalchemy.exc import IntegrityError

    from models.members import Membership

    member = await make_member(session, 1)
    await report(session, member, units["wanda-plaza"], now=NOW)
    for unit in ("wanda-plaza", "huaduhui"):
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                session.add(
                    Membership(
                        member_id=member.id,
                        org_unit_id=units[unit].id,
                        kind=MembershipKind.primary,
                        status=MembershipStatus.active,
                        via=Via.secretary,
                        requested_at=NOW,
                    )
                )
    assert len(await memberships_of(session, member)) == 1
    assert example_org()  # the fixture file is the one these tests ran on


async def test_a_double_press_racing_past_the_checks_is_still_one_report(
    session: AsyncSession, units: dict[str, OrgUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If two presses both pass the checks, the index refuses the second cleanly."""
    import models.members.reporting

    member = await make_member(session, 1)
    await report(session, member, units["wanda-plaza"], now=NOW)

    async def nothing_open(session: AsyncSession, member_id: int) -> list[object]:
        return []  # as seen by a request that read before the first one wrote

    monkeypatch.setattr(models.members.reporting, "_open_memberships", nothing_open)
    with pytest.raises(InvalidState) as caught:
        await report(session, member, units["wanda-plaza"], now=LATER)
    assert caught.value.code == "report.already_pending"
    monkeypatch.undo()
    # The transaction is still usable, and holds one report.
    assert [m.status for m in await memberships_of(session, member)] == [MembershipStatus.pending]

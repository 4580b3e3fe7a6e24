"""The secretaries' daily digest (models.staff.digests_for): every figure read once for all
units and summed per person, agreeing with the lists each person opens."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import Participation, ParticipationStatus, create_activity
from models.attendance import request_leave
from models.members import Member, Membership, MembershipKind, MembershipStatus, Via, pending_page
from models.org import OrgUnit
from models.staff import DigestDue, digests_due, digests_for, unreachable_page
from tests.domain.conftest import NOW
from tests.domain.test_activities_support import (
    ADMIN,
    MEETING,
    ORGANIZER,
    OTHER_SECRETARY,
    SECRETARY,
    active_member,
    draft,
    grant_staff,
)

ZONE = "Asia/Shanghai"
STAFF = (ADMIN, SECRETARY, ORGANIZER, OTHER_SECRETARY)


async def pending_report(session: AsyncSession, unit: OrgUnit, telegram_id: int) -> None:
    member = Member(
        telegram_id=telegram_id,
        real_name=f"报到{telegram_id}",
        consent_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(member)
    session.add(
        Membership(
            member=member,
            unit=unit,
            kind=MembershipKind.primary,
            status=MembershipStatus.pending,
            via=Via.invite,
            requested_at=NOW - timedelta(hours=3),
        )
    )
    await session.flush()


async def unreachable(session: AsyncSession, unit: OrgUnit, telegram_id: int, name: str | None):
    member = await active_member(session, unit, telegram_id, name)
    member.real_name = name
    member.unreachable_at = NOW - timedelta(days=1)
    await session.flush()
    return member


async def everyones_digest(session: AsyncSession) -> dict[int, object]:
    # 20:00 in Zhanjiang: everyone's digest hour has come.
    due = await digests_due(session, NOW.replace(hour=12), 20, ZONE)
    assert {item.telegram_id for item in due} == set(STAFF)
    return await digests_for(session, due, NOW.replace(hour=12))


async def test_each_figure_is_what_the_persons_own_lists_count(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)
    wanda, tech = units["wanda-plaza"], units["tech-incubator"]
    for n in range(5):
        await active_member(session, wanda, 100 + n)
    await pending_report(session, wanda, 200)
    await pending_report(session, wanda, 201)
    await pending_report(session, tech, 202)
    # More than a digest names: 25 at Wanda Plaza (one without a name), 2 at the incubator.
    for n in range(24):
        await unreachable(session, wanda, 300 + n, f"失联{n:02d}")
    await unreachable(session, wanda, 330, None)
    await unreachable(session, tech, 331, "甲")
    await unreachable(session, tech, 332, "乙")
    # Tomorrow's activity (in Zhanjiang's calendar) and 55 later ones; a leave request for
    # the last of them, past what a listing's first page shows.
    tomorrow = NOW.replace(hour=1) + timedelta(days=1)  # 09:00 local tomorrow
    await create_activity(
        session,
        SECRETARY,
        wanda.id,
        draft(starts_at=tomorrow, ends_at=tomorrow + timedelta(hours=2)),
        NOW,
    )
    last = None
    for day in range(2, 57):
        starts = NOW + timedelta(days=day)
        last = await create_activity(
            session,
            SECRETARY,
            wanda.id,
            draft(MEETING, starts_at=starts, ends_at=starts + timedelta(hours=2)),
            NOW,
        )
    assert last is not None
    asking = await session.scalar(select(Member).where(Member.telegram_id == 100))
    assert asking is not None
    await request_leave(session, last.id, asking, "出差", NOW)

    digests = await everyones_digest(session)

    for telegram_id in STAFF:
        digest = digests[telegram_id]
        if telegram_id != ORGANIZER:  # an organizer decides no reports
            assert digest.pending_reports == (await pending_page(session, telegram_id, 1, 1)).total
        listed = await unreachable_page(session, telegram_id, 1, 20)
        assert digest.unreachable == listed.total
        assert digest.unreachable_names == tuple(m.real_name or "—" for m, _ in listed.items)
    assert [digests[tg].pending_reports for tg in STAFF] == [3, 2, 0, 1]
    assert [digests[tg].unreachable for tg in STAFF] == [27, 25, 25, 2]
    assert set(digests[OTHER_SECRETARY].unreachable_names) == {"甲", "乙"}
    # Twenty named over both branches, in the database's order of names; the nameless last.
    assert len(digests[ADMIN].unreachable_names) == 20
    assert "—" not in digests[ADMIN].unreachable_names
    assert digests[SECRETARY].unreachable_names[-1] == "失联19"
    assert [digests[tg].leave_requests for tg in STAFF] == [1, 1, 1, 0]
    assert [len(digests[tg].tomorrow) for tg in STAFF] == [1, 1, 1, 0]
    assert digests[OTHER_SECRETARY].is_empty() is False  # two members cannot be reached


async def test_leave_decided_or_activities_over_are_not_counted(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)
    wanda = units["wanda-plaza"]
    member = await active_member(session, wanda, 100)
    starts = NOW + timedelta(days=3)
    meeting = await create_activity(
        session,
        SECRETARY,
        wanda.id,
        draft(MEETING, starts_at=starts, ends_at=starts + timedelta(hours=2)),
        NOW,
    )
    await request_leave(session, meeting.id, member, "出差", NOW)
    assert (await everyones_digest(session))[SECRETARY].leave_requests == 1
    await session.execute(
        update(Participation)
        .where(Participation.activity_id == meeting.id)
        .values(status=ParticipationStatus.excused)
    )
    digest = (await everyones_digest(session))[SECRETARY]
    assert digest.leave_requests == 0 and digest.is_empty()
    await request_leave(session, meeting.id, await active_member(session, wanda, 101), "病假", NOW)
    assert (await everyones_digest(session))[SECRETARY].leave_requests == 1
    # Once it has ended, nothing is left to decide.
    later = NOW.replace(hour=12) + timedelta(days=4)
    due = await digests_due(session, later, 20, ZONE)
    assert (await digests_for(session, due, later))[SECRETARY].leave_requests == 0


async def test_nobody_due_reads_nothing(session: AsyncSession) -> None:
    assert await digests_for(session, [], NOW) == {}
    due = DigestDue(ADMIN, None, ZoneInfo(ZONE), NOW.date(), NOW + timedelta(hours=1))
    assert (await digests_for(session, [due], NOW))[ADMIN].is_empty()

"""Before the bot asks for a pledge, a reason or a location, it refuses what the operation
would refuse once answered: the same rule, written once, gives the same refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    CheckInMethod,
    cancel_activity,
    create_activity,
    sign_up,
    sign_up_allowed,
)
from models.attendance import check_in_allowed, leave_allowed, request_leave
from models.errors import InvalidState
from models.org import OrgUnit
from tests.domain.conftest import NOW
from tests.domain.test_activities_support import (
    MEETING,
    SECRETARY,
    START,
    active_member,
    draft,
    grant_staff,
)


async def code_of(operation) -> str | None:  # type: ignore[no-untyped-def]
    try:
        await operation
    except InvalidState as error:
        return error.code
    return None


async def test_sign_up_allowed_refuses_as_sign_up_does(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)
    wanda = units["wanda-plaza"]
    activity = await create_activity(session, SECRETARY, wanda.id, draft(), NOW)
    member = await active_member(session, wanda, 3001)
    assert await sign_up_allowed(session, activity.id, member, NOW) is activity
    late = START + timedelta(minutes=1)
    assert await code_of(sign_up_allowed(session, activity.id, member, late)) == (
        "signup.deadline_passed"
    )
    await sign_up(session, activity.id, member, NOW)
    assert await code_of(sign_up_allowed(session, activity.id, member, NOW)) == "signup.already"
    outsider = await active_member(session, units["tech-incubator"], 3002)
    assert await code_of(sign_up_allowed(session, activity.id, outsider, NOW)) == (
        "activity.not_in_audience"
    )
    await cancel_activity(session, activity.id, SECRETARY, NOW)
    assert await code_of(sign_up_allowed(session, activity.id, outsider, NOW)) == (
        "activity.cancelled"
    )


@pytest.mark.parametrize(
    ("when", "code"),
    [(START - timedelta(minutes=1), None), (START, "activity.started")],
)
async def test_leave_allowed_refuses_as_request_leave_does(
    session: AsyncSession, units: dict[str, OrgUnit], when, code: str | None
) -> None:
    await grant_staff(session, units)
    wanda = units["wanda-plaza"]
    meeting = await create_activity(session, SECRETARY, wanda.id, MEETING, NOW)
    member = await active_member(session, wanda, 3003)
    assert await code_of(leave_allowed(session, meeting.id, member, when)) == code
    assert await code_of(request_leave(session, meeting.id, member, "出差", when)) == code
    if code is None:
        assert await code_of(leave_allowed(session, meeting.id, member, when)) == (
            "leave.already_requested"
        )


async def test_check_in_allowed_knows_the_window_and_the_place(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)
    wanda = units["wanda-plaza"]
    here = await create_activity(session, SECRETARY, wanda.id, draft(), NOW)
    nowhere = await create_activity(
        session,
        SECRETARY,
        wanda.id,
        draft(latitude=None, longitude=None, check_in_by_location=False),
        NOW,
    )
    by_location = CheckInMethod.location
    assert await code_of(check_in_allowed(session, here.id, by_location, NOW)) == "checkin.not_open"
    assert await code_of(check_in_allowed(session, here.id, by_location, START)) is None
    assert await code_of(check_in_allowed(session, nowhere.id, by_location, START)) == (
        "checkin.method_off"
    )
    assert await code_of(check_in_allowed(session, nowhere.id, CheckInMethod.code, START)) is None
    after = here.ends_at + timedelta(minutes=1)
    assert await code_of(check_in_allowed(session, here.id, by_location, after)) == (
        "checkin.closed"
    )

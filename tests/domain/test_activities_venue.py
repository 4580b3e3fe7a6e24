"""The venue's location and the check-in settings: validated, published into a series and
its occurrences, and changed without telling members of what they are not shown."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    CHECK_IN_FIELDS,
    ActivityKind,
    RecurrenceRule,
    check_location,
    create_activity,
    publish_draft,
    sign_up,
    update_activity,
)
from models.errors import InvalidInput
from models.notifications import ActivityChanged, take_pending
from models.org import OrgUnit
from tests.domain.conftest import NOW
from tests.domain.test_activities_support import (
    MEETING,
    SECRETARY,
    WANDA_LAT,
    WANDA_LON,
    active_member,
    draft,
    grant_staff,
)

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def wanda(session: AsyncSession, units: dict[str, OrgUnit]) -> OrgUnit:
    await grant_staff(session, units)
    return units["wanda-plaza"]


def test_a_location_is_checked_before_the_rest_of_the_draft() -> None:
    check_location(WANDA_LAT, WANDA_LON)
    check_location(None, None)
    for latitude, longitude in ((90.5, 110.0), (21.0, -180.5), (21.0, None), (True, 110.0)):
        with pytest.raises(InvalidInput) as caught:
            check_location(latitude, longitude)
        assert caught.value.code == "location.invalid"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        (
            {"check_in_by_location": True, "latitude": None, "longitude": None},
            "checkin.location_needs_venue",
        ),
        ({"check_in_radius_m": 10}, "radius.invalid"),
        ({"check_in_radius_m": 9000}, "radius.invalid"),
        ({"check_out_required": True, "kind": ActivityKind.other}, "check_out.not_for_kind"),
    ],
)
async def test_check_in_settings_are_refused_when_they_cannot_work(
    session: AsyncSession, wanda: OrgUnit, changes: dict, code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await create_activity(session, SECRETARY, wanda.id, draft(**changes), NOW)
    assert caught.value.code == code


async def test_a_repeating_meeting_carries_the_venue_and_settings_to_every_occurrence(
    session: AsyncSession, wanda: OrgUnit
) -> None:
    settings = {"check_in_by_qr": False, "check_in_by_location": True, "check_in_radius_m": 500}
    created = await publish_draft(
        session,
        SECRETARY,
        wanda.id,
        draft(MEETING, kind=ActivityKind.theme_day, **settings),
        RecurrenceRule.monthly_day,
        ZONE,
        NOW,
    )
    assert len(created) >= 3
    for activity in created:
        assert (activity.latitude, activity.longitude) == (WANDA_LAT, WANDA_LON)
        assert not activity.check_in_by_qr and activity.check_in_by_code
        assert activity.check_in_by_location and activity.check_in_radius_m == 500
        assert not activity.walk_ins_allowed and not activity.check_out_required


async def test_a_series_keeps_walk_ins_for_every_occurrence(
    session: AsyncSession, wanda: OrgUnit
) -> None:
    occurrences = await publish_draft(
        session,
        SECRETARY,
        wanda.id,
        draft(MEETING, walk_ins_allowed=True),
        RecurrenceRule.weekly,
        ZONE,
        NOW,
    )
    assert len(occurrences) > 1 and all(a.walk_ins_allowed for a in occurrences)


async def test_changing_what_members_are_not_shown_tells_nobody(
    session: AsyncSession, wanda: OrgUnit
) -> None:
    activity = await create_activity(
        session, SECRETARY, wanda.id, draft(capacity=5, check_in_by_location=False), NOW
    )
    member = await active_member(session, wanda, 900)
    await sign_up(session, activity.id, member, NOW)
    take_pending(session)

    settings = {
        "check_in_by_qr": False,
        "check_in_by_code": False,
        "check_in_by_location": True,
        "check_in_radius_m": 1000,
        "check_out_required": True,
        "walk_ins_allowed": True,
    }
    assert set(settings) == set(CHECK_IN_FIELDS)
    quiet = await update_activity(session, activity.id, SECRETARY, NOW, **settings)
    assert set(quiet.changed) == set(settings) and quiet.affected_telegram_ids == []
    moved_pin = await update_activity(
        session, activity.id, SECRETARY, NOW, latitude=WANDA_LAT + 0.001, longitude=WANDA_LON
    )
    assert set(moved_pin.changed) == {"latitude"} and moved_pin.affected_telegram_ids == []
    unchanged = await update_activity(session, activity.id, SECRETARY, NOW, place=activity.place)
    assert unchanged.changed == {} and unchanged.affected_telegram_ids == []
    assert take_pending(session) == []

    moved = await update_activity(
        session, activity.id, SECRETARY, NOW, place="党群服务中心", check_in_radius_m=300
    )
    assert moved.affected_telegram_ids == [900]
    (told,) = take_pending(session)
    assert told.recipient == 900 and isinstance(told.message, ActivityChanged)
    assert activity.check_in_radius_m == 300 and activity.check_in_by_location

    with pytest.raises(InvalidInput) as caught:
        await update_activity(session, activity.id, SECRETARY, NOW, latitude=None, longitude=None)
    assert caught.value.code == "checkin.location_needs_venue"
    assert activity.latitude == WANDA_LAT + 0.001  # nothing changed


async def test_the_end_of_a_change_is_not_the_start(session: AsyncSession, wanda: OrgUnit) -> None:
    """A change of the place only keeps the times; the start need not be in the future
    again for a check-in setting (the activity may be under way)."""
    activity = await create_activity(session, SECRETARY, wanda.id, draft(), NOW)
    later = activity.starts_at + timedelta(minutes=30)
    result = await update_activity(session, activity.id, SECRETARY, later, walk_ins_allowed=True)
    assert result.changed == {"walk_ins_allowed": (False, True)}

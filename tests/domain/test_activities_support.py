"""Shared setup for the activity tests (no tests here): staff, active members, drafts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import ActivityDraft, ActivityKind
from models.attendance import ScreenPurpose, Token, make_token
from models.members import Member, Membership, MembershipKind, MembershipStatus, Via
from models.org import OrgUnit
from models.permissions import Role, grant_role
from tests.domain.conftest import NOW

ADMIN, SECRETARY, ORGANIZER, OTHER_SECRETARY = 2000, 2001, 2003, 2002
START = NOW + timedelta(days=3)
END = START + timedelta(hours=3)
WANDA_LAT, WANDA_LON = 21.2404, 110.4135

VOLUNTEER = ActivityDraft(
    kind=ActivityKind.volunteer,
    title="义诊志愿服务",
    starts_at=START,
    ends_at=END,
    place="湛江万达广场",
    latitude=WANDA_LAT,
    longitude=WANDA_LON,
    check_in_by_location=True,
    capacity=2,
)
MEETING = ActivityDraft(
    kind=ActivityKind.general_meeting,
    title="支部党员大会",
    starts_at=START,
    ends_at=START + timedelta(hours=2),
    place="党群服务中心",
    latitude=WANDA_LAT,
    longitude=WANDA_LON,
    check_in_by_location=True,
)
CHECK_IN_SECRET = "domain-tests-check-in-secret"


def qr(activity_id: int, now: datetime, seconds: int = 60) -> Token:
    """A token of the activity's check-in screen, as shown at `now`."""
    return make_token(
        CHECK_IN_SECRET, activity_id, ScreenPurpose.check_in, now + timedelta(seconds=seconds)
    )


def draft(base: ActivityDraft = VOLUNTEER, **changes: Any) -> ActivityDraft:
    return replace(base, **changes)


async def grant_staff(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    await grant_role(session, ADMIN, Role.admin, None, None)
    await grant_role(session, SECRETARY, Role.secretary, units["wanda-plaza"].id, None)
    await grant_role(session, ORGANIZER, Role.organizer, units["wanda-plaza"].id, None)
    await grant_role(session, OTHER_SECRETARY, Role.secretary, units["tech-incubator"].id, None)


async def active_member(
    session: AsyncSession, unit: OrgUnit, telegram_id: int, name: str | None = None
) -> Member:
    """A member managed by `unit` since NOW (rows written directly: fast for many members)."""
    member = Member(
        telegram_id=telegram_id,
        real_name=name or f"党员{telegram_id}",
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
            status=MembershipStatus.active,
            via=Via.secretary,
            requested_at=NOW - timedelta(days=30),
            decided_at=NOW - timedelta(days=30),
            decided_by=SECRETARY,
        )
    )
    await session.flush()
    return member

"""The demo's recent past, so that /stats and the exports have a record to count: a general
meeting two days ago (three checked in, the floating member excused) and a volunteer day
yesterday (one came, one did not), both closed as the scheduler closes them.

Built like the rest of the demo, through the operations a deployment uses, each at the
moment it would have happened.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import ActivityDraft, ActivityKind, create_activity, sign_up
from models.attendance import close_record, decide_leave, request_leave, roster_check_in
from models.members import Member
from models.org import OrgUnit

MEETING_TITLE = "支部党员大会：学习贯彻全会精神"
MEETING_PLACE = "湛江万达广场 商业管理公司 三楼会议室"
SERVICE_TITLE = "商圈消防安全宣传志愿服务"
SERVICE_PLACE = "湛江万达广场 北广场"


def _day(zone: ZoneInfo, now: datetime, days_ago: int, at: time) -> datetime:
    day = now.astimezone(zone).date() - timedelta(days=days_ago)
    return datetime.combine(day, at, tzinfo=zone)


async def build_history(
    session: AsyncSession,
    unit: OrgUnit,
    zone: ZoneInfo,
    secretary: int,
    members: dict[str, Member],
    now: datetime,
) -> None:
    planned = now - timedelta(days=7)  # when the secretary scheduled both
    meeting = await create_activity(
        session,
        secretary,
        unit.id,
        ActivityDraft(
            kind=ActivityKind.general_meeting,
            title=MEETING_TITLE,
            starts_at=_day(zone, now, 2, time(19, 30)),
            ends_at=_day(zone, now, 2, time(21, 0)),
            place=MEETING_PLACE,
        ),
        planned,
    )
    service = await create_activity(
        session,
        secretary,
        unit.id,
        ActivityDraft(
            kind=ActivityKind.volunteer,
            title=SERVICE_TITLE,
            starts_at=_day(zone, now, 1, time(14, 0)),
            ends_at=_day(zone, now, 1, time(16, 0)),
            place=SERVICE_PLACE,
            capacity=10,
        ),
        planned,
    )
    leave = await request_leave(session, meeting.id, members["floating"], "在老家处理家事", planned)
    await decide_leave(session, leave.id, secretary, True, planned)
    for key in ("regular", "english"):
        await sign_up(session, service.id, members[key], planned)
    for key in ("secretary", "regular", "english"):
        await roster_check_in(session, meeting.id, members[key].id, secretary, meeting.starts_at)
    await close_record(session, meeting.id, meeting.ends_at + timedelta(minutes=1))
    await roster_check_in(session, service.id, members["regular"].id, secretary, service.starts_at)
    await close_record(session, service.id, service.ends_at + timedelta(minutes=1))

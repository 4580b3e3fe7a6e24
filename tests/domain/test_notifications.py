"""The one notification path: who the domain tells what, and how it reaches the outbox.

Domain operations record notifications on their session (models.notifications);
these tests read them with `take_pending`, then hand them to the real notifier to
see the outbox rows rendered in each recipient's language and unit's time zone.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import String, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.account import set_language
from models.activities import cancel_activity, cancel_signup, create_activity, sign_up
from models.activities import update_activity as change_activity
from models.attendance import decide_leave, request_leave
from models.errors import InvalidState, PermissionDenied
from models.members import (
    MemberType,
    approve_report,
    reject_report,
    report,
    submit_report,
)
from models.notifications import (
    ActivityCancelled,
    ActivityChanged,
    LeaveDecided,
    LeaveRequested,
    Message,
    Notification,
    ReportApproved,
    ReportRejected,
    ReportSubmitted,
    RoleGranted,
    SeatFreed,
    take_pending,
)
from models.org import OrgUnit
from models.outbox import Delivery
from models.permissions import Role
from models.privacy import forget_member
from models.staff import appoint
from tests.domain.conftest import NOW, make_member
from tests.domain.test_activities_support import (
    ADMIN,
    MEETING,
    SECRETARY,
    START,
    active_member,
    draft,
    grant_staff,
)
from views.i18n import Defaults, pick_language, picked_language_sql, t
from views.notifications import OutboxNotifier, render

pytestmark = pytest.mark.usefixtures("units")


def told(notifications: list[Notification]) -> list[tuple[int, type[Message]]]:
    return [(n.recipient, type(n.message)) for n in notifications]


async def test_a_report_goes_to_the_units_secretaries_and_the_decision_to_the_member(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)
    member = await make_member(session, 501)
    take_pending(session)
    membership = await submit_report(session, 501, units["wanda-plaza"].id, via="invite", now=NOW)
    assert told(take_pending(session)) == [(SECRETARY, ReportSubmitted)]
    await approve_report(session, membership.id, SECRETARY, NOW)
    assert told(take_pending(session)) == [(member.telegram_id, ReportApproved)]

    other = await make_member(session, 502, name="李四")
    refused = await report(session, other, units["wanda-plaza"], now=NOW)
    take_pending(session)
    await reject_report(session, refused.id, SECRETARY, "  请先转出组织关系  ", NOW)
    (rejected,) = take_pending(session)
    assert isinstance(rejected.message, ReportRejected)
    assert rejected.message.reason == "请先转出组织关系"  # as stored: stripped


async def test_a_unit_without_a_secretary_sends_reports_up_the_tree(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)  # nobody at huaduhui; above it only the admin
    await make_member(session, 503)
    take_pending(session)
    await submit_report(session, 503, units["huaduhui"].id, via="tree", now=NOW)
    assert told(take_pending(session)) == [(ADMIN, ReportSubmitted)]


async def test_a_forgotten_member_is_told_nothing(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)
    wanda = units["wanda-plaza"]
    meeting = await create_activity(session, SECRETARY, wanda.id, MEETING, NOW)
    member = await active_member(session, wanda, 504)
    row = await request_leave(session, meeting.id, member, "出差在外", NOW)
    await forget_member(session, member, NOW)
    take_pending(session)
    # Forgetting closed the request: an old card's press decides nothing and tells nobody.
    with pytest.raises(InvalidState) as refused:
        await decide_leave(session, row.id, SECRETARY, False, NOW)
    assert refused.value.code == "leave.already_decided"
    assert take_pending(session) == []


async def test_a_freed_seat_tells_the_first_on_the_waitlist(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)
    wanda = units["wanda-plaza"]
    activity = await create_activity(session, SECRETARY, wanda.id, draft(capacity=1), NOW)
    first, second = [await active_member(session, wanda, 600 + i) for i in range(2)]
    await sign_up(session, activity.id, first, NOW)
    await sign_up(session, activity.id, second, NOW)
    take_pending(session)
    await cancel_signup(session, activity.id, first, NOW)
    assert told(take_pending(session)) == [(second.telegram_id, SeatFreed)]


async def test_leave_goes_to_the_secretary_and_the_decision_back(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)
    wanda = units["wanda-plaza"]
    meeting = await create_activity(session, SECRETARY, wanda.id, MEETING, NOW)
    member = await active_member(session, wanda, 700)
    take_pending(session)
    row = await request_leave(session, meeting.id, member, "出差在外", NOW)
    assert told(take_pending(session)) == [(SECRETARY, LeaveRequested)]
    await decide_leave(session, row.id, SECRETARY, True, NOW)
    (decided,) = take_pending(session)
    assert decided.recipient == 700 and decided.message == LeaveDecided(meeting, True)


async def test_changes_and_cancellations_reach_everyone_concerned_urgently_when_close(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)
    wanda = units["wanda-plaza"]
    activity = await create_activity(session, SECRETARY, wanda.id, draft(capacity=5), NOW)
    members = [await active_member(session, wanda, 800 + i) for i in range(2)]
    for member in members:
        await sign_up(session, activity.id, member, NOW)
    take_pending(session)
    await change_activity(session, activity.id, SECRETARY, NOW, place="党群服务中心")
    changed = take_pending(session)
    assert told(changed) == [(800, ActivityChanged), (801, ActivityChanged)]
    assert not any(n.urgent for n in changed)  # three days ahead: quiet hours are kept
    await cancel_activity(session, activity.id, SECRETARY, START - timedelta(hours=5))
    cancelled = take_pending(session)
    assert told(cancelled) == [(800, ActivityCancelled), (801, ActivityCancelled)]
    assert all(n.urgent for n in cancelled)


async def test_appointing_tells_the_appointee_and_is_for_admins_only(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)
    member = await make_member(session, 900, member_type=MemberType.regular)
    membership = await report(session, member, units["wanda-plaza"], now=NOW)
    await approve_report(session, membership.id, SECRETARY, NOW)
    take_pending(session)
    with pytest.raises(PermissionDenied):
        await appoint(session, SECRETARY, membership.id, Role.organizer)
    await appoint(session, ADMIN, membership.id, Role.organizer)
    assert told(take_pending(session)) == [(900, RoleGranted)]


async def test_the_notifier_renders_in_each_recipients_language_and_the_units_zone(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    await grant_staff(session, units)
    wanda = units["wanda-plaza"]
    activity = await create_activity(session, SECRETARY, wanda.id, draft(capacity=5), NOW)
    for telegram_id, language in ((1001, "en"), (1002, "zh")):
        member = await active_member(session, wanda, telegram_id)
        await set_language(session, telegram_id, language)
        await sign_up(session, activity.id, member, NOW)
    take_pending(session)
    await change_activity(session, activity.id, SECRETARY, NOW, place="New venue")
    notifier = OutboxNotifier(lambda: NOW, Defaults(language="zh", timezone="UTC"))
    await notifier.deliver(session, take_pending(session))
    rows = {
        row.chat_id: row for row in await session.scalars(select(Delivery).order_by(Delivery.id))
    }
    # 01:30 UTC, shown in Zhanjiang's time.
    about = {"title": "义诊志愿服务", "place": "New venue"}
    english = t("en", "manage.told_changed", when="Sun 15 Mar 2026, 09:30", **about)
    chinese = t("zh", "manage.told_changed", when="2026年3月15日（周日）09:30", **about)
    assert (rows[1001].text, rows[1002].text) == (english, chinese)
    assert rows[1001].kind == "activity_changed"
    assert rows[1001].timezone == "Asia/Shanghai"  # the unit's, not the default's
    assert rows[1001].reply_markup["inline_keyboard"][0][0]["callback_data"] == (
        f"ev:v:{activity.id}"
    )


def test_every_kind_of_message_has_a_renderer() -> None:
    kinds = set(Message.__subclasses__())
    assert len(kinds) >= 15  # the scan works
    assert kinds <= set(render.registry), kinds - set(render.registry)


@pytest.mark.parametrize("default", ["zh", "en"])
async def test_the_database_picks_the_language_as_pick_language_does(
    session: AsyncSession, default: str
) -> None:
    """A broadcast's copies are written by the database (views.i18n.picked_language_sql):
    for every kind of account it must choose what pick_language chooses."""
    chosen = [None, "zh", "en", "fr", ""]
    codes = [None, "", "en", "EN-gb", "zh-hans", "zh", "fr", "pt-br", "english", "z"]
    cases = [(own, code) for own in chosen for code in codes]
    picked = [
        await session.scalar(
            select(picked_language_sql(literal(own, String), literal(code, String), default))
        )
        for own, code in cases
    ]
    assert picked == [pick_language(own, code, default) for own, code in cases]

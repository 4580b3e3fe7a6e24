"""A person's own data: export everything (/mydata), and forget them (/forget)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import inbox, outbox
from models.account import Account, set_language, set_question
from models.activities import (
    Activity,
    ActivityKind,
    CheckInMethod,
    Participation,
    ParticipationStatus,
    create_activity,
    participations_page,
    sign_up,
)
from models.attendance import (
    ScreenPurpose,
    check_in,
    close_record,
    correct_attendance,
    enter_code,
    report_made_up,
    request_leave,
)
from models.attendance.tables import AttendanceChange, CheckInScreen, CodeAttempts
from models.base import Base
from models.members import (
    Member,
    Membership,
    MembershipStatus,
    MemberType,
    approve_report,
    floating_register,
    get_member,
    memberships_of,
    pending_reports,
    reject_report,
    report,
    roster,
    set_workplace,
    start_profile,
)
from models.notices import (
    Audience,
    AudienceChoice,
    FiguresMessage,
    NoticeDraft,
    NoticeRecipient,
    acknowledge,
    create_notice,
    not_acknowledged_page,
    notice_figures,
)
from models.notices.lifecycle import delivery_key
from models.notifications import SeatFreed, take_pending
from models.org import OrgUnit
from models.outbox import Delivery, DeliveryStatus
from models.permissions import Role, RoleGrant, grant_role, roles_of
from models.privacy import (
    EXPORTED,
    NOT_EXPORTED,
    PERSON_COLUMNS,
    export_data,
    export_member_data,
    forget_member,
    forget_user,
    has_personal_data,
)
from tests.domain.conftest import NOW, make_member
from tests.domain.test_activities_support import (
    MEETING,
    SECRETARY,
    START,
    active_member,
    draft,
    grant_staff,
)

TELEGRAM_ID = 6_100_000_123
OTHER_ID = 6_100_000_456
COMMUNITY_SECRETARY = 2010
LATER = NOW + timedelta(days=30)
HOUR = timedelta(hours=1)
NEAR_WANDA = (21.2410, 110.4140)
REASON = "在广州参加培训"
STUDIED = "自学了新修订的党章"
CORRECTION = "书记核实后更正"
BOT_ID = 42


async def _stored_member(session: AsyncSession, units: dict[str, OrgUnit]) -> Member:
    member = await make_member(session, TELEGRAM_ID, "王小明", MemberType.floating, "长沙某支部")
    set_workplace(member, "湛江华都汇购物中心")
    await set_language(session, TELEGRAM_ID, "en")
    await grant_role(session, 1, Role.admin, None, None)
    primary = await report(session, member, units["huaduhui"], now=NOW)
    await approve_report(session, primary.id, 1, NOW)
    await report(session, member, units["haibinbei-community"], kind="community", now=NOW)
    await grant_role(session, TELEGRAM_ID, Role.organizer, units["huaduhui"].id, 1)
    return member


async def test_export_contains_the_profile_memberships_and_roles(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    member = await _stored_member(session, units)
    data = await export_member_data(session, member)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data  # JSON as it is
    assert set(data) == set(EXPORTED.values())
    profile = data["profile"]
    assert profile["telegram_id"] == TELEGRAM_ID
    assert (profile["real_name"], profile["phone"]) == ("王小明", "+8613800138000")
    assert (profile["member_type"], profile["home_branch"]) == ("floating", "长沙某支部")
    assert profile["workplace"] == "湛江华都汇购物中心"
    assert profile["consent_at"] == NOW.isoformat()
    assert data["account"]["language"] == "en"
    assert data["memberships"] == [
        {
            "unit_code": "huaduhui",
            "unit_name_zh": "湛江华都汇商圈党支部",
            "unit_name_en": "Zhanjiang Huaduhui Commercial District Branch",
            "kind": "primary",
            "status": "active",
            "via": "invite",
            "requested_at": NOW.isoformat(),
            "decided_at": NOW.isoformat(),
            "reject_reason": None,
            "ended_at": None,
        },
        {
            "unit_code": "haibinbei-community",
            "unit_name_zh": "海滨北社区党委",
            "unit_name_en": "Haibin North Community Committee",
            "kind": "community",
            "status": "pending",
            "via": "invite",
            "requested_at": NOW.isoformat(),
            "decided_at": None,
            "reject_reason": None,
            "ended_at": None,
        },
    ]
    assert [(r["role"], r["unit_code"]) for r in data["roles"]] == [("organizer", "huaduhui")]
    assert "decided_by" not in json.dumps(data)  # the secretary's data


async def test_forget_erases_the_person_and_keeps_anonymous_memberships(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    member = await _stored_member(session, units)
    await forget_member(session, member, LATER)
    await forget_member(session, member, LATER + timedelta(days=1))  # twice is harmless

    assert await get_member(session, TELEGRAM_ID) is None
    assert (member.real_name, member.phone, member.home_branch, member.workplace) == (
        None,
        None,
        None,
        None,
    )
    assert (member.telegram_id, member.consent_at, member.forgotten_at) == (None, None, LATER)
    assert await session.get(Account, TELEGRAM_ID) is None
    assert await roles_of(session, TELEGRAM_ID) == []
    assert await session.scalar(select(func.count()).select_from(RoleGrant)) == 1  # the admin

    memberships = await memberships_of(session, member)
    assert [(m.unit.code, m.status, m.ended_at) for m in memberships] == [
        ("huaduhui", MembershipStatus.left, LATER),
        ("haibinbei-community", MembershipStatus.left, LATER),
    ]
    assert (await roster(session, 1, units["huaduhui"].id)).total == 0
    assert await floating_register(session, 1, units["huaduhui"].id) == []
    assert await pending_reports(session, 1) == []  # the community report left the queue
    exported = await export_member_data(session, member)
    assert exported["profile"]["real_name"] is None and exported["roles"] == []
    assert exported["account"] is None
    assert len(exported["memberships"]) == 2

    # Stored as erased, not only in this session's objects.
    member_id = member.id
    session.expire_all()
    stored = await session.get(Member, member_id)
    assert stored is not None
    assert (stored.real_name, stored.phone, stored.telegram_id) == (None, None, None)
    assert stored.member_type is MemberType.floating  # kept, for the statistics


# --- a member with a bit of everything -----------------------------------------------------------


@dataclass
class World:
    member: Member
    other: Member  # waitlisted behind the member's seat
    theme_day: Activity  # checked in by location (after a wrong code)
    lecture: Activity  # missed; make-up study reported, not yet decided
    meeting: Activity  # to come; leave requested
    planting: Activity  # to come; a seat with a pledge
    acknowledged_notice: int
    awaited_notice: int


def _update(update_id: int, sender: int, kind: str = "message") -> dict[str, object]:
    user = {"id": sender, "is_bot": False, "first_name": "小明"}
    if kind == "callback_query":
        return {"update_id": update_id, kind: {"id": "1", "from": user, "data": "x"}}
    chat = {"id": sender, "type": "private"}
    return {"update_id": update_id, kind: {"message_id": 1, "from": user, "chat": chat}}


@pytest.fixture
async def world(session: AsyncSession, units: dict[str, OrgUnit]) -> World:
    await grant_staff(session, units)
    community = units["haibinbei-community"].id
    await grant_role(session, COMMUNITY_SECRETARY, Role.secretary, community, None)
    wanda = units["wanda-plaza"]
    member = await make_member(session, TELEGRAM_ID, "王小明")
    await set_language(session, TELEGRAM_ID, "zh")
    primary = await report(session, member, wanda, now=NOW - 24 * HOUR)
    await approve_report(session, primary.id, SECRETARY, NOW - 24 * HOUR)
    rejected = await report(
        session, member, units["haibinbei-community"], kind="community", now=NOW
    )
    await reject_report(session, rejected.id, COMMUNITY_SECRETARY, "请先向社区报到", NOW)
    await report(session, member, units["haibinbei-community"], kind="community", now=NOW)
    other = await active_member(session, wanda, OTHER_ID, "李二")

    def at(title: str, kind: ActivityKind, start_in: timedelta, **fields: object):  # type: ignore[no-untyped-def]
        starts = NOW + start_in
        changes = {"kind": kind, "title": title, "starts_at": starts, "ends_at": starts + HOUR}
        changes |= {"capacity": None, **fields}
        return create_activity(session, SECRETARY, wanda.id, draft(**changes), NOW)

    theme_day = await at("主题党日", ActivityKind.theme_day, 10 * timedelta(minutes=1))
    lecture = await at("党课", ActivityKind.lecture, 20 * timedelta(minutes=1))
    meeting = await create_activity(session, SECRETARY, wanda.id, MEETING, NOW)
    planting = await at(
        "义务植树", ActivityKind.tree_planting, 4 * 24 * HOUR, capacity=1, pledge_kind="saplings"
    )

    wrong = f"{(int(theme_day.check_in_code) + 1) % 10_000:04d}"
    await enter_code(session, theme_day.id, member, wrong, NOW + 15 * timedelta(minutes=1))
    await check_in(
        session,
        theme_day.id,
        member,
        CheckInMethod.location,
        NOW + 16 * timedelta(minutes=1),
        latitude=NEAR_WANDA[0],
        longitude=NEAR_WANDA[1],
    )
    for activity in (theme_day, lecture):
        await close_record(session, activity.id, NOW + 2 * HOUR)
    # The other member's absence corrected, with a reason that is theirs, not the member's.
    await correct_attendance(
        session, lecture.id, other.id, SECRETARY, "excused", CORRECTION, NOW + 2 * HOUR
    )
    await report_made_up(session, lecture.id, member, STUDIED, NOW + 3 * HOUR)
    await request_leave(session, meeting.id, member, REASON, NOW + 3 * HOUR)
    await sign_up(session, planting.id, member, NOW + 3 * HOUR, pledge=5)
    await sign_up(session, planting.id, other, NOW + 3 * HOUR)  # waitlisted

    choice = AudienceChoice(Audience.unit)
    notices = []
    for body, deadline in (("<b>三月</b>主题党日安排", None), ("学习材料请签收", START)):
        notice = await create_notice(
            session, SECRETARY, NoticeDraft(wanda.id, body, choice, ack_deadline=deadline), NOW
        )
        await outbox.enqueue(
            session,
            TELEGRAM_ID,
            body,
            kind="notice",
            due_at=NOW,
            timezone="Asia/Shanghai",
            dedup_key=delivery_key(notice.id, member.id),
        )
        notices.append(notice.id)
    first_copy = await session.scalar(
        select(Delivery).where(Delivery.dedup_key == delivery_key(notices[0], member.id))
    )
    assert first_copy is not None
    await outbox.mark_sent(session, first_copy.id, 777, NOW + HOUR)
    await acknowledge(session, TELEGRAM_ID, notices[0], NOW + 2 * HOUR)
    await outbox.enqueue(
        session, TELEGRAM_ID, "提醒", kind="reminder", due_at=START, timezone="Asia/Shanghai"
    )
    await outbox.enqueue(
        session, OTHER_ID, "提醒", kind="reminder", due_at=START, timezone="Asia/Shanghai"
    )
    for update_id, sender, kind in (
        (1, TELEGRAM_ID, "message"),
        (2, TELEGRAM_ID, "callback_query"),
        (3, OTHER_ID, "message"),
    ):
        await inbox.store_update(session, BOT_ID, _update(update_id, sender, kind))
    await set_question(session, TELEGRAM_ID, "leave.reason", {"activity_id": meeting.id})
    await session.flush()
    take_pending(session)
    return World(member, other, theme_day, lecture, meeting, planting, notices[0], notices[1])


async def test_export_holds_every_row_about_the_member(session: AsyncSession, world: World) -> None:
    data = await export_data(session, TELEGRAM_ID)
    assert data is not None
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert set(data) == set(EXPORTED.values())
    assert data["account"]["open_question"] == "leave.reason"

    assert [(m["unit_code"], m["status"], m["reject_reason"]) for m in data["memberships"]] == [
        ("wanda-plaza", "active", None),
        ("haibinbei-community", "rejected", "请先向社区报到"),
        ("haibinbei-community", "pending", None),
    ]

    by_title = {p["activity_title"]: p for p in data["participations"]}
    assert list(by_title) == ["主题党日", "党课", "支部党员大会", "义务植树"]  # by start
    theme_day = by_title["主题党日"]
    assert (theme_day["status"], theme_day["outcome"]) == ("attending", "attended")
    assert theme_day["checked_in_at"] == (NOW + 16 * timedelta(minutes=1)).isoformat()
    assert theme_day["check_in_method"] == "location"
    assert (theme_day["checked_in_latitude"], theme_day["checked_in_longitude"]) == NEAR_WANDA
    assert (theme_day["unit_code"], theme_day["activity_kind"]) == ("wanda-plaza", "theme_day")
    lecture = by_title["党课"]
    assert (lecture["status"], lecture["outcome"]) == ("absent", "absent")
    assert lecture["made_up_note"] == STUDIED
    assert lecture["made_up_reported_at"] == (NOW + 3 * HOUR).isoformat()
    meeting = by_title["支部党员大会"]
    assert (meeting["status"], meeting["leave_reason"]) == ("leave_requested", REASON)
    assert meeting["outcome"] is None  # not held yet
    assert meeting["starts_at"] == START.isoformat()
    planting = by_title["义务植树"]
    assert (planting["status"], planting["queue_number"]) == ("signed_up", None)
    assert (planting["pledge_amount"], planting["pledge_kind"]) == (5, "saplings")
    assert all(p["walk_in"] is False for p in data["participations"])

    changes = [(c["activity_title"], c["action"], c["after"]) for c in data["attendance_changes"]]
    assert changes == [
        ("主题党日", "checked_in", "attended"),
        ("党课", "closed", "absent"),
        ("党课", "made_up_reported", "absent"),
    ]
    assert data["attendance_changes"][2]["reason"] == STUDIED
    assert CORRECTION not in json.dumps(data, ensure_ascii=False)  # another member's record
    assert "changed_by" not in json.dumps(data)

    first, second = data["notices"]
    assert first["excerpt"] == "三月主题党日安排"
    assert (first["delivery"], first["delivered_at"]) == ("sent", (NOW + HOUR).isoformat())
    assert first["acknowledged_at"] == (NOW + 2 * HOUR).isoformat()
    assert (second["excerpt"], second["delivery"], second["acknowledged_at"]) == (
        "学习材料请签收",
        "pending",
        None,
    )
    assert second["ack_deadline"] == START.isoformat()

    assert [(m["kind"], m["status"]) for m in data["messages"]] == [
        ("notice", "sent"),
        ("notice", "pending"),
        ("reminder", "pending"),
    ]
    assert data["messages"][0]["sent_at"] == (NOW + HOUR).isoformat()
    assert data["check_in_code_attempts"] == {
        "failures": 1,
        "last_failed_at": (NOW + 15 * timedelta(minutes=1)).isoformat(),
    }
    assert data["updates_received"]["count"] == 2  # not the other person's


async def test_forget_closes_what_was_pending_and_leaves_nothing_personal(
    session: AsyncSession, units: dict[str, OrgUnit], world: World
) -> None:
    member, when = world.member, NOW + 4 * HOUR
    me, other = member.id, world.other.id
    theme_day, lecture_id, meeting, planting_id = (
        a.id for a in (world.theme_day, world.lecture, world.meeting, world.planting)
    )
    await forget_member(session, member, when)
    assert await get_member(session, TELEGRAM_ID) is None

    # The seat went to the waitlisted member, who is told; the pledge is no longer counted.
    told = [(n.recipient, type(n.message)) for n in take_pending(session)]
    assert told == [(OTHER_ID, SeatFreed)]
    session.expire_all()
    planting = await session.get(Activity, planting_id)
    assert planting is not None and planting.seats_taken == 1
    rows = {(p.activity_id, p.member_id): p for p in await session.scalars(select(Participation))}
    assert rows[(planting_id, other)].status is ParticipationStatus.signed_up
    assert rows[(planting_id, me)].status is ParticipationStatus.cancelled

    # The leave request is closed: the secretary's list is empty, its reason gone.
    leave = await participations_page(
        session, meeting, {ParticipationStatus.leave_requested}, 1, 10
    )
    assert leave.total == 0
    mine = [p for (_, m), p in rows.items() if m == me]
    assert all(p.leave_reason is None and p.made_up_note is None for p in mine)
    assert all(p.checked_in_latitude is None and p.checked_in_longitude is None for p in mine)
    # The past stays, anonymous: attended, absent (the make-up report withdrawn).
    assert rows[(theme_day, me)].checked_in_at is not None
    lecture = rows[(lecture_id, me)]
    assert (lecture.status, lecture.made_up_reported_at) == (ParticipationStatus.absent, None)
    assert rows[(meeting, me)].status is ParticipationStatus.cancelled

    trail = list(
        await session.scalars(select(AttendanceChange).where(AttendanceChange.member_id == me))
    )
    assert len(trail) == 3 and all(c.reason is None for c in trail)
    assert all(c.changed_by is None for c in trail)  # their own check-in, report; the bot
    other_reasons = await session.scalars(
        select(AttendanceChange.reason).where(AttendanceChange.member_id == other)
    )
    assert CORRECTION in set(other_reasons)  # someone else's record is untouched
    assert await session.get(CodeAttempts, me) is None

    memberships = list(await session.scalars(select(Membership).where(Membership.member_id == me)))
    assert {m.status for m in memberships} == {MembershipStatus.left, MembershipStatus.rejected}
    assert all(m.reject_reason is None for m in memberships)
    assert await pending_reports(session, COMMUNITY_SECRETARY) == []

    # Nobody waits for their acknowledgement any more; what they acknowledged still counts.
    _, silent = await not_acknowledged_page(session, SECRETARY, world.awaited_notice, 1, 10)
    assert me not in {s.member.id for s in silent.items}
    assert (await notice_figures(session, world.awaited_notice)).recipients == 1  # the other
    kept = await session.scalar(
        select(NoticeRecipient).where(
            NoticeRecipient.notice_id == world.acknowledged_notice,
            NoticeRecipient.member_id == me,
        )
    )
    assert kept is not None and kept.acknowledged_at == NOW + 2 * HOUR
    assert (kept.outcome, kept.delivered_at) == (DeliveryStatus.sent, NOW + HOUR)  # settled
    figures = await notice_figures(session, world.acknowledged_notice)
    assert (figures.delivered, figures.acknowledged) == (1, 1)

    # The outbox and the inbox keep nothing of their chat; the other person's stay.
    chats = list(await session.scalars(select(Delivery.chat_id)))
    assert TELEGRAM_ID not in chats and OTHER_ID in chats
    assert (await inbox.updates_from(session, TELEGRAM_ID))[0] == 0
    assert (await inbox.updates_from(session, OTHER_ID))[0] == 1
    assert await session.get(Account, TELEGRAM_ID) is None

    await session.refresh(member)
    exported = await export_member_data(session, member)
    assert exported["profile"]["real_name"] is None
    assert len(exported["participations"]) == 4  # anonymous, for the statistics
    assert exported["messages"] == [] and exported["notices"][0]["acknowledged_at"]
    text = json.dumps(exported, ensure_ascii=False)
    for personal in (REASON, STUDIED, "请先向社区报到", "王小明", str(NEAR_WANDA[0])):
        assert personal not in text
    assert not await has_personal_data(session, TELEGRAM_ID)

    await session.refresh(member)
    await forget_member(session, member, when + HOUR)  # again: nothing changes
    assert take_pending(session) == []
    assert member.forgotten_at == when


async def test_nothing_stored_and_staff_without_a_profile(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    assert not await has_personal_data(session, 7_000_001)
    assert await export_data(session, 7_000_001) is None
    await set_language(session, 7_000_001, "en")  # only the language: nothing personal
    await start_profile(session, 7_000_001, NOW)  # /start pressed, consent not given
    assert not await has_personal_data(session, 7_000_001)

    # Staff named from the command line have no member row, but a role and their chat.
    staff = 7_000_002
    await grant_role(session, staff, Role.secretary, units["wanda-plaza"].id, None)
    assert await has_personal_data(session, staff)
    data = await export_data(session, staff)
    assert data is not None and data["profile"] is None
    assert [r["role"] for r in data["roles"]] == ["secretary"]
    soon = draft(starts_at=NOW + HOUR, ends_at=NOW + 2 * HOUR)
    activity = await create_activity(session, staff, units["wanda-plaza"].id, soon, NOW)
    await active_member(session, units["wanda-plaza"], 7_000_003)  # someone to notify
    notice = await create_notice(
        session,
        staff,
        NoticeDraft(units["wanda-plaza"].id, "通知", AudienceChoice(Audience.unit)),
        NOW,
    )
    session.add(FiguresMessage(notice_id=notice.id, chat_id=staff, language="zh", opened_at=NOW))
    screen = CheckInScreen(
        activity_id=activity.id,
        purpose=ScreenPurpose.check_in,
        chat_id=staff,
        opened_by=staff,
        opened_at=NOW,
        refresh_due_at=NOW + HOUR,
        token_expires_at=NOW + HOUR,
        closes_at=NOW + 2 * HOUR,
    )
    session.add(screen)
    await session.flush()

    await forget_user(session, staff, NOW)
    assert await roles_of(session, staff) == []
    assert not await has_personal_data(session, staff)
    assert (
        await session.scalar(select(FiguresMessage).where(FiguresMessage.chat_id == staff)) is None
    )
    await session.refresh(screen)
    assert screen.closed_at == NOW  # no longer refreshed in their chat


# --- every table with a person's id is accounted for --------------------------------------------


def uncovered(metadata: MetaData) -> set[str]:
    """Tables with a column naming a member, a Telegram user or chat, that neither /mydata
    nor the documented exclusions account for."""
    named = {
        table.name
        for table in metadata.tables.values()
        if PERSON_COLUMNS & {column.name for column in table.columns}
    }
    return named - set(EXPORTED) - set(NOT_EXPORTED)


def test_every_table_with_a_person_s_id_is_exported_or_excluded_with_a_reason() -> None:
    assert uncovered(Base.metadata) == set()
    tables = set(Base.metadata.tables)
    assert set(EXPORTED) <= tables and set(NOT_EXPORTED) <= tables
    assert not set(EXPORTED) & set(NOT_EXPORTED)
    assert all(NOT_EXPORTED.values())  # each with its reason


def test_a_new_table_with_a_member_id_is_caught() -> None:
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table(
        "volunteer_badges",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("member_id", Integer),
    )
    Table("chat_notes", metadata, Column("chat_id", BigInteger, primary_key=True))
    assert uncovered(metadata) == {"volunteer_badges", "chat_notes"}

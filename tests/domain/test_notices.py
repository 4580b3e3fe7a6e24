"""Notices (通知) with acknowledgement (签阅): who they reach, what is refused, sending
(now, scheduled, withdrawn), the outbox copies the notifier writes, Received, and the
author's follow-up (figures, Remind, deadlines, the sheet, /notices).

The domain records one NoticeSent per reachable recipient (read with `take_pending`);
`queue` hands them to the real OutboxNotifier, which writes the outbox rows. What the
sender would do to those rows is done here by setting their status directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import views.notifications
from models import outbox
from models.account import set_language
from models.activities import cancel_signup, create_activity, sign_up
from models.attendance import close_record, decide_leave, request_leave, roster_check_in
from models.errors import DomainError, InvalidInput, InvalidState, PermissionDenied
from models.members import (
    Member,
    Membership,
    MembershipKind,
    MembershipStatus,
    MemberType,
    Via,
    leave,
)
from models.notices import (
    ATTACHMENT_MAX_BYTES,
    CAPTION_TEXT_MAX,
    TEXT_MAX,
    Attachment,
    AttachmentKind,
    Audience,
    AudienceChoice,
    AudienceSize,
    Figures,
    GroupLink,
    Notice,
    NoticeDraft,
    NoticeRecipient,
    RemindTooSoon,
    TooLong,
    acknowledge,
    acknowledgement_sheet,
    audience_size,
    check_attachment,
    clean_body,
    create_notice,
    deadline_reminder_at,
    delivery_key,
    due_notices,
    figures_of,
    follow_up_deadlines,
    notice_figures,
    notices_page,
    remind,
    send_notice,
    settle_deliveries,
    visible_length,
    withdraw_notice,
)
from models.notifications import (
    NoticeDeadlinePassed,
    NoticePosted,
    NoticeReminder,
    NoticeSent,
    Notification,
    ScheduledNoticeEmpty,
    take_pending,
)
from models.org import OrgUnit
from models.outbox import Delivery, DeliveryStatus, MediaKind
from models.permissions import ROLE_PERMISSIONS, Permission, Role, grant_role
from models.privacy import forget_member
from tests.domain.conftest import NOW
from tests.domain.test_activities_support import (
    MEETING,
    ORGANIZER,
    OTHER_SECRETARY,
    SECRETARY,
    START,
    active_member,
    draft,
    grant_staff,
)
from views.buttons import AckNotice
from views.i18n import Defaults
from views.notifications import OutboxNotifier

COMMITTEE = 2004  # secretary of the Lehua Street committee (above Haibin North and Wanda)
HOUR, MINUTE, DAY = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)
EVERY = timedelta(hours=6)  # the period of Remind
BODY = "<b>通知</b>：周五下午三点在党群服务中心开会，请准时参加。"
# Wanda Plaza's members (the secretary is one too), and members elsewhere in the tree.
W1, W2, W3, BLOCKED, FORGOTTEN, LEFT = 101, 102, 103, 104, 105, 106
HUADUHUI, COMMUNITY, STREET, ZONE, INCUBATOR = 201, 301, 311, 321, 401
WANDA_REACHED = {W1, W2, W3, BLOCKED}  # a Wanda notice of its secretary's, to the unit


@dataclass
class World:
    units: dict[str, OrgUnit]
    members: dict[int, Member]  # by Telegram id, as they were made

    def unit(self, code: str) -> OrgUnit:
        return self.units[code]

    def id_of(self, telegram_id: int) -> int:
        return self.members[telegram_id].id


@pytest.fixture
async def world(session: AsyncSession, units: dict[str, OrgUnit]) -> World:
    await grant_staff(session, units)
    await grant_role(session, COMMITTEE, Role.secretary, units["lehua-street"].id, None)
    placed = {
        W1: ("wanda-plaza", "王一"),
        W2: ("wanda-plaza", "王二"),
        W3: ("wanda-plaza", "王三"),
        BLOCKED: ("wanda-plaza", "王四"),
        FORGOTTEN: ("wanda-plaza", "王五"),
        LEFT: ("wanda-plaza", "王六"),
        SECRETARY: ("wanda-plaza", "书记"),
        HUADUHUI: ("huaduhui", "华一"),
        COMMUNITY: ("haibinbei-community", "海一"),
        STREET: ("lehua-street", "乐一"),
        ZONE: ("zhanjiang-edz", "湛一"),
        INCUBATOR: ("tech-incubator", "孵一"),
    }
    members = {
        telegram_id: await active_member(session, units[code], telegram_id, name)
        for telegram_id, (code, name) in placed.items()
    }
    members[W2].member_type = MemberType.floating
    members[HUADUHUI].member_type = MemberType.floating
    members[INCUBATOR].member_type = MemberType.floating
    members[BLOCKED].unreachable_at = NOW - DAY
    await forget_member(session, members[FORGOTTEN], NOW - DAY)
    await leave(session, members[LEFT], units["wanda-plaza"].id, NOW - DAY)
    await session.flush()
    take_pending(session)
    return World(units, members)


# --- helpers ------------------------------------------------------------------------------------


def notice_draft(
    unit: OrgUnit, audience: Audience | str | AudienceChoice = Audience.unit, **changes: Any
) -> NoticeDraft:
    if not isinstance(audience, AudienceChoice):
        audience = AudienceChoice(Audience(audience))
    return NoticeDraft(**{"unit_id": unit.id, "body_html": BODY, "audience": audience, **changes})


async def send(
    session: AsyncSession,
    world: World,
    *,
    author: int = SECRETARY,
    unit: str = "wanda-plaza",
    now: datetime = NOW,
    audience: Audience | str | AudienceChoice = Audience.unit,
    **changes: Any,
) -> Notice:
    return await create_notice(
        session, author, notice_draft(world.unit(unit), audience, **changes), now
    )


async def code_of(operation) -> str | None:  # type: ignore[no-untyped-def]
    try:
        await operation
    except DomainError as error:
        return error.code
    return None


async def recipients(session: AsyncSession, notice: Notice) -> set[int | None]:
    """The Telegram ids of the notice's recipient rows."""
    rows = await session.scalars(
        select(Member.telegram_id)
        .join(NoticeRecipient, NoticeRecipient.member_id == Member.id)
        .where(NoticeRecipient.notice_id == notice.id)
    )
    return set(rows)


async def recipient_row(session: AsyncSession, notice: Notice, member: Member) -> NoticeRecipient:
    return await session.scalar(  # type: ignore[return-value]
        select(NoticeRecipient)
        .where(NoticeRecipient.notice_id == notice.id, NoticeRecipient.member_id == member.id)
        .execution_options(populate_existing=True)
    )


NOTIFIER = OutboxNotifier(lambda: NOW, Defaults(language="zh", timezone="UTC"))


async def queue(session: AsyncSession) -> list[Notification]:
    """Hand what the domain recorded to the real notifier (outbox rows); what it was."""
    told = take_pending(session)
    await NOTIFIER.deliver(session, told)
    return told


async def outbox_rows(session: AsyncSession) -> dict[str | None, Delivery]:
    rows = await session.scalars(
        select(Delivery).order_by(Delivery.id).execution_options(populate_existing=True)
    )
    return {row.dedup_key: row for row in rows}


async def outbox_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Delivery)) or 0


async def set_delivery(
    session: AsyncSession,
    world: World,
    notice: Notice,
    telegram_id: int,
    status: DeliveryStatus,
    at: datetime | None = None,
) -> None:
    """What the sender would have done to this member's copy."""
    done = await session.execute(
        update(Delivery)
        .where(Delivery.dedup_key == delivery_key(notice.id, world.id_of(telegram_id)))
        .values(status=status, sent_at=at if status is DeliveryStatus.sent else None)
    )
    assert done.rowcount == 1


def kinds(told: list[Notification]) -> list[tuple[int, type, str | None]]:
    """Who was told, of what kind, with which dedup key: by recipient and key."""
    found = [(n.recipient, type(n.message), n.dedup_key) for n in told]
    return sorted(found, key=lambda item: (item[0], item[2] or ""))


# --- audiences ----------------------------------------------------------------------------------


async def test_a_unit_notice_reaches_its_active_members_but_not_the_author_forgotten_or_left(
    session: AsyncSession, world: World
) -> None:
    wanda = world.unit("wanda-plaza")
    choice = AudienceChoice(Audience.unit)
    assert await audience_size(session, SECRETARY, wanda.id, choice) == AudienceSize(4, 1)
    notice = await send(session, world)
    # The secretary is a member of Wanda too, but wrote it; the forgotten and the one who left
    # are not there; nobody of another unit.
    assert await recipients(session, notice) == WANDA_REACHED
    assert notice.recipient_count == 4
    # The organizer (no member record) writing: the secretary gets it like anyone else.
    other = await send(session, world, author=ORGANIZER)
    assert await recipients(session, other) == WANDA_REACHED | {SECRETARY}


async def test_a_committees_notice_reaches_the_units_below_and_a_branchs_does_not_reach_up(
    session: AsyncSession, world: World
) -> None:
    below_street = {*WANDA_REACHED, SECRETARY, HUADUHUI, COMMUNITY, STREET}
    tree = await send(session, world, author=COMMITTEE, unit="lehua-street", audience="unit_tree")
    assert await recipients(session, tree) == below_street  # not Zhanjiang's, not the incubator's
    unit = await send(session, world, author=COMMITTEE, unit="lehua-street", audience="unit")
    assert await recipients(session, unit) == {STREET}  # its own members only

    branch = await send(session, world, audience="unit_tree")
    assert await recipients(session, branch) == WANDA_REACHED  # not Haibin North's, above it
    community = await send(
        session, world, author=COMMITTEE, unit="haibinbei-community", audience="unit_tree"
    )
    assert await recipients(session, community) == {*WANDA_REACHED, SECRETARY, HUADUHUI, COMMUNITY}


async def test_floating_members_only(session: AsyncSession, world: World) -> None:
    branch = await send(session, world, audience="floating")
    assert await recipients(session, branch) == {W2}
    tree = await send(session, world, author=COMMITTEE, unit="lehua-street", audience="floating")
    assert await recipients(session, tree) == {W2, HUADUHUI}  # not the incubator's


async def test_those_signed_up_or_expected_at_an_activity_the_excused_left_out(
    session: AsyncSession, world: World
) -> None:
    wanda = world.unit("wanda-plaza")
    m = world.members
    meeting = await create_activity(session, SECRETARY, wanda.id, MEETING, NOW)
    excused = await request_leave(session, meeting.id, m[W1], "出差在外", NOW)
    await decide_leave(session, excused.id, SECRETARY, True, NOW)
    await request_leave(session, meeting.id, m[W2], "家里有事", NOW)  # not decided: expected
    about = AudienceChoice(Audience.activity, activity_id=meeting.id)
    expected = await send(session, world, audience=about)
    assert await recipients(session, expected) == {W2, W3, BLOCKED}

    event = await create_activity(session, SECRETARY, wanda.id, draft(capacity=1), NOW)
    await sign_up(session, event.id, m[W1], NOW)  # the seat
    await sign_up(session, event.id, m[W2], NOW)  # waitlisted
    await sign_up(session, event.id, m[W3], NOW)  # waitlisted, then cancelled
    await cancel_signup(session, event.id, m[W3], NOW)
    about_event = AudienceChoice(Audience.activity, activity_id=event.id)
    signed_up = await send(session, world, audience=about_event)
    assert await recipients(session, signed_up) == {W1, W2}

    # A committee may address those of an activity below it.
    from_above = await send(
        session, world, author=COMMITTEE, unit="lehua-street", audience=about_event
    )
    assert await recipients(session, from_above) == {W1, W2}


async def test_the_absent_of_a_closed_record(session: AsyncSession, world: World) -> None:
    wanda = world.unit("wanda-plaza")
    m = world.members
    meeting = await create_activity(session, SECRETARY, wanda.id, MEETING, NOW)
    excused = await request_leave(session, meeting.id, m[W2], "出差在外", NOW)
    await decide_leave(session, excused.id, SECRETARY, True, NOW)
    await roster_check_in(session, meeting.id, m[W1].id, SECRETARY, START + 10 * MINUTE)
    after = MEETING.ends_at + MINUTE
    await close_record(session, meeting.id, after)
    about = AudienceChoice(Audience.activity_absent, activity_id=meeting.id)
    notice = await send(session, world, audience=about, now=after)
    # W1 came, W2 was excused; the secretary (absent too) wrote it.
    assert await recipients(session, notice) == {W3, BLOCKED}


async def test_those_who_have_not_acknowledged_an_earlier_notice(
    session: AsyncSession, world: World
) -> None:
    earlier = await send(session, world)
    await acknowledge(session, W1, earlier.id, NOW + MINUTE)
    await acknowledge(session, W3, earlier.id, NOW + MINUTE)
    again = AudienceChoice(Audience.not_acknowledged, notice_id=earlier.id)
    notice = await send(session, world, audience=again, now=NOW + HOUR)
    assert await recipients(session, notice) == {W2, BLOCKED}

    no_ack = await send(session, world, ack_required=False)
    elsewhere = await send(session, world, author=OTHER_SECRETARY, unit="tech-incubator")
    for invalid in (no_ack, elsewhere):
        choice = AudienceChoice(Audience.not_acknowledged, notice_id=invalid.id)
        assert await code_of(send(session, world, audience=choice)) == (
            "notice.earlier_notice_invalid"
        )


async def test_members_who_blocked_the_bot_are_counted_kept_and_not_written_to(
    session: AsyncSession, world: World
) -> None:
    wanda = world.unit("wanda-plaza")
    size = await audience_size(session, SECRETARY, wanda.id, AudienceChoice(Audience.unit))
    assert (size.recipients, size.unreachable) == (4, 1)
    notice = await send(session, world)
    told = await queue(session)
    assert BLOCKED not in {n.recipient for n in told}
    row = await recipient_row(session, notice, world.members[BLOCKED])
    assert row.outcome is DeliveryStatus.unreachable and row.delivered_at is None
    assert delivery_key(notice.id, world.id_of(BLOCKED)) not in await outbox_rows(session)
    assert BLOCKED not in {row.chat_id for row in (await outbox_rows(session)).values()}
    figures = await notice_figures(session, notice.id)
    assert figures == Figures(
        recipients=4, queued=3, delivered=0, failed=0, blocked=1, acknowledged=0
    )


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["   \n ", "<b> </b>", "<i></i>\n<b>&nbsp;</b>"])
async def test_an_empty_text_is_refused(session: AsyncSession, world: World, body: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_body(body, None)
    assert refused.value.code == "notice.empty" and refused.value.field == "text"
    assert await code_of(send(session, world, body_html=body)) == "notice.empty"
    assert await session.scalar(select(func.count()).select_from(Notice)) == 0
    assert take_pending(session) == []


def test_the_length_is_counted_as_telegram_counts_it_in_utf16() -> None:
    assert visible_length("<b>党建</b> &amp; 😀") == 2 + 3 + 2  # tags not counted, the emoji twice
    assert clean_body("  " + "字" * TEXT_MAX + "\n", None) == "字" * TEXT_MAX  # stripped, fits
    assert clean_body(f"<b>{'a' * TEXT_MAX}</b>", None)  # the tags are not text
    assert clean_body("😀" * (TEXT_MAX // 2), None)  # 3,500 UTF-16 units exactly
    with pytest.raises(TooLong) as refused:
        clean_body("😀" * (TEXT_MAX // 2 + 1), None)  # 1,751 characters, 3,502 units
    assert (refused.value.limit, refused.value.length) == (TEXT_MAX, TEXT_MAX + 2)
    assert refused.value.code == "notice.too_long"
    with pytest.raises(TooLong) as refused:
        clean_body("字" * (TEXT_MAX + 1), None)
    assert (refused.value.limit, refused.value.length) == (TEXT_MAX, TEXT_MAX + 1)


def test_a_caption_has_its_own_limit() -> None:
    photo = Attachment(AttachmentKind.photo, "photo-file-id")
    assert clean_body("a" * CAPTION_TEXT_MAX, photo)
    with pytest.raises(TooLong) as refused:
        clean_body("a" * (CAPTION_TEXT_MAX + 1), photo)
    assert (refused.value.limit, refused.value.length) == (CAPTION_TEXT_MAX, CAPTION_TEXT_MAX + 1)
    assert refused.value.code == "notice.caption_too_long"
    assert clean_body("a" * (CAPTION_TEXT_MAX + 1), None)  # without the photo it fits


async def test_too_long_a_text_is_refused_when_sending_too(
    session: AsyncSession, world: World
) -> None:
    photo = Attachment(AttachmentKind.photo, "photo-file-id")
    long_caption = "字" * (CAPTION_TEXT_MAX + 1)
    assert await code_of(send(session, world, body_html=long_caption, attachment=photo)) == (
        "notice.caption_too_long"
    )
    assert await code_of(send(session, world, body_html="字" * (TEXT_MAX + 1))) == (
        "notice.too_long"
    )
    assert await session.scalar(select(func.count()).select_from(Notice)) == 0


@pytest.mark.parametrize(
    ("kind", "name", "size", "code"),
    [
        ("video", None, 1000, "notice.attachment_kind"),
        ("document", "setup.exe", 1000, "notice.attachment_kind"),
        ("document", "no-extension", 1000, "notice.attachment_kind"),
        ("document", None, 1000, "notice.attachment_kind"),
        ("photo", None, ATTACHMENT_MAX_BYTES + 1, "notice.attachment_too_large"),
        ("document", "会议纪要.pdf", ATTACHMENT_MAX_BYTES + 1, "notice.attachment_too_large"),
    ],
)
def test_an_attachment_of_the_wrong_kind_or_too_large_is_refused(
    kind: str, name: str | None, size: int, code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_attachment(kind, "file-id", name, size)
    assert refused.value.code == code and refused.value.field == "attachment"


def test_documents_and_photos_within_the_limit_are_taken() -> None:
    document = check_attachment("document", "doc-id", " 学习材料.PDF ", ATTACHMENT_MAX_BYTES)
    assert document == Attachment(AttachmentKind.document, "doc-id", "学习材料.PDF")
    assert check_attachment("photo", "photo-id", "ignored.jpg", None) == Attachment(
        AttachmentKind.photo, "photo-id", None
    )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"send_at": NOW}, "notice.send_at_past"),
        ({"send_at": NOW - MINUTE}, "notice.send_at_past"),
        ({"send_at": NOW + timedelta(days=91)}, "notice.send_at_too_far"),
        ({"send_at": NOW + 2 * HOUR, "ack_deadline": NOW + HOUR}, "notice.deadline_past"),
        ({"send_at": NOW + 2 * HOUR, "ack_deadline": NOW + 2 * HOUR}, "notice.deadline_past"),
        ({"ack_deadline": NOW - MINUTE}, "notice.deadline_past"),
        ({"ack_deadline": NOW + timedelta(days=91)}, "notice.deadline_too_far"),
        ({"ack_deadline": NOW + DAY, "ack_required": False}, "notice.deadline_without_ack"),
        ({"send_at": (NOW + HOUR).replace(tzinfo=None)}, "time.naive"),
    ],
)
async def test_times_are_refused_in_the_past_too_far_or_out_of_order(
    session: AsyncSession, world: World, changes: dict[str, Any], code: str
) -> None:
    assert await code_of(send(session, world, **changes)) == code


async def test_times_within_the_limits_are_taken(session: AsyncSession, world: World) -> None:
    scheduled = await send(
        session, world, send_at=NOW + timedelta(days=90), ack_deadline=NOW + timedelta(days=91)
    )
    assert scheduled.sent_at is None and scheduled.send_at == NOW + timedelta(days=90)


async def test_an_audience_of_nobody_is_refused(session: AsyncSession, world: World) -> None:
    # Huaduhui's only member writes to its floating members: nobody but themselves.
    await grant_role(session, HUADUHUI, Role.secretary, world.unit("huaduhui").id, None)
    assert await code_of(send(session, world, author=HUADUHUI, unit="huaduhui")) == (
        "notice.audience_empty"
    )
    assert await code_of(send(session, world, audience=AudienceChoice(Audience.activity))) == (
        "notice.audience_needs_activity"
    )
    assert await session.scalar(select(func.count()).select_from(Notice)) == 0


async def test_who_may_send_to_which_unit(session: AsyncSession, world: World) -> None:
    assert Permission.broadcast in ROLE_PERMISSIONS[Role.organizer]
    assert Permission.broadcast in ROLE_PERMISSIONS[Role.secretary]
    with pytest.raises(PermissionDenied) as denied:
        await send(session, world, unit="tech-incubator")  # not the Wanda secretary's unit
    assert denied.value.permission == Permission.broadcast
    with pytest.raises(PermissionDenied):
        await send(session, world, unit="haibinbei-community")  # above it, not below
    with pytest.raises(PermissionDenied):
        await send(session, world, author=W1)  # a plain member
    by_organizer = await send(session, world, author=ORGANIZER)
    assert by_organizer.author_id == ORGANIZER and by_organizer.recipient_count == 5
    from_above = await send(session, world, author=COMMITTEE)  # a committee, for a unit below
    assert from_above.org_unit_id == world.unit("wanda-plaza").id


async def test_an_activity_of_another_unit_is_refused(session: AsyncSession, world: World) -> None:
    incubator = world.unit("tech-incubator")
    other = await create_activity(session, OTHER_SECRETARY, incubator.id, MEETING, NOW)
    for audience in (Audience.activity, Audience.activity_absent):
        choice = AudienceChoice(audience, activity_id=other.id)
        assert await code_of(send(session, world, audience=choice)) == "notice.activity_elsewhere"


async def test_a_group_post_needs_a_linked_group(session: AsyncSession, world: World) -> None:
    assert await code_of(send(session, world, post_to_group=True)) == "notice.no_group"
    wanda = world.unit("wanda-plaza")
    session.add(GroupLink(org_unit_id=wanda.id, chat_id=-100123, title="万达党员群", linked_by=1))
    await session.flush()
    notice = await send(session, world, post_to_group=True)
    posted = [n for n in take_pending(session) if isinstance(n.message, NoticePosted)]
    assert [(n.recipient, n.dedup_key) for n in posted] == [(-100123, f"notice:{notice.id}:group")]
    assert notice.group_chat_id == -100123


# --- sending ------------------------------------------------------------------------------------


async def test_a_notice_is_sent_at_once_one_copy_per_reachable_recipient(
    session: AsyncSession, world: World
) -> None:
    notice = await send(session, world)
    assert notice.sent_at == NOW and notice.recipient_count == 4
    told = take_pending(session)
    assert kinds(told) == sorted(
        (tg, NoticeSent, f"notice:{notice.id}:{world.id_of(tg)}") for tg in (W1, W2, W3)
    )
    assert {n.message.notice.id for n in told} == {notice.id}  # type: ignore[attr-defined]
    rows = await session.scalars(
        select(NoticeRecipient).where(NoticeRecipient.notice_id == notice.id)
    )
    assert {row.delivery_key for row in rows} == {
        delivery_key(notice.id, world.id_of(tg)) for tg in WANDA_REACHED
    }
    await NOTIFIER.deliver(session, told)
    assert await outbox_count(session) == 3

    # Sending again, as a second scan or a second press would: nothing.
    assert await send_notice(session, notice, NOW + MINUTE) == 0
    assert take_pending(session) == []
    stored = await session.get_one(Notice, notice.id, populate_existing=True)
    assert stored.sent_at == NOW
    await NOTIFIER.deliver(session, told)  # the same notifications handed over again
    assert await outbox_count(session) == 3


async def test_a_scheduled_notice_goes_at_its_time_to_the_audience_of_that_moment(
    session: AsyncSession, world: World
) -> None:
    at = NOW + 2 * HOUR
    notice = await send(session, world, send_at=at)
    assert notice.sent_at is None and take_pending(session) == []
    assert await recipients(session, notice) == set()
    assert await due_notices(session, at - MINUTE) == []
    late = await active_member(session, world.unit("wanda-plaza"), 150, "后来者")
    assert [n.id for n in await due_notices(session, at)] == [notice.id]
    assert await send_notice(session, notice, at) == 5
    assert await recipients(session, notice) == WANDA_REACHED | {late.telegram_id}
    assert notice.sent_at == at
    assert await due_notices(session, at + HOUR) == []
    assert len(take_pending(session)) == 4


async def test_a_withdrawn_scheduled_notice_is_never_sent(
    session: AsyncSession, world: World
) -> None:
    at = NOW + 2 * HOUR
    notice = await send(session, world, send_at=at)
    await withdraw_notice(session, SECRETARY, notice.id, NOW + HOUR)
    assert await due_notices(session, at) == []
    assert await send_notice(session, notice, at) == 0
    assert await recipients(session, notice) == set()
    assert take_pending(session) == []


async def test_a_scheduled_notice_whose_audience_became_nobody_tells_the_author(
    session: AsyncSession, world: World
) -> None:
    about = AudienceChoice(Audience.floating)
    notice = await send(session, world, send_at=NOW + HOUR, audience=about)
    await leave(session, world.members[W2], world.unit("wanda-plaza").id, NOW + MINUTE)
    assert await send_notice(session, notice, NOW + HOUR) == 0
    assert kinds(take_pending(session)) == [(SECRETARY, ScheduledNoticeEmpty, None)]
    assert notice.sent_at == NOW + HOUR  # not tried again
    assert await due_notices(session, NOW + 2 * HOUR) == []


async def test_the_notifier_renders_once_per_language_and_skips_keys_queued_before(
    session: AsyncSession, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_language(session, W2, "zh")
    await set_language(session, W3, "en")
    calls: list[str] = []
    render = views.notifications.render

    def counting(message, language, zone):  # type: ignore[no-untyped-def]
        calls.append(language)
        return render(message, language, zone)

    monkeypatch.setattr(views.notifications, "render", counting)
    notice = await send(session, world)
    told = await queue(session)
    assert sorted(calls) == ["en", "zh"]  # three copies, two languages
    rows = await outbox_rows(session)
    copy = {tg: rows[delivery_key(notice.id, world.id_of(tg))] for tg in (W1, W2, W3)}
    assert copy[W1].text == copy[W2].text != copy[W3].text
    assert "万达广场" in copy[W1].text and "Wanda Plaza" in copy[W3].text
    assert "周五下午三点" in copy[W3].text  # the author's text, as typed
    for row in copy.values():
        assert (row.kind, row.timezone, row.status) == ("notice", "Asia/Shanghai", "pending")
        assert row.media_kind is None and row.media_file_id is None
        button = row.reply_markup["inline_keyboard"][0][0]  # type: ignore[index]
        assert button["callback_data"] == AckNotice(notice.id).pack()
    assert copy[W1].reply_markup == copy[W2].reply_markup

    # The same notifications once more, and a key queued before beside a new one (twice).
    await NOTIFIER.deliver(session, told)
    assert await outbox_count(session) == 3
    row = {"text": "x", "kind": "notice", "due_at": NOW, "timezone": "UTC", "chat_id": W1}
    again = {**row, "dedup_key": delivery_key(notice.id, world.id_of(W1))}
    fresh = {**row, "dedup_key": "bench:fresh"}
    assert await outbox.enqueue_many(session, [again, fresh, fresh]) == 1
    assert await outbox.enqueue_many(session, [again, fresh]) == 0
    assert await outbox_count(session) == 4


async def test_a_notice_with_a_photo_or_document_is_queued_with_it(
    session: AsyncSession, world: World
) -> None:
    photo = Attachment(AttachmentKind.photo, "AgACAgUAAx-photo")
    notice = await send(session, world, attachment=photo, body_html="见附图")
    await queue(session)
    copy = (await outbox_rows(session))[delivery_key(notice.id, world.id_of(W1))]
    assert (copy.media_kind, copy.media_file_id) == (MediaKind.photo, "AgACAgUAAx-photo")
    assert "见附图" in copy.text

    document = Attachment(AttachmentKind.document, "BQACAgUAAx-doc", "学习材料.pdf")
    with_file = await send(session, world, attachment=document)
    await queue(session)
    copy = (await outbox_rows(session))[delivery_key(with_file.id, world.id_of(W1))]
    assert (copy.media_kind, copy.media_file_id) == (MediaKind.document, "BQACAgUAAx-doc")
    assert with_file.attachment_name == "学习材料.pdf"


# --- acknowledgement ----------------------------------------------------------------------------


async def test_received_is_recorded_once(session: AsyncSession, world: World) -> None:
    notice = await send(session, world)
    first = await acknowledge(session, W1, notice.id, NOW + MINUTE)
    assert not first.already and first.recipient.acknowledged_at == NOW + MINUTE
    second = await acknowledge(session, W1, notice.id, NOW + HOUR)
    assert second.already and second.recipient.acknowledged_at == NOW + MINUTE
    row = await recipient_row(session, notice, world.members[W1])
    assert row.acknowledged_at == NOW + MINUTE
    assert (await notice_figures(session, notice.id)).acknowledged == 1
    # The blocked member may acknowledge from /notices once back.
    assert not (await acknowledge(session, BLOCKED, notice.id, NOW + HOUR)).already


async def test_received_is_refused_when_it_does_not_fit(
    session: AsyncSession, world: World
) -> None:
    notice = await send(session, world)
    assert await code_of(acknowledge(session, INCUBATOR, notice.id, NOW)) == (
        "notice.not_a_recipient"
    )
    assert await code_of(acknowledge(session, 999_999, notice.id, NOW)) == (
        "notice.not_a_recipient"
    )  # no profile at all
    assert await code_of(acknowledge(session, W1, 987_654, NOW)) == "notice.not_found"

    await leave(session, world.members[W2], world.unit("wanda-plaza").id, NOW + MINUTE)
    with pytest.raises(InvalidState) as left:
        await acknowledge(session, W2, notice.id, NOW + HOUR)
    assert left.value.code == "notice.unit_left"

    no_ack = await send(session, world, ack_required=False)
    assert await code_of(acknowledge(session, W1, no_ack.id, NOW)) == "notice.no_ack"

    await withdraw_notice(session, SECRETARY, notice.id, NOW + HOUR)
    assert await code_of(acknowledge(session, W3, notice.id, NOW + 2 * HOUR)) == (
        "notice.withdrawn"
    )
    row = await recipient_row(session, notice, world.members[W3])
    assert row.acknowledged_at is None


async def test_a_notice_from_above_may_be_acknowledged_by_a_member_below(
    session: AsyncSession, world: World
) -> None:
    notice = await send(session, world, author=COMMITTEE, unit="lehua-street", audience="unit_tree")
    assert not (await acknowledge(session, HUADUHUI, notice.id, NOW + MINUTE)).already


# --- follow-up ----------------------------------------------------------------------------------


async def test_figures_follow_the_outbox(session: AsyncSession, world: World) -> None:
    notice = await send(session, world)
    await queue(session)
    other = await send(session, world, ack_required=False)
    await queue(session)

    def figures(queued: int, delivered: int, failed: int, blocked: int, ack: int) -> Figures:
        return Figures(4, queued, delivered, failed, blocked, ack)

    found = await figures_of(session, [notice.id, other.id, 987_654])
    assert found == {
        notice.id: figures(3, 0, 0, 1, 0),
        other.id: figures(3, 0, 0, 1, 0),
        987_654: Figures(0, 0, 0, 0, 0, 0),
    }
    assert not found[notice.id].finished
    await set_delivery(session, world, notice, W1, DeliveryStatus.sent, NOW + MINUTE)
    await acknowledge(session, W1, notice.id, NOW + 2 * MINUTE)
    assert await notice_figures(session, notice.id) == figures(2, 1, 0, 1, 1)
    await set_delivery(session, world, notice, W2, DeliveryStatus.failed)
    await set_delivery(session, world, notice, W3, DeliveryStatus.sending)
    assert await notice_figures(session, notice.id) == figures(1, 1, 1, 1, 1)
    await set_delivery(session, world, notice, W3, DeliveryStatus.unreachable)
    final = await notice_figures(session, notice.id)
    assert final == figures(0, 1, 1, 2, 1) and final.finished
    assert final.key() == "4:0:1:1:2:1"
    assert await notice_figures(session, other.id) == figures(3, 0, 0, 1, 0)  # untouched


async def test_remind_reaches_only_those_who_have_it_and_have_not_acknowledged(
    session: AsyncSession, world: World
) -> None:
    notice = await send(session, world)
    await queue(session)
    assert await code_of(remind(session, SECRETARY, notice.id, NOW + MINUTE, EVERY)) == (
        "notice.nobody_to_remind"
    )  # nothing delivered yet; and the period has not started
    await set_delivery(session, world, notice, W1, DeliveryStatus.sent, NOW + MINUTE)
    await set_delivery(session, world, notice, W2, DeliveryStatus.sent, NOW + MINUTE)
    await acknowledge(session, W1, notice.id, NOW + 2 * MINUTE)
    pressed = NOW + HOUR
    assert await remind(session, SECRETARY, notice.id, pressed, EVERY) == 1
    told = await queue(session)
    key = f"notice:{notice.id}:r{int(pressed.timestamp())}:{world.id_of(W2)}"
    assert kinds(told) == [(W2, NoticeReminder, key)]
    assert (await recipient_row(session, notice, world.members[W2])).reminded_at == pressed
    assert (await recipient_row(session, notice, world.members[W3])).reminded_at is None

    with pytest.raises(RemindTooSoon) as too_soon:
        await remind(session, SECRETARY, notice.id, pressed + EVERY - MINUTE, EVERY)
    assert too_soon.value.retry_at == pressed + EVERY
    assert too_soon.value.code == "notice.remind_too_soon"
    assert take_pending(session) == []

    await set_delivery(session, world, notice, W3, DeliveryStatus.sent, NOW + 2 * HOUR)
    later = pressed + EVERY
    assert await remind(session, SECRETARY, notice.id, later, EVERY) == 2
    assert sorted(n.recipient for n in await queue(session)) == [W2, W3]
    rows = await outbox_rows(session)
    reminders = [row for row in rows.values() if row.kind == "notice_reminder"]
    assert len(reminders) == 3 and {row.chat_id for row in reminders} == {W2, W3}


async def test_remind_is_refused_when_it_does_not_fit(session: AsyncSession, world: World) -> None:
    notice = await send(session, world)
    await queue(session)
    for tg in (W1, W2, W3):
        await set_delivery(session, world, notice, tg, DeliveryStatus.sent, NOW + MINUTE)
        await acknowledge(session, tg, notice.id, NOW + 2 * MINUTE)
    assert await code_of(remind(session, SECRETARY, notice.id, NOW + HOUR, EVERY)) == (
        "notice.nobody_to_remind"
    )  # everyone who has it acknowledged (the blocked member has no copy)
    with pytest.raises(PermissionDenied):
        await remind(session, W1, notice.id, NOW + HOUR, EVERY)
    with pytest.raises(PermissionDenied):
        await remind(session, OTHER_SECRETARY, notice.id, NOW + HOUR, EVERY)
    no_ack = await send(session, world, ack_required=False)
    take_pending(session)  # its copies
    assert await code_of(remind(session, SECRETARY, no_ack.id, NOW + HOUR, EVERY)) == (
        "notice.no_ack"
    )
    scheduled = await send(session, world, send_at=NOW + DAY)
    assert await code_of(remind(session, SECRETARY, scheduled.id, NOW + HOUR, EVERY)) == (
        "notice.not_sent"
    )
    await withdraw_notice(session, SECRETARY, notice.id, NOW + HOUR)
    assert await code_of(remind(session, SECRETARY, notice.id, NOW + HOUR, EVERY)) == (
        "notice.withdrawn"
    )
    assert take_pending(session) == []


def with_deadline(notice: Notice, deadline: datetime | None) -> Notice:
    return Notice(sent_at=notice.sent_at, ack_deadline=deadline)


def test_the_reminder_before_a_deadline_goes_a_day_before_or_halfway() -> None:
    notice = Notice(sent_at=NOW, ack_deadline=NOW + timedelta(days=3))
    assert deadline_reminder_at(notice) == NOW + timedelta(days=2)
    assert deadline_reminder_at(with_deadline(notice, NOW + 2 * DAY)) == NOW + DAY
    assert deadline_reminder_at(with_deadline(notice, NOW + 10 * HOUR)) == NOW + 5 * HOUR
    assert deadline_reminder_at(with_deadline(notice, None)) is None
    assert deadline_reminder_at(Notice(sent_at=None, ack_deadline=NOW + DAY)) is None


async def test_the_deadline_reminds_once_and_tells_the_author_once(
    session: AsyncSession, world: World
) -> None:
    deadline = NOW + 3 * DAY
    notice = await send(session, world, ack_deadline=deadline)
    await queue(session)
    for tg in (W1, W2, W3):
        await set_delivery(session, world, notice, tg, DeliveryStatus.sent, NOW + MINUTE)
    await acknowledge(session, W1, notice.id, NOW + HOUR)
    remind_at = deadline - DAY
    assert await follow_up_deadlines(session, remind_at - MINUTE) == 0
    assert take_pending(session) == []

    assert await follow_up_deadlines(session, remind_at) == 2
    told = await queue(session)
    assert kinds(told) == [
        (tg, NoticeReminder, f"notice:{notice.id}:due:{world.id_of(tg)}") for tg in (W2, W3)
    ]
    count = await outbox_count(session)
    rows = await outbox_rows(session)
    assert rows[f"notice:{notice.id}:due:{world.id_of(W2)}"].expires_at == deadline
    # A second scan (late, or twice): the same keys, nothing new in the outbox.
    await follow_up_deadlines(session, remind_at + 10 * MINUTE)
    await queue(session)
    assert await outbox_count(session) == count

    await acknowledge(session, W2, notice.id, deadline - HOUR)
    assert await follow_up_deadlines(session, deadline) == 0
    (passed,) = await queue(session)
    assert (passed.recipient, passed.dedup_key) == (SECRETARY, f"notice:{notice.id}:deadline")
    assert passed.message == NoticeDeadlinePassed(notice, acknowledged=2, recipients=4)
    assert (await outbox_rows(session))[f"notice:{notice.id}:deadline"].chat_id == SECRETARY
    await follow_up_deadlines(session, deadline + HOUR)
    await queue(session)
    assert await outbox_count(session) == count + 1
    assert await follow_up_deadlines(session, deadline + 2 * DAY) == 0  # long past: not looked at
    assert take_pending(session) == []


async def test_a_near_deadline_is_reminded_halfway(session: AsyncSession, world: World) -> None:
    notice = await send(session, world, ack_deadline=NOW + 10 * HOUR)
    await queue(session)
    await set_delivery(session, world, notice, W1, DeliveryStatus.sent, NOW + MINUTE)
    assert await follow_up_deadlines(session, NOW + 5 * HOUR - MINUTE) == 0
    assert await follow_up_deadlines(session, NOW + 5 * HOUR) == 1
    assert [n.recipient for n in take_pending(session)] == [W1]


async def test_withdrawing_expires_what_has_not_gone_and_keeps_what_has(
    session: AsyncSession, world: World
) -> None:
    notice = await send(session, world)
    await queue(session)
    await set_delivery(session, world, notice, W1, DeliveryStatus.sent, NOW + MINUTE)
    with pytest.raises(PermissionDenied):
        await withdraw_notice(session, W1, notice.id, NOW + HOUR)
    withdrawn = await withdraw_notice(session, SECRETARY, notice.id, NOW + HOUR)
    assert (withdrawn.withdrawn_at, withdrawn.withdrawn_by) == (NOW + HOUR, SECRETARY)
    rows = await outbox_rows(session)
    status = {tg: rows[delivery_key(notice.id, world.id_of(tg))].status for tg in (W1, W2, W3)}
    assert status == {
        W1: DeliveryStatus.sent,
        W2: DeliveryStatus.expired,
        W3: DeliveryStatus.expired,
    }
    assert rows[delivery_key(notice.id, world.id_of(W2))].last_error == "the notice was withdrawn"
    assert await notice_figures(session, notice.id) == Figures(4, 0, 1, 2, 1, 0)
    assert await code_of(withdraw_notice(session, SECRETARY, notice.id, NOW + 2 * HOUR)) == (
        "notice.withdrawn"
    )


async def test_withdrawing_expires_reminders_not_yet_gone(
    session: AsyncSession, world: World
) -> None:
    """A reminder waiting (for the end of quiet hours, say) must not go once the notice is
    withdrawn: its Received would be refused."""
    notice = await send(session, world, ack_deadline=NOW + 3 * DAY)
    await queue(session)
    for tg in (W1, W2):
        await set_delivery(session, world, notice, tg, DeliveryStatus.sent, NOW + MINUTE)
    assert await remind(session, SECRETARY, notice.id, NOW + HOUR, EVERY) == 2
    await queue(session)
    assert await follow_up_deadlines(session, NOW + 2 * DAY) == 2
    await queue(session)
    await withdraw_notice(session, SECRETARY, notice.id, NOW + 2 * DAY + HOUR)
    reminders = [r for r in (await outbox_rows(session)).values() if r.kind == "notice_reminder"]
    assert len(reminders) == 4
    assert {r.status for r in reminders} == {DeliveryStatus.expired}
    assert await follow_up_deadlines(session, NOW + 2 * DAY + 2 * HOUR) == 0
    assert take_pending(session) == []


async def test_settled_outcomes_outlive_the_outbox(session: AsyncSession, world: World) -> None:
    notice = await send(session, world)
    await queue(session)
    delivered_at = NOW + 3 * MINUTE
    await set_delivery(session, world, notice, W1, DeliveryStatus.sent, delivered_at)
    await set_delivery(session, world, notice, W2, DeliveryStatus.failed)
    await acknowledge(session, W1, notice.id, NOW + HOUR)
    before = await notice_figures(session, notice.id)
    _, sheet_before = await acknowledgement_sheet(session, SECRETARY, notice.id, "zh")
    assert before == Figures(4, 1, 1, 1, 1, 1)

    assert await settle_deliveries(session) == 2  # W3's is still pending
    row = await recipient_row(session, notice, world.members[W1])
    assert (row.outcome, row.delivered_at) == (DeliveryStatus.sent, delivered_at)
    failed = await recipient_row(session, notice, world.members[W2])
    assert (failed.outcome, failed.delivered_at) == (DeliveryStatus.failed, None)
    assert (await recipient_row(session, notice, world.members[W3])).outcome is None
    assert await settle_deliveries(session) == 0  # nothing new to copy

    # The prune job: a month on (created_at is the real clock's), the finished rows go.
    pruned = await outbox.prune(session, datetime.now(UTC) + timedelta(days=31))
    assert pruned == 2
    assert set(await outbox_rows(session)) == {delivery_key(notice.id, world.id_of(W3))}
    assert await notice_figures(session, notice.id) == before
    _, sheet_after = await acknowledgement_sheet(session, SECRETARY, notice.id, "zh")
    assert sheet_after == sheet_before


async def test_the_acknowledgement_sheet(session: AsyncSession, world: World) -> None:
    notice = await send(session, world, author=COMMITTEE, unit="lehua-street", audience="floating")
    await queue(session)
    await set_delivery(session, world, notice, W2, DeliveryStatus.sent, NOW + MINUTE)
    await acknowledge(session, W2, notice.id, NOW + HOUR)
    found, rows = await acknowledgement_sheet(session, COMMITTEE, notice.id, "zh")
    assert found.id == notice.id
    assert {(r.name, r.unit, r.delivered_at, r.acknowledged_at, r.status) for r in rows} == {
        ("王二", "湛江万达广场商圈党支部", NOW + MINUTE, NOW + HOUR, DeliveryStatus.sent),
        ("华一", "湛江华都汇商圈党支部", None, None, DeliveryStatus.pending),
    }
    _, english = await acknowledgement_sheet(session, COMMITTEE, notice.id, "en")
    assert {r.unit for r in english} == {
        "Zhanjiang Wanda Plaza Commercial District Branch",
        "Zhanjiang Huaduhui Commercial District Branch",
    }
    with pytest.raises(PermissionDenied):
        await acknowledgement_sheet(session, SECRETARY, notice.id, "zh")  # a unit above theirs


async def test_notices_a_member_received_from_units_they_still_belong_to_newest_first(
    session: AsyncSession, world: World
) -> None:
    m = world.members
    lejin = world.unit("lejin-community")
    session.add(
        Membership(
            member=m[W1],
            unit=lejin,
            kind=MembershipKind.community,
            status=MembershipStatus.active,
            via=Via.tree,
            requested_at=NOW - DAY,
            decided_at=NOW - DAY,
        )
    )
    await grant_role(session, 2005, Role.secretary, lejin.id, None)
    await session.flush()
    first = await send(session, world, now=NOW)
    community = await send(session, world, author=2005, unit="lejin-community", now=NOW + HOUR)
    from_above = await send(
        session,
        world,
        author=COMMITTEE,
        unit="lehua-street",
        audience="unit_tree",
        now=NOW + 2 * HOUR,
    )
    withdrawn = await send(session, world, now=NOW + 3 * HOUR)
    await withdraw_notice(session, SECRETARY, withdrawn.id, NOW + 4 * HOUR)
    scheduled = await send(session, world, now=NOW + 3 * HOUR, send_at=NOW + DAY)
    await send(session, world, author=OTHER_SECRETARY, unit="tech-incubator")
    not_for_w1 = await send(session, world, audience="floating", now=NOW + 5 * HOUR)

    page = await notices_page(session, W1, 1, 10)
    assert [item.notice.id for item in page.items] == [from_above.id, community.id, first.id]
    assert page.total == 3
    assert all(item.recipient is not None and not item.manages for item in page.items)
    assert page.items[0].recipient.member_id == m[W1].id  # type: ignore[union-attr]

    await leave(session, m[W1], lejin.id, NOW + 6 * HOUR)
    page = await notices_page(session, W1, 1, 10)
    assert [item.notice.id for item in page.items] == [from_above.id, first.id]
    paged = await notices_page(session, W1, 2, 1)
    assert [item.notice.id for item in paged.items] == [first.id] and paged.pages == 2

    # The secretary: every notice of Wanda (withdrawn and scheduled too), and the one from
    # above that they received as a member; not the incubator's or the community's.
    page = await notices_page(session, SECRETARY, 1, 10)
    assert [item.notice.id for item in page.items] == [
        scheduled.id,
        not_for_w1.id,
        withdrawn.id,
        from_above.id,
        first.id,
    ]
    manages = {item.notice.id: item.manages for item in page.items}
    assert manages == {
        scheduled.id: True,
        not_for_w1.id: True,
        withdrawn.id: True,
        from_above.id: False,
        first.id: True,
    }
    own = {item.notice.id: item.recipient for item in page.items}
    assert own[from_above.id] is not None and own[first.id] is None  # they wrote that one

    # Someone with no role and no profile: nothing.
    assert (await notices_page(session, 999_999, 1, 10)).total == 0

"""Activities, the member's side, end to end: /events, the card, sign-up and the waitlist,
leave (请假) with the secretary's decision, the calendar file, share links, check-in, /record.

Activities are created with the domain API (the secretary's screens have their own
tests); members and secretaries act through the emulator.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import func, select

import handlers.signup
from models import inbox
from models.activities import (
    Activity,
    CheckInMethod,
    Participation,
    ParticipationStatus,
    cancel_activity,
    share_payload,
)
from models.members import (
    Member,
    MemberType,
    Via,
    approve_report,
    give_consent,
    report,
    set_member_type,
    set_phone,
    set_real_name,
    start_profile,
)
from models.org import unit_by_code
from models.outbox import Delivery
from sandbox.person import Person
from sandbox.state import ChatMessage
from tests.e2e.conftest import THURSDAY_9AM, RunningBot, grant, meet, new_activity, seed_org
from views import i18n

# Wanda Plaza's branch, as in examples/org.example.toml; the venue of most activities.
WANDA = (21.2404, 110.4135)
NEAR_WANDA = (21.2410, 110.4140)  # about 85 m away
FAR_FROM_WANDA = (21.2500, 110.4135)  # about 1 km away


@pytest.fixture
async def org(bot: RunningBot) -> dict[str, int]:
    return await seed_org(bot.database)


@pytest.fixture
async def secretary(bot: RunningBot, org: dict[str, int]) -> Person:
    person = bot.emulator.user("李书记", language_code="zh")
    await grant(bot.database, person, "secretary", "wanda-plaza")
    await meet(person)
    return person


_phones = iter(range(1000, 10**6))


async def member(
    bot: RunningBot, name: str, approver: Person, unit_code: str = "wanda-plaza", language="zh"
) -> Person:
    """A member managed by the unit: profile and approval through the domain (报到 has its
    own end-to-end tests), then a first word with the bot so it knows their language."""
    person = bot.emulator.user(name, language_code=language)
    now = bot.clock.now()
    async with bot.database.sessions.begin() as session:
        profile = await start_profile(session, person.id, now)
        await give_consent(session, profile, now)
        set_real_name(profile, name)
        set_phone(profile, f"+86139{next(_phones):08d}")
        set_member_type(profile, MemberType.regular, None)
        await session.flush()
        unit = await unit_by_code(session, unit_code)
        membership = await report(session, profile, unit, via=Via.tree, now=now)
        await session.flush()
        await approve_report(session, membership.id, approver.id, now)
    await meet(person)
    return person


async def settle(bot: RunningBot, *people: Person) -> None:
    """Let the scheduler send what it has now (announcements of the new activities) and
    read it, so that what follows in the test is only what the test causes.

    run_once() returns once all of it went out, including a batch that the bot's own
    sender had in flight (the sender sends one batch at a time), and the emulator has
    each message before it answers: what has arrived then is all there is to read."""
    assert bot.runtime.scheduler is not None
    await bot.runtime.scheduler.run_once()
    for person in people:
        while True:
            try:
                await person.next_event(timeout=0)  # what has arrived; no waiting
            except AssertionError:
                break


async def participation(bot: RunningBot, activity: Activity, person: Person) -> Participation:
    async with bot.database.sessions() as session:
        row = await session.scalar(
            select(Participation)
            .join(Member, Member.id == Participation.member_id)
            .where(Participation.activity_id == activity.id, Member.telegram_id == person.id)
        )
        assert row is not None
        return row


async def open_card(person: Person, title: str) -> ChatMessage:
    """/events, then the activity's button: the list message becomes its card (returned)."""
    await person.send("/events")
    listing = await person.next_message()
    label = next(label for row in listing.buttons for label in row if title in label)
    await person.press(label)
    await person.next_event()
    return listing


async def press_forged(person: Person, message: ChatMessage, label: str, data: str) -> None:
    """A press whose callback data was tampered with (a modified client)."""
    button = message.button(label)
    assert button is not None
    button["callback_data"] = data
    await person.press(label, message=message)


# --- the list and the card -------------------------------------------------------------------


async def test_list_pages_and_the_card(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    for day in range(7):  # created out of order: the list is soonest first
        start = THURSDAY_9AM + timedelta(days=6 - day)
        await new_activity(bot, secretary, f"志愿服务第{6 - day}场", start, capacity=10)
    await new_activity(
        bot,
        secretary,
        "三月主题党日",
        THURSDAY_9AM - timedelta(days=1),
        kind="theme_day",
        place="万达广场党群服务站",
        description="学习交流" * 200,
    )
    await settle(bot, wang)

    await wang.send("/events")
    listing = await wang.next_message()
    assert "近期活动" in listing.text and "第 1/2 页" in listing.text
    labels = [row[0] for row in listing.buttons]
    assert labels[0] == "03-11 09:00 三月主题党日"
    assert [label.split()[-1] for label in labels[1:5]] == [f"志愿服务第{n}场" for n in range(4)]
    assert listing.buttons[-1] == ["›"]
    assert "主题党日 · 2026年3月11日（周三）09:00" in listing.text

    await wang.press("›")
    page_two = await wang.next_event()
    assert page_two.kind == "edit" and "第 2/2 页" in page_two.message.text
    assert [row[0].split()[-1] for row in page_two.message.buttons[:2]] == [
        "志愿服务第4场",
        "志愿服务第5场",
    ]
    assert page_two.message.buttons[-1] == ["‹"]
    await wang.press("‹")
    await wang.next_event()

    await wang.press("03-11 09:00 三月主题党日")
    card = (await wang.next_event()).message
    assert "<b>" not in card.text  # HTML was read as formatting
    assert "三月主题党日\n主题党日" in card.text
    assert "🏢 湛江万达广场商圈党支部" in card.text
    assert "🕘 2026年3月11日（周三）09:00–11:00" in card.text
    assert "📍 万达广场党群服务站" in card.text
    assert "学习交流" * 10 in card.text and "…" in card.text and len(card.text) < 1000
    assert "我的状态：请答复是否参加" in card.text
    assert "分享此活动：https://t.me/branchbot_test?start=a_" in card.text
    assert card.buttons == [["✅ 参加", "📝 请假"], ["📅 加入日历"], ["« 全部活动"]]

    # An English member sees the same in English, in the branch's time zone.
    tom = await member(bot, "Tom", secretary, language="en")
    await settle(bot, tom)
    card = await open_card(tom, "志愿服务第0场")
    assert "Volunteering" in card.text and "Thu 12 Mar 2026, 09:00–11:00" in card.text
    assert "Seats left: 10 of 10" in card.text and "Your status: not signed up" in card.text
    assert card.buttons[0] == ["✅ Sign up"]


async def test_no_profile_or_no_membership(bot: RunningBot, secretary: Person) -> None:
    stranger = bot.emulator.user("Ann", language_code="en")
    await stranger.send("/events")
    reply = await stranger.next_message()
    assert "not managed by any branch" in reply.text and "/start" in reply.text
    assert "/me" in reply.text
    await stranger.send("/record")
    assert "/start" in (await stranger.next_message()).text

    # A profile whose report is still waiting: no activities yet either.
    waiting = bot.emulator.user("小李", language_code="zh")
    async with bot.database.sessions.begin() as session:
        profile = await start_profile(session, waiting.id, bot.clock.now())
        await give_consent(session, profile, bot.clock.now())
        set_real_name(profile, "李四")
    await waiting.send("/events")
    assert "/start" in (await waiting.next_message()).text

    wang = await member(bot, "王小明", secretary)
    await wang.send("/events")
    assert "近期没有活动" in (await wang.next_message()).text


# --- sign-up, the waitlist, cancelling --------------------------------------------------------


async def test_sign_up_until_full_then_waitlist_and_promotion(
    bot: RunningBot, secretary: Person
) -> None:
    first = await member(bot, "王一", secretary)
    second = await member(bot, "李二", secretary)
    third = await member(bot, "Tom", secretary, language="en")
    fourth = await member(bot, "赵四", secretary)
    activity = await new_activity(bot, secretary, "法律援助进商圈", capacity=2)
    await settle(bot, first, second, third, fourth)

    cards = {}
    for person in (first, second):
        card = await open_card(person, "法律援助进商圈")
        assert card.buttons[0] == ["✅ 报名"]
        await person.press("✅ 报名")
        assert (await person.next_event()).kind == "edit"
        assert (await person.answer_of_last_press()).text == "报名成功"
        assert "我的状态：已报名" in card.text
        assert "如需取消，请在 2026年3月12日（周四）07:00 之前取消" in card.text
        assert card.buttons[0] == ["取消报名"]
        cards[person.id] = card
    assert "名额已满，候补 0 人" in cards[second.id].text

    card = await open_card(third, "法律援助进商圈")
    assert "Full; 0 on the waitlist" in card.text
    await third.press("⏳ Join the waitlist")
    await third.next_event()
    answer = await third.answer_of_last_press()
    assert answer.text == "It is full: you are number 1 on the waitlist"
    assert "Your status: on the waitlist (number 1)" in card.text
    assert card.buttons[0] == ["Leave the waitlist"]

    card = await open_card(fourth, "法律援助进商圈")
    await fourth.press("⏳ 加入候补")
    await fourth.next_event()
    assert "我的状态：候补中（第 2 位）" in card.text and "名额已满，候补 2 人" in card.text

    # The first member gives up the seat: the first on the waitlist gets it and is told.
    await first.press("取消报名", message=cards[first.id])
    await first.next_event()
    assert (await first.answer_of_last_press()).text == "已取消报名"
    assert "我的状态：已取消报名" in cards[first.id].text
    assert cards[first.id].buttons[0] == ["⏳ 加入候补"]  # the freed seat is taken again
    told = await third.next_message()
    assert "a place in 法律援助进商圈 (Thu 12 Mar 2026, 09:00–11:00) became free" in told.text
    assert "it is yours now" in told.text and told.buttons == [["Open the activity"]]
    assert (await participation(bot, activity, third)).status is ParticipationStatus.signed_up
    await third.press("Open the activity")
    assert "Your status: signed up" in (await third.next_message()).text
    await first.expect_no_message()
    await second.expect_no_message()

    # The one still waiting moves up, and may leave the waitlist.
    card = await open_card(fourth, "法律援助进商圈")
    assert "我的状态：候补中（第 1 位）" in card.text and "名额已满，候补 1 人" in card.text
    await fourth.press("退出候补")
    await fourth.next_event()
    assert (await fourth.answer_of_last_press()).text == "已退出候补"
    assert "我的状态：已取消报名" in card.text and "名额已满，候补 0 人" in card.text
    assert (await participation(bot, activity, fourth)).status is ParticipationStatus.cancelled


async def test_cancelling_after_the_cut_off_is_refused(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    start = bot.clock.now() + timedelta(hours=5)
    activity = await new_activity(bot, secretary, "健康义诊", start, cancel_cutoff_hours=2)
    await settle(bot, wang)
    await open_card(wang, "健康义诊")
    await wang.press("✅ 报名")
    card = (await wang.next_event()).message
    assert "如需取消，请在 2026年3月10日（周二）12:30 之前取消" in card.text

    bot.clock.advance(timedelta(hours=3, minutes=30))  # 1.5 hours before the start
    await settle(bot, wang)
    await wang.press("取消报名", message=card)
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and "活动即将开始，已不能取消报名" in answer.text
    assert (await participation(bot, activity, wang)).status is ParticipationStatus.signed_up


async def test_pledge_saplings_when_signing_up(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    tom = await member(bot, "Tom", secretary, language="en")
    activity = await new_activity(
        bot, secretary, "义务植树", kind="tree_planting", pledge_kind="saplings", capacity=30
    )
    await settle(bot, wang, tom)
    await open_card(wang, "义务植树")
    await wang.press("✅ 报名")
    question = await wang.next_message()
    assert "认种树苗" in question.text and "整数" in question.text

    for bad in ("很多", "   ", "0", "2.5", "-3"):
        await wang.send(bad)
        assert "请输入一个正整数" in (await wang.next_message()).text
    async with bot.database.sessions() as session:
        assert await session.scalar(select(Participation)) is None  # nothing saved yet

    await wang.send("５")  # full-width, as Chinese keyboards type it
    assert (await wang.next_message()).text == "报名成功"
    card = await wang.next_message()
    assert "我的状态：已报名" in card.text and "认种：5 棵" in card.text
    row = await participation(bot, activity, wang)
    assert row.status is ParticipationStatus.signed_up and row.pledge_amount == 5

    money = await new_activity(
        bot, secretary, "认捐树苗", kind="tree_planting", pledge_kind="money"
    )
    await settle(bot, wang, tom)
    await open_card(tom, "认捐树苗")
    await tom.press("✅ Sign up")
    assert "How many yuan" in (await tom.next_message()).text
    await tom.send("a hundred")
    assert "whole number" in (await tom.next_message()).text
    await tom.send("100")
    assert (await tom.next_message()).text == "You are signed up"
    assert "Pledged: 100 yuan" in (await tom.next_message()).text
    assert (await participation(bot, money, tom)).pledge_amount == 100


# --- organisational life: attend, leave, the secretary's decision --------------------------------


async def test_attend_and_leave_approved(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    tom = await member(bot, "Tom", secretary, language="en")
    meeting = await new_activity(bot, secretary, "支部党员大会", kind="general_meeting")
    await settle(bot, wang, tom, secretary)

    await open_card(wang, "支部党员大会")
    await wang.press("✅ 参加")
    card = (await wang.next_event()).message
    assert (await wang.answer_of_last_press()).text == "已答复：参加"
    assert "我的状态：参加" in card.text and card.buttons[0] == ["📝 请假"]
    assert (await participation(bot, meeting, wang)).status is ParticipationStatus.attending

    await open_card(tom, "支部党员大会")
    await tom.press("📝 Request leave")
    assert "Why can't you attend" in (await tom.next_message()).text
    await tom.send("   ")
    assert "cannot be empty" in (await tom.next_message()).text
    await tom.send("x" * 300)
    assert "too long" in (await tom.next_message()).text
    async with bot.database.sessions() as session:
        assert await session.scalar(select(Participation).where(
            Participation.status == ParticipationStatus.leave_requested)) is None  # fmt: skip
    await tom.send("Business trip to Guangzhou")
    assert "has been sent" in (await tom.next_message()).text
    card = await tom.next_message()
    assert "Your status: leave requested, waiting for approval" in card.text
    assert card.buttons[0] == ["✅ Attend"]

    request = await secretary.next_message()
    assert "请假申请" in request.text and "Tom 申请不参加 支部党员大会" in request.text
    assert (
        "2026年3月12日（周四）09:00" in request.text
        and "Business trip to Guangzhou" in request.text
    )
    assert request.buttons == [["✅ 批准", "❌ 不批准"]]
    await secretary.press("✅ 批准")
    edited = (await secretary.next_event()).message
    assert edited.text.endswith("已批准") and edited.buttons == []
    assert (await secretary.answer_of_last_press()).text == "已批准"
    told = await tom.next_message()
    assert "Your leave from 支部党员大会" in told.text and "approved" in told.text
    assert (await participation(bot, meeting, tom)).status is ParticipationStatus.excused


async def test_leave_declined_and_a_second_secretary_is_too_late(
    bot: RunningBot, secretary: Person
) -> None:
    other = bot.emulator.user("Secretary Zhou", language_code="en")
    await grant(bot.database, other, "secretary", "wanda-plaza")
    await meet(other)
    wang = await member(bot, "王小明", secretary)
    meeting = await new_activity(bot, secretary, "党课：学习新思想", kind="lecture")
    await settle(bot, wang, secretary, other)

    await open_card(wang, "党课")
    await wang.press("📝 请假")
    assert "不能参加 党课：学习新思想 的原因" in (await wang.next_message()).text
    await wang.send("家中有事")
    assert "请假申请已提交" in (await wang.next_message()).text
    assert "我的状态：已请假，等待审批" in (await wang.next_message()).text
    mine, theirs = await secretary.next_message(), await other.next_message()
    assert (
        "王小明 asks for leave from 党课：学习新思想" in theirs.text and "家中有事" in theirs.text
    )

    # The member cannot decide, even holding the secretary's card.
    await wang.press("✅ 批准", message=mine)
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and "您没有权限" in answer.text
    assert (await participation(bot, meeting, wang)).status is ParticipationStatus.leave_requested

    await secretary.press("❌ 不批准", message=mine)
    assert (await secretary.next_event()).message.text.endswith("未批准")
    assert (await secretary.answer_of_last_press()).text == "未批准"
    told = await wang.next_message()
    assert "您参加 党课：学习新思想（2026年3月12日（周四）09:00）的请假申请未获批准" in told.text
    assert (await participation(bot, meeting, wang)).status is ParticipationStatus.leave_declined

    await other.press("✅ Approve", message=theirs)
    answer = await other.answer_of_last_press()
    assert answer.show_alert and "already been decided" in answer.text
    assert (await other.next_event()).message.text.endswith("Declined")
    assert theirs.buttons == []
    assert (await participation(bot, meeting, wang)).status is ParticipationStatus.leave_declined
    await wang.expect_no_message()


# --- the calendar file and the share link -----------------------------------------------------


async def test_calendar_file_and_share_link(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    activity = await new_activity(bot, secretary, "普法宣传", place="万达广场一楼中庭", capacity=5)
    await settle(bot, wang)
    card = await open_card(wang, "普法宣传")
    await wang.press("📅 加入日历")
    document = await wang.next_message()
    assert document.document_name == f"activity-{activity.id}.ics"
    assert "普法宣传" in document.caption
    calendar = icalendar.Calendar.from_ical(document.document_bytes)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == THURSDAY_9AM
    assert event.decoded("dtend") == THURSDAY_9AM + timedelta(hours=2)
    assert str(event["summary"]) == "普法宣传" and str(event["location"]) == "万达广场一楼中庭"

    # Shared: the link in the card opens it for someone else, who can sign up from there.
    match = re.search(r"https://t\.me/\S+", card.text)
    assert match is not None
    link = match.group(0)
    assert link == f"https://t.me/branchbot_test?start={share_payload(activity)}"
    li = await member(bot, "李二", secretary)
    await settle(bot, li)
    await li.send(f"/start {link.split('start=')[1]}")
    opened = await li.next_message()
    assert "普法宣传" in opened.text and opened.buttons[0] == ["✅ 报名"]
    await li.press("✅ 报名")
    assert "我的状态：已报名" in (await li.next_event()).message.text

    # Someone outside the branch sees the card and where to report.
    outsider = bot.emulator.user("Zhang", language_code="en")
    await outsider.send(f"/start {share_payload(activity)}")
    opened = await outsider.next_message()
    assert "This activity is for Zhanjiang Wanda Plaza" in opened.text
    assert opened.buttons == [["📅 Add to calendar"], ["« All activities"]]


# --- check-in ------------------------------------------------------------------------------------


async def test_check_in_by_location_and_by_qr(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    li = await member(bot, "李二", secretary)
    start = bot.clock.now() + timedelta(minutes=20)  # check-in opens 30 minutes before
    meeting = await new_activity(
        bot,
        secretary,
        "主题党日：志愿清洁",
        start,
        kind="theme_day",
        latitude=WANDA[0],
        longitude=WANDA[1],
    )
    await settle(bot, wang, li)

    await open_card(wang, "主题党日")
    await wang.press("📍 签到")
    question = await wang.next_message()
    assert "发送您的位置" in question.text and wang.reply_keyboard == [["📍 发送我的位置"]]
    await wang.tap("📍 发送我的位置", location=FAR_FROM_WANDA)
    far = await wang.next_message()
    assert "太远" in far.text and "约 1067 米" in far.text
    assert wang.reply_keyboard == [["📍 发送我的位置"]]  # asked again
    await wang.tap("📍 发送我的位置", location=NEAR_WANDA)
    assert "签到成功" in (await wang.next_message()).text
    card = await wang.next_message()
    assert "我的状态：参加，已签到" in card.text
    assert ["📍 签到"] not in card.buttons
    row = await participation(bot, meeting, wang)
    assert row.check_in_method is CheckInMethod.location and row.checked_in_at is not None

    # The venue's QR code: /start c_<code>.
    await li.send(f"/start c_{meeting.share_code}")
    assert "签到成功" in (await li.next_message()).text
    assert "已签到" in (await li.next_message()).text
    assert (await participation(bot, meeting, li)).check_in_method is CheckInMethod.qr
    await li.send(f"/start c_{meeting.share_code}")
    assert "您已经签到过了" in (await li.next_message()).text


async def test_record(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    now = bot.clock.now()
    service = await new_activity(
        bot, secretary, "社区志愿服务", now + timedelta(minutes=10), hours=2.5
    )
    await new_activity(
        bot, secretary, "支委会", now + timedelta(minutes=20), kind="committee_meeting"
    )
    lecture = await new_activity(
        bot, secretary, "党课", now + timedelta(minutes=30), kind="lecture"
    )
    await settle(bot, wang)

    await open_card(wang, "社区志愿服务")
    await wang.press("✅ 报名")
    await wang.next_event()
    await wang.send(f"/start c_{service.share_code}")
    await wang.next_message()
    await wang.next_message()
    await open_card(wang, "党课")
    await wang.press("📝 请假")
    await wang.next_message()
    await wang.send("出差")
    await wang.next_message()
    await wang.next_message()
    await secretary.next_message()
    await secretary.press("✅ 批准")
    await secretary.next_event()
    await wang.next_message()
    assert (await participation(bot, lecture, wang)).status is ParticipationStatus.excused

    bot.clock.advance(timedelta(hours=4))  # all three are over; the committee meeting was missed
    await settle(bot, wang, secretary)
    await wang.send("/record")
    record = await wang.next_message()
    assert "参加：1 次 · 请假：1 次 · 缺席：1 次 · 补学：0 次" in record.text
    assert "志愿服务时长：2.5 小时" in record.text
    lines = record.text.split("\n")
    assert lines[-3:] == [
        "• 2026年3月10日（周二）10:00 党课：请假",
        "• 2026年3月10日（周二）09:50 支委会：缺席",
        "• 2026年3月10日（周二）09:40 社区志愿服务：参加",
    ]


# --- bad input -----------------------------------------------------------------------------------


async def test_sign_up_refusals(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    li = await member(bot, "李二", secretary)
    their_secretary = bot.emulator.user("华都汇书记", language_code="zh")
    await grant(bot.database, their_secretary, "secretary", "huaduhui")
    outsider = await member(bot, "Tom", their_secretary, unit_code="huaduhui", language="en")
    cancelled = await new_activity(bot, secretary, "被取消的活动")
    closing = await new_activity(
        bot, secretary, "报名将截止", signup_deadline=bot.clock.now() + timedelta(hours=1)
    )
    await new_activity(bot, secretary, "很快结束", bot.clock.now() + timedelta(hours=1))
    await settle(bot, wang, li, outsider)
    cancelled_card = await open_card(wang, "被取消的活动")
    closing_card = await open_card(li, "报名将截止")
    soon_card = await open_card(li, "很快结束")
    assert "报名截止：2026年3月10日（周二）10:30" in closing_card.text

    # Twice: a second copy of the card still shows Sign up.
    first_copy = await open_card(wang, "报名将截止")
    second_copy = await open_card(wang, "报名将截止")
    await wang.press("✅ 报名", message=second_copy)
    await wang.next_event()
    await wang.press("✅ 报名", message=first_copy)
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and "您已经报名" in answer.text

    # A member of another branch presses a button of a forwarded card.
    before = soon_card.text
    await outsider.press("✅ 报名", message=soon_card)
    answer = await outsider.answer_of_last_press()
    assert answer.show_alert and answer.text == (
        "This activity is for another branch; you are not in its audience."
    )
    assert soon_card.text == before
    await outsider.expect_no_message()
    await outsider.press("« 全部活动", message=soon_card)  # answered in their own chat
    assert "Nothing is coming up" in (await outsider.next_message()).text
    assert soon_card.text == before
    await li.expect_no_message()

    # Cancelled.
    async with bot.database.sessions.begin() as session:
        await cancel_activity(session, cancelled.id, secretary.id, bot.clock.now())
    await wang.press("✅ 报名", message=cancelled_card)
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and answer.text == "这个活动已取消。"

    # After the deadline.
    bot.clock.advance(timedelta(hours=1, minutes=1))
    await li.press("✅ 报名", message=closing_card)
    answer = await li.answer_of_last_press()
    assert answer.show_alert and answer.text == "报名已经截止。"

    # Finished.
    bot.clock.advance(timedelta(hours=2))
    await li.press("✅ 报名", message=soon_card)
    answer = await li.answer_of_last_press()
    assert answer.show_alert and answer.text == "这个活动已经结束了。"

    # Nothing changed but the one sign-up that was allowed.
    async with bot.database.sessions() as session:
        rows = list(await session.scalars(select(Participation)))
    assert [(row.activity_id, row.status) for row in rows] == [
        (closing.id, ParticipationStatus.signed_up)
    ]


async def test_forged_links_and_buttons(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    tom = await member(bot, "Tom", secretary, language="en")
    activity = await new_activity(bot, secretary, "普法宣传")
    await settle(bot, wang, tom)

    for payload in ("a_forged-code", "c_forged-code", "a_" + "x" * 60, "a_"):
        await wang.send(f"/start {payload}")
        assert "这个链接没有对应的活动" in (await wang.next_message()).text
    await tom.send(f"/start c_{activity.share_code}")  # not open yet: no check-in
    assert "Check-in opens 30 minutes before the start" in (await tom.next_message()).text

    card = await open_card(wang, "普法宣传")
    for data in ("ev:zz:1", "ev:s", "ev:s:1:2", "ev:s:x", "ev:s:-1"):
        await press_forged(wang, card, "✅ 报名", data)
        answer = await wang.answer_of_last_press()
        assert answer.show_alert and answer.text == "这个按钮已经失效了，请重新发送命令。", data
    await press_forged(wang, card, "✅ 报名", f"ev:ci:{activity.id}")  # check-in is not open
    assert (await wang.answer_of_last_press()).text == "签到在活动开始前30分钟开放。"
    await press_forged(wang, card, "✅ 报名", "ev:s:999999")
    assert "没有找到" in (await wang.answer_of_last_press()).text
    await press_forged(wang, card, "✅ 报名", "lv:ok:424242")
    assert (await wang.answer_of_last_press()).show_alert
    await wang.expect_no_message()
    async with bot.database.sessions() as session:
        assert await session.scalar(select(Participation)) is None


# --- one unit of work per update ---------------------------------------------------------------


async def count(bot: RunningBot, table: type) -> int:
    async with bot.database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(table)) or 0


async def test_a_handler_failing_after_a_write_leaves_nothing_half_done(
    bot: RunningBot,
    secretary: Person,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The seat is taken in the domain, then drawing the card fails: the seat is not taken,
    the member gets an apology, the update is still done (not tried again at restart)."""
    wang = await member(bot, "王小明", secretary)
    activity = await new_activity(bot, secretary, "义诊志愿服务", capacity=1)
    await settle(bot, wang)
    await open_card(wang, "义诊志愿服务")
    deliveries = await count(bot, Delivery)

    async def broken_card(*args: object) -> None:
        raise RuntimeError("the card could not be drawn")

    monkeypatch.setattr(handlers.signup, "show_card", broken_card)
    with caplog.at_level(logging.ERROR):
        await wang.press(i18n.t("zh", "events.signup_button"))
        assert (await wang.next_message()).text == i18n.t("zh", "error.apology")
    assert "handler failed" in caplog.text
    assert await count(bot, Participation) == 0
    async with bot.database.sessions() as session:
        assert (await session.get(Activity, activity.id)).seats_taken == 0  # type: ignore[union-attr]
        assert await inbox.unprocessed(session) == []
    assert await count(bot, Delivery) == deliveries

    monkeypatch.undo()  # the same press again, now that drawing works: all of it happens
    await wang.press(i18n.t("zh", "events.signup_button"))
    await wang.next_event()
    assert (await participation(bot, activity, wang)).status is ParticipationStatus.signed_up


async def test_a_refused_press_is_an_alert_and_changes_nothing(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    activity = await new_activity(bot, secretary, "义诊志愿服务", capacity=5)
    await settle(bot, wang)
    card = await open_card(wang, "义诊志愿服务")
    await wang.press(i18n.t("zh", "events.signup_button"))
    await wang.next_event()
    before = await participation(bot, activity, wang)
    # The card now offers Cancel; an old (or forged) Sign up press on it:
    await press_forged(wang, card, i18n.t("zh", "events.cancel_button"), f"ev:s:{activity.id}")
    answer = await wang.wait_answer()
    assert answer.show_alert and answer.text == i18n.t("zh", "error.signup_already")
    after = await participation(bot, activity, wang)
    assert (after.status, after.updated_at) == (before.status, before.updated_at)

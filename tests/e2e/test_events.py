"""Activities, the member's side, end to end: /events, the card, sign-up and the waitlist,
leave (请假) with the secretary's decision, the calendar file, share links, check-in, /record.

Activities are created with the domain API (the secretary's screens have their own
tests); members and secretaries act through the emulator.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import func, select

import handlers.signup
from bot.config import BotConfig
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
from tests.e2e.conftest import (
    THURSDAY_9AM,
    RunningBot,
    grant,
    meet,
    new_activity,
)
from tests.e2e.texts import said, said_page, t

# Wanda Plaza's branch, as in examples/org.example.toml; the venue of most activities.
WANDA = (21.2404, 110.4135)
NEAR_WANDA = (21.2410, 110.4140)  # about 85 m away
FAR_FROM_WANDA = (21.2500, 110.4135)  # about 1 km away
SIGN_UP = t("zh", "events.signup_button")
CANCEL_PLACE = t("zh", "events.cancel_button")
ASK_LEAVE = t("zh", "events.leave_button")
APPROVE_LEAVE = t("zh", "events.approve_leave_button")


def status_line(language: str, key: str, suffix: str = "") -> str:
    """The card's "Your status: …" line for the participation status `key`."""
    return said(language, "events.your_status", status=t(language, key) + suffix)


_phones = iter(range(1000, 10**6))


async def member(
    bot: RunningBot, name: str, approver: Person, unit_code: str = "wanda-plaza", language="zh"
) -> Person:
    """A member managed by the unit: profile and approval through the domain (报到 has its
    own end-to-end tests), then a first word with the bot so it knows their language."""
    person = bot.emulator.user(name, language_code=language)
    await enrol_members(bot, [person], approver, unit_code)
    await meet(person)
    return person


async def enrol_members(
    bot: RunningBot, people: list[Person], approver: Person, unit_code: str = "wanda-plaza"
) -> None:
    """Profiles, reports and approvals of these people, in one transaction."""
    now = bot.clock.now()
    async with bot.database.sessions.begin() as session:
        unit = await unit_by_code(session, unit_code)
        for person in people:
            profile = await start_profile(session, person.id, now)
            await give_consent(session, profile, now)
            set_real_name(profile, person.name)
            set_phone(profile, f"+86139{next(_phones):08d}")
            set_member_type(profile, MemberType.regular, None)
            await session.flush()
            membership = await report(session, profile, unit, via=Via.tree, now=now)
            await session.flush()
            await approve_report(session, membership.id, approver.id, now)


async def settle(bot: RunningBot, *people: Person) -> None:
    """Let the scheduler send what it has now (announcements of the new activities) and
    read it, so that what follows in the test is only what the test causes.

    run_once() returns once all of it went out, including what the bot's own sender
    had in flight (it waits for every chat being sent to), and the emulator has
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
    assert said_page("zh", "events.list_title", 1, 2, total=8) in listing.text
    labels = [row[0] for row in listing.buttons]
    assert labels[0] == "3月11日 周三 09:00 三月主题党日"
    assert [label.split()[-1] for label in labels[1:5]] == [f"志愿服务第{n}场" for n in range(4)]
    assert listing.buttons[-2:] == [["1/2", "›"], [t("zh", "events.my_calendar_button")]]
    theme_day = t("zh", "activity.kind.theme_day")
    line = said(
        "zh",
        "events.list_line",
        title="三月主题党日",
        kind=theme_day,
        when="2026年3月11日（周三）09:00",
        status="",
    )
    assert line in listing.text

    await wang.press("›")
    page_two = await wang.next_event()
    assert page_two.kind == "edit"
    assert said_page("zh", "events.list_title", 2, 2, total=8) in page_two.message.text
    assert [row[0].split()[-1] for row in page_two.message.buttons[:2]] == [
        "志愿服务第4场",
        "志愿服务第5场",
    ]
    assert page_two.message.buttons[-2] == ["‹", "2/2"]
    await wang.press("‹")
    await wang.next_event()

    await wang.press("3月11日 周三 09:00 三月主题党日")
    card = (await wang.next_event()).message
    assert "<b>" not in card.text  # HTML was read as formatting
    assert said("zh", "events.card_title", title="三月主题党日", kind=theme_day) in card.text
    assert said("zh", "events.card_unit", unit="湛江万达广场商圈党支部") in card.text
    assert said("zh", "events.card_when", when="2026年3月11日（周三）09:00–11:00") in card.text
    assert said("zh", "events.card_place", place="万达广场党群服务站") in card.text
    assert "学习交流" * 10 in card.text and "…" in card.text and len(card.text) < 1000
    assert status_line("zh", "events.status.none_expected") in card.text
    link = "https://t.me/branchbot_test?start=a_"
    assert said("zh", "events.card_share", link=link) in card.text
    assert card.buttons == [
        [t("zh", "events.attend_button"), ASK_LEAVE],
        [t("zh", "events.calendar_button")],
        [t("zh", "events.back_button")],
    ]

    # An English member sees the same in English, in the branch's time zone.
    tom = await member(bot, "Tom", secretary, language="en")
    await settle(bot, tom)
    card = await open_card(tom, "志愿服务第0场")
    volunteering = t("en", "activity.kind.volunteer")
    assert said("en", "events.card_title", title="志愿服务第0场", kind=volunteering) in card.text
    assert said("en", "events.card_when", when="Thu 12 Mar 2026, 09:00–11:00") in card.text
    assert said("en", "events.seats_left", left=10, capacity=10) in card.text
    assert status_line("en", "events.status.none_signup") in card.text
    assert card.buttons[0] == [t("en", "events.signup_button")]


async def test_no_profile_or_no_membership(bot: RunningBot, secretary: Person) -> None:
    stranger = bot.emulator.user("Ann", language_code="en")
    await stranger.send("/events")
    reply = await stranger.next_message()
    assert reply.text == said("en", "events.not_member")
    await stranger.send("/record")
    assert (await stranger.next_message()).text == said("en", "events.not_member")

    # A profile whose report is still waiting: no activities yet either.
    waiting = bot.emulator.user("小李", language_code="zh")
    async with bot.database.sessions.begin() as session:
        profile = await start_profile(session, waiting.id, bot.clock.now())
        await give_consent(session, profile, bot.clock.now())
        set_real_name(profile, "李四")
    await waiting.send("/events")
    assert (await waiting.next_message()).text == said("zh", "events.not_member")

    wang = await member(bot, "王小明", secretary)
    await wang.send("/events")
    assert (await wang.next_message()).text == said("zh", "events.none")


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
        assert card.buttons[0] == [SIGN_UP]
        await person.press(SIGN_UP)
        assert (await person.next_event()).kind == "edit"
        assert (await person.answer_of_last_press()).text == said("zh", "events.signed_up_note")
        assert status_line("zh", "events.status.signed_up") in card.text
        assert said("zh", "events.cancel_until", when="2026年3月12日（周四）07:00") in card.text
        assert card.buttons[0] == [CANCEL_PLACE]
        cards[person.id] = card
    assert said("zh", "events.seats_full", waiting=0) in cards[second.id].text

    card = await open_card(third, "法律援助进商圈")
    assert said("en", "events.seats_full", waiting=0) in card.text
    await third.press(t("en", "events.waitlist_button"))
    await third.next_event()
    answer = await third.answer_of_last_press()
    assert answer.text == said("en", "events.waitlisted_note", position=1)
    number_1 = t("en", "events.position", position=1)
    assert status_line("en", "events.status.waitlisted", number_1) in card.text
    assert card.buttons[0] == [t("en", "events.leave_waitlist_button")]

    card = await open_card(fourth, "法律援助进商圈")
    await fourth.press(t("zh", "events.waitlist_button"))
    await fourth.next_event()
    number_2 = t("zh", "events.position", position=2)
    assert status_line("zh", "events.status.waitlisted", number_2) in card.text
    assert said("zh", "events.seats_full", waiting=2) in card.text

    # The first member gives up the seat: the first on the waitlist gets it and is told.
    await first.press(CANCEL_PLACE, message=cards[first.id])
    await first.next_event()
    assert (await first.answer_of_last_press()).text == said("zh", "events.cancelled_note")
    assert status_line("zh", "events.status.cancelled") in cards[first.id].text
    # the freed seat is taken again
    assert cards[first.id].buttons[0] == [t("zh", "events.waitlist_button")]
    told = await third.next_message()
    when = "Thu 12 Mar 2026, 09:00–11:00"
    assert told.text == said("en", "events.promoted", title="法律援助进商圈", when=when)
    assert told.buttons == [[t("en", "events.open_button")]]
    assert (await participation(bot, activity, third)).status is ParticipationStatus.signed_up
    await third.press(t("en", "events.open_button"))
    assert status_line("en", "events.status.signed_up") in (await third.next_message()).text
    await first.expect_no_message()
    await second.expect_no_message()

    # The one still waiting moves up, and may leave the waitlist.
    card = await open_card(fourth, "法律援助进商圈")
    number_1 = t("zh", "events.position", position=1)
    assert status_line("zh", "events.status.waitlisted", number_1) in card.text
    assert said("zh", "events.seats_full", waiting=1) in card.text
    await fourth.press(t("zh", "events.leave_waitlist_button"))
    await fourth.next_event()
    assert (await fourth.answer_of_last_press()).text == said("zh", "events.left_waitlist_note")
    assert status_line("zh", "events.status.cancelled") in card.text
    assert said("zh", "events.seats_full", waiting=0) in card.text
    assert (await participation(bot, activity, fourth)).status is ParticipationStatus.cancelled


async def test_members_pressing_for_the_last_seats_at_the_same_moment(
    bot: RunningBot, secretary: Person
) -> None:
    """Their presses are handled side by side (bot.lanes): the seats go to as many as
    there are, the others join the waitlist each at a place of their own, and nobody is
    told a place they do not have."""
    bot.config = replace(bot.config, bot=BotConfig(lanes=8))  # e2e tests run with one
    await bot.restart()
    people = [
        await member(bot, name, secretary)
        for name in ("王一", "李二", "张三", "赵四", "钱五", "孙六")
    ]
    activity = await new_activity(bot, secretary, "植树护绿", capacity=2)
    await settle(bot, *people)
    cards = {person.id: await open_card(person, "植树护绿") for person in people}
    assert all(card.buttons[0] == [SIGN_UP] for card in cards.values())

    presses = await asyncio.gather(
        *(person.press(SIGN_UP, message=cards[person.id]) for person in people)
    )
    answers = [
        await person.wait_answer(query_id=press)
        for person, press in zip(people, presses, strict=True)
    ]
    told = Counter(answer.text for answer in answers)
    assert told == {
        said("zh", "events.signed_up_note"): 2,
        **{said("zh", "events.waitlisted_note", position=n): 1 for n in range(1, 5)},
    }, told
    seated = [
        person
        for person, answer in zip(people, answers, strict=True)
        if answer.text == said("zh", "events.signed_up_note")
    ]
    statuses = Counter([(await participation(bot, activity, person)).status for person in seated])
    assert statuses == {ParticipationStatus.signed_up: 2}
    async with bot.database.sessions() as session:
        seats = await session.scalar(
            select(func.count())
            .select_from(Participation)
            .where(
                Participation.activity_id == activity.id,
                Participation.status == ParticipationStatus.signed_up,
            )
        )
    assert seats == 2


async def test_cancelling_after_the_cut_off_is_refused(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    start = bot.clock.now() + timedelta(hours=5)
    activity = await new_activity(bot, secretary, "健康义诊", start, cancel_cutoff_hours=2)
    await settle(bot, wang)
    await open_card(wang, "健康义诊")
    await wang.press(SIGN_UP)
    card = (await wang.next_event()).message
    assert said("zh", "events.cancel_until", when="2026年3月10日（周二）12:30") in card.text

    bot.clock.advance(timedelta(hours=3, minutes=30))  # 1.5 hours before the start
    await settle(bot, wang)
    await wang.press(CANCEL_PLACE, message=card)
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.signup_cutoff_passed")
    assert (await participation(bot, activity, wang)).status is ParticipationStatus.signed_up


async def test_pledge_saplings_when_signing_up(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    tom = await member(bot, "Tom", secretary, language="en")
    activity = await new_activity(
        bot, secretary, "义务植树", kind="tree_planting", pledge_kind="saplings", capacity=30
    )
    await settle(bot, wang, tom)
    await open_card(wang, "义务植树")
    await wang.press(SIGN_UP)
    question = await wang.next_message()
    assert question.text == said("zh", "events.ask_pledge_saplings", title="义务植树")

    for bad in ("很多", "   ", "0", "2.5", "-3", "9" * 5000, "1" * 4301, "10000001"):
        await wang.send(bad)
        assert (await wang.next_message()).text == said("zh", "error.pledge_invalid")
    async with bot.database.sessions() as session:
        assert await session.scalar(select(Participation)) is None  # nothing saved yet

    await wang.send("５")  # full-width, as Chinese keyboards type it
    assert (await wang.next_message()).text == said("zh", "events.signed_up_note")
    card = await wang.next_message()
    assert status_line("zh", "events.status.signed_up") in card.text
    assert said("zh", "events.pledge_saplings", amount=5) in card.text
    row = await participation(bot, activity, wang)
    assert row.status is ParticipationStatus.signed_up and row.pledge_amount == 5

    money = await new_activity(
        bot, secretary, "认捐树苗", kind="tree_planting", pledge_kind="money"
    )
    await settle(bot, wang, tom)
    await open_card(tom, "认捐树苗")
    await tom.press(t("en", "events.signup_button"))
    assert (await tom.next_message()).text == said(
        "en", "events.ask_pledge_money", title="认捐树苗"
    )
    for bad in ("a hundred", "9" * 5000):
        await tom.send(bad)
        assert (await tom.next_message()).text == said("en", "error.pledge_invalid")
    await tom.send("100")
    assert (await tom.next_message()).text == said("en", "events.signed_up_note")
    assert said("en", "events.pledge_money", amount=100) in (await tom.next_message()).text
    assert (await participation(bot, money, tom)).pledge_amount == 100


# --- organisational life: attend, leave, the secretary's decision --------------------------------


async def test_attend_and_leave_approved(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    tom = await member(bot, "Tom", secretary, language="en")
    meeting = await new_activity(bot, secretary, "支部党员大会", kind="general_meeting")
    await settle(bot, wang, tom, secretary)

    await open_card(wang, "支部党员大会")
    await wang.press(t("zh", "events.attend_button"))
    card = (await wang.next_event()).message
    assert (await wang.answer_of_last_press()).text == said("zh", "events.attend_note")
    assert status_line("zh", "events.status.attending") in card.text
    assert card.buttons[0] == [ASK_LEAVE]
    assert (await participation(bot, meeting, wang)).status is ParticipationStatus.attending

    await open_card(tom, "支部党员大会")
    await tom.press(t("en", "events.leave_button"))
    asked = said("en", "events.ask_leave_reason", title="支部党员大会")
    assert (await tom.next_message()).text == asked
    await tom.send("   ")
    assert (await tom.next_message()).text == said("en", "error.reason_empty")
    await tom.send("x" * 300)
    assert (await tom.next_message()).text == said("en", "error.text_too_long")
    async with bot.database.sessions() as session:
        assert await session.scalar(select(Participation).where(
            Participation.status == ParticipationStatus.leave_requested)) is None  # fmt: skip
    await tom.send("Business trip to Guangzhou")
    assert (await tom.next_message()).text == said("en", "events.leave_sent", title="支部党员大会")
    card = await tom.next_message()
    assert status_line("en", "events.status.leave_requested") in card.text
    assert card.buttons[0] == [t("en", "events.attend_button")]

    request = await secretary.next_message()
    assert request.text == said(
        "zh",
        "events.leave_card",
        name="Tom",
        title="支部党员大会",
        when="2026年3月12日（周四）09:00",
        reason="Business trip to Guangzhou",
    )
    assert (
        "2026年3月12日（周四）09:00" in request.text
        and "Business trip to Guangzhou" in request.text
    )
    assert request.buttons == [[APPROVE_LEAVE, t("zh", "events.decline_leave_button")]]
    await secretary.press(APPROVE_LEAVE)
    edited = (await secretary.next_event()).message
    assert edited.text.endswith(said("zh", "events.leave_card_approved"))
    assert edited.buttons == []
    assert (await secretary.answer_of_last_press()).text == said("zh", "events.leave_approved_note")
    told = await tom.next_message()
    when = "Thu 12 Mar 2026, 09:00"
    assert told.text == said("en", "events.leave_approved", title="支部党员大会", when=when)
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
    await wang.press(ASK_LEAVE)
    asked = said("zh", "events.ask_leave_reason", title="党课：学习新思想")
    assert (await wang.next_message()).text == asked
    await wang.send("家中有事")
    sent = said("zh", "events.leave_sent", title="党课：学习新思想")
    assert (await wang.next_message()).text == sent
    assert status_line("zh", "events.status.leave_requested") in (await wang.next_message()).text
    mine, theirs = await secretary.next_message(), await other.next_message()
    assert theirs.text == said(
        "en",
        "events.leave_card",
        name="王小明",
        title="党课：学习新思想",
        when="Thu 12 Mar 2026, 09:00",
        reason="家中有事",
    )
    assert "家中有事" in theirs.text

    # The member cannot decide, even holding the secretary's card.
    await wang.press(APPROVE_LEAVE, message=mine)
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.permission_denied_staff")
    assert (await participation(bot, meeting, wang)).status is ParticipationStatus.leave_requested

    await secretary.press(t("zh", "events.decline_leave_button"), message=mine)
    declined = said("zh", "events.leave_card_declined")
    assert (await secretary.next_event()).message.text.endswith(declined)
    assert (await secretary.answer_of_last_press()).text == said("zh", "events.leave_declined_note")
    told = await wang.next_message()
    when = "2026年3月12日（周四）09:00"
    assert told.text == said("zh", "events.leave_declined", title="党课：学习新思想", when=when)
    assert (await participation(bot, meeting, wang)).status is ParticipationStatus.leave_declined

    await other.press(t("en", "events.approve_leave_button"), message=theirs)
    answer = await other.answer_of_last_press()
    assert answer.show_alert and answer.text == said("en", "error.leave_already_decided")
    declined = said("en", "events.leave_card_declined")
    assert (await other.next_event()).message.text.endswith(declined)
    assert theirs.buttons == []
    assert (await participation(bot, meeting, wang)).status is ParticipationStatus.leave_declined
    await wang.expect_no_message()


# --- the calendar file and the share link -----------------------------------------------------


async def test_calendar_file_and_share_link(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    activity = await new_activity(bot, secretary, "普法宣传", place="万达广场一楼中庭", capacity=5)
    await settle(bot, wang)
    card = await open_card(wang, "普法宣传")
    await wang.press(t("zh", "events.calendar_button"))
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
    assert "普法宣传" in opened.text and opened.buttons[0] == [SIGN_UP]
    await li.press(SIGN_UP)
    assert status_line("zh", "events.status.signed_up") in (await li.next_event()).message.text

    # Someone outside the branch sees the card and where to report.
    outsider = bot.emulator.user("Zhang", language_code="en")
    await outsider.send(f"/start {share_payload(activity)}")
    opened = await outsider.next_message()
    wanda = "Zhanjiang Wanda Plaza Commercial District Branch"
    assert said("en", "events.not_in_audience", unit=wanda) in opened.text
    assert opened.buttons == [[t("en", "events.calendar_button")], [t("en", "events.back_button")]]


# --- check-in ------------------------------------------------------------------------------------


async def test_check_in_by_location(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    start = bot.clock.now() + timedelta(minutes=20)  # check-in opens 30 minutes before
    meeting = await new_activity(
        bot,
        secretary,
        "主题党日：志愿清洁",
        start,
        kind="theme_day",
        latitude=WANDA[0],
        longitude=WANDA[1],
        check_in_by_location=True,
    )
    await settle(bot, wang)

    await open_card(wang, "主题党日")
    check_in, send_location = (
        t("zh", "events.checkin_button"),
        t("zh", "events.share_location_button"),
    )
    checked_in = said("zh", "events.checked_in", title="主题党日：志愿清洁")
    await wang.press(check_in)
    question = await wang.next_message()
    assert question.text == said("zh", "events.ask_location", title="主题党日：志愿清洁")
    assert wang.reply_keyboard == [[send_location]]
    await wang.tap(send_location, location=FAR_FROM_WANDA)
    far = await wang.next_message()
    assert far.text == said("zh", "error.checkin_too_far", distance=1067, radius=300)
    assert wang.reply_keyboard == [[send_location]]  # asked again
    await wang.tap(send_location, location=NEAR_WANDA)
    assert (await wang.next_message()).text == checked_in
    card = await wang.next_message()
    # Checked in, as /record says it until the record closes at the end.
    assert status_line("zh", "events.outcome.checked_in_open") in card.text
    assert [check_in] not in card.buttons
    row = await participation(bot, meeting, wang)
    assert row.check_in_method is CheckInMethod.location and row.checked_in_at is not None

    # Checking in again (an old card's button) is refused once the location comes.
    wang.press_forged(card, f"ev:ci:{meeting.id}")
    await wang.next_message()  # the question again
    await wang.tap(send_location, location=NEAR_WANDA)
    assert (await wang.next_message()).text == said("zh", "error.checkin_already")


async def test_record(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    now = bot.clock.now()
    service = await new_activity(
        bot,
        secretary,
        "社区志愿服务",
        now + timedelta(minutes=10),
        hours=2.5,
        latitude=WANDA[0],
        longitude=WANDA[1],
        check_in_by_location=True,
    )
    await new_activity(
        bot, secretary, "支委会", now + timedelta(minutes=20), kind="committee_meeting"
    )
    lecture = await new_activity(
        bot, secretary, "党课", now + timedelta(minutes=30), kind="lecture"
    )
    await settle(bot, wang)

    await open_card(wang, "社区志愿服务")
    await wang.press(SIGN_UP)
    await wang.next_event()
    await wang.press(t("zh", "events.checkin_button"))
    await wang.next_message()  # where are you?
    await wang.tap(t("zh", "events.share_location_button"), location=NEAR_WANDA)
    await wang.next_message()  # checked in
    await wang.next_message()  # the card
    assert (await participation(bot, service, wang)).checked_in_at is not None
    await open_card(wang, "党课")
    await wang.press(ASK_LEAVE)
    await wang.next_message()
    await wang.send("出差")
    await wang.next_message()
    await wang.next_message()
    await secretary.next_message()
    await secretary.press(APPROVE_LEAVE)
    await secretary.next_event()
    await wang.next_message()
    assert (await participation(bot, lecture, wang)).status is ParticipationStatus.excused

    bot.clock.advance(timedelta(hours=4))  # all three are over; the committee meeting was missed
    await settle(bot, wang, secretary)
    await wang.send("/record")
    record = await wang.next_message()
    counts = {
        "year": 2026,
        "attended": 1,
        "excused": 1,
        "absent": 1,
        "made_up": 0,
        "rate": "0%",  # of the two meetings held, one excused, one missed
        "hours": "2.5",
        "saplings": 0,
    }
    assert said("zh", "events.record_title", **counts) in record.text
    lines = record.text.split("\n")

    def entry(when: str, title: str, outcome: str) -> str:
        return said("zh", "events.record_line", when=when, title=title, outcome=t("zh", outcome))

    history = [
        entry("2026年3月10日（周二）10:00", "党课", "events.outcome.excused"),
        entry("2026年3月10日（周二）09:50", "支委会", "events.outcome.absent"),
        entry("2026年3月10日（周二）09:40", "社区志愿服务", "events.outcome.attended"),
    ]
    assert lines[-3:] == history
    # /me: the same numbers for this year, and the latest activities.
    await wang.send("/me")
    me = await wang.next_message()
    assert said("zh", "events.record_title", **counts) in me.text
    assert me.text.split("\n")[-3:] == history


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
    assert (
        said("zh", "events.card_deadline", when="2026年3月10日（周二）10:30") in closing_card.text
    )

    # Twice: a second copy of the card still shows Sign up.
    first_copy = await open_card(wang, "报名将截止")
    second_copy = await open_card(wang, "报名将截止")
    await wang.press(SIGN_UP, message=second_copy)
    await wang.next_event()
    await wang.press(SIGN_UP, message=first_copy)
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.signup_already")

    # A member of another branch presses a button of a forwarded card.
    before = soon_card.text
    await outsider.press(SIGN_UP, message=soon_card)
    answer = await outsider.answer_of_last_press()
    assert answer.show_alert and answer.text == said("en", "error.activity_not_in_audience")
    assert soon_card.text == before
    await outsider.expect_no_message()
    # answered in their own chat
    await outsider.press(t("zh", "events.back_button"), message=soon_card)
    assert (await outsider.next_message()).text == said("en", "events.none")
    assert soon_card.text == before
    await li.expect_no_message()

    # Cancelled.
    async with bot.database.sessions.begin() as session:
        await cancel_activity(session, cancelled.id, secretary.id, bot.clock.now())
    await wang.press(SIGN_UP, message=cancelled_card)
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.activity_cancelled")

    # After the deadline.
    bot.clock.advance(timedelta(hours=1, minutes=1))
    await li.press(SIGN_UP, message=closing_card)
    answer = await li.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.signup_deadline_passed")

    # Finished.
    bot.clock.advance(timedelta(hours=2))
    await li.press(SIGN_UP, message=soon_card)
    answer = await li.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.activity_finished")

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

    for payload in ("a_forged-code", "a_" + "x" * 60, "a_"):
        await wang.send(f"/start {payload}")
        assert (await wang.next_message()).text == said("zh", "events.bad_link")

    card = await open_card(wang, "普法宣传")
    for data in ("ev:zz:1", "ev:s", "ev:s:1:2", "ev:s:x", "ev:s:-1"):
        wang.press_forged(card, data)
        answer = await wang.answer_of_last_press()
        assert answer.show_alert and answer.text == said("zh", "error.stale_button"), data
    wang.press_forged(card, f"ev:ci:{activity.id}")  # check-in is not open
    opens = said("zh", "error.checkin_not_open", wait="2天")
    assert (await wang.answer_of_last_press()).text == opens
    wang.press_forged(card, "ev:s:999999")
    assert (await wang.answer_of_last_press()).text == said("zh", "error.not_found")
    wang.press_forged(card, "lv:ok:424242")
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
        await wang.press(SIGN_UP)
        assert (await wang.next_message()).text == t("zh", "error.apology")
    assert "handler failed" in caplog.text
    assert await count(bot, Participation) == 0
    async with bot.database.sessions() as session:
        assert (await session.get(Activity, activity.id)).seats_taken == 0  # type: ignore[union-attr]
        assert await inbox.unprocessed(session, bot.runtime.services.bot_id) == []
    assert await count(bot, Delivery) == deliveries

    monkeypatch.undo()  # the same press again, now that drawing works: all of it happens
    await wang.press(SIGN_UP)
    await wang.next_event()
    assert (await participation(bot, activity, wang)).status is ParticipationStatus.signed_up


async def test_a_refused_press_is_an_alert_and_changes_nothing(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    activity = await new_activity(bot, secretary, "义诊志愿服务", capacity=5)
    await settle(bot, wang)
    card = await open_card(wang, "义诊志愿服务")
    await wang.press(SIGN_UP)
    await wang.next_event()
    before = await participation(bot, activity, wang)
    # The card now offers Cancel; an old (or forged) Sign up press on it:
    wang.press_forged(card, f"ev:s:{activity.id}")
    answer = await wang.wait_answer()
    assert answer.show_alert and answer.text == t("zh", "error.signup_already")
    after = await participation(bot, activity, wang)
    assert (after.status, after.updated_at) == (before.status, before.updated_at)

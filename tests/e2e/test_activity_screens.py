"""Activities as members and secretaries see them, end to end: blank text refused wherever
it is typed, the /new preview that is the card members get, /record and the card after a
check-in, list buttons with their dates, the management card's lists, the kind said once.

Activities are mostly set up with the domain API; what is tested goes through the emulator.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from models.activities import (
    ActivityDraft,
    ParticipationStatus,
    RecurrenceRule,
    participations_of,
    publish_draft,
    share_payload,
)
from models.attendance import decide_leave, request_leave, respond_attend, roster_check_in
from models.members import member_of
from models.org import unit_by_code
from models.outbox import Delivery
from sandbox.person import Person
from sandbox.state import ChatMessage
from tests.e2e.conftest import THURSDAY_9AM, RunningBot, grant, meet, new_activity
from tests.e2e.test_events import ASK_LEAVE, member, open_card, settle, status_line
from tests.e2e.test_notices import write
from tests.e2e.test_organize import activities
from tests.e2e.test_roster import management_card
from tests.e2e.test_venue import settings_screen, start_new, venue_question
from tests.e2e.texts import said, t

ZONE = ZoneInfo("Asia/Shanghai")  # the branches' time, UTC+8
# What shows nothing: spaces, the ideographic space of Chinese keyboards, a zero-width space.
BLANKS = ("   ", "\u3000\u3000", "\u200b")


async def reach(person: Person, text: str) -> ChatMessage:
    """The next message that says `text`, past any in between (a time read back, say)."""
    while True:
        message = await person.next_message()
        if message.text == text:
            return message


async def deliveries(bot: RunningBot, kind: str) -> int:
    async with bot.database.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.kind == kind)
        )
        return count or 0


async def member_id(bot: RunningBot, person: Person) -> int:
    async with bot.database.sessions() as session:
        found = await member_of(session, person.id)
        return found.id


# --- 1. blank text ------------------------------------------------------------------------------


async def test_a_place_changed_to_spaces_is_refused_and_nobody_is_told(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    meeting = await new_activity(
        bot, secretary, "支部党员大会", kind="general_meeting", place="党群服务中心"
    )
    await settle(bot, wang)
    card = await management_card(secretary, "支部党员大会")
    await secretary.press(t("zh", "manage.change_place"), message=card)
    assert (await secretary.next_message()).text == said("zh", "manage.ask_new_place")
    assert (await secretary.next_message()).text == said("zh", "venue.share_below")
    for blank in BLANKS:
        await secretary.send(blank)
        refusal = await secretary.next_message()
        assert refusal.text == said("zh", "error.place_empty"), blank
        assert secretary.reply_keyboard == [[t("zh", "venue.share_button")]]  # still asked
    await settle(bot, wang)
    assert await deliveries(bot, "activity_changed") == 0
    assert [a.place for a in await activities(bot)] == ["党群服务中心"]

    await secretary.send("  三楼   会议室 ")
    said_back = said("zh", "manage.place_changed", place="三楼 会议室", count=1)
    assert (await secretary.next_message()).text == said_back
    await settle(bot)
    told = await wang.next_message()
    when = "2026年3月12日（周四）09:00"
    expected = said(
        "zh", "manage.told_changed", title="支部党员大会", when=when, place="三楼 会议室"
    )
    assert told.text == expected
    assert [(a.id, a.place) for a in await activities(bot)] == [(meeting.id, "三楼 会议室")]


async def test_blank_text_is_refused_in_new_and_in_a_leave_request(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    await secretary.send("/new")
    await secretary.next_message()
    await secretary.press(t("zh", "activity.kind.lecture"))
    await secretary.next_event()
    assert (await secretary.next_message()).text == said("zh", "new.ask_title")
    for blank in BLANKS:
        await secretary.send(blank)
        assert (await secretary.next_message()).text == said("zh", "error.title_empty")
    await secretary.send("红色\x1b[0m")  # a control character
    assert (await secretary.next_message()).text == said("zh", "error.text_invalid")
    await secretary.send("学习党章")
    await reach(
        secretary, said("zh", "new.ask_start", iso="2026-03-14 09:00", spoken="3月14日 上午9点")
    )
    await secretary.send("3月12日 下午3点")
    await reach(secretary, said("zh", "new.ask_end"))
    await secretary.press(t("zh", "new.duration_hours", hours=2))
    assert (await secretary.next_message()).text == said("zh", "new.ask_place")
    for blank in BLANKS:
        await secretary.send(blank)
        assert (await secretary.next_message()).text == said("zh", "error.place_empty")
    await secretary.send("三楼会议室")
    await venue_question(secretary)
    await secretary.press(t("zh", "venue.none"))
    await reach(secretary, said("zh", "new.ask_description"))
    for blank in (*BLANKS, " \n\n "):
        await secretary.send(blank)
        assert (await secretary.next_message()).text == said("zh", "error.description_empty")
    await secretary.press(t("zh", "new.skip"))
    await reach(secretary, said("zh", "new.ask_repeat"))
    await secretary.press(t("zh", "new.repeat.once"))
    await settings_screen(secretary)
    await secretary.press(t("zh", "checkin_settings.continue"))
    await secretary.next_event()
    preview = await secretary.next_message()
    assert said("zh", "events.card_place", place="三楼会议室") in preview.text
    await secretary.press(t("zh", "new.publish"))
    await secretary.next_event()
    (lecture,) = await activities(bot)
    assert (lecture.title, lecture.place, lecture.description) == ("学习党章", "三楼会议室", "")

    # A leave request's reason: the same rule, and the question stays open.
    await settle(bot, wang)
    await open_card(wang, "学习党章")
    await wang.press(ASK_LEAVE)
    await wang.next_message()  # why?
    for blank in BLANKS:
        await wang.send(blank)
        assert (await wang.next_message()).text == said("zh", "error.reason_empty")
    await wang.send("出差")
    assert (await wang.next_message()).text == said("zh", "events.leave_sent", title="学习党章")


async def test_a_notice_that_shows_nothing_is_refused(bot: RunningBot, secretary: Person) -> None:
    await secretary.send("/notify")
    assert (await secretary.next_message()).text == said("zh", "notify.ask_text")
    for blank in BLANKS:
        await secretary.send(blank)
        assert (await secretary.next_message()).text == said("zh", "error.notice_empty")
    await secretary.send("请准时参加。")
    assert (await secretary.next_message()).text == said("zh", "notify.ask_attachment")


# --- 2. the preview is the card ---------------------------------------------------------------


def card_part(preview: str) -> str:
    """The preview's card: between its heading and what only the secretary sees."""
    start = preview.index(said("zh", "new.preview_card")) + len(said("zh", "new.preview_card"))
    return preview[start : preview.index(said("zh", "new.preview_yours"))].strip()


async def test_the_preview_shows_the_card_members_will_see(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    await start_new(secretary, "tree_planting", "乡村植树添新绿", "3月14日 上午9点")
    await secretary.send("东风村")
    await venue_question(secretary)
    await secretary.press(t("zh", "venue.none"))
    await reach(secretary, said("zh", "new.ask_description"))
    await secretary.send("请穿运动鞋。\n自带水杯。")
    await reach(secretary, said("zh", "new.ask_capacity"))
    await secretary.send("20")
    await reach(secretary, said("zh", "new.ask_deadline"))
    await secretary.send("3月13日 下午6点")
    await reach(secretary, said("zh", "new.ask_pledge"))
    await secretary.press(t("zh", "new.pledge.saplings"))
    await settings_screen(secretary)
    await secretary.press(t("zh", "checkin_settings.continue"))
    await secretary.next_event()
    preview = (await secretary.next_message()).text
    shown = card_part(preview)
    for line in (
        said("zh", "events.card_when", when="2026年3月14日（周六）09:00–11:00"),
        said("zh", "events.card_place", place="东风村"),
        said("zh", "events.card_deadline", when="2026年3月13日（周五）18:00"),
        said("zh", "events.card_pledge_saplings"),
        "请穿运动鞋。\n自带水杯。",
        said("zh", "events.seats_left", left=20, capacity=20),
    ):
        assert line in shown, preview
    # How members check in is not on the card: only the secretary sees it, below.
    assert said("zh", "checkin_settings.summary", methods="").rstrip() not in shown
    assert preview.index(said("zh", "new.preview_yours")) < preview.index(
        said("zh", "checkin_settings.summary", methods="").rstrip()
    )
    await secretary.press(t("zh", "new.publish"))
    await secretary.next_event()

    await settle(bot, wang)
    card = await open_card(wang, "乡村植树添新绿")  # the list became the card
    assert card.text.startswith(shown), (card.text, shown)


async def test_the_preview_of_a_series_shows_its_first_occurrence(
    bot: RunningBot, secretary: Person
) -> None:
    """Typed for Thursday the 12th, repeating on the last Friday: the 27th is the first."""
    await start_new(secretary, "theme_day", "每月主题党日", "3月12日 上午9点")
    await secretary.press(t("zh", "new.skip"))
    await venue_question(secretary)
    await secretary.press(t("zh", "venue.none"))
    await reach(secretary, said("zh", "new.ask_description"))
    await secretary.press(t("zh", "new.skip"))
    await reach(secretary, said("zh", "new.ask_repeat"))
    await secretary.press(t("zh", "new.repeat.last_friday"))
    await settings_screen(secretary)
    await secretary.press(t("zh", "checkin_settings.continue"))
    await secretary.next_event()
    preview = (await secretary.next_message()).text
    when = said("zh", "events.card_when", when="2026年3月27日（周五）09:00–11:00")
    assert when in card_part(preview)
    days = "、".join(("3月27日 周五", "4月24日 周五", "5月29日 周五"))
    rule = t("zh", "new.repeat.last_friday")
    assert said("zh", "new.preview_repeat", rule=rule, days=days) in preview
    await secretary.press(t("zh", "new.publish"))
    await secretary.next_event()
    first = (await activities(bot))[0]
    assert first.starts_at.astimezone(ZONE).strftime("%m-%d %H:%M") == "03-27 09:00"


# --- 3. /record and the card after a check-in -----------------------------------------------------


async def test_record_and_card_agree_right_after_checking_in(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    start = bot.clock.now() + timedelta(minutes=20)  # check-in opens 30 minutes before
    lecture = await new_activity(bot, secretary, "学习党章", start, kind="lecture")
    await settle(bot, wang)
    await open_card(wang, "学习党章")
    await wang.press(t("zh", "checkin.code_button"))
    await wang.next_message()  # the code?
    await wang.send("   ")
    assert (await wang.next_message()).text == said("zh", "error.checkin_code_malformed")
    await wang.send(lecture.check_in_code)
    assert (await wang.next_message()).text == said("zh", "events.checked_in", title="学习党章")
    card = await wang.next_message()
    assert status_line("zh", "events.outcome.checked_in_open") in card.text

    when = "2026年3月10日（周二）09:50"
    open_line = said(
        "zh",
        "events.record_line",
        when=when,
        title="学习党章",
        outcome=t("zh", "events.outcome.checked_in_open"),
    )
    await wang.send("/record")
    record = await wang.next_message()
    assert open_line in record.text.split("\n")
    assert said("zh", "events.record_empty") not in record.text

    bot.clock.advance(timedelta(hours=3))  # over: the scheduler closes the record
    await settle(bot, wang, secretary)
    await wang.send("/record")
    record = await wang.next_message()
    attended = t("zh", "events.outcome.attended")
    closed_line = said("zh", "events.record_line", when=when, title="学习党章", outcome=attended)
    assert closed_line in record.text.split("\n")
    await wang.send(f"/start {share_payload(lecture)}")
    card = await wang.next_message()
    suffix = t("zh", "events.checked_in_suffix")
    assert status_line("zh", "events.status.attending", suffix) in card.text


# --- 4. list buttons carry the date ---------------------------------------------------------------


async def test_a_series_is_listed_with_its_dates_everywhere(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    async with bot.database.sessions.begin() as session:
        unit = await unit_by_code(session, "wanda-plaza")
        weekly = ActivityDraft(
            kind="theme_day",
            title="每周学习",
            starts_at=THURSDAY_9AM,
            ends_at=THURSDAY_9AM + timedelta(hours=2),
        )
        await publish_draft(
            session, secretary.id, unit.id, weekly, RecurrenceRule.weekly, ZONE, bot.clock.now()
        )
    await settle(bot, wang)
    days = ["3月12日 周四", "3月19日 周四", "3月26日 周四", "4月2日 周四", "4月9日 周四"]

    await wang.send("/events")
    listing = await wang.next_message()
    assert [row[0] for row in listing.buttons[:5]] == [f"{d} 09:00 每周学习" for d in days]

    await secretary.send("/activities")
    managed = await secretary.next_message()
    assert [row[0] for row in managed.buttons[:5]] == [f"{d} 09:00 每周学习" for d in days]

    # /notify's choice of an activity: the date, and the kind before the title.
    await write(secretary, "请准时参加。")
    await secretary.press(t("zh", "notify.audience.activity"))
    await secretary.next_event()
    choice = await secretary.next_message()
    labels = [label for row in choice.buttons for label in row]
    assert "3月12日 周四 09:00 主题党日：每周学习" in labels
    assert "3月19日 周四 09:00 主题党日：每周学习" in labels
    await secretary.send("/cancel")
    await secretary.next_message()

    # Two of them are over: the past list, the latest first, with their dates too.
    bot.clock.set(THURSDAY_9AM + timedelta(days=7, hours=3))
    await settle(bot, wang, secretary)
    await secretary.send("/activities")
    await secretary.next_message()
    await secretary.press(t("zh", "manage.past_button"))
    past = (await secretary.next_event()).message
    assert [row[0] for row in past.buttons[:2]] == [f"{d} 09:00 每周学习" for d in days[1::-1]]


# --- 5. the management card's lists ---------------------------------------------------------------


async def card_buttons(secretary: Person, title: str) -> list[str]:
    card = await management_card(secretary, title)
    return [label for row in card.buttons for label in row]


async def test_the_waitlist_only_where_there_are_seats(bot: RunningBot, secretary: Person) -> None:
    await new_activity(bot, secretary, "支委会", kind="committee_meeting")
    await new_activity(bot, secretary, "义诊", capacity=10)
    await new_activity(bot, secretary, "清扫街道")  # no limit: nobody ever waits
    waitlist, leave = t("zh", "manage.list.waitlist"), t("zh", "manage.list.leave")
    meeting = await card_buttons(secretary, "支委会")
    assert waitlist not in meeting and leave in meeting
    assert t("zh", "manage.list.signed_up") in meeting
    seats = await card_buttons(secretary, "义诊")
    assert waitlist in seats and leave not in seats
    unlimited = await card_buttons(secretary, "清扫街道")
    assert waitlist not in unlimited and leave not in unlimited


async def test_the_attending_list_marks_who_checked_in(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    zhao = await member(bot, "赵红", secretary)
    start = bot.clock.now() + timedelta(minutes=10)
    meeting = await new_activity(bot, secretary, "支部党员大会", start, kind="general_meeting")
    english = bot.emulator.user("Secretary Li", language_code="en")
    await grant(bot.database, english, "secretary", "wanda-plaza")
    await meet(english)
    async with bot.database.sessions.begin() as session:
        for person in (wang, zhao):
            await respond_attend(
                session, meeting.id, await member_of(session, person.id), bot.clock.now()
            )
    bot.clock.advance(timedelta(minutes=15))  # under way
    async with bot.database.sessions.begin() as session:
        await roster_check_in(
            session, meeting.id, await member_id(bot, wang), secretary.id, bot.clock.now()
        )
    await settle(bot, wang, zhao, secretary, english)

    for person, language in ((secretary, "zh"), (english, "en")):
        card = await management_card(person, "支部党员大会")
        await person.press(t(language, "manage.list.signed_up"), message=card)
        shown = (await person.next_event()).message.text.split("\n")
        assert shown[1] == said(language, "manage.checked_in_legend")
        assert shown[2:4] == ["1. ✅ 王小明", "2. 赵红"]


# --- 6. the kind said once ------------------------------------------------------------------------


async def test_the_kind_is_not_said_twice(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    alice = await member(bot, "Alice", secretary, language="en")
    await new_activity(bot, secretary, "党课：学习二十大精神", kind="lecture")
    await new_activity(bot, secretary, "学习党章", THURSDAY_9AM + timedelta(days=1), kind="lecture")
    assert bot.runtime.scheduler is not None
    await bot.runtime.scheduler.run_once()
    zh = [(await wang.next_message()).text.split("\n")[0] for _ in range(2)]
    en = [(await alice.next_message()).text.split("\n")[0] for _ in range(2)]
    assert sorted(zh) == ["📣 党课：学习二十大精神", "📣 党课：学习党章"]
    assert sorted(en) == ["📣 Party lecture: 学习党章", "📣 党课：学习二十大精神"]


async def test_the_leave_list_decides_in_the_cards_words(
    bot: RunningBot, secretary: Person
) -> None:
    """Each request's buttons say what the card's say, with its number; a decision keeps
    the list on screen, without the request decided, and the member is told."""
    wang = await member(bot, "王小明", secretary)
    alice = await member(bot, "Alice", secretary, language="en")
    meeting = await new_activity(bot, secretary, "支部党员大会", kind="general_meeting")
    english = bot.emulator.user("Secretary Li", language_code="en")
    await grant(bot.database, english, "secretary", "wanda-plaza")
    await meet(english)
    reasons = {wang: "在广州参加培训", alice: "Family matters"}
    async with bot.database.sessions.begin() as session:
        for person, reason in reasons.items():
            asking = await member_of(session, person.id)
            await request_leave(session, meeting.id, asking, reason, bot.clock.now())
    await settle(bot, wang, alice, secretary, english)

    card = await management_card(english, "支部党员大会")
    await english.press(t("en", "manage.list.leave"), message=card)
    listing = await english.next_edit(card)
    assert listing.buttons == [
        *([f"✅ Approve {n}", f"❌ Decline {n}"] for n in (1, 2)),
        [t("en", "button.back")],
    ]

    card = await management_card(secretary, "支部党员大会")
    await secretary.press(t("zh", "manage.list.leave"), message=card)
    listing = await secretary.next_edit(card)
    numbered = dict(line.split(". ", 1) for line in listing.text.split("\n")[1:])
    assert sorted(numbered) == ["1", "2"]
    assert sorted(numbered.values()) == ["Alice：Family matters", "王小明：在广州参加培训"]
    assert listing.buttons[:2] == [[f"✅ 批准 {n}", f"❌ 不批准 {n}"] for n in (1, 2)]
    number = next(n for n, line in numbered.items() if line.startswith("王小明"))

    await secretary.press(f"✅ 批准 {number}", message=listing)
    assert (await secretary.answer_of_last_press()).text == said("zh", "events.leave_approved_note")
    listing = await secretary.next_edit(listing)
    title = said(
        "zh",
        "manage.people_title",
        list=t("zh", "manage.list.leave"),
        title="支部党员大会",
        count=1,
    )
    assert listing.text.split("\n") == [title, "1. Alice：Family matters"]
    assert listing.buttons == [["✅ 批准 1", "❌ 不批准 1"], [t("zh", "button.back")]]
    before, after = said("zh", "events.leave_approved", title="支部党员大会", when="|").split("|")
    told_message = await wang.next_message()
    told = told_message.text
    assert told.startswith(before) and told.endswith(after)

    # Alice's request decided meanwhile on its card: the list's old button says so.
    async with bot.database.sessions.begin() as session:
        asked = await participations_of(session, meeting.id)
        (row,) = [p for p in asked if p.status is ParticipationStatus.leave_requested]
        await decide_leave(session, row.id, secretary.id, False, bot.clock.now())
    await secretary.press("❌ 不批准 1", message=listing)
    refused = await secretary.answer_of_last_press()
    assert refused.show_alert and refused.text == said("zh", "error.leave_already_decided")
    listing = await secretary.next_edit(listing)
    assert said("zh", "manage.nobody") in listing.text
    assert listing.buttons == [[t("zh", "button.back")]]

    # A member forging the list's button decides nothing; nor does a request that is not.
    later = await new_activity(bot, secretary, "支委会", kind="committee_meeting")
    async with bot.database.sessions.begin() as session:
        asking = await member_of(session, wang.id)
        own = (await request_leave(session, later.id, asking, "在外地", bot.clock.now())).id
    for data, refusal in (
        (f"lv:ls:{own}:1:1", "error.permission_denied_staff"),
        ("lv:ls:424242:1:1", "error.not_found"),
        (f"lv:ls:{own}:2:1", "error.stale_button"),
    ):
        wang.press_forged(told_message, data)
        answer = await wang.answer_of_last_press()
        assert answer.show_alert and answer.text == said("zh", refusal), data
    async with bot.database.sessions() as session:
        (pending,) = await participations_of(session, later.id)
        assert pending.status is ParticipationStatus.leave_requested
    await wang.expect_no_message()


async def test_a_change_of_time_is_said_back_in_full(bot: RunningBot, secretary: Person) -> None:
    """The new time typed as people say it comes back with its date and weekday, and the
    question's examples are days to come."""
    wang = await member(bot, "王小明", secretary)
    await new_activity(bot, secretary, "支部党员大会", kind="general_meeting")
    await settle(bot, wang, secretary)
    card = await management_card(secretary, "支部党员大会")
    await secretary.press(t("zh", "manage.change_time"), message=card)
    examples = {"iso": "2026-03-14 09:00", "spoken": "3月14日 上午9点"}  # the coming Saturday
    assert (await secretary.next_message()).text == said("zh", "manage.ask_new_time", **examples)
    await secretary.send("下周六上午9点")  # the Saturday of next week
    when = "2026年3月21日（周六）09:00–11:00"
    said_back = said("zh", "manage.time_changed", when=when, count=1)
    assert (await secretary.next_message()).text == said_back
    told = await wang.next_message()
    assert "2026年3月21日（周六）09:00" in told.text


async def test_the_events_list_names_the_kind_once(bot: RunningBot, secretary: Person) -> None:
    """A theme day titled 主题党日 is not listed as "主题党日 / 主题党日 · …"; a reader of
    English still gets the kind in their language."""
    wang = await member(bot, "王小明", secretary)
    alice = await member(bot, "Alice", secretary, language="en")
    await new_activity(bot, secretary, "主题党日", kind="theme_day")
    await settle(bot, wang, alice)
    await wang.send("/events")
    listing = (await wang.next_message()).text.split("\n\n")
    assert listing[1] == "主题党日\n2026年3月12日（周四）09:00"
    await alice.send("/events")
    listing = (await alice.next_message()).text.split("\n\n")
    assert listing[1] == "主题党日\nTheme day · Thu 12 Mar 2026, 09:00"

"""Secretaries schedule and manage activities; the scheduler announces and reminds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models.activities import Activity, ActivityStatus
from models.outbox import Delivery
from tests.e2e.conftest import RunningBot, enrol, grant, meet, new_activity, seed_org
from tests.e2e.texts import said, t


def _default_ways(language: str) -> str:
    """How to check in where the creator kept the defaults: the QR code or the code."""
    ways = t(language, "remind.way_qr") + t(language, "remind.ways_joiner")
    return t(language, "remind.check_in_ways", ways=ways + t(language, "remind.way_code"))


CHECK_IN_WAYS = {language: _default_ways(language) for language in ("zh", "en")}


async def secretary_of(bot: RunningBot, unit: str, language: str = "en"):  # type: ignore[no-untyped-def]
    person = bot.emulator.user(f"Sec {unit}", language_code=language)
    await grant(bot.database, person, "secretary", unit)
    await meet(person)
    return person


async def activities(bot: RunningBot) -> list[Activity]:
    async with bot.database.sessions() as session:
        return list(await session.scalars(select(Activity).order_by(Activity.starts_at)))


async def test_scheduling_a_theme_day_in_chinese(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza", language="zh")
    await secretary.send("/new")
    kinds = await secretary.next_message()
    theme_day = t("zh", "activity.kind.theme_day")
    assert [theme_day] in kinds.buttons and [
        t("zh", "activity.kind.tree_planting")
    ] in kinds.buttons
    await secretary.press(theme_day)
    await secretary.next_event()
    assert (await secretary.next_message()).text == said("zh", "new.ask_title")
    await secretary.send("三月主题党日：学习雷锋精神")
    # The examples are the next Saturday (Tuesday 10 March today).
    examples = {"iso": "2026-03-14 09:00", "spoken": "3月14日 上午9点"}
    assert (await secretary.next_message()).text == said("zh", "new.ask_start", **examples)
    await secretary.send("3月12日 上午9点")
    read_back = said("zh", "new.time_read", when="2026年3月12日（周四）09:00")
    assert (await secretary.next_message()).text == read_back
    end_question = await secretary.next_message()
    assert end_question.buttons == [[t("zh", "new.duration_hours", hours=h) for h in (1, 2, 3, 4)]]
    await secretary.press(t("zh", "new.duration_hours", hours=2))
    assert (await secretary.next_message()).text == said("zh", "new.ask_place")
    await secretary.send("万达广场党群服务站")
    await secretary.next_message()  # the venue's location?
    await secretary.next_message()
    await secretary.press(t("zh", "venue.none"))
    await secretary.next_message()
    await secretary.next_message()  # description?
    await secretary.press(t("zh", "new.skip"))
    repeat = await secretary.next_message()
    assert [t("zh", "new.repeat.once")] in repeat.buttons
    await secretary.press(t("zh", "new.repeat.once"))
    assert (await secretary.next_message()).text == said("zh", "checkin_settings.title")
    await secretary.press(t("zh", "checkin_settings.continue"))
    preview = await secretary.next_message()
    assert "三月主题党日" in preview.text and "2026年3月12日（周四）09:00–11:00" in preview.text
    await secretary.press(t("zh", "new.publish"))
    assert said("zh", "new.published", count=1) in (await secretary.next_event()).message.text

    (activity,) = await activities(bot)
    assert activity.starts_at == datetime(2026, 3, 12, 1, 0, tzinfo=UTC)
    assert activity.ends_at == datetime(2026, 3, 12, 3, 0, tzinfo=UTC)
    assert activity.place == "万达广场党群服务站"


async def test_scheduling_volunteering_in_english_with_bad_input(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "huaduhui")
    await secretary.send("/new")
    await secretary.next_message()
    await secretary.press(t("en", "activity.kind.volunteer"))
    await secretary.next_event()
    await secretary.next_message()  # title?
    await secretary.send("x" * 150)
    assert (await secretary.next_message()).text == said("en", "error.title_too_long")
    await secretary.send("Free health checks")
    await secretary.next_message()  # start?
    await secretary.send("someday soon")
    examples = {"iso": "2026-03-14 09:00", "spoken": "14 Mar 9am"}
    assert (await secretary.next_message()).text == said("en", "new.unreadable_time", **examples)
    await secretary.send("2020-01-01 09:00")
    assert (await secretary.next_message()).text == said("en", "error.starts_at_past")
    await secretary.send("Saturday 9am")
    read_back = said("en", "new.time_read", when="Sat 14 Mar 2026, 09:00")
    assert (await secretary.next_message()).text == read_back
    await secretary.next_message()  # end?
    await secretary.send("2026-03-14 08:00")
    assert (await secretary.next_message()).text == said("en", "error.ends_at_before_start")
    await secretary.send("2026-03-14 12:00")
    await secretary.next_message()  # time read back
    await secretary.next_message()  # place?
    await secretary.send("Huaduhui square")
    await secretary.next_message()  # the venue's location?
    await secretary.next_message()
    await secretary.press(t("en", "venue.none"))
    await secretary.next_message()
    await secretary.next_message()  # description?
    await secretary.send("d" * 5000)
    assert (await secretary.next_message()).text == said("en", "error.description_too_long")
    await secretary.send("Blood pressure and sugar checks for shop staff.")
    await secretary.next_message()  # capacity?
    for bad in ("lots", "0", "-3", "9" * 5000, "1" * 4301):  # 4,301 digits: int() refuses
        await secretary.send(bad)
        assert (await secretary.next_message()).text == said("en", "error.capacity_invalid")
    await secretary.send("12")
    await secretary.next_message()  # deadline?
    await secretary.press(t("en", "new.until_start"))
    await secretary.next_message()  # the check-in settings
    await secretary.press(t("en", "checkin_settings.continue"))
    preview = await secretary.next_message()
    assert said("en", "events.seats_left", left=12, capacity=12) in preview.text
    assert "Sat 14 Mar 2026, 09:00–12:00" in preview.text
    assert await activities(bot) == []  # nothing before Publish
    await secretary.press(t("en", "new.publish"))
    await secretary.next_event()
    (activity,) = await activities(bot)
    assert activity.capacity == 12 and activity.title == "Free health checks"
    assert activity.description == "Blood pressure and sugar checks for shop staff."


async def test_a_monthly_theme_day_repeats_on_the_last_friday(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "tech-incubator")
    await secretary.send("/new")
    await secretary.next_message()
    await secretary.press(t("en", "activity.kind.theme_day"))
    await secretary.next_event()
    await secretary.next_message()
    await secretary.send("Theme day")
    await secretary.next_message()
    await secretary.send("2026-03-27 15:00")  # the last Friday of March
    await secretary.next_message()
    await secretary.next_message()
    await secretary.press(t("en", "new.duration_hours", hours=2))
    await secretary.next_message()
    await secretary.press(t("en", "new.skip"))
    await secretary.next_message()  # the venue's location?
    await secretary.next_message()
    await secretary.press(t("en", "venue.none"))
    await secretary.next_message()
    await secretary.next_message()
    await secretary.press(t("en", "new.skip"))
    await secretary.next_message()
    await secretary.press(t("en", "new.repeat.last_friday"))
    await secretary.next_message()  # the check-in settings
    await secretary.press(t("en", "checkin_settings.continue"))
    await secretary.next_message()
    await secretary.press(t("en", "new.publish"))
    published = (await secretary.next_event()).message.text
    assert said("en", "new.published", count=len(await activities(bot))) in published
    days = [(a.starts_at + timedelta(hours=8)).date() for a in await activities(bot)]
    assert [str(d) for d in days[:3]] == ["2026-03-27", "2026-04-24", "2026-05-29"]
    assert all(d.weekday() == 4 for d in days)


async def test_announcements_reminders_nudges_and_the_secretary_told(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza")
    zhao = bot.emulator.user("Zhao", language_code="en")
    qian = bot.emulator.user("Qian", language_code="zh")
    stranger = bot.emulator.user("Stranger", language_code="en")
    await enrol(bot, zhao, "Zhao", "wanda-plaza")
    await enrol(bot, qian, "钱", "wanda-plaza")
    await enrol(bot, stranger, "Stranger", "huaduhui")

    starts = bot.clock.now() + timedelta(days=3)
    await new_activity(
        bot, secretary, "Quarterly general meeting", starts, kind="general_meeting", place="Room 3"
    )
    await bot.runtime.scheduler.run_once()
    title, place = "Quarterly general meeting", "Room 3"
    when_en, when_zh = "Fri 13 Mar 2026, 09:30", "2026年3月13日（周五）09:30"
    meeting_en = t("en", "activity.kind.general_meeting")
    invitation = await zhao.next_message()
    kind_title = f"{meeting_en}: {title}"
    assert invitation.text == said(
        "en", "remind.invitation", kind_title=kind_title, when=when_en, place=place
    )
    assert invitation.buttons == [[t("en", "manage.open_card")]]
    assert t("zh", "activity.kind.general_meeting") in (await qian.next_message()).text
    await stranger.expect_no_message(within=0.3)
    await bot.runtime.scheduler.run_once()  # a second scan sends nothing twice
    await zhao.expect_no_message(within=0.3)

    # A day later nobody has answered: one nudge each.
    bot.clock.advance(timedelta(days=1, minutes=1))
    await bot.runtime.scheduler.run_once()
    nudge_en = said("en", "remind.nudge", title=title, when=when_en)
    assert (await zhao.next_message()).text == nudge_en
    nudge_zh = said("zh", "remind.nudge", title=title, when=when_zh)
    assert (await qian.next_message()).text == nudge_zh
    # Another day: the secretary hears who is silent; and it is 24 hours before.
    bot.clock.advance(timedelta(days=1))
    await bot.runtime.scheduler.run_once()
    texts = [(await secretary.next_message()).text]
    # the names follow, in any order
    silent = said("en", "remind.unanswered", title=title, when=when_en, count=2, names="")
    assert texts[0].startswith(silent) and "Zhao" in texts[0]
    # A general meeting nobody has said they will attend: its quorum is at risk.
    warning = said(
        "en", "record.quorum_at_risk", title=title, when=when_en, attending=0, expected=2, needed=2
    )
    assert (await secretary.next_message()).text == warning
    reminder = await zhao.next_message()
    assert reminder.text == said(
        "en",
        "remind.reminder",
        hours=24,
        title=title,
        when=when_en,
        place=place,
        check_in=CHECK_IN_WAYS["en"],
    )
    assert (await qian.next_message()).text == said(
        "zh",
        "remind.reminder",
        hours=24,
        title=title,
        when=when_zh,
        place=place,
        check_in=CHECK_IN_WAYS["zh"],
    )
    await bot.runtime.scheduler.run_once()
    await secretary.expect_no_message(within=0.3)

    # Reminders are not sent for an activity that was cancelled.
    await secretary.send("/activities")
    listing = await secretary.next_message()
    counts = said("en", "manage.counts_expected", attending=0, leave=0, excused=0, no_answer=2)
    assert "Quarterly general meeting" in listing.text and counts in listing.text
    await secretary.press(listing.buttons[0][0])
    detail = (await secretary.next_event()).message
    assert "Room 3" in detail.text
    await secretary.press(t("en", "manage.cancel_activity"))
    await secretary.next_event()
    await secretary.press(t("en", "manage.cancel_yes"))
    done = said("en", "manage.cancelled_done", count=2)
    assert (await secretary.next_event()).message.text == done
    told_en = said("en", "manage.told_cancelled", title=title, when=when_en)
    assert (await zhao.next_message()).text == told_en
    told_zh = said("zh", "manage.told_cancelled", title=title, when=when_zh)
    assert (await qian.next_message()).text == told_zh
    bot.clock.advance(timedelta(hours=23))
    await bot.runtime.scheduler.run_once()
    await zhao.expect_no_message(within=0.3)
    (activity,) = await activities(bot)
    assert activity.status is ActivityStatus.cancelled
    async with bot.database.sessions() as session:
        kinds = [d.kind for d in await session.scalars(select(Delivery).order_by(Delivery.id))]
    assert kinds.count("reminder") == 2 and kinds.count("activity_cancelled") == 2


async def test_changing_the_time_tells_everyone(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza")
    zhao = bot.emulator.user("Zhao", language_code="en")
    await enrol(bot, zhao, "Zhao", "wanda-plaza")
    starts = bot.clock.now() + timedelta(days=2)
    await new_activity(bot, secretary, "Party lecture", starts, hours=1, kind="lecture")
    await bot.runtime.scheduler.run_once()
    await zhao.next_message()  # the invitation
    await secretary.send("/activities")
    await secretary.press((await secretary.next_message()).buttons[0][0])
    await secretary.next_event()
    await secretary.press(t("en", "manage.change_time"))
    examples = {"iso": "2026-03-14 09:00", "spoken": "14 Mar 9am"}  # the coming Saturday
    assert (await secretary.next_message()).text == said("en", "manage.ask_new_time", **examples)
    await secretary.send("not a time")
    assert (await secretary.next_message()).text == said("en", "new.unreadable_time", **examples)
    await secretary.send("2026-03-13 19:00")
    said_back = said("en", "manage.time_changed", when="Fri 13 Mar 2026, 19:00–20:00", count=1)
    assert (await secretary.next_message()).text == said_back
    changed = await zhao.next_message()
    when = "Fri 13 Mar 2026, 19:00"
    assert changed.text == said(
        "en", "manage.told_changed", title="Party lecture", when=when, place="—"
    )
    assert "Fri 13 Mar 2026, 19:00" in changed.text
    (activity,) = await activities(bot)
    assert activity.starts_at == datetime(2026, 3, 13, 11, 0, tzinfo=UTC)
    assert activity.ends_at - activity.starts_at == timedelta(hours=1)


async def test_only_secretaries_schedule(bot: RunningBot) -> None:
    await seed_org(bot.database)
    member = bot.emulator.user("Member", language_code="en")
    await enrol(bot, member, "Member", "wanda-plaza")
    await member.send("/new")
    assert (await member.next_message()).text == said("en", "error.staff_only")
    await member.send("/activities")
    assert (await member.next_message()).text == said("en", "error.staff_only")


async def test_activity_qr_codes_and_the_digest_of_tomorrow(bot: RunningBot) -> None:
    from sandbox import decode_qr

    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza")
    starts = bot.clock.now() + timedelta(days=1)
    activity = await new_activity(
        bot, secretary, "Tree planting at the bay", starts, 3, kind="tree_planting", capacity=20
    )
    await secretary.send("/activities")
    card = await secretary.next_message()
    await secretary.press(card.buttons[0][0])
    await secretary.next_event()
    await secretary.press(t("en", "manage.share_qr"))
    share = await secretary.next_message()
    assert decode_qr(share.photo_bytes) == [
        f"https://t.me/branchbot_test?start=a_{activity.share_code}"
    ]
    # Check-in is by the check-in screen's code, which changes (test_check_in_screen.py).
    assert [t("en", "manage.checkin_screen"), t("en", "manage.share_qr")] in card.buttons

    bot.clock.set(bot.clock.now().replace(hour=12))  # 20:00 local: the digest hour in tests
    await bot.runtime.scheduler.run_once()
    digest = await secretary.next_message()
    assert said("en", "digest.tomorrow") in digest.text
    assert "09:30 Tree planting at the bay" in digest.text


async def test_the_date_picker_beside_typing(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza")
    await secretary.send("/new")
    await secretary.next_message()
    await secretary.press(t("en", "activity.kind.committee_meeting"))
    await secretary.next_event()
    await secretary.next_message()
    await secretary.send("Committee meeting")
    start_question = await secretary.next_message()
    # Two weeks from today (Tue 10 Mar in Zhanjiang), a week in two rows (4 and 3 days).
    assert start_question.buttons[0][0] == "Tue 10 Mar"
    assert start_question.buttons[3][2] == "Mon 23 Mar"
    await secretary.press("Thu 12 Mar")
    times = (await secretary.next_event()).message
    assert times.text == said("en", "new.pick_time", day="Thu 12 Mar", example="12 Mar 9:30am")
    assert times.buttons[0] == ["08:00", "09:00", "10:00", "14:00"]
    await secretary.press("19:00")
    read_back = said("en", "new.time_read", when="Thu 12 Mar 2026, 19:00")
    assert (await secretary.next_event()).message.text == read_back
    assert (await secretary.next_message()).text == said("en", "new.ask_end")

    # A time already past on today's date is refused; nothing is kept.
    await secretary.send("/new")
    await secretary.next_message()
    await secretary.press(t("en", "activity.kind.committee_meeting"))
    await secretary.next_event()
    await secretary.next_message()
    await secretary.send("Another")
    await secretary.next_message()
    await secretary.press("Tue 10 Mar")
    await secretary.next_event()
    await secretary.press("08:00")  # it is 09:30 already
    answer = await secretary.answer_of_last_press()
    assert answer.show_alert and answer.text == said("en", "error.starts_at_past")
    await secretary.press("10:00")
    read_back = said("en", "new.time_read", when="Tue 10 Mar 2026, 10:00")
    assert (await secretary.next_event()).message.text == read_back


async def test_members_who_blocked_the_bot_are_not_written_to(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza")
    reachable = bot.emulator.user("Reachable", language_code="en")
    blocked = bot.emulator.user("Blocked", language_code="en")
    await enrol(bot, reachable, "Reachable", "wanda-plaza")
    await enrol(bot, blocked, "Blocked", "wanda-plaza")
    bot.emulator.block(blocked)
    from models.members import Member

    for _ in range(50):  # the my_chat_member update arrives asynchronously
        async with bot.database.sessions() as session:
            member = await session.scalar(select(Member).where(Member.real_name == "Blocked"))
        if member.unreachable_at is not None:
            break
        await asyncio.sleep(0.05)
    starts = bot.clock.now() + timedelta(hours=5)
    await new_activity(bot, secretary, "Lecture", starts, hours=1, kind="lecture")
    await bot.runtime.scheduler.run_once()
    assert "Lecture" in (await reachable.next_message()).text
    bot.clock.advance(timedelta(hours=4, minutes=1))  # the 1-hour reminder
    await bot.runtime.scheduler.run_once()
    reminder = said(
        "en",
        "remind.reminder",
        hours=1,
        title="Lecture",
        when="Tue 10 Mar 2026, 14:30",
        place="—",
        check_in=CHECK_IN_WAYS["en"],
    )
    assert (await reachable.next_message()).text == reminder
    async with bot.database.sessions() as session:
        to_blocked = list(
            await session.scalars(select(Delivery).where(Delivery.chat_id == blocked.id))
        )
    assert to_blocked == []

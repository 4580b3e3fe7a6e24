"""Secretaries schedule and manage activities; the scheduler announces and reminds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models.activities import Activity, ActivityStatus
from models.outbox import Delivery
from tests.e2e.conftest import RunningBot, enrol, grant, meet, new_activity, seed_org


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
    assert ["主题党日"] in kinds.buttons and ["义务植树"] in kinds.buttons
    await secretary.press("主题党日")
    await secretary.next_event()
    assert "标题" in (await secretary.next_message()).text
    await secretary.send("三月主题党日：学习雷锋精神")
    assert "什么时候开始" in (await secretary.next_message()).text
    await secretary.send("3月12日 上午9点")
    assert (await secretary.next_message()).text == "时间：2026年3月12日（周四）09:00"
    end_question = await secretary.next_message()
    assert end_question.buttons == [["1小时", "2小时", "3小时", "4小时"]]
    await secretary.press("2小时")
    assert "地点" in (await secretary.next_message()).text
    await secretary.send("万达广场党群服务站")
    await secretary.next_message()  # description?
    await secretary.press("跳过")
    repeat = await secretary.next_message()
    assert ["只这一次"] in repeat.buttons
    await secretary.press("只这一次")
    preview = await secretary.next_message()
    assert "三月主题党日" in preview.text and "2026年3月12日（周四）09:00–11:00" in preview.text
    await secretary.press("✅ 发布")
    assert "已发布（1 场）" in (await secretary.next_event()).message.text

    (activity,) = await activities(bot)
    assert activity.starts_at == datetime(2026, 3, 12, 1, 0, tzinfo=UTC)
    assert activity.ends_at == datetime(2026, 3, 12, 3, 0, tzinfo=UTC)
    assert activity.place == "万达广场党群服务站"


async def test_scheduling_volunteering_in_english_with_bad_input(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "huaduhui")
    await secretary.send("/new")
    await secretary.next_message()
    await secretary.press("Volunteering")
    await secretary.next_event()
    await secretary.next_message()  # title?
    await secretary.send("x" * 150)
    assert "too long" in (await secretary.next_message()).text
    await secretary.send("Free health checks")
    await secretary.next_message()  # start?
    await secretary.send("someday soon")
    assert "could not read" in (await secretary.next_message()).text
    await secretary.send("2020-01-01 09:00")
    assert "already passed" in (await secretary.next_message()).text
    await secretary.send("next Saturday 9am")
    assert (await secretary.next_message()).text == "Time: Sat 14 Mar 2026, 09:00"
    await secretary.next_message()  # end?
    await secretary.send("2026-03-14 08:00")
    assert "must be after the start" in (await secretary.next_message()).text
    await secretary.send("2026-03-14 12:00")
    await secretary.next_message()  # time read back
    await secretary.next_message()  # place?
    await secretary.send("Huaduhui square")
    await secretary.next_message()  # description?
    await secretary.send("d" * 5000)
    assert "too long" in (await secretary.next_message()).text
    await secretary.send("Blood pressure and sugar checks for shop staff.")
    await secretary.next_message()  # capacity?
    for bad in ("lots", "0", "-3"):
        await secretary.send(bad)
        assert "whole number from 1" in (await secretary.next_message()).text
    await secretary.send("12")
    await secretary.next_message()  # deadline?
    await secretary.press("Until the start")
    preview = await secretary.next_message()
    assert "Seats: 12" in preview.text and "Sat 14 Mar 2026, 09:00–12:00" in preview.text
    assert await activities(bot) == []  # nothing before Publish
    await secretary.press("✅ Publish")
    await secretary.next_event()
    (activity,) = await activities(bot)
    assert activity.capacity == 12 and activity.title == "Free health checks"
    assert activity.description == "Blood pressure and sugar checks for shop staff."


async def test_a_monthly_theme_day_repeats_on_the_last_friday(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "tech-incubator")
    await secretary.send("/new")
    await secretary.next_message()
    await secretary.press("Theme day")
    await secretary.next_event()
    await secretary.next_message()
    await secretary.send("Theme day")
    await secretary.next_message()
    await secretary.send("2026-03-27 15:00")  # the last Friday of March
    await secretary.next_message()
    await secretary.next_message()
    await secretary.press("2 h")
    await secretary.next_message()
    await secretary.press("Skip")
    await secretary.next_message()
    await secretary.press("Skip")
    await secretary.next_message()
    await secretary.press("Last Friday of every month")
    await secretary.next_message()
    await secretary.press("✅ Publish")
    published = (await secretary.next_event()).message.text
    assert f"Published: {len(await activities(bot))} scheduled" in published
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
    invitation = await zhao.next_message()
    assert "General meeting: Quarterly general meeting" in invitation.text
    assert invitation.buttons == [["Open"]]
    assert "支部党员大会" in (await qian.next_message()).text
    await stranger.expect_no_message(within=0.3)
    await bot.runtime.scheduler.run_once()  # a second scan sends nothing twice
    await zhao.expect_no_message(within=0.3)

    # A day later nobody has answered: one nudge each.
    bot.clock.advance(timedelta(days=1, minutes=1))
    await bot.runtime.scheduler.run_once()
    assert "not answered yet" in (await zhao.next_message()).text
    assert "还没有回复" in (await qian.next_message()).text
    # Another day: the secretary hears who is silent; and it is 24 hours before.
    bot.clock.advance(timedelta(days=1))
    await bot.runtime.scheduler.run_once()
    texts = [(await secretary.next_message()).text]
    assert "2 still have not answered" in texts[0] and "Zhao" in texts[0]
    reminder = await zhao.next_message()
    assert "starts in 24 h" in reminder.text and "Room 3" in reminder.text
    assert "24 小时后开始" in (await qian.next_message()).text
    await bot.runtime.scheduler.run_once()
    await secretary.expect_no_message(within=0.3)

    # Reminders are not sent for an activity that was cancelled.
    await secretary.send("/activities")
    listing = await secretary.next_message()
    assert "Quarterly general meeting" in listing.text and "no answer 2" in listing.text
    await secretary.press(listing.buttons[0][0])
    detail = (await secretary.next_event()).message
    assert "Room 3" in detail.text
    await secretary.press("Cancel it")
    await secretary.next_event()
    await secretary.press("Yes, cancel it")
    assert "2 people were told" in (await secretary.next_event()).message.text
    assert "has been cancelled" in (await zhao.next_message()).text
    assert "已取消" in (await qian.next_message()).text
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
    await secretary.press("Change time")
    await secretary.next_message()
    await secretary.send("not a time")
    assert "could not read" in (await secretary.next_message()).text
    await secretary.send("2026-03-13 19:00")
    assert "1 people were told" in (await secretary.next_message()).text
    changed = await zhao.next_message()
    assert "has changed" in changed.text and "Fri 13 Mar 2026, 19:00" in changed.text
    (activity,) = await activities(bot)
    assert activity.starts_at == datetime(2026, 3, 13, 11, 0, tzinfo=UTC)
    assert activity.ends_at - activity.starts_at == timedelta(hours=1)


async def test_only_secretaries_schedule(bot: RunningBot) -> None:
    await seed_org(bot.database)
    member = bot.emulator.user("Member", language_code="en")
    await enrol(bot, member, "Member", "wanda-plaza")
    await member.send("/new")
    assert "for branch secretaries" in (await member.next_message()).text
    await member.send("/activities")
    assert "for branch secretaries" in (await member.next_message()).text


async def test_activity_qr_codes_and_the_digest_of_tomorrow(bot: RunningBot) -> None:
    from sandbox import decode_qr

    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza")
    starts = bot.clock.now() + timedelta(days=1)
    activity = await new_activity(
        bot, secretary, "Tree planting at the bay", starts, 3, kind="tree_planting", capacity=20
    )
    await secretary.send("/activities")
    await secretary.press((await secretary.next_message()).buttons[0][0])
    await secretary.next_event()
    await secretary.press("Share QR code")
    share = await secretary.next_message()
    assert decode_qr(share.photo_bytes) == [
        f"https://t.me/branchbot_test?start=a_{activity.share_code}"
    ]
    await secretary.press("Check-in QR code")
    checkin = await secretary.next_message()
    assert decode_qr(checkin.photo_bytes) == [
        f"https://t.me/branchbot_test?start=c_{activity.share_code}"
    ]

    bot.clock.set(bot.clock.now().replace(hour=12))  # 20:00 local: the digest hour in tests
    await bot.runtime.scheduler.run_once()
    digest = await secretary.next_message()
    assert "Tomorrow:" in digest.text and "09:30 Tree planting at the bay" in digest.text


async def test_the_date_picker_beside_typing(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza")
    await secretary.send("/new")
    await secretary.next_message()
    await secretary.press("Committee meeting")
    await secretary.next_event()
    await secretary.next_message()
    await secretary.send("Committee meeting")
    start_question = await secretary.next_message()
    # Two weeks from today (Tue 10 Mar in Zhanjiang), a week a row.
    assert start_question.buttons[0][0] == "Tue 10 Mar"
    assert start_question.buttons[1][6] == "Mon 23 Mar"
    await secretary.press("Thu 12 Mar")
    times = (await secretary.next_event()).message
    assert times.text.startswith("Thu 12 Mar: choose the start time")
    assert times.buttons[0] == ["08:00", "09:00", "10:00", "14:00"]
    await secretary.press("19:00")
    assert (await secretary.next_event()).message.text == "Time: Thu 12 Mar 2026, 19:00"
    assert "How long" in (await secretary.next_message()).text

    # A time already past on today's date is refused; nothing is kept.
    await secretary.send("/new")
    await secretary.next_message()
    await secretary.press("Committee meeting")
    await secretary.next_event()
    await secretary.next_message()
    await secretary.send("Another")
    await secretary.next_message()
    await secretary.press("Tue 10 Mar")
    await secretary.next_event()
    await secretary.press("08:00")  # it is 09:30 already
    answer = await secretary.answer_of_last_press()
    assert answer.show_alert and "already passed" in answer.text
    await secretary.press("10:00")
    assert (await secretary.next_event()).message.text == "Time: Tue 10 Mar 2026, 10:00"


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
    assert "starts in 1 h" in (await reachable.next_message()).text
    async with bot.database.sessions() as session:
        to_blocked = list(
            await session.scalars(select(Delivery).where(Delivery.chat_id == blocked.id))
        )
    assert to_blocked == []

"""Notices (通知) end to end: a secretary composes with /notify and sends; members receive,
press Received (收到) and see it in /notices; the secretary follows up (live figures, who
has not acknowledged, Remind, the sheet, withdrawing); scheduling on the test clock; the
deadline's reminder; and what is refused.

Members are set up through the domain (reporting has its own tests); everyone then acts
through the emulator, and the `emulator` fixture fails a test on any request Telegram
would reject.
"""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
from sqlalchemy import func, select

from models.notices import Notice, NoticeRecipient
from models.outbox import Delivery
from sandbox.person import Person
from sandbox.state import ChatMessage
from tests.e2e.conftest import RunningBot, new_activity
from tests.e2e.test_events import enrol_members, member, settle
from tests.e2e.texts import said, t

RECEIVED = t("zh", "notice.received_button")
NO_ATTACHMENT = t("zh", "notify.no_attachment")
ALL_MEMBERS = t("zh", "notify.audience.unit")
CONTINUE = t("zh", "notify.options_done")
NO_DEADLINE = t("zh", "notify.deadline_none")
SEND_NOW = t("zh", "notify.send_now")
SCHEDULE = t("zh", "notify.schedule")
BODY = "支部党员大会改在三楼会议室召开，请准时参加。"
WANDA = "湛江万达广场商圈党支部"


def bold(text: str, word: str) -> dict[str, object]:
    """A bold entity over `word` in `text` (offsets in UTF-16 units, as Telegram's)."""
    start = text.index(word)
    return {"type": "bold", "offset": len(text[:start].encode("utf-16-le")) // 2,
            "length": len(word.encode("utf-16-le")) // 2}  # fmt: skip


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of `text` an entity covers (its offsets count UTF-16 units: 📢 is two)."""
    units = text.encode("utf-16-le")
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le")


async def write(
    secretary: Person, body: str, entities: list[dict[str, object]] | None = None
) -> ChatMessage:
    """/notify, the text, no attachment: the question of whom it is for (returned)."""
    await secretary.send("/notify")
    assert (await secretary.next_message()).text == said("zh", "notify.ask_text")
    await secretary.send(body, entities=entities)
    assert (await secretary.next_message()).text == said("zh", "notify.ask_attachment")
    await secretary.press(NO_ATTACHMENT)
    await secretary.next_event()  # the question becomes "No attachment."
    return await secretary.next_message()


async def compose(
    secretary: Person,
    body: str = BODY,
    *,
    audience: str = ALL_MEMBERS,
    deadline: str = NO_DEADLINE,
    entities: list[dict[str, object]] | None = None,
) -> ChatMessage:
    """/notify through to the preview; the preview copy (with Send now under it)."""
    await write(secretary, body, entities=entities)
    await secretary.press(audience)
    await secretary.next_event()  # "To: … (n)"
    await secretary.next_message()  # the options
    await secretary.press(CONTINUE)
    await secretary.next_event()
    await secretary.next_message()  # the deadline
    await secretary.press(deadline)
    await secretary.next_event()
    summary = await secretary.next_message()
    assert summary.text.startswith(said("zh", "notify.preview_title"))
    copy = await secretary.next_message()
    assert [SEND_NOW, SCHEDULE] in copy.buttons
    return copy


async def notice_of(bot: RunningBot) -> Notice:
    async with bot.database.sessions() as session:
        notice = await session.scalar(select(Notice).order_by(Notice.id.desc()))
        assert notice is not None
        return notice


async def test_a_notice_is_composed_sent_received_and_acknowledged(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    alice = await member(bot, "Alice", secretary, language="en")
    blocked = await member(bot, "刘芳", secretary)
    blocked.blocked = True
    copy = await compose(secretary, entities=[bold(BODY, "三楼会议室")])
    summary = secretary.chat.ordered()[-2]
    assert said("zh", "notify.preview_recipients", count="3") in summary.text
    assert said("zh", "notify.preview_unreachable", count="1") in summary.text
    # The preview is the notice as members will read it, the author's bold kept.
    assert BODY in copy.text
    assert any(e["type"] == "bold" for e in copy.entities)

    await secretary.press(SEND_NOW, copy)
    answer = await secretary.answer_of_last_press()
    assert answer.text == said("zh", "notify.sent", count="3")
    figures = await secretary.next_message()
    assert figures.text.startswith(said("zh", "figures.title", unit=WANDA))
    assert copy.buttons == [[t("zh", "figures.open_button")]]  # the author's own copy

    await settle(bot)
    received = await wang.next_message()
    assert received.text.startswith(said("zh", "notice.heading", unit=WANDA))
    assert BODY in received.text and said("zh", "notice.ack_please") in received.text
    word = next(e for e in received.entities if e["type"] == "bold" and e["offset"] > 5)
    assert utf16_slice(received.text, word["offset"], word["length"]) == "三楼会议室"
    assert received.buttons == [[RECEIVED]]
    english = await alice.next_message()
    assert english.text.startswith(
        said("en", "notice.heading", unit="Zhanjiang Wanda Plaza Commercial District Branch")
    )
    assert english.buttons == [[t("en", "notice.received_button")]]
    assert not [m for m in blocked.chat.ordered() if m.from_bot and BODY in (m.text or "")]

    # Received: answered at once, the time recorded, the button shows it.
    await wang.press(RECEIVED, received)
    assert (await wang.answer_of_last_press()).text == said("zh", "notice.acknowledged")
    await wang.next_event()
    assert received.buttons[0][0].startswith("☑️")
    notice = await notice_of(bot)
    async with bot.database.sessions() as session:
        acked = await session.scalar(
            select(func.count()).where(
                NoticeRecipient.notice_id == notice.id, NoticeRecipient.acknowledged_at.is_not(None)
            )
        )
    assert acked == 1
    # Pressed twice: nothing changes, and the member is told when they acknowledged.
    await wang.press(received.buttons[0][0], received)
    again = await wang.answer_of_last_press()
    assert again.text.startswith(said("zh", "notice.already_acknowledged", when="")[:3])

    # The live figures message is edited in place to what happened.
    assert bot.runtime.scheduler is not None
    await bot.runtime.scheduler.refresh_figures_once()
    assert said("zh", "figures.delivered", delivered="2", recipients="3") in figures.text
    assert (
        said("zh", "figures.acknowledged", acknowledged="1", recipients="3", share=33)
        in figures.text
    )
    assert "已屏蔽机器人 1" in figures.text

    # Who has not acknowledged: Alice (delivered) and 刘芳 (blocked the bot).
    await secretary.press(t("zh", "figures.silent_button", count="2"), figures)
    silent = await secretary.next_message()
    assert "Alice" in silent.text and "刘芳" in silent.text and "王小明" not in silent.text
    assert said("zh", "figures.silent_blocked") in silent.text


async def test_remind_goes_to_those_who_have_not_acknowledged_once_a_period(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    zhang = await member(bot, "张伟", secretary)
    copy = await compose(secretary)
    await secretary.press(SEND_NOW, copy)
    figures = await secretary.next_message()
    await settle(bot)
    await wang.press(RECEIVED, await wang.next_message())
    await wang.answer_of_last_press()
    await wang.next_event()
    await zhang.next_message()

    await secretary.press(t("zh", "figures.remind_button"), figures)
    reminded = await secretary.answer_of_last_press()
    assert reminded.text == said("zh", "figures.reminded", count="1")
    await settle(bot)
    reminder = await zhang.next_message()
    assert reminder.text.startswith("⏰") and BODY[:10] in reminder.text
    assert reminder.buttons == [[RECEIVED]]
    await wang.expect_no_message()

    # Again at once: refused, saying when it may be pressed again; nobody is written to.
    await secretary.press(t("zh", "figures.remind_button"), figures)
    refused = await secretary.answer_of_last_press()
    assert refused.show_alert and "提醒" in refused.text
    await settle(bot)
    await zhang.expect_no_message()

    # After the period (6 hours by default) it goes again, and Received on it counts.
    bot.clock.advance(timedelta(hours=6, minutes=1))
    await secretary.press(t("zh", "figures.remind_button"), figures)
    assert (await secretary.answer_of_last_press()).text == said(
        "zh", "figures.reminded", count="1"
    )
    await settle(bot)
    second = await zhang.next_message()
    await zhang.press(RECEIVED, second)
    assert (await zhang.answer_of_last_press()).text == said("zh", "notice.acknowledged")


async def test_a_scheduled_notice_goes_at_its_time_and_a_withdrawn_one_is_refused(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    copy = await compose(secretary)
    await secretary.press(SCHEDULE, copy)
    ask = said("zh", "notify.ask_schedule", example="3月16日 上午9点")  # the coming Monday
    assert (await secretary.next_message()).text == ask
    await secretary.send("明天上午9点")
    scheduled = await secretary.next_message()
    assert scheduled.text.startswith("⏰")
    await settle(bot)
    await wang.expect_no_message()

    bot.clock.advance(timedelta(days=1))
    await settle(bot)
    received = await wang.next_message()
    assert BODY in received.text

    # Withdrawn: Received is refused politely, and nothing is recorded.
    await secretary.press(t("zh", "figures.open_button"), scheduled)
    figures = await secretary.next_message()
    await secretary.press(t("zh", "figures.withdraw_button"), figures)
    ask = await secretary.next_message()
    await secretary.press(t("zh", "figures.withdraw_yes"), ask)
    await secretary.next_event()
    assert ask.text == said("zh", "figures.withdrawn_done", excerpt=BODY)
    await wang.press(RECEIVED, received)
    refused = await wang.answer_of_last_press()
    assert refused.show_alert
    assert refused.text == said("zh", "error.notice_withdrawn")
    notice = await notice_of(bot)
    async with bot.database.sessions() as session:
        acked = await session.scalar(
            select(func.count()).where(
                NoticeRecipient.notice_id == notice.id,
                NoticeRecipient.acknowledged_at.is_not(None),
            )
        )
    assert acked == 0


async def test_notices_lists_them_and_acknowledges_there_too(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    copy = await compose(secretary)
    await secretary.press(SEND_NOW, copy)
    await secretary.next_message()
    await settle(bot)
    await wang.next_message()

    await wang.send("/notices")
    listing = await wang.next_message()
    assert listing.text.startswith(said("zh", "notices.title", count=1))
    assert said("zh", "notices.state_to_acknowledge") in listing.text
    await wang.press(listing.buttons[0][0], listing)
    opened = await wang.next_message()
    assert BODY in opened.text
    await wang.press(RECEIVED, opened)
    assert (await wang.answer_of_last_press()).text == said("zh", "notice.acknowledged")
    await wang.send("/notices")
    assert said("zh", "notices.state_acknowledged") in (await wang.next_message()).text

    # The secretary's /notices shows the figures of the unit's notices.
    await secretary.send("/notices")
    own = await secretary.next_message()
    assert said("zh", "notices.state_figures", acknowledged="1", recipients="1") in own.text


async def test_the_acknowledgement_sheet(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    await member(bot, "张伟", secretary)
    copy = await compose(secretary)
    await secretary.press(SEND_NOW, copy)
    figures = await secretary.next_message()
    await settle(bot)
    await wang.press(RECEIVED, await wang.next_message())
    await wang.answer_of_last_press()

    await secretary.press(t("zh", "figures.sheet_button"), figures)
    sheet = await secretary.next_message()
    assert sheet.document_name and sheet.document_name.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(sheet.document_bytes))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == tuple(
        t("zh", f"sheet.{c}") for c in ("name", "unit", "delivered", "acknowledged", "status")
    )
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"王小明", "张伟"}
    assert by_name["王小明"][1] == WANDA
    assert by_name["王小明"][2] and by_name["王小明"][3]  # delivered, acknowledged
    assert by_name["张伟"][2] and not by_name["张伟"][3]


async def test_a_photo_notice_with_a_deadline_and_its_reminder(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    zhang = await member(bot, "张伟", secretary)
    await secretary.send("/notify")
    await secretary.next_message()
    poster = _png()
    await secretary.send_photo(poster, caption=BODY)
    await secretary.next_message()  # who is it for? (the caption is the text)
    await secretary.press(ALL_MEMBERS)
    await secretary.next_event()
    await secretary.next_message()
    await secretary.press(CONTINUE)
    await secretary.next_event()
    await secretary.next_message()
    await secretary.press(t("zh", "notify.deadline_3days"))
    await secretary.next_event()
    await secretary.next_message()
    copy = await secretary.next_message()
    assert copy.photo is not None and BODY in (copy.caption or "")
    await secretary.press(SEND_NOW, copy)
    await secretary.next_message()
    await settle(bot)
    photo = await wang.next_message()
    assert photo.photo is not None and photo.photo.data == poster
    assert BODY in photo.caption and photo.buttons == [[RECEIVED]]
    await wang.press(RECEIVED, photo)
    await wang.answer_of_last_press()
    await zhang.next_message()

    # A day before the deadline, those who have not acknowledged are reminded, once.
    # The deadline is 18:00 in three days (it is 09:30 now): the reminder goes at 18:00
    # the day before.
    bot.clock.advance(timedelta(days=2, hours=8, minutes=31))
    await settle(bot)
    assert (await zhang.next_message()).text.startswith("⏰")
    await settle(bot)
    await zhang.expect_no_message()
    # After the deadline the author hears how many acknowledged.
    bot.clock.advance(timedelta(days=1))
    await settle(bot)
    passed = await secretary.next_message()
    assert passed.text.startswith("⌛") and "1" in passed.text and "2" in passed.text


def _png() -> bytes:
    from views.files import qr_png

    return qr_png("https://example.org/poster")


async def test_bad_input_is_refused_and_changes_nothing(bot: RunningBot, secretary: Person) -> None:
    await member(bot, "王小明", secretary)
    await secretary.send("/notify")
    await secretary.next_message()
    # Too long: refused with the limit named; the question stays open.
    await secretary.send("通" * 3600)
    assert (await secretary.next_message()).text == said(
        "zh", "error.notice_too_long", limit=3500, length=3600
    )
    # A document of a kind a branch does not send.
    await secretary.send_document(b"MZ...", "setup.exe", "application/octet-stream")
    assert (await secretary.next_message()).text == said("zh", "error.notice_attachment_kind")
    # A document too large for every member's phone.
    big = b"%PDF-1.4\n" + b"0" * (21 * 1024 * 1024)
    await secretary.send_document(big, "议程.pdf", "application/pdf")
    assert (await secretary.next_message()).text == said("zh", "error.notice_attachment_too_large")
    # A caption too long for a photo.
    await secretary.send_photo(_png(), caption="通" * 900)
    assert (await secretary.next_message()).text == said(
        "zh", "error.notice_caption_too_long", limit=800, length=900
    )
    await secretary.send(BODY)
    await secretary.next_message()
    await secretary.press(NO_ATTACHMENT)
    await secretary.next_event()
    await secretary.next_message()
    # Nobody is a floating member here: refused where another audience can be chosen.
    await secretary.press(t("zh", "notify.audience.floating"))
    refused = await secretary.answer_of_last_press()
    assert refused.text == said("zh", "error.notice_audience_empty")
    await secretary.press(ALL_MEMBERS)
    await secretary.next_event()
    await secretary.next_message()
    await secretary.press(CONTINUE)
    await secretary.next_event()
    await secretary.next_message()
    # A deadline in the past.
    await secretary.send("2026-03-01 09:00")
    assert (await secretary.next_message()).text == said("zh", "error.notice_deadline_past")
    await secretary.press(NO_DEADLINE)
    await secretary.next_event()
    await secretary.next_message()
    copy = await secretary.next_message()
    await secretary.press(SCHEDULE, copy)
    await secretary.next_message()
    # A time in the past for sending.
    await secretary.send("2026-03-01 09:00")
    assert (await secretary.next_message()).text == said("zh", "error.notice_send_at_past")
    async with bot.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Notice)) == 0
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0


async def _through_options(secretary: Person) -> None:
    """From the options screen to the preview, with no deadline."""
    await secretary.press(CONTINUE)
    await secretary.next_event()
    await secretary.next_message()
    await secretary.press(NO_DEADLINE)
    await secretary.next_event()
    await secretary.next_message()  # the summary


async def test_audiences_about_an_activity_and_an_earlier_notice(
    bot: RunningBot, secretary: Person
) -> None:
    from models.attendance import roster_check_in
    from models.members import Member

    wang = await member(bot, "王小明", secretary)
    zhang = await member(bot, "张伟", secretary)
    start = bot.clock.now() + timedelta(minutes=20)
    meeting = await new_activity(bot, secretary, "党小组会", start, kind="group_meeting")
    bot.clock.advance(timedelta(minutes=30))
    async with bot.database.sessions.begin() as session:
        zhang_id = await session.scalar(select(Member.id).where(Member.telegram_id == zhang.id))
        assert zhang_id is not None
        await roster_check_in(session, meeting.id, zhang_id, secretary.id, bot.clock.now())
    bot.clock.advance(timedelta(hours=3))  # it ended; the record closes: 王小明 absent
    await settle(bot, wang, zhang, secretary)

    # Those absent from the meeting: only 王小明.
    await write(secretary, "请于本周内完成补学。")
    await secretary.press(t("zh", "notify.audience.activity_absent"))
    await secretary.next_event()
    choice = await secretary.next_message()
    assert choice.text == said("zh", "notify.ask_activity_absent")
    await secretary.press(
        next(label for row in choice.buttons for label in row if "党小组会" in label)
    )
    chosen = await secretary.next_event()
    assert chosen.message.text == said(
        "zh",
        "notify.audience_chosen",
        audience=t("zh", "notify.audience.activity_absent"),
        count="1",
    )
    await secretary.next_message()
    await _through_options(secretary)
    copy = await secretary.next_message()
    await secretary.press(SEND_NOW, copy)
    await secretary.next_message()
    await settle(bot)
    assert "补学" in (await wang.next_message()).text
    await zhang.expect_no_message()

    # Those who have not acknowledged it: 王小明 still; then, once he has, nobody.
    await write(secretary, "再次提醒：请完成补学。")
    await secretary.press(t("zh", "notify.audience.not_acknowledged"))
    await secretary.next_event()
    earlier = await secretary.next_message()
    assert earlier.text == said("zh", "notify.ask_earlier")
    label = earlier.buttons[0][0]
    assert "补学" in label
    await wang.send("/notices")
    listing = await wang.next_message()
    await wang.press(listing.buttons[0][0], listing)
    await wang.press(RECEIVED, await wang.next_message())
    await wang.answer_of_last_press()
    await secretary.press(label, earlier)
    refused = await secretary.answer_of_last_press()
    assert refused.text == said("zh", "error.notice_audience_empty")


async def test_who_may_send_and_a_unit_that_is_not_theirs(
    bot: RunningBot, secretary: Person, org: dict[str, int]
) -> None:
    from models.notices import Notice as NoticeRow
    from tests.e2e.conftest import grant, meet

    wang = await member(bot, "王小明", secretary)
    await wang.send("/notify")
    assert (await wang.next_message()).text == said("zh", "error.staff_only")
    organizer = bot.emulator.user("赵指导员", language_code="zh")
    await grant(bot.database, organizer, "organizer", "wanda-plaza")
    await meet(organizer)
    await member(bot, "张伟", secretary)
    copy = await compose(organizer)
    await organizer.press(SEND_NOW, copy)
    await organizer.next_message()
    await settle(bot)
    assert BODY in (await wang.next_message()).text

    # A secretary of two units chooses; a forged choice of another unit is refused.
    await grant(bot.database, secretary, "secretary", "huaduhui")
    await secretary.send("/notify")
    units = await secretary.next_message()
    assert units.text == said("zh", "notify.ask_unit")
    other = org["tech-incubator"]
    forged = secretary.press_forged(units, f"ntc:u:{other}")
    assert forged
    refused = await secretary.answer_of_last_press()
    assert refused.show_alert and refused.text == said("zh", "error.permission_denied_staff")
    async with bot.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(NoticeRow)) == 1


async def test_received_after_leaving_the_branch_is_refused(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    copy = await compose(secretary)
    await secretary.press(SEND_NOW, copy)
    await secretary.next_message()
    await settle(bot)
    received = await wang.next_message()
    await wang.send("/me")
    card = await wang.next_message()
    await wang.press(t("zh", "profile.leave_button", unit=WANDA), card)
    confirm = await wang.next_message()
    await wang.press(t("zh", "leave.confirm_button"), confirm)
    await wang.answer_of_last_press()
    await wang.press(RECEIVED, received)
    refused = await wang.answer_of_last_press()
    assert refused.text == said("zh", "error.notice_unit_left")
    await wang.send("/notices")
    assert (await wang.next_message()).text == said("zh", "notices.none")


async def test_formatting_a_bot_may_not_send_is_kept_as_text(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    body = "请看 🎉 通知，联系 王书记。"
    custom = {
        "type": "custom_emoji",
        "offset": len(body[: body.index("🎉")].encode("utf-16-le")) // 2,
        "length": 2,
        "custom_emoji_id": "5368324170671202286",
    }
    mention = {
        "type": "text_mention",
        "offset": len(body[: body.index("王书记")].encode("utf-16-le")) // 2,
        "length": 3,
        "user": {"id": 4242, "is_bot": False, "first_name": "王"},
    }
    copy = await compose(secretary, body, entities=[custom, mention, bold(body, "通知")])
    assert {e["type"] for e in copy.entities} >= {"bold"}
    assert not {e["type"] for e in copy.entities} & {"custom_emoji", "text_mention"}
    await secretary.press(SEND_NOW, copy)
    await secretary.next_message()
    await settle(bot)
    received = await wang.next_message()
    assert body in received.text
    assert not {e["type"] for e in received.entities} & {"custom_emoji", "text_mention"}


async def test_a_thousand_members_each_get_one_copy_within_the_flood_limits(
    bot: RunningBot, secretary: Person
) -> None:
    emu = bot.emulator
    people = [emu.user(f"党员{chr(0x4E00 + n)}", language_code="zh") for n in range(1000)]
    await enrol_members(bot, people, secretary)
    await settle(bot, secretary)
    emu.faults.enforce_flood_limits = True

    copy = await compose(secretary)
    summary = secretary.chat.ordered()[-2]
    assert said("zh", "notify.preview_recipients", count="1,000") in summary.text
    await secretary.press(SEND_NOW, copy)
    figures = await secretary.next_message()
    assert said("zh", "figures.delivered", delivered="0", recipients="1,000") in figures.text
    assert bot.runtime.scheduler is not None
    for _ in range(10):  # a copy Telegram answered 429 goes again after the wait it gave
        await bot.runtime.scheduler.run_once()  # returns when every copy due went out
        async with bot.database.sessions() as session:
            waiting = await session.scalar(
                select(func.count()).where(Delivery.kind == "notice", Delivery.sent_at.is_(None))
            )
        if not waiting:
            break
        bot.clock.advance(timedelta(seconds=5))
    await bot.runtime.scheduler.refresh_figures_once()
    assert said("zh", "figures.delivered", delivered="1,000", recipients="1,000") in figures.text
    for person in people:
        copies = [m for m in person.chat.ordered() if m.from_bot and BODY in (m.text or "")]
        assert len(copies) == 1, person.name
    assert not emu.violations


async def test_a_notice_sent_in_quiet_hours_says_so_and_arrives_in_the_morning(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    bot.clock.advance(timedelta(hours=13, minutes=30))  # 23:00 in Zhanjiang
    copy = await compose(secretary)
    summary = secretary.chat.ordered()[-2]
    assert said("zh", "notify.preview_quiet", when="2026年3月11日（周三）08:00") in summary.text
    await secretary.press(SEND_NOW, copy)
    await secretary.next_message()
    await settle(bot)
    await wang.expect_no_message()
    bot.clock.advance(timedelta(hours=9, minutes=1))
    await settle(bot)
    assert BODY in (await wang.next_message()).text

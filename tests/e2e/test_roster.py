"""The secretary's side of the record, end to end: the roster (点名) and a member's card,
check-in from the roster, corrections with their reason and the audit trail, the
refusals, closing the record after the end (the summary, the note of absence), make-up
study (补学) reported and decided, and the quorum of a general meeting.

Activities are created and some answers given with the domain API (their own screens
have their own tests); what is tested here is done through the emulator.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models.activities import Activity, CheckInMethod, Participation, ParticipationStatus
from models.attendance import AttendanceChange, respond_attend, roster_check_in
from models.members import Member
from sandbox.person import Person
from sandbox.state import ChatMessage
from scheduler import jobs
from tests.e2e.conftest import THURSDAY_9AM, RunningBot, grant, meet, new_activity
from tests.e2e.test_events import member, settle
from tests.e2e.texts import said, said_page, t

ZONE_OFFSET = timedelta(hours=8)  # Zhanjiang


def local(moment) -> str:  # type: ignore[no-untyped-def]
    return f"{moment + ZONE_OFFSET:%Y-%m-%d %H:%M}"


async def drain(person: Person) -> list[ChatMessage]:
    """Every new message that has arrived (run_once has sent everything due)."""
    found = []
    while True:
        try:
            event = await person.next_event(timeout=0)
        except AssertionError:
            return found
        if event.kind == "new":
            found.append(event.message)


async def management_card(person: Person, title: str) -> ChatMessage:
    """/activities, then the activity: the list becomes its management card."""
    await person.send("/activities")
    listing = await person.next_message()
    label = next(label for row in listing.buttons for label in row if title in label)
    await person.press(label)
    return await person.next_edit(listing)


async def member_card(person: Person, roster: ChatMessage, name: str) -> ChatMessage:
    """The member's button on the roster: the roster becomes their attendance card."""
    label = next(label for row in roster.buttons for label in row if label.endswith(name))
    await person.press(label, message=roster)
    await person.next_event()
    return roster


async def rows_of(bot: RunningBot, activity: Activity) -> dict[str, Participation]:
    async with bot.database.sessions() as session:
        found = await session.execute(
            select(Member.real_name, Participation)
            .join(Member, Member.id == Participation.member_id)
            .where(Participation.activity_id == activity.id)
        )
        return {name: row for name, row in found}


async def changes(bot: RunningBot, activity: Activity) -> int:
    async with bot.database.sessions() as session:
        where = AttendanceChange.activity_id == activity.id
        return await session.scalar(select(func.count()).where(where)) or 0


async def member_id(bot: RunningBot, person: Person) -> int:
    async with bot.database.sessions() as session:
        found = await session.scalar(select(Member.id).where(Member.telegram_id == person.id))
        assert found is not None
        return found


def state(language: str, key: str, **values: object) -> str:
    return t(language, key, **values)


# --- the roster, check-in, corrections and the trail -----------------------------------------


async def test_roster_check_in_corrections_and_the_trail(
    bot: RunningBot, secretary: Person
) -> None:
    chief = await member(bot, "周书记", secretary)  # a secretary who is a member too
    await grant(bot.database, chief, "secretary", "wanda-plaza")
    wang = await member(bot, "王小明", secretary)
    zhao = await member(bot, "赵四", secretary)
    start = bot.clock.now() + timedelta(minutes=20)  # check-in is open
    title = "三月主题党日"
    meeting = await new_activity(bot, chief, title, start, kind="theme_day")
    async with bot.database.sessions.begin() as session:
        answered = await session.get(Member, await member_id(bot, zhao))
        await respond_attend(session, meeting.id, answered, bot.clock.now())
    await settle(bot, chief, wang, zhao, secretary)

    card = await management_card(chief, title)
    assert card.buttons[-1] == [t("zh", "roll.open"), t("zh", "roll.trail")]
    await chief.press(t("zh", "roll.open"))
    roster = (await chief.next_event()).message
    assert roster.text.startswith(said("zh", "roll.title", title=title, count=3))
    assert said("zh", "roll.count", checked_in=0, expected=3) in roster.text
    assert f"王小明 — {state('zh', 'roll.status.expected')}" in roster.text
    assert f"赵四 — {state('zh', 'roll.status.attending')}" in roster.text
    assert roster.buttons[-1] == [t("zh", "button.back")]

    # 王小明 left his phone at home: the secretary checks him in.
    await member_card(chief, roster, "王小明")
    assert said("zh", "roll.card_title", name="王小明", title=title) in roster.text
    assert roster.buttons == [
        [t("zh", "roll.check_in")],
        [t("zh", "roll.mark_present"), t("zh", "roll.mark_excused")],  # no answer is absent
        [t("zh", "roll.back")],
    ]
    await chief.press(t("zh", "roll.check_in"), message=roster)
    await chief.next_event()
    assert (await chief.answer_of_last_press()).text == said("zh", "roll.checked_in_note")
    now = f"{bot.clock.now() + ZONE_OFFSET:%H:%M}"
    secretary_method = t("zh", "roll.method.secretary")
    checked_in = state("zh", "roll.state.checked_in", time=now, method=secretary_method)
    assert said("zh", "roll.card_state", state=checked_in) in roster.text
    row = (await rows_of(bot, meeting))["王小明"]
    assert row.check_in_method is CheckInMethod.secretary and row.checked_in_at is not None
    assert roster.buttons == [
        [t("zh", "roll.mark_absent"), t("zh", "roll.mark_excused")],
        [t("zh", "roll.back")],
    ]

    # He went home early: marked absent, with a reason (asked, and required).
    await chief.press(t("zh", "roll.mark_absent"), message=roster)
    asked = said("zh", "roll.ask_reason", name="王小明", outcome=t("zh", "events.outcome.absent"))
    assert (await chief.next_message()).text == asked
    await chief.send("   ")
    assert (await chief.next_message()).text == said("zh", "error.reason_empty")
    await chief.send("因" * 201)
    assert (await chief.next_message()).text == said("zh", "error.text_too_long")
    assert (await rows_of(bot, meeting))["王小明"].checked_in_at is not None  # nothing yet
    await chief.send("签到后提前离开")
    assert (await chief.next_message()).text == said("zh", "roll.corrected")
    corrected = await chief.next_message()
    absent = t("zh", "roll.status.absent")
    assert said("zh", "roll.card_state", state=absent) in corrected.text
    assert said("zh", "roll.card_changes", count=2) in corrected.text
    row = (await rows_of(bot, meeting))["王小明"]
    assert row.status is ParticipationStatus.absent and row.checked_in_at is None

    # The trail as the secretary sees it: newest first, who, whose, what, why.
    await management_card(chief, title)
    await chief.press(t("zh", "roll.trail"))
    trail = (await chief.next_event()).message
    when = local(bot.clock.now())
    outcome = {o: t("zh", f"events.outcome.{o}") for o in ("absent", "attended")}
    lines = trail.text.split("\n")
    absent_now, roster_in = t("zh", "roll.action.absent"), t("zh", "roll.action.roster")
    assert lines[0] == said("zh", "roll.trail_title", title=title, count=2)
    assert lines[2:] == [
        said("zh", "roll.trail_line", when=when, who="周书记", member="王小明", action=absent_now)
        + said("zh", "roll.trail_change", before=outcome["attended"], after=outcome["absent"])
        + said("zh", "roll.trail_reason", reason="签到后提前离开"),
        said("zh", "roll.trail_line", when=when, who="周书记", member="王小明", action=roster_in)
        + said("zh", "roll.trail_change", before=outcome["absent"], after=outcome["attended"]),
    ]
    assert trail.buttons == [[t("zh", "button.back")]]


async def test_refusals_on_the_roster(bot: RunningBot, secretary: Person) -> None:
    chief = await member(bot, "周书记", secretary)
    await grant(bot.database, chief, "secretary", "wanda-plaza")
    wang = await member(bot, "王小明", secretary)
    tom = await member(bot, "Tom", secretary, language="en")
    start = bot.clock.now() + timedelta(minutes=20)
    title = "党小组会"
    meeting = await new_activity(bot, chief, title, start, kind="group_meeting")
    await settle(bot, chief, wang, tom, secretary)
    await management_card(chief, title)
    await chief.press(t("zh", "roll.open"))
    roster = (await chief.next_event()).message

    # Their own record: another secretary's to correct.
    await member_card(chief, roster, "周书记")
    own = roster.text
    await chief.press(t("zh", "roll.mark_present"), message=roster)
    answer = await chief.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.attendance_own_record")
    assert roster.text == own
    await chief.expect_no_message()

    # A member forging the secretary's buttons.
    chief_id, tom_id = await member_id(bot, chief), await member_id(bot, tom)
    await tom.send("/events")
    listing = await tom.next_message()
    for data in (
        f"att:ro:{meeting.id}:1",
        f"att:m:{meeting.id}:{tom_id}",
        f"att:ci:{meeting.id}:{tom_id}",
        f"att:fix:{meeting.id}:{chief_id}:absent",
        f"att:log:{meeting.id}:1",
    ):
        tom.press_forged(listing, data)
        answer = await tom.answer_of_last_press()
        refusal = said("en", "error.permission_denied_staff")
        assert answer.show_alert and answer.text == refusal, data
    tom.press_forged(listing, f"att:fix:{meeting.id}:{tom_id}:late")
    assert (await tom.answer_of_last_press()).text == said("en", "error.stale_button")
    await tom.expect_no_message()

    # Two secretaries on one card: the second press finds it done, and sees it so.
    await chief.press(t("zh", "roll.back"), message=roster)
    await chief.next_event()
    await member_card(chief, roster, "王小明")
    await management_card(secretary, title)
    await secretary.press(t("zh", "roll.open"))
    other = (await secretary.next_event()).message
    await member_card(secretary, other, "王小明")
    await chief.press(t("zh", "roll.check_in"), message=roster)
    await chief.next_event()
    await secretary.press(t("zh", "roll.check_in"), message=other)
    answer = await secretary.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.attendance_already_checked_in")
    await secretary.next_event()
    assert other.text == roster.text  # the card as it is now
    assert [t("zh", "roll.check_in")] not in other.buttons

    # A question answered after another secretary made the same correction.
    await chief.press(t("zh", "roll.mark_absent"), message=roster)
    await chief.next_message()  # why?
    await secretary.press(t("zh", "roll.mark_absent"), message=other)
    await secretary.next_message()
    await secretary.send("早退")
    await secretary.next_message()
    await secretary.next_message()
    trail_before = await changes(bot, meeting)
    await chief.send("提前离开")
    assert (await chief.next_message()).text == said("zh", "error.attendance_unchanged")
    assert await changes(bot, meeting) == trail_before
    await chief.send("hello")  # the question is closed
    assert (await chief.next_message()).text != said("zh", "error.attendance_unchanged")

    rows = await rows_of(bot, meeting)
    assert set(rows) == {"王小明"}  # nobody else's record was touched
    assert rows["王小明"].status is ParticipationStatus.absent


# --- closing the record and make-up study -----------------------------------------------------


async def test_closing_the_record_and_make_up_study(bot: RunningBot, secretary: Person) -> None:
    other = bot.emulator.user("Secretary Zhou", language_code="en")
    await grant(bot.database, other, "secretary", "wanda-plaza")
    await meet(other)
    wang = await member(bot, "王小明", secretary)
    tom = await member(bot, "Tom", secretary, language="en")
    zhao = await member(bot, "赵四", secretary)
    start = bot.clock.now() + timedelta(minutes=20)
    title = "党课：学习新思想"
    lecture = await new_activity(bot, secretary, title, start, hours=1, kind="lecture")
    await settle(bot, secretary, other, wang, tom, zhao)
    async with bot.database.sessions.begin() as session:
        tom_row = await session.scalar(select(Member).where(Member.telegram_id == tom.id))
        assert tom_row is not None
        await roster_check_in(session, lecture.id, tom_row.id, secretary.id, bot.clock.now())

    bot.clock.advance(timedelta(hours=1, minutes=30))  # over
    await bot.runtime.scheduler.run_once()
    when = "2026年3月10日（周二）09:50"
    summary = (await drain(secretary))[-1]
    assert summary.text == "\n".join(
        [
            said("zh", "record.closed_title", title=title, when=when),
            said("zh", "record.closed_counts", present=1, expected=3, excused=0, absent=2),
            said("zh", "record.closed_absent", names="王小明, 赵四"),
        ]
    )
    assert summary.buttons == [[t("zh", "manage.open_card")]]
    note = (await drain(wang))[-1]
    assert note.text == said("zh", "record.absence_noted", title=title, when=when)
    assert note.buttons == [[t("zh", "record.made_up_button")]]
    assert [m.text for m in await drain(tom)] == []  # he was there
    assert len(await drain(zhao)) == 1
    await drain(other)
    rows = await rows_of(bot, lecture)
    assert {name: row.status for name, row in rows.items()} == {
        "Tom": ParticipationStatus.attending,
        "王小明": ParticipationStatus.absent,
        "赵四": ParticipationStatus.absent,
    }
    await bot.runtime.scheduler.run_once()  # closed once
    await secretary.expect_no_message(within=0.2)

    # 王小明 makes up for it and says so.
    await wang.press(t("zh", "record.made_up_button"), message=note)
    assert (await wang.next_message()).text == said("zh", "record.ask_made_up", title=title)
    await wang.send("  ")
    assert (await wang.next_message()).text == said("zh", "error.reason_empty")
    await wang.send("观看了党课录像，学习了讲义")
    assert (await wang.next_message()).text == said("zh", "record.made_up_sent")
    await wang.press(t("zh", "record.made_up_button"), message=note)  # again
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.made_up_already_reported")
    cards = {person.id: await person.next_message() for person in (secretary, other)}
    assert cards[other.id].text == said(
        "en",
        "record.made_up_card",
        name="王小明",
        title=title,
        when="Tue 10 Mar 2026, 09:50",
        note="观看了党课录像，学习了讲义",
    )
    assert cards[secretary.id].buttons == [
        [t("zh", "record.confirm_made_up_button"), t("zh", "record.decline_made_up_button")]
    ]
    # The member cannot confirm it, even holding the card.
    await wang.press(t("zh", "record.confirm_made_up_button"), message=cards[secretary.id])
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.permission_denied_staff")

    await secretary.press(t("zh", "record.confirm_made_up_button"), message=cards[secretary.id])
    await secretary.next_event()
    assert cards[secretary.id].text.endswith(said("zh", "record.made_up_card_confirmed"))
    assert cards[secretary.id].buttons == []
    note_text = said("zh", "record.made_up_confirmed_note")
    assert (await secretary.answer_of_last_press()).text == note_text
    told = await wang.next_message()
    assert told.text == said("zh", "record.made_up_confirmed", title=title, when=when)
    # The other secretary, too late: the card shows what became of it.
    await other.press(t("en", "record.decline_made_up_button"), message=cards[other.id])
    answer = await other.answer_of_last_press()
    assert answer.show_alert and answer.text == said("en", "error.made_up_already_decided")
    await other.next_event()
    assert cards[other.id].text.endswith(said("en", "record.made_up_card_confirmed"))
    assert (await rows_of(bot, lecture))["王小明"].status is ParticipationStatus.made_up
    await wang.press(t("zh", "record.made_up_button"), message=note)  # once more, made up now
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.made_up_already_decided")
    await wang.expect_no_message(within=0.2)

    await wang.send("/record")
    record = await wang.next_message()
    line = said("zh", "events.record_line", when=when, title=title, outcome="补学")
    assert line in record.text
    totals = said(
        "zh",
        "events.record_title",
        year=2026,
        attended=0,
        excused=0,
        absent=0,
        made_up=1,
        rate="0%",
        hours="0",
        saplings=0,
    )
    assert totals in record.text

    # 赵四's report is declined: still absent.
    await zhao.press(t("zh", "record.made_up_button"))
    await zhao.next_message()
    await zhao.send("自学")
    await zhao.next_message()
    their_card = await other.next_message()
    await secretary.next_message()  # theirs, left alone
    await other.press(t("en", "record.decline_made_up_button"), message=their_card)
    await other.next_event()
    assert their_card.text.endswith(said("en", "record.made_up_card_declined"))
    declined = said("zh", "record.made_up_declined", title=title, when=when)
    assert (await zhao.next_message()).text == declined
    row = (await rows_of(bot, lecture))["赵四"]
    assert (row.status, row.made_up_reported_at) == (ParticipationStatus.absent, None)

    # The secretary reaches the record from the summary, and the trail has all of it.
    await secretary.press(t("zh", "manage.open_card"), message=summary)
    await secretary.next_event()
    await secretary.press(t("zh", "roll.trail"), message=summary)
    trail = (await secretary.next_event()).message
    assert trail.text.startswith(said_page("zh", "roll.trail_title", 1, 2, title=title, count=7))
    assert said("zh", "roll.by_bot") in trail.text


async def test_a_record_that_fails_to_close_spares_the_others(
    bot: RunningBot,
    secretary: Person,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wang = await member(bot, "王小明", secretary)
    start = bot.clock.now() + timedelta(minutes=20)
    broken = await new_activity(bot, secretary, "支委会", start, hours=1, kind="committee_meeting")
    fine = await new_activity(bot, secretary, "党小组会", start, hours=1, kind="group_meeting")
    await settle(bot, secretary, wang)
    close_record = jobs.close_record

    async def failing(session, activity_id, now):  # type: ignore[no-untyped-def]
        if activity_id == broken.id:
            raise RuntimeError("the record could not be closed")
        return await close_record(session, activity_id, now)

    monkeypatch.setattr(jobs, "close_record", failing)
    bot.clock.advance(timedelta(hours=2))
    with caplog.at_level(logging.ERROR):
        await bot.runtime.scheduler.run_once()
    assert f"closing the record of activity {broken.id} failed" in caplog.text
    when = "2026年3月10日（周二）09:50"
    heads = [
        said("zh", "record.closed_title", title=title, when=when)
        for title in ("支委会", "党小组会")
    ]
    texts = [m.text for m in await drain(secretary)]
    assert [h for h in heads if any(x.startswith(h) for x in texts)] == [heads[1]]
    assert await rows_of(bot, broken) == {}
    assert (await rows_of(bot, fine))["王小明"].status is ParticipationStatus.absent

    monkeypatch.undo()  # the next scan closes it
    await bot.runtime.scheduler.run_once()
    assert [m.text.startswith(heads[0]) for m in await drain(secretary)] == [True]
    assert (await rows_of(bot, broken))["王小明"].status is ParticipationStatus.absent


# --- the quorum of a general meeting ----------------------------------------------------------


async def test_the_quorum_before_and_after_a_general_meeting(
    bot: RunningBot, secretary: Person
) -> None:
    people = [await member(bot, name, secretary) for name in ("王一", "李二", "张三", "赵四")]
    title = "支部党员大会"
    meeting = await new_activity(bot, secretary, title, THURSDAY_9AM, kind="general_meeting")
    short = await new_activity(
        bot, secretary, "临时党员大会", THURSDAY_9AM + timedelta(hours=3), kind="general_meeting"
    )
    await settle(bot, secretary, *people)
    ids = [await member_id(bot, person) for person in people]

    async def attend(*which: int) -> None:
        async with bot.database.sessions.begin() as session:
            for i in which:
                found = await session.get(Member, ids[i])
                await respond_attend(session, meeting.id, found, bot.clock.now())

    await attend(0, 1)
    card = await management_card(secretary, title)
    assert card.text.split("\n")[-2:] == [
        said("zh", "roll.quorum", attending=2, expected=4, needed=3),
        said("zh", "roll.quorum_at_risk"),
    ]

    # The day before: the secretary is warned, once.
    bot.clock.set(THURSDAY_9AM - timedelta(hours=24))
    await bot.runtime.scheduler.run_once()
    when = "2026年3月12日（周四）09:00"
    warned = said(
        "zh", "record.quorum_at_risk", title=title, when=when, attending=2, expected=4, needed=3
    )
    told = await drain(secretary)
    assert [m.text for m in told].count(warned) == 1
    assert next(m for m in told if m.text == warned).buttons == [[t("zh", "manage.open_card")]]
    await bot.runtime.scheduler.run_once()
    assert [m for m in await drain(secretary) if m.text == warned] == []

    await attend(2)
    await quiet(bot, secretary)
    card = await management_card(secretary, title)
    assert said("zh", "roll.quorum", attending=3, expected=4, needed=3) in card.text
    assert said("zh", "roll.quorum_at_risk") not in card.text

    # Three check in at the first meeting (quorum reached), one at the second (not).
    bot.clock.set(THURSDAY_9AM + timedelta(minutes=5))
    async with bot.database.sessions.begin() as session:
        for i in range(3):
            await roster_check_in(session, meeting.id, ids[i], secretary.id, bot.clock.now())
    await quiet(bot, secretary, *people)
    card = await management_card(secretary, title)
    assert said("zh", "roll.quorum", attending=3, expected=4, needed=3) not in card.text  # begun
    bot.clock.set(THURSDAY_9AM + timedelta(hours=3, minutes=5))
    async with bot.database.sessions.begin() as session:
        await roster_check_in(session, short.id, ids[3], secretary.id, bot.clock.now())

    bot.clock.set(THURSDAY_9AM + timedelta(hours=5, minutes=1))  # both over
    await bot.runtime.scheduler.run_once()
    texts = [m.text for m in await drain(secretary)]
    heads = {
        title: said("zh", "record.closed_title", title=title, when=when),
        "临时党员大会": said(
            "zh", "record.closed_title", title="临时党员大会", when="2026年3月12日（周四）12:00"
        ),
    }
    summaries = {name: [x for x in texts if x.startswith(head)] for name, head in heads.items()}
    reached = said("zh", "record.quorum_reached", present=3, needed=3)
    missed = said("zh", "record.quorum_missed", present=1, needed=3)
    (first,) = summaries[title]
    counts = said("zh", "record.closed_counts", present=3, expected=4, excused=0, absent=1)
    assert counts in first and first.endswith(reached)
    (second,) = summaries["临时党员大会"]
    assert second.endswith(missed)


async def quiet(bot: RunningBot, *people: Person) -> None:
    """Whatever the scheduler has due now sent and read: a background scan then has nothing
    to add to what the test reads next."""
    await bot.runtime.scheduler.run_once()
    for person in people:
        await drain(person)


async def test_past_activities_open_their_record_for_corrections(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    start = bot.clock.now() + timedelta(minutes=10)
    await new_activity(bot, secretary, "支委会", start, hours=1, kind="committee_meeting")
    await new_activity(bot, secretary, "党课", start + timedelta(days=2), kind="lecture")
    await settle(bot, secretary, wang)
    bot.clock.advance(timedelta(hours=2))  # the committee meeting is over
    await bot.runtime.scheduler.run_once()
    await drain(secretary)

    await secretary.send("/activities")
    coming = await secretary.next_message()
    assert not any("支委会" in label for row in coming.buttons for label in row)
    assert coming.buttons[-1] == [t("zh", "manage.past_button")]
    await secretary.press(t("zh", "manage.past_button"))
    past = (await secretary.next_event()).message
    assert past.text.split("\n")[0] == said("zh", "manage.past_title", total=1)
    assert past.buttons[-1] == [t("zh", "manage.coming_button")]
    await secretary.press(next(label for row in past.buttons for label in row if "支委会" in label))
    card = (await secretary.next_event()).message
    assert said("zh", "events.card_over") in card.text
    labels = [label for row in card.buttons for label in row]
    assert t("zh", "roll.open") in labels and t("zh", "roll.trail") in labels
    for gone in ("manage.change_time", "manage.cancel_activity", "manage.checkin_screen"):
        assert t("zh", gone) not in labels
    # Back to the coming ones from the past list.
    await secretary.send("/activities")
    await secretary.next_message()
    await secretary.press(t("zh", "manage.past_button"))
    await secretary.next_event()
    await secretary.press(t("zh", "manage.coming_button"))
    again = (await secretary.next_event()).message
    assert any("党课" in label for row in again.buttons for label in row)

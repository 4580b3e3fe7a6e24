"""A member's own figures, end to end: /calendar (and its button under /events), the .ics
read back; /record's numbers of notices and sign-ups, and last year's totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from models.activities import ParticipationStatus, cancel_activity, sign_up
from models.attendance import decide_leave, request_leave
from models.members import get_member
from models.notices import Audience, Notice, NoticeRecipient
from models.org import unit_by_code
from sandbox.person import Person
from sandbox.state import ChatMessage
from tests.e2e.conftest import THURSDAY_9AM, RunningBot, grant, new_activity
from tests.e2e.test_events import member, participation, settle
from tests.e2e.texts import said, t

DAY = timedelta(days=1)


def events_of(document: ChatMessage) -> dict[str, icalendar.Event]:
    assert document.document_name == "my-calendar.ics"
    calendar = icalendar.Calendar.from_ical(document.document_bytes)
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


async def test_calendar_command_and_button(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    tom = await member(bot, "Tom", secretary, language="en")
    meeting = await new_activity(bot, secretary, "三月主题党日", kind="theme_day")
    lecture = await new_activity(bot, secretary, "党课", THURSDAY_9AM + DAY, kind="lecture")
    service = await new_activity(bot, secretary, "义诊", THURSDAY_9AM + 2 * DAY, capacity=1)
    await new_activity(bot, secretary, "没报名的植树", THURSDAY_9AM + 3 * DAY)
    called_off = await new_activity(bot, secretary, "取消的普法", THURSDAY_9AM + 4 * DAY)
    now = bot.clock.now()
    async with bot.database.sessions.begin() as session:
        me = await get_member(session, wang.id)
        assert me is not None
        await sign_up(session, service.id, me, now)
        await sign_up(session, called_off.id, me, now)
        leave = await request_leave(session, lecture.id, me, "出差", now)
        await decide_leave(session, leave.id, secretary.id, True, now)
        await cancel_activity(session, called_off.id, secretary.id, now)
        them = await get_member(session, tom.id)
        assert them is not None
        await sign_up(session, service.id, them, now)  # the one seat is taken: waitlisted
    assert (await participation(bot, service, tom)).status is ParticipationStatus.waitlisted
    await settle(bot, wang, tom, secretary)

    await wang.send("/calendar")
    document = await wang.next_message()
    assert said("zh", "events.my_calendar_caption", count=4, past=30, ahead=180) in (
        document.caption
    )
    events = events_of(document)
    assert list(events) == ["三月主题党日", "党课", "义诊", "取消的普法"]
    theme_day = events["三月主题党日"]
    assert str(theme_day["UID"]) == f"activity-{meeting.id}@branchbot"
    assert theme_day.decoded("DTSTART") == THURSDAY_9AM
    assert theme_day["DTSTART"].to_ical() == b"20260312T010000Z"
    assert str(theme_day["STATUS"]) == "CONFIRMED"
    excused = events["党课"]
    assert str(excused["STATUS"]) == "CONFIRMED" and str(excused["TRANSP"]) == "TRANSPARENT"
    status = said("zh", "events.your_status", status=t("zh", "events.status.excused"))
    assert str(excused["DESCRIPTION"]).startswith(status)
    assert str(events["义诊"]["STATUS"]) == "CONFIRMED"
    assert str(events["取消的普法"]["STATUS"]) == "CANCELLED"
    assert str(events["取消的普法"]["UID"]) == f"activity-{called_off.id}@branchbot"

    # From /events: the button under the list sends the same file.
    await wang.send("/events")
    listing = await wang.next_message()
    assert listing.buttons[-1] == [t("zh", "events.my_calendar_button")]
    await wang.press(t("zh", "events.my_calendar_button"))
    again = await wang.next_message()
    assert again.document_bytes == document.document_bytes

    # In English, for someone on the waitlist: TENTATIVE.
    await tom.send("/calendar")
    theirs = await tom.next_message()
    assert said("en", "events.my_calendar_caption", count=3, past=30, ahead=180) in (theirs.caption)
    events = events_of(theirs)
    assert list(events) == ["三月主题党日", "党课", "义诊"]
    assert str(events["义诊"]["STATUS"]) == "TENTATIVE"
    waiting = said("en", "events.your_status", status=t("en", "events.status.waitlisted"))
    assert str(events["义诊"]["DESCRIPTION"]).startswith(waiting)
    assert not bot.emulator.violations


async def test_calendar_with_nothing_in_it(bot: RunningBot, secretary: Person) -> None:
    their_secretary = bot.emulator.user("华都汇书记", language_code="zh")
    await grant(bot.database, their_secretary, "secretary", "huaduhui")
    elsewhere = await member(bot, "Ann", their_secretary, unit_code="huaduhui", language="en")
    await new_activity(bot, secretary, "万达广场的大会", kind="general_meeting")
    await settle(bot, elsewhere)
    await elsewhere.send("/calendar")
    reply = await elsewhere.next_message()
    assert reply.text == said("en", "events.my_calendar_empty", past=30, ahead=180)
    assert reply.document_name is None

    # Not a member: what /events says.
    stranger = bot.emulator.user("路人", language_code="zh")
    await stranger.send("/calendar")
    assert (await stranger.next_message()).text == said("zh", "events.not_member")
    await stranger.send("/events")
    assert (await stranger.next_message()).text == said("zh", "events.not_member")
    assert not bot.emulator.violations


async def _notices(bot: RunningBot, person: Person, sent: list[tuple[datetime, bool]]) -> None:
    """Notices asking `person` to acknowledge, sent at these times, acknowledged or not."""
    async with bot.database.sessions.begin() as session:
        unit = await unit_by_code(session, "wanda-plaza")
        me = await get_member(session, person.id)
        assert me is not None
        for number, (sent_at, acknowledged) in enumerate(sent):
            notice = Notice(
                org_unit_id=unit.id,
                author_id=1,
                body_html=f"通知{number}",
                audience=Audience.unit,
                ack_required=True,
                send_at=sent_at,
                sent_at=sent_at,
            )
            session.add(notice)
            await session.flush()
            session.add(
                NoticeRecipient(
                    notice_id=notice.id,
                    member_id=me.id,
                    delivery_key=f"e2e-notice-{person.id}-{number}",
                    acknowledged_at=sent_at if acknowledged else None,
                )
            )


async def test_record_shows_notices_and_sign_ups(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    tom = await member(bot, "Tom", secretary, language="en")
    now = bot.clock.now()
    service = await new_activity(bot, secretary, "义诊", now + timedelta(minutes=10))
    async with bot.database.sessions.begin() as session:
        for person in (wang, tom):
            me = await get_member(session, person.id)
            assert me is not None
            await sign_up(session, service.id, me, now)
    last_year = datetime(2025, 11, 3, 2, tzinfo=UTC)
    this_year = now - DAY
    await _notices(bot, wang, [(this_year, True), (this_year, False), (last_year, True)])
    await _notices(bot, tom, [(this_year, True)])
    bot.clock.advance(timedelta(hours=3))  # over: nobody checked in, both absent
    await settle(bot, wang, tom, secretary)

    await wang.send("/record")
    record = await wang.next_message()
    more = {"asked": 2, "acknowledged": 1, "signed_up": 1, "signed_up_attended": 0}
    assert said("zh", "events.record_more", **more) in record.text
    last_year_button = t("zh", "events.record_year_button", year=2025)
    assert record.buttons[-1] == [last_year_button]
    await wang.press(last_year_button)
    shown = (await wang.next_event()).message
    assert said("zh", "events.record_title", **_nothing(2025)) in shown.text
    last = {"asked": 1, "acknowledged": 1, "signed_up": 0, "signed_up_attended": 0}
    assert said("zh", "events.record_more", **last) in shown.text
    back = t("zh", "events.record_back_button", year=2026)
    assert shown.buttons == [[back]]
    await wang.press(back)
    assert said("zh", "events.record_more", **more) in (await wang.next_event()).message.text
    # A year neither this nor last (a forged or very old button): said so, nothing else.
    wang.press_forged(record, "ev:recy:2019")
    refused = (await wang.next_event()).message
    assert refused.text == said("zh", "events.record_year_unavailable", year=2019)

    await tom.send("/record")
    theirs = await tom.next_message()
    more = {"asked": 1, "acknowledged": 1, "signed_up": 1, "signed_up_attended": 0}
    assert said("en", "events.record_more", **more) in theirs.text
    assert theirs.buttons[-1] == [t("en", "events.record_year_button", year=2025)]
    assert not bot.emulator.violations


def _nothing(year: int) -> dict[str, object]:
    """record_title's values of a year without any activity."""
    return {
        "year": year,
        "attended": 0,
        "excused": 0,
        "absent": 0,
        "made_up": 0,
        "rate": "—",
        "hours": "0",
        "saplings": 0,
    }

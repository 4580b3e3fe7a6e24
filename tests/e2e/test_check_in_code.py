"""签到 with the code read out at the venue, and by location at the geofence's edge: as members
see it on their card."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import select

from models.activities import CheckInMethod
from models.attendance import CodeAttempts
from sandbox.person import Person
from tests.e2e.conftest import RunningBot, new_activity
from tests.e2e.test_events import WANDA, member, open_card, participation, settle
from tests.e2e.texts import said, t
from views.dates import format_wait


def wait(seconds: float, language: str = "zh") -> str:
    return format_wait(timedelta(seconds=seconds), language)


CODE_BUTTON = t("zh", "checkin.code_button")
LOCATION_BUTTON = t("zh", "events.checkin_button")
SHARE_LOCATION = t("zh", "events.share_location_button")
METRES_PER_DEGREE = math.pi * 6_371_000 / 180


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10_000:04d}"


async def test_checking_in_with_the_code_read_out(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    zhao = await member(bot, "赵六", secretary)
    start = bot.clock.now() + timedelta(minutes=20)  # check-in opens 30 minutes before
    meeting = await new_activity(bot, secretary, "支部党员大会", start, kind="general_meeting")
    await settle(bot, wang, zhao)
    code = meeting.check_in_code

    card = await open_card(wang, "支部党员大会")
    assert [CODE_BUTTON] in card.buttons  # no venue location: no location button
    await wang.press(CODE_BUTTON)
    assert (await wang.next_message()).text == said("zh", "checkin.ask_code", title="支部党员大会")
    await wang.send("十二")  # not digits: asked again, nothing counted
    assert (await wang.next_message()).text == said("zh", "error.checkin_code_malformed")
    await wang.send(wrong(code))
    assert (await wang.next_message()).text == said("zh", "checkin.wrong_code")
    await wang.send(code)
    assert (await wang.next_message()).text == said("zh", "events.checked_in", title="支部党员大会")
    shown = await wang.next_message()
    assert t("zh", "events.outcome.checked_in_open") in shown.text
    assert [CODE_BUTTON] not in shown.buttons
    row = await participation(bot, meeting, wang)
    assert row.check_in_method is CheckInMethod.code
    async with bot.database.sessions() as session:  # the right code cleared the wrong one
        assert await session.scalar(select(CodeAttempts)) is None
    await wang.send("/record")  # under way, and already in the record
    attended = t("zh", "events.outcome.checked_in_open")  # as the card says it
    assert any(
        "支部党员大会" in line and line.endswith(attended)
        for line in (await wang.next_message()).text.split("\n")
    )

    # Wrong codes in a row: after the third the member waits, then it works again.
    await open_card(zhao, "支部党员大会")
    await zhao.press(CODE_BUTTON)
    await zhao.next_message()
    for _ in range(2):
        await zhao.send(wrong(code))
        assert (await zhao.next_message()).text == said("zh", "checkin.wrong_code")
    await zhao.send(wrong(code))
    assert (await zhao.next_message()).text == said("zh", "checkin.wrong_code_wait", wait=wait(30))
    await zhao.send(code)  # the question was closed: this is just a message now
    assert (await zhao.next_message()).text == said("zh", "error.unexpected_message")
    card = await open_card(zhao, "支部党员大会")
    await zhao.press(CODE_BUTTON)
    await zhao.next_message()
    bot.clock.advance(timedelta(seconds=10))
    await zhao.send(code)  # right, but too soon
    assert (await zhao.next_message()).text == said("zh", "error.checkin_code_wait", wait=wait(20))
    async with bot.database.sessions() as session:  # nothing counted while waiting
        assert [a.failures for a in await session.scalars(select(CodeAttempts))] == [3]
    bot.clock.advance(timedelta(seconds=21))
    await zhao.press(CODE_BUTTON)
    await zhao.next_message()
    await zhao.send(code)
    assert (await zhao.next_message()).text == said("zh", "events.checked_in", title="支部党员大会")
    assert (await participation(bot, meeting, zhao)).check_in_method is CheckInMethod.code


async def test_the_code_before_the_window_and_where_it_is_off(
    bot: RunningBot, secretary: Person
) -> None:
    tom = await member(bot, "Tom", secretary, language="en")
    start = bot.clock.now() + timedelta(hours=2)
    meeting = await new_activity(bot, secretary, "Party lecture", start, kind="lecture")
    no_code = await new_activity(
        bot, secretary, "Committee", start, kind="committee_meeting", check_in_by_code=False
    )
    await settle(bot, tom)
    card = await open_card(tom, "Party lecture")
    assert [t("en", "checkin.code_button")] not in card.buttons  # not open yet
    tom.press_forged(card, f"ev:code:{meeting.id}")
    answer = await tom.answer_of_last_press()
    assert answer.show_alert and answer.text == said(
        "en", "error.checkin_not_open", wait=wait(7200, "en")
    )
    bot.clock.advance(timedelta(hours=2))
    card = await open_card(tom, "Committee")
    assert [t("en", "checkin.code_button")] not in card.buttons
    tom.press_forged(card, f"ev:code:{no_code.id}")
    assert (await tom.answer_of_last_press()).text == said("en", "error.checkin_method_off")
    await tom.expect_no_message()


async def test_location_at_the_edge_of_a_custom_radius(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    start = bot.clock.now() + timedelta(minutes=10)
    await new_activity(
        bot,
        secretary,
        "义诊",
        start,
        latitude=WANDA[0],
        longitude=WANDA[1],
        check_in_by_location=True,
        check_in_radius_m=100,
        walk_ins_allowed=True,  # not signed up: checks in as a walk-in
    )
    await settle(bot, wang)
    await open_card(wang, "义诊")
    await wang.press(LOCATION_BUTTON)
    await wang.next_message()
    await wang.tap(SHARE_LOCATION, location=(WANDA[0] + 102 / METRES_PER_DEGREE, WANDA[1]))
    far = await wang.next_message()
    assert far.text == said("zh", "error.checkin_too_far", distance=102, radius=100)
    await wang.tap(SHARE_LOCATION, location=(WANDA[0] + 98 / METRES_PER_DEGREE, WANDA[1]))
    assert (await wang.next_message()).text == said("zh", "events.checked_in", title="义诊")

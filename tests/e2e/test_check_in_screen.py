"""The check-in screen end to end: the secretary opens it from /activities, members scan the
QR code the bot sent (decoded from the photo, as a phone's camera reads it) and confirm;
the code changes and expires on the bot's clock; the screen closes at the end; check-out
by the second screen and by the card's button, with the saplings of a tree planting; and
every code, press and person that must be refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from models.activities import Activity, CheckInMethod, Participation, sign_up
from models.attendance import (
    CONFIRM_GRACE,
    CheckInScreen,
    ScreenPurpose,
    check_in,
    make_token,
    member_record,
)
from models.members import Member, get_member
from sandbox import decode_qr
from sandbox.person import Person
from sandbox.state import ChatMessage
from tests.e2e.conftest import TEST_CHECK_IN_SECRET, RunningBot, grant, meet, new_activity
from tests.e2e.test_events import member, open_card, participation, settle
from tests.e2e.texts import said, t
from views.dates import format_wait
from views.screens import large_digits

LINK = "https://t.me/branchbot_test?start="
QR_SECONDS = 60  # the default of [checkin] qr_seconds
CONFIRM_IN, CONFIRM_OUT = t("zh", "checkin.confirm_button"), t("zh", "checkout.confirm_button")
CHECK_OUT = t("zh", "events.checkout_button")
REFRESH, CLOSE = t("zh", "screen.refresh_button"), t("zh", "screen.close_button")


async def refresh(bot: RunningBot) -> None:
    """One pass of the job that keeps the screens fresh; its edits are done on return."""
    assert bot.runtime.scheduler is not None
    await bot.runtime.scheduler.refresh_screens_once()


async def open_screen(secretary: Person, title: str, check_out: bool = False) -> ChatMessage:
    """/activities → the activity → Check-in (or Check-out) screen: the screen's photo."""
    await secretary.send("/activities")
    listing = await secretary.next_message()
    label = next(label for row in listing.buttons for label in row if title in label)
    await secretary.press(label)
    await secretary.next_event()  # the list becomes the activity's card
    await secretary.press(
        t("zh", "manage.checkout_screen" if check_out else "manage.checkin_screen")
    )
    screen = await secretary.next_message()
    # The press is answered after the photo went and its id was stored: a pass edits it.
    assert not (await secretary.wait_answer()).show_alert
    return screen


def payload_of(screen: ChatMessage) -> str:
    """What a phone's camera reads on the screen: the /start payload of its link."""
    (link,) = decode_qr(screen.photo_bytes or b"")
    assert link.startswith(LINK), link
    return link.removeprefix(LINK)


async def scan(person: Person, payload: str) -> ChatMessage:
    """The camera opens the link: /start <payload>; the bot's answer."""
    await person.send(f"/start {payload}")
    return await person.next_message()


async def scan_and_confirm(person: Person, payload: str) -> ChatMessage:
    confirmation = await scan(person, payload)
    await person.press(confirmation.buttons[0][0], message=confirmation)
    await person.next_event()  # the confirmation says what was done
    return await person.next_message()  # the card


async def refused_alert(person: Person) -> str:
    answer = await person.wait_answer()
    assert answer.show_alert, answer
    return answer.text or ""


async def screen_row(bot: RunningBot, activity: Activity) -> CheckInScreen:
    async with bot.database.sessions() as session:
        row = await session.scalar(
            select(CheckInScreen)
            .where(CheckInScreen.activity_id == activity.id)
            .order_by(CheckInScreen.id.desc())
        )
        assert row is not None
        return row


async def screen_rows(bot: RunningBot) -> int:
    async with bot.database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(CheckInScreen)) or 0


async def checked_in(bot: RunningBot, activity: Activity, person: Person) -> bool:
    async with bot.database.sessions() as session:
        moment = await session.scalar(
            select(Participation.checked_in_at)
            .join(Member, Member.id == Participation.member_id)
            .where(Participation.activity_id == activity.id, Member.telegram_id == person.id)
        )
    return moment is not None


async def signed_up(bot: RunningBot, activity: Activity, *people: Person) -> None:
    async with bot.database.sessions.begin() as session:
        for person in people:
            found = await get_member(session, person.id)
            assert found is not None
            await sign_up(session, activity.id, found, bot.clock.now())


async def checked_in_directly(bot: RunningBot, activity: Activity, *people: Person) -> None:
    """Check-in itself is tested with the screen; here it is only the way to check-out."""
    now = bot.clock.now()
    token = make_token(
        TEST_CHECK_IN_SECRET, activity.id, ScreenPurpose.check_in, now + timedelta(minutes=1)
    )
    async with bot.database.sessions.begin() as session:
        for person in people:
            found = await get_member(session, person.id)
            assert found is not None
            await check_in(session, activity.id, found, CheckInMethod.qr, now, token=token)


def code_for(activity: Activity, purpose: ScreenPurpose, expires_at: datetime) -> str:
    """A code as a screen of `activity` would show (the tests know the secret)."""
    return make_token(TEST_CHECK_IN_SECRET, activity.id, purpose, expires_at).payload


# --- checking in ---------------------------------------------------------------------------------


async def test_check_in_by_the_rotating_code(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    zhao = await member(bot, "赵红", secretary)
    li = await member(bot, "李强", secretary)
    title = "三月主题党日"
    meeting = await new_activity(
        bot, secretary, title, bot.clock.now() + timedelta(minutes=20), kind="theme_day"
    )
    await settle(bot, wang, zhao, li, secretary)
    opened_at = bot.clock.now()

    screen = await open_screen(secretary, title)
    for line in (
        said("zh", "screen.heading", title=title),
        said("zh", "screen.scan_check_in"),
        said("zh", "screen.count_check_in", count=0, of=3),
        said("zh", "screen.code", code=large_digits(meeting.check_in_code)),
        said("zh", "screen.rotates", seconds=QR_SECONDS),
    ):
        assert line in (screen.caption or ""), screen.caption
    assert screen.buttons == [[REFRESH, CLOSE]]
    first = payload_of(screen)
    assert first.startswith(f"qi_{meeting.id}_")

    # One scan, one tap.
    confirmation = await scan(wang, first)
    assert confirmation.text == said("zh", "checkin.confirm", title=title)
    assert confirmation.buttons == [[CONFIRM_IN]]
    # Pressed by someone else (over the shoulder), or forwarded to them: stale, nothing done.
    pressed = confirmation.button_data(CONFIRM_IN)
    await zhao.press(CONFIRM_IN, message=confirmation)
    assert await refused_alert(zhao) == said("zh", "error.stale_button")
    forwarded = await zhao.forward(confirmation)
    await zhao.next_message()  # the bot does not know what to make of the message itself
    zhao.press_forged(forwarded, pressed)
    assert await refused_alert(zhao) == said("zh", "error.stale_button")
    assert not await checked_in(bot, meeting, zhao)
    await wang.press(CONFIRM_IN, message=confirmation)
    done = (await wang.next_event()).message
    assert done.text == said("zh", "events.checked_in", title=title)
    card = await wang.next_message()
    assert t("zh", "events.outcome.checked_in_open") in card.text
    row = await participation(bot, meeting, wang)
    assert row.check_in_method is CheckInMethod.qr and row.checked_in_at == opened_at
    # The same member again: already checked in, by the scan or the old confirmation.
    assert (await scan(wang, first)).text == said("zh", "error.checkin_already")
    wang.press_forged(confirmation, pressed)  # a second tap, before the edit showed
    assert await refused_alert(wang) == said("zh", "error.checkin_already")

    await refresh(bot)
    assert said("zh", "screen.count_check_in", count=1, of=3) in (screen.caption or "")

    # At half its life the code is replaced in place.
    bot.clock.advance(timedelta(seconds=QR_SECONDS / 2))
    await refresh(bot)
    second = payload_of(screen)
    assert second != first and second.startswith(f"qi_{meeting.id}_")
    assert screen.buttons == [[REFRESH, CLOSE]]

    # The first code, a screenshot forwarded to someone at home, once expired: refused.
    bot.clock.set(opened_at + timedelta(seconds=QR_SECONDS + 1))
    assert (await scan(zhao, first)).text == said("zh", "error.checkin_token_expired")
    assert not await checked_in(bot, meeting, zhao)

    # Scanned in time, the confirmation may come a little later (the grace), not much.
    zhao_confirms = await scan(zhao, second)
    li_confirms = await scan(li, second)
    second_expires = opened_at + timedelta(seconds=QR_SECONDS / 2 + QR_SECONDS)
    bot.clock.set(second_expires + CONFIRM_GRACE - timedelta(seconds=1))
    await zhao.press(CONFIRM_IN, message=zhao_confirms)
    assert (await zhao.next_event()).message.text == said("zh", "events.checked_in", title=title)
    bot.clock.set(second_expires + CONFIRM_GRACE + timedelta(seconds=2))
    await li.press(CONFIRM_IN, message=li_confirms)
    assert await refused_alert(li) == said("zh", "error.checkin_token_expired")
    assert not await checked_in(bot, meeting, li)

    await refresh(bot)
    assert said("zh", "screen.count_check_in", count=2, of=3) in (screen.caption or "")
    latest = payload_of(screen)
    assert latest not in (first, second)

    # The end of the window closes the screen: the last caption, no buttons.
    bot.clock.set(meeting.ends_at)
    await refresh(bot)
    assert screen.caption == "\n".join(
        [
            said("zh", "screen.heading", title=title),
            said("zh", "screen.ended_check_in"),
            said("zh", "screen.count_check_in", count=2, of=3),
        ]
    )
    assert screen.buttons == []
    assert (await screen_row(bot, meeting)).closed_at == meeting.ends_at
    edits = len(screen.history)
    await refresh(bot)
    assert len(screen.history) == edits  # closed: never edited again
    bot.clock.advance(timedelta(seconds=1))
    assert (await scan(li, latest)).text == said("zh", "error.checkin_closed")
    assert not await checked_in(bot, meeting, li)


# --- checking out --------------------------------------------------------------------------------


async def test_check_out_by_the_screen_and_by_the_card(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    zhao = await member(bot, "赵红", secretary)
    li = await member(bot, "李强", secretary)
    title = "社区义诊志愿服务"
    start = bot.clock.now() + timedelta(minutes=20)
    service = await new_activity(
        bot, secretary, title, start, hours=3, capacity=10, check_out_required=True
    )
    await signed_up(bot, service, wang, zhao, li)
    await settle(bot, wang, zhao, li, secretary)

    check_in_screen = await open_screen(secretary, title)
    assert said("zh", "screen.count_check_in", count=0, of=3) in (check_in_screen.caption or "")
    card = await scan_and_confirm(wang, payload_of(check_in_screen))
    assert [CHECK_OUT] in card.buttons  # checked in: the card offers check-out
    await scan_and_confirm(zhao, payload_of(check_in_screen))
    await open_card(li, title)  # signed up, never came: no check-out
    assert [CHECK_OUT] not in li.chat.ordered()[-1].buttons

    bot.clock.set(start + timedelta(minutes=90))
    screen = await open_screen(secretary, title, check_out=True)
    caption = screen.caption or ""
    assert said("zh", "screen.scan_check_out") in caption
    assert said("zh", "screen.count_check_out", count=0, of=2) in caption
    assert said("zh", "screen.code", code=large_digits(service.check_in_code)) not in caption
    payload = payload_of(screen)
    assert payload.startswith(f"qo_{service.id}_")
    # A check-out code where a check-in code is expected (its prefix changed): forged.
    assert (await scan(li, "qi_" + payload[3:])).text == said("zh", "error.checkin_token_invalid")

    confirmation = await scan(wang, payload)
    assert confirmation.text == said("zh", "checkout.confirm", title=title)
    await wang.press(CONFIRM_OUT, message=confirmation)
    done = (await wang.next_event()).message
    # Checked in 20 minutes early, out 90 minutes after the start: 1.5 hours of service.
    assert done.text == said("zh", "checkout.done", title=title, hours="1.5")
    assert [CHECK_OUT] not in (await wang.next_message()).buttons
    assert (await scan(wang, payload)).text == said("zh", "error.checkout_already")
    # Not checked in: nothing to check out of.
    assert (await scan(li, payload)).text == said("zh", "error.checkout_not_checked_in")
    await refresh(bot)
    assert said("zh", "screen.count_check_out", count=1, of=2) in (screen.caption or "")

    # The card's button, two hours after the start.
    bot.clock.set(start + timedelta(hours=2))
    await open_card(zhao, title)
    await zhao.press(CHECK_OUT)
    assert (await zhao.next_event()).message.text == said(
        "zh", "checkout.done", title=title, hours="2"
    )
    await zhao.next_message()  # the card
    await refresh(bot)
    assert said("zh", "screen.count_check_out", count=2, of=2) in (screen.caption or "")

    async with bot.database.sessions() as session:
        hours = {}
        for person in (wang, zhao):
            found = await get_member(session, person.id)
            assert found is not None
            record = await member_record(session, found, bot.clock.now())
            (entry,) = [e for e in record.entries if e.activity.id == service.id]
            hours[person.name] = entry.hours
    assert hours == {"王小明": 1.5, "赵红": 2.0}
    await wang.send("/record")
    assert "1.5" in (await wang.next_message()).text

    # The check-out screen stays an hour after the end, then closes.
    bot.clock.set(service.ends_at + timedelta(hours=1))
    await refresh(bot)
    assert said("zh", "screen.ended_check_out") in (screen.caption or "")
    assert screen.buttons == []
    assert (await screen_row(bot, service)).closed_at is not None


async def test_saplings_are_asked_at_the_check_out_of_a_tree_planting(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    zhao = await member(bot, "赵红", secretary)
    title = "植树节义务植树"
    start = bot.clock.now() + timedelta(minutes=10)
    planting = await new_activity(
        bot,
        secretary,
        title,
        start,
        hours=3,
        kind="tree_planting",
        capacity=20,
        check_out_required=True,
    )
    await signed_up(bot, planting, wang, zhao)
    await settle(bot, wang, zhao, secretary)
    bot.clock.set(start)
    await checked_in_directly(bot, planting, wang, zhao)
    bot.clock.set(start + timedelta(hours=2))

    screen = await open_screen(secretary, title, check_out=True)
    confirmation = await scan(wang, payload_of(screen))
    await wang.press(CONFIRM_OUT, message=confirmation)
    question = await wang.next_message()
    assert question.text == said("zh", "checkout.ask_saplings", title=title)
    await wang.send("很多")
    assert (await wang.next_message()).text == said("zh", "error.saplings_invalid")
    assert (await participation(bot, planting, wang)).checked_out_at is None
    await wang.send("１２")  # a Chinese keyboard's full-width digits
    done = await wang.next_message()
    assert done.text == "\n".join(
        [
            said("zh", "checkout.done", title=title, hours="2"),
            said("zh", "checkout.saplings_done", saplings=12),
        ]
    )
    row = await participation(bot, planting, wang)
    assert row.saplings_planted == 12 and row.checked_out_at == start + timedelta(hours=2)

    await open_card(zhao, title)
    await zhao.press(CHECK_OUT)
    assert (await zhao.next_message()).text == said("zh", "checkout.ask_saplings", title=title)
    await zhao.send("3")
    assert said("zh", "checkout.saplings_done", saplings=3) in (await zhao.next_message()).text
    assert (await participation(bot, planting, zhao)).saplings_planted == 3


# --- the screen's buttons, and what happens to the message ---------------------------------------


async def test_refresh_now_close_and_opening_again(bot: RunningBot, secretary: Person) -> None:
    title = "支部党员大会"
    meeting = await new_activity(
        bot, secretary, title, bot.clock.now() + timedelta(minutes=5), kind="general_meeting"
    )
    first_screen = await open_screen(secretary, title)
    before = payload_of(first_screen)
    bot.clock.advance(timedelta(seconds=1))  # a code names its second of expiry
    await secretary.press(REFRESH, message=first_screen)
    answer = await secretary.wait_answer()
    assert not answer.show_alert and answer.text == said("zh", "screen.refreshed")
    assert payload_of(first_screen) != before

    # Opening it again in the same chat retires the first screen.
    second_screen = await open_screen(secretary, title)
    assert first_screen.buttons == []
    assert said("zh", "screen.closed") in (first_screen.caption or "")
    await secretary.press(CLOSE, message=second_screen)
    answer = await secretary.wait_answer()
    assert answer.text == said("zh", "screen.closed")
    assert second_screen.buttons == []
    assert said("zh", "screen.closed") in (second_screen.caption or "")
    assert (await screen_row(bot, meeting)).closed_at is not None
    # An old press of the closed screen's button: refused, nothing edited.
    edits = len(second_screen.history)
    secretary.press_forged(second_screen, f"scr:new:{(await screen_row(bot, meeting)).id}")
    assert await refused_alert(secretary) == said("zh", "error.screen_closed")
    assert len(second_screen.history) == edits


async def test_a_screen_waits_when_told_and_closes_when_its_message_is_gone(
    bot: RunningBot, secretary: Person
) -> None:
    title = "党小组会"
    meeting = await new_activity(
        bot, secretary, title, bot.clock.now() + timedelta(minutes=5), kind="group_meeting"
    )
    screen = await open_screen(secretary, title)
    first = payload_of(screen)

    # Telegram says 429: the screen keeps its code until a later pass gets through.
    bot.emulator.faults.fail_next(
        "editMessageMedia",
        status=429,
        description="Too Many Requests: retry after 3",
        retry_after=3,
    )
    bot.clock.advance(timedelta(seconds=QR_SECONDS / 2))
    await refresh(bot)
    await refresh(bot)
    assert [v.method for v in bot.emulator.fault_log] == ["editMessageMedia"]
    assert payload_of(screen) != first
    assert (await screen_row(bot, meeting)).closed_at is None

    # The secretary deleted the screen: the next edit fails (400), and the screen closes.
    screen.deleted = True
    bot.clock.advance(timedelta(seconds=QR_SECONDS / 2))
    await refresh(bot)
    assert (await screen_row(bot, meeting)).closed_at is not None
    gone = [v for v in bot.emulator.violations if v.method == "editMessageMedia"]
    assert len(gone) == 1 and "not found" in gone[0].description
    bot.emulator.violations.remove(gone[0])  # expected: how the bot learns the message is gone
    bot.clock.advance(timedelta(seconds=QR_SECONDS))
    await refresh(bot)
    assert bot.emulator.violations == []  # a closed screen is not tried again


# --- what is refused ----------------------------------------------------------------------------


async def test_codes_that_are_refused(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    incubator = bot.emulator.user("孙书记", language_code="zh")
    await grant(bot.database, incubator, "secretary", "tech-incubator")
    outsider = await member(bot, "孙外", incubator, unit_code="tech-incubator")
    now = bot.clock.now()
    meeting = await new_activity(
        bot, secretary, "支委会", now + timedelta(minutes=10), kind="committee_meeting"
    )
    other = await new_activity(
        bot, secretary, "另一个支委会", now + timedelta(minutes=10), kind="committee_meeting"
    )
    later = await new_activity(bot, secretary, "下周党课", now + timedelta(days=7), kind="lecture")
    service = await new_activity(bot, secretary, "只限报名", now + timedelta(minutes=10))
    open_door = await new_activity(
        bot, secretary, "欢迎参加", now + timedelta(minutes=10), walk_ins_allowed=True
    )
    no_qr = await new_activity(
        bot,
        secretary,
        "只用签到码",
        now + timedelta(minutes=10),
        kind="lecture",
        check_in_by_qr=False,
    )
    await settle(bot, wang, outsider, secretary)
    soon = now + timedelta(seconds=QR_SECONDS)
    good = code_for(meeting, ScreenPurpose.check_in, soon)
    invalid = said("zh", "error.checkin_token_invalid")

    assert (await scan(wang, "qi_12_34_short")).text == invalid  # malformed
    forged = good[:-1] + ("A" if good[-1] != "A" else "B")  # the signature changed
    assert (await scan(wang, forged)).text == invalid
    activity_changed = good.replace(f"qi_{meeting.id}_", f"qi_{other.id}_")
    assert (await scan(wang, activity_changed)).text == invalid
    assert (await scan(wang, "qo_" + good[3:])).text == invalid  # the purpose changed

    # A confirmation whose button was forged for another activity: refused, nothing done.
    confirmation = await scan(wang, good)
    _, _, _, expires, signature = (confirmation.button_data(CONFIRM_IN) or "").split(":")
    wang.press_forged(confirmation, f"ev:qi:{other.id}:{expires}:{signature}")
    assert await refused_alert(wang) == invalid
    wang.press_forged(confirmation, f"ev:qi:{meeting.id}:{int(expires) + 600}:{signature}")
    assert await refused_alert(wang) == invalid  # a longer life: forged too
    assert not await checked_in(bot, meeting, wang) and not await checked_in(bot, other, wang)

    # Before the window, and after the end.
    opens = later.starts_at - timedelta(minutes=30)
    wait = format_wait(opens - now, "zh")
    early = code_for(later, ScreenPurpose.check_in, soon)
    assert (await scan(wang, early)).text == said("zh", "error.checkin_not_open", wait=wait)

    # Not expected here, not signed up; a walk-in where they are welcome.
    assert (await scan(outsider, good)).text == said("zh", "error.activity_not_in_audience")
    signup_only = code_for(service, ScreenPurpose.check_in, soon)
    assert (await scan(wang, signup_only)).text == said("zh", "error.checkin_not_signed_up")
    await scan_and_confirm(outsider, code_for(open_door, ScreenPurpose.check_in, soon))
    row = await participation(bot, open_door, outsider)
    assert row.walk_in and row.checked_in_at == now
    # An activity that does not use the QR code.
    no_qr_code = code_for(no_qr, ScreenPurpose.check_in, soon)
    assert (await scan(wang, no_qr_code)).text == said("zh", "error.checkin_method_off")

    # The fixed code of earlier versions: how check-in works now, and the card.
    await wang.send(f"/start c_{meeting.share_code}")
    assert (await wang.next_message()).text == said("zh", "checkin.scan_the_screen")
    card = await wang.next_message()
    assert (
        said(
            "zh",
            "events.card_title",
            title="支委会",
            kind=t("zh", "activity.kind.committee_meeting"),
        )
        in card.text
    )
    assert not await checked_in(bot, meeting, wang)

    bot.clock.set(meeting.ends_at + timedelta(minutes=1))
    after = code_for(meeting, ScreenPurpose.check_in, bot.clock.now() + timedelta(seconds=30))
    assert (await scan(wang, after)).text == said("zh", "error.checkin_closed")
    assert not await checked_in(bot, meeting, wang)


async def test_only_managers_open_screens_and_only_in_their_window(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    stranger = bot.emulator.user("Other secretary", language_code="en")
    await grant(bot.database, stranger, "secretary", "tech-incubator")
    await meet(stranger)
    now = bot.clock.now()
    lecture = await new_activity(
        bot, secretary, "下周党课", now + timedelta(days=2), kind="lecture"
    )
    service = await new_activity(
        bot, secretary, "志愿服务", now + timedelta(minutes=10), hours=1, check_out_required=True
    )
    await settle(bot, wang, secretary, stranger)

    # Not a manager of the activity: a member, a secretary of another branch.
    wang.press_forged(wang.chat.ordered()[-1], f"org:scr:{service.id}:0")
    assert await refused_alert(wang) == said("zh", "error.permission_denied_staff")
    stranger.press_forged(stranger.chat.ordered()[-1], f"org:scr:{service.id}:1")
    assert await refused_alert(stranger) == said("en", "error.permission_denied_staff")

    # The manager, outside the window.
    last = secretary.chat.ordered()[-1]
    secretary.press_forged(last, f"org:scr:{lecture.id}:0")
    wait = format_wait(lecture.starts_at - timedelta(minutes=30) - now, "zh")
    assert await refused_alert(secretary) == said("zh", "error.checkin_not_open", wait=wait)
    secretary.press_forged(last, f"org:scr:{lecture.id}:1")  # no check-out at a lecture
    assert await refused_alert(secretary) == said("zh", "error.stale_button")
    bot.clock.set(service.ends_at + timedelta(minutes=1))
    secretary.press_forged(last, f"org:scr:{service.id}:0")
    assert await refused_alert(secretary) == said("zh", "error.checkin_closed")
    bot.clock.set(service.ends_at + timedelta(hours=1, minutes=1))
    secretary.press_forged(last, f"org:scr:{service.id}:1")
    assert await refused_alert(secretary) == said("zh", "error.screen_check_out_over")
    assert await screen_rows(bot) == 0  # nothing opened

"""A member's own data end to end: /mydata's file holds what they did, /forget leaves the
secretaries nothing of them and frees what they held, and someone with nothing stored is
told so without being asked to confirm.

Activities are created with the domain API; the member, the secretary and the waitlisted
member act through the emulator, and the `emulator` fixture fails a test on any request
Telegram would reject.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sandbox.person import Person
from tests.e2e.conftest import START_TIME, RunningBot, invite_payload_of, new_activity, onboard
from tests.e2e.test_events import (
    APPROVE_LEAVE,
    ASK_LEAVE,
    NEAR_WANDA,
    SIGN_UP,
    WANDA,
    member,
    open_card,
    settle,
)
from tests.e2e.test_notices import BODY, SEND_NOW, compose
from tests.e2e.test_roster import management_card
from tests.e2e.texts import said, t

REASON = "在广州参加培训"
WANDA_ZH = "湛江万达广场商圈党支部"


async def ask_leave(person: Person, title: str, reason: str) -> None:
    await open_card(person, title)
    await person.press(ASK_LEAVE)
    await person.next_message()  # the reason?
    await person.send(reason)
    assert (await person.next_message()).text == said("zh", "events.leave_sent", title=title)
    await person.next_message()  # the card again


async def test_mydata_holds_what_the_member_did(bot: RunningBot, secretary: Person) -> None:
    wang = bot.emulator.user("小王", language_code="zh", phone="+8613800138001")
    payload = await invite_payload_of(bot.database, "wanda-plaza")
    regular = t("zh", "member_type.regular")
    await onboard(wang, "王小明", regular, workplace="万达广场某商户", payload=payload)
    assert (await wang.next_message()).text == said("zh", "report.sent", unit=WANDA_ZH)
    card = await secretary.next_message()
    await secretary.press(t("zh", "report.approve_button"), message=card)
    await secretary.next_event()
    assert (await wang.next_message()).text == said("zh", "report.approved", unit=WANDA_ZH)

    soon = bot.clock.now() + timedelta(minutes=20)  # check-in is open
    venue = {"latitude": WANDA[0], "longitude": WANDA[1], "check_in_by_location": True}
    await new_activity(bot, secretary, "主题党日：志愿清洁", soon, kind="theme_day", **venue)
    await new_activity(bot, secretary, "支部党员大会", kind="general_meeting")
    planting = {"kind": "tree_planting", "pledge_kind": "saplings", "capacity": 30}
    await new_activity(bot, secretary, "义务植树", bot.clock.now() + timedelta(days=3), **planting)
    await settle(bot, wang, secretary)

    # Signs up with a pledge, asks for leave with a reason, checks in by location.
    await open_card(wang, "义务植树")
    await wang.press(SIGN_UP)
    await wang.next_message()  # how many saplings?
    await wang.send("5")
    assert (await wang.next_message()).text == said("zh", "events.signed_up_note")
    await wang.next_message()  # the card
    await ask_leave(wang, "支部党员大会", REASON)
    await open_card(wang, "主题党日")
    await wang.press(t("zh", "events.checkin_button"))
    await wang.next_message()  # where are you?
    await wang.tap(t("zh", "events.share_location_button"), location=NEAR_WANDA)
    checked_in = said("zh", "events.checked_in", title="主题党日：志愿清洁")
    assert (await wang.next_message()).text == checked_in
    await wang.next_message()  # the card

    # Acknowledges a notice.
    await settle(bot, secretary)  # the leave request's card
    copy = await compose(secretary)
    await secretary.press(SEND_NOW, copy)
    await settle(bot)
    notice = await wang.next_message()
    await wang.press(t("zh", "notice.received_button"), notice)
    assert (await wang.answer_of_last_press()).text == said("zh", "notice.acknowledged")

    await wang.send("/mydata")
    document = await wang.next_message()
    assert document.document_name == "branchbot-my-data.json"
    assert document.caption == said("zh", "profile.mydata_caption")
    data = json.loads(document.document_bytes)
    now = START_TIME.isoformat()  # the test clock stands still

    profile = data["profile"]
    assert (profile["real_name"], profile["phone"]) == ("王小明", "+8613800138001")
    assert (profile["member_type"], profile["workplace"]) == ("regular", "万达广场某商户")
    assert profile["telegram_id"] == wang.id and profile["consent_at"] == now
    assert data["account"]["telegram_language"] == "zh"
    ((membership),) = data["memberships"]
    assert (membership["unit_code"], membership["status"], membership["via"]) == (
        "wanda-plaza",
        "active",
        "invite",
    )
    assert membership["unit_name_zh"] == WANDA_ZH and membership["decided_at"] == now
    assert data["roles"] == []

    taken = {p["activity_title"]: p for p in data["participations"]}
    assert list(taken) == ["主题党日：志愿清洁", "支部党员大会", "义务植树"]  # by start
    theme_day = taken["主题党日：志愿清洁"]
    assert (theme_day["status"], theme_day["check_in_method"]) == ("attending", "location")
    assert theme_day["checked_in_at"] == now
    assert [theme_day["checked_in_latitude"], theme_day["checked_in_longitude"]] == list(NEAR_WANDA)
    assert (theme_day["activity_kind"], theme_day["unit_code"]) == ("theme_day", "wanda-plaza")
    meeting = taken["支部党员大会"]
    assert (meeting["status"], meeting["leave_reason"]) == ("leave_requested", REASON)
    assert meeting["responded_at"] == now and meeting["decided_at"] is None
    tree = taken["义务植树"]
    assert (tree["status"], tree["pledge_amount"], tree["pledge_kind"]) == (
        "signed_up",
        5,
        "saplings",
    )
    assert [(c["activity_title"], c["action"], c["after"]) for c in data["attendance_changes"]] == [
        ("主题党日：志愿清洁", "checked_in", "attended")
    ]

    ((received),) = data["notices"]
    assert BODY.startswith(received["excerpt"].rstrip("…"))
    assert (received["delivery"], received["acknowledged_at"]) == ("sent", now)
    assert received["acknowledgement_asked"] is True and received["unit_code"] == "wanda-plaza"
    kinds = {(m["kind"], m["status"]) for m in data["messages"]}
    assert {("report_decided", "sent"), ("notice", "sent")} <= kinds
    assert data["updates_received"]["count"] >= 10  # the profile's answers, presses, ...
    assert data["check_in_code_attempts"] is None
    assert "decided_by" not in document.document_bytes.decode()  # the secretary's data


async def test_forget_leaves_the_secretary_nothing_and_frees_the_seat(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    tom = await member(bot, "Tom", secretary, language="en")
    await new_activity(bot, secretary, "支部党员大会", kind="general_meeting")
    await new_activity(bot, secretary, "法律援助进商圈", capacity=1)
    await settle(bot, wang, tom, secretary)

    await ask_leave(wang, "支部党员大会", REASON)
    leave_card = await secretary.next_message()
    assert REASON in leave_card.text and "王小明" in leave_card.text
    await open_card(wang, "法律援助进商圈")
    await wang.press(SIGN_UP)
    await wang.next_event()
    await open_card(tom, "法律援助进商圈")
    await tom.press(t("en", "events.waitlist_button"))
    await tom.next_event()
    copy = await compose(secretary)  # a notice neither of them acknowledges
    await secretary.press(SEND_NOW, copy)
    figures = await secretary.next_message()
    await settle(bot, wang, tom)

    await wang.send("/forget")
    asked = await wang.next_message()
    assert asked.text == said("zh", "forget.confirm")
    assert asked.buttons == [[t("zh", "forget.confirm_button")], [t("zh", "forget.keep_button")]]
    await wang.press(t("zh", "forget.confirm_button"))
    assert (await wang.next_event()).message.text == said("zh", "forget.done")

    # The seat goes to the first on the waitlist, who is told.
    told = await tom.next_message()
    when = "Thu 12 Mar 2026, 09:00–11:00"
    assert told.text == said("en", "events.promoted", title="法律援助进商圈", when=when)
    await open_card(tom, "法律援助进商圈")
    assert said("en", "events.your_status", status=t("en", "events.status.signed_up")) in (
        tom.chat.ordered()[-1].text
    )

    # The secretary's leave list: nothing of them, nothing to decide.
    listing = await management_card(secretary, "支部党员大会")
    assert said("zh", "manage.counts_expected", attending=0, leave=0, excused=0, no_answer=1) in (
        listing.text
    )
    await secretary.press(t("zh", "manage.list.leave"), message=listing)
    await secretary.next_edit(listing)  # (the notice's live figures may change meanwhile)
    title = said(
        "zh",
        "manage.people_title",
        list=t("zh", "manage.list.leave"),
        title="支部党员大会",
        count=0,
    )
    assert listing.text.startswith(title) and said("zh", "manage.nobody") in listing.text
    assert REASON not in listing.text and "王小明" not in listing.text
    assert listing.buttons == [[t("zh", "button.back")]]  # no Approve or Decline
    # The card they had: deciding is refused, and it no longer shows the reason or name.
    await secretary.press(APPROVE_LEAVE, message=leave_card)
    refused = await secretary.answer_of_last_press()
    assert refused.show_alert and refused.text == said("zh", "error.leave_already_decided")
    withdrawn = await secretary.next_edit(leave_card)
    assert withdrawn.text.endswith(said("zh", "events.leave_card_withdrawn"))
    assert REASON not in withdrawn.text and "王小明" not in withdrawn.text
    assert withdrawn.buttons == []

    # Who has not acknowledged the notice: Tom only, nobody left nameless.
    assert bot.runtime.scheduler is not None
    await bot.runtime.scheduler.refresh_figures_once()
    await secretary.press(t("zh", "figures.silent_button", count="1"), figures)
    silent = await secretary.next_message()
    assert "Tom" in silent.text and "王小明" not in silent.text and "—" not in silent.text
    await wang.expect_no_message()


async def test_nothing_stored_is_said_plainly_without_asking(
    bot: RunningBot, org: dict[str, int]
) -> None:
    stranger = bot.emulator.user("Sam", language_code="en")
    await stranger.send("/forget")
    answer = await stranger.next_message()
    assert answer.text == said("en", "forget.nothing_stored") and answer.buttons == []
    await stranger.send("/mydata")
    assert (await stranger.next_message()).text == said("en", "profile.nothing_stored")

    # Started, but never agreed to a profile being stored: nothing personal either.
    newcomer = bot.emulator.user("小李", language_code="zh")
    await newcomer.send("/start")
    await newcomer.next_message()  # welcome
    assert (await newcomer.next_message()).text == said("zh", "profile.consent")
    await newcomer.send("/forget")
    answer = await newcomer.next_message()
    assert answer.text == said("zh", "forget.nothing_stored") and answer.buttons == []

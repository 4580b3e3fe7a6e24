"""The venue's location and the check-in settings, chosen by the activity's creator: in /new,
and from the management card of /activities."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models.activities import Activity, sign_up
from models.members import member_of
from sandbox.person import Person
from tests.e2e.conftest import RunningBot, enrol, new_activity, seed_org
from tests.e2e.test_organize import activities, secretary_of
from tests.e2e.texts import said, t
from views.buttons import short

WANDA = (21.2404, 110.4135)  # the Wanda Plaza branch's coordinates in the org file
INCUBATOR = (21.2155, 110.4010)
VENUE = (21.2399, 110.4141)  # a shared location near Wanda Plaza


def mark(language: str, key: str, on: bool) -> str:
    """A toggle's label on the settings screen."""
    return f"{'✅' if on else '⬜'} {t(language, key)}"


async def start_new(secretary: Person, kind: str, title: str, start: str) -> None:
    """/new up to the place's question: kind, title, start, two hours."""
    language = secretary.user.language_code
    await secretary.send("/new")
    await secretary.next_message()
    await secretary.press(t(language, f"activity.kind.{kind}"))
    await secretary.next_event()
    await secretary.next_message()  # title?
    await secretary.send(title)
    await secretary.next_message()  # start?
    await secretary.send(start)
    await secretary.next_message()  # time read back
    await secretary.next_message()  # end?
    await secretary.press(t(language, "new.duration_hours", hours=2))
    assert (await secretary.next_message()).text == said(language, "new.ask_place")


async def venue_question(secretary: Person) -> tuple[list[list[str]], list[list[str]] | None]:
    """The venue's question: its inline choices, then the share-location keyboard."""
    language = secretary.user.language_code
    question = await secretary.next_message()
    assert question.text == said(language, "new.ask_venue")
    share = await secretary.next_message()
    assert share.text == said(language, "venue.share_below")
    return question.buttons, secretary.reply_keyboard


async def settings_screen(secretary: Person) -> list[list[str]]:
    message = await secretary.next_message()
    assert message.text == said(secretary.user.language_code, "checkin_settings.title")
    return message.buttons


async def pressed(secretary: Person, label: str) -> list[list[str]]:
    """Press a button of the settings screen: the screen as it is edited."""
    await secretary.press(label)
    event = await secretary.next_event()
    assert event.kind == "edit", secretary.transcript()
    return event.message.buttons


async def publish(secretary: Person) -> str:
    """Continue from the settings screen, read the preview, publish: the preview's text."""
    language = secretary.user.language_code
    await secretary.press(t(language, "checkin_settings.continue"))
    await secretary.next_event()  # the screen becomes the settings chosen
    preview = (await secretary.next_message()).text  # read before it becomes "published"
    await secretary.press(t(language, "new.publish"))
    await secretary.next_event()
    return preview


async def test_new_with_the_venue_shared_at_its_step(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza")
    await start_new(secretary, "volunteer", "Health checks", "2026-03-14 09:00")
    await secretary.send("Wanda Plaza, gate 3")
    buttons, kb = await venue_question(secretary)
    name = "Zhanjiang Wanda Plaza Commercial District Branch"
    assert buttons == [[short(t("en", "venue.use_unit", unit=name))], [t("en", "venue.none")]]
    assert kb == [[t("en", "venue.share_button")]]

    # A text where the location was asked for: a hint and the question again.
    await secretary.send("it is next to the cinema")
    assert (await secretary.next_message()).text == said("en", "new.venue_hint")
    await venue_question(secretary)
    # Coordinates out of range (a modified client): refused, the keyboard offered again.
    await secretary.share_location(95.0, 200.0)
    refusal = await secretary.next_message()
    assert refusal.text == said("en", "error.location_invalid")
    assert secretary.reply_keyboard == [[t("en", "venue.share_button")]]
    await secretary.tap(t("en", "venue.share_button"), location=VENUE)
    assert (await secretary.next_message()).text == said("en", "venue.saved")
    assert secretary.reply_keyboard is None
    assert (await secretary.next_message()).text == said("en", "new.ask_description")
    await secretary.press(t("en", "new.skip"))
    await secretary.next_message()  # capacity?
    await secretary.press(t("en", "new.no_limit"))
    await secretary.next_message()  # deadline?
    await secretary.press(t("en", "new.until_start"))

    # The settings: location on by default with the venue's location, check-out offered.
    screen = await settings_screen(secretary)
    assert screen == [
        [mark("en", "checkin_settings.qr", True), mark("en", "checkin_settings.code", True)],
        [
            mark("en", "checkin_settings.location", True),
            said("en", "checkin_settings.radius", metres=300),
        ],
        [mark("en", "checkin_settings.check_out", False)],
        [mark("en", "checkin_settings.walk_ins", False)],
        [t("en", "checkin_settings.continue")],
    ]
    screen = await pressed(secretary, said("en", "checkin_settings.radius", metres=300))
    assert screen[1][1] == said("en", "checkin_settings.radius", metres=500)
    await pressed(secretary, mark("en", "checkin_settings.check_out", False))
    screen = await pressed(secretary, mark("en", "checkin_settings.qr", True))
    assert screen[0] == [
        mark("en", "checkin_settings.qr", False),
        mark("en", "checkin_settings.code", True),
    ]
    # Forged presses: a radius not in the cycle, a screen that is not open. Nothing changes.
    message = secretary.chat.ordered()[-1]
    for forged in ("org:cr:0:250", "org:ct:7:qr:1", "org:ct:0:nothing:1"):
        secretary.press_forged(message, forged)
        answer = await secretary.answer_of_last_press()
        assert answer.show_alert and answer.text == said("en", "error.stale_button")

    preview = await publish(secretary)
    assert said("en", "events.card_place", place="Wanda Plaza, gate 3") in preview  # as on the card
    assert said("en", "venue.location_set_radius", metres=500) in preview
    methods = " · ".join(
        t("en", key)
        for key in ("checkin_settings.code", "checkin_settings.location", "checkin_settings.roster")
    )
    assert said("en", "checkin_settings.summary", methods=methods) in preview
    assert t("en", "checkin_settings.check_out") in preview
    assert t("en", "checkin_settings.walk_ins") not in preview
    (activity,) = await activities(bot)
    assert (activity.latitude, activity.longitude) == VENUE
    assert activity.check_in_by_location and activity.check_in_radius_m == 500
    assert not activity.check_in_by_qr and activity.check_in_by_code
    assert activity.check_out_required and not activity.walk_ins_allowed


async def test_new_with_the_units_location_in_chinese(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza", language="zh")
    await start_new(secretary, "theme_day", "三月主题党日", "3月12日 上午9点")
    await secretary.send("万达广场党群服务站")
    await venue_question(secretary)
    await secretary.press(t("zh", "venue.use_unit", unit="湛江万达广场商圈党支部"))
    used = said("zh", "venue.unit_used", unit="湛江万达广场商圈党支部")
    assert (await secretary.next_message()).text == used
    assert secretary.reply_keyboard is None  # removed with the answer
    await secretary.next_message()  # description?
    await secretary.press(t("zh", "new.skip"))
    await secretary.next_message()  # repeat?
    await secretary.press(t("zh", "new.repeat.once"))
    screen = await settings_screen(secretary)
    assert [mark("zh", "checkin_settings.check_out", False)] not in screen  # a meeting
    screen = await pressed(secretary, mark("zh", "checkin_settings.walk_ins", False))
    assert [mark("zh", "checkin_settings.walk_ins", True)] in screen
    # Location off: the radius goes with it; everything off is allowed (the roster works).
    screen = await pressed(secretary, mark("zh", "checkin_settings.location", True))
    assert screen[1] == [mark("zh", "checkin_settings.location", False)]
    await pressed(secretary, mark("zh", "checkin_settings.qr", True))
    await pressed(secretary, mark("zh", "checkin_settings.code", True))
    preview = await publish(secretary)
    assert said("zh", "venue.location_set") in preview
    roster_only = said("zh", "checkin_settings.summary", methods=t("zh", "checkin_settings.roster"))
    assert roster_only in preview and t("zh", "checkin_settings.walk_ins") in preview
    (activity,) = await activities(bot)
    assert (activity.latitude, activity.longitude) == WANDA
    assert not (activity.check_in_by_qr or activity.check_in_by_code)
    assert not activity.check_in_by_location and activity.walk_ins_allowed


async def test_new_with_a_location_shared_for_the_place(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza")
    await start_new(secretary, "lecture", "Party lecture", "2026-03-13 19:00")
    await secretary.share_location(95.0, 110.0)
    assert (await secretary.next_message()).text == said("en", "error.location_invalid")
    await secretary.share_location(*VENUE)
    located = await secretary.next_message()
    assert located.text == said("en", "new.place_located")
    assert located.buttons == [[t("en", "new.skip")]]
    await secretary.send("Room 301")
    # The venue's location is known: its question is passed over.
    assert (await secretary.next_message()).text == said("en", "new.ask_description")
    await secretary.press(t("en", "new.skip"))
    await secretary.next_message()  # repeat?
    await secretary.press(t("en", "new.repeat.once"))
    screen = await settings_screen(secretary)
    assert screen[1] == [
        mark("en", "checkin_settings.location", True),
        said("en", "checkin_settings.radius", metres=300),
    ]
    for _ in range(3):  # 300 → 500 → 1000 → 100
        screen = await pressed(secretary, screen[1][1])
    assert screen[1][1] == said("en", "checkin_settings.radius", metres=100)
    preview = await publish(secretary)
    assert said("en", "events.card_place", place="Room 301") in preview  # as on the card
    assert said("en", "venue.location_set_radius", metres=100) in preview
    (activity,) = await activities(bot)
    assert activity.place == "Room 301" and (activity.latitude, activity.longitude) == VENUE
    assert activity.check_in_by_location and activity.check_in_radius_m == 100


async def test_a_repeating_theme_day_carries_the_venue_to_every_occurrence(
    bot: RunningBot,
) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "tech-incubator")
    await start_new(secretary, "theme_day", "Theme day", "2026-03-27 15:00")
    await secretary.press(t("en", "new.skip"))  # no place's name
    await venue_question(secretary)
    name = "Zhanjiang Development Zone Technology Incubator Building Branch"
    await secretary.press(short(t("en", "venue.use_unit", unit=name)))
    assert (await secretary.next_message()).text == said("en", "venue.unit_used", unit=name)
    await secretary.next_message()  # description?
    await secretary.press(t("en", "new.skip"))
    await secretary.next_message()  # repeat?
    await secretary.press(t("en", "new.repeat.last_friday"))
    screen = await settings_screen(secretary)
    labels = [label for row in screen for label in row]
    assert mark("en", "checkin_settings.walk_ins", False) in labels
    await pressed(secretary, mark("en", "checkin_settings.walk_ins", False))
    await pressed(secretary, mark("en", "checkin_settings.qr", True))
    await pressed(secretary, said("en", "checkin_settings.radius", metres=300))
    preview = await publish(secretary)
    assert said("en", "venue.location_set_radius", metres=500) in preview
    occurrences = await activities(bot)
    assert len(occurrences) >= 3
    for activity in occurrences:
        assert (activity.latitude, activity.longitude) == INCUBATOR
        assert activity.check_in_by_location and activity.check_in_radius_m == 500
        assert not activity.check_in_by_qr and activity.check_in_by_code
        assert activity.walk_ins_allowed


async def test_no_venue_location_leaves_check_in_by_location_out(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza")
    await start_new(secretary, "other", "Book swap", "2026-03-14 15:00")
    await secretary.send("Library")
    await venue_question(secretary)
    await secretary.press(t("en", "venue.none"))
    assert (await secretary.next_message()).text == said("en", "venue.none_chosen")
    assert secretary.reply_keyboard is None
    # The venue's buttons are stale once it is answered.
    await secretary.press(t("en", "venue.none"))
    assert (await secretary.answer_of_last_press()).text == said("en", "error.stale_button")
    await secretary.next_message()  # description?
    await secretary.press(t("en", "new.skip"))
    await secretary.next_message()  # capacity?
    await secretary.press(t("en", "new.no_limit"))
    await secretary.next_message()  # deadline?
    await secretary.press(t("en", "new.until_start"))
    screen = await settings_screen(secretary)
    assert screen == [  # no location to check in by; check-out is for service only
        [mark("en", "checkin_settings.qr", True), mark("en", "checkin_settings.code", True)],
        [mark("en", "checkin_settings.walk_ins", False)],
        [t("en", "checkin_settings.continue")],
    ]
    message = secretary.chat.ordered()[-1]
    for forged in ("org:ct:0:location:1", "org:ct:0:check_out:1", "org:cr:0:500"):
        secretary.press_forged(message, forged)
        assert (await secretary.answer_of_last_press()).text == said("en", "error.stale_button")
    preview = await publish(secretary)
    assert t("en", "venue.location_set") not in preview
    (activity,) = await activities(bot)
    assert activity.latitude is None and not activity.check_in_by_location
    assert not activity.check_out_required


async def open_card(secretary: Person) -> str:
    await secretary.send("/activities")
    await secretary.press((await secretary.next_message()).buttons[0][0])
    return (await secretary.next_event()).message.text


async def test_changing_the_place_with_a_location(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza")
    zhao = bot.emulator.user("Zhao", language_code="en")
    await enrol(bot, zhao, "Zhao", "wanda-plaza")
    starts = bot.clock.now() + timedelta(days=2)
    await new_activity(bot, secretary, "Party lecture", starts, hours=1, kind="lecture")
    await bot.runtime.scheduler.run_once()
    await zhao.next_message()  # the invitation

    await open_card(secretary)
    await secretary.press(t("en", "manage.change_place"))
    question = await secretary.next_message()
    assert question.text == said("en", "manage.ask_new_place")
    name = "Zhanjiang Wanda Plaza Commercial District Branch"
    assert question.buttons == [[short(t("en", "venue.use_unit", unit=name))]]
    assert (await secretary.next_message()).text == said("en", "venue.share_below")
    await secretary.share_location(21.0, 181.0)
    assert (await secretary.next_message()).text == said("en", "error.location_invalid")
    assert secretary.reply_keyboard == [[t("en", "venue.share_button")]]
    await secretary.tap(t("en", "venue.share_button"), location=VENUE)
    assert (await secretary.next_message()).text == said("en", "manage.venue_saved_off")
    assert secretary.reply_keyboard is None
    (activity,) = await activities(bot)
    assert (activity.latitude, activity.longitude) == VENUE and not activity.check_in_by_location

    # The unit's location, by its button; then a typed name, which members are told of.
    card = await open_card(secretary)
    assert said("en", "venue.location_set") in card
    await secretary.press(t("en", "manage.change_place"))
    await secretary.next_message()
    await secretary.next_message()
    await secretary.press(short(t("en", "venue.use_unit", unit=name)))
    assert (await secretary.next_message()).text == said("en", "manage.venue_saved_off")
    assert secretary.reply_keyboard is None
    (activity,) = await activities(bot)
    assert (activity.latitude, activity.longitude) == WANDA
    await zhao.expect_no_message(within=0.3)  # members are not shown the map pin

    await open_card(secretary)
    await secretary.press(t("en", "manage.change_place"))
    await secretary.next_message()
    await secretary.next_message()
    await secretary.send("Room 3")
    said_back = said("en", "manage.place_changed", place="Room 3", count=1)
    assert (await secretary.next_message()).text == said_back
    assert secretary.reply_keyboard is None
    told = await zhao.next_message()
    assert said("en", "manage.line.place", place="Room 3") in told.text


async def test_the_check_in_settings_from_the_management_card(bot: RunningBot) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza", language="zh")
    zhao = bot.emulator.user("Zhao", language_code="en")
    await enrol(bot, zhao, "Zhao", "wanda-plaza")
    starts = bot.clock.now() + timedelta(days=2)
    created = await new_activity(
        bot,
        secretary,
        "植树",
        starts,
        kind="tree_planting",
        latitude=WANDA[0],
        longitude=WANDA[1],
        check_in_by_location=True,
    )
    async with bot.database.sessions.begin() as session:  # Zhao signs up: he is concerned
        await sign_up(session, created.id, await member_of(session, zhao.id), bot.clock.now())
    card = await open_card(secretary)
    assert said("zh", "venue.location_set_radius", metres=300) in card
    await secretary.press(t("zh", "manage.checkin_settings"))
    screen = await settings_screen(secretary)
    assert screen[-1] == [t("zh", "checkin_settings.save")]
    assert [mark("zh", "checkin_settings.check_out", False)] in screen  # tree planting
    screen = await pressed(secretary, said("zh", "checkin_settings.radius", metres=300))
    await pressed(secretary, mark("zh", "checkin_settings.check_out", False))
    await pressed(secretary, mark("zh", "checkin_settings.walk_ins", False))
    # A stale toggle of another activity's screen changes nothing here.
    message = secretary.chat.ordered()[-1]
    secretary.press_forged(message, f"org:ct:{created.id + 1}:qr:0")
    assert (await secretary.answer_of_last_press()).text == said("zh", "error.stale_button")
    secretary.press_forged(message, f"org:cisv:{created.id + 1}")
    assert (await secretary.answer_of_last_press()).text == said("zh", "error.stale_button")

    await secretary.press(t("zh", "checkin_settings.save"))
    saved = (await secretary.next_event()).message
    assert saved.text.startswith(said("zh", "manage.checkin_saved", title="植树"))
    assert said("zh", "venue.location_set_radius", metres=500) in saved.text
    assert (await secretary.answer_of_last_press()).text == said("zh", "manage.checkin_saved_note")
    async with bot.database.sessions() as session:
        activity = await session.scalar(select(Activity).where(Activity.id == created.id))
    assert activity.check_in_radius_m == 500 and activity.check_out_required
    assert activity.walk_ins_allowed and activity.check_in_by_qr
    await zhao.expect_no_message(within=0.3)  # how check-in works is not theirs to be told
    # The screen is closed: its buttons are stale now.
    secretary.press_forged(message, f"org:cisv:{created.id}")
    assert (await secretary.answer_of_last_press()).text == said("zh", "error.stale_button")

"""/new: a secretary schedules a meeting or an event, one question at a time, then a preview.

The questions are the steps of NEW below, in order; a step this kind of activity does
not need is passed over (the venue's location when the place was given as a location).
The venue and the check-in settings are asked as handlers.venue asks them. What has been
answered is the conversation's data, so a half-written activity survives a restart. Every
value is checked by the domain (models.activities) as it is typed, and again when the
activity is published.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from html import escape

from telegram import InlineKeyboardMarkup, Location, ReplyKeyboardRemove, Update

from handlers.context import BotContext
from handlers.conversation import Ask, Conversation, Data, State, Step
from handlers.picker import date_picker, moment_examples, typed_moment
from handlers.ui import edit_or_say, say
from handlers.venue import (
    ask_for_venue,
    settings_lines,
    settings_of,
    settings_step,
    venue_keyboard,
)
from models.activities import (
    EXPECTED_KINDS,
    ActivityDraft,
    ActivityKind,
    ActivityMode,
    PledgeKind,
    RecurrenceRule,
    check_draft_time,
    check_location,
    clean_capacity,
    clean_description,
    clean_place,
    clean_title,
    mode_of,
    publish_draft,
    series_starts,
    validate_draft,
)
from models.org import get_unit, unit_display_name
from models.permissions import Permission
from models.staff import staff_unit, staff_units
from views.activities import card_lines, seats_line
from views.buttons import (
    CheckInContinue,
    Discard,
    NewDuration,
    NewKind,
    NewPledge,
    NewRepeat,
    NewUnit,
    NewUnits,
    NoCapacityLimit,
    NoVenue,
    Publish,
    SkipStep,
    StaleButton,
    UntilStart,
    VenueOfUnit,
    choice_keyboard,
    keyboard,
    short,
)
from views.dates import format_day, format_when
from views.labels import ACTIVITY_KIND_KEYS, PLEDGE_CHOICE_KEYS

KINDS = tuple(ActivityKind)
PLEDGES = tuple(PledgeKind)
# Repeat choices for organisational life; 0 is "just once".
REPEATS = (
    None,
    RecurrenceRule.last_friday_monthly,
    RecurrenceRule.monthly_day,
    RecurrenceRule.weekly,
)
REPEAT_KEYS = (
    "new.repeat.once",
    "new.repeat.last_friday",
    "new.repeat.monthly_day",
    "new.repeat.weekly",
)
DURATIONS = (60, 120, 180, 240)  # minutes offered as buttons for the end
PREVIEW_DATES = 3  # the first dates of a series that the preview names
TIME_FIELDS = {"start": "starts_at", "end": "ends_at", "deadline": "signup_deadline"}


async def new_command(update: Update, context: BotContext) -> None:
    """/new: the kind comes first, as it decides the questions."""
    assert update.effective_user
    await staff_units(context.session, update.effective_user.id, Permission.manage_activities)
    await NEW.ask(update, context, "kind")


# --- the questions ------------------------------------------------------------------------


async def ask_kind(update: Update, context: BotContext, state: State) -> None:
    rows = [[(context.t(ACTIVITY_KIND_KEYS[kind]), NewKind(i))] for i, kind in enumerate(KINDS)]
    say(update, context, context.t("new.ask_kind"), keyboard(*rows))


async def ask_unit(update: Update, context: BotContext, state: State) -> None:
    say(update, context, context.t("new.ask_unit"), await _unit_choices(update, context, 1))


async def _unit_choices(update: Update, context: BotContext, page: int) -> InlineKeyboardMarkup:
    assert update.effective_user
    me = update.effective_user.id
    units = await staff_units(context.session, me, Permission.manage_activities)
    options = [(unit_display_name(u, context.language), NewUnit(u.id)) for u in units]
    return choice_keyboard(options, page, NewUnits)


def _asker(key: str, skip: bool = False) -> Ask:
    """A question that is a text to type (with a Skip button where it may be left out)."""

    async def ask(update: Update, context: BotContext, state: State) -> None:
        say(update, context, context.t(key), _skip(context, state) if skip else None)

    return ask


def _skip(context: BotContext, state: State) -> InlineKeyboardMarkup:
    return keyboard([(context.t("new.skip"), SkipStep(state.step.name))])


async def ask_start(update: Update, context: BotContext, state: State) -> None:
    today = context.today(await context.unit_zone(state.data["unit_id"]))
    question = context.t("new.ask_start", **moment_examples(today, context.language))
    say(update, context, question, date_picker(context, today))


async def ask_end(update: Update, context: BotContext, state: State) -> None:
    row = [
        (context.t("new.duration_hours", hours=minutes // 60), NewDuration(minutes))
        for minutes in DURATIONS
    ]
    say(update, context, context.t("new.ask_end"), keyboard(row))


async def ask_capacity(update: Update, context: BotContext, state: State) -> None:
    no_limit = keyboard([(context.t("new.no_limit"), NoCapacityLimit())])
    say(update, context, context.t("new.ask_capacity"), no_limit)


async def ask_deadline(update: Update, context: BotContext, state: State) -> None:
    until_start = keyboard([(context.t("new.until_start"), UntilStart())])
    say(update, context, context.t("new.ask_deadline"), until_start)


async def ask_pledge(update: Update, context: BotContext, state: State) -> None:
    rows = [[(context.t(PLEDGE_CHOICE_KEYS[p]), NewPledge(i))] for i, p in enumerate(PLEDGES)]
    say(update, context, context.t("new.ask_pledge"), keyboard(*rows))


async def ask_repeat(update: Update, context: BotContext, state: State) -> None:
    rows = [[(context.t(key), NewRepeat(i))] for i, key in enumerate(REPEAT_KEYS)]
    say(update, context, context.t("new.ask_repeat"), keyboard(*rows))


async def ask_venue(update: Update, context: BotContext, state: State) -> None:
    """The venue's location (for check-in by location): shared, the unit's, or none."""
    unit = await get_unit(context.session, state.data["unit_id"])
    choices = [[(context.t("venue.none"), NoVenue())]]
    if unit.latitude is not None:
        name = unit_display_name(unit, context.language)
        choices.insert(0, [(short(context.t("venue.use_unit", unit=name)), VenueOfUnit())])
    ask_for_venue(update, context, context.t("new.ask_venue"), choices)


def draft_fields(data: Data) -> ActivityDraft:
    """The activity as answered so far (every question up to the preview)."""

    def moment(key: str) -> datetime | None:
        return datetime.fromisoformat(data[key]) if data.get(key) else None

    return ActivityDraft(
        kind=data["kind"],
        title=data["title"],
        starts_at=datetime.fromisoformat(data["starts_at"]),
        ends_at=datetime.fromisoformat(data["ends_at"]),
        description=data.get("description", ""),
        place=data.get("place", ""),
        signup_deadline=moment("signup_deadline"),
        capacity=data.get("capacity"),
        pledge_kind=data.get("pledge", PledgeKind.none),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        **settings_of(data),
    )


async def ask_preview(update: Update, context: BotContext, state: State) -> None:
    """The activity's card as members will read it once published (views.activities, as
    /events shows it: for a series, its first occurrence), then what only the secretary
    sees: the venue, how members check in, the dates it repeats on."""
    unit = await get_unit(context.session, state.data["unit_id"])
    zone = await context.zone(unit)
    now, language = context.now(), context.language
    fields = validate_draft(draft_fields(state.data), now, check_past=False)
    repeat = REPEATS[state.data.get("repeat", 0)]
    starts = series_starts(fields, repeat, zone, now, PREVIEW_DATES) if repeat else []
    if starts:  # the series starts on the first day of its rule, not on the typed one
        length = fields.ends_at - fields.starts_at
        fields = replace(fields, starts_at=starts[0], ends_at=starts[0] + length)
    lines = [context.t("new.preview_title"), context.t("new.preview_card"), ""]
    lines += card_lines(language, fields, unit, zone)
    seats = seats_line(language, fields, fields.capacity, 0)
    if seats:
        lines += ["", seats]
    lines += ["", context.t("new.preview_yours"), *settings_lines(context, state.data)]
    if repeat is not None:
        days = [format_day(start.astimezone(zone).date(), language) for start in starts]
        rule = context.t(REPEAT_KEYS[state.data["repeat"]])
        joined = context.t("new.preview_days_joiner").join(days)
        lines.append(context.t("new.preview_repeat", rule=rule, days=joined))
    markup = keyboard(
        [(context.t("new.publish"), Publish())],
        [(context.t("new.discard"), Discard())],
    )
    say(update, context, "\n".join(lines), markup)


# --- typed answers ---------------------------------------------------------------------------


async def save_typed(update: Update, context: BotContext, state: State, text: str) -> None:
    """A typed answer to any of the text questions; the domain says what is wrong."""
    step, data = state.step.name, state.data
    if step in TIME_FIELDS:
        moment = typed_moment(update, context, text, await context.unit_zone(data["unit_id"]))
        if moment is None:
            return
        _set_time(context, data, step, moment)
        say(update, context, context.t("new.time_read", when=format_when(moment, context.language)))
    elif step == "title":
        data["title"] = clean_title(text)
    elif step == "place":
        data["place"] = clean_place(text)
    elif step == "description":
        data["description"] = clean_description(text)
    else:
        data["capacity"] = clean_capacity(text)
    await next_question(update, context, state)


async def place_located(
    update: Update, context: BotContext, state: State, location: Location
) -> None:
    """A location shared for the place: kept, and the place's name asked still."""
    assert update.effective_user
    _set_venue(state.data, location.latitude, location.longitude)
    await NEW.save(context, update.effective_user.id, state)
    say(update, context, context.t("new.place_located"), _skip(context, state))


async def venue_shared(
    update: Update, context: BotContext, state: State, location: Location
) -> None:
    _set_venue(state.data, location.latitude, location.longitude)
    say(update, context, context.t("venue.saved"), ReplyKeyboardRemove())
    await next_question(update, context, state)


def _set_venue(data: Data, latitude: float | None, longitude: float | None) -> None:
    """The venue's coordinates into the data, once the domain accepts them."""
    check_location(latitude, longitude)
    data["latitude"], data["longitude"] = latitude, longitude


def _set_time(context: BotContext, data: Data, step: str, moment: datetime) -> None:
    """A start, end or deadline into the data, once the domain accepts it."""
    starts_at = datetime.fromisoformat(data["starts_at"]) if "starts_at" in data else None
    check_draft_time(TIME_FIELDS[step], moment, context.now(), starts_at)
    data[TIME_FIELDS[step]] = moment.isoformat()


def _needed(step: str, data: Data) -> bool:
    kind = ActivityKind(data["kind"])
    if step in ("capacity", "deadline"):
        return mode_of(kind) is ActivityMode.signup
    if step == "pledge":
        return kind is ActivityKind.tree_planting
    if step == "repeat":
        return kind in EXPECTED_KINDS
    if step == "venue":
        return "latitude" not in data
    return True


async def next_question(update: Update, context: BotContext, state: State) -> None:
    """Go on after the current step, passing over what this kind does not need."""
    assert update.effective_user
    done, data = state.step.name, state.data
    if done == "kind" and "unit_id" not in data:
        me = update.effective_user.id
        units = await staff_units(context.session, me, Permission.manage_activities)
        if len(units) == 1:  # nothing to choose
            data["unit_id"] = units[0].id
            done = "unit"
    later = NEW.order[NEW.order.index(done) + 1 :]
    await NEW.ask(update, context, next(s for s in later if _needed(s, data)), data)


# --- presses ---------------------------------------------------------------------------------


async def _state(update: Update, context: BotContext, *steps: str) -> State:
    assert update.effective_user
    return await NEW.require(context, update.effective_user.id, *steps)


async def kind_chosen(update: Update, context: BotContext, press: NewKind) -> None:
    state = await _state(update, context, "kind")
    if press.index >= len(KINDS):
        raise StaleButton(press.index)
    kind = KINDS[press.index]
    state.data = {"kind": str(kind)}
    edit_or_say(
        update, context, context.t("new.kind_chosen", kind=context.t(ACTIVITY_KIND_KEYS[kind]))
    )
    await next_question(update, context, state)


async def units_page(update: Update, context: BotContext, press: NewUnits) -> None:
    await _state(update, context, "unit")
    markup = await _unit_choices(update, context, press.page)
    edit_or_say(update, context, context.t("new.ask_unit"), markup)


async def unit_chosen(update: Update, context: BotContext, press: NewUnit) -> None:
    assert update.effective_user
    state = await _state(update, context, "unit")
    unit = await staff_unit(
        context.session, update.effective_user.id, Permission.manage_activities, press.unit_id
    )
    state.data["unit_id"] = unit.id
    name = escape(unit_display_name(unit, context.language))
    edit_or_say(update, context, context.t("manage.line.unit", unit=name))
    await next_question(update, context, state)


async def start_picked(update: Update, context: BotContext, state: State, moment: datetime) -> None:
    """The start picked on the date picker (handlers.picker)."""
    _set_time(context, state.data, "start", moment)
    edit_or_say(
        update, context, context.t("new.time_read", when=format_when(moment, context.language))
    )
    await next_question(update, context, state)


async def duration_chosen(update: Update, context: BotContext, press: NewDuration) -> None:
    state = await _state(update, context, "end")
    if press.minutes not in DURATIONS:
        raise StaleButton(press.minutes)
    starts = datetime.fromisoformat(state.data["starts_at"])
    state.data["ends_at"] = (starts + timedelta(minutes=press.minutes)).isoformat()
    await next_question(update, context, state)


async def no_limit_chosen(update: Update, context: BotContext, press: NoCapacityLimit) -> None:
    state = await _state(update, context, "capacity")
    state.data["capacity"] = None
    await next_question(update, context, state)


async def until_start_chosen(update: Update, context: BotContext, press: UntilStart) -> None:
    state = await _state(update, context, "deadline")
    state.data["signup_deadline"] = None
    await next_question(update, context, state)


async def pledge_chosen(update: Update, context: BotContext, press: NewPledge) -> None:
    state = await _state(update, context, "pledge")
    if press.index >= len(PLEDGES):
        raise StaleButton(press.index)
    state.data["pledge"] = str(PLEDGES[press.index])
    await next_question(update, context, state)


async def repeat_chosen(update: Update, context: BotContext, press: NewRepeat) -> None:
    state = await _state(update, context, "repeat")
    if press.index >= len(REPEATS):
        raise StaleButton(press.index)
    state.data["repeat"] = press.index
    await next_question(update, context, state)


async def venue_of_unit_chosen(update: Update, context: BotContext, press: VenueOfUnit) -> None:
    state = await _state(update, context, "venue")
    unit = await get_unit(context.session, state.data["unit_id"])
    if unit.latitude is None:
        raise StaleButton("the unit has no location")
    _set_venue(state.data, unit.latitude, unit.longitude)
    name = escape(unit_display_name(unit, context.language))
    say(update, context, context.t("venue.unit_used", unit=name), ReplyKeyboardRemove())
    await next_question(update, context, state)


async def no_venue_chosen(update: Update, context: BotContext, press: NoVenue) -> None:
    state = await _state(update, context, "venue")
    _set_venue(state.data, None, None)
    say(update, context, context.t("venue.none_chosen"), ReplyKeyboardRemove())
    await next_question(update, context, state)


async def checkin_done(update: Update, context: BotContext, press: CheckInContinue) -> None:
    """The settings screen becomes what was chosen; then the preview."""
    state = await _state(update, context, "checkin")
    edit_or_say(update, context, "\n".join(settings_lines(context, state.data)))
    await next_question(update, context, state)


async def step_skipped(update: Update, context: BotContext, press: SkipStep) -> None:
    state = await _state(update, context, press.step)
    await next_question(update, context, state)


async def discarded(update: Update, context: BotContext, press: Discard) -> None:
    assert update.effective_user
    await _state(update, context)
    await NEW.end(context, update.effective_user.id)
    edit_or_say(update, context, context.t("new.discarded"))


async def published(update: Update, context: BotContext, press: Publish) -> None:
    """Create the activity (or the series and its first occurrences) from the answers."""
    assert update.effective_user
    me = update.effective_user.id
    state = await _state(update, context, "preview")
    unit = await get_unit(context.session, state.data["unit_id"])
    zone = await context.zone(unit)
    created = await publish_draft(
        context.session,
        me,
        unit.id,
        draft_fields(state.data),
        REPEATS[state.data.get("repeat", 0)],
        zone,
        context.now(),
    )
    await NEW.end(context, me)
    text = context.t("new.published", count=len(created))
    if created:
        first = format_when(created[0].starts_at.astimezone(zone), context.language)
        text += "\n" + context.t("new.published_when", when=first)
    edit_or_say(update, context, text)


NEW = Conversation(
    "new",
    [
        Step("kind", ask_kind),
        Step("unit", ask_unit),
        Step("title", _asker("new.ask_title"), on_text=save_typed),
        Step("start", ask_start, on_text=save_typed, on_moment=start_picked),
        Step("end", ask_end, on_text=save_typed),
        Step(
            "place",
            _asker("new.ask_place", skip=True),
            on_text=save_typed,
            on_location=place_located,
        ),
        Step(
            "venue",
            ask_venue,
            on_location=venue_shared,
            hint="new.venue_hint",
            reask=True,
            keyboard=venue_keyboard,
        ),
        Step("description", _asker("new.ask_description", skip=True), on_text=save_typed),
        Step("capacity", ask_capacity, on_text=save_typed),
        Step("deadline", ask_deadline, on_text=save_typed),
        Step("pledge", ask_pledge),
        Step("repeat", ask_repeat),
        settings_step(lambda data: CheckInContinue(), "checkin_settings.continue"),
        Step("preview", ask_preview),
    ],
)

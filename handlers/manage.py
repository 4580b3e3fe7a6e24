"""/activities: a secretary's activities with their counts; for one of them, who signed up,
the waitlist, leave requests, who has not answered, the check-in and check-out screens
(handlers.screens), the share QR code, changing the time or place (typed, or the venue's
location), the check-in settings (the screen of /new, from handlers.venue), cancelling,
the roster and the audit trail (handlers.roster). The domain (models.activities) checks
the permission on every read and write, and tells everyone concerned of a change.
"""

from __future__ import annotations

from functools import partial
from html import escape

from telegram import Location, ReplyKeyboardRemove, Update

from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.picker import moment_examples, typed_moment
from handlers.roster import management_rows, quorum_lines
from handlers.ui import edit_or_say, page_title, say, send_file
from handlers.venue import (
    activity_data,
    ask_for_venue,
    settings_lines,
    settings_of,
    settings_step,
    venue_keyboard,
)
from models.activities import (
    Activity,
    ActivityCounts,
    ActivityMode,
    ActivityStatus,
    Participation,
    ParticipationStatus,
    activity_counts,
    cancel_activity,
    managed_activities,
    managed_activity,
    not_answered,
    participations_page,
    share_payload,
    update_activity,
)
from models.attendance import ScreenPurpose, screen_closes_at
from models.members import Member
from models.org import get_unit, unit_display_name
from models.paging import Page, page_of
from views.activities import list_label
from views.buttons import (
    ActivityPeople,
    AskCancelActivity,
    Button,
    CancelActivity,
    ChangeActivity,
    CheckInSettings,
    DecideLeaveInList,
    ManageActivity,
    ManagePage,
    OpenScreen,
    PastActivities,
    PeoplePage,
    SaveCheckIn,
    ShareQr,
    SignInSheet,
    StaleButton,
    UnitPlace,
    keyboard,
    pager,
    short,
)
from views.dates import format_span, format_when
from views.files import qr_png
from views.labels import ACTIVITY_KIND_KEYS

PAGE_SIZE = 5  # activities with their counts
# A line of a list of people is a name (at most 50 letters: 100 UTF-16 units): 30 of them
# make about 3200, under an activity's title (at most 100).
PEOPLE_PAGE = 30
# A leave request adds its reason (at most 200): about 510 UTF-16 units a line, 6 a page.
LEAVE_PAGE = 6
LISTS = {
    1: {ParticipationStatus.signed_up, ParticipationStatus.attending},
    2: {ParticipationStatus.waitlisted},
    3: {ParticipationStatus.leave_requested},
}
NO_ANSWER = 4
LIST_KEYS = {1: "manage.list.signed_up", 2: "manage.list.waitlist", 3: "manage.list.leave"}
LEAVE_LIST = 3
CHANGES = {1: "time", 2: "place"}  # ChangeActivity.field → the step of CHANGE


async def activities_command(update: Update, context: BotContext) -> None:
    await show_list(update, context, ManagePage(1))


def _counts_text(context: BotContext, counts: ActivityCounts) -> str:
    activity = counts.activity
    if activity.status is ActivityStatus.cancelled:
        return context.t("manage.cancelled")
    if activity.mode is ActivityMode.signup:
        signed_up = counts.signed_up
        seats = f"{signed_up}/{activity.capacity}" if activity.capacity else str(signed_up)
        return context.t("manage.counts_signup", seats=seats, waitlisted=counts.waitlisted)
    return context.t(
        "manage.counts_expected",
        attending=counts.attending,
        leave=counts.leave_requested,
        excused=counts.excused,
        no_answer=counts.no_answer,
    )


async def show_list(
    update: Update, context: BotContext, press: ManagePage | PastActivities
) -> None:
    """The coming activities (or the ended ones, whose records are corrected from there),
    a page at a time, each a button to its management card."""
    assert update.effective_user
    past = isinstance(press, PastActivities)
    result = await managed_activities(
        context.session, update.effective_user.id, context.now(), press.page, PAGE_SIZE, past
    )
    other = (
        (context.t("manage.coming_button"), ManagePage(1))
        if past
        else (context.t("manage.past_button"), PastActivities(1))
    )
    if not result.items:
        nothing = "manage.none_past" if past else "manage.none"
        edit_or_say(update, context, context.t(nothing), keyboard([other]))
        return
    title_key = "manage.past_title" if past else "manage.list_title"
    title = context.t(title_key, total=result.total)
    lines = [page_title(context, title, result)]
    rows: list[list[tuple[str, Button]]] = []
    for counts in result.items:
        activity = counts.activity
        starts = activity.starts_at.astimezone(await context.activity_zone(activity))
        when = format_when(starts, context.language)
        lines.append(f"• {when} {escape(activity.title)} — {_counts_text(context, counts)}")
        # The date too: a series' occurrences have one title, the past ones span months.
        label = list_label(starts, activity.title, context.language)
        rows.append([(label, ManageActivity(activity.id))])
    rows.append(pager(result, PastActivities if past else ManagePage))
    rows.append([other])
    edit_or_say(update, context, "\n".join(lines), keyboard(*rows))


async def _managed(update: Update, context: BotContext, activity_id: int) -> Activity:
    assert update.effective_user
    return await managed_activity(context.session, update.effective_user.id, activity_id)


async def show_activity(update: Update, context: BotContext, press: ManageActivity) -> None:
    activity = await _managed(update, context, press.activity_id)
    unit = await get_unit(context.session, activity.org_unit_id)
    zone = await context.zone(unit)
    counts = await activity_counts(context.session, activity)
    when = format_span(activity.starts_at, activity.ends_at, zone, context.language)
    lines = [
        f"<b>{escape(activity.title)}</b>",
        context.t("manage.line.kind", kind=context.t(ACTIVITY_KIND_KEYS[activity.kind])),
        context.t("manage.line.unit", unit=escape(unit_display_name(unit, context.language))),
        context.t("manage.line.time", when=when),
        context.t("manage.line.place", place=escape(activity.place or "—")),
        *settings_lines(context, activity_data(activity)),
        _counts_text(context, counts),
        *await quorum_lines(context, activity),
    ]
    a = activity.id
    check_in_screen = (context.t("manage.checkin_screen"), OpenScreen(a, False))
    check_out_row: list[tuple[str, Button]] = (
        [(context.t("manage.checkout_screen"), OpenScreen(a, True))]
        if activity.check_out_required
        else []
    )
    lists = _list_rows(context, counts)
    rows: list[list[tuple[str, Button]]] = [
        *lists,
        [
            *([check_in_screen] if activity.check_in_by_qr else []),
            (context.t("manage.share_qr"), ShareQr(a)),
        ],
        [(context.t("export.sign_in_button"), SignInSheet(a))],
        check_out_row,
        [
            (context.t("manage.change_time"), ChangeActivity(a, 1)),
            (context.t("manage.change_place"), ChangeActivity(a, 2)),
        ],
        [(context.t("manage.checkin_settings"), CheckInSettings(a))],
        [(context.t("manage.cancel_activity"), AskCancelActivity(a))],
    ]
    rows.append(management_rows(context, activity))
    if activity.status is ActivityStatus.cancelled:
        lines.append(context.t("manage.cancelled"))
        rows = lists
    elif context.now() >= activity.ends_at:  # over: its lists and its record, no changes
        lines.append(context.t("events.card_over"))
        check_out = [row for row in rows if OpenScreen(a, True) in [b for _, b in row]]
        still_out = (
            check_out if screen_closes_at(activity, ScreenPurpose.check_out) > context.now() else []
        )
        rows = [*lists, management_rows(context, activity), *still_out]
    edit_or_say(update, context, "\n".join(lines), keyboard(*rows))


def _list_rows(context: BotContext, counts: ActivityCounts) -> list[list[tuple[str, Button]]]:
    """The buttons of the activity's lists, two a row: the waitlist only where there are
    seats to wait for (or someone waits still), leave requests only at organisational life
    (or where some are left)."""
    activity = counts.activity
    a = activity.id
    shown: list[tuple[str, Button]] = [(context.t(LIST_KEYS[1]), ActivityPeople(a, 1))]
    if activity.capacity is not None or counts.waitlisted:
        shown.append((context.t(LIST_KEYS[2]), ActivityPeople(a, 2)))
    if activity.mode is ActivityMode.expected or counts.leave_requested:
        shown.append((context.t(LIST_KEYS[3]), ActivityPeople(a, 3)))
    shown.append((context.t("manage.list.no_answer"), ActivityPeople(a, NO_ANSWER)))
    return [shown[i : i + 2] for i in range(0, len(shown), 2)]


async def show_people(update: Update, context: BotContext, press: ActivityPeople) -> None:
    await show_people_page(update, context, PeoplePage(press.activity_id, press.which, 1))


async def show_people_page(update: Update, context: BotContext, press: PeoplePage) -> None:
    """Who signed up, the waitlist, the leave requests (each decided from here) or who has
    not answered, a page at a time, in place of the activity's screen."""
    activity = await _managed(update, context, press.activity_id)
    leave = press.which == LEAVE_LIST
    shown: Page[tuple[Member, Participation | None]]
    if press.which == NO_ANSWER:  # worked out from the memberships, not stored: all of it
        list_key = "manage.list.no_answer"
        members = await not_answered(context.session, activity.id)
        shown = page_of([(m, None) for m in members], press.page, PEOPLE_PAGE)
    elif press.which in LISTS:
        list_key = LIST_KEYS[press.which]
        found = await participations_page(
            context.session,
            activity.id,
            LISTS[press.which],
            press.page,
            LEAVE_PAGE if leave else PEOPLE_PAGE,
        )
        shown = found.with_items([(p.member, p) for p in found.items])
    else:
        raise StaleButton(press.which)
    title = context.t(
        "manage.people_title",
        list=context.t(list_key),
        title=escape(activity.title),
        count=shown.total,
    )
    lines = [page_title(context, title, shown)]
    rows: list[list[tuple[str, Button]]] = []
    checked_in = {p.id for _, p in shown.items if p is not None and p.checked_in_at is not None}
    if checked_in:
        lines.append(context.t("manage.checked_in_legend"))
    for number, (member, participation) in enumerate(shown.items, start=shown.offset + 1):
        name = member.real_name or "—"
        line = f"{number}. {escape(name)}"
        if participation is not None and participation.id in checked_in:
            line = f"{number}. ✅ {escape(name)}"
        if leave and participation is not None:  # each request with its reason
            line = context.t(
                "manage.leave_line", line=line, reason=escape(participation.leave_reason or "")
            )
            rows.append(
                [
                    # The card's words, with the request's number (the name may be long)
                    (
                        context.t("manage.approve_leave_of", number=number),
                        DecideLeaveInList(participation.id, True, shown.page),
                    ),
                    (
                        context.t("manage.decline_leave_of", number=number),
                        DecideLeaveInList(participation.id, False, shown.page),
                    ),
                ]
            )
        lines.append(line)
    if not shown.items:
        lines.append(context.t("manage.nobody"))
    rows.append(pager(shown, partial(PeoplePage, activity.id, press.which)))
    rows.append([(context.t("button.back"), ManageActivity(activity.id))])
    edit_or_say(update, context, "\n".join(lines), keyboard(*rows))


async def send_qr(update: Update, context: BotContext, press: ShareQr) -> None:
    """A QR code of the activity's link, to share it: it opens the card. (Check-in is by
    the check-in screen's code, which changes: handlers.screens.)"""
    activity = await _managed(update, context, press.activity_id)
    link = context.link(share_payload(activity))
    caption = context.t("manage.share_caption", title=escape(activity.title), link=link)
    send_file(update, context, qr_png(link), f"activity-{activity.id}.png", caption, photo=True)


# --- changing the time or place ------------------------------------------------------------------


async def ask_change(update: Update, context: BotContext, press: ChangeActivity) -> None:
    if press.field not in CHANGES:
        raise StaleButton(press.field)
    activity = await _managed(update, context, press.activity_id)
    await CHANGE.ask(update, context, CHANGES[press.field], {"activity_id": activity.id})


async def ask_new_time(update: Update, context: BotContext, state: State) -> None:
    activity = await _managed(update, context, state.data["activity_id"])
    today = context.today(await context.activity_zone(activity))
    say(
        update,
        context,
        context.t("manage.ask_new_time", **moment_examples(today, context.language)),
    )


async def ask_new_place(update: Update, context: BotContext, state: State) -> None:
    """A typed place, the venue's location, or the unit's location where it has one."""
    activity = await _managed(update, context, state.data["activity_id"])
    unit = await get_unit(context.session, activity.org_unit_id)
    choices = []
    if unit.latitude is not None:
        name = unit_display_name(unit, context.language)
        choices.append([(short(context.t("venue.use_unit", unit=name)), UnitPlace(activity.id))])
    ask_for_venue(update, context, context.t("manage.ask_new_place"), choices)


async def save_change(update: Update, context: BotContext, state: State, text: str) -> None:
    """The new time (the duration stays) or place; everyone concerned is told."""
    activity = await _managed(update, context, state.data["activity_id"])
    if state.step.name == "time":
        zone = await context.activity_zone(activity)
        moment = typed_moment(update, context, text, zone)
        if moment is None:
            return
        changes = {"starts_at": moment, "ends_at": moment + (activity.ends_at - activity.starts_at)}
    else:
        changes = {"place": text.strip()}
    assert update.effective_user
    me = update.effective_user.id
    result = await update_activity(context.session, activity.id, me, context.now(), **changes)
    await CHANGE.end(context, me)
    changed, told = result.activity, len(result.affected_telegram_ids)
    if state.step.name == "time":  # said back in full, as /new does: a misread shows here
        zone = await context.activity_zone(changed)
        span = format_span(changed.starts_at, changed.ends_at, zone, context.language)
        say(update, context, context.t("manage.time_changed", when=span, count=told))
    else:  # the place's question showed the share-location keyboard: gone with the answer
        place = escape(changed.place or "")
        text = context.t("manage.place_changed", place=place, count=told)
        say(update, context, text, ReplyKeyboardRemove())


async def place_located(
    update: Update, context: BotContext, state: State, location: Location
) -> None:
    await _set_venue(update, context, state, location.latitude, location.longitude)


async def unit_place_chosen(update: Update, context: BotContext, press: UnitPlace) -> None:
    assert update.effective_user
    state = await CHANGE.require(context, update.effective_user.id, "place")
    if state.data["activity_id"] != press.activity_id:
        raise StaleButton(press.activity_id)
    activity = await _managed(update, context, press.activity_id)
    unit = await get_unit(context.session, activity.org_unit_id)
    if unit.latitude is None:
        raise StaleButton("the unit has no location")
    await _set_venue(update, context, state, unit.latitude, unit.longitude)


async def _set_venue(
    update: Update, context: BotContext, state: State, latitude: float, longitude: float
) -> None:
    """The venue's coordinates (checked by the domain); members are not told of them."""
    assert update.effective_user
    me = update.effective_user.id
    result = await update_activity(
        context.session,
        state.data["activity_id"],
        me,
        context.now(),
        latitude=latitude,
        longitude=longitude,
    )
    await CHANGE.end(context, me)
    activity = result.activity
    key = "manage.venue_saved" if activity.check_in_by_location else "manage.venue_saved_off"
    text = context.t(key, metres=activity.check_in_radius_m)
    say(update, context, text, ReplyKeyboardRemove())


# --- the check-in settings -----------------------------------------------------------------------


async def ask_settings(update: Update, context: BotContext, press: CheckInSettings) -> None:
    activity = await _managed(update, context, press.activity_id)
    await CHANGE.ask(update, context, "checkin", activity_data(activity))


async def settings_saved(update: Update, context: BotContext, press: SaveCheckIn) -> str:
    """Saved through the domain, which checks them; members are not told (they are not
    shown how check-in works)."""
    assert update.effective_user
    me = update.effective_user.id
    state = await CHANGE.require(context, me, "checkin")
    if state.data["activity_id"] != press.activity_id:
        raise StaleButton(press.activity_id)
    result = await update_activity(
        context.session, press.activity_id, me, context.now(), **settings_of(state.data)
    )
    await CHANGE.end(context, me)
    lines = [context.t("manage.checkin_saved", title=escape(result.activity.title))]
    lines += settings_lines(context, activity_data(result.activity))
    edit_or_say(update, context, "\n".join(lines))
    return context.t("manage.checkin_saved_note")


CHANGE = Conversation(
    "change",
    [
        Step("time", ask_new_time, on_text=save_change),
        Step(
            "place",
            ask_new_place,
            on_text=save_change,
            on_location=place_located,
            keyboard=venue_keyboard,
        ),
        settings_step(lambda data: SaveCheckIn(data["activity_id"]), "checkin_settings.save"),
    ],
)


# --- cancelling --------------------------------------------------------------------------------


async def confirm_cancel(update: Update, context: BotContext, press: AskCancelActivity) -> None:
    activity = await _managed(update, context, press.activity_id)
    markup = keyboard(
        [(context.t("manage.cancel_yes"), CancelActivity(activity.id))],
        [(context.t("button.back"), ManageActivity(activity.id))],
    )
    text = context.t("manage.cancel_confirm", title=escape(activity.title))
    edit_or_say(update, context, text, markup)


async def cancel_confirmed(update: Update, context: BotContext, press: CancelActivity) -> str:
    assert update.effective_user
    me = update.effective_user.id
    told = await cancel_activity(context.session, press.activity_id, me, context.now())
    edit_or_say(update, context, context.t("manage.cancelled_done", count=len(told)))
    return context.t("manage.cancelled")

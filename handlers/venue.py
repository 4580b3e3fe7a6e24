"""The venue's location and how members check in there: what /new (handlers.new_activity)
and the management card (handlers.manage) both ask, written once.

The location is asked with a share-location reply keyboard beside inline choices (the
unit's own location, none); a message carries one keyboard, so those are two messages.
The check-in settings are one screen of toggles edited in place (a SettingsStep of the
conversation), their values in the conversation's data under the names of
ActivityDraft's fields. The roster (the secretary marking people) always works, so every
toggle may be off. Whether the settings can work is the domain's (validate_draft).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from telegram import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, Update

from handlers.context import BotContext
from handlers.conversation import Data, State, Step, open_state
from handlers.ui import edit_or_say, say
from models.activities import CHECK_IN_FIELDS, SERVICE_KINDS, Activity, ActivityDraft, ActivityKind
from views.buttons import Button, CheckInRadius, CheckInToggle, Row, StaleButton, keyboard

RADII = (100, 300, 500, 1000)  # metres: the radius button goes round these
# CheckInToggle.setting → the field it sets, and its label.
TOGGLES = {
    "qr": "check_in_by_qr",
    "code": "check_in_by_code",
    "location": "check_in_by_location",
    "check_out": "check_out_required",
    "walk_ins": "walk_ins_allowed",
}
TOGGLE_KEYS = {
    "qr": "checkin_settings.qr",
    "code": "checkin_settings.code",
    "location": "checkin_settings.location",
    "check_out": "checkin_settings.check_out",
    "walk_ins": "checkin_settings.walk_ins",
}
METHODS = ("qr", "code", "location")
DRAFT_DEFAULTS = {f.name: f.default for f in fields(ActivityDraft) if f.name in CHECK_IN_FIELDS}


# --- the location ----------------------------------------------------------------------------


def venue_keyboard(context: BotContext) -> ReplyKeyboardMarkup:
    button = KeyboardButton(context.t("venue.share_button"), request_location=True)
    return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)


def ask_for_venue(
    update: Update, context: BotContext, question: str, choices: Sequence[Row]
) -> None:
    """The question with its inline choices, and the share-location keyboard under it."""
    if choices:
        say(update, context, question, keyboard(*choices))
        say(update, context, context.t("venue.share_below"), venue_keyboard(context))
    else:
        say(update, context, question, venue_keyboard(context))


# --- the check-in settings -------------------------------------------------------------------


def settings_of(data: Mapping[str, Any]) -> Data:
    """The check-in settings in the data, or their defaults: by location when the venue's
    location is known, the others as ActivityDraft has them."""
    located = data.get("latitude") is not None
    values = {**DRAFT_DEFAULTS, "check_in_by_location": located}
    values.update({name: data[name] for name in CHECK_IN_FIELDS if name in data})
    return values


def activity_data(activity: Activity) -> Data:
    """What the settings screen and its summary need of an existing activity."""
    return {
        "activity_id": activity.id,
        "kind": str(activity.kind),
        "latitude": activity.latitude,
        "longitude": activity.longitude,
        **{name: getattr(activity, name) for name in CHECK_IN_FIELDS},
    }


def offered(setting: str, data: Mapping[str, Any]) -> bool:
    """Whether the screen shows this toggle: location only with the venue's location,
    check-out only for service."""
    if setting == "location":
        return data.get("latitude") is not None
    if setting == "check_out":
        return ActivityKind(data["kind"]) in SERVICE_KINDS
    return setting in TOGGLES


def next_radius(metres: int) -> int:
    return next((r for r in RADII if r > metres), RADII[0])


def settings_lines(context: BotContext, data: Mapping[str, Any]) -> list[str]:
    """The venue's location and how members check in: for the preview, the card, and the
    screen once it is done."""
    values = settings_of(data)
    lines: list[str] = []
    if data.get("latitude") is not None:
        key = (
            "venue.location_set_radius" if values["check_in_by_location"] else "venue.location_set"
        )
        lines.append(context.t(key, metres=values["check_in_radius_m"]))
    methods = [context.t(TOGGLE_KEYS[m]) for m in METHODS if values[TOGGLES[m]]]
    methods.append(context.t("checkin_settings.roster"))
    lines.append(context.t("checkin_settings.summary", methods=" · ".join(methods)))
    lines += [context.t(TOGGLE_KEYS[s]) for s in ("check_out", "walk_ins") if values[TOGGLES[s]]]
    return lines


@dataclass(frozen=True, kw_only=True)
class SettingsStep(Step):
    """The settings screen as a step of a conversation, ended by its own button (made from
    the conversation's data)."""

    done: Callable[[Mapping[str, Any]], Button]
    done_label: str


def settings_step(done: Callable[[Mapping[str, Any]], Button], done_label: str) -> SettingsStep:
    return SettingsStep("checkin", ask_settings, done=done, done_label=done_label)


def settings_screen(
    context: BotContext, data: Mapping[str, Any], step: SettingsStep
) -> tuple[str, InlineKeyboardMarkup]:
    values = settings_of(data)
    screen = int(data.get("activity_id", 0))

    def toggle(setting: str) -> tuple[str, Button]:
        on = values[TOGGLES[setting]]
        label = f"{'✅' if on else '⬜'} {context.t(TOGGLE_KEYS[setting])}"
        return label, CheckInToggle(screen, setting, not on)

    rows: list[list[tuple[str, Button]]] = [[toggle("qr"), toggle("code")]]
    if offered("location", data):
        row = [toggle("location")]
        if values["check_in_by_location"]:
            metres = values["check_in_radius_m"]
            label = context.t("checkin_settings.radius", metres=metres)
            row.append((label, CheckInRadius(screen, next_radius(metres))))
        rows.append(row)
    rows += [[toggle(s)] for s in ("check_out", "walk_ins") if offered(s, data)]
    rows.append([(context.t(step.done_label), step.done(data))])
    return context.t("checkin_settings.title"), keyboard(*rows)


async def ask_settings(update: Update, context: BotContext, state: State) -> None:
    assert isinstance(state.step, SettingsStep)
    say(update, context, *settings_screen(context, state.data, state.step))


async def _open_screen(update: Update, context: BotContext, screen: int) -> State:
    """The settings screen open for this person, if the press is from it; else StaleButton."""
    assert update.effective_user
    state = await open_state(context, update.effective_user.id)
    if (
        state is None
        or not isinstance(state.step, SettingsStep)
        or state.data.get("activity_id", 0) != screen
    ):
        raise StaleButton(screen)
    return state


async def _changed(update: Update, context: BotContext, state: State) -> None:
    assert update.effective_user and isinstance(state.step, SettingsStep)
    await state.conversation.save(context, update.effective_user.id, state)
    edit_or_say(update, context, *settings_screen(context, state.data, state.step))


async def toggled(update: Update, context: BotContext, press: CheckInToggle) -> None:
    state = await _open_screen(update, context, press.activity_id)
    if not offered(press.setting, state.data):
        raise StaleButton(press.setting)
    state.data[TOGGLES[press.setting]] = press.on
    await _changed(update, context, state)


async def radius_chosen(update: Update, context: BotContext, press: CheckInRadius) -> None:
    state = await _open_screen(update, context, press.activity_id)
    if press.metres not in RADII or not settings_of(state.data)["check_in_by_location"]:
        raise StaleButton(press.metres)
    state.data["check_in_radius_m"] = press.metres
    await _changed(update, context, state)

"""The date picker: the next fortnight's days, then common times of the day picked. A
companion to typing the time, for any conversation step that takes a moment (`on_moment`:
the start of an activity in /new, the time a notice is scheduled for).

The day is kept in the conversation's data; the time is read in the time zone of the
unit the conversation is about (its data's `unit_id`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from telegram import InlineKeyboardMarkup, Update

from handlers.context import BotContext
from handlers.conversation import State, open_state
from handlers.ui import edit_or_say, say
from views.buttons import NewDay, NewTime, StaleButton, keyboard
from views.dates import format_day, parse_when

PICKER_DAYS = 14
PICKER_TIMES = (8 * 60, 9 * 60, 10 * 60, 14 * 60, 15 * 60, 16 * 60, 19 * 60, 20 * 60)


def typed_moment(update: Update, context: BotContext, text: str, zone: tzinfo) -> datetime | None:
    """A time typed as people type it, read in `zone`; None, with the reply that it could
    not be read."""
    moment = parse_when(text, context.now(), zone)
    if moment is None:
        say(update, context, context.t("new.unreadable_time"))
    return moment


def date_picker(context: BotContext, today: date) -> InlineKeyboardMarkup:
    """The next fortnight, a week a row."""
    days = [today + timedelta(days=n) for n in range(PICKER_DAYS)]
    buttons = [(format_day(day, context.language), NewDay(day.toordinal())) for day in days]
    return keyboard(*(buttons[start : start + 7] for start in range(0, PICKER_DAYS, 7)))


def time_picker() -> InlineKeyboardMarkup:
    buttons = [(f"{m // 60:02d}:{m % 60:02d}", NewTime(m)) for m in PICKER_TIMES]
    return keyboard(buttons[:4], buttons[4:])


async def _picking(update: Update, context: BotContext) -> State:
    """The open step, which must take a picked moment; an old picker is a stale button."""
    assert update.effective_user
    state = await open_state(context, update.effective_user.id)
    if state is None or state.step.on_moment is None:
        raise StaleButton("no question takes a moment now")
    return state


async def day_chosen(update: Update, context: BotContext, press: NewDay) -> None:
    assert update.effective_user
    state = await _picking(update, context)
    picked = date.fromordinal(press.ordinal)
    state.data["day"] = picked.isoformat()
    await state.conversation.save(context, update.effective_user.id, state)
    label = format_day(picked, context.language)
    edit_or_say(update, context, context.t("new.pick_time", day=label), time_picker())


async def time_chosen(update: Update, context: BotContext, press: NewTime) -> None:
    state = await _picking(update, context)
    if press.minutes not in PICKER_TIMES or "day" not in state.data:
        raise StaleButton(press.minutes)
    clock = time(press.minutes // 60, press.minutes % 60)
    zone = await context.unit_zone(state.data["unit_id"])
    moment = datetime.combine(date.fromisoformat(state.data["day"]), clock, zone)
    assert state.step.on_moment is not None
    await state.step.on_moment(update, context, state, moment)

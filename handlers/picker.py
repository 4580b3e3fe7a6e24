"""The date picker: the next fortnight's days, then common times of the day picked. A
companion to typing the time, for any conversation step that takes a moment (`on_moment`:
the start of an activity in /new, the time a notice is scheduled for).

The day is kept in the conversation's data; the time is read in the time zone of the
unit the conversation is about (its data's `unit_id`). Phones cut off a row of more than
four buttons, so the picker has at most four a row: a week is two rows (four days, then
three), and the times are two rows of four.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update

from handlers.context import BotContext
from handlers.conversation import State, open_state
from handlers.ui import edit_or_say, say
from views.buttons import NewDay, NewTime, StaleButton, keyboard
from views.dates import format_day, next_weekday, parse_when, typed_iso, typed_spoken

PICKER_DAYS = 14
PICKER_TIMES = (8 * 60, 9 * 60, 10 * 60, 14 * 60, 15 * 60, 16 * 60, 19 * 60, 20 * 60)
ROW_MAX = 4  # buttons a row that a phone shows whole
SATURDAY = 5
EXAMPLE_TIME = time(9)


def moment_examples(today: date, language: str) -> dict[str, str]:
    """The examples of a question that takes a moment: the next Saturday at 09:00, typed
    in figures and as people say it ("2026-03-14 09:00", "3月14日 上午9点"), always ahead."""
    day = next_weekday(today, SATURDAY)
    return {
        "iso": typed_iso(day, EXAMPLE_TIME),
        "spoken": typed_spoken(day, EXAMPLE_TIME, language),
    }


def typed_moment(update: Update, context: BotContext, text: str, zone: ZoneInfo) -> datetime | None:
    """A time typed as people type it, read in `zone` (maybe in the past: the caller's
    check says so); None, with the reply that it could not be read."""
    moment = parse_when(text, context.now(), zone)
    if moment is None:
        examples = moment_examples(context.today(zone), context.language)
        say(update, context, context.t("new.unreadable_time", **examples))
    return moment


def day_keyboard(today: date, language: str) -> InlineKeyboardMarkup:
    """The next fortnight from today, a week in two rows: four days, then three."""
    days = [today + timedelta(days=n) for n in range(PICKER_DAYS)]
    buttons = [(format_day(day, language), NewDay(day.toordinal())) for day in days]
    weeks = [buttons[start : start + 7] for start in range(0, PICKER_DAYS, 7)]
    return keyboard(*(row for week in weeks for row in (week[:ROW_MAX], week[ROW_MAX:])))


def date_picker(context: BotContext, today: date) -> InlineKeyboardMarkup:
    return day_keyboard(today, context.language)


def time_picker() -> InlineKeyboardMarkup:
    buttons = [(f"{m // 60:02d}:{m % 60:02d}", NewTime(m)) for m in PICKER_TIMES]
    return keyboard(
        *(buttons[start : start + ROW_MAX] for start in range(0, len(buttons), ROW_MAX))
    )


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
    # The example is the picked day itself, typed, so that it is never a day gone by.
    example = typed_spoken(picked, time(9, 30), context.language)
    question = context.t("new.pick_time", day=label, example=example)
    edit_or_say(update, context, question, time_picker())


async def time_chosen(update: Update, context: BotContext, press: NewTime) -> None:
    state = await _picking(update, context)
    if press.minutes not in PICKER_TIMES or "day" not in state.data:
        raise StaleButton(press.minutes)
    clock = time(press.minutes // 60, press.minutes % 60)
    zone = await context.unit_zone(state.data["unit_id"])
    moment = datetime.combine(date.fromisoformat(state.data["day"]), clock, zone)
    assert state.step.on_moment is not None
    await state.step.on_moment(update, context, state, moment)

"""The date picker's keyboards (handlers.picker): at most four buttons a row, which a
phone shows whole, and every day of the fortnight in order."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from telegram import InlineKeyboardMarkup

from handlers.picker import PICKER_DAYS, PICKER_TIMES, ROW_MAX, day_keyboard, time_picker
from views import buttons as b

TODAYS = [date(2026, 3, 9) + timedelta(days=n) for n in range(7)] + [date(2026, 12, 27)]


def presses(markup: InlineKeyboardMarkup) -> list[b.Button]:
    return [
        b.Button.parse(button.callback_data) for row in markup.inline_keyboard for button in row
    ]


@pytest.mark.parametrize("today", TODAYS, ids=str)
@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_days_are_a_fortnight_four_at_most_a_row(today: date, language: str) -> None:
    markup = day_keyboard(today, language)
    assert max(len(row) for row in markup.inline_keyboard) <= ROW_MAX
    assert [len(row) for row in markup.inline_keyboard] == [4, 3, 4, 3]  # a week in two rows
    days = [today + timedelta(days=n) for n in range(PICKER_DAYS)]
    assert presses(markup) == [b.NewDay(day.toordinal()) for day in days]


def test_the_times_four_at_most_a_row() -> None:
    markup = time_picker()
    assert max(len(row) for row in markup.inline_keyboard) <= ROW_MAX
    assert presses(markup) == [b.NewTime(minutes) for minutes in PICKER_TIMES]

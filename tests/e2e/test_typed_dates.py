"""Dates as secretaries type and pick them: in /new and /notify the typed forms are read and
shown back in full, a time gone by is refused as passed, the questions' examples are days
ahead that are read when typed back, and no row of the date picker has more than four
buttons (phones cut off a longer row).

Today is Tuesday 10 March 2026, 09:30 in Zhanjiang (the e2e clock's START_TIME).
"""

from __future__ import annotations

import pytest

from sandbox.person import Person
from sandbox.state import ChatMessage
from tests.e2e.conftest import RunningBot, seed_org
from tests.e2e.test_events import member
from tests.e2e.test_notices import NO_DEADLINE, SCHEDULE, compose, write
from tests.e2e.test_organize import secretary_of
from tests.e2e.texts import said, t

# The examples of the start question: the next Saturday, 09:00.
START_EXAMPLES = {
    "zh": {"iso": "2026-03-14 09:00", "spoken": "3月14日 上午9点"},
    "en": {"iso": "2026-03-14 09:00", "spoken": "14 Mar 9am"},
}
ROW_MAX = 4


async def start_question(secretary: Person, language: str) -> ChatMessage:
    """/new for a committee meeting, up to the question of when it starts (returned)."""
    await secretary.send("/new")
    await secretary.next_message()
    await secretary.press(t(language, "activity.kind.committee_meeting"))
    await secretary.next_event()
    await secretary.next_message()  # the title?
    await secretary.send("支委会" if language == "zh" else "Committee meeting")
    return await secretary.next_message()


def widest_row(message: ChatMessage) -> int:
    return max(len(row) for row in message.buttons)


# What the secretary types for the start, and the date shown back.
TYPED_STARTS = {
    "zh": [
        ("本周五 14:00", "2026年3月13日（周五）14:00"),
        ("这周五下午两点", "2026年3月13日（周五）14:00"),
        ("5号下午3点", "2026年4月5日（周日）15:00"),  # the 5th has passed: April's
        ("下午3点", "2026年3月10日（周二）15:00"),
        ("三点半", "2026年3月10日（周二）15:30"),  # a bare 3 is the afternoon
        ("后天上午十点半", "2026年3月12日（周四）10:30"),
        ("周六 9:00", "2026年3月14日（周六）09:00"),
        ("下周六上午9点", "2026年3月21日（周六）09:00"),
        ("下下周一 9点", "2026年3月23日（周一）09:00"),
    ],
    "en": [
        ("Saturday 9am", "Sat 14 Mar 2026, 09:00"),
        ("this Saturday 9am", "Sat 14 Mar 2026, 09:00"),
        ("next Saturday 9am", "Sat 21 Mar 2026, 09:00"),  # as 下周六
        ("tomorrow 3pm", "Wed 11 Mar 2026, 15:00"),
        ("3pm", "Tue 10 Mar 2026, 15:00"),
    ],
}
# Times gone by, typed for the start.
TYPED_PAST = {
    "zh": ["昨天上午9点", "昨天 9:00", "前天下午3点", "上午9点"],  # 上午9点: half an hour ago
    "en": ["yesterday 9am", "9am"],
}


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_typed_start_is_shown_back_in_full(bot: RunningBot, language: str) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza", language=language)
    for typed, shown in TYPED_STARTS[language]:
        await start_question(secretary, language)
        await secretary.send(typed)
        read_back = (await secretary.next_message()).text
        assert read_back == said(language, "new.time_read", when=shown), typed
        assert (await secretary.next_message()).text == said(language, "new.ask_end")


@pytest.mark.parametrize(
    ("language", "shown"),
    [("zh", "2026年3月14日（周六）09:00"), ("en", "Sat 14 Mar 2026, 09:00")],
)
async def test_the_examples_are_ahead_and_read_when_typed_back(
    bot: RunningBot, language: str, shown: str
) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza", language=language)
    examples = START_EXAMPLES[language]
    for form in ("iso", "spoken"):
        question = await start_question(secretary, language)
        assert question.text == said(language, "new.ask_start", **examples)
        await secretary.send(examples[form])
        read_back = said(language, "new.time_read", when=shown)
        assert (await secretary.next_message()).text == read_back
        await secretary.next_message()  # the end?
    # What could not be read is answered with the same examples.
    await start_question(secretary, language)
    await secretary.send("some day")
    assert (await secretary.next_message()).text == said(
        language, "new.unreadable_time", **examples
    )
    await secretary.send(examples["spoken"])
    assert (await secretary.next_message()).text == said(language, "new.time_read", when=shown)


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_time_gone_by_is_refused_as_passed(bot: RunningBot, language: str) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza", language=language)
    await start_question(secretary, language)
    for typed in TYPED_PAST[language]:
        await secretary.send(typed)
        refused = (await secretary.next_message()).text
        assert refused == said(language, "error.starts_at_past"), typed
    # Nothing was kept: the question is still the start's, and a time ahead is taken.
    await secretary.send("明天上午9点")
    shown = "2026年3月11日（周三）09:00" if language == "zh" else "Wed 11 Mar 2026, 09:00"
    assert (await secretary.next_message()).text == said(language, "new.time_read", when=shown)


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_no_row_of_the_date_picker_has_more_than_four_buttons(
    bot: RunningBot, language: str
) -> None:
    await seed_org(bot.database)
    secretary = await secretary_of(bot, "wanda-plaza", language=language)
    days = await start_question(secretary, language)
    assert widest_row(days) <= ROW_MAX
    labels = [label for row in days.buttons for label in row]
    assert len(labels) == 14  # the fortnight, in order
    first, last = (
        ("3月10日 周二", "3月23日 周一") if language == "zh" else ("Tue 10 Mar", "Mon 23 Mar")
    )
    assert labels[0] == first and labels[-1] == last
    assert [len(row) for row in days.buttons] == [4, 3, 4, 3]  # a week in two rows
    await secretary.press(labels[2])
    times = (await secretary.next_event()).message
    assert times.buttons and widest_row(times) <= ROW_MAX
    assert [label for row in times.buttons for label in row][:2] == ["08:00", "09:00"]


async def test_notify_deadline_and_sending_time_typed(bot: RunningBot, secretary: Person) -> None:
    """The deadline typed is shown back in full (it had no reply of its own), and the
    sending time typed too; times gone by are refused; the examples are ahead."""
    await member(bot, "王小明", secretary)
    await write(secretary, "支部党员大会改在三楼会议室召开。")
    await secretary.press(t("zh", "notify.audience.unit"))
    await secretary.next_event()
    await secretary.next_message()  # the options
    await secretary.press(t("zh", "notify.options_done"))
    await secretary.next_event()
    deadline_question = await secretary.next_message()
    # The coming Friday, 18:00.
    example = "3月13日 下午6点"
    assert deadline_question.text == said("zh", "notify.ask_deadline", example=example)
    await secretary.send("昨天上午9点")
    assert (await secretary.next_message()).text == said("zh", "error.notice_deadline_past")
    await secretary.send(example)
    set_to = said("zh", "notify.deadline_set", deadline="2026年3月13日（周五）18:00")
    assert (await secretary.next_message()).text == set_to
    summary = await secretary.next_message()
    assert summary.text.startswith(said("zh", "notify.preview_title"))
    copy = await secretary.next_message()  # the notice as members will read it
    assert "2026年3月13日（周五）18:00" in copy.text

    # Scheduled: the picker's rows, the example (the coming Monday), a time gone by.
    copy = await compose(secretary, deadline=NO_DEADLINE)
    await secretary.press(SCHEDULE, copy)
    schedule_question = await secretary.next_message()
    example = "3月16日 上午9点"
    assert schedule_question.text == said("zh", "notify.ask_schedule", example=example)
    assert widest_row(schedule_question) <= ROW_MAX
    await secretary.send("昨天 9:00")
    assert (await secretary.next_message()).text == said("zh", "error.notice_send_at_past")
    await secretary.send(example)
    scheduled = await secretary.next_message()
    assert scheduled.text.startswith(
        said("zh", "notify.scheduled", when="2026年3月16日（周一）09:00")
    )

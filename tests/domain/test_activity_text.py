"""The free text of activities (models.text.clean_text, used by every operation that stores
one), the kind before a title, list buttons with their dates, and the dates of a series as
/new's preview names them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    ActivityKind,
    RecurrenceRule,
    create_activity,
    get_activity,
    publish_draft,
    series_starts,
    update_activity,
    validate_draft,
)
from models.attendance import correct_attendance, request_leave
from models.errors import InvalidInput
from models.members import Member
from models.notices import clean_body
from models.notifications import take_pending
from models.org import OrgUnit
from models.text import clean_text
from tests.domain.conftest import NOW
from tests.domain.test_activities_support import (
    MEETING,
    SECRETARY,
    START,
    active_member,
    draft,
    grant_staff,
)
from views.activities import kind_title, list_label, names_its_kind
from views.buttons import LABEL_MAX, display_width

ZONE = ZoneInfo("Asia/Shanghai")
# What shows nothing: spaces, the ideographic space of Chinese keyboards, a zero-width
# space (how a "blank" message is sent), a tab and a line break, a soft hyphen.
BLANK = ("", "   ", "\u3000\u3000", "\u200b", " \t\n ", "\u00ad")
# Control characters (an escape sequence, a bell, NUL), and a lone surrogate.
CONTROL = ("\x1b[31m红色\x1b[0m", "响铃\x07", "a\x00b", "x\ud800")


@pytest.fixture
async def wanda(session: AsyncSession, units: dict[str, OrgUnit]) -> OrgUnit:
    await grant_staff(session, units)
    return units["wanda-plaza"]


@pytest.fixture
async def member(session: AsyncSession, wanda: OrgUnit) -> Member:
    return await active_member(session, wanda, 100, "王小明")


# --- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", BLANK)
def test_a_text_that_shows_nothing_is_empty(blank: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_text(blank, "place", 200, required=True)
    assert caught.value.code == "place.empty"
    assert clean_text(blank, "place", 200, required=False) == ""  # where it may be left out
    assert clean_text(blank, "description", 200, required=False, multiline=True) == ""


@pytest.mark.parametrize("text", CONTROL)
def test_control_characters_are_refused(text: str) -> None:
    for multiline in (False, True):
        with pytest.raises(InvalidInput) as caught:
            clean_text(text, "title", 100, required=False, multiline=multiline)
        assert caught.value.code == "title.invalid"


def test_what_is_kept_and_what_is_cleaned() -> None:
    one_line = clean_text("  党群\u3000服务站 \n 三楼\u200b ", "place", 200, required=True)
    assert one_line == "党群 服务站 三楼"
    family = "👨\u200d👩\u200d👧 亲子植树"  # the joiners make one emoji: kept
    assert clean_text(family, "title", 100, required=True) == family
    assert clean_text("Cafe\u0301", "title", 100, required=True) == "Café"  # NFC: one letter
    text = " 内容：\r\n\t1. 学习  \r\n\r\n2. 讨论\u2028完 "
    cleaned = clean_text(text, "description", 2000, required=True, multiline=True)
    assert cleaned == "内容：\n\t1. 学习\n\n2. 讨论\n完"
    assert clean_text("字" * 100, "title", 100, required=True) == "字" * 100
    with pytest.raises(InvalidInput) as caught:
        clean_text("字" * 101, "title", 100, required=True)
    assert caught.value.code == "title.too_long"


# --- every operation uses it --------------------------------------------------------------------


async def test_creating_refuses_a_blank_or_broken_title(
    session: AsyncSession, wanda: OrgUnit
) -> None:
    for title, code in (
        ("   ", "title.empty"),
        ("\u3000", "title.empty"),
        (CONTROL[0], "title.invalid"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await create_activity(session, SECRETARY, wanda.id, draft(title=title), NOW)
        assert caught.value.code == code
    with pytest.raises(InvalidInput) as caught:
        await create_activity(session, SECRETARY, wanda.id, draft(place="三楼\x07"), NOW)
    assert caught.value.code == "place.invalid"
    # A place or description left out is stored empty.
    activity = await create_activity(
        session, SECRETARY, wanda.id, draft(place=" \u3000 ", description="\u200b"), NOW
    )
    assert (activity.place, activity.description) == ("", "")


async def test_changing_a_text_to_nothing_is_refused_and_changes_nothing(
    session: AsyncSession, wanda: OrgUnit, member: Member
) -> None:
    activity = await create_activity(session, SECRETARY, wanda.id, draft(MEETING), NOW)
    take_pending(session)
    for changes, code in (
        ({"place": "   "}, "place.empty"),
        ({"place": "\u3000"}, "place.empty"),
        ({"place": "\u200b"}, "place.empty"),
        ({"title": "  "}, "title.empty"),
        ({"description": "\n\n"}, "description.empty"),
        ({"place": "会议室\x1b"}, "place.invalid"),
        ({"description": "议程\x00"}, "description.invalid"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await update_activity(session, activity.id, SECRETARY, NOW, **changes)
        assert caught.value.code == code
    stored = await get_activity(session, activity.id)
    assert (stored.title, stored.place) == (MEETING.title, MEETING.place)
    assert take_pending(session) == []  # nobody was told of anything
    changed = await update_activity(session, activity.id, SECRETARY, NOW, place="  三楼  会议室 ")
    assert changed.changed == {"place": (MEETING.place, "三楼 会议室")}
    assert changed.affected_telegram_ids == [member.telegram_id]


async def test_reasons_follow_the_same_rule(
    session: AsyncSession, wanda: OrgUnit, member: Member
) -> None:
    meeting = await create_activity(session, SECRETARY, wanda.id, draft(MEETING), NOW)
    for reason, code in (
        ("   ", "reason.empty"),
        ("\u200b", "reason.empty"),
        ("病\x00", "reason.invalid"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await request_leave(session, meeting.id, member, reason, NOW)
        assert caught.value.code == code
    row = await request_leave(session, meeting.id, member, " 出差\u3000在外 ", NOW)
    assert row.leave_reason == "出差 在外"
    under_way = START + timedelta(minutes=10)
    for reason, code in (("\u3000", "reason.empty"), ("\x1b", "reason.invalid")):
        with pytest.raises(InvalidInput) as caught:
            await correct_attendance(
                session, meeting.id, member.id, SECRETARY, "present", reason, under_way
            )
        assert caught.value.code == code


@pytest.mark.parametrize("blank", [*BLANK, "<b>\u3000</b>", "<i>\u200b</i>\n"])
def test_a_notice_that_shows_nothing_is_empty(blank: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_body(blank, None)
    assert caught.value.code == "notice.empty"
    assert clean_body(" <b>通知</b>\u200b ", None) == "<b>通知</b>\u200b"  # kept as typed


# --- the kind before a title ----------------------------------------------------------------------


def test_the_kind_is_not_said_twice() -> None:
    lecture = ActivityKind.lecture
    assert kind_title(lecture, "学习二十大精神", "zh") == "党课：学习二十大精神"
    assert kind_title(lecture, "学习二十大精神", "en") == "Party lecture: 学习二十大精神"
    # Begins with the kind's name, in the language shown or the other one: left as it is.
    assert kind_title(lecture, "党课：学习二十大精神", "zh") == "党课：学习二十大精神"
    assert kind_title(lecture, "党课：学习二十大精神", "en") == "党课：学习二十大精神"
    assert kind_title(lecture, "party lecture on the constitution", "zh") == (
        "party lecture on the constitution"
    )
    assert names_its_kind(ActivityKind.theme_day, "主题党日")
    assert not names_its_kind(ActivityKind.theme_day, "三月主题党日")  # it does not begin so
    assert not names_its_kind(ActivityKind.volunteer, "党课：学习")  # another kind's name


def test_a_list_button_carries_the_date() -> None:
    starts = datetime(2026, 12, 12, 9, 0, tzinfo=ZONE)
    assert list_label(starts, "每月主题党日", "zh") == "12月12日 周六 09:00 每月主题党日"
    assert list_label(starts, "Theme day", "en") == "Sat 12 Dec 09:00 Theme day"
    long = list_label(starts, "长" * 100, "zh")
    assert display_width(long) in (LABEL_MAX - 1, LABEL_MAX)  # cut to what a phone shows
    assert long.startswith("12月12日 周六 09:00 长") and long.endswith("…")


# --- the preview's dates of a series ------------------------------------------------------------


async def test_the_preview_names_the_dates_the_series_is_published_on(
    session: AsyncSession, wanda: OrgUnit
) -> None:
    """Typed for a Thursday, repeating on the last Friday: the series starts on the 27th."""
    typed = draft(
        MEETING,
        kind=ActivityKind.theme_day,
        starts_at=datetime(2026, 3, 19, 9, 0, tzinfo=ZONE),
        ends_at=datetime(2026, 3, 19, 11, 0, tzinfo=ZONE),
    )
    rule = RecurrenceRule.last_friday_monthly
    named = series_starts(validate_draft(typed, NOW), rule, ZONE, NOW, 3)
    published = await publish_draft(session, SECRETARY, wanda.id, typed, rule, ZONE, NOW)
    assert named == [a.starts_at for a in published[:3]]
    assert [s.astimezone(ZONE).strftime("%m-%d %H:%M") for s in named] == [
        "03-27 09:00",
        "04-24 09:00",
        "05-29 09:00",
    ]

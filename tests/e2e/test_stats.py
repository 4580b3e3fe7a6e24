"""/stats end to end: a secretary reads the branch's figures for a period, changes the
period (presets and typed dates), opens the charts and the lists; a committee sees its
units side by side and opens one; members and wrong periods are refused politely.

The record is made through the domain, on the test clock (a general meeting where two
check in, one is excused and one makes up for it; a volunteer day with a no-show), and
closed by the scheduler as in production.
"""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import func, select

from models.account import Account
from models.activities import Activity, sign_up
from models.attendance import decide_leave, mark_made_up, request_leave, roster_check_in
from models.members import Member, get_member
from models.org import unit_by_code
from sandbox.person import Person
from tests.e2e.conftest import RunningBot, grant, meet, new_activity
from tests.e2e.test_events import member, settle
from tests.e2e.texts import said, t

WANDA = "湛江万达广场商圈党支部"
QUARTER = t("zh", "stats.preset.quarter")


async def member_id(bot: RunningBot, person: Person) -> int:
    async with bot.database.sessions() as session:
        found = await get_member(session, person.id)
        assert found is not None
        return found.id


async def a_quarter_of_record(bot: RunningBot, secretary: Person) -> dict[str, Person]:
    """Four members; a general meeting (two present, one excused, one made up) and a
    volunteer day (one came, one did not), both over and closed by the scheduler."""
    people = {
        name: await member(bot, name, secretary) for name in ("王小明", "张丽", "陈刚", "刘芳")
    }
    now = bot.clock.now()  # Tuesday 10 March 2026, 09:30 in Zhanjiang
    meeting = await new_activity(
        bot, secretary, "三月支部党员大会", now + timedelta(minutes=30), 1, kind="general_meeting"
    )
    service = await new_activity(
        bot, secretary, "社区志愿服务", now + timedelta(hours=2), 2, capacity=10
    )
    ids = {name: await member_id(bot, person) for name, person in people.items()}
    async with bot.database.sessions.begin() as session:
        chen = await get_member(session, people["陈刚"].id)
        assert chen is not None
        leave = await request_leave(session, meeting.id, chen, "出差", now)
        await decide_leave(session, leave.id, secretary.id, True, now)
        for name in ("王小明", "张丽"):
            signer = await get_member(session, people[name].id)
            assert signer is not None
            await sign_up(session, service.id, signer, now)
    bot.clock.set(meeting.starts_at)
    async with bot.database.sessions.begin() as session:
        for name in ("王小明", "张丽"):
            await roster_check_in(session, meeting.id, ids[name], secretary.id, bot.clock.now())
    bot.clock.set(service.starts_at)
    async with bot.database.sessions.begin() as session:
        await roster_check_in(session, service.id, ids["王小明"], secretary.id, bot.clock.now())
    bot.clock.set(service.ends_at + timedelta(minutes=5))
    await settle(bot, secretary, *people.values())  # both records closed
    async with bot.database.sessions.begin() as session:
        await mark_made_up(
            session, meeting.id, ids["刘芳"], secretary.id, "自学会议精神", bot.clock.now()
        )
    await settle(bot, secretary, *people.values())
    async with bot.database.sessions() as session:
        closed = await session.scalar(
            select(func.count()).where(Activity.record_closed_at.is_not(None))
        )
        assert closed == 2
    return people


def life(kind: str, held: int, required: int, per: str, ok: bool) -> str:
    return said(
        "zh",
        "stats.life_line",
        mark="✅" if ok else "⚠️",
        kind=t("zh", f"activity.kind.{kind}"),
        held=held,
        required=required,
        per=t("zh", per),
    )


async def test_a_branch_secretary_reads_the_quarter(bot: RunningBot, secretary: Person) -> None:
    await a_quarter_of_record(bot, secretary)
    await secretary.send("/stats")
    figures = await secretary.next_message()
    text = figures.text
    assert text.startswith(said("zh", "stats.title", unit=WANDA))
    dates = said("zh", "stats.period", first="2026年1月1日", last="2026年3月31日")
    assert said("zh", "stats.period_named", name=QUARTER, dates=dates) in text
    # 三会一课 in the first quarter, on 10 March: January and February are over.
    assert life("general_meeting", 1, 1, "stats.per_quarter", ok=True) in text
    assert life("committee_meeting", 0, 3, "stats.per_month", ok=False) in text
    assert said("zh", "stats.life_late", due=2, held=0) in text
    plan = said("zh", "stats.life_plan", needed=3, scheduled=0, last="2026年3月31日", days=22)
    assert plan in text
    assert life("lecture", 0, 1, "stats.per_quarter", ok=False) in text
    attendance = said(
        "zh",
        "stats.attendance",
        meetings=1,
        present=2,
        excused=1,
        absent=0,
        made_up=1,
        rate="50%",
    )
    assert attendance in text
    assert said("zh", "stats.service", activities=1, hours="2") in text
    seats = said("zh", "stats.seats", signed_up=2, capacity=10, waitlisted=0, no_shows=1)
    assert seats in text
    reporting = said(
        "zh",
        "stats.reporting",
        reported=4,
        approved=4,
        rejected=0,
        waiting=0,
        members=4,
        floating=0,
        dual=0,
    )
    assert reporting in text
    assert said("zh", "stats.no_notices") in text
    labels = [label for row in figures.buttons for label in row]
    for key in ("stats.members_button", "stats.activities_button", "stats.export_button"):
        assert t("zh", key) in labels
    # The branch secretary may not see the committee above: no way up.
    assert not any(label.startswith("⬆️") for label in labels)

    # Members, lowest attendance first.
    await secretary.press(t("zh", "stats.members_button"))
    await secretary.next_event()
    lines = figures.text.split("\n")
    assert said("zh", "stats.member_line", name="王小明", present=1, excused=0, absent=0,
                made_up=0, rate="100%") in lines  # fmt: skip
    assert said("zh", "stats.member_line", name="陈刚", present=0, excused=1, absent=0,
                made_up=0, rate="0%") in lines  # fmt: skip
    zero = [i for i, line in enumerate(lines) if line.endswith("（0%）")]
    full = [i for i, line in enumerate(lines) if line.endswith("（100%）")]
    assert len(zero) == 2 and len(full) == 2 and max(zero) < min(full)
    await secretary.press(t("zh", "stats.back_button"))
    await secretary.next_event()
    assert figures.text == text

    # The meetings, each with its attendance.
    await secretary.press(t("zh", "stats.activities_button"))
    await secretary.next_event()
    assert "三月支部党员大会" in figures.text
    assert "出席 2 / 应到 4（50%）" in figures.text
    await secretary.press(t("zh", "stats.back_button"))
    await secretary.next_event()
    assert figures.text == text

    # The spreadsheets of the same unit and quarter come as a message of their own: the
    # figures stay where they were.
    await secretary.press(t("zh", "stats.export_button"))
    menu = await secretary.next_message()
    assert menu.text.startswith(said("zh", "export.menu", unit=WANDA, first="2026-01-01",
                                     last="2026-03-31", format=t("zh", "export.format.excel"))
                                .split("\n")[0])  # fmt: skip
    assert "✓ " + QUARTER in [label for row in menu.buttons for label in row]
    assert figures.text == text


async def test_charts_arrive_as_pictures(bot: RunningBot, secretary: Person) -> None:
    await a_quarter_of_record(bot, secretary)
    await secretary.send("/stats")
    await secretary.next_message()
    for button, chart in (
        ("stats.chart_button.att", "stats.chart.attendance"),
        ("stats.chart_button.life", "stats.chart.life"),
        ("stats.chart_button.hours", "stats.chart.hours"),
    ):
        await secretary.press(t("zh", button))
        picture = await secretary.next_message()
        assert picture.photo is not None, secretary.transcript()
        assert picture.caption is not None
        assert picture.caption.startswith(t("zh", chart) + "：" + WANDA)
        image = Image.open(io.BytesIO(picture.photo_bytes or b""))
        assert image.format == "PNG" and image.width >= 800


async def test_periods_presets_typed_and_refused(bot: RunningBot, secretary: Person) -> None:
    await a_quarter_of_record(bot, secretary)
    await secretary.send("/stats")
    figures = await secretary.next_message()
    await secretary.press(t("zh", "stats.preset.month"))
    await secretary.next_event()
    month = said("zh", "stats.period", first="2026年3月1日", last="2026年3月31日")
    assert said("zh", "stats.period_named", name=t("zh", "stats.preset.month"), dates=month) in (
        figures.text
    )
    # Last year: nothing recorded, said plainly, and no charts of nothing.
    await secretary.press(t("zh", "stats.preset.last_year"))
    await secretary.next_event()
    assert said("zh", "stats.empty") in figures.text
    labels = [label for row in figures.buttons for label in row]
    assert t("zh", "stats.chart_button.att") not in labels

    await secretary.press(t("zh", "stats.dates_button"))
    assert (await secretary.next_message()).text == said("zh", "stats.ask_dates")
    for typed, error in (
        ("2026-03-31 2026-01-01", "error.period_reversed"),
        ("2016-01-01 2026-03-01", "error.period_too_long"),
        ("2027-01-01 2027-03-31", "error.period_not_begun"),
        ("2026-02-30 2026-03-01", "error.period_impossible"),
        ("上个月吧", "error.period_unreadable"),
    ):
        await secretary.send(typed)
        assert (await secretary.next_message()).text == said("zh", error), typed
    await secretary.send("2026年3月1日至3月10日")
    shown = await secretary.next_message()
    typed = said("zh", "stats.period", first="2026年3月1日", last="2026年3月10日")
    assert typed in shown.text and "出勤率 50%" in shown.text
    # The question is closed: a word now is not a period.
    await secretary.send("2026")
    assert (await secretary.next_message()).text != shown.text


async def test_a_committee_sees_its_units_side_by_side(bot: RunningBot, secretary: Person) -> None:
    await a_quarter_of_record(bot, secretary)
    street = bot.emulator.user("街道书记", language_code="zh")
    await grant(bot.database, street, "secretary", "lehua-street")
    await meet(street)
    await street.send("/stats")
    figures = await street.next_message()
    assert figures.text.startswith(said("zh", "stats.title", unit="乐华街道党工委"))
    # The units one level down, side by side: the community that holds both branches.
    assert "海滨北社区党委" in figures.text and "出勤率 50%" in figures.text
    await street.press(t("zh", "stats.chart_button.att"))
    picture = await street.next_message()
    assert picture.photo is not None
    # Down the tree to the branch (through its community), and back up.
    while WANDA not in [row[0] for row in figures.buttons]:
        below = [row[0] for row in figures.buttons if row[0].startswith("海滨北")]
        assert below, street.transcript()
        await street.press(below[0])
        await street.next_event()
    await street.press(WANDA)
    await street.next_event()
    assert figures.text.startswith(said("zh", "stats.title", unit=WANDA))
    assert "出勤率 50%" in figures.text
    assert any(label.startswith("⬆️") for row in figures.buttons for label in row)


async def test_members_and_strangers_are_refused(bot: RunningBot, secretary: Person) -> None:
    people = await a_quarter_of_record(bot, secretary)
    wang = people["王小明"]
    await wang.send("/stats")
    assert (await wang.next_message()).text == said("zh", "error.secretaries_only")
    await secretary.send("/stats")
    figures = await secretary.next_message()
    # A member presses the buttons of the figures forwarded to them: refused, nothing shown.
    forwarded = await wang.forward(figures)
    wang.press_forged(forwarded, figures.inline_keyboard[-1][0]["callback_data"])
    answer = await wang.answer_of_last_press()
    assert answer.show_alert
    async with bot.database.sessions() as session:
        questions = await session.scalar(select(func.count()).where(Account.awaiting.is_not(None)))
    # A forged period or unit: a clear answer, never a crash.
    async with bot.database.sessions() as session:
        wanda = (await unit_by_code(session, "wanda-plaza")).id
        sibling = (await unit_by_code(session, "huaduhui")).id
        above = (await unit_by_code(session, "lehua-street")).id
    for data, key in (
        (f"sts:of:{wanda}:2026023020260301:1", "error.period_invalid"),
        (f"sts:of:{wanda}:2016010120260331:1", "error.period_too_long"),
        ("sts:of:999999:2026010120260331:1", "error.not_found"),
        (f"sts:of:{sibling}:2026010120260331:1", "error.permission_denied"),
        (f"sts:of:{above}:2026010120260331:1", "error.permission_denied"),
        (f"sts:chart:{sibling}:att:2026010120260331", "error.permission_denied"),
        (f"sts:mem:{sibling}:2026010120260331:1", "error.permission_denied"),
        (f"sts:dates:{sibling}", "error.permission_denied"),
        (f"sts:pre:{wanda}:decade", "error.stale_button"),
        (f"sts:chart:{wanda}:pie:2026010120260331", "error.stale_button"),
        # Last year: nothing happened, so there is nothing to draw (and it is said).
        (f"sts:chart:{wanda}:hours:2025010120251231", "stats.nothing_to_draw"),
    ):
        secretary.press_forged(figures, data)
        assert (await secretary.answer_of_last_press()).text == said("zh", key), data
    async with bot.database.sessions() as session:
        after = await session.scalar(select(func.count()).where(Account.awaiting.is_not(None)))
        assert after == questions
        assert await session.scalar(select(func.count()).select_from(Member)) == 4


async def test_in_english(bot: RunningBot, secretary: Person) -> None:
    await a_quarter_of_record(bot, secretary)
    carol = bot.emulator.user("Carol King", language_code="en")
    await grant(bot.database, carol, "secretary", "wanda-plaza")
    await meet(carol)
    await carol.send("/stats")
    figures = await carol.next_message()
    name = "Zhanjiang Wanda Plaza Commercial District Branch"
    assert figures.text.startswith(said("en", "stats.title", unit=name))
    dates = said("en", "stats.period", first="1 Jan 2026", last="31 Mar 2026")
    assert said("en", "stats.period_named", name="This quarter", dates=dates) in figures.text
    assert said("en", "stats.life_line", mark="✅", kind="General meeting", held=1, required=1,
                per=t("en", "stats.per_quarter")) in figures.text  # fmt: skip
    attendance = said("en", "stats.attendance", meetings=1, present=2, excused=1, absent=0,
                      made_up=1, rate="50%")  # fmt: skip
    assert attendance in figures.text
    await carol.press(t("en", "stats.chart_button.life"))
    picture = await carol.next_message()
    assert picture.photo is not None and picture.caption is not None
    assert picture.caption.startswith("Organisational life held: " + name)
    await carol.press(t("en", "stats.dates_button"))
    await carol.next_message()
    await carol.send("2026-03-31 2026-01-01")
    assert (await carol.next_message()).text == said("en", "error.period_reversed")

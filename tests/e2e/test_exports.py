"""/export end to end: the menu, the period and the format, the files as members of the
chat receive them, the sign-in sheet from an activity's card, refusals, and the word
said before a big export. The emulator fails each test on any request Telegram would
reject (tests/e2e/conftest.py)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
from sqlalchemy import insert, select

from models.members import Member, Membership, MembershipKind, MembershipStatus, Via
from models.org import unit_by_code
from sandbox.person import Person
from sandbox.state import ChatMessage
from tests.e2e.conftest import THURSDAY_9AM, RunningBot, new_activity
from tests.e2e.test_events import member, settle
from tests.e2e.texts import said, t
from views.buttons import ExportFile, ExportMenu

WANDA = "湛江万达广场商圈党支部"


def rows_of(document: ChatMessage) -> list[tuple[object, ...]]:
    sheet = openpyxl.load_workbook(io.BytesIO(document.document_bytes)).active
    return list(sheet.iter_rows(values_only=True))


async def open_menu(secretary: Person) -> ChatMessage:
    await secretary.send("/export")
    return await secretary.next_message()


async def test_a_secretary_exports_the_books(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    await member(bot, "张伟", secretary)
    menu = await open_menu(secretary)
    # This month, in Zhanjiang.
    assert menu.text == said(
        "zh", "export.menu", unit=WANDA, first="2026-03-01", last="2026-03-31", format="Excel"
    )
    assert [t("zh", "export.what.roster"), t("zh", "export.what.register")] == menu.buttons[0]
    assert "✓ " + t("zh", "stats.preset.month") in menu.buttons[3]
    assert "✓ " + t("zh", "export.format.excel") in menu.buttons[-1]

    # The roster: as it stands today.
    await secretary.press(t("zh", "export.what.roster"), menu)
    roster = await secretary.next_message()
    assert roster.document_name == "roster-wanda-plaza-20260310.xlsx"
    assert roster.caption == said(
        "zh", "export.caption_undated", unit=WANDA, what=t("zh", "export.what.roster"), count=2
    )
    rows = rows_of(roster)
    assert rows[0][:4] == tuple(
        t("zh", f"export.column.{c}") for c in ("name", "phone", "member_type", "unit")
    )
    assert sorted(row[0] for row in rows[1:]) == ["张伟", "王小明"]
    assert {row[3] for row in rows[1:]} == {WANDA}

    # This quarter, as CSV: the activities.
    await new_activity(bot, secretary, "义诊", capacity=20)
    await settle(bot, secretary, wang)
    await secretary.press(t("zh", "stats.preset.quarter"), menu)
    menu = (await secretary.next_event()).message
    assert "2026-01-01" in menu.text and "2026-03-31" in menu.text
    assert "✓ " + t("zh", "stats.preset.quarter") in menu.buttons[3]
    await secretary.press(t("zh", "export.format.csv"), menu)
    menu = (await secretary.next_event()).message
    assert "✓ " + t("zh", "export.format.csv") in menu.buttons[-1]
    await secretary.press(t("zh", "export.what.activities"), menu)
    activities = await secretary.next_message()
    assert activities.document_name == "activities-wanda-plaza-20260101-20260331.csv"
    assert activities.document_bytes.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    table = list(csv.reader(io.StringIO(activities.document_bytes.decode("utf-8-sig"))))
    assert table[0][0] == t("zh", "export.column.starts")
    (volunteering,) = table[1:]
    local_start = f"{THURSDAY_9AM + timedelta(hours=8):%Y-%m-%d %H:%M}"  # UTC+8
    assert volunteering[:4] == [
        local_start,
        f"{THURSDAY_9AM + timedelta(hours=10):%Y-%m-%d %H:%M}",
        t("zh", "activity.kind.volunteer"),
        "义诊",
    ]
    assert volunteering[7] == "0/20"

    # Nothing held yet: a message, not an empty file.
    await secretary.press(t("zh", "export.what.attendance"), menu)
    empty = await secretary.next_message()
    assert empty.text == said("zh", "export.empty", what=t("zh", "export.what.attendance"))
    assert empty.document_name is None


async def test_the_sign_in_sheet_from_the_activity_card(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    zhang = await member(bot, "张伟", secretary)
    await new_activity(bot, secretary, "支部党员大会", kind="general_meeting", place="党群服务中心")
    await settle(bot, secretary, wang, zhang)
    await secretary.send("/activities")
    listing = await secretary.next_message()
    await secretary.press(listing.buttons[0][0], listing)
    card = (await secretary.next_event()).message
    await secretary.press(t("zh", "export.sign_in_button"), card)
    sheet = await secretary.next_message()
    assert sheet.document_name and sheet.document_name.startswith("sign-in-wanda-plaza-20260312-")
    rows = rows_of(sheet)
    assert rows[0][0] == said("zh", "export.sign_in.title", title="支部党员大会")
    assert rows[3][0] == "地点：党群服务中心"
    assert rows[4] == ("序号", "姓名", "所在单位", "签到", "备注")
    assert sorted(row[1] for row in rows[5:]) == ["张伟", "王小明"]
    assert {row[2] for row in rows[5:]} == {WANDA}


async def test_members_are_refused_and_forged_presses_answered(
    bot: RunningBot, secretary: Person, org: dict[str, int]
) -> None:
    wang = await member(bot, "王小明", secretary)
    await wang.send("/export")
    refusal = await wang.next_message()
    assert refusal.text == said("zh", "error.secretaries_only")
    await wang.send("/register")
    assert (await wang.next_message()).text == refusal.text  # the same refusal

    # A secretary's button, forwarded to (or forged by) a member: refused, nothing sent.
    wanda = org["wanda-plaza"]
    wang.press_forged(refusal, ExportFile(wanda, "roster", 20260301_20260331, False).pack())
    answer = await wang.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.permission_denied")

    menu = await open_menu(secretary)
    forged = {
        ExportFile(wanda, "passwords", 20260301_20260331, False): "error.stale_button",
        ExportFile(wanda, "roster", 20260399_20260331, False): "error.period_invalid",
        ExportMenu(wanda, 20260331_20260301, False): "error.period_reversed",
        ExportMenu(wanda, 20270101_20271231, False): "error.period_not_begun",
        ExportMenu(wanda, 20100101_20260331, False): "error.period_too_long",
        ExportMenu(org["huaduhui"], 20260301_20260331, False): "error.permission_denied",
        ExportMenu(999_999, 20260301_20260331, False): "error.not_found",
    }
    for button, key in forged.items():
        secretary.press_forged(menu, button.pack())
        answer = await secretary.answer_of_last_press()
        assert answer.show_alert and answer.text == said("zh", key), button
    await secretary.expect_no_message()


async def test_a_big_export_says_it_is_being_prepared(bot: RunningBot, secretary: Person) -> None:
    now = bot.clock.now()
    async with bot.database.sessions.begin() as session:
        unit = await unit_by_code(session, "wanda-plaza")
        await session.execute(
            insert(Member),
            [
                {"telegram_id": 10_000 + i, "real_name": f"党员{i:04d}", "consent_at": now,
                 "created_at": now, "updated_at": now}
                for i in range(2100)
            ],
        )  # fmt: skip
        ids = list(await session.scalars(select(Member.id).where(Member.telegram_id >= 10_000)))
        await session.execute(
            insert(Membership),
            [
                {"member_id": i, "org_unit_id": unit.id, "kind": MembershipKind.primary,
                 "status": MembershipStatus.active, "via": Via.secretary,
                 "requested_at": now, "decided_at": now}
                for i in ids
            ],
        )  # fmt: skip
    menu = await open_menu(secretary)
    await secretary.press(t("zh", "export.what.roster"), menu)
    progress = await secretary.next_event()
    document = await secretary.next_event()
    assert document.kind == "new" and document.message.document_name
    assert len(rows_of(document.message)) == 2101  # one file, every row
    done = await secretary.next_event()
    assert progress.kind == "new" and progress.message.history[0]["text"] == said(
        "zh", "export.preparing", count=2100
    )  # first said, then edited once the file is there
    assert done.kind == "edit" and done.message is progress.message
    assert done.text == said("zh", "export.ready", count=2100)

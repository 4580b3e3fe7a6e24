"""The export files read back: spreadsheets cell by cell (openpyxl), CSV with the csv
module; headers in both languages, moments in the unit's zone, the sign-in sheet's print
settings. Rows are made by hand: the queries are tested in tests/domain/test_exports.py."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from models.activities import Activity, ActivityKind, ActivityMode
from models.exports import (
    ActivityRow,
    Cell,
    Matrix,
    MatrixColumn,
    MatrixRow,
    RosterRow,
    SignInRow,
    SignInSheet,
)
from models.members import MemberType
from models.org import OrgUnit
from views.exports import activities_table, attendance_table, roster_table, sign_in_file, table_file
from views.files import text_width
from views.i18n import t

ZONE = ZoneInfo("Asia/Shanghai")
# 23:30 UTC on 1 March is 07:30 on 2 March in Zhanjiang: the date changes with the zone.
LATE = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
NAMES = {1: "湛江万达广场商圈党支部"}
ROSTER = [
    RosterRow("王小明", "+8613800138000", MemberType.floating, 1, LATE, True),
    RosterRow("Ann", None, None, 1, None, False),
]


def read(body: bytes) -> openpyxl.worksheet.worksheet.Worksheet:
    return openpyxl.load_workbook(io.BytesIO(body)).active


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_roster_spreadsheet(language: str) -> None:
    sheet = read(table_file(roster_table(ROSTER, NAMES, language, ZONE), as_csv=False))
    headers = [c.value for c in sheet[1]]
    assert headers == [
        t(language, key)
        for key in (
            "export.column.name",
            "export.column.phone",
            "export.column.member_type",
            "export.column.unit",
            "export.column.approved_at",
            "export.column.dual_reporting",
        )
    ]
    assert all(cell.font.b for cell in sheet[1])
    assert [c.value for c in sheet[2]] == [
        "王小明",
        "+8613800138000",
        t(language, "member_type.floating"),
        "湛江万达广场商圈党支部",
        "2026-03-02 07:30",  # in the unit's zone
        t(language, "export.yes"),
    ]
    assert [c.value for c in sheet[3]] == [
        "Ann",
        None,
        None,
        NAMES[1],
        None,
        t(language, "export.no"),
    ]
    assert sheet.freeze_panes == "A2"
    assert sheet.title == t(language, "export.what.roster")
    # Wide enough for the unit's name, whose 11 Chinese characters take two columns each.
    assert sheet.column_dimensions["D"].width >= 22
    assert sheet.column_dimensions["A"].width >= text_width(headers[0])


def test_csv_has_the_same_columns_and_a_byte_order_mark() -> None:
    body = table_file(roster_table(ROSTER, NAMES, "zh", ZONE), as_csv=True)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "姓名"
    assert rows[1] == ["王小明", "+8613800138000", "流动党员", NAMES[1], "2026-03-02 07:30", "是"]
    assert rows[2] == ["Ann", "", "", NAMES[1], "", "否"]


def test_text_width_counts_chinese_twice() -> None:
    assert (text_width("abc"), text_width("党支部"), text_width("党a"), text_width(None)) == (
        3,
        6,
        3,
        0,
    )


def test_activities_and_the_attendance_matrix() -> None:
    activity = ActivityRow(
        LATE, LATE, ActivityKind.volunteer, "义诊", 1, "万达", False, ActivityMode.signup,
        None, 3, 10, 2, 0, 1, 0, 0,
    )  # fmt: skip
    cancelled = activity._replace(cancelled=True)
    sheet = read(table_file(activities_table([activity, cancelled], NAMES, "en", ZONE), False))
    assert [c.value for c in sheet[2]] == [
        "2026-03-02 07:30", "2026-03-02 07:30", t("en", "activity.kind.volunteer"),
        "义诊", NAMES[1], "万达", t("en", "export.mode.signup"), "3/10", 2, 0, 1, 0, 0, None,
    ]  # fmt: skip
    assert sheet["N3"].value == t("en", "export.cancelled") and sheet["H3"].value is None

    matrix = Matrix(
        [MatrixColumn(7, LATE, "支部党员大会"), MatrixColumn(8, LATE, "主题党日")],
        [MatrixRow(1, "王小明", 1, (Cell.present, None), 1, 0, 0, 0)],
    )
    sheet = read(table_file(attendance_table(matrix, NAMES, "zh", ZONE), False))
    assert [c.value for c in sheet[1]] == [
        "姓名", "所在单位", "2026-03-02 支部党员大会", "2026-03-02 主题党日",
        "出席", "请假", "缺席", "补学", "出勤率",
    ]  # fmt: skip
    assert [c.value for c in sheet[2]] == ["王小明", NAMES[1], "出席", None, 1, 0, 0, 0, "100%"]


def test_the_sign_in_sheet_prints_on_a4() -> None:
    unit = OrgUnit(id=1, code="wanda-plaza", name_zh=NAMES[1])
    activity = Activity(
        id=5, title="支部党员大会", place="党群服务中心", starts_at=LATE, ends_at=LATE
    )
    rows = [SignInRow(f"党员{i}", 1) for i in range(60)]
    sheet = read(sign_in_file(SignInSheet(activity, unit, rows), NAMES, "zh", ZONE))
    assert sheet["A1"].value == "支部党员大会 签到表"
    assert sheet["A2"].value == f"单位：{NAMES[1]}"
    assert sheet["A3"].value.startswith("时间：2026年3月2日")
    assert sheet["A4"].value == "地点：党群服务中心"
    assert [c.value for c in sheet[5]] == ["序号", "姓名", "所在单位", "签到", "备注"]
    assert [c.value for c in sheet[6]] == [1, "党员0", NAMES[1], None, None]
    assert sheet.max_row == 5 + 60
    assert sheet.row_dimensions[6].height >= 25  # room to sign
    assert sheet["D6"].border.left.style == "thin"
    assert sheet.print_title_rows == "$1:$5"  # the heading on every page
    assert sheet.page_setup.paperSize == 9  # A4 (openpyxl: PAPERSIZE_A4)
    assert sheet.page_setup.orientation == "portrait"
    # One page wide (an absent fitToWidth is the format's default, 1), any number down.
    assert sheet.page_setup.fitToWidth in (None, 1)
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage


def test_ten_thousand_rows_arrive_whole() -> None:
    # How fast is bench/bench_exports.py's to say; here, that none is lost or reordered.
    rows = [
        RosterRow(f"党员{i}", "+8613800138000", MemberType.regular, 1, LATE, i % 2 == 0)
        for i in range(10_000)
    ]
    sheet = read(table_file(roster_table(rows, NAMES, "zh", ZONE), as_csv=False))
    assert sheet.max_row == 10_001
    assert sheet["A2"].value == "党员0" and sheet["A10001"].value == "党员9999"

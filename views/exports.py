"""The secretaries' exports as tables (headers in the reader's language, moments in the
unit's time zone), and as files: a spreadsheet or CSV (views.files).

Everything here is plain computation on rows already read from the database (no
session, no context), so that a big export is built in a worker thread after the
update's commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from models.exports import (
    ActivityRow,
    Cell,
    ExportKind,
    Matrix,
    NoticeSheet,
    RosterRow,
    SignInSheet,
    VolunteerRow,
)
from models.members import FloatingRecord
from views.dates import format_hours, format_span
from views.files import csv_file, sign_in_sheet, spreadsheet
from views.i18n import t
from views.labels import (
    ACTIVITY_KIND_KEYS,
    DELIVERY_STATUS_KEYS,
    MEMBER_TYPE_KEYS,
    MEMBERSHIP_STATUS_KEYS,
)
from views.notices import plain_excerpt

EXPORT_KEYS = {
    ExportKind.roster: "export.what.roster",
    ExportKind.register: "export.what.register",
    ExportKind.activities: "export.what.activities",
    ExportKind.attendance: "export.what.attendance",
    ExportKind.volunteering: "export.what.volunteering",
    ExportKind.notices: "export.what.notices",
}
ROSTER_COLUMNS = (
    "export.column.name",
    "export.column.phone",
    "export.column.member_type",
    "export.column.unit",
    "export.column.approved_at",
    "export.column.dual_reporting",
)
REGISTER_COLUMNS = (
    "register.column.name",
    "register.column.phone",
    "register.column.home_branch",
    "register.column.workplace",
    "register.column.unit",
    "register.column.reported_at",
    "register.column.approved_at",
    "register.column.status",
)
ACTIVITY_COLUMNS = (
    "export.column.starts",
    "export.column.ends",
    "export.column.kind",
    "export.column.title",
    "export.column.unit",
    "export.column.place",
    "export.column.mode",
    "export.column.expected",
    "export.column.present",
    "export.column.excused",
    "export.column.absent",
    "export.column.made_up",
    "export.column.walk_ins",
    "export.column.status",
)
MATRIX_FIRST = ("export.column.name", "export.column.unit")
MATRIX_LAST = (
    "export.column.present",
    "export.column.excused",
    "export.column.absent",
    "export.column.made_up",
    "export.column.rate",
)
VOLUNTEER_COLUMNS = (
    "export.column.name",
    "export.column.unit",
    "export.column.attended",
    "export.column.hours",
    "export.column.saplings_planted",
    "export.column.saplings_pledged",
    "export.column.money_pledged",
)
NOTICE_COLUMNS = (
    "export.column.sent_at",
    "export.column.notice",
    "export.column.name",
    "export.column.unit",
    "export.column.delivery",
    "export.column.acknowledged_at",
)
SIGN_IN_COLUMNS = (
    "export.sign_in.number",
    "export.sign_in.name",
    "export.sign_in.unit_column",
    "export.sign_in.signature",
    "export.sign_in.remarks",
)
CELL_KEYS = {
    Cell.present: "export.cell.present",
    Cell.excused: "export.cell.excused",
    Cell.absent: "export.cell.absent",
    Cell.made_up: "export.cell.made_up",
    Cell.walk_in: "export.cell.walk_in",
}
MODE_KEYS = {"expected": "export.mode.expected", "signup": "export.mode.signup"}


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[object]]


def table_file(table: Table, as_csv: bool) -> bytes:
    if as_csv:
        return csv_file(table.headers, table.rows)
    return spreadsheet(table.title, table.headers, table.rows)


def _local(moment: datetime | None, zone: tzinfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}" if moment is not None else ""


def _labels(language: str, keys: dict[object, str]) -> dict[object, str]:
    return {value: t(language, key) for value, key in keys.items()}


def _headers(language: str, keys: Sequence[str]) -> list[str]:
    return [t(language, key) for key in keys]


def _rate(rate: float | None) -> str:
    return f"{rate:.0%}" if rate is not None else ""


Names = dict[int, str]  # unit id → its name in the reader's language


def roster_table(rows: list[RosterRow], names: Names, language: str, zone: tzinfo) -> Table:
    types = _labels(language, MEMBER_TYPE_KEYS)  # type: ignore[arg-type]
    yes, no = t(language, "export.yes"), t(language, "export.no")
    return Table(
        t(language, "export.what.roster"),
        _headers(language, ROSTER_COLUMNS),
        [
            [
                r.name or "",
                r.phone or "",
                types.get(r.member_type, ""),
                names.get(r.unit_id, ""),
                _local(r.approved_at, zone),
                yes if r.dual_reporting else no,
            ]
            for r in rows
        ],
    )


def register_table(records: list[FloatingRecord], language: str, zone: tzinfo) -> Table:
    """流动党员台账: what /register always gave."""
    statuses = _labels(language, MEMBERSHIP_STATUS_KEYS)  # type: ignore[arg-type]
    return Table(
        t(language, "register.sheet_title"),
        _headers(language, REGISTER_COLUMNS),
        [
            [
                r.name,
                r.phone,
                r.home_branch,
                r.workplace,
                r.unit_name,
                _local(r.reported_at, zone),
                _local(r.approved_at, zone),
                statuses[r.status],
            ]
            for r in records
        ],
    )


def activities_table(rows: list[ActivityRow], names: Names, language: str, zone: tzinfo) -> Table:
    kinds = _labels(language, ACTIVITY_KIND_KEYS)  # type: ignore[arg-type]
    modes = _labels(language, MODE_KEYS)  # type: ignore[arg-type]
    cancelled = t(language, "export.cancelled")
    table = []
    for r in rows:
        if r.expected is not None:
            expected = str(r.expected)
        else:
            expected = f"{r.seats_taken}/{r.capacity}" if r.capacity else str(r.seats_taken)
        counts: list[object] = [r.present, r.excused, r.absent, r.made_up, r.walk_ins]
        table.append(
            [
                _local(r.starts_at, zone),
                _local(r.ends_at, zone),
                kinds[r.kind],
                r.title,
                names.get(r.unit_id, ""),
                r.place,
                modes[r.mode.value],
                "" if r.cancelled else expected,
                *([""] * len(counts) if r.cancelled else counts),
                cancelled if r.cancelled else "",
            ]
        )
    return Table(t(language, "export.what.activities"), _headers(language, ACTIVITY_COLUMNS), table)


def attendance_table(matrix: Matrix, names: Names, language: str, zone: tzinfo) -> Table:
    """One row per member, one column per meeting (its date and title), then the totals."""
    cells = _labels(language, CELL_KEYS)  # type: ignore[arg-type]
    meetings = [f"{c.starts_at.astimezone(zone):%Y-%m-%d} {c.title}" for c in matrix.columns]
    headers = [*_headers(language, MATRIX_FIRST), *meetings, *_headers(language, MATRIX_LAST)]
    rows: list[list[object]] = [
        [
            r.name or "",
            names.get(r.unit_id, "") if r.unit_id is not None else "",
            *[cells[c] if c is not None else "" for c in r.cells],
            r.present,
            r.excused,
            r.absent,
            r.made_up,
            _rate(r.rate),
        ]
        for r in matrix.rows
    ]
    return Table(t(language, "export.what.attendance"), headers, rows)


def volunteer_table(rows: list[VolunteerRow], names: Names, language: str, zone: tzinfo) -> Table:
    return Table(
        t(language, "export.what.volunteering"),
        _headers(language, VOLUNTEER_COLUMNS),
        [
            [
                r.name or "",
                names.get(r.unit_id, "") if r.unit_id is not None else "",
                r.attended,
                float(format_hours(r.hours)),
                r.saplings_planted,
                r.saplings_pledged,
                r.money_pledged,
            ]
            for r in rows
        ],
    )


def notices_table(sheet: NoticeSheet, names: Names, language: str, zone: tzinfo) -> Table:
    statuses = _labels(language, DELIVERY_STATUS_KEYS)  # type: ignore[arg-type]
    queued = t(language, "sheet.status_queued")
    no_ack = t(language, "export.no_ack")
    notices = {
        n: (_local(info.sent_at, zone), plain_excerpt(info.body_html), info.ack_required)
        for n, info in sheet.notices.items()
    }
    rows: list[list[object]] = []
    for r in sheet.rows:
        sent_at, text, ack_required = notices[r.notice_id]
        acknowledged = _local(r.acknowledged_at, zone) if ack_required else no_ack
        rows.append(
            [
                sent_at,
                text,
                r.name or "—",
                names.get(r.unit_id, "") if r.unit_id is not None else "",
                statuses[r.status] if r.status is not None else queued,
                acknowledged,
            ]
        )
    return Table(t(language, "export.what.notices"), _headers(language, NOTICE_COLUMNS), rows)


def sign_in_file(sheet: SignInSheet, names: Names, language: str, zone: tzinfo) -> bytes:
    """The printable 签到表 of one activity."""
    activity = sheet.activity
    unit = names.get(sheet.unit.id, "")
    when = format_span(activity.starts_at, activity.ends_at, zone, language)
    details = [
        t(language, "export.sign_in.unit", unit=unit),
        t(language, "export.sign_in.time", when=when),
        t(language, "export.sign_in.place", place=activity.place or "—"),
    ]
    rows = [
        [number, r.name or "", names.get(r.unit_id, "") if r.unit_id is not None else "", "", ""]
        for number, r in enumerate(sheet.rows, start=1)
    ]
    title = t(language, "export.sign_in.title", title=activity.title)
    return sign_in_sheet(title, details, _headers(language, SIGN_IN_COLUMNS), rows)

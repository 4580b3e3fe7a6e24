"""Files the bot hands out: QR codes (qrcode), spreadsheets (xlsxwriter) and CSV."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence

import qrcode
from xlsxwriter import Workbook

WIDTH_MAX = 60  # characters: a longer text wraps rather than widen its column past a screen
WIDTH_SAMPLE = 2000  # rows looked at for the widths: enough to see the long ones
# Built in memory, no temporary files; dates are written as text already (the unit's zone).
WORKBOOK_OPTIONS = {"in_memory": True, "strings_to_numbers": False, "strings_to_urls": False}


def deep_link(bot_username: str, payload: str) -> str:
    """The t.me link (what our QR codes hold) that opens the bot with /start `payload`."""
    return f"https://t.me/{bot_username}?start={payload}"


def qr_png(link: str) -> bytes:
    """A QR code big enough to print for a reporting point and scan from a metre away."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=12, border=4)
    code.add_data(link)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def text_width(value: object) -> int:
    """How wide a value shows: Chinese (and other wide) characters take two columns."""
    text = "" if value is None else str(value)
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def column_widths(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[float]:
    """Widths that fit the header and the values (of the first WIDTH_SAMPLE rows)."""
    widths = [text_width(h) for h in headers]
    for row in rows[:WIDTH_SAMPLE]:
        for index, value in enumerate(row[: len(widths)]):
            width = text_width(value)
            if width > widths[index]:
                widths[index] = width
    return [min(WIDTH_MAX, width) + 2 for width in widths]


def spreadsheet(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """One sheet: bold header row, frozen, columns wide enough to read."""
    rows = list(rows)
    buffer = io.BytesIO()
    workbook = Workbook(buffer, WORKBOOK_OPTIONS)
    sheet = workbook.add_worksheet(_sheet_title(title))
    for index, width in enumerate(column_widths(headers, rows)):
        sheet.set_column(index, index, width)
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, headers, workbook.add_format({"bold": True}))
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, row)  # None leaves the cell empty
    workbook.close()
    return buffer.getvalue()


def csv_file(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The same table as CSV: UTF-8 with a byte order mark, so that Excel reads Chinese."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def _sheet_title(title: str) -> str:
    # Excel's limit is 31 characters, and these are not allowed in a sheet's name.
    return "".join("-" if c in "[]:*?/\\" else c for c in title)[:31] or "Sheet"


SIGNATURE_ROW_HEIGHT = 30  # points: room for a signature by hand
SIGNATURE_WIDTH = 24
A4 = 9  # xlsxwriter's paper number


def sign_in_sheet(
    title: str, details: Sequence[str], headers: Sequence[str], rows: Sequence[Sequence[object]]
) -> bytes:
    """A printable sign-in sheet (签到表): the title and the activity's details on top,
    then the table of `headers` (its signature column left empty) with borders and tall
    rows; A4 portrait, fitted to the page's width, the heading repeated on every page."""
    buffer = io.BytesIO()
    workbook = Workbook(buffer, WORKBOOK_OPTIONS)
    sheet = workbook.add_worksheet(_sheet_title(title))
    last = len(headers) - 1
    heading = workbook.add_format({"bold": True, "font_size": 16, "align": "center"})
    sheet.merge_range(0, 0, 0, last, title, heading)
    for number, line in enumerate(details, start=1):
        sheet.merge_range(number, 0, number, last, line)
    header_row = len(details) + 1
    boxed_header = workbook.add_format(
        {"bold": True, "border": 1, "align": "center", "valign": "vcenter"}
    )
    boxed = workbook.add_format({"border": 1, "valign": "vcenter", "text_wrap": True})
    sheet.write_row(header_row, 0, headers, boxed_header)
    for number, row in enumerate(rows, start=header_row + 1):
        sheet.set_row(number, SIGNATURE_ROW_HEIGHT)
        for column, value in enumerate(row):
            sheet.write(number, column, "" if value is None else value, boxed)
    # Widths from the table only: the title rows are merged across it.
    for index, width in enumerate(column_widths(headers, rows)):
        sheet.set_column(index, index, width)
    sheet.set_column(last - 1, last - 1, SIGNATURE_WIDTH)  # 签到: the column before remarks
    sheet.repeat_rows(0, header_row)
    sheet.set_paper(A4)
    sheet.set_portrait()
    sheet.fit_to_pages(1, 0)  # one page wide, as many down as it takes
    sheet.center_horizontally()
    workbook.close()
    return buffer.getvalue()

"""Files the bot hands out: QR codes (qrcode), spreadsheets (openpyxl) and CSV."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence

import qrcode
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

WIDTH_MAX = 60  # characters: a longer text wraps rather than widen its column past a screen
WIDTH_SAMPLE = 2000  # rows looked at for the widths: enough to see the long ones


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
    """One sheet: bold header row, frozen, columns wide enough to read. Written in
    openpyxl's write-only mode, which streams rows (several times faster for 10,000)."""
    rows = list(rows)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(title))
    for index, width in enumerate(column_widths(headers, rows), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_bold(sheet, header) for header in headers])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
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


def _bold(sheet: object, value: object) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value)  # type: ignore[arg-type]
    cell.font = Font(bold=True)
    return cell


SIGNATURE_ROW_HEIGHT = 30  # points: room for a signature by hand
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def sign_in_sheet(
    title: str, details: Sequence[str], headers: Sequence[str], rows: Sequence[Sequence[object]]
) -> bytes:
    """A printable sign-in sheet (签到表): the title and the activity's details on top,
    then the table of `headers` (its signature column left empty) with borders and tall
    rows; A4 portrait, fitted to the page's width, the heading repeated on every page."""
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = _sheet_title(title)
    columns = len(headers)
    last = get_column_letter(columns)
    sheet.append([title])
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(bold=True, size=16)
    sheet["A1"].alignment = Alignment(horizontal="center")
    for line in details:
        sheet.append([line])
        sheet.merge_cells(f"A{sheet.max_row}:{last}{sheet.max_row}")
    header_row = sheet.max_row + 1
    sheet.append(list(headers))
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.border = _BOX
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for row in rows:
        sheet.append(list(row))
        sheet.row_dimensions[sheet.max_row].height = SIGNATURE_ROW_HEIGHT
        for cell in sheet[sheet.max_row]:
            cell.border = _BOX
            cell.alignment = Alignment(vertical="center", wrap_text=True)
    # Widths from the table only: the title rows are merged across it.
    for index, width in enumerate(column_widths(headers, rows), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    signature = columns - 1  # 签到: the column before the remarks
    sheet.column_dimensions[get_column_letter(signature)].width = 24
    sheet.print_title_rows = f"1:{header_row}"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_PORTRAIT
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as it takes
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

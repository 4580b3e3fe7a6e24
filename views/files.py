"""Files the bot hands out: QR codes (qrcode) and spreadsheets (openpyxl)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import qrcode
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter


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


def spreadsheet(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """One sheet, bold header row, columns wide enough to read."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title[:31]  # Excel's limit
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(str(h)) for h in headers]
    for row in rows:
        sheet.append(list(row))
        widths = [max(w, len(str(v or ""))) for w, v in zip(widths, row, strict=False)]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(60, width * 2 + 2)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

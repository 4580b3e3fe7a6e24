"""The secretary's check-in screen as it is shown: a photo of the QR code with the title, the
live count, the spoken code and how often the code changes; shared by the handler that
opens it and the scheduler job that keeps it fresh (models.attendance.screens)."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup, InputMediaPhoto

from models.activities import Activity
from models.attendance import ScreenPurpose, Token
from views.buttons import CloseScreen, RefreshScreen, keyboard
from views.files import deep_link, qr_png
from views.i18n import t

SCAN_KEYS = {
    ScreenPurpose.check_in: "screen.scan_check_in",
    ScreenPurpose.check_out: "screen.scan_check_out",
}
COUNT_KEYS = {
    ScreenPurpose.check_in: "screen.count_check_in",
    ScreenPurpose.check_out: "screen.count_check_out",
}
ENDED_KEYS = {
    ScreenPurpose.check_in: "screen.ended_check_in",
    ScreenPurpose.check_out: "screen.ended_check_out",
}


def large_digits(code: str) -> str:
    """The spoken code as keycap emoji, which Telegram draws large: read from the back row."""
    return "".join(f"{digit}\ufe0f\u20e3" for digit in code)


def _count(language: str, purpose: ScreenPurpose, count: int, of: int) -> str:
    return t(language, COUNT_KEYS[purpose], count=count, of=of)


def screen_caption(
    language: str,
    activity: Activity,
    purpose: ScreenPurpose,
    count: int,
    of: int,
    qr_seconds: int,
) -> str:
    lines = [
        t(language, "screen.heading", title=escape(activity.title)),
        t(language, SCAN_KEYS[purpose]),
        _count(language, purpose, count, of),
    ]
    if purpose is ScreenPurpose.check_in and activity.check_in_by_code:
        lines += ["", t(language, "screen.code", code=large_digits(activity.check_in_code))]
    lines += ["", t(language, "screen.rotates", seconds=qr_seconds)]
    return "\n".join(lines)


def closed_caption(
    language: str, activity: Activity, purpose: ScreenPurpose, count: int, of: int, *, ended: bool
) -> str:
    """The last caption: the window ended (`ended`), or the screen was closed by hand."""
    return "\n".join(
        [
            t(language, "screen.heading", title=escape(activity.title)),
            t(language, ENDED_KEYS[purpose] if ended else "screen.closed"),
            _count(language, purpose, count, of),
        ]
    )


def screen_keyboard(language: str, screen_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [
            (t(language, "screen.refresh_button"), RefreshScreen(screen_id)),
            (t(language, "screen.close_button"), CloseScreen(screen_id)),
        ]
    )


def screen_photo(bot_username: str, token: Token) -> bytes:
    """The QR code of the link that a phone's camera opens: /start <token>."""
    return qr_png(deep_link(bot_username, token.payload))


def screen_media(bot_username: str, token: Token, caption: str) -> InputMediaPhoto:
    """A new code, to edit the screen's photo in place."""
    return InputMediaPhoto(
        screen_photo(bot_username, token),
        caption=caption,
    )

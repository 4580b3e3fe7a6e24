"""No token or phone number reaches a log line."""

from __future__ import annotations

import logging

from bot.logs import RedactingFormatter, redact


def test_redacts_tokens_and_phone_numbers() -> None:
    line = redact(
        "POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage "
        "contact +86 138 0013 8000 and 13800138000, update 812345678"
    )
    assert "AAHdqTcv" not in line and "138 0013" not in line and "13800138000" not in line
    assert "<token>" in line and line.count("<phone>") == 2
    assert "update 812345678" in line  # ids are not phone numbers


def test_formatter_redacts_tracebacks() -> None:
    try:
        raise ValueError("phone +8613800138000")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
        import sys

        record.exc_info = sys.exc_info()
    text = RedactingFormatter("%(message)s").format(record)
    assert "ValueError" in text and "8613800138000" not in text

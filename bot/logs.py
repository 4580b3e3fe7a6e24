"""Logging to stderr, with tokens and phone numbers removed from every line."""

from __future__ import annotations

import logging
import re
import sys

_REDACTIONS = [
    # Bot tokens, also inside the URLs that httpx logs.
    (re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}"), "<token>"),
    # International numbers (+86 138 0013 8000) and bare Chinese mobiles (13800138000).
    (re.compile(r"\+\d[\d\s-]{6,}\d"), "<phone>"),
    (re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"), "<phone>"),
]


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """Redacts the finished line, tracebacks included, so no code path can leak."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # One line per HTTP request is noise at INFO; keep their warnings.
    for noisy in ("httpx", "httpcore", "apscheduler", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

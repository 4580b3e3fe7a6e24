"""Logging to stderr, with tokens and phone numbers removed from every line.

At DEBUG, python-telegram-bot logs whole updates and requests (a shared contact's
`'phone_number': '447700900456'`, `Contact(phone_number=...)`, a vCard's TEL line, the
texts we send), aiosqlite logs every statement with its parameters, and SQLAlchemy does
too when its engine logger is switched on. Telegram sends numbers without the "+", and
the bot stores them as sent (models.members.clean_phone). The rule, as `redact` applies it:

- a number labelled as a phone (phone_number, phone, telephone, tel, 手机号, 电话 …, in any
  syntax: Python reprs, JSON also inside a string, key=value, "Phone: …" in our own texts,
  vCard TEL lines) is a phone number, whatever its length;
- so is a number written with a leading "+" and at least 6 digits;
- and a quoted string of 6-15 digits alone: how SQL parameters print a stored number
  (ids are integers, printed without quotes);
- any other run of 11-15 digits (11 or more when written with spaces, dashes or
  parentheses between them) is one too: a Chinese mobile is 11 digits, 13 with 86, and
  nearly every number with its country code has 11 or more.

Kept: up to 10 digits (Telegram user ids, update and message ids, Unix times), negative
numbers (chat ids, -100… for supergroups), 16 digits and more (callback query ids), and
dates and times. A 10-digit number with its country code ("6591234567") written bare in
free text cannot be told from a user id; Telegram's own fields label it.
"""

from __future__ import annotations

import json
import logging
import re
import sys

from models.members.profile import PHONE_DIGITS_MAX, PHONE_DIGITS_MIN

PHONE = "<phone>"
BARE_DIGITS_MIN = 11
# A digit: any script's (full-width from Chinese input methods), also as JSON escapes it.
_DIGIT = r"(?:\d|\\uff1\d)"
# Digits with single spaces or dashes, or parentheses, between them: 138 0013 8000,
# 7-916-123-45-67, (0)20 7946 0958, (202) 555-0143. Ends on a digit.
_NUMBER = rf"\(?{_DIGIT}(?:{_DIGIT}|\({_DIGIT}|\)(?=[ -]?\(?{_DIGIT})|[ -](?=\(?{_DIGIT}))*"
# What may come right before a number or a label: a repr's escaped newline, a JSON \uXXXX.
_AFTER_ESCAPE = r"(?<=\\[nrt])|(?<=\\u[0-9a-fA-F]{4})"


def _ascii_escaped(text: str) -> str:
    """`text` as JSON writes it with ensure_ascii, as SQLAlchemy stores (and logs) updates."""
    return json.dumps(text)[1:-1]


# Latin labels stand alone (not "hotel", "telegram"); Chinese ones also escaped.
_CHINESE_LABELS = ("手机号码", "手机号", "手机", "电话号码", "电话")
_LABEL = "|".join(
    [
        rf"(?:(?<![A-Za-z])|{_AFTER_ESCAPE})(?:phone_number|phone|telephone|tel)(?![A-Za-z_])",
        *(re.escape(label) for label in _CHINESE_LABELS),
        *(re.escape(_ascii_escaped(label)) for label in _CHINESE_LABELS),
    ]
)
_COLON = rf"(?:[:=：]|{re.escape(_ascii_escaped('：'))})"
_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    # Bot tokens, also inside the URLs that httpx logs.
    (re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}"), "<token>"),
    # A label, what separates it from its value (a vCard's ;TYPE=CELL, quotes, escaped
    # quotes, = or :, a tel: URI), and the number.
    (
        re.compile(
            rf"(?i)((?:{_LABEL})(?:;[^:\n\\]*)?"
            rf"[\s'\"\\]*{_COLON}?[\s'\"\\]*(?:tel:)?)\+?{_NUMBER}"
        ),
        rf"\1{PHONE}",
    ),
    (
        re.compile(rf"(['\"])\+?{_DIGIT}{{{PHONE_DIGITS_MIN},{PHONE_DIGITS_MAX}}}\1"),
        rf"\1{PHONE}\1",
    ),
]
# Not inside a longer number or word, nor a negative number or a decimal's fraction.
_UNLABELLED = re.compile(
    rf"(?:(?<![A-Za-z_+\-.])(?<!\d)|{_AFTER_ESCAPE})\+?{_NUMBER}(?![A-Za-z_])(?!\d)"
)
_ONE_DIGIT = re.compile(_DIGIT)
_ONLY_DIGITS = re.compile(f"{_DIGIT}+")


def _unlabelled(match: re.Match[str]) -> str:
    number = match.group()
    digits = len(_ONE_DIGIT.findall(number))
    if number.startswith("+"):
        is_phone = digits >= PHONE_DIGITS_MIN
    elif _ONLY_DIGITS.fullmatch(number):
        is_phone = BARE_DIGITS_MIN <= digits <= PHONE_DIGITS_MAX
    else:
        is_phone = digits >= BARE_DIGITS_MIN or (")" in number and digits >= PHONE_DIGITS_MIN)
    return PHONE if is_phone else number


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return _UNLABELLED.sub(_unlabelled, text)


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

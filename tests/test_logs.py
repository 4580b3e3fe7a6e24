"""No token or phone number reaches a log line; ids and times still do."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from telegram import Contact

from bot.logs import RedactingFormatter, redact
from models.db import create_engine
from views.i18n import t

# Phone numbers as people and Telegram write them; Telegram's own contact field has no "+".
PHONES = [
    "447700900456",  # UK, as Telegram sends it
    "+447700900456",
    "+44 7700 900456",
    "+44 (0)7700 900456",
    "8613800138000",  # China with its country code
    "+86 138 0013 8000",
    "+86-138-0013-8000",
    "13800138000",  # a Chinese mobile without it
    "138 0013 8000",
    "138-0013-8000",
    "12025550143",  # USA
    "+1 (202) 555-0143",
    "+1-202-555-0143",
    "(202) 555-0143",
    "79161234567",  # Russia
    "+7 916 123-45-67",
    "8 (916) 123-45-67",
    "6591234567",  # Singapore: ten digits, like a user id, so only where it is labelled
    "+65 9123 4567",
    "１３８００１３８０００",  # full-width, from a Chinese input method
]
BARE_TEN_DIGITS = "6591234567"


def digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def assert_no_phone(line: str, phone: str) -> None:
    redacted = redact(line)
    squeezed = re.sub(r"[\s()-]", "", redacted)  # the digits, also with separators stripped
    assert phone not in redacted and digits(phone) not in squeezed, redacted
    assert "<phone>" in redacted, redacted


def places(phone: str) -> Iterator[str]:
    """Every shape of log line a phone number reaches."""
    contact = Contact(phone, "Alice", user_id=1234567890, vcard=f"BEGIN:VCARD\nTEL:{phone}\nEND")
    update = {"update_id": 812345678, "message": {"message_id": 7, "contact": contact.to_dict()}}
    yield f"Call to Bot API endpoint `getUpdates` finished with return value `[{update}]`"
    yield f"Processing update Update(message=Message(contact={contact!r}), update_id=812345678)"
    yield json.dumps(update)  # stored payloads, the webhook's body
    yield json.dumps({"payload": json.dumps(update)})  # JSON inside JSON
    yield f"BEGIN:VCARD\nVERSION:3.0\nFN:Alice\nTEL;TYPE=CELL,VOICE:{phone}\nEND:VCARD"
    yield f"BEGIN:VCARD\r\nVERSION:4.0\r\nTEL;VALUE=uri;TYPE=cell:tel:{phone}\r\nEND:VCARD"
    yield f"phone_number={phone} user_id=1234567890"
    # What the bot sends (python-telegram-bot logs the parameters of every call).
    for language in ("zh", "en"):
        card = t(language, "profile.card", name="王", phone=phone, type="x", workplace="y")
        yield f"Calling Bot API endpoint `sendMessage` with parameters `{ {'text': card} }`"
        yield json.dumps({"message": {"text": card}})  # 手机号： as "\u624b\u673a\u53f7\uff1a"
        yield t(language, "staff.unreachable_line", name="王", unit="万达", phone=phone)
    # SQL parameters as aiosqlite and SQLAlchemy print them.
    yield f"execute(UPDATE members SET phone=? WHERE members.id = ?, ('{phone}', 3))"
    yield f"[cached since 2.1s ago] ('{phone}', '2026-03-10 01:30:00.000000', 3)"


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_redacted_wherever_they_appear(phone: str) -> None:
    for line in places(phone):
        assert_no_phone(line, phone)


@pytest.mark.parametrize("phone", [p for p in PHONES if digits(p) != BARE_TEN_DIGITS])
def test_phone_numbers_are_redacted_in_free_text(phone: str) -> None:
    for line in (f"my number is {phone}.", f"'text': 'call {phone}'", f"'text': 'hi\\n{phone}'"):
        assert_no_phone(line, phone)


def test_ids_times_and_tokens() -> None:
    line = redact(
        "POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage "
        "update 812345678 from {'id': 6591234567, 'is_bot': False} in {'id': -1001234567890, "
        "'type': 'supergroup'} 'date': 1773106200, callback '4382948234823948234', "
        "chat_instance '-5305624338735284389', at 2026-03-10 01:30:00,123 "
        "2026-03-10T01:30:00+00:00 +08:00, took 0.0001234567891s, (5, 1, 10001)"
    )
    assert "AAHdqTcv" not in line and "<token>" in line
    for kept in (
        "update 812345678",
        "'id': 6591234567",  # user ids have up to 10 digits
        "'id': -1001234567890",  # a supergroup
        "'date': 1773106200",
        "'4382948234823948234'",  # callback query ids are longer than any phone number
        "'-5305624338735284389'",
        "2026-03-10 01:30:00,123",
        "2026-03-10T01:30:00+00:00 +08:00",
        "0.0001234567891s",
        "(5, 1, 10001)",
    ):
        assert kept in line, (kept, line)
    assert "<phone>" not in line


def test_formatter_redacts_tracebacks() -> None:
    try:
        raise ValueError("phone +8613800138000")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
        record.exc_info = sys.exc_info()
    text_ = RedactingFormatter("%(message)s").format(record)
    assert "ValueError" in text_ and "8613800138000" not in text_


@contextmanager
def captured(*names: str) -> Iterator[io.StringIO]:
    """What these loggers write at DEBUG, through the bot's formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


async def test_sql_parameters_and_rows_are_redacted(tmp_path: Path) -> None:
    """SQLAlchemy's engine logger (statements, parameters, rows) and aiosqlite's."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'logs.db'}")
    contact = {"contact": {"phone_number": BARE_TEN_DIGITS, "user_id": 1234567890}}
    try:
        with captured("sqlalchemy.engine", "aiosqlite") as log:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE m (id INTEGER, phone TEXT, doc TEXT)"))
                await connection.execute(
                    text("INSERT INTO m VALUES (:id, :phone, :doc)"),
                    {"id": 1234567890, "phone": BARE_TEN_DIGITS, "doc": json.dumps(contact)},
                )
                rows = (await connection.execute(text("SELECT * FROM m"))).all()
    finally:
        await engine.dispose()
    assert rows[0].phone == BARE_TEN_DIGITS
    output = log.getvalue()
    assert "INSERT INTO m" in output and "Row (" in output and "aiosqlite" in output
    assert BARE_TEN_DIGITS not in output and "1234567890" in output  # the id stays

"""No phone number in the log, even at DEBUG with SQL logged: the real bot, its whole log.

The bot runs as a subprocess (`branchbot run`, polling this test's emulator) with
logging.level DEBUG, so python-telegram-bot logs every update and request in full and
aiosqlite every statement, and with SQLAlchemy's engine logger switched on as well
(statements, parameters, rows), on a SQLite file and on PostgreSQL. People share their
own numbers in the forms Telegram sends them (digits without "+", with it; China, the UK,
the USA, Russia, Singapore, Germany), one shares someone else's contact from the phone
book (with its vCard) and types a number instead of pressing the button; they report to
the branch and look at their profiles, and the secretary reads their reports. Then the
whole log is searched for every number: as written, and as bare digits (also in the log
with its separators stripped).
"""

from __future__ import annotations

import re
from pathlib import Path

from sandbox import Emulator
from sandbox.state import ChatMessage
from tests.conftest import Database
from tests.e2e.conftest import grant, invite_payload_of, meet, onboard, seed_org
from tests.e2e.test_crash import start_bot, until
from tests.e2e.test_reporting import WANDA, WANDA_ZH
from tests.e2e.texts import said, t

# Someone debugging the database turns SQLAlchemy's engine logger on, then starts the bot.
DEBUG_SQL_TOO = (
    "-c",
    "import logging, sys; logging.getLogger('sqlalchemy.engine').setLevel(logging.DEBUG); "
    "from bot.cli import main; sys.exit(main())",
    "run",
)
MEMBERS = [  # name, language, their own number as their Telegram app sends it
    ("张伟", "zh", "8613800138000"),
    ("Alice", "en", "447700900456"),
    ("Bob", "en", "+12025550143"),
    ("Ivan", "en", "79161234567"),
    ("Tan", "en", "6591234567"),  # Singapore: ten digits, as long as a Telegram user id
    ("Jonas", "en", "+4915123456789"),
]
BOOK_NUMBER = "+86 138-0013-8001"  # someone else's, from the phone book
BOOK_VCARD = (
    "BEGIN:VCARD\nVERSION:3.0\nN:Wang;Xiaoming;;;\nFN:Wang Xiaoming\n"
    "TEL;TYPE=CELL:+86 138 0013 8001\nEND:VCARD"
)
TYPED = "我的手机号 139 0013 9000"
TYPED_NUMBER = "139 0013 9000"


def digits(number: str) -> str:
    return re.sub(r"\D", "", number)


async def test_no_phone_number_reaches_a_debug_log(database: Database, tmp_path: Path) -> None:
    await seed_org(database)
    payload = await invite_payload_of(database, "wanda-plaza")
    async with Emulator() as emu:
        secretary = emu.user("李书记", language_code="zh")
        await grant(database, secretary, "secretary", "wanda-plaza")
        people = [(emu.user(n, language_code=lang, phone=p), lang, p) for n, lang, p in MEMBERS]
        debug = {"BRANCHBOT_LOGGING_LEVEL": "DEBUG"}
        bot = await start_bot(emu, database.url, tmp_path, "bot", debug, command=DEBUG_SQL_TOO)
        try:
            # A loaded machine takes its time to start a Python process: wait until it polls.
            polling = "deleteWebhook"  # its last call before it polls
            await until(lambda: bool(emu.calls(polling)), 60, "the bot to start", [bot], 0.05)
            await meet(secretary)
            for person, language, phone in people:
                await onboard(
                    person, person.name, t(language, "member_type.regular"), payload=payload
                )
                unit = WANDA_ZH if language == "zh" else WANDA
                assert (await person.next_message()).text == said(
                    language, "report.sent", unit=unit
                )
                await person.send("/me")
                assert phone in (await person.next_message()).text

            # Another's contact at the phone step, then a typed number, then the button.
            zhang = people[0][0]
            await zhang.press(t("zh", "profile.edit_phone"))
            assert (await zhang.next_message()).text == said("zh", "profile.ask_phone")
            await zhang.share_contact(BOOK_NUMBER, "Xiaoming", "Wang", vcard=BOOK_VCARD)
            assert (await zhang.next_message()).text == said("zh", "profile.not_own_contact")
            await zhang.send(TYPED)
            assert (await zhang.next_message()).text == said("zh", "profile.use_phone_button")
            await zhang.tap(t("zh", "profile.share_phone"))
            assert (await zhang.next_message()).text == said("zh", "profile.phone_saved")

            # The list of reports waiting, and each one's card (with the phone) opened.
            await secretary.send("/pending")
            title = said("zh", "report.pending_title", count=len(MEMBERS))  # one page

            def shown(text: str) -> list[ChatMessage]:
                return [m for m in secretary.chat.ordered() if m.from_bot and text in m.text]

            await until(lambda: bool(shown(title)), 20, "the pending reports", [bot])
            listing = shown(title)[-1]
            labels = [b["text"] for row in listing.reply_markup["inline_keyboard"] for b in row]
            reports = [label for label in labels if label[0].isdigit()]
            assert len(reports) == len(MEMBERS)
            before = len(secretary.chat.ordered())
            for label in reports:
                await secretary.press(label, message=listing)
            await until(
                lambda: len(secretary.chat.ordered()) >= before + len(MEMBERS),
                20,
                "every card",
                [bot],
            )
            assert await bot.terminate() == 0, bot.tail()
        finally:
            await bot.kill()
        assert emu.violations == []

    log = bot.log()
    # The log has it all, at DEBUG: whole updates, the contacts in them, SQL and its rows.
    for sign in ("getUpdates", "'contact'", "vcard", "UPDATE members SET phone", "Row ("):
        assert sign in log, sign
    assert "<phone>" in log and "Traceback" not in log, bot.tail(80)
    squeezed = re.sub(r"[\s()-]", "", log)
    numbers = [phone for _, _, phone in MEMBERS] + [BOOK_NUMBER, TYPED_NUMBER]
    for number in numbers:
        assert number not in log, number
        assert digits(number) not in log and digits(number) not in squeezed, number

"""The bot under test of bench_updates.py, in a process of its own, so that the CPU time and
the memory measured are the bot's alone (the emulator and the scripted members stay in the
bench's process).

    python bench/updates_bot.py echo '{"token": ..., "api_base_url": ..., "concurrent": false}'
    python bench/updates_bot.py branchbot '{"token": ..., "api_base_url": ..., "database_url":
        ..., "lanes": 8, "check_in_secret": ..., "quiet_hours": ["03:00", "04:00"]}'

It prints `ready` on stdout once it handles updates, and stops cleanly on SIGTERM or at the
end of stdin (the bench gone). Then it takes commands on stdin, one a line, each answered
with a line of JSON on stdout: `counts` (branchbot: the SQL statements and the transactions
so far, counted by SQLAlchemy events on its engine, SQLite's own BEGIN IMMEDIATE left out;
the echo bot: {}), and, with `"profile": PATH` in the settings, `profile-start` and
`profile-stop` (cProfile of the event loop's thread, which runs the handlers; the stats
written to PATH in pstats format), so that only the flood is profiled. `"sql_log": PATH`
writes every statement branchbot runs to PATH, one a line, and COMMIT after each
transaction (`--sql-log`).

- `echo`: a bare python-telegram-bot `Application` with PTB's own `Updater` (long polling,
  `poll_interval=0`), no database. Every message is answered with one `sendMessage` (its
  text echoed, with one inline button); every button press with `answerCallbackQuery` and
  then `editMessageText` of the pressed message (a new text each time, the same button), as
  a bot answering each update with one screen would. `"concurrent": true` sets
  `concurrent_updates(True)`: every update in a task of its own.
- `branchbot`: the real `bot.app.BotRuntime` (inbox, lanes, handlers, scheduler and its
  sender), on the database the bench seeded and migrated, with `bot.lanes` as given, up to
  1000 messages a second (the limit of Telegram, 25, would cap the replies, not the bot)
  and quiet hours away from the time of the run (the messages it sends on its own, the
  secretary's leave cards, go out at once).
"""

from __future__ import annotations

import asyncio
import cProfile
import itertools
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

ECHO_DATA = "echo"
ECHO_MARKUP = InlineKeyboardMarkup([[InlineKeyboardButton("echo", callback_data=ECHO_DATA)]])
_edits = itertools.count(1)


async def _echo_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    await message.reply_text(f"echo {message.text or '…'}", reply_markup=ECHO_MARKUP)


async def _echo_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    # A new text each time: Telegram refuses an edit that changes nothing.
    await query.edit_message_text(f"pressed {next(_edits)}", reply_markup=ECHO_MARKUP)


class EchoBot:
    def __init__(self, settings: dict[str, Any]) -> None:
        base = settings["api_base_url"].rstrip("/")
        self.application = (
            Application.builder()
            .token(settings["token"])
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .concurrent_updates(bool(settings.get("concurrent")))
            .build()
        )
        self.application.add_handler(MessageHandler(filters.ALL, _echo_message))
        self.application.add_handler(CallbackQueryHandler(_echo_press))

    async def start(self) -> None:
        await self.application.initialize()
        await self.application.start()
        assert self.application.updater is not None
        await self.application.updater.start_polling(poll_interval=0, timeout=10)

    def counts(self) -> dict[str, Any]:
        return {}

    async def stop(self) -> None:
        assert self.application.updater is not None
        await self.application.updater.stop()
        await self.application.stop()
        await self.application.shutdown()


class Branchbot:
    def __init__(self, settings: dict[str, Any]) -> None:
        from sqlalchemy import event

        from bot.app import BotRuntime
        from bot.config import (
            BotConfig,
            CheckInConfig,
            Config,
            DatabaseConfig,
            SchedulerConfig,
            TelegramConfig,
        )

        config = Config(
            telegram=TelegramConfig(token=settings["token"], api_base_url=settings["api_base_url"]),
            checkin=CheckInConfig(secret=settings["check_in_secret"]),
            database=DatabaseConfig(url=settings["database_url"]),
            bot=BotConfig(lanes=int(settings["lanes"])),
            # Quiet hours an hour long, twelve hours away: the secretary's leave cards go
            # out whatever the time of the run.
            scheduler=SchedulerConfig(
                messages_per_second=1000,
                quiet_hours_start=settings["quiet_hours"][0],
                quiet_hours_end=settings["quiet_hours"][1],
            ),
        )
        self.runtime = BotRuntime(config)
        self.statements = self.transactions = 0
        engine = self.runtime.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._transaction)
        if settings.get("sql_log"):
            self.sql_log = open(settings["sql_log"], "w", encoding="utf-8")
            event.listen(engine, "before_cursor_execute", self._log_statement)
            event.listen(engine, "commit", lambda conn: print("COMMIT", file=self.sql_log))

    def _log_statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        print(" ".join(statement.split()), file=self.sql_log)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE (models.db)
            self.statements += 1

    def _transaction(self, conn: Any) -> None:
        self.transactions += 1

    def counts(self) -> dict[str, Any]:
        return {"statements": self.statements, "transactions": self.transactions}

    async def start(self) -> None:
        await self.runtime.start()
        if not self.runtime.ready.is_set():
            raise RuntimeError(f"branchbot did not start: {self.runtime.waiting_for}")

    async def stop(self) -> None:
        await self.runtime.stop()


async def serve_commands(
    bot: EchoBot | Branchbot, profile_to: str | None, stopping: asyncio.Event
) -> None:
    """One command a line on stdin, each answered with a line of JSON on stdout; the end of
    stdin (the bench is gone) stops the bot."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    # The event loop's thread, which runs the handlers, is the one cProfile watches.
    profiler = cProfile.Profile() if profile_to else None
    while line := await reader.readline():
        command = line.decode().strip()
        reply: dict[str, Any] = {}
        if command == "counts":
            reply = bot.counts()
        elif command == "profile-start" and profiler is not None:
            profiler.enable()
        elif command == "profile-stop" and profiler is not None and profile_to:
            profiler.disable()
            profiler.dump_stats(profile_to)
        print(json.dumps(reply), flush=True)
    stopping.set()


async def run(kind: str, settings: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    bot: EchoBot | Branchbot = EchoBot(settings) if kind == "echo" else Branchbot(settings)
    await bot.start()
    print("ready", flush=True)
    commands = asyncio.create_task(serve_commands(bot, settings.get("profile"), stopping))
    try:
        await stopping.wait()
    finally:
        commands.cancel()
        await bot.stop()


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in ("echo", "branchbot"):
        sys.exit(__doc__)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(run(sys.argv[1], json.loads(sys.argv[2])))


if __name__ == "__main__":
    main()

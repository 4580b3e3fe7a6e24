"""`branchbot sandbox`: the whole bot offline, against the local Bot API emulator, with the
demo district (bot.demo) in a SQLite database, and a page that looks like Telegram on a
phone (sandbox.web) on the same loopback port.

The bot is the real one (`BotRuntime`, polling, scheduler, outbox) on a clock the page can
move forward. The data folder holds the database and the emulator's world (people, chats);
a lock in it keeps a second sandbox out.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import secrets
import signal
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from bot import demo
from bot.app import BotRuntime, prepare_database, scheduler_settings
from bot.config import CheckInConfig, Config, DatabaseConfig, TelegramConfig
from bot.logs import redact, setup_logging
from models import inbox
from models.quiet import quiet_until
from sandbox import Emulator
from sandbox.person import Person
from sandbox.saved import UnreadableWorld, load_world, save_world
from sandbox.web import LogPanel, Place, Poster, SandboxWeb, World, is_loopback
from scheduler.clock import ShiftedClock
from views.files import qr_png

log = logging.getLogger(__name__)

TOKEN = "123456:SANDBOX-not-a-real-token"
BOT_USERNAME = "branchbot_sandbox"
DATABASE = "branchbot.sqlite3"
WORLD = "world.pickle"
LOCK = "sandbox.lock"
SAVE_SECONDS = 2.0


class SandboxError(Exception):
    """One line for the person who started the sandbox (exit status 2)."""


@dataclass(frozen=True)
class Options:
    data: Path
    port: int = 8080
    host: str = "127.0.0.1"
    reset: bool = False
    start_at: datetime | None = None  # a fresh sandbox's first moment (tests)


def default_data_folder() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "branchbot" / "sandbox"


class DataFolder:
    """The sandbox's folder, held by one sandbox at a time (an OS lock, gone with the process)."""

    def __init__(self, path: Path) -> None:
        self.path = path.expanduser().resolve()
        self._lock: IO[str] | None = None

    def open(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".writable"
            probe.write_text("")
            probe.unlink()
            lock = open(self.path / LOCK, "a+", encoding="utf-8")  # held open: the lock
        except OSError as exc:
            raise SandboxError(
                f"the data folder {self.path} cannot be written ({exc.strerror}); "
                "choose another with --data"
            ) from None
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # Windows: no advisory locks here; one sandbox at a time by hand
            pass
        except OSError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            lock.close()
            raise SandboxError(
                f"another sandbox ({holder}) is using {self.path}; stop it, "
                "or start this one with another --data folder"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        self._lock = lock

    def reset(self) -> None:
        for name in (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", WORLD):
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).unlink()

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.path / DATABASE}"

    @property
    def world(self) -> Path:
        return self.path / WORLD


class Sandbox:
    """The emulator, the bot and the page, started and stopped together."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.folder = DataFolder(options.data)
        self.clock = ShiftedClock()
        self.emulator = Emulator(
            token=TOKEN, bot_username=BOT_USERNAME, host=options.host, port=options.port
        )
        self.emulator.clock = lambda: self.clock.now().timestamp()
        self.config = Config(
            telegram=TelegramConfig(token=TOKEN),
            database=DatabaseConfig(url=self.folder.database_url),
            # A new secret each start: only QR codes shown since then work, as after a
            # restart with a new secret in production.
            checkin=CheckInConfig(secret=secrets.token_hex(32)),
        )
        self.zone = ZoneInfo(self.config.bot.timezone)
        self.log_panel = LogPanel(self.zone, clean=redact)
        self.runtime: BotRuntime | None = None
        self.web: SandboxWeb | None = None
        self._saving: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        host = self.options.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.emulator.port}"

    async def start(self) -> None:
        started = time.monotonic()
        self.folder.open()
        if self.options.reset:
            self.folder.reset()
        saved = self._restore()
        if saved is None:
            # Someone trying the bot at night should see its notifications at once: a fresh
            # sandbox starts when the quiet hours end.
            now = self.clock.now()
            quiet = scheduler_settings(self.config).quiet_hours
            first = self.options.start_at or quiet_until(now, str(self.zone), *quiet) or now
            self.clock.offset = first - datetime.now(UTC)
        logging.getLogger().addHandler(self.log_panel)
        await self._serve()
        config = replace(
            self.config, telegram=TelegramConfig(token=TOKEN, api_base_url=self.emulator.url)
        )
        self.runtime = BotRuntime(config, clock=self.clock)
        await prepare_database(config, self.runtime.engine)
        people = self._people(saved)
        if saved is None:
            await demo.load_demo(
                self.runtime.sessions,
                self.clock.now(),
                {person.key: p.id for person, p in people},
            )
        world = await self._world(saved)
        self.web = SandboxWeb(self.emulator, world, self.log_panel)
        for person, emulated in people:
            self.web.adopt(emulated, person.about if person is not None else None)
        self.emulator.web_app = self.web.app
        await self.web.start()
        await self.runtime.start()
        self.save()  # the world now matches the database; from here on, every few seconds
        self._saving = asyncio.create_task(self._save_now_and_then(), name="sandbox-save")
        log.info("sandbox ready in %.1f s", time.monotonic() - started)

    def _restore(self) -> dict[str, Any] | None:
        """The saved world, or None for a fresh start (the database then goes too)."""
        if not self.folder.world.exists():
            self.folder.reset()  # a database without its world: its people are unknown
            return None
        try:
            saved = load_world(self.emulator, self.folder.world)
        except UnreadableWorld as exc:
            raise SandboxError(f"{exc}; start over with --reset") from None
        self.clock.offset = saved["clock_offset"]
        return saved

    async def _serve(self) -> None:
        try:
            await self.emulator.start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SandboxError(
                    f"port {self.options.port} is in use; start with another --port"
                ) from None
            raise SandboxError(f"cannot listen on {self.options.host}: {exc.strerror}") from None

    def _people(self, saved: dict[str, Any] | None) -> list[tuple[demo.DemoPerson | None, Person]]:
        """The emulated people: the demo's on a fresh start, else everyone saved."""
        if saved is None:
            return [
                (
                    person,
                    self.emulator.user(
                        person.first_name,
                        language_code=person.language,
                        last_name=person.last_name,
                        phone=person.phone,
                    ),
                )
                for person in demo.DEMO_PEOPLE
            ]
        return [
            (None, Person(self.emulator, user, self.emulator.chats[user.id]))
            for user in self.emulator.users.values()
            if not user.is_bot
        ]

    async def _world(self, saved: dict[str, Any] | None) -> World:
        assert self.runtime is not None
        async with self.runtime.sessions() as session:
            points = await demo.reporting_points(session)
            places = await demo.places(session)
            # A world saved a moment before a crash may lag behind the database: update ids
            # the bot has already seen would be taken for repeats and ignored.
            last_seen = await inbox.last_update_id(session, self.runtime.services.bot_id) or 0
        self.emulator._next_update_id = max(self.emulator._next_update_id, last_seen + 1)
        link = f"https://t.me/{BOT_USERNAME}?start="
        world = World(
            zone=self.zone,
            now=self.clock.now,
            move_clock=self._move_clock,
            address=self.address,
            posters=[Poster(p.code, p.title, qr_png(link + p.payload)) for p in points],
            places=[Place(p.name, p.latitude, p.longitude) for p in places],
        )
        if saved is not None:
            world.about = saved["about"]
            world.read_upto = saved["read_upto"]
        return world

    async def _move_clock(self, moment: datetime) -> None:
        self.clock.set(moment)
        log.info("the sandbox clock moved to %s", moment.astimezone(self.zone).strftime("%c"))
        if self.runtime is not None and self.runtime.scheduler is not None:
            await self.runtime.scheduler.catch_up()

    def save(self) -> None:
        extra: dict[str, Any] = {"clock_offset": self.clock.offset}
        if self.web is not None:
            extra |= {"about": self.web.world.about, "read_upto": self.web.world.read_upto}
        save_world(self.emulator, self.folder.world, extra)

    def _version(self) -> tuple[Any, ...]:
        """Changes whenever something worth saving does."""
        emu = self.emulator
        web = self.web.world if self.web is not None else None
        return (
            emu._seq,
            emu._next_update_id,
            len(emu.files),
            len(emu.users),
            self.clock.offset,
            tuple(sorted(web.read_upto.items())) if web else (),
        )

    async def _save_now_and_then(self) -> None:
        saved = self._version()
        while True:
            await asyncio.sleep(SAVE_SECONDS)
            if (version := self._version()) == saved:
                continue
            try:
                self.save()
                saved = version
            except OSError as exc:
                log.error("the sandbox could not save its world: %s", exc)

    async def stop(self) -> None:
        if self._saving is not None:
            self._saving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saving
        if self.runtime is not None:
            await self.runtime.stop()
        if self.web is not None:
            await self.web.stop()
            self.save()
        await self.emulator.stop()
        logging.getLogger().removeHandler(self.log_panel)
        self.folder.close()


def _announce(sandbox: Sandbox) -> None:
    where = (
        "only this computer can open it (loopback)"
        if is_loopback(sandbox.options.host)
        else f"WARNING: anyone who can reach {sandbox.options.host} can open it"
    )
    print(
        f"branchbot sandbox: open {sandbox.address} in a browser; {where}.\n"
        f"  data: {sandbox.folder.path} (start over with --reset); Ctrl+C stops.",
        flush=True,
    )


async def serve(options: Options) -> None:
    setup_logging("INFO")
    sandbox = Sandbox(options)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await sandbox.start()
        _announce(sandbox)
        await stopping.wait()
    finally:
        await sandbox.stop()


def run(options: Options) -> None:
    asyncio.run(serve(options))

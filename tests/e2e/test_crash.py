"""kill -9 in the middle of a 2,000-recipient broadcast: nobody is missed, few get it twice.

The bot runs as a real subprocess (`python -m bot run --webhook`, no public URL, so it
neither registers a webhook nor polls) against the emulator of this test, on a SQLite
file and on PostgreSQL. The outbox promises at-least-once delivery: a row still
`sending` when the process died is sent again at the next start, so the only people
who may get the message twice are those whose row was in flight at the kill.

The helpers here (`start_bot`, `BotProcess`, `until`) are shared with test_leadership.
Run with `-s` to see the figures.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import func, select

from models import outbox
from models.outbox import Delivery, DeliveryStatus
from sandbox import Emulator
from scheduler.leader import CLAIM_GRACE_SECONDS
from tests.conftest import Database
from tests.e2e.conftest import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 2000
KILL_AFTER = 300  # messages at the emulator before the kill
BROADCAST = "主题党日: Friday 15:00, Room 301. Please bring your membership card."
STOP_SECONDS = 15.0  # SIGTERM to exit


@dataclass
class BotProcess:
    """One `python -m bot run --webhook` subprocess; stdout and stderr go to `log_path`."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def tail(self, lines: int = 40) -> str:
        text = "\n".join(self.log().splitlines()[-lines:])
        return f"--- {self.name} (pid {self.pid}, exit {self.process.returncode}) ---\n{text}"

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, like a power cut for this process."""
        if self.alive:
            os.kill(self.pid, signal.SIGKILL)
        await self.process.wait()

    async def terminate(self, timeout: float = STOP_SECONDS) -> int:  # noqa: ASYNC109
        """SIGTERM, then the exit status; fails if it takes longer than `timeout`."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            await self.kill()
            raise AssertionError(
                f"{self.name} did not exit within {timeout:.0f}s of SIGTERM\n{self.tail()}"
            ) from None


def bot_environment(emu: Emulator, database_url: str, port: int) -> dict[str, str]:
    """The subprocess's environment: ours without any BRANCHBOT_ setting, plus the bot's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BRANCHBOT_")}
    env.update(
        {
            "BRANCHBOT_TOKEN": emu.token,
            "BRANCHBOT_CHECKIN_SECRET": secrets.token_urlsafe(24),
            "BRANCHBOT_TELEGRAM_API_BASE_URL": emu.url,
            "BRANCHBOT_DATABASE_URL": database_url,
            "BRANCHBOT_WEBHOOK_SECRET_TOKEN": secrets.token_urlsafe(24),
            "BRANCHBOT_WEBHOOK_LISTEN": "127.0.0.1",
            "BRANCHBOT_WEBHOOK_PORT": str(port),
            "BRANCHBOT_WEBHOOK_PUBLIC_URL": "",  # no setWebhook, and nobody polls
            "BRANCHBOT_SCHEDULER_MESSAGES_PER_SECOND": "1000",  # the emulator has no limit here
            "BRANCHBOT_LOGGING_LEVEL": "INFO",
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _open_log(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("ab")


WEBHOOK_UNREACHABLE = ("-m", "bot", "run", "--webhook")


async def start_bot(
    emu: Emulator,
    database_url: str,
    workdir: Path,
    name: str,
    settings: dict[str, str] | None = None,
    command: Sequence[str] = WEBHOOK_UNREACHABLE,
) -> BotProcess:
    """Start the real bot (`python COMMAND`; by default in webhook mode); it runs in
    `workdir` (no branchbot.toml there). `settings`: more environment variables
    (BRANCHBOT_...) for it."""
    log_path = workdir / f"{name}.log"
    env = bot_environment(emu, database_url, free_port()) | (settings or {})
    with _open_log(log_path) as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *command,
            cwd=workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
    return BotProcess(name, process, log_path)


async def until(
    condition: Callable[[], bool],
    timeout: float,  # noqa: ASYNC109
    what: str,
    processes: Sequence[BotProcess] = (),
    interval: float = 0.005,
) -> float:
    """Poll `condition` (the emulator runs in this loop, so keep it short); seconds taken.

    Fails early, with the logs, when one of `processes` exits meanwhile.
    """
    started = time.monotonic()
    deadline = started + timeout
    while not condition():
        for process in processes:
            if not process.alive:
                raise AssertionError(
                    f"{process.name} exited while waiting for {what}\n{process.tail()}"
                )
        if time.monotonic() > deadline:
            logs = "\n".join(process.tail() for process in processes)
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")
        await asyncio.sleep(interval)
    return time.monotonic() - started


async def status_counts(database: Database) -> dict[DeliveryStatus, int]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        )
        return {status: count for status, count in rows}


async def settled(count: Callable[[], int], quiet: float = 0.3) -> int:
    """The value of `count` once it has not changed for `quiet` seconds."""
    value = count()
    while True:
        await asyncio.sleep(quiet)
        if (now := count()) == value:
            return value
        value = now


async def test_kill_9_during_a_2000_recipient_broadcast(database: Database, tmp_path: Path) -> None:
    async with Emulator() as emu:
        assert not emu.faults.enforce_flood_limits
        chat_ids = [emu.user(f"Member {n}", started=True).id for n in range(RECIPIENTS)]
        # Urgent, so that quiet hours (the subprocess reads the real clock) do not hold it.
        due = datetime.now(UTC)
        async with database.sessions.begin() as session:
            for chat_id in chat_ids:
                await outbox.enqueue(
                    session,
                    chat_id,
                    BROADCAST,
                    kind="broadcast",
                    due_at=due,
                    timezone="Asia/Shanghai",
                    urgent=True,
                )

        def accepted() -> int:
            return len(emu.stats.sends)

        def everyone_has_it() -> bool:
            return len(emu.stats.per_chat()) == RECIPIENTS

        first = await start_bot(emu, database.url, tmp_path / "run", "first run")
        second: BotProcess | None = None
        try:
            await until(lambda: accepted() >= KILL_AFTER, 40, f"{KILL_AFTER} sends", [first])
            os.kill(first.pid, signal.SIGKILL)
            at_kill = accepted()
            await first.process.wait()
            # Requests the emulator had already read still take effect, as on Telegram.
            delivered_before = await settled(accepted)
            statuses = await status_counts(database)
            in_flight = statuses.get(DeliveryStatus.sending, 0)
            marked_sent = statuses.get(DeliveryStatus.sent, 0)
            assert delivered_before < RECIPIENTS, "the broadcast finished before the kill"
            assert marked_sent <= delivered_before, statuses
            # What arrived but was not yet marked sent is exactly what may arrive twice.
            assert delivered_before - marked_sent <= in_flight, (delivered_before, statuses)

            started = time.monotonic()
            second = await start_bot(emu, database.url, tmp_path / "run", "second run")
            await until(
                everyone_has_it, 60, "a message for every recipient", [second], interval=0.1
            )
            finished = time.monotonic() - started
            # What the killed process left `sending` goes again once the new term's grace is
            # over (CLAIM_GRACE_SECONDS on PostgreSQL): everyone may have it before that.
            deadline = time.monotonic() + CLAIM_GRACE_SECONDS + 30
            while (now := await status_counts(database)) != {DeliveryStatus.sent: RECIPIENTS}:
                assert time.monotonic() < deadline and second.alive, (now, second.tail())
                await asyncio.sleep(0.1)
            assert await second.terminate() == 0, second.tail()
        finally:
            for process in (first, second):
                if process is not None:
                    await process.kill()

        copies = Counter(chat_id for _, chat_id in emu.stats.sends)
        twice = sum(1 for n in copies.values() if n == 2)
        more = {chat_id: n for chat_id, n in copies.items() if n > 2}
        final = await status_counts(database)
        print(
            f"\n[{database.backend}] {RECIPIENTS} recipients: {at_kill} sends at the kill, "
            f"{delivered_before} delivered before it ({marked_sent} marked sent), "
            f"{in_flight} in flight; after restart all delivered in {finished:.1f}s; "
            f"{twice} got it twice (expected {delivered_before - marked_sent}); "
            f"{len(emu.stats.sends)} sends in all"
        )
        assert set(copies) == set(chat_ids), "someone never got the broadcast"
        assert not more, f"three or more copies: {more}"
        assert twice <= in_flight
        # Exactly those that arrived but were not yet marked sent came twice: a row marked
        # sent is never sent again, and each row recovered from `sending` is sent once.
        assert twice == delivered_before - marked_sent
        assert final == {DeliveryStatus.sent: RECIPIENTS}, final
        assert all(m.text == BROADCAST for c in chat_ids for m in emu.messages(c))
        assert emu.violations == [], emu.violations
        assert "Traceback" not in second.log(), second.tail(80)

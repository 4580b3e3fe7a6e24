#!/usr/bin/env python3
"""One entry point for people working from a clone: it keeps ./.venv up to date, then runs.

    python3 dev.py sandbox [--port N] [--reset]   # the bot offline, in the browser, demo data
    python3 dev.py run [branchbot arguments]   # e.g. python3 dev.py run --config ~/branchbot.toml
    python3 dev.py test [--postgres] [pytest arguments]   # in parallel; -n 0: in one process
    python3 dev.py lint
    python3 dev.py bench [name]

Needs only Python 3.11+ with pip and venv. The packages come from the hashed lock
files in requirements/: `run` and `sandbox` install the runtime set, the others the
test set too. The virtualenv is brought up to date when a lock file or
pyproject.toml changes.

`test --postgres` runs the PostgreSQL tests as well: against BRANCHBOT_TEST_POSTGRES_URL
when it is set, else against a throwaway server that dev.py starts (and removes) with
the PostgreSQL binaries installed on this machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".branchbot-installed"
LOCKS = {
    "runtime": ROOT / "requirements" / "runtime.txt",
    "test": ROOT / "requirements" / "test.txt",
}
# Which set of packages each command needs.
NEEDS = {"sandbox": "runtime", "run": "runtime", "test": "test", "lint": "test", "bench": "test"}


def wanted_stamp(packages: str) -> str:
    """What the stamp says once `packages` is installed from today's lock and pyproject."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(LOCKS[packages].read_bytes())
    return f"{packages} {digest.hexdigest()}"


def installed_enough(stamp: str | None, packages: str) -> bool:
    """The test set includes the runtime set, so a test venv also serves `run`."""
    if stamp is None:
        return False
    return stamp == wanted_stamp(packages) or (
        packages == "runtime" and stamp == wanted_stamp("test")
    )


def ensure_venv(packages: str) -> None:
    stamp = STAMP.read_text() if STAMP.exists() else None
    if installed_enough(stamp, packages):
        return
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py itself may meet an old python3
        sys.exit("branchbot needs Python 3.11 or newer")
    started = time.monotonic()
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    lock = LOCKS[packages]
    count = sum(1 for line in lock.read_text().splitlines() if "==" in line)
    print(
        f"dev.py: installing {count} locked packages ({lock.relative_to(ROOT)}) into .venv; "
        "about a minute the first time, nothing when nothing changed",
        file=sys.stderr,
    )
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    quiet = ["--quiet", "--progress-bar", "off"]
    subprocess.run([*pip, *quiet, "--require-hashes", "-r", str(lock)], check=True)
    print("dev.py: installing branchbot itself (editable)", file=sys.stderr)
    subprocess.run([*pip, *quiet, "--no-deps", "--editable", str(ROOT)], check=True)
    STAMP.write_text(wanted_stamp(packages))
    print(f"dev.py: .venv ready in {time.monotonic() - started:.0f} s", file=sys.stderr)


def parallel(pytest_args: list[str]) -> list[str]:
    """pytest-xdist's options, unless the arguments choose for themselves (-n, --dist,
    -p no:xdist).

    The tests mostly wait (for the emulator, the database, the bot's pacing), so one
    worker per CPU divides the time by about the number of CPUs."""
    for arg, following in zip(pytest_args, [*pytest_args[1:], ""], strict=False):
        if arg in ("-n", "--numprocesses", "--dist") or arg.startswith(
            ("-n", "--numprocesses=", "--dist=")
        ):
            return []
        if (arg, following) == ("-p", "no:xdist") or arg == "-pno:xdist":
            return []
    return ["-n", "auto", "--dist", "worksteal"]


class NoPostgres(Exception):
    """No PostgreSQL binaries here, or no way to run them."""


def postgres_bin() -> Path:
    """The folder of initdb and pg_ctl: Debian's newest, else the ones on PATH."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: [int(x) for x in p.parent.parent.name.split(".") if x.isdigit()],
    )
    if debian:
        return debian[-1].parent
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    raise NoPostgres(
        "dev.py: --postgres needs a PostgreSQL server's binaries (initdb, pg_ctl); install "
        "them (Debian: apt-get install postgresql) or set BRANCHBOT_TEST_POSTGRES_URL"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL server of its own in a temporary folder, on a free port of 127.0.0.1,
    for as long as the block runs; its URL. As root it runs as the `postgres` user
    (initdb refuses root)."""
    binaries = postgres_bin()
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if as_root and shutil.which("su") is None:
        raise NoPostgres("dev.py: --postgres as root needs `su` to run the server as postgres")
    folder = Path(tempfile.mkdtemp(prefix="branchbot-pg."))
    data, port = folder / "data", _free_port()

    def run(*command: str) -> None:
        if as_root:
            line = " ".join(f"'{part}'" for part in command)
            command = ("su", "postgres", "-s", "/bin/sh", "-c", line)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    try:
        if as_root:
            try:
                shutil.chown(folder, "postgres", "postgres")
            except LookupError:
                raise NoPostgres(
                    "dev.py: --postgres as root needs a `postgres` user to run the server"
                ) from None
        print(f"dev.py: starting a throwaway PostgreSQL on 127.0.0.1:{port}", file=sys.stderr)
        run(
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(folder / "log")
        run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
        try:
            yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_tests(python: str, rest: list[str]) -> int:
    postgres = "--postgres" in rest
    rest = [arg for arg in rest if arg != "--postgres"]
    command = [python, "-m", "pytest", *parallel(rest), *rest]
    if not postgres or os.environ.get("BRANCHBOT_TEST_POSTGRES_URL"):
        env = {**os.environ, "BRANCHBOT_REQUIRE_POSTGRES": "1"} if postgres else None
        return subprocess.call(command, cwd=ROOT, env=env)
    try:
        with throwaway_postgres() as url:
            env = {
                **os.environ,
                "BRANCHBOT_TEST_POSTGRES_URL": url,
                "BRANCHBOT_REQUIRE_POSTGRES": "1",
            }
            return subprocess.call(command, cwd=ROOT, env=env)
    except NoPostgres as problem:
        print(problem, file=sys.stderr)
        return 2


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in NEEDS:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    ensure_venv(NEEDS[command])
    python = str(BIN / "python")
    if command == "sandbox":
        data = [] if "--data" in rest else ["--data", str(ROOT / ".sandbox")]
        return subprocess.call([str(BIN / "branchbot"), "sandbox", *data, *rest])
    if command == "run":
        return subprocess.call([str(BIN / "branchbot"), "run", *rest])
    if command == "test":
        return run_tests(python, rest)
    if command == "lint":
        ruff = [python, "-m", "ruff"]
        paths = [
            "bot",
            "handlers",
            "models",
            "scheduler",
            "views",
            "sandbox",
            "tests",
            "bench",
            "dev.py",
        ]
        checked = subprocess.call([*ruff, "check", *paths], cwd=ROOT)
        formatted = subprocess.call([*ruff, "format", "--check", *paths], cwd=ROOT)
        return checked or formatted
    names = rest or sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    status = 0
    for name in names:
        script = ROOT / "bench" / (name if name.endswith(".py") else f"{name}.py")
        status |= subprocess.call([python, str(script)], cwd=ROOT)
    return status


if __name__ == "__main__":
    sys.exit(main())

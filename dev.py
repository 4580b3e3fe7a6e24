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
import shlex
import shutil
import signal
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
    # A package may have a line per Python version (--universal): count names.
    count = len({line.split("==")[0] for line in lock.read_text().splitlines() if "==" in line})
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
    for as long as the block runs; the URL of its account `branchbot`, which may create
    databases but is no superuser (as in production). As root the server runs as the
    `postgres` user (initdb refuses root)."""
    binaries = postgres_bin()
    psql = binaries / "psql" if (binaries / "psql").exists() else shutil.which("psql")
    if psql is None:
        raise NoPostgres(
            "dev.py: --postgres needs psql beside initdb and pg_ctl (Debian: postgresql-client)"
        )
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if as_root and shutil.which("su") is None:
        raise NoPostgres("dev.py: --postgres as root needs `su` to run the server as postgres")
    folder = Path(tempfile.mkdtemp(prefix="branchbot-pg."))
    data, log, port = folder / "data", folder / "log", _free_port()

    def run(*command: str, check: bool = True) -> None:
        if as_root:
            command = ("su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command))
        subprocess.run(command, check=check, stdout=subprocess.DEVNULL)

    started = False
    try:
        if as_root:
            try:
                shutil.chown(folder, "postgres", "postgres")
            except LookupError:
                raise NoPostgres(
                    "dev.py: --postgres as root needs a `postgres` user to run the server"
                ) from None
        print(f"dev.py: starting a throwaway PostgreSQL on 127.0.0.1:{port}", file=sys.stderr)
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        pg_ctl = str(binaries / "pg_ctl")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        try:
            run(*initdb, "-E", "UTF8")
            started = True  # or half started: stopped in any case
            run(pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        except subprocess.CalledProcessError:
            said = log.read_text(errors="replace").strip() if log.exists() else ""
            raise NoPostgres(
                "dev.py: the throwaway PostgreSQL did not start"
                + (f"; its log:\n{said}" if said else "")
            ) from None
        role = "CREATE ROLE branchbot LOGIN CREATEDB PASSWORD 'branchbot'"
        where = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres"]
        subprocess.run([str(psql), "-X", "-q", *where, "-c", role], check=True)
        yield f"postgresql+asyncpg://branchbot:branchbot@127.0.0.1:{port}/postgres"
    finally:
        if started:
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(folder, ignore_errors=True)


def call(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> int:
    """subprocess.call, except on Ctrl-C: the child (pytest, the bot) has it too and is left
    to finish its own way (pytest says what ran so far); then 130, without a traceback."""
    child = subprocess.Popen(command, cwd=cwd, env=env)
    try:
        return child.wait()
    except KeyboardInterrupt:
        with contextlib.suppress(KeyboardInterrupt, subprocess.TimeoutExpired):
            child.wait(timeout=30)
        if child.poll() is None:  # a second Ctrl-C, or a child that would not stop
            child.kill()
            child.wait()
        return 130
    except BaseException:  # SystemExit from SIGTERM: not a child left running alone
        child.terminate()
        child.wait()
        raise


def run_tests(python: str, rest: list[str]) -> int:
    postgres = "--postgres" in rest
    rest = [arg for arg in rest if arg != "--postgres"]
    command = [python, "-m", "pytest", *parallel(rest), *rest]
    if not postgres or os.environ.get("BRANCHBOT_TEST_POSTGRES_URL"):
        env = {**os.environ, "BRANCHBOT_REQUIRE_POSTGRES": "1"} if postgres else None
        return call(command, cwd=ROOT, env=env)
    # Killed (a CI time limit, a closed terminal): the server is stopped and removed too.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    try:
        with throwaway_postgres() as url:
            env = {
                **os.environ,
                "BRANCHBOT_TEST_POSTGRES_URL": url,
                "BRANCHBOT_REQUIRE_POSTGRES": "1",
            }
            return call(command, cwd=ROOT, env=env)
    except NoPostgres as problem:
        print(problem, file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # while the server started or stopped
        return 130


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in NEEDS:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    ensure_venv(NEEDS[command])
    python = str(BIN / "python")
    if command == "sandbox":
        data = [] if "--data" in rest else ["--data", str(ROOT / ".sandbox")]
        return call([str(BIN / "branchbot"), "sandbox", *data, *rest])
    if command == "run":
        return call([str(BIN / "branchbot"), "run", *rest])
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

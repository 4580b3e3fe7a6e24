#!/usr/bin/env python3
"""One entry point for people working from a clone: it keeps ./.venv up to date, then runs.

    python3 dev.py sandbox [--port N] [--reset]   # the bot offline, in the browser, demo data
    python3 dev.py run [branchbot arguments]   # e.g. python3 dev.py run --config ~/branchbot.toml
    python3 dev.py test [pytest arguments]   # in parallel (pytest-xdist); -n 0: in one process
    python3 dev.py lint
    python3 dev.py bench [name]

Needs only Python 3.11+ with pip and venv. The virtualenv is rebuilt when
pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".branchbot-installed"


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py itself may meet an old python3
        sys.exit("branchbot needs Python 3.11 or newer")
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    print("dev.py: installing branchbot and its test tools into .venv", file=sys.stderr)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--editable", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


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


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("sandbox", "run", "test", "lint", "bench"):
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    ensure_venv()
    python = str(BIN / "python")
    if command == "sandbox":
        data = [] if "--data" in rest else ["--data", str(ROOT / ".sandbox")]
        return subprocess.call([str(BIN / "branchbot"), "sandbox", *data, *rest])
    if command == "run":
        return subprocess.call([str(BIN / "branchbot"), "run", *rest])
    if command == "test":
        return subprocess.call([python, "-m", "pytest", *parallel(rest), *rest], cwd=ROOT)
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

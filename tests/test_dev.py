"""dev.py: the lock files it installs from, which set each command needs, and the
throwaway PostgreSQL server of `dev.py test --postgres`."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import tomllib
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
assert spec is not None and spec.loader is not None
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^ \\;]+)")


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of a lock file."""
    pins: dict[str, tuple[str, int]] = {}
    current = ""
    for line in path.read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.mark.parametrize("packages", ["runtime", "test"])
def test_every_locked_package_is_pinned_with_hashes(packages: str) -> None:
    pins = locked(dev.LOCKS[packages])
    assert len(pins) > 20
    assert {name: count for name, (_, count) in pins.items() if count == 0} == {}
    lines = [line for line in dev.LOCKS[packages].read_text().splitlines() if line[:1].isalnum()]
    assert all(PIN.match(line) for line in lines), "every requirement is an == pin"


def test_the_locks_agree_with_pyproject() -> None:
    runtime, test = locked(dev.LOCKS["runtime"]), locked(dev.LOCKS["test"])
    for name, (version, _) in runtime.items():
        assert test.get(name, (None,))[0] == version, f"{name}: runtime and test locks differ"
    wanted = {
        "runtime": project()["dependencies"],
        "test": project()["optional-dependencies"]["test"],
    }
    for packages, requirements in wanted.items():
        pins = runtime if packages == "runtime" else test
        for text in requirements:
            requirement = Requirement(text)
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{name} is not in requirements/{packages}.txt: refresh it"
            assert requirement.specifier.contains(pins[name][0]), (
                f"{name}=={pins[name][0]} is outside pyproject's {requirement.specifier}: "
                "refresh the locks (README)"
            )
    assert "pytest" not in runtime and "ruff" not in runtime  # running needs no test tools


def test_each_command_installs_what_it_needs(tmp_path: Path, monkeypatch: Any) -> None:
    assert dev.NEEDS == {
        "sandbox": "runtime",
        "run": "runtime",
        "test": "test",
        "lint": "test",
        "bench": "test",
    }
    runtime, test = dev.wanted_stamp("runtime"), dev.wanted_stamp("test")
    assert runtime != test
    assert dev.installed_enough(test, "runtime")  # the test set includes the runtime set
    assert not dev.installed_enough(runtime, "test")
    assert not dev.installed_enough(None, "runtime")
    assert not dev.installed_enough("0123abcd", "runtime")  # a stamp of the old dev.py
    lock = tmp_path / "runtime.txt"
    lock.write_text(dev.LOCKS["runtime"].read_text() + "# changed\n")
    monkeypatch.setitem(dev.LOCKS, "runtime", lock)
    assert not dev.installed_enough(runtime, "runtime"), "a changed lock reinstalls"


def test_postgres_flag_is_dev_pys_not_pytests(monkeypatch: Any) -> None:
    calls: list[tuple[list[str], dict[str, str] | None]] = []
    monkeypatch.setattr(dev, "call", lambda c, cwd, env: calls.append((c, env)) or 0)
    monkeypatch.setenv("BRANCHBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://x@127.0.0.1:1/p")
    assert dev.run_tests("python", ["--postgres", "-k", "x"]) == 0
    command, env = calls.pop()
    assert command == ["python", "-m", "pytest", "-n", "auto", "--dist", "worksteal", "-k", "x"]
    assert env is not None and env["BRANCHBOT_REQUIRE_POSTGRES"] == "1"
    assert dev.run_tests("python", ["-n", "0"]) == 0
    command, env = calls.pop()
    assert command == ["python", "-m", "pytest", "-n", "0"] and env is None


def test_without_postgres_binaries_the_message_says_what_to_install(monkeypatch: Any) -> None:
    monkeypatch.delenv("BRANCHBOT_TEST_POSTGRES_URL", raising=False)
    monkeypatch.setattr(dev.Path, "glob", lambda self, pattern: iter(()))
    monkeypatch.setattr(dev.shutil, "which", lambda name: None)
    with pytest.raises(dev.NoPostgres, match=r"apt-get install postgresql"):
        dev.postgres_bin()
    assert dev.run_tests("python", ["--postgres"]) == 2


def test_ctrl_c_lets_the_child_finish_and_says_130(monkeypatch: Any) -> None:
    class Child:
        """pytest, which has the Ctrl-C too: it prints its summary and exits."""

        waits: list[float | None] = []  # noqa: RUF012
        killed = False

        def __init__(self, command: list[str], cwd: Path | None, env: Any) -> None:
            pass

        def wait(self, timeout: float | None = None) -> int:
            self.waits.append(timeout)
            if len(self.waits) == 1:
                raise KeyboardInterrupt
            return 2

        def poll(self) -> int:
            return 2

        def kill(self) -> None:
            Child.killed = True

    monkeypatch.setattr(dev.subprocess, "Popen", Child)
    assert dev.call(["pytest"]) == 130
    assert Child.waits == [None, 30] and not Child.killed


def test_a_throwaway_postgres_serves_and_is_gone_afterwards() -> None:
    async def answer(url: str) -> int:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            # The tests' account may create databases, but is no superuser (as in production).
            role = await connection.fetchrow(
                "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user"
            )
            assert (role["rolsuper"], role["rolcreatedb"]) == (False, True)
            return await connection.fetchval("SELECT 41 + 1")
        finally:
            await connection.close()

    folders = Path(dev.tempfile.gettempdir()).glob
    before = set(folders("branchbot-pg.*"))
    with dev.throwaway_postgres() as url:
        assert re.fullmatch(
            r"postgresql\+asyncpg://branchbot:branchbot@127\.0\.0\.1:\d+/postgres", url
        )
        assert asyncio.run(answer(url)) == 42
        (own,) = set(folders("branchbot-pg.*")) - before
    with pytest.raises(OSError):  # stopped: nobody listens there any more
        asyncio.run(answer(url))
    assert not own.exists()

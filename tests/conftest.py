"""Shared fixtures: databases built by the Alembic migrations, on SQLite and PostgreSQL.

The migrations run once per test session (per xdist worker) into a template, and
each test that wants a migrated schema gets a copy of it: a copied file on SQLite,
`CREATE DATABASE ... TEMPLATE` on PostgreSQL. Tests of the migrations themselves
start from `empty_database_url`.

PostgreSQL tests need BRANCHBOT_TEST_POSTGRES_URL (an account allowed to create
databases, e.g. postgresql+asyncpg://branchbot:branchbot@127.0.0.1:5432/postgres).
Without it they are deselected and the run says so; with
BRANCHBOT_REQUIRE_POSTGRES=1 (as in CI) a missing URL is an error instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from models import migrate
from models.db import SessionFactory, create_engine, create_session_factory
from tests.postgres import drop_database, execute_as_admin, throwaway_database

T = TypeVar("T")

POSTGRES_URL = os.environ.get("BRANCHBOT_TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("BRANCHBOT_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_POSTGRES and not POSTGRES_URL:
        raise pytest.UsageError(
            "BRANCHBOT_REQUIRE_POSTGRES=1 but BRANCHBOT_TEST_POSTGRES_URL is not set"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_URL:
        return
    deselected = [item for item in items if item.get_closest_marker("postgres")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgres")]
        config._branchbot_pg_deselected = len(deselected)  # type: ignore[attr-defined]
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is not None:  # a pytest-xdist worker: the controller prints the summary
            workeroutput["branchbot_pg_deselected"] = len(deselected)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # type: ignore[no-untyped-def]
    """pytest-xdist's controller collects nothing itself; its workers tell what they left out
    (each collects every test, so each tells the same count)."""
    count = getattr(node, "workeroutput", {}).get("branchbot_pg_deselected", 0)
    config = node.config
    config._branchbot_pg_deselected = max(getattr(config, "_branchbot_pg_deselected", 0), count)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    count = getattr(config, "_branchbot_pg_deselected", 0)
    if count:
        terminalreporter.write_line(
            f"PostgreSQL tests NOT run ({count}): set BRANCHBOT_TEST_POSTGRES_URL to run them",
            yellow=True,
        )


@dataclass
class Database:
    backend: str
    url: str
    engine: AsyncEngine
    sessions: SessionFactory


def _run_to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on a loop of its own, in a thread of its own: session fixtures
    may be first requested from inside a test's (running) event loop."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


async def _migrate(url: str) -> None:
    """Build the schema with the migrations, and leave no connection open."""
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the head revision, to be copied, never opened by tests."""
    path = tmp_path_factory.mktemp("template") / "branchbot.db"
    _run_to_completion(_migrate(f"sqlite+aiosqlite:///{path}"))
    # The last connection's close checkpointed the WAL into the file: the file is all.
    assert not path.with_name(f"{path.name}-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The name of a PostgreSQL database migrated to the head revision, to be copied with
    CREATE DATABASE ... TEMPLATE (which needs it to have no connections: none stays open)."""
    name = f"branchbot_template_{uuid.uuid4().hex[:12]}"
    _run_to_completion(execute_as_admin(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        _run_to_completion(_migrate(url))
        yield name
    finally:
        _run_to_completion(drop_database(POSTGRES_URL, name))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of the test: "sqlite" or "postgres"."""
    return request.param


@pytest.fixture
async def empty_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database on the parametrised backend."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'branchbot.db'}"
        return
    async with throwaway_database(POSTGRES_URL, "branchbot_test") as url:
        yield url


@contextlib.asynccontextmanager
async def _migrated_database_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "branchbot.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    async with throwaway_database(POSTGRES_URL, "branchbot_test", template=template_name) as url:
        yield url


@pytest.fixture
async def database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """A database whose schema was built by the migrations, never by create_all: a copy
    of the session's migrated template, on the parametrised backend."""
    async with _migrated_database_url(backend, tmp_path, request) as url:
        engine = create_engine(url)
        try:
            yield Database(backend, url, engine, create_session_factory(engine))
        finally:
            await engine.dispose()

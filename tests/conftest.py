"""Shared fixtures: databases built by the Alembic migrations, on SQLite and PostgreSQL.

PostgreSQL tests need BRANCHBOT_TEST_POSTGRES_URL (an account allowed to create
databases, e.g. postgresql+asyncpg://branchbot:branchbot@127.0.0.1:5432/postgres).
Without it they are deselected and the run says so; with
BRANCHBOT_REQUIRE_POSTGRES=1 (as in CI) a missing URL is an error instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from models import migrate
from models.db import SessionFactory, create_engine, create_session_factory
from tests.postgres import throwaway_database

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


@pytest.fixture(params=BACKENDS)
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database on the parametrised backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'branchbot.db'}"
        return
    async with throwaway_database(POSTGRES_URL, "branchbot_test") as url:
        yield url


@pytest.fixture
async def database(empty_database_url: str) -> AsyncIterator[Database]:
    """A database whose schema was built by the migrations, never by create_all."""
    engine = create_engine(empty_database_url)
    await migrate.upgrade(engine)
    backend = engine.dialect.name.replace("postgresql", "postgres")
    try:
        yield Database(backend, empty_database_url, engine, create_session_factory(engine))
    finally:
        await engine.dispose()

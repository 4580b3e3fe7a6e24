"""A throwaway PostgreSQL database, for the tests and the benchmarks alike."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import make_url


async def _execute_as_admin(admin_url: str, statement: str) -> None:
    import asyncpg  # only needed where PostgreSQL is used

    admin = make_url(admin_url)
    connection = await asyncpg.connect(
        user=admin.username,
        password=admin.password,
        host=admin.host,
        port=admin.port or 5432,
        database=admin.database or "postgres",
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def throwaway_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    """The URL of a new, empty database, created with the account of `admin_url` (which
    may create databases) and dropped afterwards, even if connections are still open."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _execute_as_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _execute_as_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""A throwaway PostgreSQL database, for the tests and the benchmarks alike."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import make_url


async def execute_as_admin(admin_url: str, statement: str) -> None:
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
async def throwaway_database(
    admin_url: str, prefix: str, template: str | None = None
) -> AsyncIterator[str]:
    """The URL of a new database, created with the account of `admin_url` (which may
    create databases) and dropped afterwards, even if connections are still open.

    It is empty, or a copy of the database named `template` (which nobody may be
    connected to meanwhile). Names are unique, so runs and workers sharing a server
    never meet."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    await execute_as_admin(admin_url, f'CREATE DATABASE "{name}"{copy}')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await drop_database(admin_url, name)


async def drop_database(admin_url: str, name: str, attempts: int = 50) -> None:
    """DROP ... WITH (FORCE), which an account that is not a superuser cannot do while a
    server process of no role (autovacuum, busy with a fresh copy) is connected: retry."""
    import asyncpg

    for attempt in range(attempts):
        try:
            await execute_as_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.1)

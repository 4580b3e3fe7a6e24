"""Alembic environment. The branchbot command passes an open connection in
`config.attributes["connection"]`; plain `alembic` use builds one from the URL."""

from __future__ import annotations

import asyncio
import logging.config
import os

from alembic import context
from sqlalchemy.engine import Connection

from models import Base
from models.db import create_engine
from models.migrate import migration_transaction

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    url = os.environ.get("BRANCHBOT_DATABASE_URL") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    engine = create_engine(url)
    async with migration_transaction(engine) as connection:  # as migrate.upgrade
        await connection.run_sync(run_migrations)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    if context.config.config_file_name:
        logging.config.fileConfig(context.config.config_file_name)
    asyncio.run(_run_with_own_engine())

"""Accounts: created on a person's first update, also when two processes see it at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from models.account import Account, languages, set_language, touch_account
from tests.conftest import Database

PERSON = 6_100_000_321


# On SQLite the race cannot happen: a transaction holds the write lock from its BEGIN
# (models.db), so the other process waits; see the test after this one.
@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_an_account_another_process_just_created_is_used(database: Database) -> None:
    """Two bots on one database (or two webhook workers) get a person's first updates at
    once: both look for the account, neither finds it, both create it."""
    async with database.sessions() as session:
        look = session.get

        async def look_then_another_process_creates_it(*args: Any, **kwargs: Any) -> Any:
            found = await look(*args, **kwargs)
            if found is None:
                async with database.sessions.begin() as other:
                    await touch_account(other, PERSON, "en")
            return found

        session.get = look_then_another_process_creates_it  # type: ignore[method-assign]
        account = await touch_account(session, PERSON, "zh")
        await session.commit()
    assert account.id == PERSON
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 1
        stored = await session.get_one(Account, PERSON)
        assert stored.telegram_language == "zh"  # the later update's, as without the race


async def test_a_transaction_that_read_still_writes_after_another_committed(
    database: Database,
) -> None:
    """The fault CI met on SQLite: a transaction reads (here in a savepoint, as
    handlers.ui.attempt runs a secretary's decision), another connection commits, and
    the first one's write then failed at once with "database is locked", its snapshot
    stale. Now the other waits its turn (SQLite) or both go on (PostgreSQL)."""
    async with database.sessions() as first:
        async with first.begin_nested():
            assert await first.get(Account, PERSON) is None  # has read
            other_done = asyncio.create_task(_create_account_elsewhere(database, PERSON + 1))
            await asyncio.sleep(0.3)  # the other's commit, where it can happen at once
            await touch_account(first, PERSON, "zh")
        await first.commit()
    await asyncio.wait_for(other_done, 15)
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 2


async def _create_account_elsewhere(database: Database, account_id: int) -> None:
    async with database.sessions.begin() as other:
        await touch_account(other, account_id, "en")


async def test_languages_of_more_people_than_one_statement_may_name(database: Database) -> None:
    """The first announcement of a city-wide event: 40,000 recipients, more than the 32,767
    parameters PostgreSQL's driver takes in one statement."""
    async with database.sessions.begin() as session:
        await set_language(session, 7, "en")
        await set_language(session, 39_999, "zh")
    async with database.sessions() as session:
        found = await languages(session, list(range(40_000)))
    assert found == {7: ("en", None), 39_999: ("zh", None)}

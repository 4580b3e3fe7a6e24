"""Accounts: created on a person's first update, also when two processes see it at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from models.account import Account, touch_account
from tests.conftest import Database

PERSON = 6_100_000_321


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

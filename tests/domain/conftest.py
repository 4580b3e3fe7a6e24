"""Fixtures for the domain tests: a session in a transaction, the demo tree, members."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.members import (
    Member,
    MemberType,
    give_consent,
    set_member_type,
    set_phone,
    set_real_name,
    start_profile,
)
from models.org import OrgUnit, import_org, list_tree
from tests.conftest import Database

EXAMPLE_ORG = Path(__file__).resolve().parents[2] / "examples" / "org.example.toml"
NOW = datetime(2026, 3, 12, 1, 30, tzinfo=UTC)


def example_org() -> dict[str, Any]:
    with EXAMPLE_ORG.open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    """One session and one transaction, as a handler would have; rolled back afterwards."""
    async with database.sessions() as session, session.begin():
        yield session


@pytest.fixture
async def units(session: AsyncSession) -> dict[str, OrgUnit]:
    """The demo tree of examples/org.example.toml, by code."""
    await import_org(session, example_org())
    return {unit.code: unit for _, unit in await list_tree(session)}


async def make_member(
    session: AsyncSession,
    telegram_id: int,
    name: str = "张三",
    member_type: MemberType = MemberType.regular,
    home_branch: str | None = None,
    phone: str = "+8613800138000",
) -> Member:
    """A member with a complete profile, ready to report."""
    member = await start_profile(session, telegram_id, NOW)
    await give_consent(session, member, NOW)
    set_real_name(member, name)
    set_phone(member, phone)
    if member_type is MemberType.floating and home_branch is None:
        home_branch = "湖南省长沙市某社区党支部"
    set_member_type(member, member_type, home_branch)
    await session.flush()
    return member

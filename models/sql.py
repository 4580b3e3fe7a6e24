"""SQL expressions that SQLite and PostgreSQL spell differently, written once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Float

T = TypeVar("T")


class seconds_between(FunctionElement[float]):  # lower case: used like a SQL function
    """Seconds from the first timestamp to the second (negative when it is earlier)."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between)
def _seconds_postgresql(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS FLOAT)"


def later(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((a > b, a), else_=b)


def earlier(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((a < b, a), else_=b)


# Ids in one IN list: PostgreSQL's driver takes at most 32,767 parameters a statement, and
# the first announcement of a city-wide event has more recipients than that.
IDS_PER_QUERY = 5_000


def in_parts(ids: Sequence[T]) -> Iterator[list[T]]:
    """`ids` in lists of IDS_PER_QUERY, for IN lists of any length."""
    for start in range(0, len(ids), IDS_PER_QUERY):
        yield list(ids[start : start + IDS_PER_QUERY])


def insert_or_skip(session: AsyncSession, entity: Any, key: list[str]) -> Any:
    """INSERT ... ON CONFLICT (key) DO NOTHING: a row that exists already is left as it is."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(entity).on_conflict_do_nothing(index_elements=key)

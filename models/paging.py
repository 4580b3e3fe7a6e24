"""Pages of a long list: the part of it that one message shows, and where that part is.

A page number comes back from a button, so it is user input, and may be old (the list
got shorter since) or forged: it is clamped to the pages there are, never refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
U = TypeVar("U")


def clamp(total: int, page: int, page_size: int) -> tuple[int, int]:
    """The page to show (the nearest one to `page`) and how many pages there are."""
    pages = max(1, math.ceil(total / page_size))
    return min(max(page, 1), pages), pages


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int  # in the whole list
    page: int  # 1-based, clamped to 1..pages
    pages: int  # at least 1, even when the list is empty
    page_size: int

    @property
    def offset(self) -> int:
        """How many come before this page: its numbered lines start at offset + 1."""
        return (self.page - 1) * self.page_size

    def with_items(self, items: list[U]) -> Page[U]:
        """The same page of something made of its items (one each)."""
        return Page(items, self.total, self.page, self.pages, self.page_size)


def page_of(items: Sequence[T], page: int, page_size: int) -> Page[T]:
    """One page of a list that is held whole."""
    page, pages = clamp(len(items), page, page_size)
    start = (page - 1) * page_size
    return Page(list(items[start : start + page_size]), len(items), page, pages, page_size)


async def page_of_rows(
    session: AsyncSession, query: Select[tuple[T]], page: int, page_size: int
) -> Page[T]:
    """One page of what `query` selects, in its order (which must tell every row apart),
    without reading the rest."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page, pages = clamp(total or 0, page, page_size)
    rows = await session.scalars(query.offset((page - 1) * page_size).limit(page_size))
    return Page(list(rows), total or 0, page, pages, page_size)

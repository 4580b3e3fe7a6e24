"""Pages of long lists (models.paging) and the row of buttons that turns them (views.buttons)."""

from __future__ import annotations

import pytest

from models.paging import Page, clamp, page_of
from views import buttons as b

TWENTY = [f"member {n}" for n in range(1, 21)]


def test_exactly_one_page() -> None:
    page = page_of(TWENTY, 1, 20)
    assert (page.items, page.total, page.page, page.pages, page.offset) == (TWENTY, 20, 1, 1, 0)


def test_one_over_makes_a_second_page_of_one() -> None:
    first, second = page_of(TWENTY, 1, 19), page_of(TWENTY, 2, 19)
    assert (first.pages, len(first.items), second.items) == (2, 19, ["member 20"])
    assert second.offset == 19  # its line is numbered 20


def test_an_empty_list_is_one_empty_page() -> None:
    page = page_of([], 1, 10)
    assert (page.items, page.total, page.page, page.pages) == ([], 0, 1, 1)
    assert page_of([], 5, 10).page == 1


@pytest.mark.parametrize(
    ("asked", "shown"), [(0, 1), (-3, 1), (1, 1), (3, 3), (4, 4), (5, 4), (9999, 4), (2**63, 4)]
)
def test_a_page_out_of_range_gives_the_nearest(asked: int, shown: int) -> None:
    """A forged number, or an old button after the list got shorter."""
    page = page_of(TWENTY, asked, 6)
    assert (page.page, page.pages) == (shown, 4)
    assert page.items == TWENTY[(shown - 1) * 6 : shown * 6]
    assert clamp(20, asked, 6) == (shown, 4)


def test_every_item_is_on_exactly_one_page() -> None:
    items = list(range(101))
    pages = [page_of(items, n, 7) for n in range(1, page_of(items, 1, 7).pages + 1)]
    assert [item for page in pages for item in page.items] == items


def page_row(page: int, pages: int) -> list[str]:
    shown = Page([], pages * 10, page, pages, 10)
    return [label for label, _ in b.pager(shown, b.EventsPage)]


def test_the_page_row() -> None:
    assert page_row(1, 1) == []  # one page: nothing to turn
    assert page_row(1, 7) == ["1/7", "›"]
    assert page_row(2, 7) == ["‹", "2/7", "›"]
    assert page_row(7, 7) == ["‹", "7/7"]
    buttons = [button for _, button in b.pager(Page([], 70, 2, 7, 10), b.EventsPage)]
    assert buttons == [b.EventsPage(1), b.PageShown(), b.EventsPage(3)]

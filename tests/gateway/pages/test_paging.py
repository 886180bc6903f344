"""Long lists on pages, one page at a time."""

from __future__ import annotations

import pytest

from gateway.pages.paging import PAGE_NUMBER_MAX, page_number, paged

ROWS = [f"row {number}" for number in range(1, 46)]


def test_a_list_is_cut_into_pages_with_links_that_keep_the_query() -> None:
    first = paged(ROWS, 1, size=20, path="/me/training", query={"year": "2021", "page": "1"})
    last = paged(ROWS, 3, size=20, path="/me/training", query={"year": "2021", "page": "3"})

    assert (first.rows[0], first.rows[-1], first.count, first.total_rows) == ("row 1", "row 20", 3, 45)
    assert first.previous_url is None
    assert first.next_url == "/me/training?year=2021&page=2"
    assert last.rows == ROWS[40:]
    assert last.previous_url == "/me/training?year=2021&page=2"
    assert last.next_url is None


def test_a_page_beyond_the_last_shows_the_last_and_an_empty_list_has_one_page() -> None:
    beyond = paged(ROWS, 99, size=20, path="/p", query={})
    empty = paged([], 1, size=20, path="/p", query={})

    assert (beyond.number, beyond.rows) == (3, ROWS[40:])
    assert (empty.number, empty.count, empty.rows, empty.next_url) == (1, 1, [], None)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2", 2),
        ("0", 1),
        ("-3", 1),
        ("x", 1),
        ("", 1),
        ("²", 1),
        ("9" * 50, 1),
        (str(PAGE_NUMBER_MAX + 1), PAGE_NUMBER_MAX),
    ],
)
def test_the_page_asked_for_is_read_safely(text: str, number: int) -> None:
    assert page_number({"page": text}) == number

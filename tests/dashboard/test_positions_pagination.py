"""The Positions page and the Overview's table render one server-sorted page of rows; their
controls swap only the partial, and a page size out of range is refused with its field."""

from __future__ import annotations

import re

import pytest

HTMX_POSITIONS = {"HX-Request": "true", "HX-Target": "positions-list"}
HTMX_OVERVIEW = {"HX-Request": "true", "HX-Target": "positions-table"}
SYMBOLS = ["AAPL", "MSFT", "XOM", "KO", "JPM", "NVDA", "AMZN", "GOOGL", "META", "TSLA"]


@pytest.fixture()
def big_book(factory, auth):
    """60 positions (the quantities tied in pairs) and a logged-in advisor."""
    user = factory.user()
    book = factory.portfolio(
        user,
        positions=[
            dict(symbol=SYMBOLS[i % len(SYMBOLS)], quantity=float(1 + i // 2), entry_price=10.0)
            for i in range(60)
        ],
    )
    auth.login(user.email)
    return book


def _row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'/positions/(\d+)/edit"', html)]


def test_the_positions_page_shows_its_first_page_and_the_whole_books_totals(client, big_book):
    resp = client.get(f"/portfolios/{big_book.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "HX-Request" in resp.headers["Vary"]
    assert len(_row_ids(html)) == 50
    assert "Total positions (60)" in html and "Rows 1–50 of 60 · page 1 of 2" in html
    assert 'id="strategies"' in html and "Next →" in html and "← Previous" not in html
    assert f'hx-get="/portfolios/{big_book.id}?sort=weight&amp;dir=desc&amp;page=2' in html


def test_pages_of_the_positions_page_partition_the_book(client, big_book):
    seen = []
    for page in (1, 2, 3, 4):
        resp = client.get(
            f"/portfolios/{big_book.id}?sort=quantity&dir=asc&per_page=25&page={page}",
            headers=HTMX_POSITIONS,
        )
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and "<html" not in html and 'id="positions-list"' in html
        seen.append(_row_ids(html))
    assert [len(ids) for ids in seen] == [25, 25, 10, 10]  # page 4 is past the end: the last
    ids = [i for page in seen[:3] for i in page]
    assert sorted(ids) == sorted(p.id for p in big_book.positions)
    quantities = {p.id: p.quantity for p in big_book.positions}
    order = [(quantities[i], i) for i in ids]
    assert order == sorted(order)  # by quantity, ties by id: the same order on every page


def test_a_page_size_out_of_range_is_refused_with_its_field(client, big_book):
    for query, field, message in (
        ("per_page=500", "per_page", "Rows per page must be a whole number from 5 to 200."),
        ("per_page=2", "per_page", "Rows per page must be a whole number from 5 to 200."),
        ("per_page=many", "per_page", "Rows per page must be a whole number from 5 to 200."),
        ("page=0", "page", "Page must be a whole number from 1 to 100000."),
        ("sort=colour", "sort", "Sort column must be one of: symbol, name, position type,"),
    ):
        for headers in ({}, HTMX_POSITIONS):
            resp = client.get(f"/portfolios/{big_book.id}?dir=asc&{query}", headers=headers)
            html = resp.get_data(as_text=True)
            assert resp.status_code == 200, query
            assert f'id="param-error" role="alert" data-field="{field}"' in html, query
            assert message in html, query
            assert len(_row_ids(html)) == 50, query  # the default size instead
            assert "Weight ▲" in html, query  # the valid parameters stay: ascending


def test_the_overview_table_pages_and_refuses_a_bad_size(client, big_book):
    base = f"/portfolios/{big_book.id}/overview"
    page = client.get(base).get_data(as_text=True)
    assert "Page 1 of 4 · 60 positions" in page
    assert len(re.findall(r"<tr data-symbol=", page)) == 15
    part = client.get(f"{base}?sort=symbol&dir=asc&page=2&per_page=25", headers=HTMX_OVERVIEW)
    html = part.get_data(as_text=True)
    assert "<html" not in html and "Page 2 of 3 · 60 positions" in html
    assert len(re.findall(r"<tr data-symbol=", html)) == 25
    bad = client.get(f"{base}?per_page=1000&type=", headers=HTMX_OVERVIEW).get_data(as_text=True)
    assert 'data-field="per_page"' in bad and "Page 1 of 4 · 60 positions" in bad
    unknown = client.get(f"{base}?type=FUTURE", headers=HTMX_OVERVIEW).get_data(as_text=True)
    assert 'data-field="type"' in unknown and "Type must be one of: LONG, SHORT" in unknown
    long_tag = client.get(f"{base}?tag={'x' * 61}", headers=HTMX_OVERVIEW).get_data(as_text=True)
    assert 'data-field="tag"' in long_tag and "Tag is not a valid value." in long_tag


def test_the_overview_renders_only_its_page_of_rows(client, big_book):
    html = client.get(f"/portfolios/{big_book.id}/overview?per_page=5").get_data(as_text=True)
    assert len(re.findall(r"<tr data-symbol=", html)) == 5
    assert "Page 1 of 12 · 60 positions" in html


def test_the_portfolio_list_counts_open_positions_without_loading_them(client, big_book):
    import datetime as dt

    from webapp.extensions import db

    big_book.positions[0].exit_date = dt.date(2026, 8, 3)
    big_book.positions[0].exit_price = 1.0
    db.session.commit()
    html = client.get("/portfolios/").get_data(as_text=True)
    row = html[html.index(big_book.name) :]
    assert re.search(r'<td class="num">(\d+)</td>', row).group(1) == "59"

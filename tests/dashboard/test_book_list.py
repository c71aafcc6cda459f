"""The book list (every portfolio and household, sortable) and the side-by-side comparison."""

from __future__ import annotations

import re

import pytest

from tests.factories import PortfolioFactory, PositionFactory
from webapp.extensions import db
from webapp.formatting import money
from webapp.services import households
from webapp.services.batch import run_portfolio_batch
from webapp.services.book_list import book_rows
from webapp.services.overview import overview


@pytest.fixture()
def advisor(client, factory):
    user = factory.user()
    small = PortfolioFactory(owner=user, name="Small", cash=1_000.0)
    for symbol, qty in (("JNJ", 10), ("PG", 10)):
        PositionFactory(portfolio=small, symbol=symbol, quantity=qty, entry_price=150.0)
    big = PortfolioFactory(owner=user, name="Big", cash=5_000.0)
    for symbol, qty in (("NVDA", 200), ("AMD", 150), ("TSLA", 40)):
        PositionFactory(portfolio=big, symbol=symbol, quantity=qty, entry_price=100.0)
    never = PortfolioFactory(owner=user, name="Never calculated", cash=100.0)
    home = households.create_household(user.id, "Family", [small.id, big.id])
    for book in (small, big, home):
        assert run_portfolio_batch(book.id).status == "succeeded"
    client.post("/login", data={"email": user.email, "password": factory.password})
    return user, small, big, never, home


def _order(html: str) -> list[str]:
    return re.findall(r'<tr data-book="(\d+)"', html)


def test_every_book_is_listed_with_its_figures(client, advisor):
    user, small, big, never, home = advisor
    html = client.get("/portfolios/").get_data(as_text=True)
    assert set(_order(html)) == {str(b.id) for b in (small, big, never, home)}
    rows = {r.id: r for r in book_rows(user.id)}
    assert rows[home.id].kind == "household" and rows[home.id].accounts == 2
    assert rows[home.id].equity == pytest.approx(rows[small.id].equity + rows[big.id].equity)
    assert money(rows[big.id].equity) in html
    assert rows[big.id].risk_score > rows[small.id].risk_score  # chip makers vs staples
    assert rows[never.id].equity is None and rows[never.id].calculated_at is None
    assert "household of 2" in html and "never" in html


def test_figures_are_read_once_per_run_and_again_after_a_new_one(advisor, monkeypatch):
    from webapp.services import book_list

    user, small, *_ = advisor
    first = {r.id: r for r in book_rows(user.id)}

    def unread(_portfolio):
        raise AssertionError("stored results read again for an unchanged run")

    monkeypatch.setattr(book_list, "_figures", unread)
    assert {r.id: r for r in book_rows(user.id)} == first  # served from the cache
    monkeypatch.undo()
    small.cash += 10_000.0
    db.session.flush()
    assert run_portfolio_batch(small.id).status == "succeeded"
    again = {r.id: r for r in book_rows(user.id)}
    assert again[small.id].equity == pytest.approx(first[small.id].equity + 10_000.0)


def test_sorting_orders_rows_and_puts_missing_figures_last(client, advisor):
    _, small, big, never, home = advisor
    resp = client.get("/portfolios/?sort=equity&order=desc", headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert "<html" not in html and "HX-Request" in resp.headers["Vary"]
    assert _order(html) == [str(home.id), str(big.id), str(small.id), str(never.id)]
    ascending = client.get("/portfolios/?sort=equity&order=asc").get_data(as_text=True)
    assert _order(ascending) == [str(small.id), str(big.id), str(home.id), str(never.id)]
    refused = client.get("/portfolios/?sort=colour").get_data(as_text=True)
    assert 'id="param-error"' in refused
    assert _order(refused) == [
        str(b.id) for b in sorted((small, big, never, home), key=lambda b: b.name.lower())
    ]


def test_compare_shows_each_books_stored_numbers_side_by_side(client, advisor, ctx):
    _, small, big, _, home = advisor
    html = client.get(f"/portfolios/compare?ids={small.id}&ids={big.id}&ids={home.id}").get_data(
        as_text=True
    )
    row = re.search(r'<tr data-row="equity">(.*?)</tr>', html, re.S).group(1)
    for book in (small, big, home):
        assert money(overview(db.session.merge(book)).data["summary"]["equity"]) in row
    assert 'data-row="var_95"' in html and 'data-row="risk_score"' in html


def test_compare_needs_two_to_four_of_the_advisors_books(client, advisor, factory):
    _, small, big, _, _ = advisor
    resp = client.get(f"/portfolios/compare?ids={small.id}", follow_redirects=True)
    assert "Choose between 2 and 4 books" in resp.get_data(as_text=True)
    other = PortfolioFactory(owner=factory.user())
    assert client.get(f"/portfolios/compare?ids={small.id}&ids={other.id}").status_code == 404

"""The ledger through the pages and the API: partial closes book cash, the transactions page and
endpoints, funding on add, delete recomputes cash."""

from __future__ import annotations

from sqlalchemy import select

from tests.management.conftest import field_errors
from webapp.extensions import db
from webapp.models import Portfolio, Position, Transaction
from webapp.services import ledger


def _book(factory, user, cash=1_000.0):
    """A book with 10 AAPL bought at $150 (written around the ledger: adopted on first write)."""
    return factory.portfolio(user, positions=[{"quantity": 10, "entry_price": 150.0}], cash=cash)


def _fresh(portfolio_id: int) -> Portfolio:
    db.session.expire_all()
    return db.session.get(Portfolio, portfolio_id)


def test_a_partial_close_on_the_page_books_proceeds_and_splits_the_lot(client, advisor, factory):
    book = _book(factory, advisor)
    position = book.positions[0]
    url = f"/portfolios/{book.id}/positions/{position.id}/close"
    assert client.get(url).status_code == 200
    too_many = client.post(
        url,
        data={
            "exit_date": "2026-07-01",
            "exit_price": "200",
            "quantity": "11",
        },
    )
    assert too_many.status_code == 422
    assert field_errors(too_many.get_data(as_text=True)) == {
        "quantity": ["Only 10 held; cannot close 11."]
    }
    resp = client.post(
        url,
        data={"exit_date": "2026-07-01", "exit_price": "200", "quantity": "4"},
    )
    assert resp.status_code == 302
    book = _fresh(book.id)
    assert book.cash == 1_000.0 + 4 * 200.0
    assert sorted((p.quantity, p.exit_price) for p in book.positions) == [(4.0, 200.0), (6.0, None)]
    assert ledger.ledger_state(book).realized_pnl == 4 * (200.0 - 150.0)
    assert ledger.rebuild_check(book).ok


def test_a_partial_close_through_the_api_returns_the_closed_lot(api, factory):
    book = _book(factory, api.user)
    position = book.positions[0]
    base = f"/management/portfolios/{book.id}/positions/{position.id}/close"
    resp = api.post(base, json={"exit_date": "2026-07-01", "exit_price": 120, "quantity": 3})
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "closed" and body["quantity"] == 3.0
    assert body["id"] != position.id
    late = api.post(base, json={"exit_date": "2026-08-04", "exit_price": 1})
    assert late.status_code == 422 and late.get_json()["error"]["details"]["fields"] == {
        "exit_date": "The date cannot be after the last price date (2026-08-03)."
    }
    book = _fresh(book.id)
    assert book.cash == 1_000.0 + 3 * 120.0
    ledger_page = api.get(f"/management/portfolios/{book.id}/transactions?kind=sell").get_json()
    assert [(t["kind"], t["quantity"], t["realized_pnl"]) for t in ledger_page["transactions"]] == [
        ("sell", 3.0, 3 * (120.0 - 150.0))
    ]
    assert ledger.rebuild_check(book).ok


def test_the_transactions_api_pages_and_books_cash_entries(api, factory):
    book = _book(factory, api.user)
    path = f"/management/portfolios/{book.id}/transactions"
    made = api.post(path, json={"kind": "deposit", "amount": 250, "trade_date": "2026-01-05"})
    assert made.status_code == 201 and made.get_json()["cash_balance"] == 1_250.0
    bad = api.post(path, json={"kind": "fee", "amount": -3, "trade_date": "2026-01-05"})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"]["fields"] == {"amount": "Must be greater than zero."}
    everything = api.get(path).get_json()
    assert everything["total"] == 4  # adopted: cash deposit, buy, its funding; then the deposit
    assert everything["transactions"][0]["running_cash"] == 1_250.0
    page = api.get(f"{path}?limit=1&offset=1").get_json()
    assert page["count"] == 1 and page["limit"] == 1 and page["offset"] == 1
    assert api.get(f"{path}?kind=nonsense").status_code == 400
    trade = api.post(
        path,
        json={
            "kind": "sell",
            "symbol": "AAPL",
            "quantity": 10,
            "price": 160,
            "trade_date": "2026-02-02",
        },
    )
    assert trade.status_code == 201 and trade.get_json()["cash_balance"] == 1_250.0 + 1_600.0


def test_the_transactions_page_lists_the_ledger_and_records_a_deposit(client, advisor, factory):
    book = _book(factory, advisor)
    url = f"/portfolios/{book.id}/transactions"
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="ledger"' not in html  # nothing booked yet
    refused = client.post(
        url,
        data={"kind": "deposit", "amount": "0", "trade_date": "2026-01-05"},
    )
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True)) == {
        "amount": ["Must be greater than zero."]
    }
    done = client.post(
        url,
        data={"kind": "deposit", "amount": "500", "trade_date": "2026-01-05"},
    )
    assert done.status_code == 302 and _fresh(book.id).cash == 1_500.0
    html = client.get(url).get_data(as_text=True)
    assert 'data-kind="deposit"' in html and "$1,500.00" in html


def test_funding_cash_spends_cash_and_delete_gives_it_back(api, factory):
    book = factory.portfolio(api.user, cash=5_000.0)
    path = f"/management/portfolios/{book.id}/positions"
    spec = {"symbol": "MSFT", "quantity": 10, "entry_price": 100, "entry_date": "2025-01-02"}
    moved = api.post(path, json=spec).get_json()
    assert _fresh(book.id).cash == 5_000.0  # transferred in: a deposit funds it
    bought = api.post(path, json=spec | {"funding": "cash", "fees": 1}).get_json()
    assert _fresh(book.id).cash == 5_000.0 - 1_001.0
    edited = api.patch(f"{path}/{bought['id']}", json={"quantity": 20})
    assert edited.status_code == 200 and _fresh(book.id).cash == 5_000.0 - 2_001.0
    assert api.delete(f"{path}/{bought['id']}").status_code == 204
    assert _fresh(book.id).cash == 5_000.0
    assert api.delete(f"{path}/{moved['id']}").status_code == 204
    book = _fresh(book.id)
    assert book.cash == 5_000.0 and ledger.rebuild_check(book).ok
    assert db.session.scalars(
        select(Transaction.kind).where(Transaction.portfolio_id == book.id)
    ).all() == ["deposit"]
    assert db.session.get(Position, bought["id"]) is None

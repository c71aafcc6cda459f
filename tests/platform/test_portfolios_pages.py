"""Portfolio list and positions table, valued at stored prices as of the last price date."""

import datetime as dt

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.formatting import money
from webapp.models import PriceBar
from webapp.services.positions import positions_view

AS_OF = dt.date(2026, 8, 3)


def close(symbol: str, day: dt.date = AS_OF) -> float:
    return db.session.scalar(
        select(PriceBar.adj_close).where(PriceBar.symbol == symbol, PriceBar.date == day)
    )


@pytest.fixture()
def book(factory):
    user = factory.user()
    portfolio = factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=10, entry_price=100.0),
            dict(symbol="TSLA", quantity=-5, entry_price=300.0),
        ],
        cash=1_000.0,
    )
    return user, portfolio


def test_positions_view_values_match_hand_calculation(book):
    _, portfolio = book
    view = positions_view(portfolio)
    assert view.as_of == AS_OF
    rows = {r["symbol"]: r for r in view.rows}
    aapl, tsla = close("AAPL"), close("TSLA")
    assert rows["AAPL"]["market_value"] == pytest.approx(10 * aapl)
    assert rows["AAPL"]["unrealized_pnl"] == pytest.approx(10 * (aapl - 100.0))
    assert rows["AAPL"]["unrealized_pnl_pct"] == pytest.approx((aapl - 100.0) / 100.0)
    assert rows["TSLA"]["market_value"] == pytest.approx(-5 * tsla)
    assert rows["TSLA"]["unrealized_pnl"] == pytest.approx(-5 * (tsla - 300.0))
    gross = 10 * aapl + 5 * tsla
    assert rows["AAPL"]["weight"] == pytest.approx(10 * aapl / gross)
    assert rows["TSLA"]["weight"] == pytest.approx(-5 * tsla / gross)
    assert view.totals["equity"] == pytest.approx(10 * aapl - 5 * tsla + 1_000.0)
    assert rows["AAPL"]["name"] == "Apple Inc."


def test_positions_page_shows_table_totals_and_as_of(client, auth, book):
    user, portfolio = book
    auth.login(user.email)
    html = client.get(f"/portfolios/{portfolio.id}").get_data(as_text=True)
    aapl = close("AAPL")
    for text in (
        "Apple Inc.",
        "Tesla",
        "As of 2026-08-03",
        money(10 * aapl),
        "Unrealized P&amp;L",
        "Weight",
        money(10 * aapl - 5 * close("TSLA") + 1_000.0),
    ):
        assert text in html, text
    assert 'class="num neg"' in html  # the short's negative market value renders red


def test_portfolio_list_shows_only_own_portfolios(client, auth, book, factory):
    user, portfolio = book
    other = factory.user()
    theirs = factory.portfolio(other, name="Someone else's book")
    auth.login(user.email)
    html = client.get("/portfolios/").get_data(as_text=True)
    assert portfolio.name in html and theirs.name not in html
    assert "Prices as of 2026-08-03" in html


def test_another_advisors_portfolio_is_404(client, auth, book, factory):
    _, portfolio = book
    intruder = factory.user()
    auth.login(intruder.email)
    resp = client.get(f"/portfolios/{portfolio.id}")
    assert resp.status_code == 404
    assert "AAPL" not in resp.get_data(as_text=True)
    assert client.get("/portfolios/999999").status_code == 404


def test_pages_require_login(client, book):
    _, portfolio = book
    resp = client.get(f"/portfolios/{portfolio.id}")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_empty_portfolio_says_so(client, auth, factory):
    user = factory.user()
    portfolio = factory.portfolio(user)
    auth.login(user.email)
    html = client.get(f"/portfolios/{portfolio.id}").get_data(as_text=True)
    assert "no open positions" in html


def test_positions_page_links_every_management_action(client, auth, book):
    user, portfolio = book
    auth.login(user.email)
    html = client.get(f"/portfolios/{portfolio.id}").get_data(as_text=True)
    for position in portfolio.positions:
        for action in ("edit", "close"):
            assert f"/portfolios/{portfolio.id}/positions/{position.id}/{action}" in html
        assert f'/portfolios/{portfolio.id}/positions/{position.id}"' in html
    for path in ("positions/new", "edit", "delete"):
        assert f"/portfolios/{portfolio.id}/{path}" in html


def test_valuation_reflects_every_change_to_the_holdings(book):
    """Valuations are memoised by their inputs: a changed position must never show old numbers."""
    _, portfolio = book
    before = {r["symbol"]: r for r in positions_view(portfolio).rows}
    aapl = next(p for p in portfolio.positions if p.symbol == "AAPL")
    aapl.quantity = 20
    db.session.commit()
    after = {r["symbol"]: r for r in positions_view(portfolio).rows}
    assert after["AAPL"]["market_value"] == pytest.approx(2 * before["AAPL"]["market_value"])
    assert after["TSLA"]["market_value"] == before["TSLA"]["market_value"]


def test_valuation_cache_is_safe_across_threads(app, factory, monkeypatch):
    """gunicorn threads share the cache: with room for one entry, eight threads valuing three
    books in turn evict each other constantly, and every answer is still that book's own."""
    import sys
    import threading

    from cachetools import LRUCache

    from webapp.models import Portfolio
    from webapp.services import valuation

    monkeypatch.setattr(valuation, "_CACHE", LRUCache(maxsize=1))
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    user = factory.user()
    books = [
        factory.portfolio(user, positions=[dict(symbol=s, quantity=q, entry_price=10.0)])
        for s, q in (("AAPL", 1), ("MSFT", 2), ("XOM", 3))
    ]
    ids = [b.id for b in books]
    errors, answers = [], []

    def work(seed: int) -> None:
        with app.app_context():
            try:
                for i in range(30):
                    pid = ids[(seed + i) % 3]
                    valued = valuation.value_portfolio(db.session.get(Portfolio, pid)).valued
                    answers.append((pid, valued["symbol"].tolist(), valued["quantity"].tolist()))
            except Exception as exc:  # noqa: BLE001 - collected, asserted below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(0.005)
    assert errors == []
    expected = {ids[0]: (["AAPL"], [1.0]), ids[1]: (["MSFT"], [2.0]), ids[2]: (["XOM"], [3.0])}
    assert len(answers) == 240
    assert all((symbols, qty) == expected[pid] for pid, symbols, qty in answers)

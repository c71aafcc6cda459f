"""The one valuation path: independent numbers, the cache's keys and its isolation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from webapp.analytics.errors import NonPositiveEquity, NoPositions
from webapp.extensions import db
from webapp.models import PriceBar
from webapp.services import batch, overview, positions, queries, valuation


def _close(symbol: str, day) -> float:
    return db.session.scalar(
        select(PriceBar.adj_close).where(PriceBar.symbol == symbol, PriceBar.date == day)
    )


def test_market_values_are_quantity_times_the_last_close(factory):
    user = factory.user()
    portfolio = factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=10, entry_price=150.0),
            dict(symbol="XOM", quantity=-4, entry_price=100.0),
        ],
        cash=5_000.0,
    )
    v = valuation.value_portfolio(portfolio)
    as_of = queries.latest_price_date()
    assert v.as_of == as_of
    by_symbol = v.valued.set_index("symbol")["market_value"].to_dict()
    assert by_symbol["AAPL"] == pytest.approx(10 * _close("AAPL", as_of), rel=1e-12)
    assert by_symbol["XOM"] == pytest.approx(-4 * _close("XOM", as_of), rel=1e-12)
    assert v.equity == pytest.approx(5_000.0 + sum(by_symbol.values()), rel=1e-12)
    assert {"SPY", "VTV", "AAPL", "XOM"} <= set(v.prices.columns)
    # History reaches back over the factor window: 252 returns need ~365 calendar days.
    assert (as_of - v.prices.index[0].date()).days >= valuation.HISTORY_CALENDAR_DAYS


def test_pages_and_batch_show_the_same_values(factory):
    user = factory.user()
    portfolio = factory.portfolio(
        user,
        positions=[
            dict(symbol="NVDA", quantity=7, entry_price=100.0),
            dict(symbol="SPY", quantity=3, entry_price=400.0),
        ],
    )
    batch.run_portfolio_batch(portfolio.id)
    stored = {
        p["symbol"]: p["market_value"] for p in overview.overview(portfolio).data["positions"]
    }
    page = {r["symbol"]: r["market_value"] for r in positions.positions_view(portfolio).rows}
    assert page == stored


def test_the_cache_answers_repeats_and_misses_on_new_holdings(factory, monkeypatch):
    user = factory.user()
    portfolio = factory.portfolio(user, positions=[dict(symbol="MSFT", quantity=2)])
    loads = []
    real = queries.load_prices
    monkeypatch.setattr(queries, "load_prices", lambda *a, **k: loads.append(1) or real(*a, **k))
    first = valuation.value_portfolio(portfolio)
    second = valuation.value_portfolio(portfolio)
    assert len(loads) == 1
    assert first.valued.equals(second.valued)
    other = factory.portfolio(user, positions=[dict(symbol="MSFT", quantity=3)])
    assert valuation.value_portfolio(other).valued["quantity"].tolist() == [3.0]
    assert len(loads) == 2  # other holdings, other key


def test_callers_get_copies_the_cache_keeps_its_own(factory):
    user = factory.user()
    portfolio = factory.portfolio(user, positions=[dict(symbol="JPM", quantity=5)])
    v = valuation.value_portfolio(portfolio)
    v.valued["market_value"] = -1.0
    v.prices.iloc[:, :] = 0.0
    again = valuation.value_portfolio(portfolio)
    assert (again.valued["market_value"] > 0).all()
    assert (again.prices.dropna(how="all").fillna(1.0) != 0).all().all()


def test_no_positions_and_non_positive_equity_are_refused(factory):
    user = factory.user()
    empty = valuation.value_portfolio(factory.portfolio(user, cash=100.0))
    with pytest.raises(NoPositions):
        empty.priced()
    short = valuation.value_portfolio(
        factory.portfolio(user, positions=[dict(symbol="AAPL", quantity=-100)], cash=0.0)
    )
    with pytest.raises(NonPositiveEquity) as exc:
        short.equity
    assert exc.value.reason == "non_positive_equity" and "equity is -" in exc.value.message

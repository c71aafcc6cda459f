"""Risk model v2: what risk and correlations leave out, trading-day windows, exposure weights.

Books are built from the bundled prices (as of 2026-08-03): UNH's bundled history ends on
2023-10-27 (a stale price), ZZZZ has no price at all.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cachetools import LRUCache
from sqlalchemy import select

from tests.factories import OptionPositionFactory
from webapp.extensions import db
from webapp.models import PriceBar
from webapp.services import queries, valuation
from webapp.services.correlations import correlation_matrix, diversification_score
from webapp.services.risk_metrics import risk_metrics

# Not a standard window: computed on request, so no batch run is needed.
LOOKBACK = 91
STOCKS = {"AAPL": 10.0, "MSFT": 5.0, "KO": 20.0}


def _close(symbol: str, day: dt.date) -> float:
    return db.session.scalar(
        select(PriceBar.adj_close).where(PriceBar.symbol == symbol, PriceBar.date == day)
    )


@pytest.fixture()
def gappy_book(factory):
    user = factory.user()
    return factory.portfolio(
        user,
        positions=[
            *(dict(symbol=s, quantity=q, entry_price=100.0) for s, q in STOCKS.items()),
            # Bought before its bundled prices end, so its last close is loaded (and stale).
            dict(symbol="UNH", quantity=3, entry_price=500.0, entry_date=dt.date(2023, 6, 1)),
            dict(symbol="ZZZZ", quantity=7, entry_price=50.0),
        ],
        cash=50_000.0,
    )


def _expected_coverage() -> float:
    """Σ|E| of the priced stocks / (that + |cost basis| of UNH and ZZZZ), from stored closes."""
    as_of = queries.latest_price_date()
    modelled = sum(abs(q * _close(s, as_of)) for s, q in STOCKS.items())
    return modelled / (modelled + 3 * 500.0 + 7 * 50.0)


def _check_left_out(data: dict, portfolio) -> None:
    ids = {p.symbol: p.id for p in portfolio.positions}
    left = {x["symbol"]: x for x in data["left_out"]}
    assert set(left) == {"UNH", "ZZZZ"}
    assert left["UNH"]["reason"] == "stale_price" and "2023-10-27" in left["UNH"]["detail"]
    assert left["ZZZZ"]["reason"] == "no_prices" and "ZZZZ" in left["ZZZZ"]["detail"]
    assert {left[s]["position_id"] for s in left} == {ids["UNH"], ids["ZZZZ"]}
    assert data["coverage"] < 1
    assert data["coverage"] == pytest.approx(_expected_coverage(), rel=1e-12)


def test_risk_lists_unpriced_positions_and_their_share(gappy_book):
    result = risk_metrics(gappy_book, lookback_days=LOOKBACK)
    assert result.available
    _check_left_out(result.data, gappy_book)
    assert {c["symbol"] for c in result.data["contributions"]} == set(STOCKS)


def test_correlations_list_unpriced_positions_and_their_share(gappy_book):
    result = correlation_matrix(gappy_book, lookback_days=LOOKBACK)
    assert result.available and set(result.data["symbols"]) == set(STOCKS)
    _check_left_out(result.data, gappy_book)
    score = diversification_score(gappy_book, lookback_days=LOOKBACK)
    _check_left_out(score.data, gappy_book)


def test_a_fully_priced_book_has_full_coverage(factory):
    user = factory.user()
    book = factory.portfolio(user, positions=[dict(symbol="AAPL", quantity=1), dict(symbol="KO")])
    assert risk_metrics(book, lookback_days=LOOKBACK).data["coverage"] == pytest.approx(1.0)
    data = correlation_matrix(book, lookback_days=LOOKBACK).data
    assert data["coverage"] == pytest.approx(1.0) and data["left_out"] == []


def _recent_book(factory):
    # Bought last month: the history loaded is set by the windows, not by an old entry date.
    return factory.portfolio(
        factory.user(),
        positions=[
            dict(symbol=s, quantity=q, entry_date=dt.date(2026, 7, 1)) for s, q in STOCKS.items()
        ],
    )


def test_a_365_day_look_back_gets_365_returns(factory):
    book = _recent_book(factory)
    risk = risk_metrics(book, lookback_days=365).data
    assert risk["observations"] == risk["nobs"] == 365
    assert risk["observations_reason"] is None
    assert risk["end"] == queries.latest_price_date().isoformat()
    corr = correlation_matrix(book, lookback_days=365).data
    assert corr["observations"] == 365 and corr["observations_reason"] is None
    assert {corr["data_points"][i][i] for i in range(len(corr["symbols"]))} == {365}


def test_a_window_longer_than_the_history_says_so(factory, monkeypatch):
    # Load only 100 trading days: a 300-day look-back cannot be full, and says why.
    monkeypatch.setattr(valuation, "MAX_LOOKBACK_DAYS", 100)
    monkeypatch.setattr(valuation, "HISTORY_CALENDAR_DAYS", 100)
    monkeypatch.setattr(valuation, "_CACHE", LRUCache(maxsize=8))
    book = _recent_book(factory)
    risk = risk_metrics(book, lookback_days=300).data
    assert 90 <= risk["observations"] < 300
    assert risk["observations_reason"].startswith(f"the price history starts {risk['start']}")
    corr = correlation_matrix(book, lookback_days=300).data
    assert corr["observations"] == risk["observations"]
    assert corr["observations_reason"].startswith(f"the price history starts {corr['start']}")


def test_diversification_weights_are_delta_adjusted_exposures(factory, auth, client):
    as_of = queries.latest_price_date()
    spot = _close("MSFT", as_of)
    user = factory.user()
    book = factory.portfolio(
        user, positions=[dict(symbol="AAPL", quantity=10), dict(symbol="KO", quantity=40)]
    )
    option = OptionPositionFactory(
        portfolio=book, underlying_symbol="MSFT", strike_price=round(spot), quantity=3
    )
    valued = valuation.value_portfolio(book).valued.loc[option.id]
    assert 0.2 < valued["delta"] < 0.8  # at the money: its delta, not 1, sets its weight
    msft = abs(valued["delta"] * 3 * 100 * spot)
    stocks = {"AAPL": 10 * _close("AAPL", as_of), "KO": 40 * _close("KO", as_of)}
    total = msft + sum(stocks.values())

    data = correlation_matrix(book, lookback_days=LOOKBACK).data
    assert data["weights"]["MSFT"] == pytest.approx(msft / total, rel=1e-9)
    assert data["weights"]["AAPL"] == pytest.approx(stocks["AAPL"] / total, rel=1e-9)
    expected_order = sorted({"MSFT": msft, **stocks}.items(), key=lambda kv: -kv[1])
    assert data["symbols"] == [s for s, _ in expected_order]
    score = diversification_score(book, lookback_days=LOOKBACK).data
    assert "|delta-adjusted exposure|" in score["method"] and "market value" not in score["method"]

    auth.login(user.email)
    page = client.get(f"/portfolios/{book.id}/correlations?lookback_days={LOOKBACK}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Ordered by exposure" in text and "|delta-adjusted exposure|" in text
    assert "|market value|" not in text

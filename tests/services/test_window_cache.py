"""On-request windows (look-backs the batch does not store) are remembered per book version,
parameters and prices, and recomputed after a position edit, new prices or a new factor fit."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import PositionFactory
from webapp.extensions import db
from webapp.services import correlations, management, pipeline, risk_metrics

AS_OF = dt.date(2026, 8, 3)


@pytest.fixture()
def window_calls(monkeypatch):
    """How many times each on-request step ran."""
    calls = {"risk_metrics": 0, "correlations": 0}
    real = pipeline.on_request

    def run(portfolio, step, kind, window):
        calls[kind] += 1
        return real(portfolio, step, kind, window)

    monkeypatch.setattr(pipeline, "on_request", run)
    return calls


def _stock_book(factory):
    return factory.portfolio(
        factory.user(),
        positions=[
            dict(symbol="AAPL", quantity=10, entry_price=150.0),
            dict(symbol="MSFT", quantity=5, entry_price=300.0),
            dict(symbol="XOM", quantity=-20, entry_price=90.0),
        ],
        cash=20_000.0,
    )


def test_a_non_standard_window_is_computed_once_per_book_version(factory, window_calls):
    book = _stock_book(factory)
    first = risk_metrics.risk_metrics(book, lookback_days=120)
    second = risk_metrics.risk_metrics(book, lookback_days=120)
    assert first.available and second.data == first.data
    assert first.metadata == {"computed": "on_request"}
    heat = correlations.correlation_matrix(book, lookback_days=45, max_symbols=2)
    wider = correlations.correlation_matrix(book, lookback_days=45, min_overlap=40)
    assert heat.available and len(heat.data["symbols"]) == 2 and len(wider.data["symbols"]) == 3
    assert window_calls == {"risk_metrics": 1, "correlations": 1}
    risk_metrics.risk_metrics(book, lookback_days=121)  # another window, another entry
    assert window_calls["risk_metrics"] == 2


def test_a_position_edit_recomputes_the_window(factory, window_calls):
    book = _stock_book(factory)
    before = risk_metrics.risk_metrics(book, lookback_days=120).data
    xom = next(p for p in book.positions if p.symbol == "XOM")
    management.update_position(xom, {"quantity": -40}, partial=True)
    db.session.commit()
    after = risk_metrics.risk_metrics(book, lookback_days=120).data
    assert window_calls["risk_metrics"] == 2
    assert after["var"] != before["var"]
    fresh = pipeline.on_request(book, risk_metrics.STEP, "risk_metrics", 120).data
    attached = ("risk_split", "factor_market_beta")  # added by the read model, not the step
    assert {k: v for k, v in after.items() if k not in attached} == fresh


def test_new_prices_recompute_the_window(factory, window_calls, new_bar):
    book = _stock_book(factory)
    PositionFactory(portfolio=book, symbol="UNH", quantity=3.0, entry_price=500.0)
    before = correlations.correlation_matrix(book, lookback_days=45).data
    new_bar("UNH", AS_OF, 512.5)
    after = correlations.correlation_matrix(book, lookback_days=45).data
    assert window_calls["correlations"] == 2
    assert after["left_out"] != before["left_out"]


def test_callers_cannot_change_the_cached_window(factory):
    book = _stock_book(factory)
    result = risk_metrics.risk_metrics(book, lookback_days=120)
    result.parameters["lookback_days"] = -1
    result.metadata["computed"] = "changed"
    result.data["observations"] = "changed"
    result.available = False
    again = risk_metrics.risk_metrics(book, lookback_days=120)
    assert again.available and again.parameters == {"lookback_days": 120}
    assert again.metadata == {"computed": "on_request"} and again.data["observations"] == 120


def test_the_risk_split_of_a_window_follows_the_stored_factor_fit(factory, monkeypatch):
    from webapp.services.batch import run_portfolio_batch

    book = _stock_book(factory)
    calls = []
    real = risk_metrics.risk_split_for
    monkeypatch.setattr(risk_metrics, "risk_split_for", lambda *a: calls.append(a[1:]) or real(*a))
    assert risk_metrics.risk_metrics(book, lookback_days=120).data["risk_split"] is None
    assert run_portfolio_batch(book.id).status == "succeeded"
    split = risk_metrics.risk_metrics(book, lookback_days=120).data["risk_split"]
    assert split is not None and split["available"]
    assert risk_metrics.risk_metrics(book, lookback_days=120).data["risk_split"] == split
    assert calls == [(120,), (120,)]  # once before the batch, once after it; then remembered

"""Risk service: full-revaluation historical VaR on books with options, stored and on the page."""

from __future__ import annotations

import numpy as np
import pytest

from webapp.analytics import risk as risk_engine
from webapp.analytics import var as var_engine
from webapp.analytics.returns import returns_window
from webapp.extensions import db
from webapp.formatting import money
from webapp.models import Portfolio
from webapp.services import risk_metrics as risk_svc
from webapp.services import valuation as valuation_svc

HF = "demo_hedgefundstyle@sigmasight.com"


@pytest.mark.parametrize("lookback", [90, 252])
def test_demo_book_with_options_carries_full_revaluation_var(ctx, hf_book, lookback):
    portfolio = db.session.get(Portfolio, hf_book)
    result = risk_svc.risk_metrics(portfolio, lookback_days=lookback)
    assert result.available
    data = result.data
    full = data["full_revaluation"]
    assert full["available"] and full["options"] > 0 and full["nobs"] >= 20
    assert "full revaluation" in data["method"] and "delta-only" in data["method"]
    assert [v["confidence"] for v in data["var"]] == [0.95, 0.99]
    for v in data["var"]:
        # The keys pages, exports and tests read are still there beside the new ones.
        assert {"historical", "expected_shortfall", "parametric"} <= set(v)
        for key in ("historical_full", "expected_shortfall_full"):
            assert v[key]["dollars"] > 0
            assert v[key]["dollars"] == pytest.approx(v[key]["return"] * data["equity"])
        assert v["expected_shortfall_full"]["dollars"] >= v["historical_full"]["dollars"]
        # The book holds options: repricing and delta-only give different numbers.
        assert v["historical_full"]["dollars"] != pytest.approx(v["historical"]["dollars"])

    # The same numbers straight from the engines on the same valuation and window.
    valuation = valuation_svc.value_portfolio(portfolio)
    window = returns_window(valuation.returns, valuation.as_of, lookback)
    valued = valuation.valued[valuation.valued["status"] == "ok"]
    pnl = var_engine.full_revaluation_pnl(valued, window, rate_pct=valuation.rate).pnl.to_numpy()
    assert len(pnl) == full["nobs"]
    for v in data["var"]:
        q = np.quantile(pnl, 1 - v["confidence"], method="linear")
        assert v["historical_full"]["dollars"] == pytest.approx(-q, rel=1e-9)
        assert v["expected_shortfall_full"]["dollars"] == pytest.approx(
            -pnl[pnl <= q].mean(), rel=1e-9
        )


def test_stock_only_book_full_equals_delta_only(factory):
    user = factory.user()
    portfolio = factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=40, entry_price=150.0),
            dict(symbol="XOM", quantity=-30, entry_price=100.0),
            dict(symbol="SPY", quantity=10, entry_price=400.0),
        ],
        cash=20_000.0,
    )
    data = risk_svc.risk_metrics_now(portfolio, 90).data
    assert data["full_revaluation"]["options"] == 0
    assert data["full_revaluation"]["nobs"] == data["nobs"]
    for v in data["var"]:
        for full, delta in (
            ("historical_full", "historical"),
            ("expected_shortfall_full", "expected_shortfall"),
        ):
            assert v[full]["dollars"] == pytest.approx(v[delta]["dollars"], rel=1e-12)
            assert v[full]["return"] == pytest.approx(v[delta]["return"], rel=1e-12)


def test_risk_page_shows_full_revaluation_var_labelled(ctx, client, hf_book):
    portfolio = db.session.get(Portfolio, hf_book)
    data = risk_svc.risk_metrics(portfolio, lookback_days=90).data
    client.post("/login", data={"email": HF, "password": "demo12345"})
    html = client.get(f"/portfolios/{hf_book}/risk").get_data(as_text=True)
    assert "Historical VaR (full revaluation)" in html
    assert "Historical VaR (delta-only)" in html
    assert "Parametric VaR (delta-normal)" in html
    for v in data["var"]:
        assert money(v["historical_full"]["dollars"]) in html
        assert money(v["expected_shortfall_full"]["dollars"]) in html
        assert money(v["historical"]["dollars"]) in html
    assert "Full revaluation" in html and "BS(S × (1 + r<sub>d</sub>))" in html


def test_full_revaluation_matches_the_backcast_dates(ctx, hf_book):
    # With every underlying carrying delta, the repricing uses the backcast's very days.
    portfolio = db.session.get(Portfolio, hf_book)
    valuation = valuation_svc.value_portfolio(portfolio)
    window = returns_window(valuation.returns, valuation.as_of, 90)
    modelled, _ = risk_engine.modelled_exposures(valuation.exposures, window)
    backcast = risk_engine.backcast_pnl(modelled, window)
    data = risk_svc.risk_metrics(portfolio, lookback_days=90).data
    assert data["full_revaluation"]["nobs"] == len(backcast)
    assert data["full_revaluation"]["start"] == backcast.index[0].date().isoformat()

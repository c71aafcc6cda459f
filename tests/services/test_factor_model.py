"""Risk model v2 on the demo books: collinearity, an additive risk split, left-out positions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from webapp.analytics import factors as factors_engine
from webapp.analytics.constants import DEFAULT_FACTOR_WINDOW, STANDARD_WINDOWS
from webapp.analytics.returns import returns_window
from webapp.extensions import db
from webapp.models import Portfolio, User
from webapp.services import factor_exposures
from webapp.services.pipeline import StepContext
from webapp.services.queries import latest_price_date
from webapp.services.valuation import value_portfolio

DEMO = ["demo_individual", "demo_hnw", "demo_hedgefundstyle"]


def _demo(email: str) -> Portfolio:
    user = db.session.scalar(select(User).where(User.email == f"{email}@sigmasight.com"))
    return db.session.scalar(select(Portfolio).where(Portfolio.user_id == user.id))


def _run_step(portfolio: Portfolio) -> tuple[dict, StepContext]:
    """Run the factor step alone on the book, capturing (not storing) what it would store."""
    captured: dict[str, dict] = {}
    as_of = latest_price_date()
    ctx = StepContext(
        portfolio=portfolio,
        as_of=as_of,
        sink=lambda kind, payload, _params: captured.__setitem__(kind, payload),
        windows=STANDARD_WINDOWS,
        valuation=value_portfolio(portfolio, as_of),
    )
    factor_exposures.STEP.run(ctx)
    return captured, ctx


@pytest.fixture(scope="module")
def demo_runs(app):
    with app.app_context():
        runs = {email: _run_step(_demo(email)) for email in DEMO}
        yield runs
        db.session.remove()


@pytest.mark.parametrize("email", DEMO)
def test_every_portfolio_vif_is_below_five(demo_runs, email):
    data = demo_runs[email][0]["factor_exposures"]
    assert set(data["vif"]) == set(factors_engine.FACTOR_NAMES)
    assert max(data["vif"].values()) < 5, data["vif"]
    assert [f["name"] for f in data["factors"]] == list(factors_engine.FACTOR_NAMES)


@pytest.mark.parametrize("email", DEMO)
def test_risk_split_adds_up_on_every_window(demo_runs, email):
    data = demo_runs[email][0]["factor_exposures"]
    assert set(data["risk_splits"]) == {str(w) for w in STANDARD_WINDOWS}
    assert data["risk_split"] == data["risk_splits"][str(DEFAULT_FACTOR_WINDOW)]
    for window, split in data["risk_splits"].items():
        assert split["available"], split
        total = split["total_var"]
        parts = split["systematic_var"] + split["idiosyncratic_var"] + 2 * split["cross_cov"]
        assert parts == pytest.approx(total, rel=1e-9, abs=1e-15), window
        assert split["lookback_days"] == int(window)
        shares = split["systematic_share"] + split["idiosyncratic_share"] + split["cross_share"]
        assert shares == pytest.approx(1.0, abs=1e-9)
        assert split["total_vol_dollars_daily"] == pytest.approx(
            np.sqrt(total) * split["equity"], rel=1e-12
        )
        assert split["total_vol_dollars_annual"] == pytest.approx(
            split["total_vol_dollars_daily"] * np.sqrt(252), rel=1e-12
        )


@pytest.mark.parametrize("email", DEMO)
def test_risk_split_total_is_the_backcast_variance(demo_runs, email):
    data, ctx = demo_runs[email]
    split = data["factor_exposures"]["risk_splits"]["90"]
    valuation = ctx.valuation
    modelled = [
        f for f in valuation.exposures.index if f not in {x["symbol"] for x in split["left_out"]}
    ]
    window = returns_window(valuation.returns, ctx.as_of, 90)[modelled].dropna()
    port = window.to_numpy() @ valuation.exposures[modelled].to_numpy() / valuation.equity
    assert split["total_var"] == pytest.approx(float(np.var(port, ddof=1)), rel=1e-9)


def test_cross_term_vanishes_on_the_regression_window(demo_runs):
    # OLS residuals are orthogonal to the regressors in sample: on the 252-day window every
    # holding fitted on all dates gives cov(b'f, e) = 0 up to rounding.
    split = demo_runs["demo_individual"][0]["factor_exposures"]["risk_splits"]["252"]
    assert abs(split["cross_share"]) < 1e-9


@pytest.mark.parametrize("email", DEMO)
def test_left_out_positions_and_coverage(demo_runs, email):
    data, ctx = demo_runs[email]
    fx = data["factor_exposures"]
    valued = ctx.valuation.valued
    unpriced = set(valued.index[valued["status"] != "ok"])
    listed = {x["position_id"] for x in fx["left_out"] if "position_id" in x}
    assert listed == unpriced
    if fx["left_out"]:
        assert fx["coverage"] < 1
    else:
        assert fx["coverage"] == pytest.approx(1.0)
    rows = data["position_factor_exposures"]["positions"]
    for row in rows:
        if row["available"]:
            assert set(row["std_errors"]) == {"alpha", *factors_engine.FACTOR_NAMES}
        else:
            assert row["reason"]


def test_unpriced_and_short_history_positions_are_left_out(factory, monkeypatch):
    user = factory.user()
    portfolio = factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=100, entry_price=150.0),
            dict(symbol="MSFT", quantity=50, entry_price=300.0),
            dict(symbol="ZZZQ", quantity=10, entry_price=40.0),  # no stored price
        ],
        cash=20_000.0,
    )
    as_of = latest_price_date()
    valuation = value_portfolio(portfolio, as_of)
    # MSFT with 30 returns only: too few observations for its regression.
    returns = valuation.returns.copy()
    returns.loc[returns.index[:-30], "MSFT"] = np.nan
    monkeypatch.setattr(type(valuation), "returns", property(lambda self: returns))
    captured: dict[str, dict] = {}
    ctx = StepContext(
        portfolio=portfolio,
        as_of=as_of,
        sink=lambda kind, payload, _params: captured.__setitem__(kind, payload),
        windows=(90,),
        valuation=valuation,
    )
    factor_exposures.STEP.run(ctx)
    fx = captured["factor_exposures"]
    reasons = {x.get("underlying", x["symbol"]): x["reason"] for x in fx["left_out"]}
    assert reasons == {"ZZZQ": "no_prices", "MSFT": "insufficient_history"}
    aapl = abs(valuation.exposures["AAPL"])
    gross = aapl + abs(valuation.exposures["MSFT"]) + 400.0  # ZZZQ at its cost basis
    assert fx["coverage"] == pytest.approx(aapl / gross)
    assert fx["risk_split"]["coverage"] < 1
    rows = {r["symbol"]: r for r in captured["position_factor_exposures"]["positions"]}
    assert rows["ZZZQ"]["available"] is False and rows["MSFT"]["available"] is False


def test_risk_split_for_follows_the_look_back(factory):
    from webapp.services import batch

    user = factory.user()
    portfolio = factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=100, entry_price=150.0),
            dict(symbol="XOM", quantity=-80, entry_price=100.0),
        ],
        cash=20_000.0,
    )
    assert factor_exposures.risk_split_for(portfolio, 90) is None  # no factor result yet
    batch.run_portfolio_batch(portfolio.id)
    stored = factor_exposures.factor_exposures(portfolio).data["risk_splits"]
    assert factor_exposures.risk_split_for(portfolio, 90) == stored["90"]
    custom = factor_exposures.risk_split_for(portfolio, 120)
    assert custom["available"] and custom["lookback_days"] == 120
    assert custom["total_var"] == pytest.approx(
        custom["systematic_var"] + custom["idiosyncratic_var"] + 2 * custom["cross_cov"],
        rel=1e-9,
    )


def test_definitions_document_the_merged_styles(ctx):
    defs = {d["name"]: d for d in factor_exposures.factor_definitions()}
    assert list(defs) == list(factors_engine.FACTOR_NAMES)
    assert defs["Value"]["formula"] == "r(VTV) - r(VUG) - h*Market"
    assert defs["Growth"]["etf_symbol"] == "QQQ"
    assert defs["Growth"]["hedged_against"] == ["Market", "Value"]
    assert "mirror" in defs["Value"]["description"]


def test_series_are_frames(demo_runs):
    # The step hands the factor returns on: stress uses their covariance on the window.
    _, ctx = demo_runs["demo_hnw"]
    assert isinstance(ctx.valuation.returns, pd.DataFrame)

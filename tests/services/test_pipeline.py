"""The batch's steps declare what they need and produce; the runner honours it."""

from __future__ import annotations

import dataclasses

import pytest

from webapp.analytics.errors import InsufficientHistory
from webapp.extensions import db
from webapp.models import Portfolio
from webapp.services import batch, factor_exposures, results, risk_metrics


def _book(factory):
    user = factory.user()
    return factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=100, entry_price=150.0),
            dict(symbol="MSFT", quantity=50, entry_price=300.0),
        ],
        cash=20_000.0,
    )


def test_every_need_is_produced_by_an_earlier_step():
    produced: set[str] = set()
    for step in batch.STEPS:
        assert set(step.needs) <= produced, (step.name, step.needs, produced)
        if step.produces:
            produced.add(step.produces)
    assert produced == {"valuation", "factor_model"}


def test_missing_results_are_explained_by_the_step_that_stores_them():
    declared = {kind: step.name for step in batch.STEPS for kind in step.kinds}
    assert declared == results.STEP_OF_KIND


def test_a_failed_factor_fit_skips_stress_but_not_risk(factory, monkeypatch):
    portfolio = _book(factory)

    def no_fit(ctx):
        raise InsufficientHistory("factor ETFs have 12 common days, 60 needed")

    steps = [dataclasses.replace(s, run=no_fit) if s.name == "factors" else s for s in batch.STEPS]
    monkeypatch.setattr(batch, "STEPS", steps)
    run = batch.run_portfolio_batch(portfolio.id)
    by_name = {s["name"]: s for s in run.steps}
    assert run.status == "partial"
    assert by_name["factors"]["status"] == "failed"
    assert by_name["factors"]["reason"] == "insufficient_history"
    assert by_name["risk"]["status"] == "succeeded"  # beta vs SPY no longer needs the factors
    assert by_name["stress"]["status"] == "skipped"
    assert by_name["stress"]["reason"] == "dependency_failed"
    assert "factor_model" in by_name["stress"]["error"]
    risk = risk_metrics.risk_metrics(portfolio, lookback_days=90)
    assert risk.available and risk.data["portfolio_beta"] is not None
    assert risk.data["risk_split"] is None  # no factor result to attach
    stress = results.stored(portfolio, "stress_test")
    assert not stress.available and stress.reason == "insufficient_history"


def test_an_on_request_window_runs_only_the_risk_step(factory, monkeypatch):
    portfolio = _book(factory)
    batch.run_portfolio_batch(portfolio.id)
    called = []
    monkeypatch.setattr(
        factor_exposures.factors_engine,
        "factor_betas",
        lambda *a, **k: called.append("factor_betas"),
    )
    custom = risk_metrics.risk_metrics(db.session.get(Portfolio, portfolio.id), lookback_days=120)
    assert custom.available and custom.metadata["computed"] == "on_request"
    assert custom.data["lookback_days"] == 120 and custom.data["nobs"] == 120
    assert called == []
    # The factor split follows the look-back, from the stored betas (no regression refitted).
    split = custom.data["risk_split"]
    assert split["available"] and split["lookback_days"] == 120


def test_a_book_without_positions_fails_with_its_reason(factory):
    user = factory.user()
    portfolio = factory.portfolio(user, cash=1_000.0)
    run = batch.run_portfolio_batch(portfolio.id)
    by_name = {s["name"]: s for s in run.steps}
    assert by_name["valuation"]["status"] == "succeeded"
    for name in ("snapshots", "factors", "correlations", "risk"):
        assert by_name[name]["reason"] == "no_positions", name
    assert by_name["stress"]["status"] == "skipped"
    result = risk_metrics.risk_metrics(portfolio, lookback_days=90)
    assert not result.available and result.reason == "no_positions"


@pytest.mark.parametrize("window", [30, 252])
def test_stored_and_on_request_risk_agree(factory, window):
    portfolio = _book(factory)
    batch.run_portfolio_batch(portfolio.id)
    stored = risk_metrics.risk_metrics(portfolio, lookback_days=window).data
    now = risk_metrics.risk_metrics_now(portfolio, window).data
    for key in ("annualized_volatility", "portfolio_beta", "max_drawdown", "var"):
        assert now[key] == stored[key], key

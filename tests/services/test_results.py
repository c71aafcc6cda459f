"""Stored results: the Result shape and why a result is missing."""

from __future__ import annotations

from webapp.services import batch, results


def test_refused_result_in_the_api_shape():
    out = results.Result.refused("risk_metrics", 7, "no_positions", "nothing priced").to_dict()
    assert out["available"] is False
    assert (out["reason"], out["message"]) == ("no_positions", "nothing priced")
    assert out["metadata"]["portfolio_id"] == 7 and out["metadata"]["as_of"] is None


def test_missing_before_any_run_and_after_a_failed_step(factory):
    user = factory.user()
    portfolio = factory.portfolio(user, cash=500.0)
    before = results.stored(portfolio, "correlations", {"lookback_days": 90})
    assert not before.available and before.reason == "no_results"
    assert "Recalculate" in before.message
    run = batch.run_portfolio_batch(portfolio.id)
    after = results.stored(portfolio, "correlations", {"lookback_days": 90})
    assert not after.available and after.reason == "no_positions"
    assert after.as_of == run.as_of_date
    # A skipped step reports the failure that caused it.
    stress = results.stored(portfolio, "stress_test")
    assert stress.reason == "no_positions"

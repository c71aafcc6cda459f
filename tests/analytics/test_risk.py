"""Risk engine: backcast, metrics vs numpy/statsmodels, drawdown invariances.

Also the Euler risk contributions.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from webapp.analytics.errors import InsufficientHistory, InsufficientOverlap, NoPositions, NoPrices
from webapp.analytics.risk import (
    backcast_coverage,
    backcast_pnl,
    backcast_returns,
    drawdown_series,
    exposure_coverage,
    max_drawdown,
    modelled_exposures,
    observations_reason,
    risk_contributions,
    risk_metrics,
)

DATES = pd.bdate_range("2024-01-01", periods=6)
BOOK = pd.Series(
    {
        "AAPL": 120_000.0,
        "MSFT": 80_000.0,
        "JPM": -40_000.0,
        "XOM": 30_000.0,
        "KO": 50_000.0,
        "TLT": -25_000.0,
        "NVDA": 45_000.0,
    }
)
EQUITY = 300_000.0


@pytest.fixture(scope="module")
def window(real_returns):
    return real_returns.iloc[-90:]


@pytest.fixture(scope="module")
def metrics(window):
    port = backcast_returns(BOOK, window, equity=EQUITY)
    return risk_metrics(port, window["SPY"], equity=EQUITY)


# --- backcast ------------------------------------------------------------------------------


def test_backcast_by_hand():
    # Day 2 lacks B, so it is dropped (not zero-filled): P&L = 1000·r_A - 500·r_B.
    returns = pd.DataFrame(
        {"A": [0.01, -0.02, 0.03], "B": [0.02, np.nan, -0.01], "C": [0.5, 0.5, 0.5]},
        index=DATES[:3],
    )
    exposures = pd.Series({"A": 1_000.0, "B": -500.0})
    pnl = backcast_pnl(exposures, returns)
    assert list(pnl.index) == [DATES[0], DATES[2]]
    assert pnl.tolist() == pytest.approx([0.0, 35.0])
    assert backcast_returns(exposures, returns, equity=700.0).tolist() == pytest.approx([0.0, 0.05])
    cov = backcast_coverage(exposures, returns)
    assert (cov.dates_available, cov.dates_used, cov.missing_days, cov.no_prices) == (
        3,
        2,
        {"B": 1},
        (),
    )
    json.dumps(cov.to_dict())


def test_backcast_missing_inputs():
    returns = pd.DataFrame({"A": [0.01, 0.02]}, index=DATES[:2])
    with pytest.raises(NoPositions):
        backcast_pnl(pd.Series(dtype=float), returns)
    with pytest.raises(NoPositions):
        backcast_pnl(pd.Series({"A": 0.0}), returns)
    with pytest.raises(NoPrices) as info:
        backcast_pnl(pd.Series({"A": 1.0, "ZZZZ": 1.0}), returns)
    assert info.value.details == {"symbols": ["ZZZZ"]}
    assert backcast_coverage(pd.Series({"A": 1.0, "ZZZZ": 1.0}), returns).no_prices == ("ZZZZ",)
    with pytest.raises(ValueError):
        backcast_returns(pd.Series({"A": 1.0}), returns, equity=-5.0)


# --- risk_metrics: hand-worked -------------------------------------------------------------


def test_metrics_by_hand():
    r = pd.Series([0.01, -0.02, 0.03, -0.01, 0.005], index=DATES[:5])
    m = risk_metrics(r, None, equity=1_000.0, min_observations=3)
    # Sorted: -.02 -.01 .005 .01 .03; 5% quantile at position 0.2 -> -.02 + .2·.01 = -.018.
    var95 = m.var[0]
    assert var95.historical_var == pytest.approx(0.018)
    assert var95.expected_shortfall == pytest.approx(0.02)  # mean of {-.02}
    assert var95.historical_var_dollars == pytest.approx(18.0)
    assert m.var[1].historical_var == pytest.approx(-(-0.02 + 0.04 * 0.01))  # 1% at position .04
    sigma = math.sqrt(sum((x - 0.003) ** 2 for x in r) / 4)
    assert m.volatility_daily == pytest.approx(sigma)
    assert m.volatility_annual == pytest.approx(sigma * math.sqrt(252))
    assert var95.parametric_var == pytest.approx(1.6448536269514722 * sigma)
    # Value: 1.01, .9898, 1.019494, … -> deepest fall .9898/1.01 - 1 = -2 %, recovered on day 3.
    assert m.max_drawdown == pytest.approx(-0.02)
    assert (m.max_drawdown_peak_date, m.max_drawdown_trough_date, m.max_drawdown_recovery_date) == (
        DATES[0],
        DATES[1],
        DATES[2],
    )
    assert m.value.iloc[2] == pytest.approx(1.01 * 0.98 * 1.03)
    assert m.benchmark is None and m.to_dict()["portfolio_beta"] is None


def test_drawdown_from_the_starting_value():
    r = pd.Series([-0.1, 0.05], index=DATES[:2])
    frame = drawdown_series(r)
    assert frame["drawdown"].tolist() == pytest.approx([-0.1, 0.9 * 1.05 - 1])
    m = risk_metrics(r, None, equity=1.0, min_observations=2)
    assert m.max_drawdown == pytest.approx(-0.1)
    assert m.max_drawdown_peak_date is None and m.max_drawdown_recovery_date is None
    assert max_drawdown(pd.Series([0.01, 0.02], index=DATES[:2])) == 0.0


def test_benchmark_stats_by_hand():
    b = pd.Series([0.01, -0.01, 0.02, -0.02], index=DATES[:4], name="SPY")
    p = pd.Series([0.015, -0.005, 0.025, -0.015], index=DATES[:4])  # = b + 0.005 : beta 1
    m = risk_metrics(p, b, equity=100.0, min_observations=4)
    bench = m.benchmark
    assert bench.beta == pytest.approx(1.0) and bench.r_squared == pytest.approx(1.0)
    assert bench.alpha_daily == pytest.approx(0.005)
    assert bench.tracking_error == pytest.approx(0.0, abs=1e-15)
    assert bench.up_capture == pytest.approx(0.020 / 0.015)
    assert bench.down_capture == pytest.approx(0.010 / 0.015)
    assert bench.symbol == "SPY" and bench.nobs == 4


# --- risk_metrics: real data ---------------------------------------------------------------


def test_metrics_match_numpy_and_statsmodels(window, metrics):
    port = backcast_returns(BOOK, window, equity=EQUITY)
    values = port.to_numpy()
    assert metrics.nobs == 90
    assert metrics.volatility_annual == pytest.approx(
        np.std(values, ddof=1) * np.sqrt(252), rel=1e-12
    )
    for est in metrics.var:
        q = np.quantile(values, 1 - est.confidence, method="linear")
        assert est.historical_var == pytest.approx(-q, rel=1e-12)
        assert est.historical_var_dollars == pytest.approx(-q * EQUITY, rel=1e-12)
        assert est.expected_shortfall == pytest.approx(-values[values <= q].mean(), rel=1e-12)
        assert est.expected_shortfall >= est.historical_var
    assert metrics.var[1].historical_var >= metrics.var[0].historical_var

    spy = window["SPY"]
    fit = sm.OLS(values, sm.add_constant(spy.to_numpy())).fit()
    assert metrics.benchmark.beta == pytest.approx(fit.params[1], abs=1e-9)
    assert metrics.benchmark.alpha_daily == pytest.approx(fit.params[0], abs=1e-9)
    assert metrics.benchmark.r_squared == pytest.approx(fit.rsquared, abs=1e-9)
    active = values - spy.to_numpy()
    te = np.std(active, ddof=1) * np.sqrt(252)
    assert metrics.benchmark.tracking_error == pytest.approx(te, rel=1e-12)
    assert metrics.benchmark.information_ratio == pytest.approx(active.mean() * 252 / te, rel=1e-12)
    up = spy.to_numpy() > 0
    assert metrics.benchmark.up_capture == pytest.approx(
        values[up].mean() / spy.to_numpy()[up].mean()
    )

    value = np.concatenate([[1.0], np.cumprod(1 + values)])
    assert metrics.max_drawdown == pytest.approx(
        (value / np.maximum.accumulate(value) - 1).min(), rel=1e-12
    )


def test_metrics_to_dict_is_json_ready(metrics):
    out = metrics.to_dict()
    json.dumps(out, allow_nan=False)
    assert out["portfolio_beta"] == metrics.benchmark.beta
    assert [v["confidence"] for v in out["var"]] == [0.95, 0.99]
    assert len(out["series"]["returns"]) == len(out["series"]["dates"]) == 90
    assert out["series"]["dates"][-1] == "2026-08-03"
    assert "series" not in metrics.to_dict(include_series=False)
    # Without a full revaluation the entries keep exactly their delta-only/parametric keys.
    assert all("historical_full" not in v for v in out["var"])
    assert out["full_revaluation_nobs"] is None and "full revaluation" not in out["method"]


def test_scaling_exposures_scales_dollar_figures(window):
    def run(k: float, equity: float):
        return risk_metrics(
            backcast_returns(BOOK * k, window, equity=equity), window["SPY"], equity=equity
        )

    base, bigger, levered = run(1, EQUITY), run(3, 3 * EQUITY), run(2, EQUITY)
    # Same book, three times the size: every % figure equal, every dollar figure x3.
    assert bigger.volatility_annual == pytest.approx(base.volatility_annual)
    assert bigger.volatility_annual_dollars == pytest.approx(3 * base.volatility_annual_dollars)
    for a, b in zip(base.var, bigger.var):
        assert b.historical_var == pytest.approx(a.historical_var)
        assert b.historical_var_dollars == pytest.approx(3 * a.historical_var_dollars)
        assert b.expected_shortfall_dollars == pytest.approx(3 * a.expected_shortfall_dollars)
        assert b.parametric_var_dollars == pytest.approx(3 * a.parametric_var_dollars)
    # Twice the exposure on the same equity: risk and beta double.
    assert levered.var[0].historical_var_dollars == pytest.approx(
        2 * base.var[0].historical_var_dollars
    )
    assert levered.benchmark.beta == pytest.approx(2 * base.benchmark.beta)


@pytest.mark.parametrize("constant", [0.0, 0.0001, 0.001, 0.01, 0.1])
def test_max_drawdown_translation(window, constant):
    # empyrical's test: shifting every return up can only shrink the drawdown, down only deepen it.
    r = window["AAPL"]
    base = max_drawdown(r)
    depressed, raised = max_drawdown(r - constant), max_drawdown(r + constant)
    assert -1.0 < depressed <= base <= raised <= 0.0


def test_max_drawdown_ignores_starting_capital(window):
    r = window["NVDA"]
    frame = drawdown_series(r)
    scaled = 1_000 * frame["value"]
    dd = scaled / np.maximum(scaled.cummax(), 1_000) - 1
    assert dd.min() == pytest.approx(max_drawdown(r), rel=1e-12)


def test_all_shorts_and_single_position(window):
    short = risk_metrics(
        backcast_returns(-BOOK, window, equity=EQUITY), window["SPY"], equity=EQUITY
    )
    base = risk_metrics(backcast_returns(BOOK, window, equity=EQUITY), window["SPY"], equity=EQUITY)
    assert short.volatility_annual == pytest.approx(base.volatility_annual)
    assert short.benchmark.beta == pytest.approx(-base.benchmark.beta)
    single = risk_metrics(
        backcast_returns(pd.Series({"SPY": 100.0}), window, equity=100.0),
        window["SPY"],
        equity=100.0,
    )
    assert single.benchmark.beta == pytest.approx(1.0) and single.benchmark.tracking_error < 1e-12
    assert single.benchmark.information_ratio is None  # no active risk: no ratio
    assert single.benchmark.up_capture == pytest.approx(1.0)


def test_short_history_and_overlap(window):
    port = backcast_returns(BOOK, window, equity=EQUITY)
    with pytest.raises(InsufficientHistory) as info:
        risk_metrics(port.iloc[:10], None, equity=EQUITY)
    assert info.value.details == {"required": 20, "available": 10}
    with pytest.raises(InsufficientOverlap):
        risk_metrics(port, window["SPY"].iloc[:15], equity=EQUITY)
    longer = risk_metrics(
        port, window["SPY"].iloc[-60:], equity=EQUITY
    )  # benchmark on common dates
    assert longer.nobs == 90 and longer.benchmark.nobs == 60


# --- risk contributions --------------------------------------------------------------------


def test_contributions_by_hand():
    # r_A = 1,-1,1,-1 %, r_B = 1,1,-1,-1 %: uncorrelated, var = 4e-4/3 each.
    returns = pd.DataFrame(
        {"A": [0.01, -0.01, 0.01, -0.01], "B": [0.01, 0.01, -0.01, -0.01]}, index=DATES[:4]
    )
    rc = risk_contributions(pd.Series({"A": 300.0, "B": -400.0}), returns)
    var = 4e-4 / 3
    sigma = math.sqrt((300**2 + 400**2) * var)  # = 500·σ_r
    assert rc.at["A", "contribution"] == pytest.approx(300**2 * var / sigma)
    assert rc.at["B", "contribution"] == pytest.approx(400**2 * var / sigma)
    assert rc["pct"].tolist() == pytest.approx([0.36, 0.64])
    assert rc.at["B", "marginal"] == pytest.approx(-400 * var / sigma)
    assert list(rc.columns) == ["exposure", "marginal", "contribution", "pct"]


def test_contributions_sum_to_portfolio_sigma(window):
    rc = risk_contributions(BOOK, window)
    sigma = backcast_pnl(BOOK, window).std(ddof=1)
    assert rc["contribution"].sum() == pytest.approx(sigma, rel=1e-9, abs=1e-9)
    assert rc["pct"].sum() == pytest.approx(1.0, abs=1e-12)
    assert list(rc.index) == list(BOOK.index)
    scaled = risk_contributions(BOOK * 4, window)
    np.testing.assert_allclose(scaled["contribution"], 4 * rc["contribution"], rtol=1e-12)
    np.testing.assert_allclose(scaled["pct"], rc["pct"], rtol=1e-12)


def test_contributions_edge_cases(window):
    single = risk_contributions(pd.Series({"AAPL": -10_000.0}), window)
    assert single.at["AAPL", "contribution"] == pytest.approx(10_000 * window["AAPL"].std(ddof=1))
    assert single.at["AAPL", "pct"] == pytest.approx(1.0)
    shorts = risk_contributions(-BOOK, window)
    np.testing.assert_allclose(
        shorts["contribution"], risk_contributions(BOOK, window)["contribution"]
    )
    gappy = window.copy()
    gappy.iloc[::10, gappy.columns.get_loc("KO")] = np.nan
    rc = risk_contributions(BOOK, gappy)
    assert rc["contribution"].sum() == pytest.approx(
        backcast_pnl(BOOK, gappy).std(ddof=1), rel=1e-9
    )
    assert len(backcast_pnl(BOOK, gappy)) == 81
    with pytest.raises(InsufficientHistory):
        risk_contributions(BOOK, window.iloc[:1])
    with pytest.raises(NoPositions):
        risk_contributions(pd.Series(dtype=float), window)


# --- what the window can model, coverage, observations -------------------------------------


def test_modelled_exposures_leave_out_symbols_without_enough_returns(window):
    returns = window.copy()
    returns.loc[returns.index[:-10], "KO"] = np.nan  # 10 returns: fewer than 20
    book = pd.concat([BOOK, pd.Series({"ZZZZ": 7_000.0})])
    modelled, left_out = modelled_exposures(book, returns)
    assert list(modelled.index) == [s for s in BOOK.index if s != "KO"]
    assert [(x["symbol"], x["reason"], x["nobs"]) for x in left_out] == [
        ("KO", "insufficient_history", 10),
        ("ZZZZ", "no_prices", 0),
    ]
    assert all(x["detail"] for x in left_out)
    gross = BOOK.abs().sum() + 7_000.0
    expected = (gross - 50_000.0 - 7_000.0) / (gross + 1_234.0)
    assert exposure_coverage(modelled, book, 1_234.0) == pytest.approx(expected)
    assert exposure_coverage(BOOK, BOOK) == 1.0


def test_observations_reason_names_the_cause(real_returns, window):
    assert observations_reason(window, backcast_coverage(BOOK, window), 90) is None
    short = real_returns.iloc[:40]
    reason = observations_reason(short, backcast_coverage(BOOK, short), 90)
    assert reason == f"the price history starts {short.index[0].date()}: 40 of 90 trading days " + (
        "of returns"
    )
    gappy = window.copy()
    gappy.iloc[:5, gappy.columns.get_loc("KO")] = np.nan
    assert observations_reason(gappy, backcast_coverage(BOOK, gappy), 90).startswith(
        "5 days lack a return for KO (5)"
    )

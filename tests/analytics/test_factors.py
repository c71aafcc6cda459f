"""Factor engine: hand-worked cases, statsmodels parity on the real dataset, edge cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.outliers_influence import variance_inflation_factor

from webapp.analytics.errors import InsufficientHistory, NoPositions, NoPrices
from webapp.analytics.factors import (
    FACTOR_ETFS,
    FACTOR_NAMES,
    FACTORS,
    FactorBetas,
    factor_betas,
    factor_construction,
    factor_returns,
    portfolio_factor_exposures,
    risk_split,
    vif,
)

TOL = dict(rtol=1e-9, atol=1e-9)
DATES = pd.bdate_range("2024-01-01", periods=6)


# --- definitions ---------------------------------------------------------------------------


def test_eight_factors_as_designed():
    spec = {f.name: (f.etf_symbol, f.short_symbol, f.construction, f.hedge) for f in FACTORS}
    market = ("Market",)
    assert spec == {
        "Market": ("SPY", None, "raw", ()),
        "Value": ("VTV", "VUG", "hedged", market),
        "Growth": ("QQQ", None, "hedged", ("Market", "Value")),
        "Momentum": ("MTUM", None, "hedged", market),
        "Quality": ("QUAL", None, "hedged", market),
        "Size": ("IWM", None, "hedged", market),
        "Low Volatility": ("USMV", None, "hedged", market),
        "Rates": ("TLT", None, "raw", ()),
    }
    assert FACTOR_ETFS == {"SPY", "VTV", "VUG", "QQQ", "MTUM", "QUAL", "IWM", "USMV", "TLT"}
    assert FACTOR_NAMES == tuple(spec)
    assert FACTORS[1].to_dict()["formula"] == "r(VTV) - r(VUG) - h*Market"
    assert FACTORS[2].formula == "r(QQQ) - h1*Market - h2*Value"
    assert FACTORS[0].formula == "r(SPY)"
    json.dumps([f.to_dict() for f in FACTORS])


# --- factor_returns ------------------------------------------------------------------------


def _etf_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=DATES[: len(rows)])


def test_factor_returns_hand_worked():
    # Window of 4 dates, SPY x = 1, -1, 2, 0 % (x - x̄ = 0.5, -1.5, 1.5, -0.5 %, Σ(x - x̄)² =
    # 5e-4). VTV - VUG = 0.5·x + d, d = (1, 1, -1, -1) bp: Σ(x - x̄)·d = -2e-6, so the hedge
    # ratio is h = 0.5 - 2e-6 / 5e-4 = 0.496.
    spy = np.array([0.01, -0.01, 0.02, 0.0])
    noise = np.array([1e-4, 1e-4, -1e-4, -1e-4])
    h_value = 0.5 + float(((spy - spy.mean()) * noise).sum()) / 5e-4
    rows = []
    for t in range(4):
        rows.append(
            {
                "SPY": spy[t],
                "VUG": 0.001,
                "VTV": 0.001 + 0.5 * spy[t] + noise[t],
                "QQQ": 1.3 * spy[t] + 0.002 * (t % 2),
                "MTUM": 1.2 * spy[t] + 0.003,  # exactly 1.2 x the market + a constant
                "QUAL": spy[t],
                "IWM": spy[t] * 1.1,
                "USMV": 0.005,
                "TLT": -0.004 + 0.001 * t,
                "AAPL": 0.3,
            }
        )
    rows.append({**rows[0], "VUG": np.nan})  # one ETF missing: the whole date goes
    built = factor_construction(_etf_frame(rows), window=4)
    out = built.returns
    assert list(out.columns) == list(FACTOR_NAMES)
    assert list(out.index) == list(DATES[:4])
    assert h_value == pytest.approx(0.496)
    assert built.hedge_ratios["Value"]["Market"] == pytest.approx(h_value)
    np.testing.assert_allclose(out["Value"], 0.5 * spy + noise - h_value * spy, atol=1e-15)
    # A constant-plus-beta leg hedges to the constant: the style keeps its mean, not its beta.
    assert built.hedge_ratios["Momentum"]["Market"] == pytest.approx(1.2)
    np.testing.assert_allclose(out["Momentum"], 0.003, atol=1e-15)
    np.testing.assert_allclose(out["Low Volatility"], 0.005, atol=1e-15)
    np.testing.assert_allclose(out["Market"], spy)
    np.testing.assert_allclose(out["Rates"], [-0.004, -0.003, -0.002, -0.001])
    assert set(built.hedge_ratios["Growth"]) == {"Market", "Value"}
    # On the window every hedged style is uncorrelated with what it is hedged against.
    cov = out.cov()
    for spec in FACTORS:
        for hedge in spec.hedge:
            assert cov.at[spec.name, hedge] == pytest.approx(0.0, abs=1e-18)
    json.dumps(built.to_dict(), allow_nan=False)
    assert factor_returns(_etf_frame(rows), window=4).equals(out)


def test_hedge_ratios_are_fitted_on_the_window_only(real_returns):
    built = factor_construction(real_returns, window=252)
    window = built.returns.iloc[-252:]
    assert built.observations == 252 and built.end == window.index[-1]
    assert abs(window["Value"].corr(window["Market"])) < 1e-10
    assert abs(window["Growth"].corr(window["Value"])) < 1e-10
    assert abs(built.returns.iloc[:-252]["Value"].corr(built.returns.iloc[:-252]["Market"])) > 0


def test_factor_returns_missing_etf_raises():
    frame = _etf_frame([{s: 0.01 for s in FACTOR_ETFS - {"MTUM"}}])
    with pytest.raises(NoPrices) as info:
        factor_returns(frame)
    assert info.value.details["symbols"] == ["MTUM"]
    assert info.value.reason == "no_prices"


# --- factor_betas: hand-worked -------------------------------------------------------------


def test_single_factor_regression_by_hand():
    # x = 1..4 %, y = 1,3,2,4 %: slope 0.0004/0.0005 = 0.8, intercept 0.005,
    # residuals -3,9,-9,3 bp -> SSR 1.8e-4, scale 9e-5, R² = 1 - 1.8e-4/5e-4 = 0.64,
    # se(slope) = sqrt(9e-5 / 5e-4), t = 0.8 / 0.424264 = 1.885618.
    idx = DATES[:4]
    factors = pd.DataFrame({"F": [0.01, 0.02, 0.03, 0.04]}, index=idx)
    returns = pd.DataFrame({"X": [0.01, 0.03, 0.02, 0.04]}, index=idx)
    fb = factor_betas(returns, factors, window=4, min_observations=3)
    assert fb.betas.at["X", "F"] == pytest.approx(0.8)
    assert fb.alpha["X"] == pytest.approx(0.005)
    assert fb.r_squared["X"] == pytest.approx(0.64)
    assert fb.residual_var["X"] == pytest.approx(9e-5)
    assert fb.t_stats.at["X", "F"] == pytest.approx(0.8 / math.sqrt(0.18))
    assert fb.nobs["X"] == 4
    assert fb.skipped == ()
    assert (fb.start, fb.end, fb.n_dates) == (idx[0], idx[-1], 4)


def test_exact_fit_recovers_betas_and_blanks_t_stats():
    rng = np.random.default_rng(7)
    factors = pd.DataFrame(
        rng.normal(0, 0.01, (80, 8)),
        index=pd.bdate_range("2024-01-01", periods=80),
        columns=list(FACTOR_NAMES),
    )
    true = np.array([1.1, 0.3, -0.2, 0.0, 0.5, 0.7, -0.4, 0.25])
    returns = pd.DataFrame({"EXACT": 0.0002 + factors.to_numpy() @ true}, index=factors.index)
    fb = factor_betas(returns, factors)
    np.testing.assert_allclose(fb.betas.loc["EXACT"].to_numpy(), true, atol=1e-12)
    assert fb.alpha["EXACT"] == pytest.approx(0.0002, abs=1e-12)
    assert fb.r_squared["EXACT"] == pytest.approx(1.0)
    assert fb.t_stats.loc["EXACT"].isna().all()  # rounding noise, not statistics
    json.dumps(fb.to_dict(), allow_nan=False)


# --- factor_betas: real data vs statsmodels ------------------------------------------------


@pytest.fixture(scope="module")
def real_factors(real_returns):
    return factor_returns(real_returns)


def _statsmodels_fit(y: pd.Series, factors: pd.DataFrame):
    y = y.reindex(factors.index)
    ok = y.notna()
    return sm.OLS(y[ok], sm.add_constant(factors[ok])).fit()


def _assert_matches_statsmodels(
    fb: FactorBetas, returns: pd.DataFrame, factors: pd.DataFrame, symbols
):
    window = factors.iloc[-fb.window :]
    for symbol in symbols:
        res = _statsmodels_fit(returns[symbol], window)
        ours = np.r_[fb.alpha[symbol], fb.betas.loc[symbol].to_numpy()]
        np.testing.assert_allclose(ours, res.params.to_numpy(), **TOL, err_msg=symbol)
        np.testing.assert_allclose(fb.t_stats.loc[symbol].to_numpy(), res.tvalues.to_numpy(), **TOL)
        np.testing.assert_allclose(fb.std_errors.loc[symbol].to_numpy(), res.bse.to_numpy(), **TOL)
        assert fb.r_squared[symbol] == pytest.approx(res.rsquared, abs=1e-9)
        assert fb.residual_var[symbol] == pytest.approx(res.scale, rel=1e-9)
        assert fb.nobs[symbol] == int(res.nobs)


def test_betas_equal_statsmodels_on_real_data(real_returns, real_factors):
    fb = factor_betas(real_returns, real_factors, window=252)
    stocks = [s for s in real_returns.columns if s not in FACTOR_ETFS]
    assert fb.n_dates == 252 and fb.end == real_factors.index[-1]
    assert len(fb.symbols) == real_returns.shape[1] and fb.skipped == ()
    _assert_matches_statsmodels(fb, real_returns, real_factors, stocks)
    # The factor ETFs are exact fits of their own factors: betas still match, t-stats are NaN.
    spy = _statsmodels_fit(real_returns["SPY"], real_factors.iloc[-252:])
    np.testing.assert_allclose(fb.betas.loc["SPY"].to_numpy(), spy.params.to_numpy()[1:], atol=1e-9)
    assert fb.betas.at["SPY", "Market"] == pytest.approx(1.0)
    assert fb.t_stats.loc["SPY"].isna().all()


def test_symbol_with_gaps_is_fitted_on_its_own_dates(real_returns, real_factors):
    returns = real_returns[["AAPL", "MSFT", "XOM", "JPM"]].copy()
    rng = np.random.default_rng(3)
    window_dates = real_factors.index[-252:]
    returns.loc[rng.choice(window_dates, 40, replace=False), "MSFT"] = np.nan
    returns.loc[window_dates[:100], "XOM"] = np.nan  # a late starter
    fb = factor_betas(returns, real_factors, window=252)
    assert fb.nobs.to_dict() == {"AAPL": 252, "MSFT": 212, "XOM": 152, "JPM": 252}
    _assert_matches_statsmodels(fb, returns, real_factors, returns.columns)


def test_short_history_symbol_is_skipped_with_reason(real_returns, real_factors):
    returns = real_returns[["AAPL", "MSFT"]].copy()
    returns.loc[returns.index[:-30], "MSFT"] = np.nan
    fb = factor_betas(returns, real_factors)
    assert fb.symbols == ["AAPL"]
    assert fb.skipped == (
        {"symbol": "MSFT", "reason": "insufficient_history", "nobs": 30, "required": 60},
    )
    assert fb.to_dict()["skipped"][0]["nobs"] == 30


def test_window_longer_than_history_uses_what_exists(real_returns, real_factors):
    recent = real_factors.iloc[-100:]
    fb = factor_betas(real_returns[["AAPL", "KO"]], recent, window=252)
    assert fb.n_dates == 100 and fb.nobs["AAPL"] == 100 and fb.window == 252
    _assert_matches_statsmodels(fb, real_returns, recent, ["AAPL", "KO"])
    with pytest.raises(InsufficientHistory) as info:
        factor_betas(real_returns[["AAPL"]], real_factors.iloc[-59:])
    assert info.value.details == {"required": 60, "available": 59}


def test_no_symbols_raises(real_factors):
    with pytest.raises(NoPrices):
        factor_betas(pd.DataFrame(index=real_factors.index), real_factors)


def test_betas_to_dict_is_json_ready(real_returns, real_factors):
    out = factor_betas(real_returns[["AAPL", "SPY"]], real_factors).to_dict()
    text = json.dumps(out, allow_nan=False)
    assert '"start": "2025-' in text and out["factors"] == list(FACTOR_NAMES)
    aapl = out["symbols"][0]
    assert set(aapl) == {
        "symbol",
        "alpha",
        "betas",
        "t_stats",
        "std_errors",
        "r_squared",
        "residual_var",
        "residual_vol_annual",
        "nobs",
    }
    assert out["symbols"][1]["t_stats"]["Market"] is None  # SPY: exact fit
    assert out["symbols"][1]["std_errors"]["Market"] is None
    assert set(aapl["std_errors"]) == {"alpha", *FACTOR_NAMES}


# --- vif -----------------------------------------------------------------------------------


def test_vif_equals_statsmodels(real_factors):
    window = real_factors.iloc[-252:]
    ours = vif(window)
    exog = sm.add_constant(window).to_numpy()
    for j, name in enumerate(window.columns, start=1):
        assert ours[name] == pytest.approx(variance_inflation_factor(exog, j), rel=1e-9)
    assert all(v >= 1.0 for v in ours.values())


def test_vif_hand_cases():
    # Orthogonal, mean-zero columns: nothing explains anything -> VIF 1 exactly.
    a = np.array([1.0, -1.0, 1.0, -1.0, 0.0])
    b = np.array([1.0, 1.0, -1.0, -1.0, 0.0])
    assert vif(pd.DataFrame({"a": a, "b": b})) == pytest.approx({"a": 1.0, "b": 1.0})
    c = pd.DataFrame({"a": a, "b": b, "c": a + 2 * b})  # exact combination
    assert all(math.isinf(v) for v in vif(c).values())


# --- portfolio exposures -------------------------------------------------------------------


BETAS = pd.DataFrame(
    {"Market": [1.2, 0.8, 1.0], "Rates": [-0.1, 0.3, np.nan]}, index=["A", "B", "C"]
)


def test_portfolio_exposures_hand_worked():
    # A: 60k x (1.2, -0.1); B: -20k x (0.8, 0.3); C has no full beta row; D not in the table.
    exposures = pd.Series({"A": 60_000.0, "B": -20_000.0, "C": 10_000.0, "D": 10_000.0})
    out = portfolio_factor_exposures(exposures, BETAS, 100_000.0)
    assert out.dollar_exposures["Market"] == pytest.approx(72_000 - 16_000)
    assert out.dollar_exposures["Rates"] == pytest.approx(-6_000 - 6_000)
    assert out.betas["Market"] == pytest.approx(0.56)
    assert out.betas["Rates"] == pytest.approx(-0.12)
    assert out.gross_exposure == 100_000 and out.modelled_gross_exposure == 80_000
    assert out.coverage == pytest.approx(0.8)
    assert [x["symbol"] for x in out.left_out] == ["C", "D"]
    assert {x["reason"] for x in out.left_out} == {"no_factor_betas"}
    assert out.position_exposures.at["B", "Market"] == pytest.approx(-16_000)
    d = out.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["factors"][0] == {
        "name": "Market",
        "beta": pytest.approx(0.56),
        "exposure_dollar": pytest.approx(56_000),
    }


def test_portfolio_exposures_scale_with_quantities():
    exposures = pd.Series({"A": 60_000.0, "B": -20_000.0})
    base = portfolio_factor_exposures(exposures, BETAS, 100_000.0)
    scaled = portfolio_factor_exposures(exposures * 3, BETAS, 300_000.0)
    pd.testing.assert_series_equal(scaled.dollar_exposures, base.dollar_exposures * 3)
    pd.testing.assert_series_equal(scaled.betas, base.betas)


def test_all_shorts_flip_signs():
    longs = portfolio_factor_exposures(pd.Series({"A": 50_000.0, "B": 25_000.0}), BETAS, 100_000.0)
    shorts = portfolio_factor_exposures(
        pd.Series({"A": -50_000.0, "B": -25_000.0}), BETAS, 100_000.0
    )
    pd.testing.assert_series_equal(shorts.dollar_exposures, -longs.dollar_exposures)
    assert shorts.betas["Market"] == pytest.approx(-0.8)


def test_left_out_reason_from_regression(real_returns, real_factors):
    returns = real_returns[["AAPL", "MSFT"]].copy()
    returns.loc[returns.index[:-30], "MSFT"] = np.nan
    fb = factor_betas(returns, real_factors)
    out = portfolio_factor_exposures(pd.Series({"AAPL": 1e5, "MSFT": 5e4, "ZZZZ": 1e4}), fb, 2e5)
    assert out.left_out == (
        {
            "symbol": "MSFT",
            "exposure": 5e4,
            "reason": "insufficient_history",
            "nobs": 30,
            "required": 60,
        },
        {"symbol": "ZZZZ", "exposure": 1e4, "reason": "no_prices"},
    )
    assert out.betas["Market"] == pytest.approx(fb.betas.at["AAPL", "Market"] / 2)


def test_portfolio_exposures_errors():
    with pytest.raises(NoPositions):
        portfolio_factor_exposures(pd.Series(dtype=float), BETAS, 1e5)
    with pytest.raises(NoPositions):
        portfolio_factor_exposures(pd.Series({"A": 0.0}), BETAS, 1e5)
    with pytest.raises(InsufficientHistory) as info:
        portfolio_factor_exposures(pd.Series({"C": 1e4}), BETAS, 1e5)
    assert info.value.details["left_out"][0]["symbol"] == "C"
    with pytest.raises(ValueError):
        portfolio_factor_exposures(pd.Series({"A": 1e4}), BETAS, 0.0)


# --- risk split ----------------------------------------------------------------------------


def test_risk_split_hand_worked():
    # One factor f = 1, -1, 2, 0 % (var 5e-4 / 3). A = f + (1, -1, 1, -1) bp, B = 0.5 f exactly;
    # betas 1 and 0.5, equity 1000, E = 100, 50 -> w = 0.1, 0.05, b = 0.125.
    f = np.array([0.01, -0.01, 0.02, 0.0])
    e = np.array([1e-4, -1e-4, 1e-4, -1e-4])
    returns = pd.DataFrame({"A": f + e, "B": 0.5 * f}, index=DATES[:4])
    factors = pd.DataFrame({"F": f}, index=DATES[:4])
    betas = pd.DataFrame({"F": [1.0, 0.5]}, index=["A", "B"])
    out = risk_split(pd.Series({"A": 100.0, "B": 50.0}), betas, returns, factors, 1_000.0)
    systematic = 0.125**2 * 5e-4 / 3
    idio = 0.1**2 * float(np.var(e, ddof=1))
    cross = 0.125 * 0.1 * float(np.cov(f, e, ddof=1)[0, 1])
    assert out.systematic_var == pytest.approx(systematic, rel=1e-12)
    assert out.idiosyncratic_var == pytest.approx(idio, rel=1e-12)
    assert out.cross_cov == pytest.approx(cross, rel=1e-12)
    total = float(np.var(0.1 * (f + e) + 0.05 * 0.5 * f, ddof=1))
    assert out.total_var == pytest.approx(total, rel=1e-12)
    assert out.systematic_var + out.idiosyncratic_var + 2 * out.cross_cov == pytest.approx(total)
    d = out.to_dict()
    assert d["total_vol_dollars_daily"] == pytest.approx(math.sqrt(total) * 1_000)
    assert d["total_vol_dollars_annual"] == pytest.approx(math.sqrt(total * 252) * 1_000)
    assert d["total_vol_annual_of_equity"] == pytest.approx(math.sqrt(total * 252))
    assert d["systematic_share"] + d["idiosyncratic_share"] + d["cross_share"] == pytest.approx(1)
    assert d["factors"][0]["exposure_dollar"] == pytest.approx(125.0)
    json.dumps(d, allow_nan=False)
    # A hedged book: b = 0.1 - 0.2 * 0.5 = 0 -> no systematic risk at all.
    hedged = risk_split(pd.Series({"A": 100.0, "B": -200.0}), betas, returns, factors, 1_000.0)
    assert hedged.systematic_var == pytest.approx(0.0, abs=1e-20)
    assert hedged.idiosyncratic_share == pytest.approx(1.0)


def test_risk_split_identity_on_real_data(real_returns, real_factors):
    symbols = ["AAPL", "MSFT", "JPM", "XOM", "KO", "TLT"]
    fb = factor_betas(real_returns[symbols], real_factors)
    exposures = pd.Series(
        [50_000, 30_000, -20_000, 15_000, 25_000, 10_000], index=symbols, dtype=float
    )
    for lookback in (30, 90, 252):
        out = risk_split(
            exposures, fb.betas, real_returns, real_factors, 150_000.0, lookback_days=lookback
        )
        total = out.systematic_var + out.idiosyncratic_var + 2 * out.cross_cov
        assert abs(total - out.total_var) <= 1e-9 * out.total_var
        port = real_returns[symbols].iloc[-lookback:] @ exposures / 150_000.0
        assert out.total_var == pytest.approx(float(port.var(ddof=1)), rel=1e-9)
        b = fb.betas.mul(exposures, axis=0).sum() / 150_000.0
        cov = real_factors.loc[port.index].cov()
        assert out.systematic_var == pytest.approx(float(b @ cov @ b), rel=1e-9)
        assert out.factor_contributions.sum() == pytest.approx(out.systematic_var, rel=1e-12)
        assert out.observations == lookback and out.coverage == 1.0
    # The regression window: OLS residuals are orthogonal to the factors, so the cross term is 0.
    assert abs(out.cross_cov) <= 1e-12 * out.total_var
    scaled = risk_split(exposures * 2, fb.betas, real_returns, real_factors, 300_000.0)
    assert scaled.total_var == pytest.approx(out.total_var, rel=1e-12)
    assert scaled.to_dict()["total_vol_dollars_annual"] == pytest.approx(
        2 * out.to_dict()["total_vol_dollars_annual"]
    )


def test_residual_correlation_counts(real_returns, real_factors):
    # Two banks share an industry residual the 8 factors do not explain: long both, their
    # residual covariance adds to the idiosyncratic part (Σ E²σ²ε would miss it).
    symbols = ["JPM", "BAC"]
    fb = factor_betas(real_returns[symbols], real_factors)
    exposures = pd.Series({"JPM": 50_000.0, "BAC": 50_000.0})
    out = risk_split(exposures, fb.betas, real_returns, real_factors, 100_000.0)
    window = real_returns[symbols].iloc[-252:]
    resid = window - real_factors.loc[window.index] @ fb.betas.T
    assert resid.corr().iloc[0, 1] > 0.3
    assert out.idiosyncratic_var > 1.2 * out.idiosyncratic_var_uncorrelated
    w = exposures / 100_000.0
    assert out.idiosyncratic_var_uncorrelated == pytest.approx(
        float((w**2 * resid.var(ddof=1)).sum()), rel=1e-9
    )
    assert out.idiosyncratic_var == pytest.approx(float((resid @ w).var(ddof=1)), rel=1e-9)


def test_risk_split_leaves_out_symbols_without_betas():
    f = np.array([0.01, -0.01, 0.02, 0.0])
    returns = pd.DataFrame({"A": f, "B": f, "C": np.nan}, index=DATES[:4])
    factors = pd.DataFrame({"F": f}, index=DATES[:4])
    betas = pd.DataFrame({"F": [1.0, np.nan, 1.0]}, index=["A", "B", "C"])
    out = risk_split(
        pd.Series({"A": 100.0, "B": 100.0, "C": 200.0}), betas, returns, factors, 1_000.0
    )
    assert out.coverage == pytest.approx(0.25)
    assert out.left_out == (
        {"symbol": "B", "exposure": 100.0, "reason": "no_factor_betas"},
        {"symbol": "C", "exposure": 200.0, "reason": "no_prices"},
    )
    with pytest.raises(InsufficientHistory):
        risk_split(pd.Series({"A": 100.0}), betas, returns.iloc[:1], factors, 1_000.0)

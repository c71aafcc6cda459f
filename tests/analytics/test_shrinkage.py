"""Blume and Vasicek shrinkage, CAPM standard errors and the stressed factor covariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from webapp.analytics.errors import InsufficientHistory
from webapp.analytics.shrinkage import (
    BLUME_INTERCEPT,
    BLUME_SLOPE,
    blume_beta,
    capm_fit,
    fit_blume,
    stress_days,
    stressed_covariance,
    vasicek_beta,
    vasicek_factor_betas,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1.0, 1.0), (3.1, 1 / 3 + 2 / 3 * 3.1), (0.1, 0.4), (0.0, 1 / 3), (-0.5, 0.0)],
)
def test_blume_default_hand_worked(raw, expected):
    assert blume_beta(np.array([raw]))[0] == pytest.approx(expected)
    assert BLUME_INTERCEPT == pytest.approx(1 / 3) and BLUME_SLOPE == pytest.approx(2 / 3)


def test_blume_custom_coefficients_keep_index():
    raw = pd.Series([2.0, 0.5], index=["A", "B"])
    out = blume_beta(raw, intercept=0.2, slope=0.7)
    pd.testing.assert_series_equal(out, pd.Series([1.6, 0.55], index=["A", "B"]))


def test_vasicek_hand_worked():
    # betas 0.5, 1.0, 1.5 -> mean 1.0, cross-sectional variance (ddof=1) 0.25.
    raw = pd.Series([0.5, 1.0, 1.5], index=list("abc"))
    se = pd.Series([0.5, 0.0, 0.25], index=list("abc"))
    out = vasicek_beta(raw, se)
    # a: w = 0.25 / (0.25 + 0.25) = 0.5 -> 0.75; b: se 0 keeps 1.0;
    # c: w = 0.25 / (0.25 + 0.0625) = 0.8 -> 0.8 * 1.5 + 0.2 * 1.0 = 1.4.
    np.testing.assert_allclose(out.to_numpy(), [0.75, 1.0, 1.4])
    assert list(out.index) == list("abc")


def test_vasicek_prior_override_and_nan():
    out = vasicek_beta(np.array([2.0, np.nan]), np.array([1.0, 0.1]), prior_mean=1.0, prior_var=1.0)
    assert out[0] == pytest.approx(1.5) and np.isnan(out[1])


def test_vasicek_needs_two_betas():
    with pytest.raises(ValueError):
        vasicek_beta(np.array([1.0]), np.array([0.1]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shrinkage_reduces_cross_sectional_variance(seed):
    rng = np.random.default_rng(seed)
    raw = rng.normal(1.1, 0.6, 50)
    se = rng.uniform(0.05, 0.4, 50)
    for shrunk in (blume_beta(raw), vasicek_beta(raw, se)):
        assert np.var(shrunk) < np.var(raw)
    # Vasicek keeps the cross-sectional mean's neighbourhood: every beta moves toward it.
    v = vasicek_beta(raw, se)
    assert np.all(np.abs(v - raw.mean()) <= np.abs(raw - raw.mean()) + 1e-15)


def test_capm_fit_matches_numpy_polyfit_and_se():
    rng = np.random.default_rng(7)
    m = pd.Series(rng.normal(0, 0.01, 120))
    y = 0.0002 + 1.7 * m + rng.normal(0, 0.01, 120)
    frame = pd.DataFrame({"Y": y, "SHORT": np.r_[y[:10], [np.nan] * 110]})
    fit = capm_fit(frame, m)
    slope, intercept = np.polyfit(m, y, 1)
    resid = y - (intercept + slope * m)
    se = np.sqrt((resid**2).sum() / (120 - 2) / ((m - m.mean()) ** 2).sum())
    assert fit.beta["Y"] == pytest.approx(slope) and fit.alpha["Y"] == pytest.approx(intercept)
    assert fit.se["Y"] == pytest.approx(se)
    assert np.isnan(fit.beta["SHORT"]) and fit.nobs["SHORT"] == 10


def test_fit_blume_recovers_persistence_and_falls_back():
    rng = np.random.default_rng(3)
    n_sym, window = 200, 100
    m = pd.Series(rng.normal(0, 0.01, 2 * window))
    true = rng.normal(1.0, 0.5, n_sym)
    y = np.outer(m, true) + rng.normal(0, 0.002, (2 * window, n_sym))
    fit = fit_blume(pd.DataFrame(y), m, window=window)
    assert fit.fitted and fit.windows == 2 and fit.pairs == n_sym
    assert fit.slope == pytest.approx(1.0, abs=0.02) and fit.intercept == pytest.approx(0, abs=0.03)
    short = fit_blume(pd.DataFrame(y[:150]), m[:150], window=window)
    assert not short.fitted and short.slope == BLUME_SLOPE


def _factor_frame():
    idx = pd.bdate_range("2020-01-01", periods=300)
    rng = np.random.default_rng(11)
    market = rng.normal(0, 0.01, 300)
    market[[50, 60, 70]] = -0.03
    other = -0.5 * market + rng.normal(0, 0.005, 300)
    return pd.DataFrame({"Market": market, "Size": other}, index=idx)


def test_stress_days_periods_and_threshold():
    f = _factor_frame()
    mask = stress_days(f, [(f.index[99], f.index[129])], market_threshold=0.02)
    inside = (f.index > f.index[99]) & (f.index <= f.index[129])
    expected = inside | (f["Market"] <= -0.02).to_numpy()
    np.testing.assert_array_equal(mask.to_numpy(), expected)
    assert not mask.iloc[99] and mask.iloc[100] and mask.iloc[50]


def test_stressed_covariance_is_the_stress_days_covariance_and_blends():
    f = _factor_frame()
    periods = [(f.index[99], f.index[129])]
    mask = stress_days(f, periods).to_numpy()
    full = stressed_covariance(f, periods)
    pd.testing.assert_frame_equal(full, f.loc[mask].cov())
    calm = f.iloc[-252:].cov()
    half = stressed_covariance(f, periods, blend=0.5)
    pd.testing.assert_frame_equal(half, 0.5 * full + 0.5 * calm)
    pd.testing.assert_frame_equal(stressed_covariance(f, periods, blend=0.0), calm)
    assert np.all(np.linalg.eigvalsh(half.to_numpy()) >= 0)


def test_stressed_covariance_errors():
    f = _factor_frame()
    with pytest.raises(ValueError):
        stressed_covariance(f, blend=1.5)
    with pytest.raises(InsufficientHistory):
        stressed_covariance(f, market_threshold=0.05)


def test_vasicek_factor_betas_per_column():
    betas = pd.DataFrame({"Market": [0.5, 1.0, 1.5], "Size": [1.0, 2.0, 3.0]}, index=list("abc"))
    t = pd.DataFrame(
        {"alpha": 1.0, "Market": [1.0, 2.0, 6.0], "Size": [2.0, 4.0, 6.0]}, index=list("abc")
    )
    out = vasicek_factor_betas(betas, t)
    se = (betas / t[betas.columns]).abs()
    for f in betas:
        np.testing.assert_allclose(out[f], vasicek_beta(betas[f], se[f]))


# ---------------------------------------------------------------------------------------------
# The stress engine's move shrinkage and scenario covariance
# ---------------------------------------------------------------------------------------------


def test_move_shrinkage_is_blume_on_the_total_beta_for_a_market_only_move():
    from webapp.analytics.shrinkage import NO_SHRINKAGE, MoveShrinkage

    beta_total = np.array([3.1, 1.0, 0.1, -0.5, np.nan])
    m = -0.30
    shrunk = MoveShrinkage().apply(beta_total * m, m)
    # (1/3 + 2/3 beta) m by hand: AMD-like 3.1 -> 2.4 beta, -72% not -93%.
    np.testing.assert_allclose(
        shrunk[:4], [(1 / 3 + 2 / 3 * 3.1) * m, m, (1 / 3 + 2 / 3 * 0.1) * m, 0.0 * m], rtol=1e-12
    )
    assert shrunk[0] == pytest.approx(-0.72)
    assert np.isnan(shrunk[4])
    np.testing.assert_array_equal(NO_SHRINKAGE.apply(beta_total * m, m)[:4], beta_total[:4] * m)
    assert MoveShrinkage().to_dict()["intercept"] == pytest.approx(1 / 3)
    assert NO_SHRINKAGE.to_dict()["slope"] == 1.0
    with pytest.raises(ValueError, match="unknown move shrinkage"):
        MoveShrinkage(method="vasicek-ish")


def _factor_history(n: int, crash_days: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2019-01-01", periods=n)
    f = pd.DataFrame(rng.normal(0, 0.004, (n, 3)), index=idx, columns=["Market", "Value", "Rates"])
    crash = rng.choice(n - 300, crash_days, replace=False)  # before the calm window
    falls = rng.uniform(-0.06, -0.025, crash_days)
    f.iloc[crash, 0] = falls
    f.iloc[crash, 2] = -0.4 * falls  # rates rally with the fall, on crash days only
    return f


def test_scenario_covariance_blends_stress_days_with_the_calm_window():
    from webapp.analytics.shrinkage import scenario_covariance

    f = _factor_history(800, 40)
    cov = scenario_covariance(f, blend=0.25)
    stress = f[f["Market"] <= -0.02].cov()
    calm = f.iloc[-252:].cov()
    pd.testing.assert_frame_equal(cov.matrix, 0.25 * stress + 0.75 * calm, rtol=1e-12)
    assert cov.method == "blend" and cov.stress_days == 40 and cov.calm_days == 252
    d = cov.to_dict()
    assert d["history_start"] == f.index[0].date().isoformat() and d["note"] == ""
    # The crash-day rates rally shows up only through the stress days.
    assert cov.matrix.loc["Market", "Rates"] < 0 and abs(calm.loc["Market", "Rates"]) < 2e-6


def test_scenario_covariance_falls_back_to_calm_and_says_why():
    from webapp.analytics.shrinkage import scenario_covariance

    f = _factor_history(400, 5)
    cov = scenario_covariance(f, blend=0.25)
    assert cov.method == "calm" and cov.blend == 0.0 and cov.stress_days == 5
    assert "only 5 stress days" in cov.note
    pd.testing.assert_frame_equal(cov.matrix, f.iloc[-252:].cov(), rtol=1e-12)
    off = scenario_covariance(_factor_history(800, 40), blend=0.0)
    assert off.method == "calm" and off.note == ""

"""Correlation engine: hand-worked pairs, pandas/numpy parity on real data, score and selection."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from webapp.analytics.correlations import (
    correlation_analysis,
    correlation_matrix,
    diversification_label,
    diversification_score,
    select_symbols,
)
from webapp.analytics.errors import InsufficientOverlap, InsufficientSymbols, NoPositions

DATES = pd.bdate_range("2024-01-01", periods=5)


# --- correlation_matrix: hand-worked -------------------------------------------------------


def test_pairwise_overlap_by_hand():
    # x and y overlap on 4 dates: x = 1,2,3,5 and y = 1,3,2,5 -> means 2.75,
    # Sxy = 7.75, Sxx = Syy = 8.75 -> r = 7.75 / 8.75.
    frame = pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, 4.0, 5.0],
            "y": [1.0, 3.0, 2.0, np.nan, 5.0],
            "twice_x": [2.0, 4.0, 6.0, 8.0, 10.0],
            "minus_x": [-1.0, -2.0, -3.0, -4.0, -5.0],
        },
        index=DATES,
    )
    corr = correlation_matrix(frame, min_overlap=3)
    assert corr.at["x", "y"] == pytest.approx(7.75 / 8.75)
    assert corr.at["y", "x"] == corr.at["x", "y"]
    assert corr.at["x", "twice_x"] == pytest.approx(1.0)
    assert corr.at["x", "minus_x"] == pytest.approx(-1.0)
    assert np.diag(corr.to_numpy()).tolist() == [1.0, 1.0, 1.0, 1.0]

    strict = correlation_matrix(frame, min_overlap=5)  # y has only 4 returns
    assert np.isnan(strict.at["x", "y"]) and np.isnan(strict.at["y", "y"])
    assert strict.at["x", "twice_x"] == pytest.approx(1.0)


def test_constant_series_has_no_correlation():
    frame = pd.DataFrame(
        {
            "x": [0.01, -0.02, 0.03, 0.0],
            "flat": [0.0] * 4,
            "flat_on_overlap": [0.02, 0.02, 0.02, np.nan],
        },
        index=DATES[:4],
    )
    corr = correlation_matrix(frame, min_overlap=2)
    expected = frame.corr(min_periods=2)
    assert corr.loc["flat"].isna().all() and np.isnan(corr.at["x", "flat_on_overlap"])
    pd.testing.assert_frame_equal(corr.isna(), expected.isna())


# --- correlation_matrix: real data ---------------------------------------------------------


def _with_gaps(returns: pd.DataFrame, seed: int = 11) -> pd.DataFrame:
    """Realistic gaps: late listings, scattered missing bars, one thin symbol."""
    gapped = returns.copy()
    rng = np.random.default_rng(seed)
    for col, start in (("AAPL", 300), ("NVDA", 900), ("XOM", 1500)):
        gapped.iloc[:start, gapped.columns.get_loc(col)] = np.nan
    for col in ("MSFT", "KO", "JPM"):
        gapped.iloc[rng.choice(len(gapped), 40, replace=False), gapped.columns.get_loc(col)] = (
            np.nan
        )
    thin = gapped.columns.get_loc("PEP")
    gapped.iloc[:, thin] = np.nan
    gapped.iloc[-25:, thin] = returns.iloc[-25:, thin]  # 25 returns: below min_overlap=30
    return gapped


@pytest.mark.parametrize("gaps", ["random_sparse", "realistic", "none"])
def test_equals_pandas_corr_min_periods(real_returns, gaps):
    data = real_returns.iloc[-2000:]
    if gaps == "realistic":
        data = _with_gaps(data)
    elif gaps == "random_sparse":
        data = data.mask(np.random.default_rng(5).random(data.shape) < 0.02)
    ours = correlation_matrix(data, min_overlap=30)
    expected = data.corr(min_periods=30)
    pd.testing.assert_frame_equal(ours.isna(), expected.isna())
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)


def test_dense_gaps_equal_pandas(real_returns):
    data = real_returns.iloc[-500:, :30].mask(np.random.default_rng(2).random((500, 30)) < 0.4)
    ours = correlation_matrix(data, min_overlap=200)
    expected = data.corr(min_periods=200)
    pd.testing.assert_frame_equal(ours.isna(), expected.isna())
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), atol=1e-9)


def test_complete_block_equals_numpy_corrcoef(real_returns):
    block = real_returns.iloc[-756:]
    assert not block.isna().any().any()
    ours = correlation_matrix(block)
    np.testing.assert_allclose(
        ours.to_numpy(), np.corrcoef(block.to_numpy(), rowvar=False), atol=1e-9
    )


def test_matrix_is_symmetric_with_unit_diagonal(real_returns):
    corr = correlation_matrix(_with_gaps(real_returns.iloc[-2000:]), min_overlap=30)
    corr = corr.drop(index="PEP", columns="PEP")  # PEP is too thin: its whole row is null
    values = corr.to_numpy()
    np.testing.assert_array_equal(values, values.T)
    assert (np.diag(values) == 1.0).all()
    assert np.nanmax(np.abs(values)) <= 1.0


def test_correlation_invariant_to_scale_and_shift(real_returns):
    data = real_returns.iloc[-252:, :10]
    moved = data * 3.0 + 0.05
    np.testing.assert_allclose(
        correlation_matrix(moved).to_numpy(), correlation_matrix(data).to_numpy(), atol=1e-12
    )


# --- selection and score -------------------------------------------------------------------


def test_select_symbols_orders_by_absolute_exposure():
    exposures = pd.Series({"A": 10.0, "B": -50.0, "C": 20.0, "D": 0.0, "E": 20.0, "F": np.nan})
    assert select_symbols(exposures, 10) == ["B", "C", "E", "A"]
    assert select_symbols(exposures, 2) == ["B", "C"]
    with pytest.raises(ValueError):
        select_symbols(exposures, 0)


CORR = pd.DataFrame(
    [[1.0, 0.8, -0.2], [0.8, 1.0, np.nan], [-0.2, np.nan, 1.0]],
    index=list("abc"),
    columns=list("abc"),
)


def test_diversification_score_by_hand():
    # w = .5, .3, .2: pairs ab (.15, |.8|), ac (.10, |-.2|), bc excluded (null)
    # -> (.15·.8 + .10·.2) / (.15 + .10) = .14 / .25 = .56
    weights = pd.Series({"a": 50_000.0, "b": -30_000.0, "c": 20_000.0})
    assert diversification_score(CORR, weights) == pytest.approx(0.56)
    assert diversification_score(CORR, weights * 7) == pytest.approx(0.56)  # scale-free
    assert diversification_score(CORR.iloc[:2, :2], weights) == pytest.approx(0.8)


def test_diversification_score_errors():
    with pytest.raises(InsufficientSymbols):
        diversification_score(CORR.iloc[:1, :1], pd.Series({"a": 1.0}))
    with pytest.raises(InsufficientSymbols):
        diversification_score(CORR, pd.Series({"a": 1.0, "b": 0.0, "c": 0.0}))
    with pytest.raises(InsufficientOverlap):
        diversification_score(CORR.loc[["b", "c"], ["b", "c"]], pd.Series({"b": 1.0, "c": 1.0}))
    with pytest.raises(ValueError):
        diversification_score(CORR, pd.Series({"a": 1.0, "b": 1.0}))


@pytest.mark.parametrize(
    ("score", "start"),
    [
        (0.0, "Well diversified"),
        (0.29, "Well diversified"),
        (0.3, "Moderately"),
        (0.55, "Concentrated"),
        (0.7, "Highly concentrated"),
        (1.0, "Highly concentrated"),
    ],
)
def test_diversification_label(score, start):
    assert diversification_label(score).startswith(start)


# --- correlation_analysis ------------------------------------------------------------------


def test_analysis_on_real_data(real_returns):
    returns = real_returns.copy()
    returns.loc[returns.index[:-10], "PEP"] = np.nan  # 10 returns in the window: too few
    symbols = ["AAPL", "MSFT", "NVDA", "JPM", "XOM", "KO", "PEP", "SPY", "TLT", "GLD"]
    exposures = pd.Series(np.linspace(100_000, 10_000, len(symbols)), index=symbols)
    exposures["TLT"] = -exposures["TLT"]
    exposures["ZZZZ"] = 5_000.0
    result = correlation_analysis(
        returns, exposures, lookback_days=90, min_overlap=30, max_symbols=5
    )

    assert result.symbols == ("AAPL", "MSFT", "NVDA", "JPM", "XOM")
    assert result.truncated and result.total_symbols == 9
    assert [(x["symbol"], x["reason"]) for x in result.left_out] == [
        ("PEP", "insufficient_history"),
        ("ZZZZ", "no_prices"),
    ]
    window = returns.iloc[-90:]
    expected = window[list(result.symbols)].corr(min_periods=30)
    np.testing.assert_allclose(result.matrix.to_numpy(), expected.to_numpy(), atol=1e-9)
    assert (result.nobs.to_numpy() == 90).all()
    modelled = [s for s in symbols if s != "PEP"]
    full = window[modelled].corr(min_periods=30)
    assert result.score == pytest.approx(
        diversification_score(full, exposures[modelled]), abs=1e-12
    )
    assert result.label == diversification_label(result.score)
    assert (result.start, result.end, result.observations) == (
        window.index[0],
        window.index[-1],
        90,
    )

    out = result.to_dict()
    json.dumps(out, allow_nan=False)
    assert out["symbols_included"] == 5 and len(out["matrix"]) == 5 and out["matrix"][0][0] == 1.0
    assert out["start"] == window.index[0].date().isoformat()


def test_analysis_edge_cases(real_returns):
    with pytest.raises(NoPositions):
        correlation_analysis(real_returns, pd.Series(dtype=float))
    with pytest.raises(InsufficientSymbols):
        correlation_analysis(real_returns, pd.Series({"AAPL": 1_000.0}))  # single position
    with pytest.raises(ValueError):
        correlation_analysis(
            real_returns, pd.Series({"AAPL": 1.0, "KO": 1.0}), lookback_days=20, min_overlap=30
        )
    shorts = correlation_analysis(real_returns, pd.Series({"AAPL": -1e4, "MSFT": -2e4, "KO": -5e3}))
    longs = correlation_analysis(real_returns, pd.Series({"AAPL": 1e4, "MSFT": 2e4, "KO": 5e3}))
    assert shorts.score == pytest.approx(longs.score)  # |weights|: all-short books score the same
    assert shorts.symbols == ("MSFT", "AAPL", "KO") and not shorts.truncated


def test_analysis_null_matrix_values_serialise_as_none(real_returns):
    returns = real_returns.copy()
    returns.loc[returns.index[-90:-40], "KO"] = np.nan  # KO: 40 returns, overlaps MSFT only there
    returns.loc[returns.index[-40:], "MSFT"] = np.nan
    result = correlation_analysis(
        returns, pd.Series({"AAPL": 3.0, "KO": 2.0, "MSFT": 1.0}), min_overlap=30
    )
    out = result.to_dict()
    assert out["matrix"][1][2] is None and out["data_points"][1][2] == 0
    assert out["diversification_score"] is not None


def test_analysis_says_why_a_window_is_short_and_keeps_signed_exposures(real_returns):
    exposures = pd.Series({"AAPL": 3_000.0, "KO": -2_000.0, "ZZZZ": 1_000.0})
    full = correlation_analysis(real_returns, exposures, lookback_days=90)
    assert full.observations == 90 and full.observations_reason is None
    assert full.exposures.to_dict() == {"AAPL": 3_000.0, "KO": -2_000.0}
    assert full.weights.to_dict() == pytest.approx({"AAPL": 0.6, "KO": 0.4})
    assert [(x["symbol"], x["reason"], x["nobs"]) for x in full.left_out] == [
        ("ZZZZ", "no_prices", 0)
    ]
    assert "ZZZZ" in full.left_out[0]["detail"]
    short = correlation_analysis(real_returns.iloc[:50], exposures, lookback_days=90)
    assert short.observations == 50
    first = real_returns.index[0].date()
    assert short.observations_reason.startswith(f"the price history starts {first}: 50 of 90")
    assert "delta-adjusted exposure" in short.to_dict()["method"]

"""Out-of-sample validation harness on the bundled prices and scenarios.json's episodes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from webapp.analytics.factors import FACTOR_ETFS
from webapp.analytics.validation import (
    MARKET_ONLY_MODELS,
    MODELS,
    historical_episodes,
    mae,
    rmse,
    validate_models,
)


@pytest.fixture(scope="module")
def validation(real_prices: pd.DataFrame):
    return validate_models(real_prices)


def test_episodes_come_from_the_scenario_library():
    episodes = historical_episodes()
    assert [e.id for e in episodes] == [
        "q4_2018_selloff",
        "covid_crash",
        "bear_market_2022",
        "bank_stress_2023",
        "tariff_shock_2025",
    ]
    assert all(e.start < e.end for e in episodes)


def test_fits_use_no_data_from_inside_the_episode(validation):
    for ev in validation.episodes:
        assert ev.fit_end < ev.episode.start
        assert ev.fit_observations <= 252
        assert ev.fit_observations >= 60
    # The dataset starts 2018-01-02: only the first episode has a short window.
    assert [ev.fit_observations for ev in validation.episodes][1:] == [252] * 4


def test_raw_capm_equals_beta_times_market_move_by_numpy(validation, real_prices):
    ev = next(e for e in validation.episodes if e.episode.id == "covid_crash")
    start, end = ev.episode.start, ev.episode.end
    rets = real_prices / real_prices.shift(1) - 1
    before = rets.loc[rets.index < start]
    complete = before[sorted(FACTOR_ETFS)].notna().all(axis=1)
    window = before.loc[complete].iloc[-252:]
    pair = window[["AMD", "SPY"]].dropna()
    beta = np.polyfit(pair["SPY"].to_numpy(), pair["AMD"].to_numpy(), 1)[0]
    spy = real_prices["SPY"]
    m = spy.loc[:end].dropna().iloc[-1] / spy.loc[:start].dropna().iloc[-1] - 1
    assert ev.market_move == pytest.approx(m, rel=1e-12)
    assert ev.predictions.at["AMD", "raw_capm"] == pytest.approx(beta * m, rel=1e-9)
    amd = real_prices["AMD"]
    realized = amd.loc[:end].iloc[-1] / amd.loc[:start].iloc[-1] - 1
    assert ev.realized["AMD"] == pytest.approx(realized, rel=1e-12)


def test_errors_equal_numpy_on_the_published_pairs(validation):
    for ep in validation.to_dict()["episodes"]:
        real = np.array([p["realized"] for p in ep["pairs"]])
        for m in MODELS:
            pred = np.array([p["predicted"][m] for p in ep["pairs"]])
            assert ep["rmse"][m] == pytest.approx(np.sqrt(np.mean((pred - real) ** 2)))
            assert ep["mae"][m] == pytest.approx(np.mean(np.abs(pred - real)))
    for m in MODELS:
        assert validation.average_rmse[m] == pytest.approx(
            np.mean([ev.rmse[m] for ev in validation.episodes])
        )


def test_scored_symbols_exclude_the_factor_etfs_and_are_common(validation):
    for ev in validation.episodes:
        assert not set(ev.realized.index) & FACTOR_ETFS
        assert len(ev.realized) > 80
        assert list(ev.predictions.index) == list(ev.realized.index)
        assert ev.predictions.notna().all().all()


def test_result_is_json_ready(validation):
    payload = json.loads(json.dumps(validation.to_dict()))
    assert payload["baseline"] == "raw_capm"
    assert len(payload["table"]) == (len(validation.episodes) + 1) * len(MODELS)


def test_rmse_mae_helpers():
    assert rmse(np.array([1.0, -1.0]), np.zeros(2)) == pytest.approx(1.0)
    assert mae(np.array([3.0, -1.0]), np.zeros(2)) == pytest.approx(2.0)


def test_the_issue_bar(validation):
    # Measured on the bundled dataset (see bench/model_validation.py): the multi-factor model
    # with Vasicek-shrunk betas, given every factor's move, beats raw CAPM by >= 10% average
    # RMSE, and the all-factor variant beats every market-only one.
    assert validation.improvement("multi_factor_vasicek") >= 0.10
    assert validation.improvement("multi_factor") > 0
    for m in MARKET_ONLY_MODELS:
        assert validation.average_rmse["multi_factor"] < validation.average_rmse[m]
    # Market-only shrinkage helps but does NOT reach the 10% bar: Blume's published
    # coefficients are the best of them (about 7%), Vasicek and fitted Blume about 0-2%.
    assert 0 < validation.improvement("blume") < 0.10
    best_market_only = min(MARKET_ONLY_MODELS, key=validation.average_rmse.get)
    assert best_market_only == "blume"


def test_the_shipped_model_meets_the_bar_with_the_factor_moves(validation):
    # The stress engine's model (raw multi-factor betas, scenario covariance, Blume on the move):
    # given the factor moves a scenario states it is >= 10% better than raw CAPM; given only
    # the market's move it is still better than raw CAPM, and worse than with every factor.
    assert validation.improvement("shipped_all_factors") >= 0.10
    assert 0.05 < validation.improvement("shipped") < validation.improvement("shipped_all_factors")
    assert validation.average_rmse["shipped_all_factors"] < validation.average_rmse["shipped"]


def test_shipped_prediction_is_the_stress_engines_move(validation, real_prices):
    # Recompute one episode's shipped prediction with the stress engine's own classes: the
    # scenario covariance, the conditional factor moves and the Blume move shrinkage.
    from webapp.analytics.factor_shocks import correlated_shocks
    from webapp.analytics.factors import factor_betas, factor_construction
    from webapp.analytics.returns import simple_returns
    from webapp.analytics.shrinkage import MoveShrinkage, scenario_covariance

    ev = next(e for e in validation.episodes if e.episode.id == "tariff_shock_2025")
    rets = simple_returns(real_prices)
    before = rets.loc[rets.index < ev.episode.start]
    built = factor_construction(before.reindex(columns=sorted(FACTOR_ETFS)), window=252)
    fw = built.returns.iloc[-252:]
    symbols = list(ev.realized.index)
    fb = factor_betas(before.loc[fw.index, symbols], fw, window=252)
    cov = scenario_covariance(built.returns)
    assert cov.method == "blend" and cov.stress_days > 20
    moves = correlated_shocks({"Market": ev.market_move}, cov.matrix)
    raw = fb.betas[list(moves.index)].to_numpy() @ moves.to_numpy()
    expected = MoveShrinkage().apply(raw, ev.market_move)
    np.testing.assert_allclose(ev.predictions["shipped"].to_numpy(), expected, rtol=1e-9)

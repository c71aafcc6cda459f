"""Stress engine: hand-worked scenario P&L, limits, replays on the real dataset, the library."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.analytics.stress_helpers import COV2, betas_market
from webapp.analytics.factor_shocks import (
    correlated_shocks,
    run_factor_scenario,
    underlying_moves,
)
from webapp.analytics.options import black_scholes_price, option_greeks
from webapp.analytics.replay import episode_returns, run_historical_replay
from webapp.analytics.revaluation import position_pnl
from webapp.analytics.scenarios import KNOWN_FACTORS, Scenario, ScenarioResult
from webapp.analytics.shrinkage import MoveShrinkage
from webapp.analytics.stress import CATEGORIES, load_scenarios, run_all_scenarios

DATA = Path(__file__).resolve().parents[2] / "webapp" / "data" / "prices_adjclose_extended.csv.gz"


# ------------------------------------------------------------------------------------- helpers
def make_positions(rows: list[dict]) -> pd.DataFrame:
    """Positions frame as the engines produce it; stock defaults filled in.

    An option row given ``strike``, ``vol`` and ``days_to_expiry`` is valued as the valuation
    does (mibian at rate 0): its ``price``, ``delta`` and ``gamma`` are filled in.
    """
    out = []
    for i, r in enumerate(rows):
        r = dict(r)
        ptype = r.setdefault("position_type", "LONG")
        r.setdefault("position_id", i + 1)
        r.setdefault("underlying", r["symbol"])
        option = ptype in {"LC", "LP", "SC", "SP"}
        r.setdefault("multiplier", 100.0 if option else 1.0)
        if option and "strike" in r:
            g = option_greeks(
                r["underlying_price"],
                r["strike"],
                0.0,
                r["vol"],
                r["days_to_expiry"],
                call=ptype in {"LC", "SC"},
            )
            r.setdefault("price", g.price)
            r.setdefault("delta", g.delta)
            r.setdefault("gamma", g.gamma)
        r.setdefault("underlying_price", r["price"])
        r.setdefault("delta", 1.0)
        r.setdefault("gamma", 0.0)
        r["market_value"] = r["quantity"] * r["price"] * r["multiplier"]
        r.setdefault(
            "exposure",
            r["delta"] * r["multiplier"] * r["quantity"] * r["underlying_price"]
            if option
            else r["market_value"],
        )
        r.setdefault("status", "ok")
        out.append(r)
    return pd.DataFrame(out).set_index("position_id")


def shock(shocks: dict, sid: str = "test", category: str = "market") -> Scenario:
    return Scenario(
        id=sid, name=sid, category=category, severity="moderate", description="test", shocks=shocks
    )


def replay(start: str, end: str, sid: str = "replay") -> Scenario:
    return Scenario(
        id=sid,
        name=sid,
        category="historical",
        severity="severe",
        description="test",
        replay_start=dt.date.fromisoformat(start),
        replay_end=dt.date.fromisoformat(end),
    )


def csv_close_on_or_before(symbol: str, day: str) -> float:
    """Independent reading of the raw CSV: last adj_close dated <= day."""
    best = None
    with gzip.open(DATA, "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["symbol"] == symbol and row["date"] <= day:
                if best is None or row["date"] > best[0]:
                    best = (row["date"], float(row["adj_close"]))
    assert best is not None
    return best[1]


# ---------------------------------------------------------------------------- correlated moves
def test_conditional_expectation_two_factors_by_hand():
    # Sigma = [[4, 1], [1, 9]] e-4; Market -10% => Rates = (1/4) * -0.10 = -0.025
    cov = pd.DataFrame(
        [[4e-4, 1e-4], [1e-4, 9e-4]], index=["Market", "Rates"], columns=["Market", "Rates"]
    )
    m = correlated_shocks({"Market": -0.10}, cov)
    assert list(m.index) == ["Market", "Rates"]
    assert m["Market"] == pytest.approx(-0.10)
    assert m["Rates"] == pytest.approx(-0.025)
    # and the other way: Rates +9% => Market = (1/9) * 0.09 = 0.01
    assert correlated_shocks({"Rates": 0.09}, cov)["Market"] == pytest.approx(0.01)


def test_conditional_expectation_two_shocked_by_hand():
    # Sigma_ss = [[4,1],[1,2]], inverse = 1/7 [[2,-1],[-1,4]]; Sigma_us = [2, 1] (units 1e-4)
    # s = (-0.10, 0.05): Sigma_ss^-1 s = (-0.25, 0.30)/7; m_u = (2*-0.25 + 0.30)/7 = -0.2/7
    names = ["A", "B", "C"]
    cov = pd.DataFrame(
        np.array([[4, 1, 2], [1, 2, 1], [2, 1, 3]]) * 1e-4, index=names, columns=names
    )
    m = correlated_shocks({"A": -0.10, "B": 0.05}, cov)
    assert m["A"] == -0.10 and m["B"] == 0.05
    assert m["C"] == pytest.approx(-0.2 / 7)


def test_singular_shocked_block_uses_pseudo_inverse():
    # A and B identical (Sigma_ss singular); C has cov 0.5 with both, var(A) = 1.
    names = ["A", "B", "C"]
    cov = (
        pd.DataFrame(
            [[1.0, 1.0, 0.5], [1.0, 1.0, 0.5], [0.5, 0.5, 1.0]], index=names, columns=names
        )
        * 1e-4
    )
    m = correlated_shocks({"A": -0.10, "B": -0.10}, cov)
    # pinv([[1,1],[1,1]]) = [[1,1],[1,1]]/4 -> x = (-0.05, -0.05); m_C = 0.5*-0.1 = -0.05
    assert m["C"] == pytest.approx(-0.05)
    assert np.isfinite(m).all()
    # a shocked factor with zero variance carries no information: others stay at 0
    cov0 = pd.DataFrame([[0.0, 0.0], [0.0, 1e-4]], index=["A", "B"], columns=["A", "B"])
    assert correlated_shocks({"A": -0.10}, cov0)["B"] == 0.0


def test_correlated_shocks_rejects_unknown_factor():
    with pytest.raises(ValueError, match="Momentum"):
        correlated_shocks({"Momentum": -0.1}, COV2)


def test_underlying_moves_sum_of_beta_times_move():
    betas = pd.DataFrame(
        {"Market": {"X": 1.2, "Y": 0.5, "Z": np.nan}, "Rates": {"X": 0.1, "Y": -2.0, "Z": 0.3}}
    )
    r = underlying_moves(betas, pd.Series({"Market": -0.10, "Rates": 0.05}))
    assert r["X"] == pytest.approx(1.2 * -0.10 + 0.1 * 0.05)
    assert r["Y"] == pytest.approx(0.5 * -0.10 - 2.0 * 0.05)
    assert math.isnan(r["Z"])


# ------------------------------------------------------------------------------ position P&L
def test_one_stock_beta_1_2_market_down_10():
    pos = make_positions([{"symbol": "AAA", "quantity": 100, "price": 50.0}])  # MV 5,000
    res = run_factor_scenario(
        shock({"Market": -0.10}), pos, betas_market(AAA=1.2), COV2, equity=10_000.0
    )
    assert res.pnl == pytest.approx(-0.12 * 5_000)
    assert res.pnl_pct == pytest.approx(-600 / 10_000)
    assert res.new_value == pytest.approx(9_400)
    assert res.factor_moves == {"Market": -0.10, "Rates": 0.0}
    assert res.shocked_factors == ("Market",) and res.implied_factors == ("Rates",)
    assert res.positions[0]["move"] == pytest.approx(-0.12)
    assert res.left_out == ()
    assert res.impact_type == "correlated"


def test_short_stock_gains_when_market_falls():
    pos = make_positions(
        [{"symbol": "AAA", "quantity": -100, "price": 50.0, "position_type": "SHORT"}]
    )  # MV -5,000
    res = run_factor_scenario(
        shock({"Market": -0.10}), pos, betas_market(AAA=1.0), COV2, equity=10_000.0
    )
    assert res.pnl == pytest.approx(500.0)


def test_long_call_full_revaluation_by_hand():
    # 2 contracts, S = K = 100, vol 25%, 30 days, rate 0. Market -10%, beta 1: S1 = 90, and the
    # default vol rule lifts vol by 1.35 x 10% = 13.5 points; same 30 days (instantaneous).
    call = {
        "symbol": "AAA C100",
        "underlying": "AAA",
        "position_type": "LC",
        "quantity": 2,
        "underlying_price": 100.0,
        "strike": 100.0,
        "vol": 0.25,
        "days_to_expiry": 30,
    }
    pos = make_positions([call])
    res = run_factor_scenario(
        shock({"Market": -0.10}), pos, betas_market(AAA=1.0), COV2, equity=50_000.0
    )
    v0 = black_scholes_price(100.0, 100.0, 0.0, 0.25, 30, call=True)
    v1 = black_scholes_price(90.0, 100.0, 0.0, 0.25 + 0.135, 30, call=True)
    assert res.pnl == pytest.approx(200 * (v1 - v0), rel=1e-9)
    row = res.positions[0]
    assert row["capped"] is False
    assert row["vol_after"] == pytest.approx(0.385) and row["days_after"] == 30
    assert res.vol_shock == pytest.approx(0.135) and res.horizon_days == 0
    g = option_greeks(100.0, 100.0, 0.0, 0.25, 30, call=True)
    assert row["pnl_delta_gamma"] == pytest.approx(200 * (g.delta * -10 + 0.5 * g.gamma * 100))


def test_long_put_full_revaluation_by_hand():
    put = {
        "symbol": "AAA P95",
        "underlying": "AAA",
        "position_type": "LP",
        "quantity": 1,
        "underlying_price": 100.0,
        "strike": 95.0,
        "vol": 0.30,
        "days_to_expiry": 60,
    }
    pos = make_positions([put])
    b = betas_market(AAA=1.0)
    v0 = black_scholes_price(100.0, 95.0, 0.0, 0.30, 60, call=False)
    down = run_factor_scenario(shock({"Market": -0.10}), pos, b, COV2, equity=50_000.0)
    v_down = black_scholes_price(90.0, 95.0, 0.0, 0.435, 60, call=False)
    assert down.pnl == pytest.approx(100 * (v_down - v0), rel=1e-9)
    # A rise without a vol_shock leaves vol unchanged
    up = run_factor_scenario(shock({"Market": 0.10}), pos, b, COV2, equity=50_000.0)
    v_up = black_scholes_price(110.0, 95.0, 0.0, 0.30, 60, call=False)
    assert up.pnl == pytest.approx(100 * (v_up - v0), rel=1e-9)
    assert up.vol_shock == 0.0


def test_long_stock_loss_capped_at_its_value():
    # beta 2 under Market -60% -> model move -120%: loses exactly its value, not more
    pos = make_positions([{"symbol": "LEV", "quantity": 10, "price": 100.0}])
    res = run_factor_scenario(
        shock({"Market": -0.60}), pos, betas_market(LEV=2.0), COV2, equity=5_000.0
    )
    assert res.positions[0]["move"] == pytest.approx(-1.2)
    assert res.pnl == pytest.approx(-1_000.0)
    assert res.positions[0]["capped"] is True


def test_long_call_loses_at_most_its_premium_and_short_gains_at_most_it():
    # Full repricing: the call's value after cannot go below 0, so the long loses at most its
    # premium and the short gains at most it, with no cap needed (capped stays False).
    call = {
        "symbol": "AAA C",
        "underlying": "AAA",
        "quantity": 2,
        "underlying_price": 100.0,
        "strike": 100.0,
        "vol": 0.25,
        "days_to_expiry": 30,
    }
    pos = make_positions(
        [dict(call, position_type="LC"), dict(call, position_type="SC", quantity=-2, position_id=9)]
    )
    res = run_factor_scenario(
        shock({"Market": -0.60}), pos, betas_market(AAA=1.0), COV2, equity=50_000.0
    )
    by_type = {p["position_type"]: p for p in res.positions}
    mv = 200 * black_scholes_price(100.0, 100.0, 0.0, 0.25, 30)
    assert -mv <= by_type["LC"]["pnl"] < -0.99 * mv and not by_type["LC"]["capped"]
    assert 0.99 * mv < by_type["SC"]["pnl"] <= mv and not by_type["SC"]["capped"]


def test_direct_pnl_ignores_implied_moves():
    cov = pd.DataFrame(
        [[4e-4, 1e-4], [1e-4, 9e-4]], index=["Market", "Rates"], columns=["Market", "Rates"]
    )
    pos = make_positions([{"symbol": "BND", "quantity": 100, "price": 100.0}])
    betas = pd.DataFrame({"Market": {"BND": 0.0}, "Rates": {"BND": 1.0}})
    res = run_factor_scenario(shock({"Market": -0.10}), pos, betas, cov, equity=10_000.0)
    assert res.direct_pnl == pytest.approx(0.0)
    assert res.pnl == pytest.approx(10_000 * -0.025)


def test_blume_shrinkage_by_hand_with_each_move_explained():
    # Market -10%, Rates implied by the covariance: m_Rates = 1e-4/4e-4 x -0.10 = -0.025.
    # AMD: raw = 3.0 x -0.10 + 0.5 x -0.025 = -0.3125; Blume: -0.10/3 + 2/3 x -0.3125 = -0.2417.
    cov = pd.DataFrame(
        [[4e-4, 1e-4], [1e-4, 9e-4]], index=["Market", "Rates"], columns=["Market", "Rates"]
    )
    pos = make_positions(
        [
            {"symbol": "AMD", "quantity": 100, "price": 100.0},
            {"symbol": "BND", "quantity": 100, "price": 100.0},
            {"symbol": "AMD", "quantity": -10, "price": 100.0, "position_type": "SHORT"},
        ]
    )
    betas = pd.DataFrame({"Market": {"AMD": 3.0, "BND": 0.0}, "Rates": {"AMD": 0.5, "BND": 1.0}})
    res = run_factor_scenario(
        shock({"Market": -0.10}), pos, betas, cov, equity=30_000.0, shrinkage=MoveShrinkage()
    )
    amd = -0.10 / 3 + 2 / 3 * (3.0 * -0.10 + 0.5 * -0.025)
    bnd = -0.10 / 3 + 2 / 3 * -0.025
    assert res.positions[0]["move"] == pytest.approx(amd, abs=1e-12)
    assert res.positions[1]["move"] == pytest.approx(bnd, abs=1e-12)
    assert res.pnl == pytest.approx(10_000 * amd + 10_000 * bnd - 1_000 * amd)
    # Only Market is shocked: the direct P&L is the Blume move of the market term alone.
    assert res.direct_pnl == pytest.approx(
        9_000 * (-0.10 / 3 + 2 / 3 * -0.30) + 10_000 * (-0.10 / 3)
    )
    explained = {r["underlying"]: r for r in res.move_explained}
    assert list(explained) == ["AMD", "BND"]  # one row per underlying, book order
    e = explained["AMD"]
    assert e["terms"] == pytest.approx({"Market": -0.30, "Rates": -0.0125})
    assert e["raw_move"] == pytest.approx(sum(e["terms"].values()))
    assert e["raw_move"] + e["shrinkage"] == pytest.approx(e["move"]) == pytest.approx(amd)
    assert res.shrinkage["method"] == "blume" and "Blume" in res.method
    # Without shrinkage (the engine default) the move is the raw one.
    raw = run_factor_scenario(shock({"Market": -0.10}), pos, betas, cov, equity=30_000.0)
    assert raw.positions[0]["move"] == pytest.approx(-0.3125)
    assert raw.move_explained[0]["shrinkage"] == 0.0


def test_shrunk_long_call_is_still_fully_revalued(prices):
    # The shrunk move is what the option is repriced at: S1 = S (1 + move).
    pos = make_positions(
        [
            {
                "symbol": "AAA 1C",
                "underlying": "AAA",
                "position_type": "LC",
                "quantity": 1,
                "underlying_price": 100.0,
                "strike": 100.0,
                "vol": 0.3,
                "days_to_expiry": 60,
            }
        ]
    )
    res = run_factor_scenario(
        shock({"Market": -0.30}),
        pos,
        betas_market(AAA=2.5),
        COV2,
        equity=10_000.0,
        shrinkage=MoveShrinkage(),
    )
    row = res.positions[0]
    move = -0.30 / 3 + 2 / 3 * 2.5 * -0.30
    assert row["move"] == pytest.approx(move)
    assert row["spot_after"] == pytest.approx(100.0 * (1 + move))
    value_after = black_scholes_price(100.0 * (1 + move), 100.0, 0.0, row["vol_after"], 60)
    assert row["pnl"] == pytest.approx(100 * value_after - row["position_value_before"], abs=1e-6)


# ----------------------------------------------------------------------------- left-out rows
def test_left_out_positions_listed_with_reasons():
    pos = make_positions(
        [
            {"symbol": "AAA", "quantity": 10, "price": 10.0},
            {"symbol": "NOBETA", "quantity": 10, "price": 10.0},
            {"symbol": "BROKEN", "quantity": 10, "price": 10.0, "status": "no_price"},
            {
                "symbol": "OPT",
                "underlying": "AAA",
                "position_type": "LC",
                "quantity": 1,
                "price": 2.0,
                "underlying_price": 10.0,
                "delta": np.nan,
                "gamma": np.nan,
            },
        ]
    )
    res = run_factor_scenario(
        shock({"Market": -0.10}), pos, betas_market(AAA=1.0), COV2, equity=1_000.0
    )
    reasons = {d["symbol"]: d["reason"] for d in res.left_out}
    assert reasons == {"NOBETA": "no_factor_betas", "BROKEN": "no_price", "OPT": "no_greeks"}
    assert [p["symbol"] for p in res.positions] == ["AAA"]
    assert res.pnl == pytest.approx(-10.0)
    assert {d["position_id"] for d in res.left_out} == {2, 3, 4}


def test_replay_left_out_when_no_prices_in_episode():
    idx = pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"])
    px = pd.DataFrame(
        {
            "AAA": [10.0, 11.0, 12.0, 9.0],
            "NEW": [np.nan, np.nan, 5.0, 6.0],  # listed after the start
            "OLD": [10.0, np.nan, np.nan, np.nan],
        },  # no close after the start
        index=idx,
    )
    pos = make_positions(
        [{"symbol": s, "quantity": 1, "price": 10.0} for s in ["AAA", "NEW", "OLD", "MISSING"]]
    )
    res = run_historical_replay(replay("2020-01-02", "2020-01-07"), pos, px, equity=100.0)
    assert res.pnl == pytest.approx(10.0 * (9.0 / 10.0 - 1))
    assert {d["symbol"]: d["reason"] for d in res.left_out} == {
        "NEW": "no_prices_in_episode",
        "OLD": "no_prices_in_episode",
        "MISSING": "no_prices_in_episode",
    }
    assert res.benchmark_return is None  # no SPY in these prices


def test_episode_returns_stale_history_is_not_a_flat_episode():
    idx = pd.to_datetime(["2020-01-02", "2020-01-03", "2020-03-02"])
    px = pd.DataFrame({"AAA": [10.0, 11.0, np.nan], "BBB": [10.0, 10.0, 12.0]}, index=idx)
    r = episode_returns(px, "2020-01-02", "2020-03-02")
    assert math.isnan(r["AAA"])  # last close two months before the end
    assert r["BBB"] == pytest.approx(0.2)


# ----------------------------------------------------------------------------- real dataset
@pytest.mark.parametrize("symbol", ["AAPL", "JPM", "TLT"])
def test_replay_matches_hand_computed_return_from_csv(prices, symbol):
    start, end = "2020-02-19", "2020-03-23"
    expected = csv_close_on_or_before(symbol, end) / csv_close_on_or_before(symbol, start) - 1
    pos = make_positions([{"symbol": symbol, "quantity": 10, "price": 100.0}])  # MV 1,000
    res = run_historical_replay(replay(start, end), pos, prices, equity=1_000.0)
    assert res.positions[0]["move"] == pytest.approx(expected, rel=1e-12)
    assert res.pnl == pytest.approx(1_000.0 * expected, rel=1e-12)
    assert res.benchmark_return == pytest.approx(-0.337173, abs=1e-6)


def test_replay_uses_last_close_on_or_before_weekend_dates(prices):
    # 2020-03-21/22 is a weekend: the end close is Friday 2020-03-20's
    r = episode_returns(prices, "2020-02-19", "2020-03-22")
    assert r["SPY"] == pytest.approx(
        prices.loc["2020-03-20", "SPY"] / prices.loc["2020-02-19", "SPY"] - 1
    )


def test_library_shape(library, prices):
    assert len(library) >= 18
    assert {s.category for s in library} == set(CATEGORIES)
    assert len({s.id for s in library}) == len(library)
    market = {
        s.shocks["Market"]
        for s in library
        if s.category == "market" and set(s.shocks) == {"Market"}
    }
    assert {-0.05, -0.10, -0.20, -0.30, 0.05, 0.10, 0.20} <= market
    rates = {
        s.shocks["Rates"] for s in library if s.category == "rates" and set(s.shocks) == {"Rates"}
    }
    assert {-0.10, 0.10} <= rates
    rotations = {frozenset(s.shocks) for s in library if s.category == "factor_rotation"}
    for f in ["Value", "Growth", "Momentum", "Low Volatility", "Quality", "Size"]:
        assert any(f in r for r in rotations), f
    episodes = {
        (s.replay_start.isoformat(), s.replay_end.isoformat())
        for s in library
        if s.kind == "historical"
    }
    assert {
        ("2018-09-20", "2018-12-24"),
        ("2020-02-19", "2020-03-23"),
        ("2022-01-03", "2022-10-12"),
        ("2023-03-08", "2023-03-13"),
        ("2025-04-02", "2025-04-08"),
    } <= episodes
    first, last = prices.index.min().date(), prices.index.max().date()
    for s in library:
        if s.kind == "historical":
            assert first <= s.replay_start < s.replay_end <= last, s.id
            # the episode dates are trading days of the dataset
            assert pd.Timestamp(s.replay_start) in prices.index, s.id
            assert pd.Timestamp(s.replay_end) in prices.index, s.id


def test_replay_descriptions_quote_the_data(library, prices):
    for s in library:
        if s.kind != "historical":
            continue
        m = re.search(r"SPY fell (\d+\.\d)%", s.description)
        assert m, s.id
        spy = episode_returns(prices[["SPY"]], s.replay_start, s.replay_end)["SPY"]
        assert -spy * 100 == pytest.approx(float(m.group(1)), abs=0.051), s.id


def test_long_only_book_never_loses_more_than_its_value(library, prices, factor_cov):
    rng = np.random.default_rng(7)
    symbols = [c for c in prices.columns if c not in {"SPY"}][:40]
    rows = [
        {"symbol": s, "quantity": float(rng.integers(1, 500)), "price": float(rng.uniform(5, 500))}
        for s in symbols
    ]
    rows += [
        {
            "symbol": f"{s} C",
            "underlying": s,
            "position_type": t,
            "quantity": 3,
            "underlying_price": 100.0,
            "strike": k,
            "vol": 0.3,
            "days_to_expiry": 45,
        }
        for s, t, k in [(symbols[0], "LC", 95.0), (symbols[1], "LP", 105.0)]
    ]
    pos = make_positions(rows)
    value = float(pos["market_value"].sum())
    for trial in range(5):
        scale = [1.0, 3.0, 6.0][trial % 3]  # include very large betas
        betas = pd.DataFrame(
            rng.uniform(0, scale, size=(len(symbols), len(KNOWN_FACTORS))),
            index=symbols,
            columns=list(KNOWN_FACTORS),
        )
        results = run_all_scenarios(library, pos, betas, factor_cov, prices, equity=value)
        assert len(results) == len(library)
        for res in results:
            assert res.pnl >= -value - 1e-6, res.scenario_id
            assert res.left_out == (), res.scenario_id
            for p in res.positions:
                assert p["pnl"] >= -p["market_value"] - 1e-9, (res.scenario_id, p)


def test_stock_pnl_scales_linearly_with_quantity(library, prices, factor_cov):
    rng = np.random.default_rng(3)
    symbols = ["AAPL", "JPM", "XOM", "TLT", "NVDA"]
    rows = [
        {"symbol": s, "quantity": q, "price": 100.0, "position_type": "LONG" if q > 0 else "SHORT"}
        for s, q in zip(symbols, [10, -20, 30, 15, -5])
    ]
    betas = pd.DataFrame(
        rng.normal(0, 0.8, size=(5, 8)), index=symbols, columns=list(KNOWN_FACTORS)
    )
    base = run_all_scenarios(library, make_positions(rows), betas, factor_cov, prices, 1e4)
    scaled_rows = [dict(r, quantity=r["quantity"] * 3) for r in rows]
    scaled = run_all_scenarios(library, make_positions(scaled_rows), betas, factor_cov, prices, 1e4)
    for a, b in zip(base, scaled):
        assert b.pnl == pytest.approx(3 * a.pnl, rel=1e-12, abs=1e-9), a.scenario_id


def test_results_are_json_ready(library, prices, factor_cov):
    pos = make_positions(
        [
            {"symbol": "AAPL", "quantity": 10, "price": 100.0},
            {"symbol": "ZZZZ", "quantity": 1, "price": 1.0},
        ]
    )
    betas = pd.DataFrame([[1.0] + [0.0] * 7], index=["AAPL"], columns=list(KNOWN_FACTORS))
    results = run_all_scenarios(library, pos, betas, factor_cov, prices, equity=2_000.0)
    for res in results:
        assert isinstance(res, ScenarioResult)
        d = json.loads(json.dumps(res.to_dict()))
        assert d["scenario_id"] == res.scenario_id
        assert d["left_out"] == [
            {
                "position_id": 2,
                "symbol": "ZZZZ",
                "reason": "no_factor_betas" if res.kind == "factor" else "no_prices_in_episode",
            }
        ]
        if res.kind == "factor":
            assert set(d["factor_moves"]) == set(KNOWN_FACTORS)
        else:
            assert d["benchmark_return"] < 0 and d["factor_moves"] == {}
    covid = next(r for r in results if r.scenario_id == "covid_crash")
    assert covid.benchmark_return == pytest.approx(-0.337173, abs=1e-6)
    down10 = next(r for r in results if r.scenario_id == "market_down_10")
    assert down10.pnl == pytest.approx(-100.0)  # beta 1 to Market, other betas 0


# ---------------------------------------------------------------------------- library file
def _write(tmp_path, scenarios) -> Path:
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps({"scenarios": scenarios}))
    return path


GOOD = {
    "id": "ok_one",
    "name": "OK",
    "category": "market",
    "severity": "mild",
    "description": "fine",
    "shocks": {"Market": -0.05},
}


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            dict(GOOD, id="typo_factor", shocks={"Markt": -0.1}),
            r"'typo_factor'.*unknown factor 'Markt'",
        ),
        (
            {k: v for k, v in GOOD.items() if k != "description"} | {"id": "no_desc"},
            r"'no_desc'.*missing field\(s\) description",
        ),
        (
            {
                **{k: v for k, v in GOOD.items() if k != "shocks"},
                "id": "bad_date",
                "category": "historical",
                "replay": {"start": "2020-02-30", "end": "2020-03-23"},
            },
            r"'bad_date'.*not a valid 'YYYY-MM-DD' date",
        ),
        (
            {
                **{k: v for k, v in GOOD.items() if k != "shocks"},
                "id": "reversed",
                "category": "historical",
                "replay": {"start": "2020-03-23", "end": "2020-02-19"},
            },
            r"'reversed'.*must be before end",
        ),
        (
            dict(GOOD, id="both", replay={"start": "2020-01-02", "end": "2020-02-03"}),
            r"'both'.*exactly one of",
        ),
        (dict(GOOD, id="bad_cat", category="crypto"), r"'bad_cat'.*category 'crypto'"),
        (dict(GOOD, id="bad_sev", severity="apocalyptic"), r"'bad_sev'.*severity"),
        (dict(GOOD, id="text_move", shocks={"Market": "-10%"}), r"'text_move'.*must be a number"),
        (dict(GOOD, id="too_big", shocks={"Market": -1.5}), r"'too_big'.*above -1"),
        (dict(GOOD, id="extra", shock={"Market": -0.1}), r"'extra'.*unknown field\(s\) shock"),
        (dict(GOOD, id="vol_text", vol_shock="+10"), r"'vol_text'.*vol_shock must be a number"),
        (dict(GOOD, id="vol_big", vol_shock=1.5), r"'vol_big'.*vol_shock must be a finite"),
        (
            {
                **{k: v for k, v in GOOD.items() if k != "shocks"},
                "id": "vol_replay",
                "category": "historical",
                "replay": {"start": "2020-02-19", "end": "2020-03-23"},
                "vol_shock": 0.1,
            },
            r"'vol_replay'.*takes no 'vol_shock'",
        ),
    ],
)
def test_load_scenarios_rejects_bad_files(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        load_scenarios(_write(tmp_path, [GOOD, bad]))


def test_load_scenarios_rejects_duplicates_and_bad_json(tmp_path):
    with pytest.raises(ValueError, match=r"'ok_one'.*duplicate id"):
        load_scenarios(_write(tmp_path, [GOOD, GOOD]))
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_scenarios(path)


def test_load_scenarios_round_trip(tmp_path, library):
    again = load_scenarios(_write(tmp_path, [GOOD]))
    assert again[0] == Scenario(
        id="ok_one",
        name="OK",
        category="market",
        severity="mild",
        description="fine",
        shocks={"Market": -0.05},
    )
    d = library[-1].to_dict()
    assert d["kind"] == "historical" and d["replay"]["start"] < d["replay"]["end"]


def test_position_pnl_by_hand():
    """A long stock, a short stock and a long call under one move each, worked by hand."""
    book = pd.DataFrame(
        {
            "symbol": ["AAA", "BBB", "AAA270115C00100000"],
            "underlying": ["AAA", "BBB", "AAA"],
            "position_type": ["LONG", "SHORT", "LC"],
            "quantity": [10.0, -5.0, 2.0],
            "multiplier": [1.0, 1.0, 100.0],
            "price": [100.0, 50.0, 6.0],
            "underlying_price": [100.0, 50.0, 100.0],
            "market_value": [1000.0, -250.0, 1200.0],
            "exposure": [1000.0, -250.0, 0.55 * 200 * 100.0],
            "delta": [1.0, 1.0, 0.55],
            "gamma": [0.0, 0.0, 0.02],
            "strike": [np.nan, np.nan, 100.0],
            "vol": [np.nan, np.nan, 0.3],
            "days_to_expiry": [np.nan, np.nan, 60],
            "status": ["ok", "ok", "ok"],
        },
        index=[1, 2, 3],
    )
    out = position_pnl(book, pd.Series({"AAA": -0.10, "BBB": 0.04}), rate_pct=4.0)
    pnl = out["pnl"]
    assert pnl[1] == pytest.approx(-100.0)
    assert pnl[2] == pytest.approx(-10.0)
    v0 = black_scholes_price(100.0, 100.0, 0.04, 0.3, 60)
    v1 = black_scholes_price(90.0, 100.0, 0.04, 0.3, 60)  # position_pnl: no vol shock
    assert pnl[3] == pytest.approx(200 * (v1 - v0), rel=1e-9)
    assert out["pnl_delta_gamma"][3] == pytest.approx(200 * (0.55 * -10 + 0.5 * 0.02 * 100))
    assert math.isnan(out["value_after"][1]) and out["value_after"][3] == pytest.approx(v1)
    crash = position_pnl(book, pd.Series({"AAA": -0.99, "BBB": 0.0}), rate_pct=4.0)
    # S1 = 1: the call is worth ~0, so the long loses its value before (no cap involved).
    assert crash["pnl"][3] == pytest.approx(-200 * v0, rel=1e-9) and not crash["capped"][3]
    moves = [-0.05, -0.2, -0.4, -0.6, -0.9]
    calls = [position_pnl(book, pd.Series({"AAA": m, "BBB": 0.0}))["pnl"][3] for m in moves]
    assert calls == sorted(calls, reverse=True)  # deeper falls never help a long call


def test_a_long_put_never_gains_more_than_the_stock_falls():
    put = make_positions(
        [
            {
                "symbol": "P",
                "underlying": "AAA",
                "position_type": "LP",
                "quantity": 1,
                "underlying_price": 100.0,
                "strike": 100.0,
                "vol": 0.3,
                "days_to_expiry": 30,
            }
        ]
    )
    v0 = black_scholes_price(100.0, 100.0, 0.0, 0.3, 30, call=False)
    out = position_pnl(put, pd.Series({"AAA": -0.60}))
    # Deep in the money: worth K - S1 = 60 at rate 0 (the time value is ~0)
    assert out["pnl"].iloc[0] == pytest.approx(100 * (60.0 - v0), abs=1e-6)
    assert out["pnl"].iloc[0] <= 100 * 60.0

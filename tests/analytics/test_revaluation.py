"""Full Black-Scholes revaluation of options in stress scenarios: equal to mibian at the inputs
each row reports, put-call parity after every scenario, no phantom gains where gamma is 0, a long
option's loss bounded by its value, short options repriced rather than delta-gamma'd, and the
replays' vol (the episode's realized vol) and horizon (the episode's length)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.analytics.stress_helpers import COV2, betas_market, valued_option
from webapp.analytics.constants import CALENDAR_DAYS_PER_YEAR, CALL_TYPES, OPTION_TYPES
from webapp.analytics.factor_shocks import run_factor_scenario
from webapp.analytics.options import black_scholes_price, option_greeks, realized_vol
from webapp.analytics.replay import episode_vols, run_historical_replay
from webapp.analytics.revaluation import OPTION_FIELDS, position_pnl
from webapp.analytics.scenarios import (
    KNOWN_FACTORS,
    VOL_PER_MARKET_FALL,
    Scenario,
    scenario_vol_shock,
)
from webapp.analytics.stress import run_all_scenarios

DATA = Path(__file__).resolve().parents[2] / "webapp" / "data" / "prices_adjclose_extended.csv.gz"
RATE_PCT = 4.0


def option(underlying: str, ptype: str, strike: float, days: int, **kw) -> dict:
    """An option row valued as the valuation values it (mibian, at ``RATE_PCT``)."""
    return valued_option(underlying, ptype, strike, days, rate_pct=RATE_PCT, **kw)


def book(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=pd.Index(range(1, len(rows) + 1), name="position_id"))


def shock(shocks: dict, vol_shock: float | None = None, sid: str = "test") -> Scenario:
    return Scenario(
        id=sid,
        name=sid,
        category="market",
        severity="moderate",
        description="test",
        shocks=shocks,
        vol_shock=vol_shock,
    )


@pytest.fixture(scope="module")
def option_book() -> pd.DataFrame:
    """Calls and puts, long and short, near and far, live, expiring today and expired."""
    rows = [
        option("AAPL", "LC", 100.0, 30),
        option("AAPL", "LP", 100.0, 30),
        option("AAPL", "SC", 110.0, 400, quantity=-3.0),
        option("AAPL", "SP", 90.0, 400, quantity=-2.0),
        option("JPM", "LC", 95.0, 10, vol=0.6),
        option("JPM", "LP", 105.0, 500, vol=0.2),
        option("JPM", "LC", 1000.0, 30),  # far OTM: gamma ~0
        option("TLT", "LC", 100.0, 0),  # expiring today: intrinsic
        option("TLT", "LP", 110.0, -5),  # expired in the money: intrinsic
        option("TLT", "LC", 150.0, -5),  # expired worthless
    ]
    return book(rows)


@pytest.fixture(scope="module")
def option_betas() -> pd.DataFrame:
    b = np.zeros((3, len(KNOWN_FACTORS)))
    b[:, 0] = [1.2, 1.1, -0.3]
    b[2, -1] = 1.0  # TLT on Rates
    return pd.DataFrame(b, index=["AAPL", "JPM", "TLT"], columns=list(KNOWN_FACTORS))


@pytest.fixture(scope="module")
def option_results(library, option_book, option_betas, factor_cov, prices):
    return run_all_scenarios(
        library,
        option_book.assign(rate_pct=RATE_PCT),
        option_betas,
        factor_cov,
        prices,
        equity=100_000.0,
    )


# ---------------------------------------------------------------------- equal to mibian
def test_every_option_row_equals_mibian_at_its_reported_inputs(option_results, option_book):
    for res in option_results:
        assert res.left_out == (), res.scenario_id
        assert len(res.positions) == len(option_book)
        for p in res.positions:
            assert set(OPTION_FIELDS) <= set(p), p
            call = p["position_type"] in CALL_TYPES
            rate = p["rate"] / 100.0
            after_vol = p["vol_after"] if p["vol_after"] is not None else 0.3
            before_vol = p["vol_before"] if p["vol_before"] is not None else 0.3
            v1 = black_scholes_price(
                p["spot_after"], p["strike"], rate, after_vol, p["days_after"], call=call
            )
            v0 = black_scholes_price(
                p["spot_before"], p["strike"], rate, before_vol, p["days_before"], call=call
            )
            where = (res.scenario_id, p["symbol"])
            assert p["value_after"] == pytest.approx(v1, rel=1e-9, abs=1e-9), where
            assert p["value_before"] == pytest.approx(v0, rel=1e-9, abs=1e-9), where
            qm = float(option_book.loc[p["position_id"], "quantity"]) * 100.0
            assert p["position_value_after"] == pytest.approx(qm * v1, rel=1e-9, abs=1e-7)
            assert p["pnl"] == pytest.approx(
                p["position_value_after"] - p["position_value_before"], rel=1e-12, abs=1e-9
            )
            assert p["spot_after"] == pytest.approx(p["spot_before"] * (1 + p["move"]))
            # the value before is the valuation's price (same mibian inputs)
            assert p["value_before"] == pytest.approx(
                option_book.loc[p["position_id"], "price"], rel=1e-9, abs=1e-9
            )
            assert p["capped"] is False
        json.dumps(res.to_dict(), allow_nan=False)


def test_put_call_parity_after_every_scenario(library, factor_cov, prices, option_betas):
    # Same strike, expiry and vol: C - P = S1 - K e^(-r T1) after the move, for a pair that
    # outlives every episode and one that expires inside the long replays (T1 = 0: S1 - K).
    rows = [
        option("AAPL", "LC", 105.0, 420),
        option("AAPL", "LP", 105.0, 420),
        option("JPM", "LC", 95.0, 45),
        option("JPM", "LP", 95.0, 45),
    ]
    results = run_all_scenarios(
        library,
        book(rows).assign(rate_pct=RATE_PCT),
        option_betas,
        factor_cov,
        prices,
        equity=1.0,
    )
    for res in results:
        by = {(p["underlying"], p["position_type"]): p for p in res.positions}
        for und, k in (("AAPL", 105.0), ("JPM", 95.0)):
            c, p = by[(und, "LC")], by[(und, "LP")]
            assert c["vol_after"] == p["vol_after"] and c["days_after"] == p["days_after"]
            t1 = max(c["days_after"], 0) / CALENDAR_DAYS_PER_YEAR
            parity = c["spot_after"] - k * math.exp(-RATE_PCT / 100.0 * t1)
            assert c["value_after"] - p["value_after"] == pytest.approx(parity, abs=1e-9), (
                res.scenario_id,
                und,
            )


# ------------------------------------------------------------------------ gamma-0 cases
def test_gamma_zero_options_are_intrinsic_and_gain_nothing_out_of_nothing(option_results):
    up20 = next(r for r in option_results if r.scenario_id == "market_up_20")
    rows = {p["symbol"]: p for p in up20.positions}
    worthless = rows["TLT LC 150 -5d"]
    assert worthless["value_before"] == 0.0 and worthless["value_after"] == 0.0
    assert worthless["pnl"] == 0.0  # delta-gamma with a stale delta would have "gained"
    assert worthless["vol_before"] is None and worthless["vol_after"] is None
    expired_put = rows["TLT LP 110 -5d"]
    s0, s1 = expired_put["spot_before"], expired_put["spot_after"]
    assert expired_put["value_before"] == pytest.approx(max(110.0 - s0, 0.0))
    assert expired_put["value_after"] == pytest.approx(max(110.0 - s1, 0.0))
    today = rows["TLT LC 100 0d"]
    assert today["value_before"] == 0.0 and today["value_after"] == pytest.approx(max(s1 - 100, 0))
    far = rows["JPM LC 1000 30d"]
    assert far["value_after"] < 1e-9 and abs(far["pnl"]) < 1e-6
    for res in option_results:
        for p in res.positions:
            if p["days_before"] <= 0:
                intrinsic = (
                    max(p["spot_after"] - p["strike"], 0.0)
                    if p["position_type"] in CALL_TYPES
                    else max(p["strike"] - p["spot_after"], 0.0)
                )
                assert p["value_after"] == pytest.approx(intrinsic, abs=1e-12), res.scenario_id


def test_the_vertex_bug_is_gone_a_long_call_keeps_losing_as_the_market_falls():
    pos = book([option("AAA", "LC", 100.0, 45, quantity=5.0)])
    pnls = [
        run_factor_scenario(
            shock({"Market": m}, vol_shock=0.0), pos, betas_market(AAA=1.0), COV2, 1e6
        ).pnl
        for m in (-0.05, -0.10, -0.20, -0.30, -0.50)
    ]
    assert pnls == sorted(pnls, reverse=True) and len(set(pnls)) == len(pnls)


# --------------------------------------------------------------------- bounds and shorts
@pytest.mark.parametrize("move", [-0.05, -0.3, -0.9, -1.5])
def test_a_long_calls_loss_is_at_most_its_value(move):
    pos = book([option("AAA", "LC", 95.0, 60, quantity=4.0), option("AAA", "LP", 80.0, 60)])
    out = position_pnl(pos, pd.Series({"AAA": move}), vol_shock=0.2, rate_pct=RATE_PCT)
    assert (out["pnl"] >= -out["market_value"] - 1e-9).all()
    # a move below -100% is floored (S1 = 0): the only place ``capped`` is set
    assert out["capped"].tolist() == [move < -1.0] * 2


def test_a_short_puts_loss_is_full_repricing_not_delta_gamma():
    pos = book([option("AAA", "SP", 95.0, 30, quantity=-10.0, vol=0.25)]).assign(rate_pct=RATE_PCT)
    res = run_factor_scenario(shock({"Market": -0.30}), pos, betas_market(AAA=1.0), COV2, 1e6)
    p = res.positions[0]
    sigma1 = 0.25 + VOL_PER_MARKET_FALL * 0.30
    r = RATE_PCT / 100.0
    v0 = black_scholes_price(100.0, 95.0, r, 0.25, 30, call=False)
    v1 = black_scholes_price(70.0, 95.0, r, sigma1, 30, call=False)
    assert p["pnl"] == pytest.approx(-1000.0 * (v1 - v0), rel=1e-9)
    assert p["position_value_before"] == pytest.approx(p["market_value"], rel=1e-9)
    g = option_greeks(100.0, 95.0, RATE_PCT, 0.25, 30, call=False)
    dg = -1000.0 * (g.delta * -30.0 + 0.5 * g.gamma * 900.0)
    assert p["pnl_delta_gamma"] == pytest.approx(dg, rel=1e-9)
    assert abs(p["pnl"] - dg) > 100.0  # the two really differ on a 30% fall (~$470 here)
    assert p["capped"] is False


def test_stock_rows_keep_their_keys_and_cap_only_below_minus_100pct():
    pos = book(
        [
            {
                "symbol": "LEV",
                "underlying": "LEV",
                "position_type": "LONG",
                "quantity": 10.0,
                "multiplier": 1.0,
                "price": 100.0,
                "underlying_price": 100.0,
                "market_value": 1000.0,
                "exposure": 1000.0,
                "delta": 1.0,
                "gamma": 0.0,
                "status": "ok",
            }
        ]
    )
    b = betas_market(LEV=2.0)
    crash = run_factor_scenario(shock({"Market": -0.60}), pos, b, COV2, 1e4).positions[0]
    assert crash["pnl"] == pytest.approx(-1000.0) and crash["capped"] is True
    mild = run_factor_scenario(shock({"Market": -0.10}), pos, b, COV2, 1e4).positions[0]
    assert mild["capped"] is False
    assert set(mild) == {
        "position_id",
        "symbol",
        "underlying",
        "position_type",
        "market_value",
        "move",
        "pnl",
        "capped",
    }


# --------------------------------------------------------------------------- vol rules
def test_vol_rule_explicit_default_and_unchanged(option_results, library):
    by_id = {r.scenario_id: r for r in option_results}
    down10 = by_id["market_down_10"]
    assert down10.vol_shock == pytest.approx(VOL_PER_MARKET_FALL * 0.10)
    up10 = next(s for s in library if s.id == "market_up_10")
    assert up10.vol_shock is not None and by_id["market_up_10"].vol_shock == up10.vol_shock
    for res in option_results:
        if res.kind != "factor":
            continue
        scenario = next(s for s in library if s.id == res.scenario_id)
        expected, rule = scenario_vol_shock(scenario, res.factor_moves["Market"])
        assert res.vol_shock == pytest.approx(expected) and res.vol_rule == rule
        assert res.horizon_days == 0 and "Black-Scholes" in res.method
        for p in res.positions:
            assert p["days_after"] == p["days_before"]
            if p["vol_after"] is not None:
                assert p["vol_after"] == pytest.approx(max(p["vol_before"] + expected, 0.01))


def test_negative_vol_shock_stops_at_the_floor():
    pos = book([option("AAA", "LC", 100.0, 30, vol=0.05)])
    res = run_factor_scenario(
        shock({"Market": 0.05}, vol_shock=-0.2), pos, betas_market(AAA=1.0), COV2, 1e6
    )
    assert res.positions[0]["vol_after"] == pytest.approx(0.01)


# ----------------------------------------------------------------------------- replays
def test_replays_use_the_episodes_realized_vol_and_length(option_results, prices, library):
    covid = next(s for s in library if s.id == "covid_crash")
    res = next(r for r in option_results if r.scenario_id == "covid_crash")
    horizon = (covid.replay_end - covid.replay_start).days
    assert res.horizon_days == horizon == 33 and res.vol_shock is None
    for p in res.positions:
        assert p["days_after"] == p["days_before"] - horizon
        if p["days_after"] > 0:
            # options.realized_vol over the whole episode (23 returns >= its minimum of 20)
            window = slice(pd.Timestamp(covid.replay_start), pd.Timestamp(covid.replay_end))
            closes = prices[p["underlying"]].loc[window]
            assert p["vol_after"] == pytest.approx(realized_vol(closes, window=10_000), rel=1e-12)
        else:
            assert p["vol_after"] is None  # expired within the episode: intrinsic at S1
    near = next(p for p in res.positions if p["symbol"] == "AAPL LC 100 30d")
    assert near["days_after"] == -3 and near["value_after"] == max(near["spot_after"] - 100, 0)


def test_replay_without_enough_returns_leaves_a_live_option_out():
    idx = pd.to_datetime(["2020-01-02", "2020-01-03"])
    px = pd.DataFrame({"AAA": [100.0, 90.0]}, index=idx)
    pos = book([option("AAA", "LC", 100.0, 30), option("AAA", "LC", 100.0, 0)])
    scen = Scenario(
        id="r",
        name="r",
        category="historical",
        severity="mild",
        description="t",
        replay_start=dt.date(2020, 1, 2),
        replay_end=dt.date(2020, 1, 3),
    )
    res = run_historical_replay(scen, pos, px, equity=1e4)
    assert [d["reason"] for d in res.left_out] == ["no_scenario_vol"]
    assert res.positions[0]["value_after"] == 0.0  # the expiring one needs no vol
    assert math.isnan(episode_vols(px, "2020-01-02", "2020-01-03")["AAA"])


def test_option_without_inputs_is_left_out():
    row = option("AAA", "LC", 100.0, 30)
    pos = book(
        [dict(row, strike=np.nan), dict(row, vol=np.nan), dict(row, vol=np.nan, days_to_expiry=-1)]
    )
    out = position_pnl(pos, pd.Series({"AAA": -0.1}))
    assert out["reason"].iloc[:2].tolist() == ["no_option_inputs", "no_option_inputs"]
    assert pd.isna(out["reason"].iloc[2])  # expired: intrinsic needs no vol
    assert set(OPTION_TYPES) >= set(out["position_type"])

"""Full-revaluation historical VaR: P&L against mibian, bounds, tails, quantiles vs numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.analytics.stress_helpers import valued_option
from webapp.analytics.errors import InsufficientHistory, NoPositions, NoPrices
from webapp.analytics.options import black_scholes_price
from webapp.analytics.risk import backcast_pnl, backcast_returns, risk_metrics
from webapp.analytics.var import full_revaluation_pnl, historical_var_es

RATE_PCT = 4.5


@pytest.fixture(scope="module")
def window(real_returns):
    return real_returns.iloc[-250:]


@pytest.fixture(scope="module")
def spots(real_prices):
    return real_prices.iloc[-1]


def option(pid, underlying, ptype, qty, spot, strike, days, vol=0.3, symbol=None):
    """One valued option row, Greeks by mibian, as the valuation would give it."""
    row = valued_option(
        underlying, ptype, strike, days, spot=spot, vol=vol, quantity=qty, rate_pct=RATE_PCT
    )
    return {"position_id": pid, **row, "symbol": symbol or f"{underlying} {ptype} {strike}"}


def stock(pid, symbol, qty, spot):
    mv = qty * spot
    return {
        "position_id": pid,
        "symbol": symbol,
        "underlying": symbol,
        "position_type": "LONG" if qty > 0 else "SHORT",
        "quantity": qty,
        "multiplier": 1.0,
        "price": spot,
        "underlying_price": spot,
        "market_value": mv,
        "exposure": mv,
        "delta": 1.0,
        "gamma": 0.0,
        "strike": np.nan,
        "vol": np.nan,
        "days_to_expiry": np.nan,
        "status": "ok",
    }


def frame(rows):
    return pd.DataFrame(rows).set_index("position_id")


def delta_exposures(positions):
    return positions.groupby("underlying")["exposure"].sum()


@pytest.mark.parametrize(
    ("ptype", "qty", "moneyness", "days"),
    [("LC", 3, 1.0, 45), ("SP", -2, 0.9, 20), ("LP", 1, 1.1, 200), ("SC", -5, 1.05, 3)],
)
def test_one_option_pnl_equals_mibian_repricing(window, spots, ptype, qty, moneyness, days):
    s = float(spots["AAPL"])
    k = round(s * moneyness, 0)
    positions = frame([option(1, "AAPL", ptype, qty, s, k, days)])
    full = full_revaluation_pnl(positions, window, rate_pct=RATE_PCT)
    r = window["AAPL"].dropna()
    call = ptype in ("LC", "SC")
    v0 = black_scholes_price(s, k, RATE_PCT / 100, 0.3, days, call=call)
    expected = [
        qty * 100 * (black_scholes_price(s * (1 + x), k, RATE_PCT / 100, 0.3, days, call=call) - v0)
        for x in r.to_numpy()
    ]
    assert list(full.pnl.index) == list(r.index)
    np.testing.assert_allclose(full.pnl.to_numpy(), expected, rtol=0, atol=1e-9)
    assert full.options == 1 and full.left_out == ()


def test_expired_option_moves_with_its_intrinsic_value(window, spots):
    s = float(spots["MSFT"])
    k = round(s * 0.95, 0)
    # An expired call has no vol and no time value: P&L = 100 x qty x (max(S1-K,0) - (S-K)).
    row = option(1, "MSFT", "LC", 2, s, k, 0) | {"vol": np.nan}
    full = full_revaluation_pnl(frame([row]), window, rate_pct=RATE_PCT)
    r = window["MSFT"].dropna().to_numpy()
    expected = 200 * (np.maximum(s * (1 + r) - k, 0.0) - (s - k))
    np.testing.assert_allclose(full.pnl.to_numpy(), expected, atol=1e-9)


def test_a_long_call_never_loses_more_than_its_value(window, spots):
    s = float(spots["NVDA"])
    # Deep out of the money and short-dated: big relative moves, small premium.
    row = option(1, "NVDA", "LC", 10, s, round(s * 1.15), 7, vol=0.6)
    # A -100% day is the worst a call can see: it must lose exactly its value, not more.
    crash = window[["NVDA"]].copy()
    crash.iloc[0, 0] = -1.0
    for returns in (window, crash):
        full = full_revaluation_pnl(frame([row]), returns, rate_pct=RATE_PCT)
        assert full.pnl.min() >= -row["market_value"] - 1e-9
    assert full.pnl.iloc[0] == pytest.approx(-row["market_value"], abs=1e-9)
    # The delta-only backcast has no such bound on that day.
    assert backcast_pnl(delta_exposures(frame([row])), crash).iloc[0] < -row["market_value"]


def test_a_short_put_tail_is_heavier_than_delta_only(window, spots):
    s = float(spots["SPY"])
    positions = frame([option(1, "SPY", "SP", -20, s, round(s * 0.97), 30, vol=0.2)])
    full = full_revaluation_pnl(positions, window, rate_pct=RATE_PCT)
    delta = backcast_pnl(delta_exposures(positions), window)
    assert list(full.pnl.index) == list(delta.index)
    for c in (0.95, 0.99):
        var_full, es_full = historical_var_es(full.pnl.to_numpy(), c)
        var_delta, es_delta = historical_var_es(delta.to_numpy(), c)
        assert var_full > var_delta
        assert es_full > es_delta
    # Short gamma: on every down day repricing loses more than delta says.
    down = delta < 0
    assert (full.pnl[down] < delta[down]).all()


def test_stock_only_book_full_equals_delta_only(window, spots):
    rows = [
        stock(1, "AAPL", 300, float(spots["AAPL"])),
        stock(2, "MSFT", 120, float(spots["MSFT"])),
        stock(3, "AAPL", -50, float(spots["AAPL"])),  # two rows on one underlying
        stock(4, "XOM", -200, float(spots["XOM"])),
        stock(5, "TLT", 150, float(spots["TLT"])),
    ]
    positions = frame(rows)
    equity = 150_000.0
    full = full_revaluation_pnl(positions, window, rate_pct=RATE_PCT)
    port = backcast_returns(delta_exposures(positions), window, equity=equity)
    np.testing.assert_allclose(full.pnl.to_numpy() / equity, port.to_numpy(), rtol=1e-12)
    m = risk_metrics(port, None, equity=equity, full_returns=full.pnl / equity)
    for v in m.var:
        assert v.historical_full_var == pytest.approx(v.historical_var, rel=1e-12)
        assert v.expected_shortfall_full == pytest.approx(v.expected_shortfall, rel=1e-12)
        assert v.historical_full_var_dollars == pytest.approx(v.historical_var_dollars, rel=1e-12)
        d = v.to_dict()
        assert d["historical_full"]["dollars"] == pytest.approx(d["historical"]["dollars"])
    assert m.to_dict()["full_revaluation_nobs"] == len(port)
    assert full.options == 0


def test_var_es_follow_numpy_on_the_same_pnl(window, spots):
    s = float(spots["AAPL"])
    positions = frame(
        [
            stock(1, "AAPL", 100, s),
            option(2, "AAPL", "SC", -3, s, round(s * 1.05), 60),
            option(3, "MSFT", "LP", 4, float(spots["MSFT"]), round(float(spots["MSFT"])), 90),
        ]
    )
    equity = 50_000.0
    full = full_revaluation_pnl(positions, window, rate_pct=RATE_PCT)
    pnl = full.pnl.to_numpy()
    port = backcast_returns(delta_exposures(positions), window, equity=equity)
    m = risk_metrics(port, None, equity=equity, full_returns=full.pnl / equity)
    for v in m.var:
        q = np.quantile(pnl, 1 - v.confidence, method="linear")
        assert v.historical_full_var_dollars == pytest.approx(-q, rel=1e-12)
        assert v.expected_shortfall_full_dollars == pytest.approx(-pnl[pnl <= q].mean(), rel=1e-12)
        assert v.historical_full_var == pytest.approx(-q / equity, rel=1e-12)
        assert v.expected_shortfall_full >= v.historical_full_var
    assert m.var[1].historical_full_var >= m.var[0].historical_full_var
    assert "historical_full" in m.to_dict()["method"]


def test_historical_var_es_by_hand():
    x = np.array([-5.0, -1.0, 0.0, 2.0, 4.0])
    # 10% quantile, linear: position (5 - 1) x 0.1 = 0.4 between -5 and -1 -> -3.4.
    var, es = historical_var_es(x, 0.9)
    assert var == pytest.approx(3.4) and es == pytest.approx(5.0)
    with pytest.raises(ValueError):
        historical_var_es(x, 0.4)


def test_left_out_and_missing_inputs(window, spots):
    s = float(spots["AAPL"])
    good = option(1, "AAPL", "LC", 1, s, round(s), 30)
    stale = stock(2, "MSFT", 10, float(spots["MSFT"])) | {"status": "stale_price"}
    no_vol = option(3, "AAPL", "LP", 1, s, round(s), 30) | {"vol": np.nan}
    full = full_revaluation_pnl(frame([good, stale, no_vol]), window, rate_pct=RATE_PCT)
    assert list(full.position_pnl.columns) == [1]
    assert {x["position_id"]: x["reason"] for x in full.left_out} == {
        2: "stale_price",
        3: "no_option_inputs",
    }
    json_ready = full.to_dict()
    assert json_ready["positions"] == 1 and json_ready["nobs"] == len(full.pnl)
    with pytest.raises(NoPositions):
        full_revaluation_pnl(frame([stale]), window)
    with pytest.raises(NoPrices):
        full_revaluation_pnl(frame([stock(1, "NOPE", 1, 10.0)]), window)
    gappy = window[["AAPL", "MSFT"]].copy()
    gappy.loc[gappy.index[::2], "AAPL"] = np.nan
    gappy.loc[gappy.index[1::2], "MSFT"] = np.nan
    both = frame([stock(1, "AAPL", 1, s), stock(2, "MSFT", 1, 100.0)])
    with pytest.raises(InsufficientHistory):
        full_revaluation_pnl(both, gappy)
    port = backcast_returns(pd.Series({"AAPL": s}), window, equity=1e4)
    with pytest.raises(InsufficientHistory):
        risk_metrics(port, None, equity=1e4, full_returns=port.iloc[:5])

"""Option values and Greeks against mibian directly and the closed form by hand."""

import math

import mibian
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from webapp.analytics.errors import InsufficientHistory
from webapp.analytics.options import (
    black_scholes_greeks,
    black_scholes_price,
    black_scholes_vector,
    intrinsic_value,
    option_greeks,
    position_greeks,
    realized_vol,
)


def bs_by_hand(s, k, r, vol, days, call):
    t = days / 365.0
    d1 = (math.log(s / k) + (r + vol**2 / 2) * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    if call:
        return s * norm.cdf(d1) - k * math.exp(-r * t) * norm.cdf(d2)
    return k * math.exp(-r * t) * norm.cdf(-d2) - s * norm.cdf(-d1)


@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize(
    "s,k,days,vol", [(100, 100, 30, 0.2), (250, 230, 120, 0.35), (50, 60, 7, 0.6)]
)
def test_greeks_equal_mibian_and_closed_form(s, k, days, vol, call):
    g = option_greeks(s, k, 4.5, vol, days, call=call)
    bs = mibian.BS([s, k, 4.5, days], volatility=vol * 100)
    assert g.price == pytest.approx(bs.callPrice if call else bs.putPrice, abs=1e-12)
    assert g.delta == pytest.approx(bs.callDelta if call else bs.putDelta, abs=1e-12)
    assert g.gamma == pytest.approx(bs.gamma, abs=1e-12)
    assert g.price == pytest.approx(bs_by_hand(s, k, 0.045, vol, days, call), abs=1e-9)
    assert black_scholes_price(s, k, 0.045, vol, days, call=call) == pytest.approx(
        g.price, abs=1e-12
    )
    vec = black_scholes_vector(np.array([s]), k, 0.045, vol, np.array([days]), call)
    assert vec[0] == pytest.approx(g.price, abs=1e-9)


def test_put_call_parity():
    c = option_greeks(120, 110, 5.0, 0.3, 90, call=True)
    p = option_greeks(120, 110, 5.0, 0.3, 90, call=False)
    assert c.price - p.price == pytest.approx(120 - 110 * math.exp(-0.05 * 90 / 365), abs=1e-9)
    assert c.delta - p.delta == pytest.approx(1.0, abs=1e-12)


def test_option_past_expiry_is_intrinsic_with_no_time_greeks():
    itm_call = option_greeks(110, 100, 4.0, 0.3, -3, call=True)
    otm_put = option_greeks(110, 100, 4.0, 0.3, 0, call=False)
    assert itm_call.price == 10 and itm_call.delta == 1.0 and itm_call.gamma == 0.0
    assert otm_put.price == 0 and otm_put.delta == 0.0
    assert intrinsic_value(90, 100, call=False) == 10


def test_position_greeks_are_signed_and_scaled():
    g = option_greeks(100, 100, 4.0, 0.25, 60, call=True)
    short = position_greeks(g, -3, 100)
    assert short["delta"] == pytest.approx(-300 * g.delta)
    assert short["gamma"] == pytest.approx(-300 * g.gamma)


def test_realized_vol_matches_numpy_and_needs_history():
    rng = np.random.default_rng(7)
    prices = pd.Series(100 * np.cumprod(1 + rng.normal(0, 0.01, 200)))
    r = prices.pct_change().dropna().to_numpy()[-60:]
    assert realized_vol(prices, 60) == pytest.approx(np.std(r, ddof=1) * math.sqrt(252), abs=1e-12)
    with pytest.raises(InsufficientHistory):
        realized_vol(prices.iloc[:10])


@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize("vol", [0.12, 0.45])
def test_black_scholes_vector_equals_mibian_on_a_grid(call, vol):
    # Deep/near in and out of the money, and expiries from one day to two years plus expired ones,
    # priced in one vector call against mibian per element.
    spots = np.array([50.0, 80.0, 95.0, 100.0, 105.0, 120.0, 200.0])
    days = np.array([-5.0, 0.0, 1.0, 2.0, 7.0, 30.0, 91.0, 365.0, 730.0])
    s_grid, d_grid = (a.ravel() for a in np.meshgrid(spots, days))
    vec = black_scholes_vector(s_grid, 100.0, 0.045, vol, d_grid, call)
    one_by_one = [
        black_scholes_price(s, 100.0, 0.045, vol, d, call=call) for s, d in zip(s_grid, d_grid)
    ]
    assert vec.shape == s_grid.shape
    np.testing.assert_allclose(vec, one_by_one, rtol=0, atol=1e-8)
    expired = d_grid <= 0
    intrinsic = np.maximum(s_grid - 100.0, 0) if call else np.maximum(100.0 - s_grid, 0)
    assert (vec[expired] == intrinsic[expired]).all()


def _mibian_row(s, k, rate_pct, vol, days, call):
    """Price and Greeks of one option by mibian (intrinsic rules at or past expiry)."""
    g = option_greeks(s, k, rate_pct, vol, days, call=call)
    return [g.price, g.delta, g.gamma, g.theta, g.vega, g.rho]


def test_black_scholes_greeks_equal_mibian_for_mixed_books():
    # Calls and puts, each with its own strike, vol and expiry, in one call: ITM/OTM, far OTM,
    # one day, expiring today, expired and two years out, so the masks cannot misalign.
    rng = np.random.default_rng(11)
    n = 400
    spot = rng.uniform(20, 400, n)
    strike = spot * rng.choice([0.3, 0.8, 0.97, 1.0, 1.03, 1.25, 3.0], n)
    vol = rng.uniform(0.05, 1.5, n)
    days = rng.choice([-30, -1, 0, 1, 2, 7, 45, 180, 730], n).astype(float)
    call = rng.random(n) < 0.5
    got = black_scholes_greeks(spot, strike, 0.045, vol, days, call)
    expected = np.array(
        [
            _mibian_row(s, k, 4.5, v, d, c)
            for s, k, v, d, c in zip(spot, strike, vol, days, call, strict=True)
        ]
    )
    for j, name in enumerate(("price", "delta", "gamma", "theta", "vega", "rho")):
        np.testing.assert_allclose(getattr(got, name), expected[:, j], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        black_scholes_vector(spot, strike, 0.045, vol, days, call), got.price, rtol=0, atol=1e-12
    )


def test_black_scholes_greeks_refuse_a_missing_vol_only_while_live():
    got = black_scholes_greeks(
        [100.0, 100.0, 100.0], 90.0, 0.04, [np.nan, 0.0, np.nan], [30.0, 30.0, 0.0], True
    )
    assert np.isnan(got.price[:2]).all() and np.isnan(got.delta[:2]).all()
    assert got.price[2] == 10.0 and got.delta[2] == 1.0 and got.gamma[2] == 0.0


@settings(max_examples=200, deadline=None)
@given(
    s=st.floats(1.0, 1_000.0),
    k=st.floats(1.0, 1_000.0),
    vol=st.floats(0.01, 3.0),
    days=st.integers(1, 1_000),
    scale=st.floats(0.01, 100.0),
)
def test_black_scholes_parity_and_scaling(s, k, vol, days, scale):
    # Put-call parity C − P = S − K e^(−rt) and Δc − Δp = 1; homogeneity of degree one in (S, K).
    r, t = 0.045, days / 365.0
    c, p = (black_scholes_greeks(s, k, r, vol, days, call) for call in (True, False))
    assert float(c.price - p.price) == pytest.approx(s - k * math.exp(-r * t), abs=1e-9 * (s + k))
    assert float(c.delta - p.delta) == pytest.approx(1.0, abs=1e-9)
    assert float(c.gamma) == pytest.approx(float(p.gamma), rel=1e-9, abs=1e-300)
    scaled = black_scholes_vector(s * scale, k * scale, r, vol, days, True)
    assert float(scaled) == pytest.approx(scale * float(c.price), rel=1e-7, abs=1e-9 * scale * s)

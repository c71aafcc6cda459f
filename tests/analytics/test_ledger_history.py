"""Implied vol from a premium, and the day-by-day replay of a transactions ledger.

The implied-vol tests live here (not in test_options.py) because the ledger's option values are
what they protect: an option bought at its fair value must not show entry-day P&L.
"""

import math

import mibian
import numpy as np
import pytest

from webapp.analytics.options import black_scholes_price, implied_vol, option_greeks


def _mibian_grid():
    """Near-the-money options whose premium pins the vol for mibian.

    mibian rounds a premium to 6 decimals and bisects until its estimate matches to as many
    decimals as the premium's string shows, so its vol is good to ~0.5e-6 / vega: keep options
    with vega >= 0.05 $ per vol point and premiums whose 6-decimal string keeps 6 decimals.
    """
    grid = []
    for spot in (90.0, 100.0, 110.0):
        for days in (30, 90, 365):
            for vol in (0.2, 0.35, 0.8):
                for call in (True, False):
                    premium = round(
                        black_scholes_price(spot, 100.0, 0.045, vol, days, call=call), 6
                    )
                    vega = option_greeks(spot, 100.0, 4.5, vol, days, call=call).vega
                    if vega >= 0.05 and len(str(premium).split(".")[1]) == 6:
                        grid.append((spot, 100.0, days, vol, call, premium))
    return grid


MIBIAN_GRID = _mibian_grid()


def test_mibian_grid_is_broad():
    assert len(MIBIAN_GRID) >= 40
    assert {g[4] for g in MIBIAN_GRID} == {True, False}


@pytest.mark.parametrize("spot,strike,days,vol,call,premium", MIBIAN_GRID)
def test_implied_vol_equals_mibian(spot, strike, days, vol, call, premium):
    args = [spot, strike, 4.5, days]
    bs = mibian.BS(args, callPrice=premium) if call else mibian.BS(args, putPrice=premium)
    ours = implied_vol(premium, spot, strike, days, 4.5, "call" if call else "put")
    assert ours == pytest.approx(bs.impliedVolatility / 100.0, abs=1e-6)
    # The 6-decimal premium moves the root by at most 0.5e-6 / vega from the vol it came from.
    assert ours == pytest.approx(vol, abs=1e-6)


def test_implied_vol_round_trips_and_vectorises():
    spot = np.array([95.0, 100.0, 130.0, 60.0])
    strike = np.array([100.0, 100.0, 120.0, 70.0])
    days = np.array([30.0, 200.0, 60.0, 5.0])
    vol = np.array([0.2, 0.55, 0.3, 1.4])
    kind = np.array(["LC", "SP", "call", "P"])
    calls = [True, False, True, False]
    premium = np.array(
        [
            black_scholes_price(s, k, 0.03, v, d, call=c)
            for s, k, v, d, c in zip(spot, strike, vol, days, calls, strict=True)
        ]
    )
    iv = implied_vol(premium, spot, strike, days, 3.0, kind)
    assert isinstance(iv, np.ndarray) and iv.shape == (4,)
    np.testing.assert_allclose(iv, vol, atol=1e-9)
    again = [
        black_scholes_price(s, k, 0.03, v, d, call=c)
        for s, k, v, d, c in zip(spot, strike, iv, days, calls, strict=True)
    ]
    np.testing.assert_allclose(again, premium, atol=1e-10)


@pytest.mark.parametrize(
    "price,spot,strike,days,kind",
    [
        (5.0, 110.0, 100.0, 30, "call"),  # below intrinsic (10)
        (1.0, 100.0, 105.0, 45, "put"),  # below intrinsic (5)
        (99.0, 100.0, 100.0, 30, "call"),  # above what 500% vol prices
        (2.0, 100.0, 100.0, 0, "call"),  # expired: no time value to solve from
        (math.nan, 100.0, 100.0, 30, "put"),
    ],
)
def test_implied_vol_without_root_is_nan(price, spot, strike, days, kind):
    out = implied_vol(price, spot, strike, days, 4.5, kind)
    assert isinstance(out, float) and math.isnan(out)


def test_implied_vol_rejects_unknown_kind():
    with pytest.raises(ValueError, match="call/put"):
        implied_vol(2.0, 100.0, 100.0, 30, 4.5, "straddle")

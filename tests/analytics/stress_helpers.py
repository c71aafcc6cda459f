"""Shared pieces of the stress and revaluation tests: a two-factor world and the real one."""

from __future__ import annotations

import pandas as pd

from webapp.analytics.constants import CALL_TYPES, LONG_TYPES
from webapp.analytics.options import option_greeks
from webapp.analytics.scenarios import KNOWN_FACTORS

# The v1 style spreads (ETF minus SPY): the stress tests' factor world, independent of factors.py.
FACTOR_ETFS = {
    "Value": "VTV",
    "Growth": "VUG",
    "Momentum": "MTUM",
    "Quality": "QUAL",
    "Size": "IWM",
    "Low Volatility": "USMV",
}
# Two uncorrelated factors: a Market shock leaves Rates at 0, so r_i = beta_market * shock.
COV2 = pd.DataFrame(
    [[1e-4, 0.0], [0.0, 2e-4]], index=["Market", "Rates"], columns=["Market", "Rates"]
)


def betas_market(**b: float) -> pd.DataFrame:
    """Market betas by symbol, Rates betas 0."""
    return pd.DataFrame({"Market": b, "Rates": {k: 0.0 for k in b}})


def factor_covariance(prices: pd.DataFrame) -> pd.DataFrame:
    """Daily covariance of the 8 factors over the last 252 returns of the dataset."""
    r = (prices / prices.shift(1) - 1.0).iloc[1:].iloc[-252:]
    f = pd.DataFrame({"Market": r["SPY"]})
    for name, etf in FACTOR_ETFS.items():
        f[name] = r[etf] - r["SPY"]
    f["Rates"] = r["TLT"]
    return f[list(KNOWN_FACTORS)].cov()


def valued_option(
    underlying: str,
    ptype: str,
    strike: float,
    days: int,
    *,
    spot: float = 100.0,
    vol: float = 0.30,
    quantity: float | None = None,
    rate_pct: float = 4.0,
    **extra,
) -> dict:
    """An option row valued as the valuation values it (Greeks by mibian at ``rate_pct``)."""
    qty = quantity if quantity is not None else (1.0 if ptype in LONG_TYPES else -1.0)
    g = option_greeks(spot, strike, rate_pct, vol, days, call=ptype in CALL_TYPES)
    return {
        "symbol": f"{underlying} {ptype} {strike:g} {days}d",
        "underlying": underlying,
        "position_type": ptype,
        "quantity": qty,
        "multiplier": 100.0,
        "price": g.price,
        "underlying_price": spot,
        "market_value": qty * 100.0 * g.price,
        "exposure": qty * 100.0 * g.delta * spot,
        "delta": g.delta,
        "gamma": g.gamma,
        "strike": strike,
        "vol": vol,
        "days_to_expiry": days,
        "status": "ok",
        **extra,
    }

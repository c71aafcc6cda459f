"""Daily simple returns and look-back windows.

Prices arrive as a wide DataFrame: index = trading dates (ascending ``datetime64``), one column per
symbol, values = adjusted close in dollars, NaN where a symbol has no bar that day.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from webapp.analytics.constants import TRADING_DAYS_PER_YEAR


def simple_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Daily simple returns r_t = P_t / P_{t-1} - 1 (decimal, e.g. 0.012 = 1.2%).

    Gaps are not filled: a return exists on day t only when the symbol has a price on t and on
    the previous row's date, so every value is a genuine one-day return. The first row is dropped.
    """
    prices = prices.sort_index()
    returns = prices / prices.shift(1) - 1.0
    return returns.iloc[1:]


def returns_window(
    returns: pd.DataFrame | pd.Series,
    as_of: dt.date | pd.Timestamp,
    lookback_days: int,
) -> pd.DataFrame | pd.Series:
    """The last ``lookback_days`` return observations (rows) dated on or before ``as_of``.

    Rows are trading dates of the frame's calendar; fewer rows come back when the history is
    shorter than the window (callers check and report ``insufficient_history``).
    """
    if lookback_days < 1:
        raise ValueError("lookback_days must be >= 1")
    upto = returns.loc[returns.index <= pd.Timestamp(as_of)]
    return upto.iloc[-lookback_days:]


def window_shortfall(window: pd.DataFrame | pd.Series, lookback_days: int) -> str | None:
    """Why a window holds fewer than ``lookback_days`` return rows, or None when it is full.

    ``window`` is what `returns_window` gave back. Rows are counted in trading days (the frame's
    dates), never calendar days: a short window means the history loaded starts too late, and
    the reason names the first return date so the reader can see it.
    """
    if len(window) >= lookback_days:
        return None
    if len(window) == 0:
        return f"no return in the price history (0 of {lookback_days} trading days)"
    first = pd.Timestamp(window.index[0]).date().isoformat()
    return (
        f"the price history starts {first}: {len(window)} of {lookback_days} trading days "
        "of returns"
    )


def daily_risk_free(rate_annual_pct: pd.Series) -> pd.Series:
    """Daily risk-free return from a T-bill yield in % per year: rate / 100 / 252."""
    return rate_annual_pct / 100.0 / TRADING_DAYS_PER_YEAR

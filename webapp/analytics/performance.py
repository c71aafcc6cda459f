"""Daily value history of the current holdings and period returns against a benchmark.

The history replays today's positions from their entry dates at stored closes: a position counts
from its entry date on, at quantity × close × multiplier; cash is held at today's balance. A
position's cost (quantity × entry price × multiplier) on its entry date is treated as an external
flow, so buying does not show up as a gain: daily P&L_t = V_t − V_{t−1} − flows_t and the daily
return is P&L_t / V_{t−1}. Options are valued by Black–Scholes at each day's underlying close with
the volatility used today (no historical option quotes ship with the dataset).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from webapp.analytics.errors import InsufficientHistory, NoPositions

PERIODS = ("1M", "3M", "YTD", "1Y")


def black_scholes_vector(spot: np.ndarray, strike: float, rate: float, vol: float,
                         days: np.ndarray, call: bool) -> np.ndarray:
    """Vectorised Black–Scholes premium ($/share); ``rate`` decimal, ``days`` calendar days / 365.

    The same closed form mibian evaluates, applied to a whole price path at once; at or past
    expiry the value is intrinsic.
    """
    spot = np.asarray(spot, dtype=float)
    t = np.asarray(days, dtype=float) / 365.0
    intrinsic = np.maximum(spot - strike, 0.0) if call else np.maximum(strike - spot, 0.0)
    live = t > 0
    out = intrinsic.copy()
    if live.any():
        s, tt = spot[live], t[live]
        a = vol * np.sqrt(tt)
        d1 = (np.log(s / strike) + (rate + vol**2 / 2) * tt) / a
        d2 = d1 - a
        disc = strike * np.exp(-rate * tt)
        out[live] = (s * norm.cdf(d1) - disc * norm.cdf(d2)) if call else (
            disc * norm.cdf(-d2) - s * norm.cdf(-d1))
    return out


@dataclass(frozen=True)
class ValueHistory:
    """Daily rows: value, market values, P&L and return (decimals), indexed by date."""

    frame: pd.DataFrame  # columns: equity, long_mv, short_mv, daily_pnl, daily_return, positions


def value_history(valued: pd.DataFrame, prices: pd.DataFrame, cash: float,
                  as_of: dt.date | pd.Timestamp, rate_pct: float) -> ValueHistory:
    """Replay the valued holdings (``exposures.value_holdings`` output, status ``ok`` rows) day by day.

    Returns one row per trading day of ``prices`` from the first entry date to ``as_of``.
    """
    ok = valued[valued["status"] == "ok"]
    if ok.empty:
        raise NoPositions("no valued positions to build a history from")
    as_of = pd.Timestamp(as_of)
    start = pd.Timestamp(min(ok["entry_date"]))
    calendar = prices.index[(prices.index >= start) & (prices.index <= as_of)]
    if len(calendar) < 2:
        raise InsufficientHistory("fewer than two trading days since the first entry date")
    mv = pd.DataFrame(0.0, index=calendar, columns=ok.index)
    flows = pd.Series(0.0, index=calendar)
    for pid, row in ok.iterrows():
        path = prices[row["underlying"]].reindex(calendar).ffill()
        held = calendar >= pd.Timestamp(row["entry_date"])
        qm = float(row["quantity"]) * float(row["multiplier"])
        if row["position_type"] in ("LC", "LP", "SC", "SP"):
            days = (pd.Timestamp(row["expiry"]) - calendar).days.to_numpy()
            per_share = black_scholes_vector(path.to_numpy(), float(row["strike"]), rate_pct / 100.0,
                                             float(row["vol"]), days, row["position_type"] in ("LC", "SC"))
        else:
            per_share = path.to_numpy()
        mv[pid] = np.where(held, qm * per_share, 0.0)
        first = calendar[held][0] if held.any() else None
        if first is not None:
            flows[first] += qm * float(row["entry_price"])
    mv = mv.fillna(0.0)
    equity = mv.sum(axis=1) + float(cash)
    pnl = equity.diff() - flows
    pnl.iloc[0] = np.nan
    prev = equity.shift(1)
    frame = pd.DataFrame({
        "equity": equity,
        "long_mv": mv.clip(lower=0).sum(axis=1),
        "short_mv": mv.clip(upper=0).sum(axis=1),
        "daily_pnl": pnl,
        "daily_return": pnl / prev,
        "positions": (mv != 0).sum(axis=1),
    })
    return ValueHistory(frame=frame)


def period_start(as_of: pd.Timestamp, period: str) -> pd.Timestamp:
    """First day of a trailing period: 1M/3M/1Y calendar months back; YTD = the prior year-end."""
    if period == "1M":
        return as_of - pd.DateOffset(months=1)
    if period == "3M":
        return as_of - pd.DateOffset(months=3)
    if period == "1Y":
        return as_of - pd.DateOffset(years=1)
    if period == "YTD":
        return pd.Timestamp(year=as_of.year - 1, month=12, day=31)
    raise ValueError(f"unknown period {period!r}; choose from {PERIODS}")


def period_returns(daily_returns: pd.Series, benchmark_returns: pd.Series,
                   as_of: dt.date | pd.Timestamp) -> list[dict]:
    """Compounded return Π(1 + r_t) − 1 over each period for the book and the benchmark.

    Uses the days after the period start up to ``as_of``. A period that starts before the book's
    first return is reported with ``available: False`` (reason ``insufficient_history``).
    """
    as_of = pd.Timestamp(as_of)
    book = daily_returns.dropna()
    out = []
    for period in PERIODS:
        start = period_start(as_of, period)
        if book.empty or book.index[0] > start + pd.Timedelta(days=5):
            out.append({"period": period, "available": False, "reason": "insufficient_history",
                        "start": start.date().isoformat()})
            continue
        mask = (book.index > start) & (book.index <= as_of)
        bench = benchmark_returns[(benchmark_returns.index > start) & (benchmark_returns.index <= as_of)]
        port = float((1 + book[mask]).prod() - 1)
        bm = float((1 + bench.dropna()).prod() - 1)
        out.append({"period": period, "available": True, "start": start.date().isoformat(),
                    "return": port, "benchmark_return": bm, "excess_return": port - bm,
                    "days": int(mask.sum())})
    return out

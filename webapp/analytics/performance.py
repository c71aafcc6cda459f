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

from webapp.analytics.constants import CALL_TYPES, OPTION_TYPES
from webapp.analytics.errors import InsufficientHistory, NoPositions
from webapp.analytics.options import black_scholes_vector

PERIODS = ("1M", "3M", "YTD", "1Y")


@dataclass(frozen=True)
class ValueHistory:
    """Daily rows: value, market values, P&L and return (decimals), indexed by date."""

    frame: pd.DataFrame  # columns: equity, long_mv, short_mv, daily_pnl, daily_return, positions


def value_history(
    valued: pd.DataFrame,
    prices: pd.DataFrame,
    cash: float,
    as_of: dt.date | pd.Timestamp,
    rate_pct: float,
) -> ValueHistory:
    """Replay the valued holdings day by day.

    ``valued`` is ``exposures.value_holdings`` output; only its status ``ok`` rows are replayed.

    Position i on day t is worth V_it = quantity × multiplier × P_it from its first trading day
    on or after the entry date, 0 before, where P_it is the underlying's close carried forward
    over gaps (stocks) or the Black–Scholes value at that close (options); a missing close counts
    as 0. Book value V_t = Σ_i V_it + cash; flows_t = Σ quantity × entry price × multiplier of
    the positions entering on t; P&L_t = V_t − V_{t−1} − flows_t; return_t = P&L_t / V_{t−1}.
    long_mv/short_mv sum the positive/negative V_it; ``positions`` counts V_it ≠ 0.

    Parameters
    ----------
    valued : DataFrame
        ``exposures.value_holdings`` output: ``status, underlying, position_type, quantity,
        multiplier, entry_date, entry_price`` and, for options, ``strike, expiry, vol``.
    prices : DataFrame
        Wide adjusted closes ($ per share), DatetimeIndex ascending; its dates are the calendar.
    cash : float
        Cash balance ($), held constant.
    as_of : date or Timestamp
        Last day of the history.
    rate_pct : float
        Risk-free rate, percent per year, for the option values.

    Returns
    -------
    ValueHistory
        One row per trading day of ``prices`` from the first entry date to ``as_of``; dollars
        except ``daily_return`` (decimal) and ``positions`` (a count). The first row's P&L and
        return are NaN.

    Raises
    ------
    NoPositions
        No row of ``valued`` has status ``ok``.
    InsufficientHistory
        Fewer than two trading days from the first entry date to ``as_of``.
    """
    ok = valued[valued["status"] == "ok"]
    if ok.empty:
        raise NoPositions("no valued positions to build a history from")
    as_of = pd.Timestamp(as_of)
    start = pd.Timestamp(min(ok["entry_date"]))
    calendar = prices.index[(prices.index >= start) & (prices.index <= as_of)]
    if len(calendar) < 2:
        raise InsufficientHistory("fewer than two trading days since the first entry date")
    underlying = ok["underlying"].to_numpy(dtype=object)
    symbols = list(dict.fromkeys(underlying))
    # Closes carried forward within the calendar only (never from before the first entry).
    paths = prices[symbols].reindex(calendar).ffill().to_numpy(dtype=float)
    # Positions x days.
    per_share = np.ascontiguousarray(paths.T[pd.Index(symbols).get_indexer(underlying)])
    qm = np.array([float(q) * float(m) for q, m in zip(ok["quantity"], ok["multiplier"])])
    ptype = ok["position_type"].to_numpy(dtype=object)
    for i in np.flatnonzero(np.isin(ptype, OPTION_TYPES)):
        row = ok.iloc[i]
        days = (pd.Timestamp(row["expiry"]) - calendar).days.to_numpy()
        per_share[i] = black_scholes_vector(
            per_share[i],
            float(row["strike"]),
            rate_pct / 100.0,
            float(row["vol"]),
            days,
            ptype[i] in CALL_TYPES,
        )
    first = np.array(
        [calendar.searchsorted(pd.Timestamp(d), side="left") for d in ok["entry_date"]],
        dtype=np.intp,
    )
    held = np.arange(len(calendar))[None, :] >= first[:, None]
    mv = np.where(held, qm[:, None] * per_share, 0.0)
    mv[np.isnan(mv)] = 0.0
    # Sums over positions are sequential (rows of a C-ordered array, reduced along axis 0), and
    # the order is the one the former column-by-column frame summed in: the last position, then
    # the others in book order. Another order moves equity in its last bit, which daily P&L
    # (a difference of two equities) shows at ~1e-9 $; keeping it keeps stored results identical.
    mv = mv[np.r_[len(mv) - 1, 0 : len(mv) - 1]]
    flows = np.zeros(len(calendar))
    entered = first < len(calendar)
    cost = qm * np.array([float(e) for e in ok["entry_price"]])
    np.add.at(flows, first[entered], cost[entered])  # in book order, like flows[t] += cost
    equity = pd.Series(mv.sum(axis=0), index=calendar) + float(cash)
    pnl = equity.diff() - pd.Series(flows, index=calendar)
    pnl.iloc[0] = np.nan
    prev = equity.shift(1)
    frame = pd.DataFrame(
        {
            "equity": equity,
            "long_mv": np.where(mv >= 0, mv, 0.0).sum(axis=0),
            "short_mv": np.where(mv <= 0, mv, 0.0).sum(axis=0),
            "daily_pnl": pnl,
            "daily_return": pnl / prev,
            "positions": (mv != 0).sum(axis=0),
        },
        index=calendar,
    )
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


def period_returns(
    daily_returns: pd.Series, benchmark_returns: pd.Series, as_of: dt.date | pd.Timestamp
) -> list[dict]:
    """Compounded return Π(1 + r_t) − 1 over each period for the book and the benchmark.

    Uses the days after the period start up to ``as_of``. A period whose start comes more than
    five calendar days before the book's first return is reported with ``available: False``
    (reason ``insufficient_history``); the slack lets a start on a weekend or holiday count.

    Parameters
    ----------
    daily_returns, benchmark_returns : Series
        Daily simple returns (decimal) indexed by date; NaNs are dropped.
    as_of : date or Timestamp
        End of every period.

    Returns
    -------
    list of dict
        One per period of ``PERIODS`` (1M, 3M, YTD, 1Y): ``period, available, start`` and, when
        available, ``return``, ``benchmark_return``, ``excess_return`` (decimals) and ``days``.
    """
    as_of = pd.Timestamp(as_of)
    book = daily_returns.dropna()
    out = []
    for period in PERIODS:
        start = period_start(as_of, period)
        if book.empty or book.index[0] > start + pd.Timedelta(days=5):
            out.append(
                {
                    "period": period,
                    "available": False,
                    "reason": "insufficient_history",
                    "start": start.date().isoformat(),
                }
            )
            continue
        mask = (book.index > start) & (book.index <= as_of)
        bench = benchmark_returns[
            (benchmark_returns.index > start) & (benchmark_returns.index <= as_of)
        ]
        port = float((1 + book[mask]).prod() - 1)
        bm = float((1 + bench.dropna()).prod() - 1)
        out.append(
            {
                "period": period,
                "available": True,
                "start": start.date().isoformat(),
                "return": port,
                "benchmark_return": bm,
                "excess_return": port - bm,
                "days": int(mask.sum()),
            }
        )
    return out

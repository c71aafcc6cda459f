"""Time-weighted return index, money-weighted return (IRR) and trailing-period returns.

Conventions (DESIGN "Performance"):

- **Flow timing.** An external flow F_t (deposit +, withdrawal −, in dollars; trades, dividends and
  fees are not external flows) arrives at the *start* of day t, before that day's market move, so
  it earns day t's return: ``r_t = V_t / (V_{t−1} + F_t) − 1`` with V the end-of-day value. A flow
  dated on a non-trading day arrives at the start of the next trading day; a flow on or before
  the first day is already in the first day's value.
- **IRR signs.** The investor's view: money the investor puts in is negative (the starting value
  and deposits), money the investor gets back is positive (withdrawals and the ending value).
- **Periods** are anchored on trading days: a period starts at the close of the last trading day
  on or before ``as_of − period`` (YTD: the last trading day of the previous year) and ends at the
  close of the last trading day on or before ``as_of``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from webapp.analytics._common import json_date, json_float
from webapp.analytics.constants import (
    CALENDAR_DAYS_PER_YEAR,
    EMPTY_BOOK_RELATIVE,
    MIN_ANNUALISED_DAYS,
)
from webapp.analytics.errors import InsufficientHistory, IRRUndefined, NonPositiveEquity

PERIODS = ("1M", "3M", "YTD", "1Y", "3Y", "SI")
# Years a fixed period stands for: its cumulative return is annualised over these.
_PERIOD_YEARS = {"1Y": 1, "3Y": 3}
_PERIOD_OFFSETS = {
    "1M": pd.DateOffset(months=1),
    "3M": pd.DateOffset(months=3),
    "1Y": pd.DateOffset(years=1),
    "3Y": pd.DateOffset(years=3),
}
# The IRR root is searched for in log growth over the whole horizon, h = ln(1 + IRR) · T / 365:
# |h| <= 50 covers a book multiplying or dividing by e^50 over the period.
_IRR_LOG_GROWTH_BOUND = 50.0
_IRR_GRID_POINTS = 4001
# exp() of more than this overflows a float.
_MAX_EXP = 700.0


# ---------------------------------------------------------------------------------------------
# Time-weighted return
# ---------------------------------------------------------------------------------------------


def _flows_on_days(flows: pd.Series | None, days: pd.DatetimeIndex) -> np.ndarray:
    """External flows ($) summed per trading day of ``days`` (start-of-day arrival), first day 0."""
    out = np.zeros(len(days))
    if flows is None or len(flows) == 0:
        return out
    flows = pd.Series(flows, dtype=float)
    if flows.isna().any():
        raise ValueError("flows contain NaN")
    dates = pd.DatetimeIndex(pd.to_datetime(flows.index)).normalize()
    # First trading day on or after each flow's date: it arrives before that day's move.
    where = days.searchsorted(dates, side="left")
    late = where >= len(days)
    if late.any():
        bad = sorted({d.date().isoformat() for d in dates[late]})
        raise ValueError(f"flows dated after the last value date {days[-1].date()}: {bad}")
    np.add.at(out, where, flows.to_numpy())
    out[0] = 0.0  # flows up to the first day are already in its value
    return out


def _check_values(values: pd.Series) -> pd.Series:
    """Values as floats on an ascending, unique DatetimeIndex of at least one day."""
    values = pd.Series(values, dtype=float)
    values.index = pd.DatetimeIndex(pd.to_datetime(values.index)).normalize()
    if values.empty:
        raise InsufficientHistory("no portfolio values", available=0)
    if not values.index.is_monotonic_increasing or values.index.has_duplicates:
        raise ValueError("values must be indexed by ascending, unique trading days")
    if not np.isfinite(values.to_numpy()).all():
        bad = [d.date().isoformat() for d in values.index[~np.isfinite(values.to_numpy())]]
        raise ValueError(f"values must be finite; missing or infinite on {bad}")
    return values


def twr_returns(
    values: pd.Series, flows: pd.Series | None = None, *, timing: str = "start"
) -> pd.Series:
    """Daily time-weighted returns ``r_t = V_t / (V_{t−1} + F_t) − 1`` (decimal).

    With ``timing="end"`` flows arrive at the close instead: ``r_t = (V_t − F_t) / V_{t−1} − 1``
    (the base is the previous close). That is the ledger's convention (trades and flows are
    booked at the close): a sale withdrawn the same day is not a negative base, and a deposit at
    the close does not dilute that day's return.

    Parameters
    ----------
    values : Series
        End-of-day portfolio value ($) on each trading day, DatetimeIndex ascending, no NaN.
    flows : Series, optional
        External flows ($; deposits +, withdrawals −) indexed by date; several on one date add
        up. A flow dated on a non-trading day counts at the start of the next trading day; flows
        up to the first day are part of its value; a flow after the last day is an error.

    Returns
    -------
    Series
        ``twr_return`` on ``values``' dates from the second one on. A day that starts and ends
        with an empty book (|V_{t−1} + F_t| and |V_t| both ≤ 1e-9 × max(|V_{t−1}|, |F_t|), the
        rounding a full withdrawal leaves) returns 0: no capital was at work.

    Raises
    ------
    NonPositiveEquity
        A day's base V_{t−1} + F_t is ≤ 0 (within that tolerance; an empty day excepted): the
        return would be undefined or have its sign flipped. The message gives the date and the
        amounts.
    ValueError
        Values not finite or not on ascending unique dates; a flow is NaN or after the last day.
    InsufficientHistory
        ``values`` is empty.
    """
    if timing not in ("start", "end"):
        raise ValueError(f"timing must be 'start' or 'end', not {timing!r}")
    values = _check_values(values)
    v = values.to_numpy()
    f = _flows_on_days(flows, values.index)
    prev = np.r_[np.nan, v[:-1]]
    # Start of day: the flow joins the base. End of day: it leaves the closing value.
    base, end = (prev + f, v) if timing == "start" else (prev, v - f)
    # Relative, so that scaling every amount changes nothing (a fixed dollar floor would).
    tiny = EMPTY_BOOK_RELATIVE * np.maximum(np.abs(prev), np.abs(f))
    empty = (np.abs(base) <= tiny) & (np.abs(end) <= tiny)
    bad = np.flatnonzero(~empty[1:] & (base[1:] <= tiny[1:])) + 1
    if len(bad):
        t = int(bad[0])
        day = values.index[t].date().isoformat()
        how = (
            f"previous value {v[t - 1]:,.2f} + flow {f[t]:,.2f} = {base[t]:,.2f} $"
            if timing == "start"
            else f"previous value {v[t - 1]:,.2f} $ (flows at the close: {f[t]:,.2f} $)"
        )
        raise NonPositiveEquity(
            f"non-positive base on {day}: {how}; a time-weighted return needs capital at the "
            "start of the day",
            date=day,
            previous_value=float(v[t - 1]),
            flow=float(f[t]),
            base=float(base[t]),
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(empty, 0.0, end / base - 1.0)
    return pd.Series(r[1:], index=values.index[1:], name="twr_return")


def daily_twr(
    values: pd.Series, flows: pd.Series | None = None, *, timing: str = "start"
) -> pd.Series:
    """Time-weighted return index: 1.0 on the first day, then ``I_t = I_{t−1} · (1 + r_t)``.

    ``r_t = V_t / (V_{t−1} + F_t) − 1``: flows arrive at the start of the day, so a deposit is
    not growth (see `twr_returns` for the inputs, the empty-book rule and the errors).

    Parameters
    ----------
    values : Series
        End-of-day portfolio value ($) per trading day, DatetimeIndex ascending.
    flows : Series, optional
        External flows ($; deposits +, withdrawals −) by date.

    Returns
    -------
    Series
        ``twr_index`` (dimensionless, base 1.0) on every date of ``values``; the cumulative
        time-weighted return from the first close to day t is ``I_t − 1``.
    """
    r = twr_returns(values, flows, timing=timing)
    first = pd.Series([1.0], index=_check_values(values).index[:1])
    return pd.concat([first, (1.0 + r).cumprod()]).rename("twr_index")


# ---------------------------------------------------------------------------------------------
# Money-weighted return
# ---------------------------------------------------------------------------------------------


def _as_flow_list(dated_flows: pd.Series | Iterable | None) -> list[tuple[pd.Timestamp, float]]:
    """(date, amount) pairs from a Series (date -> $) or an iterable of pairs."""
    if dated_flows is None:
        return []
    items = dated_flows.items() if isinstance(dated_flows, pd.Series) else dated_flows
    out = [(pd.Timestamp(d).normalize(), float(a)) for d, a in items]
    if any(not math.isfinite(a) for _, a in out):
        raise ValueError("flows must be finite amounts")
    return out


def _investor_cash_flows(
    dated_flows: pd.Series | Iterable | None,
    start_value: float,
    start: pd.Timestamp,
    end_value: float,
    end: pd.Timestamp,
) -> tuple[np.ndarray, np.ndarray]:
    """Investor-signed cash flows ($) and their times as fractions of the horizon (0..1)."""
    horizon = (end - start).days
    if horizon <= 0:
        raise ValueError(f"end_date {end.date()} must be after start_date {start.date()}")
    flows = _as_flow_list(dated_flows)
    outside = sorted({d.date().isoformat() for d, _ in flows if d < start or d > end})
    if outside:
        raise ValueError(
            f"flows dated outside {start.date()}..{end.date()}: {outside} "
            "(a flow on the start date is already in start_value)"
        )
    inner = [(d, a) for d, a in flows if d > start]
    amounts = np.array([-float(start_value)] + [-a for _, a in inner] + [float(end_value)])
    days = np.array([0] + [(d - start).days for d, _ in inner] + [horizon], dtype=float)
    if not np.isfinite(amounts).all():
        raise ValueError("start_value and end_value must be finite")
    return amounts, days / horizon


def _npv_in_log_growth(h: float, amounts: np.ndarray, tau: np.ndarray) -> float:
    """Σ CF_i e^{−h τ_i}: the NPV at log growth h over the horizon (root = the IRR)."""
    return float(amounts @ np.exp(-h * tau))


def money_weighted_return(
    dated_flows: pd.Series | Iterable | None,
    start_value: float,
    start_date: dt.date | pd.Timestamp,
    end_value: float,
    end_date: dt.date | pd.Timestamp,
) -> float:
    """Annualised money-weighted return (IRR, ACT/365) of a period with external flows.

    Solves ``Σ_i CF_i (1 + r)^{−t_i / 365} = 0`` for r, with t_i the calendar days from
    ``start_date`` and the investor's signs: CF = −start_value at t = 0, −F_i for each external
    flow F_i (so a deposit is negative and a withdrawal positive), +end_value at the end. With
    h = ln(1 + r) · T / 365 (log growth over the T-day horizon) the equation becomes
    ``Σ_i CF_i e^{−h t_i / T} = 0``; a grid over |h| ≤ 50 brackets every sign change and
    ``scipy.optimize.brentq`` refines it. When alternating flows give several roots, the one
    nearest 0 % is returned.

    Parameters
    ----------
    dated_flows : Series or iterable of (date, amount), optional
        External flows ($; deposits +, withdrawals −). Flows on ``start_date`` are already in
        ``start_value`` (start-of-day arrival) and are skipped; flows on ``end_date`` count at
        t = T (they are in ``end_value`` too).
    start_value, end_value : float
        Portfolio value ($) at the close of ``start_date`` and ``end_date``.
    start_date, end_date : date or Timestamp
        The period; ``end_date`` must be later.

    Returns
    -------
    float
        r, decimal per year (0.10 = 10 % p.a.).

    Raises
    ------
    IRRUndefined
        All cash flows have one sign (or are zero), no root lies in the searched range, or the
        annualised rate overflows (a very short horizon).
    ValueError
        A flow outside the period, a non-finite amount, or ``end_date`` not after ``start_date``.
    """
    start, end = pd.Timestamp(start_date).normalize(), pd.Timestamp(end_date).normalize()
    amounts, tau = _investor_cash_flows(dated_flows, start_value, start, end_value, end)
    nonzero = amounts[amounts != 0.0]
    if len(nonzero) == 0 or (nonzero > 0).all() or (nonzero < 0).all():
        sign = "zero" if len(nonzero) == 0 else ("positive" if nonzero[0] > 0 else "negative")
        raise IRRUndefined(
            f"every investor cash flow is {sign}: no rate makes their present value zero "
            "(the IRR needs money in and money out)",
            cash_flows=[float(a) for a in amounts],
        )
    grid = np.linspace(-_IRR_LOG_GROWTH_BOUND, _IRR_LOG_GROWTH_BOUND, _IRR_GRID_POINTS)
    npv = np.exp(-np.outer(grid, tau)) @ amounts
    roots = list(grid[npv == 0.0])
    for i in np.flatnonzero(np.sign(npv[:-1]) * np.sign(npv[1:]) < 0):
        roots.append(
            brentq(_npv_in_log_growth, grid[i], grid[i + 1], args=(amounts, tau), xtol=1e-14)
        )
    if not roots:
        raise IRRUndefined(
            "no rate solves the IRR equation: the flows' present value keeps one sign between "
            f"a growth of e^-{_IRR_LOG_GROWTH_BOUND:g} and e^{_IRR_LOG_GROWTH_BOUND:g} over the "
            "period",
            cash_flows=[float(a) for a in amounts],
        )
    h = min(roots, key=abs)
    horizon = (end - start).days
    g = h * CALENDAR_DAYS_PER_YEAR / horizon
    if g > _MAX_EXP:
        raise IRRUndefined(
            f"the annualised rate overflows: a log growth of {h:.3g} over {horizon} days",
            log_growth=float(h),
            days=horizon,
        )
    return math.expm1(g)


# ---------------------------------------------------------------------------------------------
# Trailing periods
# ---------------------------------------------------------------------------------------------


def _last_on_or_before(days: pd.DatetimeIndex, when: pd.Timestamp) -> pd.Timestamp | None:
    """The last trading day on or before ``when`` (None when there is none)."""
    i = days.searchsorted(when, side="right")
    return days[i - 1] if i > 0 else None


def _period_anchor(period: str, as_of: pd.Timestamp, days: pd.DatetimeIndex, first: pd.Timestamp):
    """(start trading day or None, the calendar target it stands for)."""
    if period == "SI":
        return first, first
    if period == "YTD":
        target = pd.Timestamp(year=as_of.year - 1, month=12, day=31)
    else:
        target = as_of - _PERIOD_OFFSETS[period]
    return _last_on_or_before(days, target), target


def _unavailable(period: str, end: pd.Timestamp, reason: str, start=None) -> dict:
    """A period row with no return and the reason."""
    return {
        "period": period,
        "available": False,
        "reason": reason,
        "start": json_date(start),
        "end": json_date(end),
        "return": None,
        "annualized": None,
        "days": None,
        "calendar_days": None,
    }


def _annualised(period: str, total: float, calendar_days: int) -> tuple[float | None, str | None]:
    """Annualised return of a period (fixed years for 1Y/3Y, ACT/365 since inception)."""
    if period in _PERIOD_YEARS:
        return (1.0 + total) ** (1.0 / _PERIOD_YEARS[period]) - 1.0, None
    if period == "SI":
        if calendar_days < MIN_ANNUALISED_DAYS:
            return None, f"{calendar_days} calendar days: returns under a year are not annualised"
        return (1.0 + total) ** (CALENDAR_DAYS_PER_YEAR / calendar_days) - 1.0, None
    return None, None


def _period_row(period, index, as_of, days, end) -> dict:
    """One period's cumulative (and annualised) return from the TWR index."""
    first = index.index[0]
    start, target = _period_anchor(period, as_of, days, first)
    if start is None or start < first:
        return _unavailable(
            period,
            end,
            f"history starts {first.date()}; the period needs the close of "
            f"{(start or target).date()}",
            start=start or target,
        )
    total = float(index.loc[end] / index.loc[start] - 1.0)
    calendar_days = int((end - start).days)
    annualized, note = _annualised(period, total, calendar_days)
    row = {
        "period": period,
        "available": True,
        "reason": None,
        "start": json_date(start),
        "end": json_date(end),
        "return": json_float(total),
        "annualized": json_float(annualized),
        "days": int(((days > start) & (days <= end)).sum()),
        "calendar_days": calendar_days,
    }
    if note:
        row["annualized_reason"] = note
    return row


def period_returns(
    index: pd.Series,
    as_of: dt.date | pd.Timestamp,
    trading_days: pd.DatetimeIndex | Iterable,
) -> list[dict]:
    """Cumulative TWR over 1M, 3M, YTD, 1Y, 3Y and since inception (SI), anchored on trading days.

    For a period starting at the close of trading day s and ending at the close of e:
    ``return = I_e / I_s − 1`` (decimal), with I the TWR index (`daily_twr`). e is the last trading
    day on or before ``as_of``; s the last trading day on or before ``as_of − period`` (calendar
    months/years, clipped to month end: 31 Mar − 1M = 28 Feb), the last trading day of the
    previous year for YTD, the index's first day for SI.

    ``annualized``: 1Y ``(1 + R) − 1`` (= R) and 3Y ``(1 + R)^{1/3} − 1`` over their nominal
    years; SI ``(1 + R)^{365 / D} − 1`` over D calendar days (ACT/365, as the IRR), only when
    D ≥ 365 (shorter returns are not annualised); None for 1M, 3M, YTD.

    Parameters
    ----------
    index : Series
        TWR index (base 1.0 on its first day), DatetimeIndex ascending; days without a value
        take the last earlier one.
    as_of : date or Timestamp
        End of every period.
    trading_days : DatetimeIndex or iterable of dates
        The exchange calendar (e.g. the price dates); it anchors starts and ends.

    Returns
    -------
    list of dict
        One per period in ``PERIODS``: ``period, available, reason, start, end, return,
        annualized, days`` (return observations: trading days after start up to end) and
        ``calendar_days``. A period reaching before the index's first day has ``available``
        False, None values and a reason — never a shorter window under the longer name.

    Raises
    ------
    InsufficientHistory
        The index is empty, or has no value on or before the as-of trading day.
    """
    index = pd.Series(index, dtype=float).dropna().sort_index()
    index.index = pd.DatetimeIndex(pd.to_datetime(index.index)).normalize()
    days = pd.DatetimeIndex(pd.to_datetime(list(trading_days))).normalize().sort_values().unique()
    as_of = pd.Timestamp(as_of).normalize()
    end = _last_on_or_before(days, as_of)
    if index.empty or end is None or end < index.index[0]:
        raise InsufficientHistory(f"no index value on or before {as_of.date()}", available=0)
    if end > index.index[-1]:
        raise InsufficientHistory(
            f"the index ends {index.index[-1].date()}, before the as-of trading day {end.date()}",
            available=len(index),
        )
    index = index.reindex(index.index.union(days[(days >= index.index[0]) & (days <= end)]))
    index = index.ffill()
    return [_period_row(p, index, as_of, days, end) for p in PERIODS]

"""Risk-adjusted performance of a daily return series: Sharpe, Sortino, alpha/beta, Calmar,
best/worst month, hit rates and maximum drawdown, each with its formula ("show the math").

Conventions:

- **Risk-free rate.** The app stores the 13-week T-bill yield y in % per year per date. The
  daily rate is its geometric 252nd root, ``rf_t = (1 + y_t / 100)^{1/252} − 1``, with y_t the
  last yield published on or before day t. Excess return ``e_t = r_t − rf_t``.
- **Annualising** uses 252 trading days: ratios scale by √252, daily returns compound to
  ``(Π (1 + r_t))^{252 / n} − 1``, a daily alpha to ``(1 + α_d)^{252} − 1``.
- **Months** are calendar months; a month's return compounds its daily returns,
  ``Π_{t in m} (1 + r_t) − 1``. Only *complete* months count: every trading day of the month
  has a return and the month has ended (see `monthly_returns`).
- **Hit rate**: the share of complete months (and, separately, of days) whose return is > 0; a
  return of exactly 0 is not a hit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from webapp.analytics._common import json_date, json_float
from webapp.analytics.constants import (
    MIN_MONTH_OBSERVATIONS,
    MIN_RISK_OBSERVATIONS,
    TRADING_DAYS_PER_YEAR,
)
from webapp.analytics.errors import NoPrices
from webapp.analytics.risk import drawdown_series

_ROOT_YEAR = math.sqrt(TRADING_DAYS_PER_YEAR)
# A standard deviation below this (daily, decimal) is rounding noise: the ratio is undefined.
_TINY = 1e-15
_RF_FORMULA = "rf = (1 + y/100)^(1/252) - 1 (y = T-bill yield, % p.a.)"


@dataclass(frozen=True)
class Statistic:
    """One statistic: value, formula to show, observations used, and supporting numbers.

    ``value`` is None when the statistic cannot be computed; ``reason`` then says why.
    """

    name: str
    value: float | None
    formula: str
    observations: int
    reason: str | None = None
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready: ``name, available, value, formula, observations, reason, details``."""
        return {
            "name": self.name,
            "available": self.value is not None,
            "value": json_float(self.value),
            "formula": self.formula,
            "observations": self.observations,
            "reason": self.reason,
            "details": {k: _json_value(v) for k, v in self.details.items()},
        }


def _json_value(value: object) -> object:
    """Dates to ISO strings, numbers to finite floats or None; strings and ints as they are."""
    if isinstance(value, (pd.Timestamp, pd.Period)):
        return json_date(value) if isinstance(value, pd.Timestamp) else str(value)
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    return json_float(value)


def _missing(name: str, formula: str, observations: int, reason: str) -> Statistic:
    """A statistic that could not be computed, and why."""
    return Statistic(name, None, formula, observations, reason)


def _too_few(name: str, formula: str, n: int, required: int, what: str = "daily returns"):
    """A missing statistic when fewer than ``required`` observations, else None (go on)."""
    if n < required:
        return _missing(name, formula, n, f"{n} {what}; at least {required} needed")
    return None


def _clean(returns: pd.Series) -> pd.Series:
    """Float returns on an ascending DatetimeIndex, NaN dropped."""
    r = pd.Series(returns, dtype=float).dropna()
    r.index = pd.DatetimeIndex(pd.to_datetime(r.index))
    return r.sort_index()


# ---------------------------------------------------------------------------------------------
# Risk-free rate and excess returns
# ---------------------------------------------------------------------------------------------


def risk_free_daily(rate_annual_pct: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """Daily risk-free return ``(1 + y/100)^{1/252} − 1`` on each of ``dates`` (decimal).

    Parameters
    ----------
    rate_annual_pct : Series
        T-bill yield in % per year (3.688 = 3.688 %), indexed by publication date.
    dates : DatetimeIndex
        The return dates; each takes the last yield published on or before it.

    Returns
    -------
    Series
        ``rf`` on ``dates``.

    Raises
    ------
    NoPrices
        A date comes before the first published yield.
    """
    rates = _clean(rate_annual_pct)
    dates = pd.DatetimeIndex(dates)
    if rates.empty or (len(dates) and dates[0] < rates.index[0]):
        first = json_date(rates.index[0]) if len(rates) else None
        raise NoPrices(
            f"no risk-free rate on or before {json_date(dates[0])} (rates start {first})",
            first_rate=first,
        )
    y = rates.reindex(rates.index.union(dates)).ffill().reindex(dates)
    return ((1.0 + y / 100.0) ** (1.0 / TRADING_DAYS_PER_YEAR) - 1.0).rename("rf")


def excess_returns(returns: pd.Series, rate_annual_pct: pd.Series | None = None) -> pd.Series:
    """Daily excess returns ``r_t − rf_t`` (decimal); rf = 0 when no rate series is given."""
    r = _clean(returns)
    if rate_annual_pct is None:
        return r.rename("excess")
    return (r - risk_free_daily(rate_annual_pct, r.index)).rename("excess")


def _rf_note(rate_annual_pct: pd.Series | None) -> str:
    """How the risk-free rate entered a formula."""
    return _RF_FORMULA if rate_annual_pct is not None else "rf = 0 (no risk-free series given)"


# ---------------------------------------------------------------------------------------------
# Ratios
# ---------------------------------------------------------------------------------------------


def sharpe_ratio(
    returns: pd.Series,
    rate_annual_pct: pd.Series | None = None,
    *,
    min_observations: int = MIN_RISK_OBSERVATIONS,
) -> Statistic:
    """Annualised Sharpe ratio ``mean(e) / std(e, ddof=1) × √252`` of daily excess returns.

    Parameters
    ----------
    returns : Series
        Daily simple returns (decimal), DatetimeIndex; NaN dropped.
    rate_annual_pct : Series, optional
        T-bill yield, % p.a. (see `risk_free_daily`); rf = 0 without it.
    min_observations : int
        Fewest daily returns to compute from.

    Returns
    -------
    Statistic
        Dimensionless; None when too few returns or the excess returns do not vary.
    """
    formula = f"mean(r - rf) / std(r - rf, ddof=1) x sqrt(252); {_rf_note(rate_annual_pct)}"
    e = excess_returns(returns, rate_annual_pct)
    short = _too_few("sharpe_ratio", formula, len(e), min_observations)
    if short:
        return short
    mean, std = float(e.mean()), float(e.std(ddof=1))
    if std < _TINY:
        return _missing("sharpe_ratio", formula, len(e), "excess returns do not vary")
    details = {"mean_excess_daily": mean, "std_excess_daily": std}
    return Statistic("sharpe_ratio", mean / std * _ROOT_YEAR, formula, len(e), None, details)


def sortino_ratio(
    returns: pd.Series,
    rate_annual_pct: pd.Series | None = None,
    *,
    min_observations: int = MIN_RISK_OBSERVATIONS,
) -> Statistic:
    """Annualised Sortino ratio ``mean(e) / DD × √252``, DD = ``sqrt(mean(min(e, 0)²))``.

    The downside deviation is below a target of 0 excess return and averages over *all* n days
    (days above the target count as 0), as Sortino and Price define it.

    Parameters
    ----------
    returns : Series
        Daily simple returns (decimal); NaN dropped.
    rate_annual_pct : Series, optional
        T-bill yield, % p.a.; rf = 0 without it.
    min_observations : int
        Fewest daily returns to compute from.

    Returns
    -------
    Statistic
        Dimensionless; None when too few returns or no excess return is below 0.
    """
    formula = (
        "mean(r - rf) / sqrt(mean(min(r - rf, 0)^2)) x sqrt(252), the mean over all days; "
        + _rf_note(rate_annual_pct)
    )
    e = excess_returns(returns, rate_annual_pct)
    short = _too_few("sortino_ratio", formula, len(e), min_observations)
    if short:
        return short
    downside = float(np.sqrt(np.mean(np.minimum(e.to_numpy(), 0.0) ** 2)))
    if downside < _TINY:
        return _missing("sortino_ratio", formula, len(e), "no excess return below 0")
    mean = float(e.mean())
    details = {"mean_excess_daily": mean, "downside_deviation_daily": downside}
    return Statistic("sortino_ratio", mean / downside * _ROOT_YEAR, formula, len(e), None, details)


def alpha_beta(
    returns: pd.Series,
    benchmark: pd.Series,
    rate_annual_pct: pd.Series | None = None,
    *,
    min_observations: int = MIN_RISK_OBSERVATIONS,
) -> tuple[Statistic, Statistic]:
    """Jensen's alpha and beta: OLS ``r − rf = α_d + β (r_b − rf) + ε`` on common dates.

    ``β = cov(e_p, e_b) / var(e_b)``, ``α_d = mean(e_p) − β mean(e_b)`` (the OLS intercept, daily),
    reported annualised geometrically as ``(1 + α_d)^{252} − 1``.

    Parameters
    ----------
    returns, benchmark : Series
        Daily simple returns (decimal) of the portfolio and its benchmark; only dates both have
        are used.
    rate_annual_pct : Series, optional
        T-bill yield, % p.a.; rf = 0 without it.
    min_observations : int
        Fewest common dates.

    Returns
    -------
    (Statistic, Statistic)
        ``alpha`` (decimal per year; details: ``alpha_daily``, ``r_squared``) and ``beta``
        (dimensionless); None when too few common dates or the benchmark does not vary.
    """
    rf = _rf_note(rate_annual_pct)
    alpha_formula = f"(1 + a)^252 - 1, a = OLS intercept of (r - rf) on (r_b - rf); {rf}"
    beta_formula = f"OLS slope of (r - rf) on (r_b - rf) = cov / var(r_b - rf); {rf}"
    both = pd.concat([_clean(returns), _clean(benchmark)], axis=1, join="inner").dropna()
    n = len(both)
    short = _too_few("alpha", alpha_formula, n, min_observations, "common daily returns")
    if short:
        return short, _too_few("beta", beta_formula, n, min_observations, "common daily returns")
    rf_d = 0.0 if rate_annual_pct is None else risk_free_daily(rate_annual_pct, both.index)
    ep = (both.iloc[:, 0] - rf_d).to_numpy()
    eb = (both.iloc[:, 1] - rf_d).to_numpy()
    pc, bc = ep - ep.mean(), eb - eb.mean()
    sxx = float(bc @ bc)
    if sxx / max(n - 1, 1) < _TINY**2:
        reason = "benchmark excess returns do not vary"
        return (
            _missing("alpha", alpha_formula, n, reason),
            _missing("beta", beta_formula, n, reason),
        )
    beta = float(bc @ pc) / sxx
    alpha_d = float(ep.mean() - beta * eb.mean())
    resid = pc - beta * bc
    syy = float(pc @ pc)
    r2 = 1.0 - float(resid @ resid) / syy if syy > 0 else float("nan")
    alpha = Statistic(
        "alpha",
        (1.0 + alpha_d) ** TRADING_DAYS_PER_YEAR - 1.0,
        alpha_formula,
        n,
        None,
        {"alpha_daily": alpha_d, "r_squared": r2},
    )
    return alpha, Statistic("beta", beta, beta_formula, n, None, {"r_squared": r2})


# ---------------------------------------------------------------------------------------------
# Drawdown and Calmar
# ---------------------------------------------------------------------------------------------


def _drawdown_dates(frame: pd.DataFrame) -> dict:
    """Peak, trough and recovery dates of the deepest drawdown (None where not applicable)."""
    dd = frame["drawdown"]
    trough = dd.idxmin()
    peak_value = frame.at[trough, "peak"]
    upto = frame["value"].loc[:trough]
    at_peak = upto.index[upto.to_numpy() >= peak_value]
    after = frame["value"].loc[trough:]
    recovered = after.index[after.to_numpy() >= peak_value]
    return {
        # None: the peak is the starting value, the close before the first return.
        "peak_date": at_peak[-1] if len(at_peak) else None,
        "trough_date": trough,
        "recovery_date": recovered[0] if len(recovered) else None,
    }


def max_drawdown(returns: pd.Series) -> Statistic:
    """Deepest fall ``min_t (V_t / max_{s ≤ t} V_s − 1)`` of ``V = Π (1 + r)`` from a start of 1.

    Returns
    -------
    Statistic
        Negative decimal (−0.25 = −25 %) or 0; details ``peak_date`` (None when the peak is the
        starting value), ``trough_date``, ``recovery_date`` (None until recovered). None for an
        empty series.
    """
    formula = "min over t of V_t / max(V_s, s <= t) - 1, V = cumprod(1 + r) from 1.0"
    r = _clean(returns)
    if r.empty:
        return _missing("max_drawdown", formula, 0, "no daily returns")
    frame = drawdown_series(r)
    value = float(min(frame["drawdown"].min(), 0.0))
    if value == 0.0:
        details = {"peak_date": None, "trough_date": None, "recovery_date": None}
    else:
        details = _drawdown_dates(frame)
    return Statistic("max_drawdown", value, formula, len(r), None, details)


def annualised_return(returns: pd.Series) -> float:
    """``(Π (1 + r_t))^{252 / n} − 1`` over n daily returns (decimal per year; NaN if empty)."""
    r = _clean(returns)
    if r.empty:
        return float("nan")
    return float(np.prod(1.0 + r.to_numpy()) ** (TRADING_DAYS_PER_YEAR / len(r)) - 1.0)


def calmar_ratio(returns: pd.Series, *, min_observations: int = MIN_RISK_OBSERVATIONS) -> Statistic:
    """Calmar ratio: annualised return / |maximum drawdown| over the whole series.

    The annualised return is ``(Π (1 + r_t))^{252 / n} − 1``; the drawdown is `max_drawdown`'s.
    (The classic Calmar uses the last 36 months; here the window is the series given.)

    Returns
    -------
    Statistic
        Dimensionless; None when too few returns or no drawdown.
    """
    formula = "((prod(1 + r))^(252/n) - 1) / |max drawdown|"
    r = _clean(returns)
    short = _too_few("calmar_ratio", formula, len(r), min_observations)
    if short:
        return short
    mdd = max_drawdown(r).value
    if not mdd:
        return _missing("calmar_ratio", formula, len(r), "no drawdown: the ratio is unbounded")
    ann = annualised_return(r)
    details = {"annualized_return": ann, "max_drawdown": mdd}
    return Statistic("calmar_ratio", ann / abs(mdd), formula, len(r), None, details)


# ---------------------------------------------------------------------------------------------
# Months and hit rates
# ---------------------------------------------------------------------------------------------


def _complete_months(
    months: pd.PeriodIndex, dates: pd.DatetimeIndex, calendar: pd.DatetimeIndex, known: bool
) -> np.ndarray:
    """Mask of ``months`` whose every trading day has a return and which are over.

    All months at once (a loop over months cost ~1.5 ms each): per month, the calendar's days,
    how many of them carry a return, and the first of them.
    """
    cal_months = calendar.to_period("M")
    per_month = pd.DataFrame({"covered": calendar.isin(dates), "day": calendar}).groupby(cal_months)
    days = per_month["covered"].size().reindex(months, fill_value=0).to_numpy()
    covered = per_month["covered"].sum().reindex(months, fill_value=0).to_numpy()
    first_day = per_month["day"].min().reindex(months)
    starts = months.start_time
    ends = months.end_time.normalize()
    ok = (days > 0) & (covered == days)
    # Whether the calendar shows the month's first trading day: when it starts inside the month
    # (or is the series' own dates), its first weekday must be the first return.
    check_first = np.full(len(months), True) if not known else calendar[0] >= starts
    first_weekday = np.busday_offset(starts.values.astype("datetime64[D]"), 0, roll="forward")
    first_ok = first_day.to_numpy().astype("datetime64[D]") == first_weekday
    ok &= ~check_first | first_ok
    # Ended: the calendar goes past it, or no weekday of the month is left after its last day.
    last = np.datetime64(calendar[-1].date(), "D")
    remaining = np.busday_count(
        np.minimum(last + 1, ends.values.astype("datetime64[D]") + 1),
        ends.values.astype("datetime64[D]") + 1,
    )
    ok &= (calendar[-1] >= ends) | (remaining == 0)
    return np.asarray(ok, dtype=bool)


def monthly_returns(returns: pd.Series, calendar: pd.DatetimeIndex | None = None) -> pd.Series:
    """Complete calendar months' returns ``Π_{t in m} (1 + r_t) − 1`` (decimal), by month.

    A month is complete when every trading day of it has a return and it has ended. Trading days
    come from ``calendar`` (the exchange calendar, e.g. price dates); without one, the series'
    own dates stand in, and a month the series starts in counts only if its first return falls
    on the month's first weekday (a holiday there drops it: no partial month is ever counted).
    A month has ended when the calendar has a later day or no weekday of it remains.

    Parameters
    ----------
    returns : Series
        Daily simple returns (decimal), DatetimeIndex; NaN dropped.
    calendar : DatetimeIndex, optional
        Trading days.

    Returns
    -------
    Series
        Indexed by ``pandas.Period`` (monthly), ascending; partial months left out.
    """
    r = _clean(returns)
    if r.empty:
        return pd.Series(dtype=float, index=pd.PeriodIndex([], freq="M"), name="month_return")
    known = calendar is not None
    cal = pd.DatetimeIndex(calendar).sort_values() if known else r.index
    months = r.index.to_period("M")
    compounded = (1.0 + r).groupby(months).prod() - 1.0
    keep = _complete_months(pd.PeriodIndex(compounded.index), r.index, cal, known)
    return compounded[keep].rename("month_return")


def best_worst_month(
    returns: pd.Series,
    calendar: pd.DatetimeIndex | None = None,
    *,
    min_months: int = MIN_MONTH_OBSERVATIONS,
) -> tuple[Statistic, Statistic]:
    """Best and worst complete calendar month (decimal returns; details: the month, YYYY-MM)."""
    months = monthly_returns(returns, calendar)
    out = []
    for name, pick in (("best_month", "idxmax"), ("worst_month", "idxmin")):
        formula = f"{name.split('_')[0]} of prod(1 + r_t over the month) - 1, complete months"
        short = _too_few(name, formula, len(months), min_months, "complete months")
        if short:
            out.append(short)
            continue
        month = getattr(months, pick)()
        value = float(months[month])
        out.append(Statistic(name, value, formula, len(months), None, {"month": month}))
    return out[0], out[1]


def hit_rates(
    returns: pd.Series,
    calendar: pd.DatetimeIndex | None = None,
    *,
    min_months: int = MIN_MONTH_OBSERVATIONS,
    min_observations: int = MIN_RISK_OBSERVATIONS,
) -> tuple[Statistic, Statistic]:
    """Share of complete months, and of days, with a return > 0 (decimal, 0..1)."""
    months = monthly_returns(returns, calendar)
    r = _clean(returns)
    monthly_formula = "count(month return > 0) / count(complete months)"
    daily_formula = "count(r_t > 0) / count(days)"
    monthly = _too_few("hit_rate_monthly", monthly_formula, len(months), min_months, "months")
    if monthly is None:
        wins = int((months > 0).sum())
        monthly = Statistic(
            "hit_rate_monthly",
            wins / len(months),
            monthly_formula,
            len(months),
            None,
            {"positive": wins},
        )
    daily = _too_few("hit_rate_daily", daily_formula, len(r), min_observations)
    if daily is None:
        wins = int((r > 0).sum())
        daily = Statistic(
            "hit_rate_daily", wins / len(r), daily_formula, len(r), None, {"positive": wins}
        )
    return monthly, daily


# ---------------------------------------------------------------------------------------------
# All of them
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskAdjustedStats:
    """Every statistic of `risk_adjusted_stats`, in display order."""

    statistics: tuple[Statistic, ...]
    start: pd.Timestamp | None
    end: pd.Timestamp | None

    def get(self, name: str) -> Statistic:
        """The statistic called ``name`` (KeyError if absent)."""
        for stat in self.statistics:
            if stat.name == name:
                return stat
        raise KeyError(name)

    def to_dict(self) -> dict:
        """JSON-ready: ``start``, ``end`` and ``statistics`` (name -> `Statistic.to_dict`)."""
        return {
            "start": json_date(self.start),
            "end": json_date(self.end),
            "statistics": {s.name: s.to_dict() for s in self.statistics},
        }


def risk_adjusted_stats(
    returns: pd.Series,
    rate_annual_pct: pd.Series | None = None,
    benchmark: pd.Series | None = None,
    *,
    calendar: pd.DatetimeIndex | None = None,
    min_observations: int = MIN_RISK_OBSERVATIONS,
    min_months: int = MIN_MONTH_OBSERVATIONS,
) -> RiskAdjustedStats:
    """Sharpe, Sortino, alpha, beta, Calmar, max drawdown, best/worst month and hit rates.

    Parameters
    ----------
    returns : Series
        Daily simple returns (decimal), e.g. `twr.twr_returns`; NaN dropped.
    rate_annual_pct : Series, optional
        T-bill yield, % p.a. by date; rf = 0 without it.
    benchmark : Series, optional
        Benchmark daily returns (e.g. `benchmarks.benchmark_returns`); no alpha/beta without.
    calendar : DatetimeIndex, optional
        Trading days, to tell complete months (see `monthly_returns`).
    min_observations, min_months : int
        Fewest daily returns / complete months a statistic is computed from.

    Returns
    -------
    RiskAdjustedStats
        Each statistic with value, formula and observation count, or None and a reason.

    Raises
    ------
    NoPrices
        A return date precedes the first risk-free rate.
    """
    r = _clean(returns)
    stats = [
        sharpe_ratio(r, rate_annual_pct, min_observations=min_observations),
        sortino_ratio(r, rate_annual_pct, min_observations=min_observations),
    ]
    if benchmark is not None:
        stats.extend(alpha_beta(r, benchmark, rate_annual_pct, min_observations=min_observations))
    stats.append(calmar_ratio(r, min_observations=min_observations))
    stats.append(max_drawdown(r))
    stats.extend(best_worst_month(r, calendar, min_months=min_months))
    stats.extend(hit_rates(r, calendar, min_months=min_months, min_observations=min_observations))
    start, end = (r.index[0], r.index[-1]) if len(r) else (None, None)
    return RiskAdjustedStats(statistics=tuple(stats), start=start, end=end)

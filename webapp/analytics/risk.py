"""Backcast portfolio returns, risk metrics vs SPY, and Euler risk contributions.

The backcast (DESIGN "Methodology") holds today's dollar exposures fixed and replays history:
``P&L_t = Σ_i E_i r_i,t`` and ``return_t = P&L_t / equity``, so it works from day one, before any
snapshot exists.

Missing data: a backcast day is used only when *every* exposed symbol has a return that day
(complete cases). Treating a missing return as a zero P&L would understate risk silently, so it
is never done; `backcast_coverage` says how many days that costs and which symbols cause it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from webapp.analytics._common import check_positive_equity, clean_exposures, json_date, json_float
from webapp.analytics.constants import (
    BENCHMARK_SYMBOL,
    MIN_RISK_OBSERVATIONS,
    TRADING_DAYS_PER_YEAR,
)
from webapp.analytics.errors import InsufficientHistory, InsufficientOverlap, NoPrices
from webapp.analytics.returns import window_shortfall
from webapp.analytics.var import FULL_REVALUATION_METHOD, historical_var_es

DEFAULT_CONFIDENCE = (0.95, 0.99)

ANNUALISATION = math.sqrt(TRADING_DAYS_PER_YEAR)
# A tracking error below this (annualised, decimal) is rounding noise: no information ratio.
_TINY = 1e-12


# ---------------------------------------------------------------------------------------------
# Backcast
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BackcastCoverage:
    """What the complete-case rule keeps of a returns window.

    Attributes
    ----------
    dates_available : rows of the returns frame given.
    dates_used : rows where every exposed symbol (that has any price) has a return.
    start, end : first and last used date (None when none).
    no_prices : exposed symbols with no return at all in the frame (they cannot be modelled;
        drop them from the exposures, list them, and call again).
    missing_days : symbol -> rows on which it lacks a return (symbols with at least one gap).
    """

    dates_available: int
    dates_used: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    no_prices: tuple[str, ...]
    missing_days: dict[str, int]

    def to_dict(self) -> dict:
        """JSON-ready copy of the attributes."""
        return {
            "method": "days on which every exposed symbol has a return (complete cases)",
            "dates_available": self.dates_available,
            "dates_used": self.dates_used,
            "start": json_date(self.start),
            "end": json_date(self.end),
            "no_prices": list(self.no_prices),
            "missing_days": dict(self.missing_days),
        }


def backcast_coverage(exposures: pd.Series, returns: pd.DataFrame) -> BackcastCoverage:
    """Report, without raising, how much of ``returns`` the backcast of ``exposures`` can use."""
    exposures = clean_exposures(exposures)
    frame = returns.reindex(columns=exposures.index)
    present = frame.notna()
    no_prices = tuple(str(s) for s in frame.columns[~present.any(axis=0).to_numpy()])
    usable = frame.loc[:, present.any(axis=0).to_numpy()]
    used = (
        usable.index[usable.notna().all(axis=1).to_numpy()] if usable.shape[1] else usable.index[:0]
    )
    missing = usable.isna().sum()
    return BackcastCoverage(
        dates_available=len(frame),
        dates_used=len(used),
        start=used[0] if len(used) else None,
        end=used[-1] if len(used) else None,
        no_prices=no_prices,
        missing_days={str(s): int(n) for s, n in missing.items() if n > 0},
    )


def modelled_exposures(
    exposures: pd.Series,
    returns: pd.DataFrame,
    *,
    min_observations: int = MIN_RISK_OBSERVATIONS,
) -> tuple[pd.Series, tuple[dict, ...]]:
    """The exposures a returns window can model, and the symbols it cannot, with reasons.

    Parameters
    ----------
    exposures : Series, symbol -> signed delta-adjusted exposure ($).
    returns : DataFrame (date x symbol), daily simple returns of the window.
    min_observations : a symbol with fewer returns than this in the window is left out, default
        20: kept, it would cut the complete-case backcast below what a risk figure needs.

    Returns
    -------
    (modelled, left_out)
        ``modelled`` is ``exposures`` without the left-out symbols (same order, zero exposures
        dropped); ``left_out`` holds ``{symbol, exposure, reason, detail, nobs}`` with reason
        ``no_prices`` (no return in the window) or ``insufficient_history``.
    """
    exposures = clean_exposures(exposures)
    counts = returns.reindex(columns=exposures.index).notna().sum()
    left_out = []
    for symbol, exposure in exposures.items():
        n = int(counts[symbol])
        if n >= min_observations:
            continue
        reason = NoPrices.reason if n == 0 else InsufficientHistory.reason
        detail = (
            f"no return for {symbol} in the {len(returns)}-day window"
            if n == 0
            else f"{n} returns for {symbol} in the window, fewer than {min_observations}"
        )
        left_out.append(
            {
                "symbol": str(symbol),
                "exposure": float(exposure),
                "reason": reason,
                "detail": detail,
                "nobs": n,
            }
        )
    dropped = [x["symbol"] for x in left_out]
    return exposures.drop(dropped), tuple(left_out)


def exposure_coverage(
    modelled: pd.Series, exposures: pd.Series, unvalued_gross: float = 0.0
) -> float:
    """Share of gross exposure a result models: ``Σ|E_modelled| / (Σ|E_all| + G_unvalued)``.

    ``exposures`` are the signed delta-adjusted exposures ($) of every valued symbol,
    ``modelled`` the subset the result used, ``unvalued_gross`` the dollars (>= 0) of positions
    the valuation could not price (they have no exposure, but they are part of the book).
    1.0 when everything is modelled; NaN when the book has no gross exposure at all.
    """
    total = float(pd.Series(exposures, dtype=float).abs().sum()) + float(unvalued_gross)
    if not total > 0:
        return float("nan")
    return float(pd.Series(modelled, dtype=float).abs().sum()) / total


def observations_reason(
    window: pd.DataFrame, coverage: BackcastCoverage, lookback_days: int
) -> str | None:
    """Why the backcast uses fewer than ``lookback_days`` dates (None when it uses them all).

    Either the history is shorter than the window (`window_shortfall`), or some days lack a
    return for a modelled symbol and the complete-case rule drops them.
    """
    short = window_shortfall(window, lookback_days)
    if short is not None:
        return short
    if coverage.dates_used < coverage.dates_available:
        gaps = ", ".join(f"{s} ({n})" for s, n in coverage.missing_days.items())
        lost = coverage.dates_available - coverage.dates_used
        return f"{lost} days lack a return for {gaps}; only days with every return are used"
    return None


def _exposed_returns(exposures: pd.Series, returns: pd.DataFrame) -> pd.DataFrame:
    """Returns of the exposed symbols on the dates where all of them have one (ascending)."""
    frame = returns.reindex(columns=exposures.index).sort_index()
    empty = [str(s) for s in frame.columns[frame.isna().all(axis=0).to_numpy()]]
    if empty:
        raise NoPrices(f"no returns for {empty}", symbols=empty)
    complete = frame.dropna(how="any")
    if complete.empty:
        raise InsufficientHistory("no date on which every exposed symbol has a return", available=0)
    return complete.astype(float)


def backcast_pnl(exposures: pd.Series, returns: pd.DataFrame) -> pd.Series:
    """Daily backcast P&L in dollars: ``P&L_t = Σ_i E_i r_i,t``.

    Parameters
    ----------
    exposures : Series, symbol -> signed dollar exposure (delta-adjusted, per underlying).
    returns : DataFrame (date x symbol), daily simple returns; pass the window you want.

    Returns
    -------
    Series named ``"pnl"`` (dollars) on the dates where *every* exposed symbol has a return;
    other dates are dropped, never zero-filled (see `backcast_coverage`).

    Raises
    ------
    NoPositions
        No non-zero exposure.
    NoPrices
        An exposed symbol has no return in ``returns`` (details: ``symbols``).
    InsufficientHistory
        No date has returns for every exposed symbol.
    """
    exposures = clean_exposures(exposures)
    frame = _exposed_returns(exposures, returns)
    pnl = frame.to_numpy() @ exposures[frame.columns].to_numpy()
    return pd.Series(pnl, index=frame.index, name="pnl")


def backcast_returns(exposures: pd.Series, returns: pd.DataFrame, *, equity: float) -> pd.Series:
    """Daily backcast portfolio return (decimal): ``backcast_pnl / equity``.

    Same dates and errors as ``backcast_pnl``, plus ``ValueError`` unless equity is positive and
    finite.
    """
    equity = check_positive_equity(equity)
    return (backcast_pnl(exposures, returns) / equity).rename("return")


# ---------------------------------------------------------------------------------------------
# Risk metrics
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VaREstimate:
    """One-day loss estimates at one confidence level; positive numbers are losses.

    ``historical_var = -quantile(r, 1 - c)`` (numpy ``linear``); ``expected_shortfall = -mean(r |
    r <= quantile)`` on the delta-only backcast (options as delta-adjusted stock);
    ``parametric_var = z_c · σ`` (delta-normal, mean taken as 0). ``historical_full_var`` and
    ``expected_shortfall_full`` are the same quantile and mean on the full-revaluation returns
    (`var.full_revaluation_pnl` / equity), None when not computed. Decimal fractions of equity;
    the ``_dollars`` twins are × equity.
    """

    confidence: float
    historical_var: float
    expected_shortfall: float
    parametric_var: float
    z: float
    historical_var_dollars: float
    expected_shortfall_dollars: float
    parametric_var_dollars: float
    historical_full_var: float | None = None
    expected_shortfall_full: float | None = None
    historical_full_var_dollars: float | None = None
    expected_shortfall_full_dollars: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready: ``{confidence, z, historical, expected_shortfall, parametric}``.

        Each is ``{return, dollars}`` (decimal loss, and that × equity in $); ``historical``
        and ``expected_shortfall`` are delta-only. With a full revaluation,
        ``historical_full`` and ``expected_shortfall_full`` are added in the same shape.
        """
        out = {
            "confidence": self.confidence,
            "z": json_float(self.z),
            "historical": _pair(self.historical_var, self.historical_var_dollars),
            "expected_shortfall": _pair(self.expected_shortfall, self.expected_shortfall_dollars),
            "parametric": _pair(self.parametric_var, self.parametric_var_dollars),
        }
        if self.historical_full_var is not None:
            out["historical_full"] = _pair(
                self.historical_full_var, self.historical_full_var_dollars
            )
            out["expected_shortfall_full"] = _pair(
                self.expected_shortfall_full, self.expected_shortfall_full_dollars
            )
        return out


def _pair(fraction: float | None, dollars: float | None) -> dict:
    """``{return, dollars}`` with NaN -> None."""
    return {"return": json_float(fraction), "dollars": json_float(dollars)}


@dataclass(frozen=True)
class BenchmarkStats:
    """Portfolio vs benchmark on their common dates (decimal returns; annualised with 252).

    beta = OLS slope of r_p on r_b (with intercept), alpha_daily its intercept, r_squared its R²
    (= correlation²); tracking_error = std(r_p - r_b, ddof=1)·√252; information_ratio =
    mean(r_p - r_b)·252 / tracking_error (None when TE < 1e-12); up/down capture =
    mean(r_p) / mean(r_b) over the days with r_b > 0 / r_b < 0 (arithmetic means; None when there
    is no such day).
    """

    symbol: str
    nobs: int
    start: pd.Timestamp
    end: pd.Timestamp
    beta: float
    alpha_daily: float
    r_squared: float
    correlation: float
    tracking_error: float
    information_ratio: float | None
    up_capture: float | None
    down_capture: float | None
    benchmark_volatility_annual: float

    def to_dict(self) -> dict:
        """JSON-ready copy of the attributes (dates ISO, NaN -> None)."""
        return {
            "symbol": self.symbol,
            "nobs": self.nobs,
            "start": json_date(self.start),
            "end": json_date(self.end),
            "beta": json_float(self.beta),
            "alpha_daily": json_float(self.alpha_daily),
            "r_squared": json_float(self.r_squared),
            "correlation": json_float(self.correlation),
            "tracking_error": json_float(self.tracking_error),
            "information_ratio": json_float(self.information_ratio),
            "up_capture": json_float(self.up_capture),
            "down_capture": json_float(self.down_capture),
            "benchmark_volatility_annual": json_float(self.benchmark_volatility_annual),
        }


@dataclass(frozen=True, eq=False)
class RiskMetrics:
    """Risk of a daily return series (the backcast), with the series kept for charts.

    Returns are decimal fractions of equity; ``*_dollars`` are × equity. ``max_drawdown`` is
    negative (-0.185 = -18.5 %) or 0; its peak date is None when the peak is the starting value
    (before the first return of the window); recovery date None when not recovered.
    ``value`` = (1 + r).cumprod() (start 1.0, not listed), ``drawdown`` = value / running peak - 1.
    """

    equity: float
    nobs: int
    start: pd.Timestamp
    end: pd.Timestamp
    mean_daily_return: float
    volatility_daily: float
    volatility_annual: float
    volatility_annual_dollars: float
    max_drawdown: float
    max_drawdown_peak_date: pd.Timestamp | None
    max_drawdown_trough_date: pd.Timestamp | None
    max_drawdown_recovery_date: pd.Timestamp | None
    var: tuple[VaREstimate, ...]
    benchmark: BenchmarkStats | None
    returns: pd.Series
    value: pd.Series
    drawdown: pd.Series
    full_nobs: int | None = None

    def to_dict(self, *, include_series: bool = True) -> dict:
        """JSON-ready dict; ``series`` (dates, returns, value, drawdown lists) unless excluded."""
        out = {
            "method": (
                "volatility = std(ddof=1) x sqrt(252); max drawdown of (1+r).cumprod() from a "
                "start of 1.0; historical VaR (delta-only: the backcast with options as "
                "delta-adjusted exposure) = -quantile(r, 1-c) (numpy linear), ES = -mean(r <= "
                "that quantile); parametric VaR (delta-normal) = z_c x std (mean 0); 1-day horizon"
                + (f"; historical_full: {FULL_REVALUATION_METHOD}" if self.full_nobs else "")
            ),
            "equity": json_float(self.equity),
            "nobs": self.nobs,
            "start": json_date(self.start),
            "end": json_date(self.end),
            "mean_daily_return": json_float(self.mean_daily_return),
            "volatility_daily": json_float(self.volatility_daily),
            "annualized_volatility": json_float(self.volatility_annual),
            "annualized_volatility_dollars": json_float(self.volatility_annual_dollars),
            "max_drawdown": json_float(self.max_drawdown),
            "max_drawdown_peak_date": json_date(self.max_drawdown_peak_date),
            "max_drawdown_trough_date": json_date(self.max_drawdown_trough_date),
            "max_drawdown_recovery_date": json_date(self.max_drawdown_recovery_date),
            "portfolio_beta": json_float(self.benchmark.beta) if self.benchmark else None,
            "var": [v.to_dict() for v in self.var],
            "full_revaluation_nobs": self.full_nobs,
            "benchmark": self.benchmark.to_dict() if self.benchmark else None,
        }
        if include_series:
            out["series"] = {
                "dates": [json_date(d) for d in self.returns.index],
                "returns": [json_float(v) for v in self.returns.to_numpy()],
                "value": [json_float(v) for v in self.value.to_numpy()],
                "drawdown": [json_float(v) for v in self.drawdown.to_numpy()],
            }
        return out


def drawdown_series(returns: pd.Series) -> pd.DataFrame:
    """Compounded value and drawdown of a daily return series.

    ``value_t = Π_{s<=t} (1 + r_s)`` from a start of 1.0; ``peak_t = max(1.0, max_{s<=t} value_s)``
    (the starting 1.0 counts as a peak); ``drawdown_t = value_t / peak_t - 1`` (<= 0).
    Returns a DataFrame with columns ``value``, ``peak``, ``drawdown`` on the returns' dates;
    NaN returns are dropped first.
    """
    r = returns.dropna().astype(float)
    value = (1.0 + r).cumprod()
    peak = np.maximum(value.cummax(), 1.0)
    return pd.DataFrame({"value": value, "peak": peak, "drawdown": value / peak - 1.0})


def max_drawdown(returns: pd.Series) -> float:
    """Largest peak-to-trough fall of the compounded series (negative decimal, 0 if none)."""
    dd = drawdown_series(returns)["drawdown"]
    return float(min(dd.min(), 0.0)) if len(dd) else float("nan")


def _drawdown_dates(frame: pd.DataFrame) -> tuple:
    """Peak, trough and recovery dates of the deepest drawdown (None where not applicable)."""
    dd = frame["drawdown"]
    if dd.empty or dd.min() >= 0:
        return None, None, None
    trough = dd.idxmin()
    upto = frame["value"].loc[:trough]
    peak_value = frame.at[trough, "peak"]
    at_peak = upto.index[upto.to_numpy() >= peak_value]
    peak_date = at_peak[-1] if len(at_peak) else None  # None: the peak is the starting 1.0
    after = frame["value"].loc[trough:]
    recovered = after.index[after.to_numpy() >= peak_value]
    return peak_date, trough, recovered[0] if len(recovered) else None


def _benchmark_stats(r: pd.Series, bench: pd.Series, min_observations: int) -> BenchmarkStats:
    """OLS beta, tracking error, information ratio and capture ratios on common dates."""
    both = pd.concat([r.rename("p"), bench.rename("b")], axis=1, join="inner").dropna()
    if len(both) < min_observations:
        raise InsufficientOverlap(
            "not enough dates shared with the benchmark",
            required=min_observations,
            available=len(both),
        )
    p, b = both["p"].to_numpy(), both["b"].to_numpy()
    pc, bc = p - p.mean(), b - b.mean()
    sxx, sxy, syy = bc @ bc, bc @ pc, pc @ pc
    beta = sxy / sxx if sxx > 0 else float("nan")
    corr = sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")
    active = p - b
    te = float(active.std(ddof=1) * ANNUALISATION)
    up, down = b > 0, b < 0
    return BenchmarkStats(
        symbol=str(bench.name) if bench.name is not None else BENCHMARK_SYMBOL,
        nobs=len(both),
        start=both.index[0],
        end=both.index[-1],
        beta=float(beta),
        alpha_daily=float(p.mean() - beta * b.mean()),
        r_squared=float(corr**2),
        correlation=float(corr),
        tracking_error=te,
        information_ratio=float(active.mean() * TRADING_DAYS_PER_YEAR / te) if te > _TINY else None,
        up_capture=float(p[up].mean() / b[up].mean()) if up.any() else None,
        down_capture=float(p[down].mean() / b[down].mean()) if down.any() else None,
        benchmark_volatility_annual=float(b.std(ddof=1) * ANNUALISATION),
    )


def _var_estimate(
    r: np.ndarray, confidence: float, sigma: float, equity: float, full: np.ndarray | None
) -> VaREstimate:
    """Historical, expected-shortfall and parametric one-day VaR at ``confidence``.

    ``full`` (full-revaluation returns, decimal) adds the full-revaluation VaR/ES, by the same
    `historical_var_es` as the delta-only figures so the two differ only by their P&L.
    """
    var, es = historical_var_es(r, confidence)
    z = float(norm.ppf(confidence))
    extra = {}
    if full is not None:
        var_full, es_full = historical_var_es(full, confidence)
        extra = {
            "historical_full_var": var_full,
            "expected_shortfall_full": es_full,
            "historical_full_var_dollars": var_full * equity,
            "expected_shortfall_full_dollars": es_full * equity,
        }
    return VaREstimate(
        confidence=float(confidence),
        historical_var=var,
        expected_shortfall=es,
        parametric_var=z * sigma,
        z=z,
        historical_var_dollars=var * equity,
        expected_shortfall_dollars=es * equity,
        parametric_var_dollars=z * sigma * equity,
        **extra,
    )


def _require_returns(available: int, min_observations: int, what: str) -> None:
    """InsufficientHistory unless there are at least ``min_observations`` (and 2) returns."""
    if available < max(min_observations, 2):
        raise InsufficientHistory(
            f"not enough {what}", required=min_observations, available=available
        )


def risk_metrics(
    port_returns: pd.Series,
    bench_returns: pd.Series | None,
    *,
    equity: float,
    confidence: tuple[float, ...] = DEFAULT_CONFIDENCE,
    min_observations: int = MIN_RISK_OBSERVATIONS,
    full_returns: pd.Series | None = None,
) -> RiskMetrics:
    """Volatility, drawdown, VaR/ES and benchmark statistics of a daily return series.

    Parameters
    ----------
    port_returns : Series (date), daily portfolio returns as decimal fractions of equity (e.g.
        `backcast_returns` over the risk window, default 90 days). NaNs are dropped.
    bench_returns : Series (date) of benchmark (SPY) returns, or None to skip benchmark stats.
        Benchmark statistics use the dates both series share.
    equity : float, dollars (> 0): converts every return figure to dollars.
    confidence : VaR/ES confidence levels, default (0.95, 0.99).
    min_observations : minimum returns (and common dates with the benchmark), default 20.
    full_returns : Series (date), optional
        Full-revaluation daily returns of the same book (`var.full_revaluation_pnl` P&L /
        equity, decimal); adds ``historical_full_var`` and ``expected_shortfall_full`` to each
        `VaREstimate`, by the same quantile convention. NaNs are dropped; at least
        ``min_observations`` are needed.

    Formulas: ``σ = std(r, ddof=1)``, annualised ``σ·√252``; max drawdown per `drawdown_series`;
    ``VaR_c = -quantile(r, 1-c)`` (numpy ``linear``), ``ES_c = -mean(r | r <= quantile)``,
    ``parametric VaR_c = z_c·σ`` (mean assumed 0, per DESIGN); benchmark per `BenchmarkStats`.
    The full-revaluation VaR/ES use the same quantile and mean on ``full_returns``.

    Raises
    ------
    InsufficientHistory
        Fewer than ``min_observations`` returns.
    InsufficientOverlap
        Fewer than ``min_observations`` dates shared with the benchmark.
    """
    equity = check_positive_equity(equity)
    r = port_returns.dropna().astype(float).sort_index()
    _require_returns(len(r), min_observations, "portfolio returns for risk metrics")
    values = r.to_numpy()
    full = None
    if full_returns is not None:
        full = full_returns.dropna().astype(float).to_numpy()
        _require_returns(len(full), min_observations, "full-revaluation returns for VaR")
    sigma = float(values.std(ddof=1))
    frame = drawdown_series(r)
    peak_date, trough_date, recovery_date = _drawdown_dates(frame)
    bench = None
    if bench_returns is not None:
        bench = _benchmark_stats(r, bench_returns.astype(float), min_observations)
    return RiskMetrics(
        equity=equity,
        nobs=len(r),
        start=r.index[0],
        end=r.index[-1],
        mean_daily_return=float(values.mean()),
        volatility_daily=sigma,
        volatility_annual=sigma * ANNUALISATION,
        volatility_annual_dollars=sigma * ANNUALISATION * equity,
        max_drawdown=float(min(frame["drawdown"].min(), 0.0)),
        max_drawdown_peak_date=peak_date,
        max_drawdown_trough_date=trough_date,
        max_drawdown_recovery_date=recovery_date,
        var=tuple(_var_estimate(values, c, sigma, equity, full) for c in confidence),
        benchmark=bench,
        returns=r,
        value=frame["value"],
        drawdown=frame["drawdown"],
        full_nobs=None if full is None else len(full),
    )


# ---------------------------------------------------------------------------------------------
# Risk contributions
# ---------------------------------------------------------------------------------------------


def risk_contributions(exposures: pd.Series, returns: pd.DataFrame) -> pd.DataFrame:
    """Euler decomposition of the backcast's daily dollar volatility by symbol.

    ``σ_P = sqrt(Eᵀ Σ E)`` with ``Σ`` the sample covariance (ddof=1) of the exposed symbols'
    returns on the complete-case dates of ``returns`` (the backcast's dates, so ``σ_P`` equals
    ``backcast_pnl(...).std(ddof=1)``); ``marginal_i = (Σ E)_i / σ_P`` (dollars of σ per dollar
    of exposure); ``contribution_i = E_i · marginal_i`` (dollars, daily; they sum to ``σ_P``);
    ``pct_i = contribution_i / σ_P`` (fractions summing to 1; negative = the position hedges).

    Returns
    -------
    DataFrame indexed by symbol (exposure order) with columns ``exposure``, ``marginal``,
    ``contribution``, ``pct``.

    Raises
    ------
    NoPositions, NoPrices, InsufficientHistory
        As `backcast_pnl`; InsufficientHistory also for fewer than 2 dates or a zero σ_P.
    """
    exposures = clean_exposures(exposures)
    frame = _exposed_returns(exposures, returns)
    if len(frame) < 2:
        raise InsufficientHistory(
            "a covariance needs at least 2 dates", required=2, available=len(frame)
        )
    e = exposures[frame.columns].to_numpy()
    cov = np.atleast_2d(np.cov(frame.to_numpy(), rowvar=False, ddof=1))
    cov_e = cov @ e
    variance = float(e @ cov_e)
    if not variance > 0:
        raise InsufficientHistory("the backcast P&L has zero variance on this window")
    sigma = math.sqrt(variance)
    marginal = cov_e / sigma
    contribution = e * marginal
    return pd.DataFrame(
        {
            "exposure": e,
            "marginal": marginal,
            "contribution": contribution,
            "pct": contribution / sigma,
        },
        index=frame.columns,
    )

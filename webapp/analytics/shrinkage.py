"""Beta shrinkage (Blume, Vasicek) and a factor covariance estimated on stress periods.

Raw OLS betas over one 252-day window are noisy and extreme betas overshoot: a symbol whose raw
beta is 3 is more likely to have a true beta near 2 than near 4 (regression to the mean, Blume
1971, 1975). Extrapolated to a -30% market move, a raw beta of 3.1 gives -93%, where the real
March 2020 crash (SPY -33.7%) took AMD down about a third. The functions here pull betas toward
the cross-sectional centre, and estimate the factor covariance on the days that look like a
stress scenario rather than on a calm window.

Units: betas are dimensionless (per unit of market/factor return); standard errors are in beta
units; returns and covariances are daily decimals (decimal² for covariances).

All functions take and return numpy/pandas objects and never read a file or a clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from webapp.analytics._common import json_date
from webapp.analytics.constants import (
    DEFAULT_FACTOR_WINDOW,
    MIN_FACTOR_OBSERVATIONS,
)
from webapp.analytics.errors import InsufficientHistory

#: Blume (1971)'s published adjustment, the one Bloomberg's "adjusted beta" uses:
#: beta_adj = 1/3 + 2/3 * beta_raw (the prior is the market, beta = 1, with weight 1/3).
BLUME_INTERCEPT = 1.0 / 3.0
BLUME_SLOPE = 2.0 / 3.0

#: Default threshold for a "stress day" of the market: SPY down more than 2% in one day.
DEFAULT_STRESS_DAY_THRESHOLD = 0.02

DateLike = dt.date | str | pd.Timestamp


# ---------------------------------------------------------------------------------------------
# CAPM betas with standard errors (what Vasicek needs)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CapmFit:
    """Per-symbol CAPM regressions r_i = alpha_i + beta_i m + e_i over one window.

    Attributes
    ----------
    beta : Series (symbol), OLS slope on the market (dimensionless).
    se : Series (symbol), OLS standard error of the slope (beta units).
    alpha : Series (symbol), daily intercept (decimal per day).
    nobs : Series (symbol, int), dates used.
    start, end : first and last date of the window (the dates the fit saw).
    """

    beta: pd.Series
    se: pd.Series
    alpha: pd.Series
    nobs: pd.Series
    start: pd.Timestamp
    end: pd.Timestamp


def capm_fit(
    returns: pd.DataFrame,
    market: pd.Series,
    *,
    min_observations: int = MIN_FACTOR_OBSERVATIONS,
) -> CapmFit:
    """OLS market beta and its standard error for every column of ``returns``.

    Per symbol, on the dates where both the symbol and the market have a return (pairwise,
    so a missing day drops only that symbol's observation):

        beta_i = cov(r_i, m) / var(m)
        alpha_i = mean(r_i) - beta_i mean(m)
        s²_i = sum(e²) / (n - 2)
        se(beta_i) = sqrt(s²_i / sum((m - mean(m))²))

    Parameters
    ----------
    returns : DataFrame, shape (T, N)
        Daily simple returns (decimal), NaN where missing. The caller chooses the window.
    market : Series, shape (T,)
        Daily market (SPY) return on the same calendar.
    min_observations : int, default 60
        Symbols with fewer pairwise dates get NaN beta/se (never a beta from a handful of days).

    Returns
    -------
    CapmFit

    Raises
    ------
    InsufficientHistory
        The market has fewer than ``min_observations`` returns in the frame.
    """
    m_all = market.reindex(returns.index).astype(float)
    if int(m_all.notna().sum()) < min_observations:
        raise InsufficientHistory(
            "not enough market history for a CAPM fit",
            required=min_observations,
            available=int(m_all.notna().sum()),
        )
    Y = returns.to_numpy(dtype=float, na_value=np.nan)
    m = m_all.to_numpy()
    mask = np.isfinite(Y) & np.isfinite(m)[:, None]
    n = mask.sum(axis=0)
    Mx = np.where(mask, m[:, None], 0.0)
    Yx = np.where(mask, Y, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        m_bar = Mx.sum(axis=0) / n
        y_bar = Yx.sum(axis=0) / n
        dm = np.where(mask, m[:, None] - m_bar, 0.0)
        dy = np.where(mask, Y - y_bar, 0.0)
        sxx = (dm * dm).sum(axis=0)
        beta = (dm * dy).sum(axis=0) / sxx
        alpha = y_bar - beta * m_bar
        resid = np.where(mask, dy - beta * dm, 0.0)
        s2 = (resid * resid).sum(axis=0) / (n - 2)
        se = np.sqrt(s2 / sxx)
    short = n < min_observations
    beta[short], se[short], alpha[short] = np.nan, np.nan, np.nan
    idx = returns.columns
    dates = returns.index[np.isfinite(m)]
    return CapmFit(
        beta=pd.Series(beta, index=idx, name="beta"),
        se=pd.Series(se, index=idx, name="se"),
        alpha=pd.Series(alpha, index=idx, name="alpha"),
        nobs=pd.Series(n.astype(int), index=idx, name="nobs"),
        start=dates[0],
        end=dates[-1],
    )


# ---------------------------------------------------------------------------------------------
# Blume
# ---------------------------------------------------------------------------------------------


def blume_beta(
    raw_beta: pd.Series | np.ndarray,
    *,
    intercept: float = BLUME_INTERCEPT,
    slope: float = BLUME_SLOPE,
) -> pd.Series | np.ndarray:
    """Blume-adjusted beta: beta_adj = a + b * beta_raw.

    With the defaults a = 1/3, b = 2/3 (Blume 1971; Bloomberg's adjusted beta) the beta moves a
    third of the way toward 1, the market's beta: 1.0 stays 1.0, 3.1 becomes 2.40, 0.1 becomes
    0.40. ``fit_blume`` estimates (a, b) on the data instead.

    Parameters
    ----------
    raw_beta : Series or ndarray
        Raw OLS market betas (dimensionless); NaN stays NaN.
    intercept, slope : float
        a and b.

    Returns
    -------
    Same type and index as ``raw_beta``.
    """
    return intercept + slope * raw_beta


@dataclass(frozen=True)
class BlumeFit:
    """Coefficients of beta_next = a + b * beta_prev fitted across symbols and window pairs."""

    intercept: float
    slope: float
    pairs: int
    windows: int
    fitted: bool  # False = too little history: the defaults (1/3, 2/3) were returned

    def to_dict(self) -> dict:
        """JSON-ready ``{intercept, slope, pairs, windows, fitted}``."""
        return dataclasses.asdict(self)


def fit_blume(
    returns: pd.DataFrame,
    market: pd.Series,
    *,
    window: int = DEFAULT_FACTOR_WINDOW,
    min_observations: int = MIN_FACTOR_OBSERVATIONS,
) -> BlumeFit:
    """Blume's regression fitted on the data: beta(window k+1) on beta(window k), pooled.

    The history is cut, from its end backwards, into consecutive non-overlapping windows of
    ``window`` return dates (the oldest incomplete piece is dropped). Raw betas are fitted in each
    window (``capm_fit``); every symbol with a beta in two consecutive windows gives one pair
    (beta_prev, beta_next), and pooled OLS over all pairs gives

        beta_next = a + b * beta_prev,
        b = cov(prev, next) / var(prev),   a = mean(next) - b * mean(prev)

    b < 1 measures how much of a beta's deviation from the centre persists into the next window.
    With fewer than two windows (or fewer than 3 pairs) the published defaults are returned with
    ``fitted=False``: the caller must not mistake them for an estimate.

    Parameters
    ----------
    returns : DataFrame, shape (T, N)
        Daily simple returns of the symbols (decimal). Only the history the fit may use: for an
        out-of-sample test, only dates before the period being predicted.
    market : Series
        Daily market (SPY) return.
    window : int, default 252
        Length of each beta window (trading days).
    min_observations : int, default 60
        Fewest dates for a beta in a window.

    Returns
    -------
    BlumeFit
    """
    dates = returns.index[market.reindex(returns.index).notna().to_numpy()]
    n_windows = len(dates) // window
    betas = []
    for k in range(n_windows):  # oldest first
        lo = len(dates) - (n_windows - k) * window
        sel = dates[lo : lo + window]
        betas.append(
            capm_fit(returns.loc[sel], market, min_observations=min_observations).beta.to_numpy()
        )
    prev = np.concatenate(betas[:-1]) if n_windows >= 2 else np.array([])
    nxt = np.concatenate(betas[1:]) if n_windows >= 2 else np.array([])
    ok = np.isfinite(prev) & np.isfinite(nxt)
    if ok.sum() < 3:
        return BlumeFit(BLUME_INTERCEPT, BLUME_SLOPE, int(ok.sum()), n_windows, False)
    x, y = prev[ok], nxt[ok]
    slope = float(np.cov(x, y, ddof=1)[0, 1] / np.var(x, ddof=1))
    intercept = float(y.mean() - slope * x.mean())
    return BlumeFit(intercept, slope, int(ok.sum()), n_windows, True)


# ---------------------------------------------------------------------------------------------
# Vasicek
# ---------------------------------------------------------------------------------------------


def vasicek_beta(
    raw_beta: pd.Series | np.ndarray,
    se: pd.Series | np.ndarray,
    *,
    prior_mean: float | None = None,
    prior_var: float | None = None,
) -> pd.Series | np.ndarray:
    """Vasicek (1973) Bayesian beta: the raw beta shrunk toward the cross-sectional mean.

    With a normal prior beta ~ N(beta_bar, sigma²_cs) across symbols and a normal sampling error
    beta_raw | beta ~ N(beta, se²_i), the posterior mean is

        w_i = sigma²_cs / (sigma²_cs + se²_i)
        beta_V,i = w_i * beta_raw,i + (1 - w_i) * beta_bar

    A precisely estimated beta (small se) keeps most of its value; a noisy one moves toward the
    mean. By default the prior is estimated on the cross-section itself:
    ``beta_bar = mean(beta_raw)`` and ``sigma²_cs = var(beta_raw, ddof=1)`` over the finite betas
    (Vasicek's own choice; the sampling noise is not subtracted from sigma²_cs, which errs on the
    side of shrinking less).

    Parameters
    ----------
    raw_beta, se : Series or ndarray, same shape
        Raw OLS betas and their standard errors (e.g. ``capm_fit``). A NaN in either gives NaN.
    prior_mean, prior_var : float, optional
        Override the cross-sectional prior (e.g. beta_bar = 1, the market).

    Returns
    -------
    Same type and index as ``raw_beta``.

    Raises
    ------
    ValueError
        Fewer than 2 finite betas and no ``prior_var``; a negative prior variance or standard
        error.
    """
    b = np.asarray(raw_beta, dtype=float)
    s = np.asarray(se, dtype=float)
    if b.shape != s.shape:
        raise ValueError("raw_beta and se must have the same shape")
    ok = np.isfinite(b) & np.isfinite(s)
    if prior_var is None and ok.sum() < 2:
        raise ValueError("vasicek_beta needs at least 2 finite betas to estimate the prior")
    if (s[ok] < 0).any():
        raise ValueError("standard errors must be >= 0")
    mean = float(b[ok].mean()) if prior_mean is None else float(prior_mean)
    var = float(b[ok].var(ddof=1)) if prior_var is None else float(prior_var)
    if var < 0:
        raise ValueError("prior_var must be >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        # var = se = 0 (an exact fit with no dispersion) keeps the raw beta.
        w = np.where(var + s**2 > 0, var / (var + s**2), 1.0)
    out = np.where(ok, w * b + (1.0 - w) * mean, np.nan)
    if isinstance(raw_beta, pd.Series):
        return pd.Series(out, index=raw_beta.index, name=raw_beta.name)
    return out


def vasicek_factor_betas(betas: pd.DataFrame, t_stats: pd.DataFrame) -> pd.DataFrame:
    """Vasicek shrinkage of every factor's betas across symbols (``vasicek_beta`` per column).

    The standard error of beta_if is recovered from the regression's t-statistic,
    ``se_if = |beta_if / t_if|`` (``factors.FactorBetas.t_stats``), and each factor column is
    shrunk toward its own cross-sectional mean with its own cross-sectional variance:

        beta_V,if = w_if beta_if + (1 - w_if) mean_i(beta_if),
        w_if = var_i(beta_if) / (var_i(beta_if) + se_if²)

    Parameters
    ----------
    betas : DataFrame (symbol x factor), OLS loadings (dimensionless).
    t_stats : DataFrame (symbol x >= factors), t-statistics with at least ``betas``' columns;
        a NaN t-stat (exact fit) gives a NaN shrunk beta.

    Returns
    -------
    DataFrame, same shape, index and columns as ``betas``.
    """
    t = t_stats.reindex(index=betas.index, columns=betas.columns).astype(float)
    b = betas.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = (b / t).abs()
    return pd.DataFrame(
        {f: vasicek_beta(b[f], se[f]) for f in b.columns}, index=b.index, columns=b.columns
    )


# ---------------------------------------------------------------------------------------------
# Stressed factor covariance
# ---------------------------------------------------------------------------------------------


def stress_days(
    factor_returns: pd.DataFrame,
    stress_periods: Iterable[tuple[DateLike, DateLike]] = (),
    *,
    market_threshold: float | None = DEFAULT_STRESS_DAY_THRESHOLD,
    market_column: str = "Market",
) -> pd.Series:
    """Boolean mask of the stress days of ``factor_returns``.

    A date is a stress day when it lies inside one of ``stress_periods`` (``start < date <= end``:
    the return dated ``start`` ends at the episode's first close, so it is not part of it) or when
    the market's daily return is at or below ``-market_threshold``.

    Parameters
    ----------
    factor_returns : DataFrame (date x factor), daily decimals.
    stress_periods : iterable of (start, end), e.g. the historical episodes of scenarios.json.
    market_threshold : float or None, default 0.02
        Daily market fall (decimal, positive) that makes a day a stress day; None = periods only.
    market_column : str, default "Market"

    Returns
    -------
    Series of bool, index = ``factor_returns.index``.
    """
    idx = factor_returns.index
    mask = np.zeros(len(idx), dtype=bool)
    for start, end in stress_periods:
        mask |= (idx > pd.Timestamp(start)) & (idx <= pd.Timestamp(end))
    if market_threshold is not None:
        market = factor_returns[market_column].to_numpy(dtype=float)
        mask |= market <= -abs(market_threshold)
    return pd.Series(mask, index=idx, name="stress_day")


def stressed_covariance(
    factor_returns: pd.DataFrame,
    stress_periods: Iterable[tuple[DateLike, DateLike]] = (),
    *,
    market_threshold: float | None = DEFAULT_STRESS_DAY_THRESHOLD,
    blend: float = 1.0,
    calm_window: int = DEFAULT_FACTOR_WINDOW,
    market_column: str = "Market",
    min_observations: int = 20,
) -> pd.DataFrame:
    """Factor covariance estimated on stress days, optionally blended with the calm window.

        Sigma_stress = sample covariance (ddof=1) of the factor returns on the stress days
                       (``stress_days``: inside a stress period, or market <= -threshold)
        Sigma_calm   = sample covariance of the last ``calm_window`` dates
        Sigma        = blend * Sigma_stress + (1 - blend) * Sigma_calm

    Correlations rise in sell-offs (the spreads' relation to the market flips sign in some
    episodes), so the conditional expectation Sigma_us Sigma_ss^-1 s of a market-shock scenario
    is better taken from days that look like the scenario. A convex blend of two PSD matrices is
    PSD, so the result stays a valid covariance for any ``blend`` in [0, 1].

    Parameters
    ----------
    factor_returns : DataFrame (date x factor)
        Daily factor returns (decimal), e.g. ``factors.factor_returns``; rows with a NaN dropped.
        Pass only history up to the as-of date.
    stress_periods : iterable of (start, end)
        Date pairs, e.g. the ``replay`` start/end of scenarios.json's historical episodes.
    market_threshold : float or None, default 0.02
        See ``stress_days``.
    blend : float in [0, 1], default 1.0
        Weight of the stressed covariance (1 = stress days only, 0 = the calm window only).
    calm_window : int, default 252
        Dates in the calm (most recent) window.
    market_column : str, default "Market"
    min_observations : int, default 20
        Fewest stress days (and calm dates) a covariance is estimated from.

    Returns
    -------
    DataFrame (factor x factor), daily decimal².

    Raises
    ------
    ValueError
        ``blend`` outside [0, 1].
    InsufficientHistory
        Fewer than ``min_observations`` stress days (when blend > 0) or calm dates (blend < 1).
    """
    if not 0.0 <= blend <= 1.0:
        raise ValueError("blend must be within [0, 1]")
    f = factor_returns.astype(float).dropna(how="any").sort_index()
    cov = pd.DataFrame(0.0, index=f.columns, columns=f.columns)
    if blend > 0:
        mask = stress_days(
            f, stress_periods, market_threshold=market_threshold, market_column=market_column
        )
        stressed = f.loc[mask.to_numpy()]
        if len(stressed) < min_observations:
            raise InsufficientHistory(
                "not enough stress days for a covariance",
                required=min_observations,
                available=len(stressed),
            )
        cov += blend * stressed.cov(ddof=1)
    if blend < 1:
        calm = f.iloc[-calm_window:]
        if len(calm) < min_observations:
            raise InsufficientHistory(
                "not enough dates in the calm window",
                required=min_observations,
                available=len(calm),
            )
        cov += (1.0 - blend) * calm.cov(ddof=1)
    return cov


#: Weight of the stress-day covariance in the scenario covariance the stress engine uses. A
#: quarter: crashes are instantaneous shocks whose factor correlations are the stress days', but
#: the validation (``validation.py``) shows a pure stress-day covariance hurting slow bear
#: markets (2022) more than it helps the sharp sell-offs (2025), so the calm window keeps 3/4.
DEFAULT_STRESS_BLEND = 0.25


@dataclass(frozen=True, eq=False)
class ScenarioCovariance:
    """The factor covariance a stress run uses, and how it was estimated.

    ``method`` is ``"blend"`` (``blend`` x stress days + (1 - blend) x calm window) or
    ``"calm"`` (the calm window only: ``blend`` 0, or too few stress days, said in ``note``).
    """

    matrix: pd.DataFrame
    method: str
    blend: float
    stress_days: int
    calm_days: int
    market_threshold: float | None
    history_start: pd.Timestamp | None
    history_end: pd.Timestamp | None
    note: str = ""

    def to_dict(self) -> dict:
        """JSON-ready description (no matrix): method, blend, day counts, threshold, dates."""
        return {
            "method": self.method,
            "blend": self.blend,
            "stress_days": self.stress_days,
            "calm_days": self.calm_days,
            "market_threshold": self.market_threshold,
            "history_start": json_date(self.history_start),
            "history_end": json_date(self.history_end),
            "note": self.note,
        }


def scenario_covariance(
    factor_returns: pd.DataFrame,
    *,
    blend: float = DEFAULT_STRESS_BLEND,
    market_threshold: float | None = DEFAULT_STRESS_DAY_THRESHOLD,
    calm_window: int = DEFAULT_FACTOR_WINDOW,
    min_observations: int = 20,
) -> ScenarioCovariance:
    """``stressed_covariance`` with its provenance, falling back to the calm window.

        Sigma = blend * Sigma_stress + (1 - blend) * Sigma_calm

    where the stress days are every date of ``factor_returns`` (pass the whole history up to
    the as-of date) with the market down by at least ``market_threshold``, and the calm window
    its last ``calm_window`` dates. With fewer than ``min_observations`` stress days (a short
    history), Sigma is the calm window's covariance and ``note`` says why.

    Parameters
    ----------
    factor_returns : DataFrame (date x factor)
        Daily factor returns (decimal) up to the as-of date; rows with a NaN dropped.
    blend : float in [0, 1], default ``DEFAULT_STRESS_BLEND``
    market_threshold : float or None, default 0.02
    calm_window : int, default 252
    min_observations : int, default 20

    Returns
    -------
    ScenarioCovariance
        ``matrix`` in daily decimal².

    Raises
    ------
    InsufficientHistory
        Fewer than ``min_observations`` dates in the calm window.
    """
    f = factor_returns.astype(float).dropna(how="any").sort_index()
    n_stress = int(stress_days(f, market_threshold=market_threshold).sum())
    calm_days = min(len(f), calm_window)
    common = {
        "stress_days": n_stress,
        "calm_days": calm_days,
        "market_threshold": market_threshold,
        "history_start": f.index[0] if len(f) else None,
        "history_end": f.index[-1] if len(f) else None,
    }
    if blend > 0 and n_stress >= min_observations:
        matrix = stressed_covariance(
            f,
            market_threshold=market_threshold,
            blend=blend,
            calm_window=calm_window,
            min_observations=min_observations,
        )
        return ScenarioCovariance(matrix=matrix, method="blend", blend=blend, **common)
    matrix = stressed_covariance(
        f, blend=0.0, calm_window=calm_window, min_observations=min_observations
    )
    note = (
        f"only {n_stress} stress days in the history (fewer than {min_observations}): "
        "calm window only"
        if blend > 0
        else ""
    )
    return ScenarioCovariance(matrix=matrix, method="calm", blend=0.0, note=note, **common)


@dataclass(frozen=True)
class MoveShrinkage:
    """Blume's adjustment applied to a factor scenario's move of each underlying.

        move_i = a * m_Market + b * raw_i,   raw_i = sum_f beta_if m_f

    With only the market shocked, raw_i = beta_tot,i m (beta_tot the total market sensitivity
    through the factors' conditional moves), so move_i = (a + b beta_tot,i) m: Blume's adjusted
    beta. With other factors shocked the raw move is pulled a third of the way toward the
    market's (shocked or implied) move, as a beta of 1 would move. ``method="none"`` is a = 0,
    b = 1 (the raw move). Validated out of sample in ``validation.py``.
    """

    method: str = "blume"
    intercept: float = BLUME_INTERCEPT
    slope: float = BLUME_SLOPE

    def __post_init__(self) -> None:
        if self.method not in ("blume", "none"):
            raise ValueError(f"unknown move shrinkage {self.method!r} (blume or none)")

    @property
    def weights(self) -> tuple[float, float]:
        """(a, b) as applied: (0, 1) when ``method`` is ``"none"``."""
        return (self.intercept, self.slope) if self.method == "blume" else (0.0, 1.0)

    def apply(self, raw: np.ndarray | pd.Series, market_move: float) -> np.ndarray | pd.Series:
        """a * market_move + b * raw (same type as ``raw``; NaN stays NaN)."""
        a, b = self.weights
        return a * market_move + b * raw

    def describe(self) -> str:
        """The rule in words, for the method text."""
        if self.method == "none":
            return "no shrinkage (raw factor betas)"
        a, b = self.weights
        return (
            f"Blume shrinkage: move = {a:.3g} x market move + {b:.3g} x raw move "
            "(a beta of 3 under the market's move becomes "
            f"{a + 3 * b:.2f})"
        )

    def to_dict(self) -> dict:
        """JSON-ready ``{method, intercept, slope, rule}`` (the applied a and b)."""
        a, b = self.weights
        return {"method": self.method, "intercept": a, "slope": b, "rule": self.describe()}


NO_SHRINKAGE = MoveShrinkage(method="none")

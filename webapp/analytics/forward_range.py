"""Forward range: a Monte Carlo of today's book over the next 6 months and 1 year.

Where ``var`` asks what one past day would do to today's book, this asks where the book's value
may be after ``T`` trading days (126 ≈ 6 months, 252 ≈ 1 year) if the underlyings keep moving as
they did over the history window. Each of ``paths`` simulated paths accumulates every modelled
underlying's log return day by day::

    L_u(t) = sum_{d=1..t} x_u,d                     cumulative log return of underlying u

with the daily vector ``x_d = (x_u,d)_u`` drawn by one of two methods:

``bootstrap``
    a whole historical date drawn uniformly with replacement from the complete-case window
    (iid day bootstrap: the joint row keeps the cross-section's correlation and fat tails;
    no autocorrelation or vol clustering), ``x_u,d = ln(1 + r_u,date)``;
``parametric``
    multivariate normal ``x_d ~ N(mu, Sigma)`` with ``mu`` and ``Sigma`` the sample mean and
    covariance (ddof 1) of ``ln(1 + r)`` over the same window. The sum of ``k`` iid normal days
    is ``N(k mu, k Sigma)``, so a path is drawn one checkpoint interval at a time, exactly.

At each checkpoint ``t = step, 2 step, ..., max(horizons)`` and at every horizon, today's book
is revalued at the moved spots::

    stocks/ETFs   P&L_i(t) = E_i (exp(L_u(i)(t)) - 1)            E_i = delta-adjusted exposure ($)
    options       S_i(t)   = S_i exp(L_u(i)(t))                    $/share
                  T_i(t)   = T_i - t * 365 / 252                   calendar days to expiry
                  P&L_i(t) = qty_i mult_i (BS(S_i(t), K_i, r_f, sigma_i, T_i(t)) - V_i)
    book          P&L(t)   = sum_i P&L_i(t)                        $
    outcome       y(t)     = 100 P&L(t) / equity                   % of today's equity

with ``BS`` the Black-Scholes closed form (``options.black_scholes_vector``; intrinsic value at
or past expiry, so an option that expires before the horizon is worth its intrinsic value at
the moved spot afterwards), ``V_i`` its value today, ``sigma_i`` the vol the valuation used
(held constant), ``r_f`` the risk-free rate. Cash is held constant (no interest), so it only
dilutes the percentage. The bands are numpy ``linear`` percentiles of the outcomes across
paths, ``(5, 25, 50, 75, 95)``. With a loss limit ``l`` (a positive percentage, 15 = a 15%
loss) the breach probabilities at horizon ``T`` are::

    P(y(T) <= -l)                                 at the horizon
    P(min over checkpoints t <= T of y(t) <= -l)  at any checkpoint (monitored every ``step``)

so the second is never below the first. Memory is O(paths x underlyings): no array of every
day of every path is built.

Missing data follow the backcast's complete-case rule: a date is used only when every modelled
underlying has a return. Randomness comes only from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from webapp.analytics._common import json_date, json_float
from webapp.analytics.constants import CALENDAR_DAYS_PER_YEAR, TRADING_DAYS_PER_YEAR
from webapp.analytics.errors import (
    InsufficientHistory,
    NonPositiveEquity,
    NoPositions,
    NoPrices,
)
from webapp.analytics.options import black_scholes_vector
from webapp.analytics.revaluation import Book

#: Fewest complete-case history days a simulation draws from.
MIN_OBSERVATIONS = 60
#: Fewest paths accepted (a 5th percentile of fewer is a handful of paths).
MIN_PATHS = 100
#: Default horizons, trading days: 6 months and 1 year.
DEFAULT_HORIZONS: tuple[int, ...] = (126, 252)
#: Percentiles of the outcome shown in every band.
PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 95)
METHODS: tuple[str, ...] = ("bootstrap", "parametric")
#: Horizon labels; other horizons read "n trading days".
HORIZON_LABELS = {126: "6 months", 252: "1 year"}
#: Option pricing points per underlying and checkpoint (see ``_Revaluer``).
GRID_POINTS = 257
#: Fewer paths than this are priced path by path (the grid would not save work).
GRID_MIN_PATHS = 2000
#: Simple returns are floored here before the log (a -100% day would give ln 0 = -inf).
MIN_SIMPLE_RETURN = -1.0 + 1e-9

#: The simulation in words, for the result's ``description``.
FORWARD_RANGE_METHOD = (
    "Monte Carlo of today's book: each path accumulates the underlyings' daily log returns "
    "ln(1 + r), {draw}; at each checkpoint stocks P&L = delta-adjusted exposure x (exp(L) - 1), "
    "options P&L = qty x mult x (BS(S exp(L), K, r_f, sigma, days - t x 365/252) - BS today) "
    "with today's vol (intrinsic value at or past expiry); cash constant, no interest; "
    "outcome = P&L / equity x 100; bands = numpy linear percentiles across paths"
)
_DRAWS = {
    "bootstrap": "each day a whole historical date drawn with replacement (iid day bootstrap)",
    "parametric": "each day multivariate normal with the window's sample mean and covariance",
}


def horizon_label(days: int) -> str:
    """``"6 months"`` for 126 trading days, ``"1 year"`` for 252, else ``"n trading days"``."""
    if days in HORIZON_LABELS:
        return HORIZON_LABELS[days]
    return f"{days} trading day" + ("" if days == 1 else "s")


def _pkey(p: int) -> str:
    return f"p{p}"


def _json_pcts(values: dict[int, float]) -> dict[str, float | None]:
    return {_pkey(p): json_float(v) for p, v in values.items()}


@dataclass(frozen=True)
class Band:
    """The outcome's percentiles at one horizon.

    Attributes
    ----------
    horizon_days : trading days ahead.
    label : ``horizon_label(horizon_days)``.
    pct : percentile -> outcome in percentage points of today's equity (-12.0 = a 12% loss).
    dollars : percentile -> P&L in dollars.
    value : percentile -> account value in dollars, ``equity + dollars``.
    """

    horizon_days: int
    label: str
    pct: dict[int, float]
    dollars: dict[int, float]
    value: dict[int, float]

    def to_dict(self) -> dict:
        """JSON-ready: percentile keys as ``"p5"``, ``"p25"``, ..."""
        return {
            "horizon_days": self.horizon_days,
            "label": self.label,
            "pct": _json_pcts(self.pct),
            "dollars": _json_pcts(self.dollars),
            "value": _json_pcts(self.value),
        }


@dataclass(frozen=True)
class Checkpoint:
    """The outcome's percentiles (percentage points of equity) ``day`` trading days ahead."""

    day: int
    pct: dict[int, float]

    def to_dict(self) -> dict:
        """JSON-ready: ``{"day", "pct": {"p5": ...}}``."""
        return {"day": self.day, "pct": _json_pcts(self.pct)}


@dataclass(frozen=True)
class Breach:
    """Probabilities (0..1) of a loss at or beyond the limit by one horizon.

    ``at_horizon`` = P(outcome at the horizon <= -limit); ``any_checkpoint`` = P(outcome <=
    -limit at some checkpoint up to and including the horizon), >= ``at_horizon``.
    """

    horizon_days: int
    at_horizon: float
    any_checkpoint: float

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return {
            "horizon_days": self.horizon_days,
            "at_horizon": self.at_horizon,
            "any_checkpoint": self.any_checkpoint,
        }


@dataclass(frozen=True)
class ForwardRange:
    """The simulated range of the book's outcome over the horizons.

    Attributes
    ----------
    method : ``"bootstrap"`` or ``"parametric"``.
    paths, seed, step : the simulation's arguments (step in trading days).
    horizons : ascending trading-day horizons.
    observations : complete-case history days drawn from (or estimated on).
    window_start, window_end : first and last of those dates (ISO), None without a date index.
    start_equity : today's equity ($), positions and cash.
    rate_pct : risk-free rate of the option revaluation, percent per year.
    percentiles : the percentiles of every band and checkpoint.
    bands : one ``Band`` per horizon, ascending.
    path : one ``Checkpoint`` per checkpoint day (every ``step`` days and every horizon).
    loss_limit_pct : the loss limit (positive percent of equity), or None.
    breach : one ``Breach`` per horizon, None without a loss limit.
    options : modelled option positions.
    left_out : ``{position_id, symbol, reason}`` of the positions not modelled.
    """

    method: str
    paths: int
    seed: int
    step: int
    horizons: tuple[int, ...]
    observations: int
    window_start: str | None
    window_end: str | None
    start_equity: float
    rate_pct: float
    bands: tuple[Band, ...]
    path: tuple[Checkpoint, ...]
    loss_limit_pct: float | None
    breach: tuple[Breach, ...] | None
    options: int
    left_out: tuple[dict, ...]
    percentiles: tuple[int, ...] = field(default=PERCENTILES)

    def band(self, horizon_days: int) -> Band:
        """The band of one horizon.

        Raises
        ------
        KeyError
            ``horizon_days`` was not simulated.
        """
        for band in self.bands:
            if band.horizon_days == horizon_days:
                return band
        raise KeyError(f"no {horizon_days}-day horizon in this forward range")

    def to_dict(self) -> dict:
        """JSON-ready result (percentile keys ``"p5"``, ...; NaN as None)."""
        return {
            "method": self.method,
            "description": FORWARD_RANGE_METHOD.format(draw=_DRAWS[self.method]),
            "paths": self.paths,
            "seed": self.seed,
            "step": self.step,
            "horizons": list(self.horizons),
            "observations": self.observations,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "start_equity": self.start_equity,
            "rate_pct": self.rate_pct,
            "percentiles": [_pkey(p) for p in self.percentiles],
            "bands": [b.to_dict() for b in self.bands],
            "path": [c.to_dict() for c in self.path],
            "loss_limit_pct": self.loss_limit_pct,
            "breach": None if self.breach is None else [b.to_dict() for b in self.breach],
            "options": self.options,
            "left_out": list(self.left_out),
        }


def simulate(
    positions: pd.DataFrame,
    returns: pd.DataFrame,
    equity: float,
    *,
    method: str = "bootstrap",
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    step: int = 21,
    paths: int = 5000,
    seed: int = 0,
    rate_pct: float | None = None,
    loss_limit_pct: float | None = None,
) -> ForwardRange:
    """Simulate the book's P&L over trading-day horizons (formulas in the module docstring).

    Parameters
    ----------
    positions : DataFrame
        Indexed by position id, the columns ``var.full_revaluation_pnl`` reads: ``symbol,
        underlying, position_type, quantity, multiplier, market_value, exposure ($,
        delta-adjusted), underlying_price ($/share), delta, gamma``, for options ``strike``,
        ``vol`` (decimal per year), ``days_to_expiry`` (calendar days), optionally ``status``
        and ``rate_pct``.
    returns : DataFrame (date x symbol)
        Daily simple returns (decimal); the modelled underlyings' columns are read.
    equity : float
        Today's account equity ($), positions plus cash; the percentages divide by it.
    method : {"bootstrap", "parametric"}
        How a day's log returns are drawn.
    horizons : tuple of int
        Trading days ahead (126 ≈ 6 months, 252 ≈ 1 year); each must be positive.
    step : int
        Trading days between checkpoints of the fan chart and of the breach monitoring.
    paths : int
        Simulated paths, at least ``MIN_PATHS``.
    seed : int
        Seed of ``numpy.random.default_rng``: the same seed gives the same result.
    rate_pct : float, optional
        Risk-free rate, percent per year (default the ``rate_pct`` column, else 0).
    loss_limit_pct : float, optional
        A loss limit in percent of equity, positive (15 = a 15% loss), for ``breach``.

    Returns
    -------
    ForwardRange

    Raises
    ------
    NonPositiveEquity
        ``equity`` is not positive.
    NoPositions
        No position can be revalued.
    NoPrices
        A modelled underlying has no return in ``returns`` (details: ``symbols``).
    InsufficientHistory
        Fewer than ``MIN_OBSERVATIONS`` dates on which every modelled underlying has a return.
    ValueError
        Unknown ``method``, ``paths < MIN_PATHS``, a horizon or ``step`` not positive, or a
        loss limit not positive.
    """
    horizons = _check_arguments(method, horizons, step, paths, loss_limit_pct)
    if not equity > 0 or not math.isfinite(equity):
        raise NonPositiveEquity(f"equity must be positive, got {equity}", equity=json_float(equity))
    book = Book(positions, rate_pct=rate_pct)
    rows, left_out = _modelled(book)
    symbols = list(dict.fromkeys(book.underlyings[rows].tolist()))
    history = _history(symbols, returns)
    revaluer = _Revaluer(book, rows, symbols)
    draw = _Bootstrap(history.to_numpy()) if method == "bootstrap" else _Normal(history)
    rng = np.random.default_rng(seed)
    limit = None if loss_limit_pct is None else float(loss_limit_pct)

    cum = np.zeros((paths, len(symbols)))
    breached = np.zeros(paths, dtype=bool)
    done = 0
    path: list[Checkpoint] = []
    bands: list[Band] = []
    breach: list[Breach] = []
    for t in _checkpoints(horizons, step):
        draw.advance(cum, t - done, rng)
        done = t
        pnl = revaluer.pnl(cum, t)
        outcome = pnl / equity * 100.0
        path.append(Checkpoint(day=t, pct=_percentiles(outcome)))
        if limit is not None:
            breached |= outcome <= -limit
        if t in horizons:
            bands.append(_band(t, outcome, pnl, equity))
            if limit is not None:
                at = float(np.mean(outcome <= -limit))
                breach.append(Breach(t, at_horizon=at, any_checkpoint=float(breached.mean())))
    dated = isinstance(history.index, pd.DatetimeIndex)
    return ForwardRange(
        method=method,
        paths=paths,
        seed=seed,
        step=step,
        horizons=horizons,
        observations=len(history),
        window_start=json_date(history.index[0]) if dated else None,
        window_end=json_date(history.index[-1]) if dated else None,
        start_equity=float(equity),
        rate_pct=book.rate_pct,
        bands=tuple(bands),
        path=tuple(path),
        loss_limit_pct=limit,
        breach=None if limit is None else tuple(breach),
        options=int(book.is_option[rows].sum()),
        left_out=left_out,
    )


def _check_arguments(
    method: str,
    horizons: tuple[int, ...],
    step: int,
    paths: int,
    loss_limit_pct: float | None,
) -> tuple[int, ...]:
    """The horizons as an ascending tuple of distinct ints, after checking every argument."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if int(paths) != paths or paths < MIN_PATHS:
        raise ValueError(f"paths must be an integer >= {MIN_PATHS}, got {paths!r}")
    if int(step) != step or step < 1:
        raise ValueError(f"step must be a positive integer, got {step!r}")
    days = tuple(horizons)
    if not days or any(int(h) != h or h < 1 for h in days):
        raise ValueError(f"horizons must be positive integers, got {horizons!r}")
    if loss_limit_pct is not None and not loss_limit_pct > 0:
        raise ValueError(f"loss_limit_pct must be positive (15 = a 15% loss), got {loss_limit_pct}")
    return tuple(sorted({int(h) for h in days}))


def _modelled(book: Book) -> tuple[np.ndarray, tuple[dict, ...]]:
    """Rows that can be revalued, and the others with their reason."""
    reason = np.where(book.before_ok, book.after, book.before)
    no_exposure = book.before_ok & book.after_ok & book.is_stock & ~np.isfinite(book.exposure)
    reason[no_exposure] = "no_exposure"
    ok = np.equal(reason, None)
    left_out = tuple(
        {"position_id": book.ids[i], "symbol": book.symbol_list[i], "reason": str(reason[i])}
        for i in np.flatnonzero(~ok).tolist()
    )
    rows = np.flatnonzero(ok)
    if not len(rows):
        raise NoPositions("no position can be revalued")
    return rows, left_out


def _history(symbols: list, returns: pd.DataFrame) -> pd.DataFrame:
    """Complete-case daily log returns ``ln(1 + r)`` (dates x symbols, in ``symbols`` order)."""
    frame = returns.reindex(columns=symbols).sort_index()
    empty = [str(s) for s in frame.columns[frame.isna().all(axis=0).to_numpy()]]
    if empty:
        raise NoPrices(f"no returns for {empty}", symbols=empty)
    complete = frame.dropna(how="any").astype(float)
    if len(complete) < MIN_OBSERVATIONS:
        raise InsufficientHistory(
            f"{len(complete)} dates on which every modelled underlying has a return; the "
            f"forward range needs at least {MIN_OBSERVATIONS}",
            available=len(complete),
            required=MIN_OBSERVATIONS,
        )
    return np.log1p(complete.clip(lower=MIN_SIMPLE_RETURN))


def _checkpoints(horizons: tuple[int, ...], step: int) -> list[int]:
    """Every multiple of ``step`` up to the longest horizon, and every horizon, ascending."""
    return sorted(set(range(step, horizons[-1] + 1, step)) | set(horizons))


class _Bootstrap:
    """iid day bootstrap: each day of each path is a whole date of the history, drawn uniformly."""

    def __init__(self, log_returns: np.ndarray) -> None:
        self.x = np.ascontiguousarray(log_returns)

    def advance(self, cum: np.ndarray, days: int, rng: np.random.Generator) -> None:
        """Add ``days`` drawn days to every path's cumulative log returns, in place."""
        n, paths = len(self.x), len(cum)
        for _ in range(days):
            cum += self.x[rng.integers(0, n, size=paths)]


class _Normal:
    """Multivariate normal days: ``k`` days at once are ``N(k mu, k Sigma)``."""

    def __init__(self, log_returns: pd.DataFrame) -> None:
        x = log_returns.to_numpy()
        self.mu = x.mean(axis=0)
        cov = np.atleast_2d(np.cov(x, rowvar=False, ddof=1))
        # A factor A with A A' = Sigma: the symmetric eigendecomposition, negative rounding
        # eigenvalues set to 0, so a singular Sigma (collinear or duplicated series) still works.
        vals, vecs = np.linalg.eigh(cov)
        self.factor = vecs * np.sqrt(np.clip(vals, 0.0, None))

    def advance(self, cum: np.ndarray, days: int, rng: np.random.Generator) -> None:
        """Add the sum of ``days`` normal days to every path's cumulative log returns."""
        z = rng.standard_normal(cum.shape)
        cum += days * self.mu + math.sqrt(days) * (z @ self.factor.T)


class _Revaluer:
    """The book's P&L ($ per path) at given cumulative log returns of its underlyings.

    Options are priced on a grid: an option's value depends on its path only through its
    underlying's cumulative log return ``L``, so the options of one underlying are priced
    together at ``GRID_POINTS`` values of ``L`` spanning the paths' range and each path's P&L
    is read off by linear interpolation (error <= h^2/8 max|d2V/dL2| for grid step h, a few
    parts per million of the position's value at 257 points). With fewer than
    ``GRID_MIN_PATHS`` paths, or all paths at one ``L``, every path is priced exactly.
    """

    def __init__(self, book: Book, rows: np.ndarray, symbols: list) -> None:
        column = {s: j for j, s in enumerate(symbols)}
        stock = rows[book.is_stock[rows]]
        # Stocks aggregate per underlying: P&L = (exp(L) - 1) @ E, E summed by underlying.
        self.exposure = np.zeros(len(symbols))
        np.add.at(self.exposure, [column[u] for u in book.underlyings[stock]], book.exposure[stock])
        opt = rows[book.is_option[rows]]
        cols = np.array([column[u] for u in book.underlyings[opt]], dtype=int)
        self.spot, self.strike = book.spot[opt], book.strike[opt]
        self.vol, self.days, self.call = book.vol[opt], book.days[opt], book.is_call[opt]
        self.qm, self.value_before = book.qm[opt], book.value_before[opt]
        self.rate = book.rate_pct / 100.0
        # The underlyings that carry options, and each option's index among them.
        self.opt_underlyings, self.group = np.unique(cols, return_inverse=True)
        self.opt_cols = cols

    def pnl(self, cum: np.ndarray, t: int) -> np.ndarray:
        """Book P&L ($) of every path ``t`` trading days ahead (cum: paths x underlyings)."""
        total = np.expm1(cum) @ self.exposure
        if not len(self.opt_cols):
            return total
        days1 = self.days - t * CALENDAR_DAYS_PER_YEAR / TRADING_DAYS_PER_YEAR
        if len(cum) < GRID_MIN_PATHS:
            spot1 = self.spot * np.exp(cum[:, self.opt_cols])  # paths x options, $/share
            value1 = black_scholes_vector(spot1, self.strike, self.rate, self.vol, days1, self.call)
            return total + (value1 - self.value_before) @ self.qm
        x = cum[:, self.opt_underlyings]  # paths x underlyings with options
        lo, hi = x.min(axis=0), x.max(axis=0)
        step = (hi - lo) / (GRID_POINTS - 1)
        grid = lo[:, None] + step[:, None] * np.arange(GRID_POINTS)  # underlyings x points
        g = self.group
        value = black_scholes_vector(
            self.spot[:, None] * np.exp(grid[g]),
            self.strike[:, None],
            self.rate,
            self.vol[:, None],
            days1[:, None],
            self.call[:, None],
        )  # options x points, $/share
        curve = np.zeros_like(grid)  # $ P&L of each underlying's options at each point
        np.add.at(curve, g, self.qm[:, None] * (value - self.value_before[:, None]))
        with np.errstate(invalid="ignore", divide="ignore"):
            u = np.where(step > 0, (x - lo) / step, 0.0)
        i = np.clip(np.floor(u), 0, GRID_POINTS - 2).astype(int)
        w = np.clip(u - i, 0.0, 1.0)
        k = np.arange(len(lo))
        left, right = curve[k, i], curve[k, i + 1]
        return total + (left + w * (right - left)).sum(axis=1)


def _percentiles(x: np.ndarray) -> dict[int, float]:
    q = np.percentile(x, PERCENTILES, method="linear")
    return dict(zip(PERCENTILES, q.tolist()))


def _band(t: int, outcome: np.ndarray, pnl: np.ndarray, equity: float) -> Band:
    dollars = _percentiles(pnl)
    return Band(
        horizon_days=t,
        label=horizon_label(t),
        pct=_percentiles(outcome),
        dollars=dollars,
        value={p: equity + v for p, v in dollars.items()},
    )


__all__ = [
    "DEFAULT_HORIZONS",
    "FORWARD_RANGE_METHOD",
    "MIN_OBSERVATIONS",
    "MIN_PATHS",
    "PERCENTILES",
    "Band",
    "Breach",
    "Checkpoint",
    "ForwardRange",
    "horizon_label",
    "simulate",
]

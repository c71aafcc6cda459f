"""Historical replays: a past episode's actual returns applied to today's book.

Each underlying moves by its return over the episode, ``P_end / P_start - 1`` between the last
adjusted closes on or before the episode's start and end dates (``episode_returns``), and each
position is revalued by ``revaluation.position_pnl``. Options are fully revalued by
Black-Scholes at the moved spot, with the underlying's realized vol over the episode as the vol
after (``episode_vols``) and their days to expiry reduced by the episode's calendar length (an
option expiring within the episode is worth its intrinsic value at the end price). An
underlying without fresh prices around both dates is left out, never treated as flat.

Units: returns are decimals (``-0.10`` = -10%); prices $ per share; P&L in dollars.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from webapp.analytics._common import check_finite_equity
from webapp.analytics.constants import (
    BENCHMARK_SYMBOL,
    MAX_PRICE_AGE_DAYS,
    TRADING_DAYS_PER_YEAR,
)
from webapp.analytics.revaluation import REVALUATION_METHOD, Book
from webapp.analytics.scenarios import Scenario, ScenarioResult

#: A replay price older than this many calendar days before the start/end date is stale (the
#: valuation's rule for a current price).
DEFAULT_MAX_STALE_DAYS = MAX_PRICE_AGE_DAYS
_VOL_RULE = (
    "each option's vol after = its underlying's realized vol over the episode, "
    "std(daily returns, ddof=1) * sqrt(252)"
)


def episode_returns(
    prices: pd.DataFrame,
    start: dt.date | str | pd.Timestamp,
    end: dt.date | str | pd.Timestamp,
    *,
    max_stale_days: int = DEFAULT_MAX_STALE_DAYS,
) -> pd.Series:
    """Each symbol's return over an episode: P_end / P_start - 1 (decimal).

    ``P_start`` (``P_end``) is the symbol's last non-NaN adjusted close dated on or before
    ``start`` (``end``). NaN when there is no such close, when it is more than
    ``max_stale_days`` calendar days before the date (a gap or history that ends early must not
    pass for a flat episode), or when both closes are the same observation.

    Parameters
    ----------
    prices : DataFrame
        Wide adjusted closes ($): DatetimeIndex ascending, one column per symbol.
    start, end : date-like
        Episode dates, ``start < end``.
    max_stale_days : int
        Largest accepted distance (calendar days) between a date and the close used for it.

    Returns
    -------
    Series
        Decimal return per symbol (index = ``prices.columns``), NaN where not available.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if not start < end:
        raise ValueError(f"episode start {start.date()} must be before end {end.date()}")
    return Closes(prices).episode(start, end, max_stale_days)


def episode_vols(
    prices: pd.DataFrame,
    start: dt.date | str | pd.Timestamp,
    end: dt.date | str | pd.Timestamp,
    symbols: list[str] | None = None,
) -> pd.Series:
    """Each symbol's annualized realized vol over an episode (decimal per year).

    ``sigma = std(r, ddof=1) * sqrt(252)`` of the daily simple returns ``r_t = P_t / P_{t-1} - 1``
    between the closes ``episode_returns`` uses (the last close on or before ``start`` to the
    last on or before ``end``), NaN closes dropped first (a gap gives one multi-day return), as
    ``options.realized_vol`` computes it over a window. NaN with fewer than two returns.

    Parameters
    ----------
    prices : DataFrame
        Wide adjusted closes ($), DatetimeIndex ascending.
    start, end : date-like
        Episode dates, ``start < end``.
    symbols : list of str, optional
        Columns to compute (default all).

    Returns
    -------
    Series
        Decimal annual vol per symbol (0.25 = 25%).
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if not start < end:
        raise ValueError(f"episode start {start.date()} must be before end {end.date()}")
    return Closes(prices).episode_vol(start, end, symbols)


class Closes:
    """Wide closes with, per row and symbol, the row of the last non-NaN close so far.

    Finding "the last close on or before a date" for every symbol is then a binary search on
    the dates and one row read, instead of a filtered copy of each column.
    """

    def __init__(self, prices: pd.DataFrame) -> None:
        px = prices.sort_index()
        self.columns = px.columns
        self.dates = px.index
        self.values = px.to_numpy(dtype=float, na_value=np.nan)
        rows = np.arange(len(px)).reshape(-1, 1)
        self.last_valid = (
            np.maximum.accumulate(np.where(np.isnan(self.values), -1, rows), axis=0)
            if len(px)
            else np.empty(self.values.shape, dtype=int)
        )

    def episode_vol(
        self, start: pd.Timestamp, end: pd.Timestamp, symbols: list[str] | None = None
    ) -> pd.Series:
        """``episode_vols``: realized vol between the start and end closes, per symbol."""
        wanted = self.columns if symbols is None else pd.Index(dict.fromkeys(symbols))
        out = pd.Series(np.nan, index=wanted, name="vol", dtype=float)
        k0 = int(self.dates.searchsorted(start, side="right")) - 1
        k1 = int(self.dates.searchsorted(end, side="right")) - 1
        if k0 < 0 or k1 < 0:
            return out
        # One column at a time: a few symbols (the options' underlyings), not one per option.
        for sym, j in zip(wanted, self.columns.get_indexer(wanted)):
            if j < 0 or self.last_valid[k0, j] < 0:
                continue
            seg = self.values[self.last_valid[k0, j] : k1 + 1, j]
            seg = seg[~np.isnan(seg)]
            if len(seg) >= 3:
                returns = seg[1:] / seg[:-1] - 1.0
                out[sym] = float(np.std(returns, ddof=1) * np.sqrt(TRADING_DAYS_PER_YEAR))
        return out

    def episode(self, start: pd.Timestamp, end: pd.Timestamp, max_stale_days: int) -> pd.Series:
        """``episode_returns`` for one episode (dates already validated)."""
        out = np.full(len(self.columns), np.nan)
        k0 = int(self.dates.searchsorted(start, side="right")) - 1
        k1 = int(self.dates.searchsorted(end, side="right")) - 1
        if k0 >= 0 and k1 >= 0 and len(self.columns):
            i0, i1 = self.last_valid[k0], self.last_valid[k1]
            cols = np.arange(len(self.columns))
            have = (i0 >= 0) & (i1 >= 0)
            d0 = self.dates[np.maximum(i0, 0)]
            d1 = self.dates[np.maximum(i1, 0)]
            limit = pd.Timedelta(days=max_stale_days)
            fresh = (
                have
                & np.asarray(start - d0 <= limit)
                & np.asarray(end - d1 <= limit)
                & (np.asarray(d1 > d0))
            )
            p0 = self.values[np.maximum(i0, 0), cols]
            p1 = self.values[np.maximum(i1, 0), cols]
            with np.errstate(invalid="ignore"):
                good = fresh & (p0 > 0) & np.isfinite(p1)
            out[good] = p1[good] / p0[good] - 1.0
        return pd.Series(out, index=self.columns, name="move", dtype=float)


def run_historical_replay(
    scenario: Scenario,
    positions: pd.DataFrame,
    prices: pd.DataFrame,
    equity: float,
) -> ScenarioResult:
    """Replay a past episode on today's book.

    Each underlying's move is its actual return over the episode (``episode_returns``:
    P_end / P_start - 1 from the last closes on or before the scenario's start and end dates);
    positions are revalued by ``position_pnl``: stocks MV * r; options fully by Black-Scholes at
    S (1 + r), vol = the underlying's realized vol over the episode (``episode_vols``), days to
    expiry reduced by the episode's calendar days (end - start), intrinsic value once expired.
    Underlyings without prices covering the episode are left out as ``no_prices_in_episode``;
    a live option whose underlying has fewer than two returns in the episode as
    ``no_scenario_vol``. ``benchmark_return`` is SPY's return over the same episode.

    Parameters
    ----------
    scenario : Scenario
        A historical scenario (``replay_start``/``replay_end`` set).
    positions : DataFrame
        See ``position_pnl``.
    prices : DataFrame
        Wide adjusted closes covering the episode.
    equity : float
        Baseline equity ($).

    Returns
    -------
    ScenarioResult
    """
    return HistoricalReplays(Book(positions), prices).run(scenario, equity)


class HistoricalReplays:
    """Replays on one prepared book, sharing the prepared closes.

    ``Closes`` is built on first use and reused by every replay (each result equals
    ``run_historical_replay``'s); lazily, so that a run without replays never reads prices
    (``prices`` may then be None: ``run_all_scenarios`` refuses a replay without them).
    """

    def __init__(self, book: Book, prices: pd.DataFrame | None) -> None:
        self.book = book
        self._prices = prices
        self._closes: Closes | None = None

    def closes(self) -> Closes:
        """The prices, prepared on first use."""
        if self._closes is None:
            self._closes = Closes(self._prices)
        return self._closes

    def run(self, scenario: Scenario, equity: float) -> ScenarioResult:
        """``run_historical_replay`` for one scenario on the prepared book."""
        if scenario.replay_start is None or scenario.replay_end is None:
            raise ValueError(f"scenario {scenario.id!r} is a factor shock, not a historical replay")
        equity = check_finite_equity(equity)
        start, end = pd.Timestamp(scenario.replay_start), pd.Timestamp(scenario.replay_end)
        if not start < end:
            raise ValueError(f"episode start {start.date()} must be before end {end.date()}")
        book = self.book
        rets = self.closes().episode(start, end, DEFAULT_MAX_STALE_DAYS)
        horizon = int((end - start).days)
        option_underlyings = sorted(set(book.underlyings[book.is_option].tolist()))
        vols = self.closes().episode_vol(start, end, option_underlyings)
        revalued = book.revalue(
            book.moves_from(rets),
            "no_prices_in_episode",
            vol_after=book.moves_from(vols),
            elapsed_days=horizon,
        )
        pnl, modelled, left_out = book.split(revalued)
        bench = rets.get(BENCHMARK_SYMBOL, np.nan) if BENCHMARK_SYMBOL in rets.index else np.nan
        return ScenarioResult.for_scenario(
            scenario,
            kind="historical",
            impact_type="historical",
            equity=equity,
            pnl=pnl,
            positions=modelled,
            left_out=left_out,
            episode_start=scenario.replay_start.isoformat(),
            episode_end=scenario.replay_end.isoformat(),
            benchmark_return=float(bench) if math.isfinite(bench) else None,
            method=(
                "Each underlying's actual return P_end / P_start - 1 between the last adjusted "
                "closes on or before the episode's start and end dates, applied at once to "
                "today's positions; "
                + REVALUATION_METHOD
                + " Vol: "
                + _VOL_RULE
                + f"; horizon: {horizon} calendar days (days to expiry reduced by the episode)."
            ),
            vol_shock=None,
            vol_rule=_VOL_RULE,
            horizon_days=horizon,
        )

"""The one valuation path: open positions valued at the as-of date, for pages, API and batch.

Every reader of market values (the batch's steps, the positions pages, on-request results) calls
``value_portfolio``, so a number on the Positions page and the same number in a stored result come
from one calculation over the same price history.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from dataclasses import dataclass
from functools import cached_property

import pandas as pd
from cachetools import LRUCache
from sqlalchemy import String, bindparam, cast, func, select

from webapp.analytics import exposures as exposures_engine
from webapp.analytics.constants import (
    BENCHMARK_SYMBOL,
    CALENDAR_DAYS_PER_YEAR,
    REALIZED_VOL_WINDOW,
    TRADING_DAYS_PER_YEAR,
)
from webapp.analytics.errors import NonPositiveEquity, NoPositions
from webapp.analytics.factors import FACTOR_ETFS
from webapp.analytics.returns import simple_returns
from webapp.extensions import db
from webapp.marketdata.sync import CALENDAR_SYMBOL
from webapp.models import Portfolio, Position, PriceBar, RiskFreeRate, Tag, position_tags
from webapp.services import queries

# The longest look-back any page or API route accepts (trading days of returns: the risk and
# correlation pages allow 365). The history loaded must hold this many returns.
MAX_LOOKBACK_DAYS = 365
# N returns need N + 1 closes. Loaded from the trading calendar (the last MAX_LOOKBACK_DAYS + 1
# bars of the calendar symbol); this calendar-day floor, N + 1 trading days at 252 per 365
# calendar days plus two weeks for holiday clusters, covers a book whose calendar is missing.
HISTORY_CALENDAR_DAYS = (
    math.ceil((MAX_LOOKBACK_DAYS + 1) * CALENDAR_DAYS_PER_YEAR / TRADING_DAYS_PER_YEAR) + 14
)
# Bars before the window's start, so the first day of the window has a previous close.
HISTORY_SLACK_DAYS = 10


@dataclass(frozen=True)
class Valuation:
    """The book valued at ``as_of``: what every batch step and positions page starts from.

    Attributes
    ----------
    as_of : datetime.date
        The price date the book is valued at (the latest stored bar).
    valued : pandas.DataFrame
        One row per open position (index = position id): the holdings columns plus
        ``exposures.VALUED_COLUMNS`` (price, market value $, delta-adjusted exposure $, status).
    prices : pandas.DataFrame
        Adjusted closes ($) of the underlyings, the factor ETFs and the benchmark, from the
        earliest entry date or ``history_start(as_of)`` (``MAX_LOOKBACK_DAYS`` + 1 trading days
        back), whichever is earlier.
    rate : float
        Risk-free rate on ``as_of`` (% per year), 0 when none is stored.
    cash : float
        The portfolio's cash balance ($).
    """

    as_of: dt.date
    valued: pd.DataFrame
    prices: pd.DataFrame
    rate: float
    cash: float

    @cached_property
    def summary(self) -> exposures_engine.ExposureSummary:
        """Equity, exposures and P&L totals of the priced positions plus cash."""
        return exposures_engine.exposure_summary(self.valued, self.cash)

    def priced(self) -> pd.DataFrame:
        """``valued``, or NoPositions when no open position has a current price."""
        if self.valued.empty or not (self.valued["status"] == "ok").any():
            raise NoPositions("the portfolio has no open positions with current prices")
        return self.valued

    @cached_property
    def returns(self) -> pd.DataFrame:
        """Daily simple returns of ``prices`` (one column per symbol)."""
        return simple_returns(self.prices)

    @cached_property
    def exposures(self) -> pd.Series:
        """Σ delta-adjusted exposure ($) per underlying over the priced positions."""
        return exposures_engine.exposures_by_underlying(self.valued)

    def left_out(self) -> list[dict]:
        """Positions the valuation could not price (status ≠ ``ok``), each with its reason.

        ``{position_id, symbol, underlying, reason, detail, gross_exposure}``: ``reason`` is the
        valuation status (``stale_price``, ``no_prices``, …), ``detail`` its reason in words and
        ``gross_exposure`` the dollars it stands for, |quantity × entry price × multiplier| (its
        cost basis: the one dollar amount known for a position without a current price), so a
        coverage ratio can count what is missing.
        """
        bad = self.valued[self.valued["status"] != "ok"]
        out = []
        for pid, row in bad.iterrows():
            cost = (
                float(row["quantity"]) * float(row["entry_price"]) * float(row["multiplier"] or 1)
            )
            out.append(
                {
                    "position_id": int(pid),
                    "symbol": str(row["symbol"]),
                    "underlying": str(row["underlying"]),
                    "reason": str(row["status"]),
                    "detail": row["reason_detail"],
                    "gross_exposure": abs(cost) if math.isfinite(cost) else 0.0,
                }
            )
        return out

    @property
    def equity(self) -> float:
        """Equity ($), or NonPositiveEquity: returns relative to it would be undefined."""
        equity = float(self.summary.equity)
        if equity <= 0:
            raise NonPositiveEquity(
                f"equity is {'-' if equity < 0 else ''}${abs(equity):,.0f}; "
                "returns relative to equity are undefined",
                equity=equity,
            )
        return equity


def _valuation_key(holdings: pd.DataFrame, as_of: dt.date, rate: float) -> tuple:
    """Everything ``_value`` reads: the holdings, the date, the rate and the stored bars.

    Bars are insert-only, so the highest bar id changes whenever any price is added: a key built
    in one process is valid in every other, and a new price never meets a stale entry.
    """
    digest = int(pd.util.hash_pandas_object(holdings.astype(str), index=True).sum())
    return digest, tuple(holdings.index), as_of, rate, queries.price_version()


# Pages and partials revalue the same book on every click, and the inputs rarely change between
# clicks. gunicorn serves requests from several threads, so the cache is used under a lock. It
# also holds what pages derive from a valuation (the positions table, on-request windows), keyed
# by `book_key`, so clearing it makes every reading of every book cold again.
_CACHE: LRUCache = LRUCache(maxsize=128)
_LOCK = threading.Lock()
# One lock per key being computed: eight clients asking for the same cold window wait for one
# calculation instead of running eight (on two cores that made each of them eight times slower).
_COMPUTING: dict = {}
_MISSING = object()


def memo(key: tuple, compute):
    """``compute()``, remembered under ``key`` in the bounded LRU shared by every thread.

    Callers must treat the value as read-only: the next caller gets the same object.
    """
    with _LOCK:
        hit = _CACHE.get(key, _MISSING)
        if hit is not _MISSING:
            return hit
        computing = _COMPUTING.setdefault(key, threading.Lock())
    try:
        with computing:
            with _LOCK:
                hit = _CACHE.get(key, _MISSING)
            if hit is not _MISSING:  # another thread computed it while this one waited
                return hit
            # Computed outside the cache lock: one slow book must not hold up other threads.
            value = compute()
            with _LOCK:
                _CACHE[key] = value
            return value
    finally:
        with _LOCK:
            if _COMPUTING.get(key) is computing and not computing.locked():
                del _COMPUTING[key]


def _value(holdings: pd.DataFrame, as_of: dt.date, rate: float) -> tuple[pd.DataFrame, ...]:
    """(valued frame, price history), from the cache when the inputs are the same."""
    return memo(_valuation_key(holdings, as_of, rate), lambda: _compute(holdings, as_of, rate))


def _book_stamp_query():
    """One statement for everything `book_key` reads, built once (per call only bound).

    The as-of date, its risk-free rate and the price version as ``queries`` defines them, and
    every position's id and last update with every tag on the book's positions. SQLAlchemy sets
    ``updated_at`` on every UPDATE of a position (ORM or Core), ids are never re-used, and a
    closed or deleted position changes the list, so any write to the book's positions changes
    it; tags live in their own table, so they are listed too.
    """
    bars, rates = PriceBar.__table__, RiskFreeRate.__table__
    positions, tags = Position.__table__, Tag.__table__
    as_of = select(func.max(bars.c.date)).scalar_subquery()
    rate = (
        select(rates.c.rate_annual_pct)
        .where(rates.c.date <= as_of)
        .order_by(rates.c.date.desc())
        .limit(1)
        .scalar_subquery()
    )
    of_book = positions.c.portfolio_id == bindparam("portfolio_id")
    updates = select(
        func.aggregate_strings(
            cast(positions.c.id, String) + ":" + cast(positions.c.updated_at, String), ","
        )
    ).where(of_book)
    tagged = (
        select(
            func.aggregate_strings(
                cast(position_tags.c.position_id, String) + ":" + tags.c.name, ","
            )
        )
        .join(tags, tags.c.id == position_tags.c.tag_id)
        .join(positions, positions.c.id == position_tags.c.position_id)
        .where(of_book)
    )
    return select(
        as_of,
        rate,
        select(func.max(bars.c.id)).scalar_subquery(),
        updates.scalar_subquery(),
        tagged.scalar_subquery(),
    )


_BOOK_STAMP = _book_stamp_query()


def book_key(portfolio: Portfolio) -> tuple:
    """What every reading of the book depends on, read in one query: the cache key of the
    positions table and of on-request windows.

    The portfolio (id, cash, benchmark), the as-of date, its risk-free rate, the price version
    (bars are insert-only; securities are added by the same sync) and a stamp of every position
    and tag (`_book_stamp_query`). An edit, a trade, an import or a new price gives a new key,
    so a stale entry is never read; the LRU drops the old one. The stamps are hashed in this
    process: keys are not meant to leave it.
    """
    as_of, rate, version, updates, tagged = db.session.execute(
        _BOOK_STAMP, {"portfolio_id": portfolio.id}
    ).one()
    return (
        portfolio.id,
        float(portfolio.cash),
        portfolio.benchmark,
        as_of,
        rate,
        version or 0,
        hash(updates),
        hash(tagged),
    )


def history_start(as_of: dt.date) -> dt.date:
    """First close the windows need: MAX_LOOKBACK_DAYS + 1 trading days back from ``as_of``.

    Counted on the trading calendar (the calendar symbol's stored bars), so the longest window
    gets all its returns; never later than ``HISTORY_CALENDAR_DAYS`` calendar days back.
    """
    floor = as_of - dt.timedelta(days=HISTORY_CALENDAR_DAYS)
    bars = db.session.scalars(
        select(PriceBar.date)
        .where(PriceBar.symbol == CALENDAR_SYMBOL, PriceBar.date <= as_of)
        .order_by(PriceBar.date.desc())
        .offset(MAX_LOOKBACK_DAYS)
        .limit(1)
    ).first()
    return min(floor, bars) if bars is not None else floor


def _compute(holdings: pd.DataFrame, as_of: dt.date, rate: float) -> tuple[pd.DataFrame, ...]:
    earliest = min(holdings["entry_date"]) if not holdings.empty else as_of
    start = min(earliest, history_start(as_of))
    symbols = set(holdings["underlying"]) | set(FACTOR_ETFS) | {BENCHMARK_SYMBOL}
    prices = queries.load_prices(symbols, start - dt.timedelta(days=HISTORY_SLACK_DAYS), as_of)
    if holdings.empty:
        valued = holdings.reindex(columns=[*holdings.columns, *exposures_engine.VALUED_COLUMNS])
    else:
        valued = exposures_engine.value_holdings(
            holdings, prices, as_of, rate, realized_vol_window=REALIZED_VOL_WINDOW
        )
    return valued, prices


def value_positions(
    positions: list[Position], cash: float, as_of: dt.date | None = None
) -> Valuation | None:
    """The positions valued at ``as_of`` (default: the latest price date); None without prices."""
    return value_holdings(queries.holdings_frame(positions), cash, as_of)


def value_holdings(
    holdings: pd.DataFrame, cash: float, as_of: dt.date | None = None
) -> Valuation | None:
    """A ``holdings_frame`` valued at ``as_of`` (default: the latest price date)."""
    as_of = as_of or queries.latest_price_date()
    if as_of is None:
        return None
    rate = queries.risk_free_on(as_of) or 0.0
    valued, prices = _value(holdings, as_of, rate)
    # Copies: the cached frames are shared with other requests and must never be changed.
    return Valuation(
        as_of=as_of, valued=valued.copy(), prices=prices.copy(), rate=rate, cash=float(cash)
    )


def value_portfolio(portfolio: Portfolio, as_of: dt.date | None = None) -> Valuation | None:
    """The portfolio's open positions valued at ``as_of``; None when no price is stored."""
    return value_holdings(queries.open_holdings(portfolio.id), portfolio.cash, as_of)

"""Turn ORM rows into the DataFrames the engines take. Engines never see ORM objects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import func, select, union_all
from sqlalchemy.orm import selectinload

from webapp.analytics.constants import OPTION_TYPES
from webapp.extensions import db
from webapp.models import PriceBar, RiskFreeRate, Security
from webapp.models.portfolios import Position
from webapp.services import price_panel
from webapp.services._frames import HOLDING_FIELDS

HOLDINGS_COLUMNS = [*HOLDING_FIELDS, "strike", "expiry", "implied_vol", "strategy"]


def price_version() -> int:
    """The highest stored bar id: bars are insert-only, so it changes whenever a price is added."""
    return db.session.scalar(select(func.max(PriceBar.id))) or 0


def latest_price_date() -> dt.date | None:
    """The as-of date: the last date any stored bar has (calculations never use the wall clock)."""
    return db.session.scalar(select(func.max(PriceBar.date)))


def holdings_frame(positions: Iterable[Position]) -> pd.DataFrame:
    """The engines' holdings contract: one row per position, index = position id.

    ``positions`` may be Position objects or rows with the same attribute names.
    """
    rows = []
    for p in positions:
        is_option = p.position_type in OPTION_TYPES
        rows.append(
            {
                "position_id": p.id,
                "symbol": p.symbol,
                "underlying": p.underlying_symbol if is_option else p.symbol,
                "position_type": p.position_type,
                "quantity": float(p.quantity),
                "multiplier": float(p.multiplier or 1.0),
                "entry_price": float(p.entry_price),
                "entry_date": p.entry_date,
                "strike": float(p.strike_price) if p.strike_price is not None else np.nan,
                "expiry": p.expiration_date,
                "implied_vol": float(p.implied_vol) if p.implied_vol is not None else np.nan,
                "strategy": p.strategy,
            }
        )
    frame = pd.DataFrame(rows, columns=["position_id", *HOLDINGS_COLUMNS])
    return frame.set_index("position_id")


# The Position columns ``holdings_frame`` reads.
_HOLDING_READ = (
    "id",
    "symbol",
    "underlying_symbol",
    "position_type",
    "quantity",
    "multiplier",
    "entry_price",
    "entry_date",
    "strike_price",
    "expiration_date",
    "implied_vol",
    "strategy",
)


def open_holdings(portfolio_id: int) -> pd.DataFrame:
    """``holdings_frame`` of the open positions, read as columns (no ORM objects, no tags)."""
    rows = db.session.execute(
        select(*(getattr(Position, name) for name in _HOLDING_READ))
        .where(Position.portfolio_id == portfolio_id, Position.exit_date.is_(None))
        .order_by(Position.id)
    ).all()
    return holdings_frame(rows)


def open_positions(portfolio_id: int) -> list[Position]:
    """Positions without an exit date, in id order."""
    return list(
        db.session.scalars(
            select(Position)
            .where(Position.portfolio_id == portfolio_id, Position.exit_date.is_(None))
            .options(selectinload(Position.tags))  # one query for every row's tags, not N
            .order_by(Position.id)
        )
    )


def load_prices(
    symbols: Iterable[str],
    start: dt.date | None = None,
    end: dt.date | None = None,
    column: str = "adj_close",
    *,
    windows: Iterable[tuple[dt.date, dt.date]] | None = None,
) -> pd.DataFrame:
    """Wide frame of one price column: DatetimeIndex ascending, a column per symbol, NaN gaps.

    Rows are the dates on which one of ``symbols`` has a bar; columns the symbols with a bar
    in the range, sorted. ``windows``, if given, keeps only bars dated inside one of the
    (first, last) date pairs (inclusive): the frame is the union of the windows' frames.
    Served from the process's `price_panel` (exactly what `query_prices` reads from SQL).
    """
    symbols = sorted(set(symbols))
    if not symbols:
        return pd.DataFrame()
    return price_panel.load(
        symbols, start, end, column, list(windows) if windows is not None else None
    )


def query_prices(
    symbols: Iterable[str],
    start: dt.date | None = None,
    end: dt.date | None = None,
    column: str = "adj_close",
    *,
    windows: Iterable[tuple[dt.date, dt.date]] | None = None,
) -> pd.DataFrame:
    """`load_prices` read straight from SQL: the reference the panel is tested against."""
    symbols = sorted(set(symbols))
    if not symbols:
        return pd.DataFrame()
    # Table columns, not ORM attributes: the ORM's row loading costs ~25% more per row here.
    bars = PriceBar.__table__
    query = select(bars.c.date, bars.c.symbol, bars.c[column]).where(bars.c.symbol.in_(symbols))
    if start is not None:
        query = query.where(bars.c.date >= start)
    if end is not None:
        query = query.where(bars.c.date <= end)
    if windows is not None:
        # One indexed range scan per window (an OR of ranges makes SQLite scan each symbol's
        # whole history); overlapping windows are merged first so no bar comes back twice.
        ranges = [query.where(bars.c.date >= a, bars.c.date <= b) for a, b in _merged(windows)]
        if not ranges:
            return price_panel.empty_frame()
        query = union_all(*ranges) if len(ranges) > 1 else ranges[0]
    rows = db.session.execute(query).all()
    if not rows:
        # Same contract as below: a DatetimeIndex, and symbols without bars simply absent.
        return price_panel.empty_frame()
    # Column by column: a DataFrame built from the Row objects themselves costs ~5 µs a row.
    long = pd.DataFrame(
        {
            "date": pd.to_datetime(pd.Series([r[0] for r in rows], dtype=object)),
            "symbol": pd.Series([r[1] for r in rows]),
            column: np.array([r[2] for r in rows], dtype=float),  # NULL (no such field) -> NaN
        }
    )
    wide = long.pivot(index="date", columns="symbol", values=column).sort_index()
    wide.columns.name = None
    return wide.reindex(columns=[s for s in symbols if s in wide.columns]).astype(float)


def _merged(windows: Iterable[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    """Date windows (first, last), inclusive, with overlapping ones joined; empty ones dropped."""
    out: list[tuple[dt.date, dt.date]] = []
    for first, last in sorted((a, b) for a, b in windows if a <= b):
        if out and first <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def load_risk_free(start: dt.date | None = None, end: dt.date | None = None) -> pd.Series:
    """T-bill yield, % per year, indexed by date."""
    query = select(RiskFreeRate.date, RiskFreeRate.rate_annual_pct).order_by(RiskFreeRate.date)
    if start is not None:
        query = query.where(RiskFreeRate.date >= start)
    if end is not None:
        query = query.where(RiskFreeRate.date <= end)
    rows = db.session.execute(query).all()
    series = pd.Series({pd.Timestamp(d): r for d, r in rows}, dtype=float)
    return series.sort_index()


def risk_free_on(as_of: dt.date) -> float | None:
    """The last T-bill yield (% per year) on or before ``as_of``."""
    return db.session.scalar(
        select(RiskFreeRate.rate_annual_pct)
        .where(RiskFreeRate.date <= as_of)
        .order_by(RiskFreeRate.date.desc())
        .limit(1)
    )


def security_info(symbols: Iterable[str]) -> dict[str, Security]:
    """Securities by symbol (missing symbols are simply absent)."""
    symbols = set(symbols)
    if not symbols:
        return {}
    rows = db.session.scalars(select(Security).where(Security.symbol.in_(symbols)))
    return {s.symbol: s for s in rows}


def known_symbols() -> frozenset[str]:
    """Symbols that have at least one stored bar."""
    return frozenset(db.session.scalars(select(PriceBar.symbol).distinct()))

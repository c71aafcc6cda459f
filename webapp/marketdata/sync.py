"""Insert-only market-data sync with per-symbol gap detection.

A stored (symbol, date) bar is never updated or deleted: history a user has seen stays as it was,
and a provider that later revises a value cannot silently change past results.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webapp.analytics.factors import FACTORS
from webapp.extensions import db
from webapp.marketdata.base import PriceProvider
from webapp.models import FactorDefinition, PriceBar, RiskFreeRate, Security

CALENDAR_SYMBOL = "SPY"  # its stored dates are the trading calendar gaps are measured against
INSERT_CHUNK = 5000

DateRange = tuple[dt.date | None, dt.date | None]


@dataclass
class SymbolSync:
    """One symbol in a sync: bars held before, bars inserted, and the date ranges requested."""

    symbol: str
    existing: int
    inserted: int = 0
    requested: list[DateRange] = field(default_factory=list)


@dataclass
class SyncReport:
    """What ``sync_prices`` did: per-symbol results and the reference rows it inserted."""

    provider: str
    symbols: list[SymbolSync]
    securities_inserted: int = 0
    risk_free_inserted: int = 0

    @property
    def inserted(self) -> int:
        """Price bars inserted across all symbols."""
        return sum(s.inserted for s in self.symbols)


def insert_ignoring_duplicates(model: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING in chunks of ``INSERT_CHUNK`` rows.

    A row that another writer inserted meanwhile is kept as stored, not overwritten.
    """
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    for i in range(0, len(rows), INSERT_CHUNK):
        db.session.execute(insert(model).on_conflict_do_nothing(), rows[i : i + INSERT_CHUNK])


def stored_dates(symbols: Iterable[str]) -> dict[str, list[dt.date]]:
    """Sorted stored bar dates per symbol."""
    dates: dict[str, list[dt.date]] = defaultdict(list)
    query = (
        select(PriceBar.symbol, PriceBar.date)
        .where(PriceBar.symbol.in_(list(symbols)))
        .order_by(PriceBar.symbol, PriceBar.date)
    )
    for symbol, date in db.session.execute(query):
        dates[symbol].append(date)
    return dates


def missing_ranges(
    have: Sequence[dt.date],
    calendar: Sequence[dt.date],
    start: dt.date | None,
    end: dt.date | None,
) -> list[DateRange]:
    """Date ranges to request for a symbol that already has bars on ``have`` (sorted).

    Nothing stored: the whole [start, end]. Otherwise the stretch before the first bar, the stretch
    after the last, and every run of calendar days missing in between.
    """
    if not have:
        return [(start, end)]
    first, last = have[0], have[-1]
    ranges: list[DateRange] = []
    if start is None or start < first:
        ranges.append((start, first - dt.timedelta(days=1)))
    held = set(have)
    run: list[dt.date] = []
    for day in calendar:
        if first < day < last and day not in held:
            run.append(day)
        elif run:
            ranges.append((run[0], run[-1]))
            run = []
    if run:
        ranges.append((run[0], run[-1]))
    if end is None or end > last:
        ranges.append((last + dt.timedelta(days=1), end))
    return ranges


def _bar_rows(bars: pd.DataFrame, source: str) -> list[dict[str, Any]]:
    frame = bars.astype(object).where(bars.notna(), None)
    rows = []
    for rec in frame.to_dict("records"):
        if rec["adj_close"] is None:
            continue  # a bar without an adjusted close can't be valued; providers say why upstream
        rec["source"] = source
        if rec["volume"] is not None:
            rec["volume"] = int(rec["volume"])
        rows.append(rec)
    return rows


def sync_prices(
    provider: PriceProvider,
    symbols: Sequence[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> SyncReport:
    """Fill each symbol's gaps from ``provider`` without touching stored bars; commits once."""
    symbols = sorted(symbols or provider.available_symbols() or [])
    have = stored_dates(symbols)
    calendar = stored_dates([CALENDAR_SYMBOL]).get(CALENDAR_SYMBOL, [])
    report = SyncReport(provider=provider.name, symbols=[])
    by_range: dict[DateRange, list[str]] = defaultdict(list)
    per_symbol = {}
    for symbol in symbols:
        entry = SymbolSync(symbol=symbol, existing=len(have.get(symbol, [])))
        entry.requested = missing_ranges(have.get(symbol, []), calendar, start, end)
        for rng in entry.requested:
            by_range[rng].append(symbol)
        per_symbol[symbol] = entry
        report.symbols.append(entry)
    for (lo, hi), group in by_range.items():
        if lo is not None and hi is not None and lo > hi:
            continue
        bars = provider.fetch_daily_bars(group, lo, hi)
        if bars.empty:
            continue
        rows = _bar_rows(bars, provider.name)
        # Count per symbol before inserting; the unique constraint still guards against races.
        held = {(s, d) for s in group for d in have.get(s, [])}
        rows = [r for r in rows if (r["symbol"], r["date"]) not in held]
        insert_ignoring_duplicates(PriceBar, rows)
        for r in rows:
            per_symbol[r["symbol"]].inserted += 1
    report.securities_inserted = _sync_securities(provider)
    report.risk_free_inserted = _sync_risk_free(provider)
    sync_factor_definitions()
    db.session.commit()
    return report


def _insert_new(
    model: Any,
    key: str,
    records: Iterable[dict[str, Any]],
    to_row: Callable[[dict[str, Any]], dict[str, Any]],
) -> int:
    """Insert ``to_row(record)`` for each record whose ``key`` the table lacks; how many."""
    held = set(db.session.scalars(select(getattr(model, key))))
    rows = [to_row(rec) for rec in records if rec[key] not in held]
    insert_ignoring_duplicates(model, rows)
    return len(rows)


def _sync_securities(provider: PriceProvider) -> int:
    if not hasattr(provider, "securities"):
        return 0

    def row(rec: dict[str, Any]) -> dict[str, Any]:
        return {k: (v or None) if k in ("sector", "industry") else v for k, v in rec.items()}

    return _insert_new(Security, "symbol", provider.securities().to_dict("records"), row)


def _sync_risk_free(provider: PriceProvider) -> int:
    if not hasattr(provider, "risk_free"):
        return 0

    def row(rec: dict[str, Any]) -> dict[str, Any]:
        return {
            "date": rec["date"],
            "rate_annual_pct": float(rec["rate_annual_pct"]),
            "source": provider.name,
        }

    return _insert_new(RiskFreeRate, "date", provider.risk_free().to_dict("records"), row)


def sync_factor_definitions() -> int:
    """Bring the factor definitions table in line with the engine's (rows inserted or updated).

    Reference data, not market data: when the engine redefines a factor (risk model v2 hedged
    the styles and moved Growth to QQQ), the stored row follows, so every reader sees one story.
    """
    held = {row.name: row for row in db.session.scalars(select(FactorDefinition))}
    changed = 0
    for i, f in enumerate(FACTORS):
        fields = {
            "etf_symbol": f.etf_symbol,
            "construction": f.construction,
            "description": f.description,
            "sort_order": i,
        }
        row = held.get(f.name)
        if row is None:
            db.session.add(FactorDefinition(name=f.name, **fields))
            changed += 1
        elif any(getattr(row, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(row, k, v)
            changed += 1
    db.session.flush()
    return changed

"""Every stored bar of one price column, held in memory per process and kept current.

Each batch step and many pages read a few hundred days of a few dozen symbols; as SQL that
was 0.05-0.1 s a read (rows → Python objects → pivot), four to six reads per batch. The whole
table is small (the bundled dataset: 2,157 dates × 104 symbols, 1.8 MB of float64), and bars
are insert-only with ids that are never re-used, so a panel of it stays exact cheaply:

* ``max(id)`` (`queries.price_version`, an index lookup) changes with every insert. A
  ``count(*)`` would also catch deletions, but it scans the table (67 ms on SQLite): bars are
  never deleted outside tests, and tests that delete call `clear`.
* When the max id grew, only the rows above the old max are read and merged in (a
  backfilled old date lands in its place); a lower max id (a rolled-back insert was seen)
  reloads the panel.

Panels are per database (engine URL) and column, shared by the threads of a process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import PriceBar


@dataclass(frozen=True)
class Panel:
    """Dates × symbols of one column; ``present`` marks where a bar exists (its value may be
    NULL, i.e. NaN, where the source lacks that field)."""

    max_id: int
    values: pd.DataFrame
    present: pd.DataFrame

    def frame(
        self, symbols: list[str], windows: list[tuple[pd.Timestamp, pd.Timestamp]] | None
    ) -> pd.DataFrame:
        """The rows dated inside a window (all rows without windows) on which one of
        ``symbols`` has a bar, and the symbols with a bar on one of them, in ``symbols`` order.
        """
        cols = [s for s in symbols if s in self.values.columns]
        index = self.values.index
        if windows is None:
            rows = np.ones(len(index), dtype=bool)
        else:
            rows = np.zeros(len(index), dtype=bool)
            for first, last in windows:
                rows |= (index >= first) & (index <= last)
        present = self.present.loc[rows, cols]
        keep_rows = present.any(axis=1).to_numpy()
        keep_cols = [c for c, has in zip(cols, present.any(axis=0).to_numpy()) if has]
        if not keep_rows.any():
            return empty_frame()
        out = self.values.loc[rows, keep_cols].loc[keep_rows]
        out.columns.name = None
        return out


def empty_frame() -> pd.DataFrame:
    """No bar in range: a DatetimeIndex named date, no columns (what the SQL path returns)."""
    return pd.DataFrame(index=pd.DatetimeIndex([], name="date"), dtype=float)


_PANELS: dict[tuple[str, str], Panel] = {}
_LOCK = threading.Lock()


def _stamp() -> int:
    return int(db.session.scalar(select(func.max(PriceBar.id))) or 0)


def _read(column: str, above_id: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, present) of the bars with id > ``above_id``."""
    bars = PriceBar.__table__
    query = select(bars.c.date, bars.c.symbol, bars.c[column])
    if above_id:
        query = query.where(bars.c.id > above_id)
    rows = db.session.execute(query).all()
    if not rows:
        empty = empty_frame()
        return empty, empty.astype(bool)
    # Column by column: a DataFrame built from the Row objects themselves costs ~5 µs a row.
    long = pd.DataFrame(
        {
            "date": pd.to_datetime(pd.Series([r[0] for r in rows], dtype=object)),
            "symbol": pd.Series([r[1] for r in rows]),
            "value": np.array([r[2] for r in rows], dtype=float),  # NULL -> NaN
        }
    )
    values = long.pivot(index="date", columns="symbol", values="value").sort_index()
    values = values.reindex(columns=sorted(values.columns)).astype(float)
    present = (
        long.assign(value=True)
        .pivot(index="date", columns="symbol", values="value")
        .reindex(index=values.index, columns=values.columns)
        .fillna(False)
        .astype(bool)
    )
    values.columns.name = present.columns.name = None
    return values, present


def _merged(old: Panel, values: pd.DataFrame, present: pd.DataFrame, max_id: int) -> Panel:
    index = old.values.index.union(values.index)
    columns = sorted(set(old.values.columns) | set(values.columns))
    merged_values = old.values.reindex(index=index, columns=columns)
    merged_values.update(values)  # new bars fill cells that held no bar (unique symbol, date)
    merged_present = old.present.reindex(index=index, columns=columns, fill_value=False) | (
        present.reindex(index=index, columns=columns, fill_value=False)
    )
    merged_values.index.name = merged_present.index.name = "date"
    return Panel(max_id, merged_values.astype(float), merged_present.astype(bool))


def panel(column: str = "adj_close") -> Panel:
    """The current panel of ``column`` for this app's database (read or updated as needed)."""
    key = (db.engine.url.render_as_string(hide_password=True), column)
    stamp = _stamp()
    with _LOCK:
        held = _PANELS.get(key)
    if held is not None and held.max_id == stamp:
        return held
    if held is not None and stamp > held.max_id:
        fresh = _merged(held, *_read(column, above_id=held.max_id), stamp)
    else:
        fresh = Panel(stamp, *_read(column))
    with _LOCK:
        _PANELS[key] = fresh
    return fresh


def clear() -> None:
    """Forget every panel (tests that rebuild a database under the same URL)."""
    with _LOCK:
        _PANELS.clear()


def load(
    symbols: Iterable[str],
    start=None,
    end=None,
    column: str = "adj_close",
    windows: list[tuple] | None = None,
) -> pd.DataFrame:
    """``queries.load_prices`` from the panel (same frame: see there)."""
    lo = pd.Timestamp(start) if start is not None else pd.Timestamp.min
    hi = pd.Timestamp(end) if end is not None else pd.Timestamp.max
    if windows is not None:
        bounds = [(max(pd.Timestamp(a), lo), min(pd.Timestamp(b), hi)) for a, b in windows]
    elif start is not None or end is not None:
        bounds = [(lo, hi)]
    else:
        bounds = None
    return panel(column).frame(sorted(set(symbols)), bounds)

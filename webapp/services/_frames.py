"""Row access to engine frames for the steps that turn them into stored payloads."""

from __future__ import annotations

import pandas as pd

# What identifies a holding and how it was entered: the first columns of every positions table.
HOLDING_FIELDS = (
    "symbol",
    "underlying",
    "position_type",
    "quantity",
    "multiplier",
    "entry_price",
    "entry_date",
)
# What the valuation adds to a holding, in the order the tables show it.
VALUE_FIELDS = (
    "price",
    "underlying_price",
    "market_value",
    "cost_basis",
    "unrealized_pnl",
    "unrealized_pnl_pct",
    "exposure",
)


def records(frame: pd.DataFrame, cols: list[str]) -> list[tuple[int, dict]]:
    """(position id, {column: value}) per row, values as Python objects (None if no column).

    What ``iterrows`` + ``row.get`` gives, without building a Series per row (which dominated
    the steps' time on large books).
    """
    present = [c for c in cols if c in frame.columns]
    values = frame[present].to_numpy(dtype=object) if present else None
    absent = {c: None for c in cols if c not in frame.columns}
    out = []
    for i, pid in enumerate(frame.index):
        row = dict(zip(present, values[i])) if present else {}
        out.append((int(pid), {**row, **absent} if absent else row))
    return out

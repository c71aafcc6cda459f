"""E*TRADE "PortfolioDownload.csv" (CSV_IMPORT.md §2, §4.4)."""

from __future__ import annotations

import datetime as dt
import re
from functools import partial

from webapp.imports.cells import clean, lenient_date, month_number
from webapp.imports.layouts.base import (
    Parsed,
    default_date,
    position_columns,
    position_rows,
    row_candidate,
)
from webapp.imports.reader import Record

FORMAT = "etrade_positions"
_SIGNATURE = frozenset({"symbol", "quantity", "pricepaid"})
_GENERATED_RE = re.compile(
    r"generated at\s+([A-Za-z]{3})\w*\s+(\d{1,2}),?\s+(\d{4})", re.IGNORECASE
)
_AS_OF_RE = re.compile(r"positions as of\s+(\S+)", re.IGNORECASE)
_LOT_RE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}$")
_COLUMNS = partial(
    position_columns, fmt_label="E*TRADE portfolio", price=("Price Paid $", "Price Paid")
)


def signature(record: Record, keys: set[str]) -> bool:
    """True for the positions header (Symbol, ..., Quantity, Price Paid $).

    The Filters decoy is not matched: it has no Price Paid column.
    """
    return _SIGNATURE <= keys


def _generated(records: list[Record]) -> dt.date | None:
    for record in records:
        text = clean(record.cell(0))
        m = _GENERATED_RE.search(text)
        if m and month_number(m[1]):
            try:
                return dt.date(int(m[3]), month_number(m[1]) or 0, int(m[2]))
            except ValueError:
                return None
        m = _AS_OF_RE.search(text)
        if m:
            return lenient_date(m[1])
    return None


def parse(records: list[Record], today: dt.date) -> Parsed:
    """Candidates: price = Price Paid $, date = the "Generated at" date."""
    out = Parsed(FORMAT)
    default = default_date(_generated(records), today, "export")
    # Skipped: the Account Summary, View Summary and "Filters applied" blocks before the header,
    # CASH, TOTAL and the "Generated at ..." footer.
    for record, index in position_rows(out, records, signature, _COLUMNS):
        if _LOT_RE.match(clean(record.cell(index["symbol"]))):
            # Expanded view: a lot row under its position; the position row already sums the lots.
            out.skip(record)
            continue
        out.candidates.append(
            row_candidate(record, index, price_label="Price Paid $", default=default)
        )
    return out

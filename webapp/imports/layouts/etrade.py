"""E*TRADE "PortfolioDownload.csv" (CSV_IMPORT.md §2, §4.4)."""

from __future__ import annotations

import datetime as dt
import re

from webapp.imports.asof import AsOf, cash_from_lines
from webapp.imports.cells import clean, lenient_date, month_number
from webapp.imports.layouts.base import (
    ColumnIndex,
    Columns,
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


def _columns(columns: Columns) -> ColumnIndex:
    # Value $ is optional: it only values the CASH row and the equity estimate.
    return {
        **position_columns(columns, "E*TRADE portfolio", ("Price Paid $", "Price Paid")),
        "value": columns.find("Value $", "Value"),
    }


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


def parse(records: list[Record], as_of: AsOf) -> Parsed:
    """Candidates: price = Price Paid $, date = the "Generated at" date, cash = the CASH row."""
    out = Parsed(FORMAT)
    default = default_date(_generated(records), as_of, "export")
    # Skipped: the Account Summary, View Summary and "Filters applied" blocks before the header,
    # CASH, TOTAL and the "Generated at ..." footer.
    for record, index in position_rows(out, records, signature, _columns):
        if _LOT_RE.match(clean(record.cell(index["symbol"]))):
            # Expanded view: a lot row under its position; the position row already sums the lots.
            out.skip(record)
            continue
        out.candidates.append(
            row_candidate(record, index, price_label="Price Paid $", default=default)
        )
    out.statement_cash = cash_from_lines(out.cash_values)
    return out

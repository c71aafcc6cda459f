"""E*TRADE "PortfolioDownload.csv" (CSV_IMPORT.md §2, §4.4)."""

from __future__ import annotations

import datetime as dt
import re

from webapp.imports.cells import clean, lenient_date, month_number
from webapp.imports.layouts.base import (
    Candidate,
    Columns,
    Parsed,
    default_date,
    header_keys,
    require,
    skip_row,
)
from webapp.imports.reader import Record

FORMAT = "etrade_positions"
_SIGNATURE = frozenset({"symbol", "quantity", "pricepaid"})
_GENERATED_RE = re.compile(
    r"generated at\s+([A-Za-z]{3})\w*\s+(\d{1,2}),?\s+(\d{4})", re.IGNORECASE
)
_AS_OF_RE = re.compile(r"positions as of\s+(\S+)", re.IGNORECASE)
_LOT_RE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}$")


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
    date, note = default_date(_generated(records), today, "export")
    index: dict[str, int] | None = None
    for record in records:
        if signature(record, header_keys(record)):
            index = require(
                Columns(record.cells),
                "E*TRADE portfolio",
                symbol=("Symbol",),
                quantity=("Quantity",),
                price=("Price Paid $", "Price Paid"),
            )
            out.skip(record)
            continue
        if index is None:
            out.skip(record)  # Account Summary, View Summary, the "Filters applied" block
            continue
        symbol, quantity = record.cell(index["symbol"]), record.cell(index["quantity"])
        if _LOT_RE.match(clean(symbol)):
            # Expanded view: a lot row under its position; the position row already sums the lots.
            out.skip(record)
            continue
        if skip_row(out, record, symbol, quantity):  # CASH, TOTAL, "Generated at ..."
            continue
        out.candidates.append(
            Candidate(
                line=record.line,
                ticker=symbol,
                quantity=quantity,
                price=record.cell(index["price"]),
                price_label="Price Paid $",
                default_date=date,
                default_date_warning=note,
            )
        )
    return out

"""Interactive Brokers Activity Statement CSV: the Open Positions section.

See CSV_IMPORT.md §2 and §4.3.
"""

from __future__ import annotations

import datetime as dt
import re

from webapp.imports.asof import AsOf
from webapp.imports.cells import CellError, clean, is_missing, parse_decimal
from webapp.imports.layouts.base import (
    Candidate,
    ColumnIndex,
    Columns,
    DatedDefault,
    Parsed,
    default_date,
    position_columns,
    row_candidate,
)
from webapp.imports.reader import Record
from webapp.imports.report import warning

FORMAT = "ibkr_activity"
_DATE_RE = re.compile(r"([A-Za-z]+ \d{1,2}, \d{4})\s*$")
_STOCKS = "stocks"
_OPTIONS = "equity and index options"


def signature(record: Record, keys: set[str]) -> bool:
    """Every row is "Section,RowType,...": Statement/Open Positions with Header or Data."""
    if len(record.cells) < 2:
        return False
    section, row_type = clean(record.cells[0]), clean(record.cells[1])
    return row_type in ("Header", "Data") and (
        section == "Statement" or section.endswith("Open Positions")
    )


def _period_end(records: list[Record]) -> dt.date | None:
    # Statement,Data,Period,"January 1, 2025 - March 31, 2025" (or a single day): the last day.
    for record in records:
        if [clean(c) for c in record.cells[:3]] == ["Statement", "Data", "Period"]:
            m = _DATE_RE.search(clean(record.cell(3)))
            if m:
                try:
                    return dt.datetime.strptime(m[1], "%B %d, %Y").date()
                except ValueError:
                    return None
    return None


def _is_positions(section: str) -> bool:
    # "Open Positions"; older statements split "Long Open Positions" / "Short Open Positions".
    return section.endswith("Open Positions")


def parse(records: list[Record], as_of: AsOf) -> Parsed:
    """Candidates from the Open Positions Summary rows.

    Entry price is the Cost Price column; entry date the statement period's end (or as-of).
    """
    out = Parsed(FORMAT)
    default = default_date(_period_end(records), as_of, "statement")
    index: ColumnIndex | None = None
    for record in records:
        section, row_type = clean(record.cell(0)), clean(record.cell(1))
        if not _is_positions(section):
            out.skip(record)  # every other section: Statement, Trades, Cash Report, NAV...
            continue
        if row_type == "Header":
            columns = Columns(record.cells)
            index = {
                **position_columns(columns, "Interactive Brokers Open Positions", ("Cost Price",)),
                "kind": columns.find("DataDiscriminator"),
                "category": columns.find("Asset Category"),
                "currency": columns.find("Currency"),
                "mult": columns.find("Mult", "Multiplier"),
                "account": columns.find("Account"),
                "value": columns.find("Value"),
            }
            out.skip(record)
            continue
        kind = clean(record.cell(index["kind"])) if index else ""
        if index is None or row_type != "Data" or kind.lower() not in ("", "summary"):
            out.skip(record)  # Total/SubTotal/Notes rows, and Lot rows (the Summary row sums them)
            continue
        out.candidates.append(_candidate(record, index, default))
    return out


def _candidate(record: Record, index: ColumnIndex, default: DatedDefault) -> Candidate:
    candidate = row_candidate(record, index, price_label="Cost Price", default=default)
    category = clean(record.cell(index["category"])).lower()
    if category and category not in (_STOCKS, _OPTIONS):
        candidate.unsupported = (
            f"{clean(record.cell(index['category']))} positions cannot be held in SigmaSight."
        )
    elif category == _OPTIONS:
        try:
            mult = parse_decimal(record.cell(index["mult"]))
        except CellError:
            mult = None
        if mult is not None and mult != 100:
            # Mini and adjusted contracts: the app values every option at 100 shares.
            candidate.unsupported = (
                f"Options with a multiplier of {mult} are not supported (only 100)."
            )
    currency = clean(record.cell(index["currency"])).upper()
    if currency and currency != "USD" and not is_missing(currency):
        candidate.warnings += (
            warning(
                "non_usd_currency",
                f"Prices in this row are in {currency}; SigmaSight values positions in USD.",
            ),
        )
    return candidate

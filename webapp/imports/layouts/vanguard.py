"""Vanguard "OfxDownload.csv": the holdings block only, never the transactions after it.

See CSV_IMPORT.md §2 and §4.6.
"""

from __future__ import annotations

from webapp.imports.asof import AsOf
from webapp.imports.cells import clean, is_missing
from webapp.imports.layouts.base import (
    ColumnIndex,
    Columns,
    Parsed,
    default_date,
    header_keys,
    position_rows,
    row_candidate,
)
from webapp.imports.reader import Record
from webapp.imports.report import warning

FORMAT = "vanguard_positions"
_BROKERAGE = frozenset({"accountnumber", "investmentname", "symbol", "shares", "shareprice"})
_PLAN_529 = frozenset({"fundaccountnumber", "fundname", "price", "shares", "totalvalue"})
_TRANSACTIONS = frozenset({"tradedate", "transactiontype", "transactiondescription"})
_PRICE_WARNING = warning(
    "entry_price_defaulted_to_market_price",
    "Vanguard exports no cost basis: entry price set to the current Share Price.",
)


def signature(record: Record, keys: set[str]) -> bool:
    """The holdings header of a brokerage or 529 OfxDownload.csv."""
    return _BROKERAGE <= keys or _PLAN_529 <= keys


def _columns(columns: Columns) -> ColumnIndex:
    # Nothing is required: the 529 variant has no Symbol, and each such row is refused by name.
    return {
        "symbol": columns.find("Symbol"),
        "quantity": columns.find("Shares"),
        "price": columns.find("Share Price", "Price"),
        "account": columns.find("Account Number", "Fund Account Number"),
        "name": columns.find("Investment Name", "Fund Name"),
        "value": columns.find("Total Value"),
    }


def _holdings_end(records: list[Record]) -> int:
    """Where the transactions table that follows the holdings starts (len(records) if none)."""
    for i, record in enumerate(records):
        if header_keys(record) & _TRANSACTIONS:
            return i
    return len(records)


def parse(records: list[Record], as_of: AsOf) -> Parsed:
    """Candidates from the holdings block: price = Share Price (warned), date = as-of (warned)."""
    out = Parsed(FORMAT)
    default = default_date(None, as_of, "import")
    end = _holdings_end(records)
    for record, index in position_rows(out, records[:end], signature, _columns):
        symbol, name = record.cell(index["symbol"]), record.cell(index["name"])
        candidate = row_candidate(
            record, index, price_label="Share Price", default=default, price_warning=_PRICE_WARNING
        )
        if index["symbol"] is None:
            candidate.unsupported = (
                f"'{clean(name)}' is a 529 plan portfolio with no ticker; "
                "it cannot be priced in SigmaSight."
            )
        elif is_missing(symbol):
            # Vanguard lists bonds, bills and CDs by name only, with an empty Symbol.
            candidate.unsupported = (
                f"'{clean(name)}' has no ticker (fixed income); it cannot be held in SigmaSight."
            )
        out.candidates.append(candidate)
    for record in records[end:]:
        out.skip(record)  # the transactions table is not positions
    return out

"""Vanguard "OfxDownload.csv": the holdings block only, never the transactions after it.

See CSV_IMPORT.md §2 and §4.6.
"""

from __future__ import annotations

import datetime as dt

from webapp.imports.cells import clean, is_missing
from webapp.imports.layouts.base import (
    Candidate,
    Columns,
    Parsed,
    default_date,
    header_keys,
    skip_row,
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


def parse(records: list[Record], today: dt.date) -> Parsed:
    """Candidates from the holdings block: price = Share Price (warned), date = today (warned)."""
    out = Parsed(FORMAT)
    date, note = default_date(None, today, "import")
    index: dict[str, int | None] | None = None
    done = False
    for record in records:
        keys = header_keys(record)
        if done or keys & _TRANSACTIONS:
            done = True  # the transactions table that follows the holdings is not positions
            out.skip(record)
            continue
        if signature(record, keys):
            columns = Columns(record.cells)
            index = {
                "symbol": columns.find("Symbol"),
                "quantity": columns.find("Shares"),
                "price": columns.find("Share Price", "Price"),
                "account": columns.find("Account Number", "Fund Account Number"),
                "name": columns.find("Investment Name", "Fund Name"),
            }
            out.skip(record)
            continue
        if index is None:
            out.skip(record)
            continue
        symbol, quantity = record.cell(index["symbol"]), record.cell(index["quantity"])
        name = record.cell(index["name"])
        if skip_row(out, record, symbol or name, quantity):
            continue
        candidate = Candidate(
            line=record.line,
            ticker=symbol,
            quantity=quantity,
            price=record.cell(index["price"]),
            price_label="Share Price",
            price_warning=_PRICE_WARNING,
            default_date=date,
            default_date_warning=note,
            account=clean(record.cell(index["account"])) or None,
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
    return out

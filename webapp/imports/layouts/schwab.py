"""Charles Schwab "Positions" export, single account or All-Accounts (CSV_IMPORT.md §2, §4.1)."""

from __future__ import annotations

import datetime as dt
import re

from webapp.imports.asof import AsOf, CashLine, amount, cash_from_lines
from webapp.imports.cells import clean, lenient_date
from webapp.imports.layouts.base import (
    ColumnIndex,
    Columns,
    DatedDefault,
    Parsed,
    default_date,
    header_keys,
    position_columns,
    row_candidate,
    skip_row,
)
from webapp.imports.reader import Record
from webapp.imports.symbols import is_cash_row

FORMAT = "schwab_positions"
_QTY = ("Qty (Quantity)", "Quantity")
_VALUE = ("Mkt Val (Market Value)", "Market Value")
_AS_OF_RE = re.compile(r"as of .*?(\d{1,4}/\d{1,2}/\d{1,4})\s*$", re.IGNORECASE)


def _is_header(keys: set[str]) -> bool:
    return (
        "symbol" in keys
        and ("qtyquantity" in keys or "quantity" in keys)
        and ("mktvalmarketvalue" in keys or "marketvalue" in keys)
        and "accountnumber" not in keys
    )  # Fidelity's header has Quantity and no Market Value


def signature(record: Record, keys: set[str]) -> bool:
    """Line 1 "Positions for account ..." or a Schwab positions header."""
    return clean(record.cells[0]).lower().startswith("positions for") or _is_header(keys)


def _is_cash(security_type: str, symbol: str) -> bool:
    # Security Type "Cash and Money Market"; files without that column only have the label.
    label = clean(symbol).lower()
    return security_type.startswith("cash") or (
        is_cash_row(symbol) and not label.startswith(("futures", "pending"))
    )


def _skip_cash(out: Parsed, record: Record, index: ColumnIndex, security_type: str) -> bool:
    """Skip a cash row, keeping its Market Value as statement cash; False for other rows."""
    symbol = record.cell(index["symbol"])
    if record.blank or not _is_cash(security_type, symbol):
        return False
    out.skip(record)
    out.cash_lines.append(record.line)
    stated = amount(record.cell(index.get("value")))
    if stated is not None:
        out.cash_values.append(CashLine(record.line, clean(symbol), stated))
    return True


def _as_of(text: str) -> dt.date | None:
    m = _AS_OF_RE.search(clean(text))
    if m is None:
        return None
    return lenient_date(m[1])


def parse(records: list[Record], as_of: AsOf) -> Parsed:
    """Candidates: price = |Cost Basis| / |Qty| (/100 for options), date = the as-of date.

    Cash = the Market Value of the "Cash & Cash Investments" (older: "Cash & Money Market")
    rows, summed over the accounts of an All-Accounts file. "Futures Cash" is not counted: it
    belongs to a futures account, whose positions SigmaSight cannot hold.
    """
    out = Parsed(FORMAT)
    statement: dt.date | None = None
    index: ColumnIndex | None = None
    account: str | None = None
    default: DatedDefault | None = None  # the entry date (and warning) of the rows so far
    default_for: dt.date | None = None  # ... and the statement date it was made from
    for record in records:
        first = clean(record.cells[0]) if record.cells else ""
        if first.lower().startswith("positions for"):
            statement = statement or _as_of(first)
            out.skip(record)
            continue
        keys = header_keys(record)
        if _is_header(keys):
            columns = Columns(record.cells)
            index = {
                **position_columns(columns, "Schwab positions", ("Cost Basis",), quantity=_QTY),
                "type": columns.find("Security Type"),
                "value": columns.find(*_VALUE),
            }
            out.skip(record)
            continue
        if first and not any(clean(c) for c in record.cells[1:]):
            # A lone first cell: the All-Accounts title ("Individual    ****-1234") opening an
            # account.
            account = first
            out.skip(record)
            continue
        if index is None:
            out.skip(record)
            continue
        symbol, quantity = record.cell(index["symbol"]), record.cell(index["quantity"])
        security_type = clean(record.cell(index.get("type"))).lower()
        if _skip_cash(out, record, index, security_type) or skip_row(out, record, symbol, quantity):
            continue
        if default is None or default_for != statement:  # one warning for the rows it dates
            default, default_for = default_date(statement, as_of, "statement"), statement
        candidate = row_candidate(
            record,
            index,
            price_label="Cost Basis",
            price_is_total=True,
            default=default,
            account=account,
        )
        if security_type == "fixed income":
            candidate.unsupported = "Fixed income (bonds, bills, CDs) cannot be held in SigmaSight."
        elif security_type.startswith("futures"):
            candidate.unsupported = "Futures positions cannot be held in SigmaSight."
        out.candidates.append(candidate)
    out.statement_cash = cash_from_lines(out.cash_values)
    return out

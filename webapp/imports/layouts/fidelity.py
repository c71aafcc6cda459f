"""Fidelity "Portfolio_Positions_Mmm-DD-YYYY.csv" (CSV_IMPORT.md §2, §4.2)."""

from __future__ import annotations

import datetime as dt
import re

from webapp.imports.cells import clean, lenient_date
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

FORMAT = "fidelity_positions"
_DOWNLOADED_RE = re.compile(r"date downloaded\s+(\S+)", re.IGNORECASE)
_SIGNATURE = frozenset({"accountnumber", "accountname", "symbol", "quantity", "lastprice"})


def signature(record: Record, keys: set[str]) -> bool:
    """The Fidelity positions header (Account Number, Account Name, Symbol, ..., Last Price)."""
    return _SIGNATURE <= keys


def _downloaded(records: list[Record]) -> dt.date | None:
    # The date is in the footer ("Date downloaded Dec-05-2025 at 1:02 p.m ET"), after the rows.
    for record in reversed(records):
        for cell in record.cells[:1]:
            m = _DOWNLOADED_RE.search(cell)
            if m:
                return lenient_date(m[1])
    return None


def parse(records: list[Record], today: dt.date) -> Parsed:
    """Candidates: price = Average Cost Basis, date = the download date."""
    out = Parsed(FORMAT)
    date, note = default_date(_downloaded(records), today, "download")
    index: dict[str, int] | None = None
    for record in records:
        keys = header_keys(record)
        if signature(record, keys):
            index = require(
                Columns(record.cells),
                "Fidelity positions",
                symbol=("Symbol",),
                quantity=("Quantity",),
                price=("Average Cost Basis", "Cost Basis Per Share"),
                account=("Account Number",),
            )
            out.skip(record)
            continue
        if index is None:
            out.skip(record)
            continue
        symbol, quantity = record.cell(index["symbol"]), record.cell(index["quantity"])
        if skip_row(
            out, record, symbol, quantity
        ):  # SPAXX**, Pending Activity, disclaimers, footer
            continue
        out.candidates.append(
            Candidate(
                line=record.line,
                ticker=symbol,
                quantity=quantity,
                price=record.cell(index["price"]),
                price_label="Average Cost Basis",
                default_date=date,
                default_date_warning=note,
                account=clean(record.cell(index["account"])) or None,
            )
        )
    return out

"""Fidelity "Portfolio_Positions_Mmm-DD-YYYY.csv" (CSV_IMPORT.md §2, §4.2)."""

from __future__ import annotations

import re

from webapp.imports.asof import AsOf, cash_from_lines
from webapp.imports.layouts.base import (
    ColumnIndex,
    Columns,
    Parsed,
    default_date,
    line_date,
    position_columns,
    position_rows,
    row_candidate,
)
from webapp.imports.reader import Record

FORMAT = "fidelity_positions"
_DOWNLOADED_RE = re.compile(r"date downloaded\s+(\S+)", re.IGNORECASE)
_SIGNATURE = frozenset({"accountnumber", "accountname", "symbol", "quantity", "lastprice"})


def _columns(columns: Columns) -> ColumnIndex:
    # Current Value is optional: it only values the cash and the equity estimate.
    return {
        **position_columns(
            columns,
            "Fidelity positions",
            ("Average Cost Basis", "Cost Basis Per Share"),
            account=("Account Number",),
        ),
        "value": columns.find("Current Value"),
    }


def signature(record: Record, keys: set[str]) -> bool:
    """The Fidelity positions header (Account Number, Account Name, Symbol, ..., Last Price)."""
    return _SIGNATURE <= keys


def parse(records: list[Record], as_of: AsOf) -> Parsed:
    """Candidates: price = Average Cost Basis, date = the download date.

    Cash = the Current Value of the core and money-market rows (SPAXX**, FDRXX**, CORE**) plus
    Pending Activity, in every account: Fidelity's account total counts them as the cash.
    """
    out = Parsed(FORMAT)
    # The date is in the footer ("Date downloaded Dec-05-2025 at 1:02 p.m ET"), after the rows.
    default = default_date(line_date(reversed(records), _DOWNLOADED_RE), as_of, "download")
    # Skipped: SPAXX**, Pending Activity, the disclaimers and the "Date downloaded" footer.
    for record, index in position_rows(out, records, signature, _columns):
        out.candidates.append(
            row_candidate(record, index, price_label="Average Cost Basis", default=default)
        )
    out.statement_cash = cash_from_lines(out.cash_values)
    return out

"""Fidelity "Portfolio_Positions_Mmm-DD-YYYY.csv" (CSV_IMPORT.md §2, §4.2)."""

from __future__ import annotations

import datetime as dt
import re
from functools import partial

from webapp.imports.layouts.base import (
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
_COLUMNS = partial(
    position_columns,
    fmt_label="Fidelity positions",
    price=("Average Cost Basis", "Cost Basis Per Share"),
    account=("Account Number",),
)


def signature(record: Record, keys: set[str]) -> bool:
    """The Fidelity positions header (Account Number, Account Name, Symbol, ..., Last Price)."""
    return _SIGNATURE <= keys


def parse(records: list[Record], today: dt.date) -> Parsed:
    """Candidates: price = Average Cost Basis, date = the download date."""
    out = Parsed(FORMAT)
    # The date is in the footer ("Date downloaded Dec-05-2025 at 1:02 p.m ET"), after the rows.
    default = default_date(line_date(reversed(records), _DOWNLOADED_RE), today, "download")
    # Skipped: SPAXX**, Pending Activity, the disclaimers and the "Date downloaded" footer.
    for record, index in position_rows(out, records, signature, _COLUMNS):
        out.candidates.append(
            row_candidate(record, index, price_label="Average Cost Basis", default=default)
        )
    return out

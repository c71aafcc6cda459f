"""What every layout produces: candidate rows and skipped lines.

A candidate is a row's raw cells mapped to the canonical fields.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from webapp.imports.cells import clean, is_missing, norm_header
from webapp.imports.options import ParsedOption, parse_option_symbol
from webapp.imports.reader import FileRefused, Record
from webapp.imports.report import warning
from webapp.imports.symbols import is_cash_row, is_total_row, looks_like_cusip, stock_symbol


@dataclass(slots=True)
class Candidate:
    """One line that describes a position, still as raw text; validate.py checks it."""

    line: int
    ticker: str
    quantity: str
    price: str | None = None  # per-share entry price text (a total cost when price_is_total)
    price_is_total: bool = False  # Schwab's Cost Basis is the position's total cost
    price_label: str = "entry_price"  # the source column, for messages
    price_warning: dict[str, str] | None = None
    date: str | None = None  # the row's own date text; None means default_date applies
    default_date: dt.date | None = None
    default_date_warning: dict[str, str] | None = None
    option: ParsedOption | None = None  # resolved by the layout (thinkorswim group rows)
    unsupported: str | None = None  # why SigmaSight cannot hold this security
    account: str | None = None  # duplicates are only duplicates within one account
    tags: str = ""
    strategy: str = ""
    notes: str = ""
    implied_vol: str = ""
    warnings: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Parsed:
    """A layout's output before validation."""

    detected_format: str
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    cash_lines: list[int] = field(default_factory=list)

    def skip(self, record: Record) -> None:
        """Mark every physical line of ``record`` as skipped."""
        self.skipped.extend(record.lines)


class Columns:
    """A header row: column lookup by name, ignoring case, spaces and punctuation."""

    def __init__(self, cells: list[str]):
        self.names = [clean(c) for c in cells]
        self._index: dict[str, int] = {}
        for i, cell in enumerate(cells):
            key = norm_header(cell)
            if key:
                self._index.setdefault(key, i)  # the first of two same-named columns wins

    def find(self, *aliases: str) -> int | None:
        """Index of the first alias present, else None."""
        for alias in aliases:
            index = self._index.get(norm_header(alias))
            if index is not None:
                return index
        return None


def header_keys(record: Record) -> set[str]:
    """The normalised names of a row's non-empty cells."""
    return {k for k in (norm_header(c) for c in record.cells) if k}


def require(columns: Columns, fmt_label: str, **needed: tuple[str, ...]) -> dict[str, int]:
    """Indexes of required columns, or FileRefused naming the missing ones."""
    found = {name: columns.find(*aliases) for name, aliases in needed.items()}
    missing = [aliases[0] for name, aliases in needed.items() if found[name] is None]
    if missing:
        raise FileRefused(
            "missing_required_column",
            f"This {fmt_label} export lacks the column(s) {', '.join(missing)}; "
            "add them to the export or use the SigmaSight template.",
            columns.names,
        )
    return {name: index for name, index in found.items() if index is not None}


def default_date(
    statement: dt.date | None, today: dt.date, source: str
) -> tuple[dt.date, dict[str, str]]:
    """The entry date a dateless export implies, with the warning that says so."""
    if statement is not None:
        return statement, warning(
            "entry_date_defaulted_to_statement_date",
            (
                "No acquisition date in the file: entry date set to the "
                f"{source} date {statement.isoformat()}."
            ),
        )
    return today, warning(
        "entry_date_defaulted_to_import_date",
        f"No acquisition date in the file: entry date set to today, {today.isoformat()}.",
    )


def recognisable(symbol: str) -> bool:
    """True when a symbol cell is a ticker, an option or a CUSIP (not free text)."""
    return bool(stock_symbol(symbol) or parse_option_symbol(symbol) or looks_like_cusip(symbol))


def skip_row(out: Parsed, record: Record, symbol: str, quantity: str) -> bool:
    """Skip (and record) the brokers' non-position rows: totals, cash, notes, empty rows."""
    if record.blank or is_total_row(symbol):
        out.skip(record)
        return True
    if is_cash_row(symbol):
        out.skip(record)
        out.cash_lines.append(record.line)
        return True
    if is_missing(quantity) and (is_missing(symbol) or not recognisable(symbol)):
        # No quantity and no security: a disclaimer, a footer, a title or a summary line.
        out.skip(record)
        return True
    return False

"""What every layout produces: candidate rows and skipped lines.

A candidate is a row's raw cells mapped to the canonical fields.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from webapp.imports.asof import AsOf, CashLine, StatementCash, amount
from webapp.imports.cells import clean, is_missing, lenient_date, norm_header
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
    warnings: tuple[dict[str, str], ...] = ()  # the layout's notes on this row
    # The statement's own value of the position (signed, whole position, x100 for options);
    # None when the file states none. Only the equity estimate uses it.
    market_value: Decimal | None = None


@dataclass
class Parsed:
    """A layout's output before validation."""

    detected_format: str
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    cash_lines: list[int] = field(default_factory=list)
    cash_values: list[CashLine] = field(default_factory=list)  # cash lines that state an amount
    statement_cash: StatementCash | None = None  # set by layouts whose statements state cash

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


ColumnIndex = Mapping[str, int | None]
DatedDefault = tuple[dt.date, dict[str, str]]


def position_columns(
    columns: Columns,
    fmt_label: str,
    price: tuple[str, ...],
    *,
    quantity: tuple[str, ...] = ("Quantity",),
    **more: tuple[str, ...],
) -> dict[str, int]:
    """The ``symbol``, ``quantity`` and ``price`` columns of a broker table (and ``more``).

    Raises ``FileRefused`` naming the missing ones, in that order.
    """
    return require(columns, fmt_label, symbol=("Symbol",), quantity=quantity, price=price, **more)


def position_rows(
    out: Parsed,
    records: Iterable[Record],
    signature: Callable[[Record, set[str]], bool],
    columns: Callable[[Columns], ColumnIndex],
) -> Iterator[tuple[Record, ColumnIndex]]:
    """The position rows under a broker table's header, each with its header's column index.

    A row that matches ``signature`` is a header: ``columns`` maps it to indexes (and may raise
    ``FileRefused``). Skipped in ``out``: headers, every row before the first one (account
    summaries, filter blocks, titles) and the non-position rows of ``skip_row``. A row's security
    is its ``symbol`` cell or, when that is empty, its ``name`` cell if the table has one.
    """
    index: ColumnIndex | None = None
    for record in records:
        if signature(record, header_keys(record)):
            index = columns(Columns(record.cells))
            out.skip(record)
        elif index is None:
            out.skip(record)
        else:
            security = record.cell(index["symbol"]) or record.cell(index.get("name"))
            quantity, value = record.cell(index["quantity"]), record.cell(index.get("value"))
            if not skip_row(out, record, security, quantity, value):
                yield record, index


def row_candidate(
    record: Record,
    index: ColumnIndex,
    *,
    price_label: str,
    default: DatedDefault | None = None,
    account: str | None = None,
    price_is_total: bool = False,
    price_warning: dict[str, str] | None = None,
) -> Candidate:
    """The candidate of a broker table row: its ``symbol``, ``quantity`` and ``price`` cells.

    ``account`` defaults to the row's ``account`` cell (None when the table has no such column);
    ``default`` is the entry date (and its warning) for exports without acquisition dates; the
    ``value`` cell, when the table has one, is the statement's market value of the position.
    """
    date, note = default if default is not None else (None, None)
    return Candidate(
        line=record.line,
        ticker=record.cell(index["symbol"]),
        quantity=record.cell(index["quantity"]),
        price=record.cell(index["price"]),
        price_is_total=price_is_total,
        price_label=price_label,
        price_warning=price_warning,
        default_date=date,
        default_date_warning=note,
        account=account or clean(record.cell(index.get("account"))) or None,
        market_value=amount(record.cell(index.get("value"))),
    )


def line_date(records: Iterable[Record], pattern: re.Pattern[str]) -> dt.date | None:
    """The date a title or footer line states: group 1 of ``pattern`` in a row's first cell.

    The first matching row decides; a garbled date there means no date (see ``lenient_date``).
    """
    for record in records:
        m = pattern.search(clean(record.cell(0)))
        if m:
            return lenient_date(m[1])
    return None


def default_date(statement: dt.date | None, as_of: AsOf, source: str) -> DatedDefault:
    """The entry date a dateless export implies, with the warning that says so.

    The statement's own date when it is known and not after ``as_of``; otherwise ``as_of``
    itself. A statement newer than the stored prices would give entry dates no price covers
    (rejected as future dates), so the positions enter on the last priced day instead.
    """
    if statement is not None and statement <= as_of.date:
        return statement, warning(
            "entry_date_defaulted_to_statement_date",
            (
                "No acquisition date in the file: entry date set to the "
                f"{source} date {statement.isoformat()}."
            ),
        )
    later = (
        f" (the {source} date {statement.isoformat()} is after it)" if statement is not None else ""
    )
    if as_of.from_prices:
        return as_of.date, warning(
            "entry_date_defaulted_to_price_date",
            "No acquisition date in the file: entry date set to the price date "
            f"{as_of.date.isoformat()}, the last day with stored prices{later}.",
        )
    return as_of.date, warning(
        "entry_date_defaulted_to_import_date",
        f"No acquisition date in the file: entry date set to today, {as_of.date.isoformat()}"
        f"{later}.",
    )


def recognisable(symbol: str) -> bool:
    """True when a symbol cell is a ticker, an option or a CUSIP (not free text)."""
    return bool(stock_symbol(symbol) or parse_option_symbol(symbol) or looks_like_cusip(symbol))


def skip_row(out: Parsed, record: Record, symbol: str, quantity: str, value: str = "") -> bool:
    """Skip (and record) the brokers' non-position rows: totals, cash, notes, empty rows.

    A cash row's ``value`` cell (the table's market value column), when it states an amount,
    is kept in ``out.cash_values``: the layout decides whether that is the statement's cash.
    """
    if record.blank or is_total_row(symbol):
        out.skip(record)
        return True
    if is_cash_row(symbol):
        out.skip(record)
        out.cash_lines.append(record.line)
        stated = amount(value)
        if stated is not None:
            out.cash_values.append(CashLine(record.line, clean(symbol), stated))
        return True
    if is_missing(quantity) and (is_missing(symbol) or not recognisable(symbol)):
        # No quantity and no security: a disclaimer, a footer, a title or a summary line.
        out.skip(record)
        return True
    return False

"""thinkorswim "Position Statement" export (CSV_IMPORT.md §2, §4.5)."""

from __future__ import annotations

import datetime as dt
import re

from webapp.imports.cells import clean, is_missing
from webapp.imports.layouts.base import (
    Candidate,
    Columns,
    Parsed,
    default_date,
    line_date,
    require,
    skip_row,
)
from webapp.imports.options import ParsedOption, parse_tos_option
from webapp.imports.reader import Record
from webapp.imports.symbols import is_cash_row, is_total_row, stock_symbol

FORMAT = "thinkorswim_positions"
# The title line: "Position Statement for 123456789 (Individual) on 9/29/26 22:14:27".
_TITLE_DATE_RE = re.compile(
    r"^position statement.*?\bon\s+(\d{1,2}/\d{1,2}/\d{2,4})", re.IGNORECASE | re.DOTALL
)
_OPTION_LIKE_RE = re.compile(r"^\d|\b(?:CALL|PUT)$", re.IGNORECASE)


def signature(record: Record, keys: set[str]) -> bool:
    """ "Position Statement for ..." on line 1, or an Instrument,Qty,... header."""
    first = clean(record.cells[0]) if record.cells else ""
    return first.lower().startswith("position statement") or (
        first == "Instrument" and "qty" in keys
    )


class _State:
    """Where the reader is: inside an Instrument table, and under which group (underlying) row."""

    def __init__(self) -> None:
        self.index: dict[str, int] | None = None
        self.group: str | None = None  # the bare ticker row that heads option rows
        self.futures = False


def parse(records: list[Record], today: dt.date) -> Parsed:
    """Candidates: price = Trade Price, date = statement date, option underlying = group row."""
    out = Parsed(FORMAT)
    date, note = default_date(line_date(records[:10], _TITLE_DATE_RE), today, "statement")
    state = _State()
    for record in records:
        first = clean(record.cell(0))
        if first == "Instrument":
            state.index = require(
                Columns(record.cells),
                "thinkorswim position statement",
                instrument=("Instrument",),
                quantity=("Qty",),
                price=("Trade Price",),
            )
            state.group, state.futures = None, False
            out.skip(record)
            continue
        filled = sum(1 for c in record.cells if clean(c))
        if filled == 1 and not (
            stock_symbol(first)
            or first.startswith("/")
            or is_total_row(first)
            or is_cash_row(first)
        ):
            state.index = None  # a section title ("Profits and Losses"): the Instrument table ended
        elif first == "Symbol":
            state.index = None  # another table's header (Profits and Losses)
        if state.index is None or record.blank:
            out.skip(record)
            continue
        candidate = _row(record, state, out)
        if candidate is not None:
            candidate.default_date, candidate.default_date_warning = date, note
            out.candidates.append(candidate)
    return out


def _starts_group(instrument: str, ticker: str | None, state: _State) -> bool:
    """Whether this row names an underlying (a ticker or a future), which then heads a group."""
    if instrument.startswith("/"):  # futures (/ES, /ESZ26) and their options
        state.group, state.futures = instrument, True
        return True
    if ticker:
        state.group, state.futures = ticker, False
        return True
    return False


def _row(record: Record, state: _State, out: Parsed) -> Candidate | None:
    index = state.index or {}
    instrument = clean(record.cell(index["instrument"]))
    quantity = record.cell(index["quantity"])
    if is_total_row(instrument) or is_cash_row(instrument):
        # Subtotals, Overall Totals, Cash & Sweep Vehicle
        skip_row(out, record, instrument, quantity)
        return None
    has_qty = not is_missing(quantity)
    ticker = stock_symbol(instrument)
    if _starts_group(instrument, ticker, state) and not has_qty:
        out.skip(record)  # the group row heading this underlying's rows
        return None
    candidate = Candidate(
        line=record.line,
        ticker=instrument,
        quantity=quantity,
        price=record.cell(index["price"]),
        price_label="Trade Price",
    )
    if state.futures:
        candidate.unsupported = "Futures and futures options cannot be held in SigmaSight."
        return candidate
    if ticker:
        return candidate
    option = parse_tos_option(instrument)
    if option is not None:
        if state.group is None:
            return candidate  # validate.py explains that the group row is missing
        if option.multiplier != 100:
            candidate.unsupported = (
                f"Options on {option.multiplier} shares are not supported (only 100)."
            )
        candidate.option = ParsedOption(
            state.group, option.expiry, option.option_type, option.strike
        )
        return candidate
    if state.group and has_qty and not _OPTION_LIKE_RE.search(instrument):
        # Older statements: the group row, then the shares on a row named by description
        # ("APPLE INC COM"). An option row we cannot read must never become shares, hence the
        # CALL/PUT guard.
        candidate.ticker = state.group
        return candidate
    if skip_row(out, record, instrument, quantity):
        return None
    return candidate

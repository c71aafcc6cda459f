"""thinkorswim "Position Statement" export (CSV_IMPORT.md §2, §4.5)."""

from __future__ import annotations

import re
from decimal import Decimal

from webapp.imports.asof import AsOf, CashLine, StatementCash, amount, cash_from_lines, dollars
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
from webapp.imports.report import warning
from webapp.imports.symbols import is_cash_row, is_total_row, stock_symbol

FORMAT = "thinkorswim_positions"
# The title line: "Position Statement for 123456789 (Individual) on 9/29/26 22:14:27".
_TITLE_DATE_RE = re.compile(
    r"^position statement.*?\bon\s+(\d{1,2}/\d{1,2}/\d{2,4})", re.IGNORECASE | re.DOTALL
)
_OPTION_LIKE_RE = re.compile(r"^\d|\b(?:CALL|PUT)$", re.IGNORECASE)
# Lines that state the cash itself: a sweep row in the positions table, or an account-summary line.
_CASH_LABELS = frozenset(
    {"cash & sweep vehicle", "cash and sweep vehicle", "cash balance", "total cash", "cash"}
)
_NLV_LABELS = frozenset({"net liquidating value", "net liquidation value", "net liq"})


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
        self.cash: list[CashLine] = []  # explicit cash lines, in file order
        self.net_liq: CashLine | None = None
        self.unvalued: list[int] = []  # position lines whose market value the file does not give


def parse(records: list[Record], as_of: AsOf) -> Parsed:
    """Candidates: price = Trade Price, date = statement date, option underlying = group row.

    Cash: an explicit cash line (Cash & Sweep Vehicle, Cash Balance) when there is one, else the
    Net Liquidating Value minus the positions' market value (Qty x Mark x multiplier).
    """
    out = Parsed(FORMAT)
    date, note = default_date(line_date(records[:10], _TITLE_DATE_RE), as_of, "statement")
    state = _State()
    for record in records:
        first = clean(record.cell(0))
        _note_cash(record, first, state)
        if first == "Instrument":
            columns = Columns(record.cells)
            state.index = require(
                columns,
                "thinkorswim position statement",
                instrument=("Instrument",),
                quantity=("Qty",),
                price=("Trade Price",),
            )
            # Optional: they only value the positions for the cash and the equity estimate.
            state.index["mark"] = columns.find("Mark")  # type: ignore[assignment]
            state.index["value"] = columns.find("Net Liq", "Mark Value")  # type: ignore[assignment]
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
            candidate.market_value = _market_value(record, candidate, state)
            if candidate.market_value is None:
                state.unvalued.append(record.line)
            out.candidates.append(candidate)
    _statement_cash(out, state)
    return out


def _note_cash(record: Record, first: str, state: _State) -> None:
    """Remember the lines that state cash or the Net Liquidating Value (wherever they are)."""
    label = first.lower()
    if label not in _CASH_LABELS and label not in _NLV_LABELS:
        return
    index = state.index or {}
    if index.get("value") is not None:  # inside a table with a value column: that column
        stated = amount(record.cell(index["value"]))
    else:  # an account-summary line, "Net Liquidating Value,$201,000.00": its one amount
        amounts = [a for a in (amount(c) for c in record.cells[1:]) if a is not None]
        stated = amounts[0] if len(amounts) == 1 else None  # several numbers: none is "the" cash
    if stated is None:
        return
    if label in _NLV_LABELS:
        state.net_liq = state.net_liq or CashLine(record.line, first, stated)
    else:
        state.cash.append(CashLine(record.line, first, stated))


def _market_value(record: Record, candidate: Candidate, state: _State) -> Decimal | None:
    """The row's value on the statement: its value column, else Qty x Mark x multiplier."""
    index = state.index or {}
    if index.get("value") is not None:
        return amount(record.cell(index["value"]))
    quantity, mark = amount(candidate.quantity), amount(record.cell(index.get("mark")))
    if quantity == 0:
        return Decimal(0)  # a closed row (rejected) holds nothing, whatever its Mark
    if quantity is None or mark is None or state.futures:
        return None  # futures: the multiplier is the contract's, which the statement omits
    instrument = clean(record.cell(index["instrument"]))
    option = parse_tos_option(instrument)
    if option is not None:
        return quantity * mark * option.multiplier  # "100 18 DEC 26 365 CALL": 100 shares
    if _OPTION_LIKE_RE.search(instrument) and not stock_symbol(instrument):
        return None  # an option row we cannot read: its multiplier is unknown
    return quantity * mark


def _statement_cash(out: Parsed, state: _State) -> None:
    """The explicit cash line first; else Net Liquidating Value minus the positions' value."""
    if state.cash:
        out.statement_cash = cash_from_lines(state.cash[:1])  # several: the same cash, twice
        return
    nlv = state.net_liq
    if nlv is None:
        return
    if state.unvalued:
        lines = ", ".join(str(n) for n in state.unvalued)
        out.warnings.append(
            warning(
                "statement_cash_not_derived",
                f"The statement's {nlv.label} ({dollars(nlv.amount)}, line {nlv.line}) was not "
                f"turned into cash: the value of line(s) {lines} cannot be read (no Mark, a "
                "futures contract or an unreadable option), so the positions' value is unknown. "
                "Enter the account's cash yourself.",
            )
        )
        return
    positions = sum((c.market_value or Decimal(0) for c in out.candidates), Decimal(0))
    cash = nlv.amount - positions
    out.statement_cash = StatementCash(
        cash,
        (nlv.line,),
        f"The statement's cash, {dollars(cash)}, is its {nlv.label} {dollars(nlv.amount)} "
        f"(line {nlv.line}) minus the positions' value {dollars(positions)} "
        "(quantity x Mark of every position row); it becomes the portfolio's cash.",
    )


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

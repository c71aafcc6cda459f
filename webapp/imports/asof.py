"""The date an import is judged by, and the statement amounts a layout reads besides positions.

The app's world ends on the latest stored price date, not on the wall clock: a position entered
after it cannot be valued, and an option expiring after it is still open as far as every risk
and performance figure is concerned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from webapp.imports.cells import CellError, parse_decimal


@dataclass(frozen=True, slots=True)
class AsOf:
    """The judging date: the latest stored price date, or today when no prices are stored."""

    date: dt.date
    from_prices: bool

    @classmethod
    def resolve(cls, as_of: dt.date | None, today: dt.date) -> AsOf:
        """``as_of`` (the latest price date) when the caller has one, else ``today``."""
        if as_of is None:
            return cls(today, from_prices=False)
        return cls(as_of, from_prices=True)

    @property
    def source(self) -> str:
        """What the date is, for the report: "price_date" or "today"."""
        return "price_date" if self.from_prices else "today"


@dataclass(frozen=True, slots=True)
class CashLine:
    """A statement line that states cash (a sweep, a money-market core, a cash balance)."""

    line: int
    label: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class StatementCash:
    """The cash a statement states, where it was read and how (for the advisor's warning)."""

    amount: Decimal
    lines: tuple[int, ...]
    message: str


def amount(text: str | None) -> Decimal | None:
    """A statement amount ($1,234.56, ($180.00), --); None when missing or unreadable.

    Statement values only feed the cash and the equity estimate, never a position, so an
    unreadable one means "not stated" rather than an error on the line.
    """
    try:
        return parse_decimal(text)
    except CellError:
        return None


def dollars(value: Decimal | float) -> str:
    """$1,234.56 / -$125.00, as the preview shows money."""
    value = Decimal(str(value)) if isinstance(value, float) else value
    return f"{'-' if value < 0 else ''}${abs(value):,.2f}"


def cash_from_lines(lines: list[CashLine]) -> StatementCash | None:
    """The statement cash as the sum of its explicit cash lines (None when there are none)."""
    if not lines:
        return None
    total = sum((c.amount for c in lines), Decimal(0))
    if len(lines) == 1:
        parts = f"'{lines[0].label}', line {lines[0].line}"
    else:
        parts = "; ".join(f"'{c.label}' on line {c.line}: {dollars(c.amount)}" for c in lines)
    return StatementCash(
        total,
        tuple(c.line for c in lines),
        f"The statement's cash, {dollars(total)} ({parts}), becomes the portfolio's cash.",
    )

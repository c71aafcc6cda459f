"""The validation report of CSV_IMPORT.md §5.

Accepted rows, rejected rows, skipped lines and warnings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


def warning(code: str, message: str) -> dict[str, str]:
    """A warning entry as the report carries it."""
    return {"code": code, "message": message}


@dataclass(slots=True)  # one per accepted line: 20,000 in a full file
class AcceptedRow:
    """A position ready to store; ``quantity`` is signed (negative = short)."""

    line: int
    symbol: str
    asset_type: str
    position_type: str
    quantity: float
    entry_price: float
    entry_date: dt.date
    tags: list[str] = field(default_factory=list)
    underlying: str | None = None
    expiry: dt.date | None = None
    option_type: str | None = None
    strike: float | None = None
    has_market_data: bool = False
    warnings: list[dict[str, str]] = field(default_factory=list)
    strategy: str | None = None
    notes: str = ""
    iv: float | None = None
    # The statement's value of the whole position (signed); None when the file states none.
    # Not part of the §5 JSON: it only feeds ImportReport.estimated_equity.
    market_value: float | None = None

    @property
    def underlying_symbol(self) -> str | None:
        """The underlying (options only), as Position.underlying_symbol."""
        return self.underlying

    @property
    def strike_price(self) -> float | None:
        """The strike (options only), as Position.strike_price."""
        return self.strike

    @property
    def expiration_date(self) -> dt.date | None:
        """The expiry (options only), as Position.expiration_date."""
        return self.expiry

    @property
    def multiplier(self) -> float:
        """Shares per unit: 100 for an option contract, 1 for shares."""
        return 100.0 if self.asset_type == "option" else 1.0

    @property
    def implied_vol(self) -> float | None:
        """Implied volatility as a decimal (0.25 = 25%) when the file gave one."""
        return self.iv

    @property
    def book_value(self) -> float:
        """The position's value for the equity estimate: the statement's, else at entry price."""
        if self.market_value is not None:
            return self.market_value
        return self.quantity * self.entry_price * self.multiplier

    @property
    def price_symbol(self) -> str:
        """The symbol whose prices value this row (the underlying for options)."""
        return self.underlying or self.symbol

    def to_dict(self) -> dict[str, Any]:
        """The §5 JSON shape of an accepted row."""
        return {
            "line": self.line,
            "symbol": self.symbol,
            "asset_type": self.asset_type,
            "position_type": self.position_type,
            "quantity": float(self.quantity),
            "entry_price": float(self.entry_price),
            "entry_date": self.entry_date.isoformat(),
            "tags": list(self.tags),
            "underlying": self.underlying,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "option_type": self.option_type,
            "strike": float(self.strike) if self.strike is not None else None,
            "has_market_data": self.has_market_data,
            "warnings": [dict(w) for w in self.warnings],
        }


@dataclass
class RejectedRow:
    """A line that will not be imported, with every field error found on it."""

    line: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    duplicate_of_line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The §5 JSON shape of a rejected row."""
        return {
            "line": self.line,
            "errors": [dict(e) for e in self.errors],
            "duplicate_of_line": self.duplicate_of_line,
        }


@dataclass
class ImportReport:
    """Everything the preview page and the upload API show about one file."""

    detected_format: str = "unknown"
    file_error: dict[str, Any] | None = None
    accepted: list[AcceptedRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    portfolio_id: Any = None
    # The date the file was judged by (future entry dates, defaulted dates, expiries) and what it
    # is: "price_date" (the latest stored price date the caller passed) or "today" (no prices).
    as_of: dt.date | None = None
    as_of_source: str = "today"
    # The cash the statement states (None: the file states none, e.g. the template); its source
    # line(s) are in the "statement_cash" warning and in statement_cash_lines.
    statement_cash: float | None = None
    statement_cash_lines: list[int] = field(default_factory=list)
    # The book's value: accepted positions at the statement's values where the file gives them
    # (else entry price x quantity x multiplier), plus statement_cash. None without accepted rows.
    estimated_equity: float | None = None

    # to_dict keeps the §5 keys only (the API's JSON shape); the fields above are for the page
    # and the commit, and their content is in the warnings.
    def to_dict(self) -> dict[str, Any]:
        """The §5 JSON report (dates as ISO strings, numbers as floats)."""
        return {
            "detected_format": self.detected_format,
            "file_error": dict(self.file_error) if self.file_error else None,
            "accepted": [row.to_dict() for row in self.accepted],
            "rejected": [row.to_dict() for row in self.rejected],
            "skipped_lines": list(self.skipped_lines),
            "warnings": [dict(w) for w in self.warnings],
            "portfolio_id": self.portfolio_id,
        }


#: A layout's name as the advisor knows it (``detected_format`` stays the API's code).
FORMAT_NAMES = {
    "canonical": "SigmaSight template",
    "schwab_positions": "Schwab positions export",
    "fidelity_positions": "Fidelity positions export",
    "vanguard_positions": "Vanguard holdings export",
    "ibkr_activity": "Interactive Brokers statement (Open Positions section)",
    "etrade_positions": "E*TRADE portfolio export",
    "thinkorswim_positions": "thinkorswim position statement",
    "unknown": "not recognised",
}

#: What a file-level refusal is, in a heading's words (the message says why and what to do).
FILE_ERROR_TITLES = {
    "empty_file": "The file is empty",
    "invalid_file": "The file cannot be read as a CSV",
    "unsupported_format": "This kind of export is not supported",
    "missing_required_column": "A required column is missing",
    "no_data_rows": "The file has no holdings rows",
    "file_too_large": "The file is too large",
    "too_many_rows": "The file has too many rows",
}


def format_name(code: str) -> str:
    """The layout's name in words; an unmapped code reads as itself rather than vanishing."""
    return FORMAT_NAMES.get(code, code)


def file_error_title(code: str) -> str:
    """The heading for a refused file."""
    return FILE_ERROR_TITLES.get(code, "The file was refused")


def file_error(code: str, message: str, columns: list[str] | None = None) -> dict[str, Any]:
    """A file-level error entry."""
    return {"code": code, "message": message, "columns": list(columns or [])}

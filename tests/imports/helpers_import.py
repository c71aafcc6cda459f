"""Shared helpers for the holdings-import tests (no app, no database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from webapp.imports import validate_holdings_file

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TODAY = dt.date(2026, 11, 24)
PRICE_DATE = dt.date(2026, 8, 3)  # the latest stored price date, months before TODAY
KNOWN = frozenset({"AAPL", "MSFT", "SPY", "GOOGL", "VOO", "BRK-B", "QQQ"})


def run(
    data: bytes | str,
    *,
    known=KNOWN,
    max_bytes: int = 5 * 1024 * 1024,
    max_rows: int = 20_000,
    today: dt.date = TODAY,
    as_of: dt.date | None = None,
    filename: str = "holdings.csv",
):
    """Validate bytes (str is UTF-8 encoded) with test defaults."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return validate_holdings_file(
        data,
        filename=filename,
        known_symbols=known,
        max_bytes=max_bytes,
        max_rows=max_rows,
        today=today,
        as_of=as_of,
    )


def fixture(name: str, **kwargs):
    """Validate one of the broker fixture files."""
    return run((FIXTURES / name).read_bytes(), filename=name, **kwargs)


def summary(report) -> list[tuple]:
    """(line, symbol, position_type, quantity, entry_price, entry_date) per accepted row."""
    return [
        (a.line, a.symbol, a.position_type, a.quantity, a.entry_price, a.entry_date)
        for a in report.accepted
    ]


def rejections(report) -> dict[int, list[tuple[str, str]]]:
    """line -> [(field, code), ...] per rejected row."""
    return {r.line: [(e["field"], e["code"]) for e in r.errors] for r in report.rejected}


def codes(items) -> list[str]:
    """The codes of a list of warnings."""
    return [w["code"] for w in items]

"""Per-symbol coverage of stored bars against the trading calendar."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.marketdata.sync import CALENDAR_SYMBOL, missing_ranges, stored_dates
from webapp.models import PriceBar


@dataclass(frozen=True)
class SymbolCoverage:
    """How completely one symbol's stored bars cover the trading calendar (SPY's stored dates)."""

    symbol: str
    first_date: dt.date
    last_date: dt.date
    trading_days: int
    expected_days: int  # calendar days between first and last, inclusive
    gap_days: int
    gap_ranges: list[tuple[dt.date, dt.date]]
    completeness: float  # trading_days / expected_days
    stale_days: int  # calendar trading days after last_date up to the as-of date

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict: ISO date strings, gap ranges as [start, end] pairs."""
        data = asdict(self)
        data["first_date"] = self.first_date.isoformat()
        data["last_date"] = self.last_date.isoformat()
        data["gap_ranges"] = [[a.isoformat(), b.isoformat()] for a, b in self.gap_ranges]
        return data


def coverage_report(symbols: list[str] | None = None) -> list[SymbolCoverage]:
    """Coverage for every stored symbol (or the given ones), sorted by symbol."""
    query = select(
        PriceBar.symbol, func.min(PriceBar.date), func.max(PriceBar.date), func.count()
    ).group_by(PriceBar.symbol)
    if symbols:
        query = query.where(PriceBar.symbol.in_(symbols))
    summary = sorted(db.session.execute(query).all())
    calendar = stored_dates([CALENDAR_SYMBOL]).get(CALENDAR_SYMBOL, [])
    as_of = calendar[-1] if calendar else None
    incomplete = [s for s, first, last, n in summary if _expected(calendar, first, last) > n]
    dates = stored_dates(incomplete) if incomplete else {}
    out = []
    for symbol, first, last, count in summary:
        expected = max(_expected(calendar, first, last), count)
        gaps = (
            [
                (a, b)
                for a, b in missing_ranges(dates.get(symbol, []), calendar, first, last)
                if a is not None and b is not None and a <= b
            ]
            if symbol in dates
            else []
        )
        stale = _expected(calendar, last + dt.timedelta(days=1), as_of) if as_of else 0
        out.append(
            SymbolCoverage(
                symbol=symbol,
                first_date=first,
                last_date=last,
                trading_days=count,
                expected_days=expected,
                gap_days=expected - count,
                gap_ranges=gaps,
                completeness=count / expected if expected else 1.0,
                stale_days=stale,
            )
        )
    return out


def _expected(calendar: list[dt.date], first: dt.date, last: dt.date | None) -> int:
    if not calendar or last is None or first > last:
        return 0
    return bisect.bisect_right(calendar, last) - bisect.bisect_left(calendar, first)

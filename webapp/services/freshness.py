"""How old the stored prices are today: the one place the wall clock meets market data.

Calculations never read the clock (their as-of date is the newest stored bar). The advisor,
though, must be told when that date is far behind today, so the banner compares it with today's
date here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from flask import current_app, g

from webapp.services.queries import latest_price_date


def today() -> dt.date:
    """Today's date (UTC). A function so tests can move the clock."""
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class Freshness:
    """The newest price date against today.

    ``trading_days_behind`` counts weekdays after ``as_of`` up to and including ``today`` — an
    upper bound on missed sessions, since exchange holidays are not subtracted (the threshold is
    "a few trading days", so a holiday never decides it on its own).
    """

    as_of: dt.date | None
    today: dt.date
    trading_days_behind: int
    stale_after: int

    @property
    def stale(self) -> bool:
        """True when no price is stored, or the newest is more than ``stale_after`` days old."""
        return self.as_of is None or self.trading_days_behind > self.stale_after

    @property
    def as_of_text(self) -> str:
        """The newest price date as people write it: "Aug 3, 2026"."""
        return long_date(self.as_of) if self.as_of else "never"

    @property
    def age(self) -> str:
        """The age in words: "2 days", "3 weeks", "4 months", "1 year and 2 months"."""
        return age_in_words(self.as_of, self.today) if self.as_of else "unknown"


def long_date(day: dt.date) -> str:
    """ "Aug 3, 2026" (no zero padding, on every platform)."""
    return f"{day:%b} {day.day}, {day.year}"


def trading_days_between(start: dt.date, end: dt.date) -> int:
    """Weekdays d with start < d ≤ end (0 when end ≤ start)."""
    if end <= start:
        return 0
    return int(np.busday_count(start + dt.timedelta(days=1), end + dt.timedelta(days=1)))


def age_in_words(then: dt.date, now: dt.date) -> str:
    """Whole calendar units from ``then`` to ``now``, the largest that fits.

    Days below two weeks, weeks below two months, then months (and years from twelve months on).
    """
    days = (now - then).days
    if days < 14:
        return _plural(max(days, 0), "day")
    months = (now.year - then.year) * 12 + now.month - then.month - (now.day < then.day)
    if months < 2:
        return _plural(days // 7, "week")
    years, months = divmod(months, 12)
    if not years:
        return _plural(months, "month")
    return _plural(years, "year") + (f" and {_plural(months, 'month')}" if months else "")


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def price_freshness() -> Freshness:
    """The stored prices' age today; computed once per request (every page's banner asks)."""
    if "price_freshness" not in g:
        as_of = latest_price_date()
        now = today()
        g.price_freshness = Freshness(
            as_of=as_of,
            today=now,
            trading_days_behind=trading_days_between(as_of, now) if as_of else 0,
            stale_after=current_app.config["PRICES_STALE_AFTER_TRADING_DAYS"],
        )
    return g.price_freshness

"""The provider interface every market-data source implements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import pandas as pd

BAR_COLUMNS = ["symbol", "date", "open", "high", "low", "close", "adj_close", "volume"]


class ProviderError(Exception):
    """A provider could not deliver (bad key, HTTP error after retries, malformed payload)."""


class TransientProviderError(ProviderError):
    """Worth retrying later: timeouts, 429, 5xx."""


@runtime_checkable
class PriceProvider(Protocol):
    """Daily bars by symbol and date range.

    ``fetch_daily_bars`` returns a long DataFrame with ``BAR_COLUMNS``: ``date`` as
    ``datetime.date``, prices in dollars (``adj_close`` split- and dividend-adjusted; the others
    NaN where the source lacks them), ``volume`` in shares. Symbols the provider doesn't know are
    simply absent.
    """

    name: str

    def fetch_daily_bars(
        self, symbols: Sequence[str], start: dt.date | None, end: dt.date | None
    ) -> pd.DataFrame:
        """Bars for ``symbols`` between ``start`` and ``end`` inclusive (None: unbounded)."""
        ...

    def available_symbols(self) -> list[str] | None:
        """Symbols the provider can serve, or None when it can't enumerate them."""
        ...


def empty_bars() -> pd.DataFrame:
    """A bars frame with ``BAR_COLUMNS`` and no rows: the answer when there is nothing to fetch."""
    return pd.DataFrame(columns=BAR_COLUMNS)

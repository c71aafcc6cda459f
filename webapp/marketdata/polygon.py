"""Polygon.io daily bars (aggregates).

Endpoint: ``GET {base_url}/v2/aggs/ticker/{ticker}/range/1/day/{from}/{to}?adjusted=true&sort=asc
&limit=50000`` with ``from``/``to`` as ``YYYY-MM-DD`` (inclusive), one ticker per request, the key
in an ``Authorization: Bearer`` header (so it never sits in a URL). Body: ``{"ticker",
"status": "OK"|"DELAYED", "adjusted", "queryCount", "resultsCount", "results": [{"o", "h", "l",
"c", "v", "vw", "t", "n"}], "next_url"?}``; ``t`` is the bar's start in milliseconds since the
Unix epoch (UTC), ``v`` shares, prices in dollars. More pages come via ``next_url``, which
Polygon returns without the key; the bearer header goes along on each page.

Mapping to ``BAR_COLUMNS``: ``date`` = ``t`` converted to the America/New_York calendar date (a
daily bar starts at midnight Eastern, i.e. 04:00 or 05:00 UTC depending on DST; converting in
Eastern time keeps the session date right whatever hour Polygon stamps), ``open``/``high``/
``low``/``close`` = ``o``/``h``/``l``/``c``, ``volume`` = ``v`` rounded to whole shares.

**adj_close = adjusted ``c``.** With ``adjusted=true`` Polygon adjusts for splits only, not
dividends, so ``adj_close`` here is split-adjusted close and equals ``close``. Returns computed from
it omit dividends (roughly the dividend yield, ~1-2%/year for the S&P 500). It is not on the
bundled provider's dividend-adjusted basis: don't extend one symbol's stored series from both, or
the seam fakes a jump.

Symbols: our ``BRK-B`` is Polygon's ``BRK.B`` (and back). Index symbols (``^GSPC``) have no
stocks-API equivalent and are simply absent, without a request.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from webapp.marketdata.base import ProviderError
from webapp.marketdata.http import KeyedHttpProvider, Redact, Row, bar_rows, unredacted

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.polygon.io"
# Polygon's free Basic plan allows 5 calls/minute; paid plans are unlimited (pass a client with a
# looser limit). Five a minute is the safe default for a key of unknown tier.
DEFAULT_RATE_LIMIT = (5, 60.0)
EASTERN = ZoneInfo("America/New_York")
# Polygon needs both ends of the range; "all history" means from before any plan's coverage.
EARLIEST = dt.date(1970, 1, 1)
MAX_PAGES = 1000  # a next_url chain longer than this is a loop, not data
OK_STATUSES = frozenset({"OK", "DELAYED"})
# Polygon's bar keys for open, high, low, close, adj_close, volume (the order ``bar_rows``
# expects): adj_close is the split-adjusted close, see the module docstring.
_FIELDS = ("o", "h", "l", "c", "c", "v")


def to_polygon_ticker(symbol: str) -> str | None:
    """Our symbol as a Polygon stocks ticker (``BRK-B`` → ``BRK.B``), or None for an index.

    Index symbols (``^GSPC``) have no stocks-API equivalent, so they are never requested.
    """
    symbol = symbol.strip().upper()
    if symbol.startswith("^"):
        return None
    return symbol.replace("-", ".")


def from_polygon_ticker(ticker: str) -> str:
    """A Polygon ticker in our spelling: ``BRK.B`` → ``BRK-B``."""
    return ticker.strip().upper().replace(".", "-")


def trading_date(ms: int | float) -> dt.date:
    """The US/Eastern calendar date of ``ms`` milliseconds since the Unix epoch (UTC)."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).astimezone(EASTERN).date()


class PolygonProvider(KeyedHttpProvider):
    """Daily bars from Polygon's aggregates endpoint (split-adjusted; see the module docstring).

    Key: ``POLYGON_API_KEY``; the default client applies the free plan's rate limit.
    ``fetch_daily_bars`` leaves out unknown tickers and indices; it raises ``ProviderError``
    without a key, on a rejected key or an ``ERROR``/``NOT_AUTHORIZED`` status,
    ``TransientProviderError`` when Polygon stays unreachable.
    """

    name = "polygon"
    key_variable = "POLYGON_API_KEY"
    default_base_url = DEFAULT_BASE_URL
    default_rate_limit = DEFAULT_RATE_LIMIT

    def fetch_symbol(self, symbol: str, start: dt.date | None, end: dt.date | None) -> list[Row]:
        """The symbol's rows from its aggregates pages; none (and no request) for an index."""
        ticker = to_polygon_ticker(symbol)
        if ticker is None:
            log.info("Polygon stocks API has no index %s; skipped", symbol)
            return []
        lo = start or EARLIEST
        hi = end or dt.datetime.now(EASTERN).date()
        if lo > hi:
            return []
        url: str | None = (
            f"{self.base_url}/v2/aggs/ticker/{quote(ticker, safe='.')}/range/1/day/"
            f"{lo.isoformat()}/{hi.isoformat()}"
        )
        params: dict[str, str] | None = {"adjusted": "true", "sort": "asc", "limit": "50000"}
        headers = {"Authorization": f"Bearer {self.api_key}"}
        rows: list[Row] = []
        seen: set[str] = set()
        while url:
            if url in seen or len(seen) >= MAX_PAGES:
                raise ProviderError(f"Polygon {ticker}: next_url pagination does not end")
            seen.add(url)
            self._check_same_origin(url)
            payload = self.client.get_json(url, params=params, headers=headers)
            rows.extend(parse_aggregates(payload, symbol, redact=self.client.redact))
            url = payload.get("next_url") or None
            params = None  # next_url already carries the query (cursor, adjusted, sort, limit)
        return rows

    def _check_same_origin(self, url: str) -> None:
        # The bearer header goes with every page: never send it to a host other than base_url's.
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise ProviderError(
                f"Polygon next_url points at {theirs.scheme}://{theirs.netloc}, "
                f"not {ours.scheme}://{ours.netloc}; refusing to send the key there"
            )


def parse_aggregates(payload: Any, symbol: str, *, redact: Redact = unredacted) -> list[Row]:
    """Rows (``BAR_COLUMNS`` keys, ``symbol`` as we spell it) from one aggregates page.

    A status other than OK/DELAYED raises ``ProviderError``; no ``results`` means no rows (an
    unknown ticker answers OK with ``resultsCount: 0``). Days outside the requested range are
    dropped by ``fetch_daily_bars``.
    """
    if not isinstance(payload, dict):
        raise ProviderError(
            f"Polygon {symbol}: expected a JSON object, got {type(payload).__name__}"
        )
    status = str(payload.get("status", ""))
    if status not in OK_STATUSES:
        detail = payload.get("error") or payload.get("message") or ""
        raise ProviderError(redact(f"Polygon {symbol}: status {status or '?'} {detail}".rstrip()))
    ticker = payload.get("ticker")
    if ticker and from_polygon_ticker(str(ticker)) != from_polygon_ticker(symbol):
        raise ProviderError(f"Polygon answered {ticker!r} for a request for {symbol!r}")
    dated = ((_bar_date(bar, symbol), bar) for bar in payload.get("results") or [])
    return bar_rows(symbol, dated, _FIELDS)


def _bar_date(bar: dict[str, Any], symbol: str) -> dt.date:
    try:
        return trading_date(bar["t"])
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ProviderError(f"Polygon {symbol}: bar without a valid t: {exc!r}") from None

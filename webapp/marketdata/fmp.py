"""Financial Modeling Prep (FMP) daily bars.

Endpoint:
``GET {base_url}/historical-price-full/{symbol}?from=YYYY-MM-DD&to=YYYY-MM-DD&apikey=KEY``
(``base_url`` defaults to ``https://financialmodelingprep.com/api/v3``), one request per symbol.
Body: ``{"symbol": "AAPL", "historical": [{"date": "2024-01-05", "open", "high", "low", "close",
"adjClose", "volume", "unadjustedVolume", "change", "changePercent", "vwap", "label",
"changeOverTime"}, ...]}``, newest first. An unknown symbol gives ``{}`` (sometimes ``[]`` or an
``{"Error Message": ...}``).

Mapping to ``BAR_COLUMNS``: ``open``/``high``/``low``/``close`` in dollars as FMP serves them
(split-adjusted, not dividend-adjusted), ``adj_close`` = ``adjClose`` (split- and
dividend-adjusted), ``volume`` = ``volume`` in shares. FMP already writes class shares with a dash
(``BRK-B``) and indices with a caret (``^GSPC``), our own convention, so symbols pass through
unchanged.

The key travels as the documented ``apikey`` query parameter, so every URL that reaches one of our
messages or log lines goes through ``HttpClient.redact``. urllib3's own DEBUG log prints request
lines query string and all: keep the ``urllib3`` logger above DEBUG wherever keys are real.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import quote

from webapp.marketdata.base import ProviderError, TransientProviderError
from webapp.marketdata.http import KeyedHttpProvider, Redact, Row, bar_rows, unredacted

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://financialmodelingprep.com/api/v3"
# FMP's Starter plan allows 300 calls/minute; the free plan's 250/day surfaces as a 429 or a
# "Limit Reach" message, reported as TransientProviderError.
DEFAULT_RATE_LIMIT = (300, 60.0)
# FMP's bar keys for open, high, low, close, adj_close, volume (the order ``bar_rows`` expects).
_FIELDS = ("open", "high", "low", "close", "adjClose", "volume")


def to_fmp_symbol(symbol: str) -> str:
    """Our symbol in FMP's spelling: identical (``BRK-B``, ``^GSPC``); upper-cased."""
    return symbol.strip().upper()


def from_fmp_symbol(symbol: str) -> str:
    """FMP's symbol in our spelling (identical)."""
    return symbol.strip().upper()


class FMPProvider(KeyedHttpProvider):
    """Daily bars from FMP's ``historical-price-full`` endpoint (key: ``FMP_API_KEY``).

    ``fetch_daily_bars`` leaves out symbols FMP doesn't know or the plan doesn't cover; it raises
    ``ProviderError`` without a key or on a rejected key, ``TransientProviderError`` when FMP
    stays unreachable or the quota is used up.
    """

    name = "fmp"
    key_variable = "FMP_API_KEY"
    default_base_url = DEFAULT_BASE_URL
    default_rate_limit = DEFAULT_RATE_LIMIT

    def fetch_symbol(self, symbol: str, start: dt.date | None, end: dt.date | None) -> list[Row]:
        """One ``historical-price-full`` request: the symbol's rows, oldest first."""
        url = f"{self.base_url}/historical-price-full/{quote(to_fmp_symbol(symbol), safe='')}"
        params: dict[str, str] = {}
        if start is not None:
            params["from"] = start.isoformat()
        if end is not None:
            params["to"] = end.isoformat()
        params["apikey"] = self.api_key or ""
        payload = self.client.get_json(url, params=params)
        return parse_historical(payload, symbol, redact=self.client.redact)


def parse_historical(payload: Any, symbol: str, *, redact: Redact = unredacted) -> list[Row]:
    """Rows (``BAR_COLUMNS`` keys) from one ``historical-price-full`` body, oldest first.

    FMP sends newest first (fixed here) and may include days outside ``from``/``to`` (dropped by
    ``fetch_daily_bars``).
    ``{}``/``[]`` or an error message about the symbol mean "unknown symbol": no rows.
    An error message about the key raises ``ProviderError``; one about the quota raises
    ``TransientProviderError``.
    """
    if isinstance(payload, dict) and "Error Message" in payload:
        _raise_for_error_message(str(payload["Error Message"]), symbol, redact)
        return []
    if not isinstance(payload, dict) or not payload.get("historical"):
        return []
    if not isinstance(payload["historical"], list):
        raise ProviderError(f"FMP {symbol}: 'historical' is not a list")
    ours = from_fmp_symbol(str(payload.get("symbol") or symbol))
    if ours != to_fmp_symbol(symbol):
        # Never file one symbol's prices under another's name.
        raise ProviderError(f"FMP answered {ours!r} for a request for {symbol!r}")
    dated = ((_bar_date(bar, symbol), bar) for bar in payload["historical"])
    rows = bar_rows(symbol, dated, _FIELDS)
    rows.sort(key=lambda r: r["date"])
    return rows


def _bar_date(bar: dict[str, Any], symbol: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(bar["date"])[:10])
    except (KeyError, ValueError) as exc:
        raise ProviderError(f"FMP {symbol}: bar without a valid date: {exc}") from None


def _raise_for_error_message(message: str, symbol: str, redact: Redact) -> None:
    """Decide what an FMP ``{"Error Message": ...}`` body means; return only for symbol problems."""
    text = redact(message)
    lowered = text.lower()
    if "api key" in lowered or "apikey" in lowered:
        raise ProviderError(f"FMP rejected the API key: {text}")
    if "legacy endpoint" in lowered:
        # Accounts opened after FMP retired v3 get this for every symbol: a configuration problem.
        raise ProviderError(f"FMP refused the endpoint: {text}")
    if "limit reach" in lowered:
        raise TransientProviderError(f"FMP quota used up: {text}")
    # Unknown symbol, or one the plan doesn't cover: skip it so the rest of the batch still syncs.
    log.warning("FMP has no bars for %s: %s", symbol, text)

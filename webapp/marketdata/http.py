"""HTTP plumbing shared by the network providers (FMP, Polygon).

``HttpClient`` wraps a ``requests.Session`` with what a market-data sync needs and nothing more:

* a per-request timeout ``(connect, read)`` in seconds, so a stalled server cannot hang a worker;
* retries with exponential backoff on timeouts, connection errors, 408, 429 and 5xx, honouring a
  ``Retry-After`` header on 429/503;
* a client-side rate limit (at most ``max_requests`` per ``period`` seconds, sliding window), so a
  sync of hundreds of symbols stays inside the vendor's quota instead of collecting 429s;
* errors as ``TransientProviderError`` (worth retrying later) or ``ProviderError`` (won't get better
  by waiting: 401/403/404, malformed JSON), whose messages never contain an API key.

The session, clock and sleep function are injectable so tests run without network or real waiting.
``KeyedHttpProvider`` is what both providers share (key, base URL, client, the per-symbol fetch
loop); ``bar_rows`` and ``bars_frame`` turn their vendor bars into the ``BAR_COLUMNS`` frame.
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import requests

from webapp.marketdata.base import BAR_COLUMNS, ProviderError, TransientProviderError

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Redact = Callable[[str], str]
Row = dict[str, Any]

# Query parameters that carry credentials at FMP (apikey), Polygon (apiKey) and most other vendors.
_SECRET_PARAM = re.compile(r"(?i)\b(api_?key|token|access_token)=([^&\s#'\"]+)")
REDACTED = "***"
# 408/425/429 and the 5xx that mean "overloaded or restarting", not "your request is wrong".
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class HttpStatusError(ProviderError):
    """A non-retryable HTTP status (401, 403, 404, other 4xx); ``status`` holds the code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RateLimiter:
    """At most ``max_requests`` request starts in any ``period`` seconds (sliding window).

    A sliding window rather than a token bucket because vendors state quotas as "N calls per
    minute/day" measured over a window: a full bucket plus its refill could send 2N within one
    period. ``acquire`` blocks (via the injected ``sleep``) until a slot frees up.
    """

    def __init__(
        self,
        max_requests: int,
        period: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if max_requests < 1 or period <= 0:
            raise ValueError("rate limit needs max_requests >= 1 and period > 0")
        self.max_requests = max_requests
        self.period = float(period)
        self._clock = clock
        self._sleep = sleep
        self._starts: collections.deque[float] = collections.deque()
        # One provider instance may be shared by threads; the lock keeps the window consistent.
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a free slot, record the request start, return the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.period:
                    self._starts.popleft()
                if len(self._starts) < self.max_requests:
                    self._starts.append(now)
                    return waited
                delay = self.period - (now - self._starts[0])
                self._sleep(delay)
                waited += delay


class HttpClient:
    """GET JSON with timeouts, retries with backoff, a rate limit and key redaction.

    ``timeout``: (connect, read) seconds per attempt. ``max_retries``: extra attempts after the
    first (so ``max_retries + 1`` requests at most). The n-th retry waits
    ``backoff_base * 2**(n-1)`` seconds, capped at ``backoff_max``; a 429/503 ``Retry-After``
    (seconds or HTTP date) replaces that delay, and if it exceeds ``max_retry_after`` (a daily
    quota, say) the client gives up at once with ``TransientProviderError`` rather than parking a
    worker for hours.
    ``rate_limit``: ``(max_requests, period_seconds)`` or None for no client-side limit.
    ``secrets``: strings (API keys) scrubbed from every message and log line; providers add theirs
    with ``add_secret``.
    """

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        max_retries: int = 4,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_retry_after: float = 120.0,
        rate_limit: tuple[int, float] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        secrets: Iterable[str | None] = (),
    ) -> None:
        self.session = session if session is not None else requests.Session()
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self._clock = clock
        self._sleep = sleep
        self.limiter = (
            RateLimiter(rate_limit[0], rate_limit[1], clock=clock, sleep=sleep)
            if rate_limit
            else None
        )
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, secret: str | None) -> None:
        """Scrub ``secret`` from messages and logs from now on (no-op for None/empty)."""
        if secret:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        """``text`` with every known secret and every ``apikey=…``-style query value masked."""
        # Longest first so a secret containing another secret is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", text)

    def describe(self, url: str, params: Mapping[str, Any] | None = None) -> str:
        """The request URL as it would go on the wire, redacted: safe for messages and logs."""
        try:
            full = requests.Request("GET", url, params=dict(params or {})).prepare().url or url
        except requests.RequestException:
            full = url
        return self.redact(full)

    def backoff(self, retry: int) -> float:
        """Delay in seconds before retry number ``retry`` (1-based)."""
        return min(self.backoff_base * 2 ** (retry - 1), self.backoff_max)

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET ``url`` and return the decoded JSON body.

        Raises ``TransientProviderError`` once retries are exhausted on timeouts, connection
        errors, 408/429/5xx; ``HttpStatusError`` (a ``ProviderError``) at once on other 4xx;
        ``ProviderError`` when a 2xx body is not JSON.
        """
        where = self.describe(url, params)
        attempt = 0
        while True:
            attempt += 1
            if self.limiter is not None:
                self.limiter.acquire()
            retry_after: float | None = None
            try:
                response = self.session.get(
                    url, params=params, headers=dict(headers or {}), timeout=self.timeout
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                # requests puts the full URL, query string and all, into these messages.
                problem = f"{type(exc).__name__}: {self.redact(str(exc))}"
            else:
                if response.status_code < 400:
                    return self._json(response, where)
                problem, retry_after = self._retryable(response, where)
            if attempt > self.max_retries:
                # `from None`: the chained requests exception would print the unredacted URL.
                raise TransientProviderError(
                    f"GET {where}: {problem}; gave up after {attempt} attempts"
                ) from None
            delay = retry_after if retry_after is not None else self.backoff(attempt)
            log.warning(
                "GET %s: %s; retry %d/%d in %.1fs", where, problem, attempt, self.max_retries, delay
            )
            self._sleep(delay)

    def _json(self, response: requests.Response, where: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                f"GET {where}: HTTP {response.status_code} but the body is not JSON: "
                f"{self._snippet(response)}"
            ) from None

    def _retryable(self, response: requests.Response, where: str) -> tuple[str, float | None]:
        """What went wrong and the server's Retry-After, for an error worth retrying.

        Raises at once when it is not: ``HttpStatusError`` for other 4xx, and
        ``TransientProviderError`` when the server asks to wait longer than ``max_retry_after``.
        """
        status = response.status_code
        if status not in RETRY_STATUSES:
            raise HttpStatusError(
                f"GET {where}: HTTP {status} {response.reason or ''}".rstrip()
                + f": {self._snippet(response)}",
                status,
            )
        problem = f"HTTP {status} {response.reason or ''}".rstrip()
        retry_after = None
        if status in (429, 503):
            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > self.max_retry_after:
                raise TransientProviderError(
                    f"GET {where}: {problem}, server asks to retry after "
                    f"{retry_after:.0f}s (quota exhausted?)"
                )
        return problem, retry_after

    def _snippet(self, response: requests.Response, limit: int = 200) -> str:
        # Vendors echo request details in error bodies; keep it short and scrubbed.
        try:
            text = response.text
        except Exception:  # noqa: BLE001 - undecodable body: say so rather than mask the status
            return "<undecodable body>"
        text = " ".join(text.split())
        return self.redact(text[:limit] + ("…" if len(text) > limit else ""))


class KeyedHttpProvider:
    """Shared plumbing of the HTTP providers: the key (never shown), base URL and HTTP client.

    ``api_key`` may be None: construction always succeeds (so ``get_provider`` works for commands
    that never fetch); fetching raises ``ProviderError`` naming ``key_variable``. Subclasses set
    ``name``, ``key_variable``, ``default_base_url`` and ``default_rate_limit``.
    """

    name = "http"
    key_variable = "API_KEY"
    default_base_url = ""
    default_rate_limit: tuple[int, float] | None = None

    def __init__(
        self, api_key: str | None, *, client: HttpClient | None = None, base_url: str | None = None
    ) -> None:
        self.api_key = api_key or None
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.client = (
            client if client is not None else HttpClient(rate_limit=self.default_rate_limit)
        )
        self.client.add_secret(self.api_key)

    def __repr__(self) -> str:  # never show the key, e.g. in a debugger or an error report
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"api_key={'***' if self.api_key else None})"
        )

    def available_symbols(self) -> list[str] | None:
        """None: a vendor's symbol list is the whole market, not a useful sync universe."""
        return None

    def require_key(self) -> str:
        """The API key, or ProviderError naming the environment variable to set."""
        if not self.api_key:
            raise ProviderError(f"{self.key_variable} is not set")
        return self.api_key

    def fetch_daily_bars(
        self, symbols: Sequence[str], start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """``BAR_COLUMNS`` frame for ``symbols`` with ``start <= date <= end`` (bounds optional).

        Sorted by symbol, date; symbols the vendor doesn't know (or serve) are absent. Raises
        ``ProviderError`` without a key or when the vendor refuses it, ``TransientProviderError``
        when the vendor stays unreachable (each subclass documents its own cases).
        """
        self.require_key()
        rows: list[Row] = []
        for symbol in dict.fromkeys(symbols):  # de-duplicate, keep order
            # Vendors may answer with days outside the requested range; they are dropped here.
            rows.extend(
                row
                for row in self.fetch_symbol(symbol, start, end)
                if (start is None or row["date"] >= start) and (end is None or row["date"] <= end)
            )
        return bars_frame(rows)

    def fetch_symbol(self, symbol: str, start: dt.date | None, end: dt.date | None) -> list[Row]:
        """One symbol's rows (``BAR_COLUMNS`` keys) for a request covering ``start``..``end``.

        Each subclass implements its vendor's endpoint; rows outside the range may be returned.
        """
        raise NotImplementedError


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def unredacted(text: str) -> str:
    """``text`` as it is: the ``redact`` of a parser called without a client (fixtures, tests)."""
    return text


def bar_rows(
    symbol: str, bars: Iterable[tuple[dt.date, Mapping[str, Any]]], fields: Sequence[str]
) -> list[Row]:
    """Rows (``BAR_COLUMNS`` keys) from ``(date, vendor bar)`` pairs.

    ``fields`` names the vendor bar's keys for open, high, low, close, adj_close and volume, in
    that order; a key the bar lacks gives None.
    """
    return [
        {"symbol": symbol, "date": day}
        | {col: bar.get(key) for col, key in zip(BAR_COLUMNS[2:], fields, strict=True)}
        for day, bar in bars
    ]


def bars_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The ``BAR_COLUMNS`` frame from row dicts, typed like the bundled provider's.

    ``date`` stays ``datetime.date``; prices are float64 dollars (NaN where missing); ``volume`` is
    nullable Int64 shares (rounded: adjusted volumes can be fractional). Sorted by symbol, date;
    a (symbol, date) seen twice (overlapping pages) keeps the last row.
    """
    frame = pd.DataFrame(list(rows), columns=BAR_COLUMNS)
    for col in ("open", "high", "low", "close", "adj_close"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    volume = pd.to_numeric(frame["volume"], errors="coerce").astype("float64")
    frame["volume"] = volume.round().astype("Int64")
    frame["symbol"] = frame["symbol"].astype(object)
    frame["date"] = frame["date"].astype(object)
    frame = frame.drop_duplicates(["symbol", "date"], keep="last")
    return frame.sort_values(["symbol", "date"], ignore_index=True)

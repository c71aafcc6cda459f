"""FMP and Polygon providers and their HTTP client, against recorded-format responses.

No app, no database, no network: a fake ``requests`` transport adapter serves the JSON fixtures,
a fake clock stands in for time, and every socket connect in this module raises.
"""

from __future__ import annotations

import datetime as dt
import http
import json
import logging
import socket
import traceback
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from webapp.marketdata.base import (
    BAR_COLUMNS,
    PriceProvider,
    ProviderError,
    TransientProviderError,
)
from webapp.marketdata.fmp import FMPProvider
from webapp.marketdata.http import (
    HttpClient,
    HttpStatusError,
    RateLimiter,
    _parse_retry_after,
    bars_frame,
)
from webapp.marketdata.polygon import (
    PolygonProvider,
    from_polygon_ticker,
    to_polygon_ticker,
    trading_date,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KEY = "sk-test-9f8e7d6c5b4a"  # a fake key; asserted absent from every message


# --- test doubles ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a real connection fails the test loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("a provider test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class FakeClock:
    """``now()`` and ``sleep()`` sharing one fake timeline; ``sleeps`` records each wait."""

    def __init__(self) -> None:
        self.now_s = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_s += seconds


Reply = tuple[int, object] | tuple[int, object, dict[str, str]] | Exception
Responder = Callable[[requests.PreparedRequest], Reply]


class FakeTransport(BaseAdapter):
    """A requests transport adapter: routes by URL path, records every request it is sent.

    A route is a list of replies consumed in order (the last one repeats); a reply is
    ``(status, body[, headers])`` with ``body`` a fixture file name, a JSON-able object or bytes,
    or an exception instance to raise (as a timeout or a dropped connection would be).
    """

    def __init__(self, clock: FakeClock | None = None) -> None:
        super().__init__()
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[dict] = []
        self.clock = clock

    def route(self, path: str, *replies: Reply) -> FakeTransport:
        self.routes[path] = list(replies)
        return self

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        self.requests.append(
            {
                "url": request.url,
                "path": parts.path,
                "query": parse_qs(parts.query),
                "headers": dict(request.headers),
                "timeout": timeout,
                "at": self.clock.now() if self.clock else None,
            }
        )
        replies = self.routes.get(parts.path)
        if not replies:
            return _response(request, 404, {"error": "not found"})
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if isinstance(reply, Exception):
            raise reply
        status, body, *rest = reply
        return _response(request, status, body, rest[0] if rest else None)

    def close(self) -> None:
        pass


def _response(request, status: int, body, headers: dict[str, str] | None = None):
    response = requests.Response()
    response.status_code = status
    response.reason = http.HTTPStatus(status).phrase
    if isinstance(body, str) and body.endswith(".json"):
        content = (FIXTURES / body).read_bytes()
    elif isinstance(body, bytes):
        content = body
    else:
        content = json.dumps(body).encode()
    response._content = content
    response.encoding = "utf-8"
    response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **(headers or {})})
    response.url = request.url
    response.request = request
    return response


def make_client(transport: FakeTransport, clock: FakeClock, **kwargs) -> HttpClient:
    session = requests.Session()
    session.mount("https://", transport)
    session.mount("http://", transport)
    kwargs.setdefault("backoff_base", 1.0)
    return HttpClient(session, clock=clock.now, sleep=clock.sleep, **kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def transport(clock) -> FakeTransport:
    return FakeTransport(clock)


FMP = "/api/v3/historical-price-full/"
POLY = "/v2/aggs/ticker/"


def fmp(transport, clock, key: str | None = KEY, **client_kwargs) -> FMPProvider:
    return FMPProvider(key, client=make_client(transport, clock, **client_kwargs))


def polygon(transport, clock, key: str | None = KEY, **client_kwargs) -> PolygonProvider:
    return PolygonProvider(key, client=make_client(transport, clock, **client_kwargs))


def row(frame: pd.DataFrame, symbol: str, day: dt.date) -> dict:
    hit = frame[(frame["symbol"] == symbol) & (frame["date"] == day)]
    assert len(hit) == 1, f"expected one {symbol} bar on {day}, got {len(hit)}"
    return hit.iloc[0].to_dict()


def assert_bar_frame(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == BAR_COLUMNS
    assert all(isinstance(d, dt.date) and not isinstance(d, dt.datetime) for d in frame["date"])
    for col in ("open", "high", "low", "close", "adj_close"):
        assert frame[col].dtype == "float64", col
    assert str(frame["volume"].dtype) == "Int64"
    keys = list(zip(frame["symbol"], frame["date"]))
    assert keys == sorted(keys)


# --- the guard itself ------------------------------------------------------------------------


def test_network_guard_is_active():
    with pytest.raises(AssertionError, match="network connection"):
        socket.create_connection(("127.0.0.1", 9))
    with pytest.raises(AssertionError, match="network connection"):
        socket.socket().connect(("127.0.0.1", 9))


# --- protocol, construction, missing keys ----------------------------------------------------


def test_both_satisfy_the_price_provider_protocol():
    for provider in (
        FMPProvider(KEY),
        PolygonProvider(KEY),
        FMPProvider(None),
        PolygonProvider(None),
    ):
        assert isinstance(provider, PriceProvider)
        assert provider.available_symbols() is None
        assert KEY not in repr(provider)
    assert FMPProvider(None).name == "fmp"
    assert PolygonProvider(None).name == "polygon"


def test_default_clients_carry_the_vendor_rate_limits():
    fmp_limiter = FMPProvider(KEY).client.limiter
    poly_limiter = PolygonProvider(KEY).client.limiter
    assert (fmp_limiter.max_requests, fmp_limiter.period) == (300, 60.0)
    assert (poly_limiter.max_requests, poly_limiter.period) == (5, 60.0)


@pytest.mark.parametrize(
    "factory, message",
    [(fmp, "FMP_API_KEY is not set"), (polygon, "POLYGON_API_KEY is not set")],
)
@pytest.mark.parametrize("key", [None, ""])
def test_missing_key_raises_on_fetch_not_on_construction(transport, clock, factory, message, key):
    provider = factory(transport, clock, key=key)  # constructing is fine: `coverage` needs that
    with pytest.raises(ProviderError) as err:
        provider.fetch_daily_bars(["AAPL"], dt.date(2024, 1, 2), dt.date(2024, 1, 8))
    assert str(err.value) == message
    assert not isinstance(err.value, TransientProviderError)
    assert transport.requests == []


# --- FMP -------------------------------------------------------------------------------------


def test_fmp_parses_bars_oldest_first_with_exact_values(transport, clock):
    transport.route(FMP + "AAPL", (200, "fmp_AAPL.json"))
    frame = fmp(transport, clock).fetch_daily_bars(
        ["AAPL"], dt.date(2024, 1, 2), dt.date(2024, 1, 8)
    )

    assert_bar_frame(frame)
    # The fixture is newest first, as FMP sends it; the frame is oldest first.
    assert list(frame["date"]) == [
        dt.date(2024, 1, 2),
        dt.date(2024, 1, 3),
        dt.date(2024, 1, 4),
        dt.date(2024, 1, 5),
        dt.date(2024, 1, 8),
    ]
    assert row(frame, "AAPL", dt.date(2024, 1, 5)) == {
        "symbol": "AAPL",
        "date": dt.date(2024, 1, 5),
        "open": 181.99,
        "high": 182.76,
        "low": 180.17,
        "close": 181.18,
        "adj_close": 180.29,
        "volume": 62379661,
    }
    assert row(frame, "AAPL", dt.date(2024, 1, 4))["high"] == 183.0872

    (req,) = transport.requests
    assert req["path"] == FMP + "AAPL"
    assert req["query"] == {"from": ["2024-01-02"], "to": ["2024-01-08"], "apikey": [KEY]}
    assert req["timeout"] == (5.0, 30.0)


def test_fmp_filters_to_the_requested_range(transport, clock):
    # FMP may return more than asked for (the fixture also holds 2023-12-29 and 2024-01-08).
    transport.route(FMP + "AAPL", (200, "fmp_AAPL.json"))
    frame = fmp(transport, clock).fetch_daily_bars(
        ["AAPL"], dt.date(2024, 1, 3), dt.date(2024, 1, 5)
    )
    assert list(frame["date"]) == [dt.date(2024, 1, 3), dt.date(2024, 1, 4), dt.date(2024, 1, 5)]


def test_fmp_open_range_omits_from_and_to(transport, clock):
    transport.route(FMP + "AAPL", (200, "fmp_AAPL.json"))
    frame = fmp(transport, clock).fetch_daily_bars(["AAPL"], None, None)
    assert len(frame) == 6 and frame["date"].iloc[0] == dt.date(2023, 12, 29)
    assert transport.requests[0]["query"] == {"apikey": [KEY]}


def test_fmp_several_symbols_sorted_unknown_absent(transport, clock):
    transport.route(FMP + "AAPL", (200, "fmp_AAPL.json"))
    transport.route(FMP + "BRK-B", (200, "fmp_BRK-B.json"))
    transport.route(FMP + "ZZZZ", (200, "fmp_unknown.json"))
    transport.route(FMP + "QQQQ", (200, "fmp_error_symbol.json"))
    transport.route(FMP + "%5EGSPC", (200, []))
    frame = fmp(transport, clock).fetch_daily_bars(
        ["ZZZZ", "BRK-B", "AAPL", "QQQQ", "^GSPC", "AAPL"],
        dt.date(2024, 1, 1),
        dt.date(2024, 7, 31),
    )
    assert_bar_frame(frame)
    assert list(frame["symbol"].unique()) == ["AAPL", "BRK-B"]
    assert row(frame, "BRK-B", dt.date(2024, 7, 2))["close"] == 408.47
    # FMP spells class shares with a dash like we do; the index caret is URL-encoded; duplicates
    # are requested once.
    assert [r["path"] for r in transport.requests] == [
        FMP + "ZZZZ",
        FMP + "BRK-B",
        FMP + "AAPL",
        FMP + "QQQQ",
        FMP + "%5EGSPC",
    ]


def test_fmp_nothing_known_gives_an_empty_frame_with_the_columns(transport, clock):
    transport.route(FMP + "ZZZZ", (200, "fmp_unknown.json"))
    frame = fmp(transport, clock).fetch_daily_bars(["ZZZZ"], None, None)
    assert frame.empty and list(frame.columns) == BAR_COLUMNS


def test_fmp_invalid_key_message_in_a_200_body_raises(transport, clock):
    transport.route(FMP + "AAPL", (200, "fmp_invalid_key.json"))
    with pytest.raises(ProviderError, match="API key") as err:
        fmp(transport, clock).fetch_daily_bars(["AAPL"], None, None)
    assert not isinstance(err.value, TransientProviderError)
    assert KEY not in str(err.value)


def test_fmp_limit_reached_is_transient(transport, clock):
    transport.route(FMP + "AAPL", (200, "fmp_limit_reached.json"))
    with pytest.raises(TransientProviderError, match="quota"):
        fmp(transport, clock).fetch_daily_bars(["AAPL"], None, None)


def test_fmp_401_is_a_provider_error_without_the_key(transport, clock):
    transport.route(FMP + "AAPL", (401, "fmp_invalid_key.json"))
    with pytest.raises(ProviderError) as err:
        fmp(transport, clock).fetch_daily_bars(["AAPL"], dt.date(2024, 1, 2), None)
    exc = err.value
    assert isinstance(exc, HttpStatusError) and exc.status == 401
    assert not isinstance(exc, TransientProviderError)
    message = str(exc)
    assert "401" in message and "apikey=***" in message and "Invalid API KEY" in message
    assert KEY not in message
    assert KEY not in "".join(traceback.format_exception(exc))
    assert len(transport.requests) == 1  # a bad key is not retried
    assert clock.sleeps == []


def test_fmp_answer_for_another_symbol_is_rejected(transport, clock):
    transport.route(FMP + "MSFT", (200, "fmp_AAPL.json"))
    with pytest.raises(ProviderError, match="'AAPL' for a request for 'MSFT'"):
        fmp(transport, clock).fetch_daily_bars(["MSFT"], None, None)


# --- Polygon ---------------------------------------------------------------------------------


AAPL_RANGE = POLY + "AAPL/range/1/day/2024-01-02/2024-01-08"
PAGE2 = POLY + "AAPL/range/1/day/1704430800000/2024-01-08"


def test_polygon_follows_next_url_and_parses_exact_values(transport, clock):
    transport.route(AAPL_RANGE, (200, "polygon_AAPL_page1.json"))
    transport.route(PAGE2, (200, "polygon_AAPL_page2.json"))
    frame = polygon(transport, clock).fetch_daily_bars(
        ["AAPL"], dt.date(2024, 1, 2), dt.date(2024, 1, 8)
    )

    assert_bar_frame(frame)
    assert list(frame["date"]) == [
        dt.date(2024, 1, 2),
        dt.date(2024, 1, 3),
        dt.date(2024, 1, 4),
        dt.date(2024, 1, 5),
        dt.date(2024, 1, 8),
    ]
    assert row(frame, "AAPL", dt.date(2024, 1, 2)) == {
        "symbol": "AAPL",
        "date": dt.date(2024, 1, 2),
        "open": 187.15,
        "high": 188.44,
        "low": 183.885,
        "close": 185.64,
        "adj_close": 185.64,
        "volume": 82488674,
    }
    # adjusted=true closes are split- (not dividend-) adjusted: adj_close is that close.
    assert (frame["adj_close"] == frame["close"]).all()

    first, second = transport.requests
    assert first["path"] == AAPL_RANGE
    assert first["query"] == {"adjusted": ["true"], "sort": ["asc"], "limit": ["50000"]}
    assert (
        second["url"] == json.loads((FIXTURES / "polygon_AAPL_page1.json").read_text())["next_url"]
    )
    for req in (first, second):
        assert req["headers"]["Authorization"] == f"Bearer {KEY}"
        assert KEY not in req["url"]  # the key travels in the header only


def test_polygon_maps_class_shares_and_dst_dates(transport, clock):
    transport.route(POLY + "BRK.B/range/1/day/2024-07-01/2024-07-03", (200, "polygon_BRK.B.json"))
    frame = polygon(transport, clock).fetch_daily_bars(
        ["BRK-B"], dt.date(2024, 7, 1), dt.date(2024, 7, 3)
    )
    # Summer bars are stamped 04:00 UTC (midnight EDT), status DELAYED is still data.
    assert list(frame["symbol"].unique()) == ["BRK-B"]
    assert list(frame["date"]) == [dt.date(2024, 7, 1), dt.date(2024, 7, 2), dt.date(2024, 7, 3)]
    assert row(frame, "BRK-B", dt.date(2024, 7, 3))["close"] == 409.18


def test_polygon_filters_range_unknown_and_index_absent(transport, clock):
    transport.route(
        POLY + "AAPL/range/1/day/2024-01-03/2024-01-04", (200, "polygon_AAPL_page2.json")
    )
    transport.route(POLY + "ZZZZ/range/1/day/2024-01-03/2024-01-04", (200, "polygon_unknown.json"))
    frame = polygon(transport, clock).fetch_daily_bars(
        ["^GSPC", "ZZZZ", "AAPL"], dt.date(2024, 1, 3), dt.date(2024, 1, 4)
    )
    # page2 holds 01-05 and 01-08 only: everything is outside the range, so nothing survives.
    assert frame.empty and list(frame.columns) == BAR_COLUMNS
    # No request for the index: the stocks API has no ^GSPC.
    assert [r["path"].split("/")[4] for r in transport.requests] == ["ZZZZ", "AAPL"]


def test_polygon_status_not_authorized_raises(transport, clock):
    transport.route(AAPL_RANGE, (200, "polygon_not_authorized.json"))
    with pytest.raises(ProviderError, match="NOT_AUTHORIZED"):
        polygon(transport, clock).fetch_daily_bars(
            ["AAPL"], dt.date(2024, 1, 2), dt.date(2024, 1, 8)
        )


@pytest.mark.parametrize("status", [401, 403])
def test_polygon_rejected_key_is_a_provider_error_without_the_key(transport, clock, status):
    transport.route(AAPL_RANGE, (status, "polygon_unknown_key.json"))
    with pytest.raises(ProviderError) as err:
        polygon(transport, clock).fetch_daily_bars(
            ["AAPL"], dt.date(2024, 1, 2), dt.date(2024, 1, 8)
        )
    assert getattr(err.value, "status", None) == status
    assert "Unknown API Key" in str(err.value) and KEY not in str(err.value)
    assert len(transport.requests) == 1


def test_polygon_status_error_in_body_raises(transport, clock):
    transport.route(AAPL_RANGE, (200, "polygon_unknown_key.json"))
    with pytest.raises(ProviderError, match="status ERROR Unknown API Key"):
        polygon(transport, clock).fetch_daily_bars(
            ["AAPL"], dt.date(2024, 1, 2), dt.date(2024, 1, 8)
        )


def test_polygon_refuses_to_send_the_key_to_another_host(transport, clock):
    page = json.loads((FIXTURES / "polygon_AAPL_page1.json").read_text())
    page["next_url"] = "https://evil.example.com/v2/aggs/next?cursor=abc"
    transport.route(AAPL_RANGE, (200, page))
    with pytest.raises(ProviderError, match="refusing to send the key"):
        polygon(transport, clock).fetch_daily_bars(
            ["AAPL"], dt.date(2024, 1, 2), dt.date(2024, 1, 8)
        )
    assert [urlsplit(r["url"]).netloc for r in transport.requests] == ["api.polygon.io"]


def test_polygon_next_url_loop_is_detected(transport, clock):
    page = json.loads((FIXTURES / "polygon_AAPL_page2.json").read_text())
    page["next_url"] = "https://api.polygon.io" + PAGE2
    transport.route(PAGE2, (200, page))
    transport.route(AAPL_RANGE, (200, {**page}))
    with pytest.raises(ProviderError, match="does not end"):
        polygon(transport, clock).fetch_daily_bars(
            ["AAPL"], dt.date(2024, 1, 2), dt.date(2024, 1, 8)
        )


@pytest.mark.parametrize(
    "ms, expected",
    [
        (1704430800000, dt.date(2024, 1, 5)),  # 2024-01-05 05:00Z = midnight EST
        (1720152000000, dt.date(2024, 7, 5)),  # 2024-07-05 04:00Z = midnight EDT
        (1704499200000, dt.date(2024, 1, 5)),  # 2024-01-06 00:00Z = 19:00 EST on the 5th
        (1704515400000, dt.date(2024, 1, 5)),  # 2024-01-06 04:30Z = 23:30 EST on the 5th
        (1710050400000, dt.date(2024, 3, 10)),  # 2024-03-10 06:00Z: DST starts that night
    ],
)
def test_ms_epoch_to_us_eastern_trading_date(ms, expected):
    assert trading_date(ms) == expected


def test_polygon_ticker_mapping_round_trips():
    assert to_polygon_ticker("BRK-B") == "BRK.B"
    assert to_polygon_ticker("brk-b") == "BRK.B"
    assert to_polygon_ticker("^GSPC") is None
    assert from_polygon_ticker("BRK.B") == "BRK-B"
    assert from_polygon_ticker(to_polygon_ticker("BF-B")) == "BF-B"


# --- HttpClient: retries, backoff, Retry-After -----------------------------------------------


def test_retries_5xx_with_exponential_backoff_then_succeeds(transport, clock):
    transport.route(FMP + "AAPL", (500, {}), (502, {}), (503, {}), (200, "fmp_AAPL.json"))
    frame = fmp(transport, clock).fetch_daily_bars(["AAPL"], None, None)
    assert len(frame) == 6
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert len(transport.requests) == 4


def test_backoff_is_capped(clock):
    client = HttpClient(requests.Session(), backoff_base=1.0, backoff_max=5.0)
    assert [client.backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_429_honours_retry_after(transport, clock):
    transport.route(
        FMP + "AAPL", (429, {"message": "slow down"}, {"Retry-After": "7"}), (200, "fmp_AAPL.json")
    )
    frame = fmp(transport, clock).fetch_daily_bars(["AAPL"], None, None)
    assert not frame.empty
    assert clock.sleeps == [7.0]


def test_429_without_retry_after_backs_off(transport, clock):
    transport.route(FMP + "AAPL", (429, {}), (429, {}), (200, "fmp_AAPL.json"))
    fmp(transport, clock).fetch_daily_bars(["AAPL"], None, None)
    assert clock.sleeps == [1.0, 2.0]


def test_retry_after_beyond_the_cap_gives_up_at_once(transport, clock):
    transport.route(FMP + "AAPL", (429, {}, {"Retry-After": "86400"}))
    with pytest.raises(TransientProviderError, match="retry after 86400s"):
        fmp(transport, clock).fetch_daily_bars(["AAPL"], None, None)
    assert len(transport.requests) == 1 and clock.sleeps == []


def test_retry_after_parsing():
    assert _parse_retry_after("12") == 12.0
    assert _parse_retry_after("0.5") == 0.5
    assert _parse_retry_after(None) is None
    assert _parse_retry_after("soon") is None
    assert _parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: go now
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=90)
    header = future.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 80 <= _parse_retry_after(header) <= 91


def test_timeouts_and_connection_errors_are_retried(transport, clock):
    leaky = f"https://financialmodelingprep.com/api/v3/historical-price-full/AAPL?apikey={KEY}"
    transport.route(
        FMP + "AAPL",
        requests.ConnectTimeout(f"HTTPSConnectionPool: Max retries exceeded with url: {leaky}"),
        requests.ReadTimeout("read timed out"),
        requests.ConnectionError("connection reset"),
        (200, "fmp_AAPL.json"),
    )
    frame = fmp(transport, clock).fetch_daily_bars(["AAPL"], None, None)
    assert not frame.empty and clock.sleeps == [1.0, 2.0, 4.0]


def test_retries_exhausted_raise_transient_without_the_key(transport, clock, caplog):
    leaky = f"https://financialmodelingprep.com/api/v3/historical-price-full/AAPL?apikey={KEY}"
    transport.route(FMP + "AAPL", requests.ConnectTimeout(f"timed out: {leaky}"))
    provider = fmp(transport, clock, max_retries=3)
    with caplog.at_level(logging.WARNING, logger="webapp.marketdata.http"):
        with pytest.raises(TransientProviderError) as err:
            provider.fetch_daily_bars(["AAPL"], None, None)
    exc = err.value
    assert "gave up after 4 attempts" in str(exc) and "ConnectTimeout" in str(exc)
    assert len(transport.requests) == 4 and clock.sleeps == [1.0, 2.0, 4.0]
    assert KEY not in str(exc)
    assert KEY not in "".join(traceback.format_exception(exc))
    assert len(caplog.records) == 3 and KEY not in caplog.text and "apikey=***" in caplog.text


def test_5xx_exhausted_is_transient(transport, clock):
    transport.route(AAPL_RANGE, (503, {"status": "ERROR"}))
    with pytest.raises(TransientProviderError, match="HTTP 503"):
        polygon(transport, clock, max_retries=2).fetch_daily_bars(
            ["AAPL"], dt.date(2024, 1, 2), dt.date(2024, 1, 8)
        )
    assert len(transport.requests) == 3 and clock.sleeps == [1.0, 2.0]


def test_404_is_not_retried(transport, clock):
    with pytest.raises(HttpStatusError) as err:
        fmp(transport, clock).fetch_daily_bars(["AAPL"], None, None)  # no route: 404
    assert err.value.status == 404 and len(transport.requests) == 1


def test_non_json_body_is_a_provider_error(transport, clock):
    transport.route(FMP + "AAPL", (200, b"<html>maintenance</html>"))
    with pytest.raises(ProviderError, match="not JSON") as err:
        fmp(transport, clock).fetch_daily_bars(["AAPL"], None, None)
    assert not isinstance(err.value, TransientProviderError)


def test_redaction_of_params_and_known_secrets(clock):
    client = HttpClient(requests.Session(), secrets=[KEY])
    described = client.describe("https://x.test/a", {"from": "2024-01-01", "apikey": KEY})
    assert described == "https://x.test/a?from=2024-01-01&apikey=***"
    assert client.redact(f"Bearer {KEY} and apiKey=other&x=1") == "Bearer *** and apiKey=***&x=1"


# --- HttpClient: rate limit ------------------------------------------------------------------


def test_rate_limiter_allows_n_per_period_sliding_window(clock):
    limiter = RateLimiter(2, 10.0, clock=clock.now, sleep=clock.sleep)
    starts = []
    for _ in range(5):
        limiter.acquire()
        starts.append(clock.now())
    assert starts == [0.0, 0.0, 10.0, 10.0, 20.0]
    clock.now_s = 45.0  # a quiet spell frees the window: no wait
    assert limiter.acquire() == 0.0 and clock.now() == 45.0


def test_client_spaces_requests_by_the_rate_limit(transport, clock):
    transport.route(FMP + "AAPL", (200, "fmp_AAPL.json"))
    transport.route(FMP + "BRK-B", (200, "fmp_BRK-B.json"))
    transport.route(FMP + "ZZZZ", (200, "fmp_unknown.json"))
    provider = fmp(transport, clock, rate_limit=(2, 60.0))
    provider.fetch_daily_bars(["AAPL", "BRK-B", "ZZZZ"], None, None)
    provider.fetch_daily_bars(["AAPL"], None, None)
    assert [r["at"] for r in transport.requests] == [0.0, 0.0, 60.0, 60.0]
    assert clock.sleeps == [60.0]


def test_retries_count_against_the_rate_limit(transport, clock):
    transport.route(FMP + "AAPL", (500, {}), (200, "fmp_AAPL.json"))
    fmp(transport, clock, rate_limit=(1, 30.0)).fetch_daily_bars(["AAPL"], None, None)
    # backoff 1s, then the limiter waits out the rest of the 30s window
    assert [r["at"] for r in transport.requests] == [0.0, 30.0]
    assert clock.sleeps == [1.0, 29.0]


# --- frame helper ----------------------------------------------------------------------------


def test_bars_frame_types_rounds_volume_and_keeps_missing_as_na():
    frame = bars_frame(
        [
            {
                "symbol": "B",
                "date": dt.date(2024, 1, 3),
                "open": None,
                "high": None,
                "low": None,
                "close": 10,
                "adj_close": 9.5,
                "volume": None,
            },
            {
                "symbol": "A",
                "date": dt.date(2024, 1, 2),
                "open": 1,
                "high": 2,
                "low": 0.5,
                "close": 1.5,
                "adj_close": 1.5,
                "volume": 70071234.6,
            },
        ]
    )
    assert_bar_frame(frame)
    assert list(frame["symbol"]) == ["A", "B"]
    assert frame["volume"].iloc[0] == 70071235 and pd.isna(frame["volume"].iloc[1])
    assert pd.isna(frame["open"].iloc[1])
    assert list(bars_frame([]).columns) == BAR_COLUMNS

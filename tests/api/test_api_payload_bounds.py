"""/data payloads are bounded (a documented byte budget, pages by cursor) and compressed."""

from __future__ import annotations

import gzip
import json

import brotli
import pytest

from webapp.extensions import db
from webapp.models import Portfolio
from webapp.services import market_views

HISTORY = "/api/v1/data/prices/historical/{id}"


def test_a_long_history_is_cut_to_the_budget_and_paged_by_cursor(client, ctx, books_no_batch):
    book = books_no_batch["hedgefundstyle"]
    portfolio = db.session.get(Portfolio, book.portfolio_id)
    # A small budget on the service, so the demo book needs several pages.
    first = market_views.historical_prices(portfolio, lookback_days=1260, max_bytes=200_000)
    meta = first["metadata"]
    assert meta["truncated_by_size"] and meta["next_cursor"] == meta["symbols_returned"] > 0
    assert len(json.dumps(first, separators=(",", ":"), default=str)) <= 200_000
    seen, cursor = list(first["symbols"]), meta["next_cursor"]
    while cursor is not None:
        page = market_views.historical_prices(
            portfolio, lookback_days=1260, cursor=cursor, max_bytes=200_000
        )
        assert len(json.dumps(page, separators=(",", ":"), default=str)) <= 200_000
        seen += list(page["symbols"])
        cursor = page["metadata"]["next_cursor"]
    # Every symbol exactly once, in the largest-first order of an uncut answer.
    everything = market_views.historical_prices(portfolio, lookback_days=5, max_bytes=10**9)
    assert seen == list(everything["symbols"]) and len(seen) == meta["total_symbols"]


def test_the_api_answer_stays_under_the_documented_maximum(client, books_no_batch):
    book = books_no_batch["hedgefundstyle"]
    resp = client.get(
        HISTORY.format(id=book.portfolio_id) + "?lookback_days=1260&include_factor_etfs=true",
        headers=book.headers,
    )
    assert resp.status_code == 200
    body = resp.get_json()
    size = len(json.dumps(body, separators=(",", ":")))
    assert size <= market_views.MAX_PAYLOAD_BYTES == body["metadata"]["max_bytes"]
    meta = body["metadata"]
    if meta["next_cursor"] is not None:
        nxt = client.get(
            HISTORY.format(id=book.portfolio_id)
            + f"?lookback_days=1260&cursor={meta['next_cursor']}",
            headers=book.headers,
        ).get_json()
        assert nxt["metadata"]["cursor"] == meta["next_cursor"]
        assert not set(nxt["symbols"]) & set(body["symbols"])


@pytest.mark.parametrize(
    ("encoding", "decode"), [("gzip", gzip.decompress), ("br", brotli.decompress)]
)
def test_json_is_compressed_when_asked(client, books_no_batch, encoding, decode):
    book = books_no_batch["hedgefundstyle"]
    url = HISTORY.format(id=book.portfolio_id) + "?lookback_days=252"
    plain = client.get(url, headers=book.headers)
    packed = client.get(url, headers={**book.headers, "Accept-Encoding": encoding})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == encoding
    assert json.loads(decode(packed.data)) == plain.get_json()
    assert len(packed.data) < len(plain.data) / 2  # prices: digits compress about 2.3x

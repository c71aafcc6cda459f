"""The stale-prices banner and the Market data page: the prices' age against today, said aloud."""

from __future__ import annotations

import datetime as dt
import json
import re
import struct

import pandas as pd
import pytest

from webapp.services import freshness

AS_OF = dt.date(2026, 8, 3)  # the bundled dataset's newest close (a Monday)


def move_clock(monkeypatch, day: dt.date) -> None:
    monkeypatch.setattr(freshness, "today", lambda: day)


@pytest.mark.parametrize(
    ("then", "now", "words"),
    [
        (AS_OF, AS_OF, "0 days"),
        (AS_OF, dt.date(2026, 8, 4), "1 day"),
        (AS_OF, dt.date(2026, 8, 16), "13 days"),
        (AS_OF, dt.date(2026, 8, 17), "2 weeks"),
        (AS_OF, dt.date(2026, 10, 2), "8 weeks"),  # one day short of two months
        (AS_OF, dt.date(2026, 10, 3), "2 months"),
        (AS_OF, dt.date(2026, 12, 3), "4 months"),
        (AS_OF, dt.date(2027, 8, 3), "1 year"),
        (AS_OF, dt.date(2028, 10, 5), "2 years and 2 months"),
        (dt.date(2026, 1, 31), dt.date(2026, 3, 30), "8 weeks"),
        (dt.date(2026, 1, 31), dt.date(2026, 3, 31), "2 months"),
    ],
)
def test_age_in_words(then, now, words):
    assert freshness.age_in_words(then, now) == words


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (AS_OF, AS_OF),
        (dt.date(2026, 7, 31), AS_OF),  # Friday -> Monday
        (dt.date(2026, 8, 1), dt.date(2026, 8, 2)),  # Saturday -> Sunday
        (AS_OF, dt.date(2026, 12, 3)),
        (dt.date(2026, 12, 3), AS_OF),  # backwards
    ],
)
def test_trading_days_between_counts_weekdays_after_start_through_end(start, end):
    expected = len(pd.bdate_range(start + dt.timedelta(days=1), end)) if end > start else 0
    assert freshness.trading_days_between(start, end) == expected


def test_trading_days_between_known_values():
    assert freshness.trading_days_between(dt.date(2026, 7, 31), AS_OF) == 1
    assert freshness.trading_days_between(AS_OF, dt.date(2026, 8, 7)) == 4
    assert freshness.long_date(AS_OF) == "Aug 3, 2026"


@pytest.fixture()
def hnw_client(client):
    client.post("/login", data={"email": "demo_hnw@sigmasight.com", "password": "demo12345"})
    return client


def test_banner_says_how_old_the_prices_are_on_every_advisor_page(hnw_client, monkeypatch):
    move_clock(monkeypatch, dt.date(2026, 12, 3))
    for path in ("/portfolios/", "/market-data", "/methodology/validation", "/imports/new"):
        resp = hnw_client.get(path)
        assert resp.status_code == 200, path
        html = resp.get_data(as_text=True)
        assert 'id="stale-prices"' in html, path
        assert "Prices as of Aug 3, 2026 — 4 months old." in html, path
        assert 'href="/market-data">Connect a data provider to refresh</a>' in html, path
        assert 'data-trading-days-behind="88"' in html, path


@pytest.mark.parametrize(
    ("today", "shown"),
    [
        (dt.date(2026, 8, 3), False),
        (dt.date(2026, 8, 6), False),  # three weekdays behind: the threshold
        (dt.date(2026, 8, 7), True),  # four
        (dt.date(2026, 8, 9), True),  # a Sunday, still four
    ],
)
def test_banner_threshold_is_a_few_trading_days(hnw_client, monkeypatch, today, shown):
    move_clock(monkeypatch, today)
    resp = hnw_client.get("/portfolios/")
    assert resp.status_code == 200 and "Your portfolios" in resp.get_data(as_text=True)
    assert ('id="stale-prices"' in resp.get_data(as_text=True)) is shown


def test_threshold_comes_from_config(app, hnw_client, monkeypatch):
    move_clock(monkeypatch, dt.date(2026, 8, 6))
    monkeypatch.setitem(app.config, "PRICES_STALE_AFTER_TRADING_DAYS", 2)
    assert 'id="stale-prices"' in hnw_client.get("/portfolios/").get_data(as_text=True)


def test_no_banner_before_login(client, monkeypatch):
    move_clock(monkeypatch, dt.date(2026, 12, 3))
    html = client.get("/login").get_data(as_text=True)
    assert "stale-prices" not in html
    assert client.get("/market-data").status_code == 302


def test_market_data_page_lists_only_this_advisors_holdings(
    app, ctx, factory, auth, client, monkeypatch
):
    move_clock(monkeypatch, dt.date(2026, 12, 3))
    mine = factory.user()
    other = factory.user()
    factory.portfolio(
        mine,
        positions=[
            {"symbol": "AAPL", "quantity": 10, "entry_price": 100.0},
            {"symbol": "UNH", "quantity": 5, "entry_price": 400.0},  # history ends 2023-10-27
            {"symbol": "ZZNOPRICE", "quantity": 1, "entry_price": 1.0},
        ],
    )
    factory.portfolio(other, positions=[{"symbol": "MSFT", "quantity": 1, "entry_price": 1.0}])
    monkeypatch.setitem(app.config, "FMP_API_KEY", "fmp-secret-value")
    auth.login(mine.email)
    html = client.get("/market-data").get_data(as_text=True)
    assert "from <strong>Aug 3, 2026</strong>, 4 months before today" in html
    assert "the bundled dataset" in html
    assert 'data-symbol="AAPL">' in html and 'data-symbol="MSFT"' not in html
    assert 'data-symbol="UNH" class="stale"' in html
    assert 'data-symbol="ZZNOPRICE" class="stale"' in html
    assert 'ZZNOPRICE <span class="badge badge-stale">no prices</span>' in html
    assert "FMP key set" in html and "POLYGON key not set" in html
    assert "fmp-secret-value" not in html


def test_market_data_page_rows_match_the_coverage_report(ctx, factory, auth, client):
    from webapp.marketdata.coverage import coverage_report

    user = factory.user()
    factory.portfolio(user, positions=[{"symbol": "UNH", "quantity": 5, "entry_price": 400.0}])
    (unh,) = coverage_report(["UNH"])
    assert unh.last_date == dt.date(2023, 10, 27) and unh.stale_days > 600
    auth.login(user.email)
    html = client.get("/market-data").get_data(as_text=True)
    row = html.split('data-symbol="UNH"', 1)[1].split("</tr>", 1)[0]
    assert "2023-10-27" in row and f'<td class="num">{unh.stale_days}</td>' in row


def test_every_page_links_the_icons_and_they_are_served(hnw_client, client):
    html = hnw_client.get("/portfolios/").get_data(as_text=True)
    links = re.findall(r'<link rel="(icon|apple-touch-icon|manifest)" href="([^"]+)"', html)
    assert {rel for rel, _ in links} == {"icon", "apple-touch-icon", "manifest"}
    for _, href in links:
        resp = client.get(href)
        assert resp.status_code == 200, href
        assert resp.data, href
        # Fingerprinted and immutable: a browser fetches each icon once per version.
        assert re.search(r"\.[0-9a-f]{12}\.[a-z]+$", href), href
        assert "immutable" in resp.headers["Cache-Control"], href
    icon = client.get("/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
    png = client.get(dict((r, h) for r, h in links)["apple-touch-icon"])
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png.data[16:24]) == (180, 180)
    manifest = json.loads(client.get(dict(links)["manifest"]).data)
    for entry in manifest["icons"]:
        assert client.get(entry["src"]).status_code == 200, entry["src"]


@pytest.fixture()
def old_close(ctx):
    """ZOLD: closes up to Fri 2026-07-31 only (no bar on the as-of date), ZSTL up to 2026-07-20
    (more than a week before it); removed afterwards."""
    from sqlalchemy import delete

    from webapp.extensions import db
    from webapp.models import PriceBar
    from webapp.services import price_panel, valuation

    for symbol, day, close in (
        ("ZOLD", dt.date(2026, 7, 30), 20.0),
        ("ZOLD", dt.date(2026, 7, 31), 21.0),
        ("ZSTL", dt.date(2026, 7, 20), 5.0),
    ):
        db.session.add(PriceBar(symbol=symbol, date=day, adj_close=close, source="test"))
    db.session.commit()
    yield "ZOLD"
    db.session.execute(delete(PriceBar).where(PriceBar.symbol.in_(["ZOLD", "ZSTL"])))
    db.session.commit()
    valuation._CACHE.clear()
    price_panel.clear()


def test_positions_flag_stale_missing_and_old_closes(ctx, factory, auth, client, old_close):
    user = factory.user()
    book = factory.portfolio(
        user,
        positions=[
            {"symbol": "AAPL", "quantity": 10, "entry_price": 100.0},
            {"symbol": "ZSTL", "quantity": 5, "entry_price": 4.0},
            {"symbol": "UNH", "quantity": 5, "entry_price": 400.0},  # last close 2023-10-27
            {"symbol": old_close, "quantity": 3, "entry_price": 19.0},
        ],
    )
    ids = {p.symbol: p.id for p in book.positions}
    auth.login(user.email)
    html = client.get(f"/portfolios/{book.id}").get_data(as_text=True)

    def row(symbol):
        return html.split(f'data-symbol="{symbol}"', 1)[1].split("</tr>", 1)[0]

    assert "stale: last close 2026-07-20" in row("ZSTL")
    assert ">no recent price</span>" in row("UNH")
    assert ">close of 2026-07-31</span>" in row(old_close) and "$21.00" in row(old_close)
    assert "badge-stale" not in row("AAPL") and "close of" not in row("AAPL")

    def flag(symbol):
        page = client.get(f"/portfolios/{book.id}/positions/{ids[symbol]}").get_data(as_text=True)
        found = re.search(r'id="price-flag" data-status="([a-z_]+)">(.*?)</div>', page, re.S)
        return found and (found[1], re.sub(r"<[^>]+>", "", found[2]))

    assert flag("AAPL") is None
    assert flag("ZSTL") == (
        "stale_price",
        "Stale price. The last close of ZSTL is from 2026-07-20, more than a week before "
        "2026-08-03: this position is not valued and is left out of every analytics page "
        "until a newer price arrives.",
    )
    assert flag("UNH")[0] == "no_prices"
    assert flag(old_close) == (
        "old_close",
        "ZOLD has no close on 2026-08-03: valued at its last close, of 2026-07-31.",
    )

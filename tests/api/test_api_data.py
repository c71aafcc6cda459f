"""GET /api/v1/data/*: raw data — auth, ownership, parameters, values checked against the DB."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from sqlalchemy import delete, select

from webapp.analytics.factors import FACTORS
from webapp.extensions import db
from webapp.models import Portfolio, PriceBar
from webapp.services import market_views, price_panel
from webapp.services.queries import latest_price_date

PORTFOLIO_PATHS = [
    "/api/v1/data/portfolio/{id}/complete",
    "/api/v1/data/portfolio/{id}/data-quality",
    "/api/v1/data/prices/historical/{id}",
    "/api/v1/data/positions/details?portfolio_id={id}",
]
OTHER_PATHS = [
    "/api/v1/data/portfolios",
    "/api/v1/data/prices/quotes?symbols=AAPL",
    "/api/v1/data/factors/etf-prices",
]


def last_close(symbol: str, on: dt.date | str) -> tuple[dt.date, float]:
    row = db.session.execute(
        select(PriceBar.date, PriceBar.adj_close)
        .where(PriceBar.symbol == symbol, PriceBar.date <= on)
        .order_by(PriceBar.date.desc())
        .limit(1)
    ).one()
    return row[0], row[1]


def trading_days(as_of: dt.date, n: int) -> list[dt.date]:
    rows = db.session.scalars(
        select(PriceBar.date)
        .where(PriceBar.symbol == "SPY", PriceBar.date <= as_of)
        .order_by(PriceBar.date.desc())
        .limit(n)
    )
    return sorted(rows)


def assert_error(resp, status: int, field: str | None = None) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    error = resp.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    if field:
        assert error["details"]["field"] == field and field in error["message"]
    return error


@pytest.mark.parametrize("path", PORTFOLIO_PATHS + OTHER_PATHS)
def test_requires_credentials(client, books_no_batch, path):
    resp = client.get(path.format(id=books_no_batch["individual"].portfolio_id))
    assert_error(resp, 401)


@pytest.mark.parametrize("path", PORTFOLIO_PATHS)
def test_another_advisors_portfolio_is_404(client, books_no_batch, stranger, path):
    book = books_no_batch["hnw"]
    resp = client.get(path.format(id=book.portfolio_id), headers=stranger.headers)
    assert_error(resp, 404)
    assert "HNW" not in resp.get_data(as_text=True)


def test_portfolios_lists_only_the_callers(client, books_no_batch, stranger):
    body = client.get("/api/v1/data/portfolios", headers=stranger.headers).get_json()
    assert [p["id"] for p in body["portfolios"]] == [stranger.portfolio_id] and body["count"] == 1
    assert body["portfolios"][0]["created_at"].endswith("Z")


def test_complete_matches_the_database(client, ctx, books_no_batch):
    book = books_no_batch["hedgefundstyle"]
    portfolio = db.session.get(Portfolio, book.portfolio_id)
    body = client.get(
        f"/api/v1/data/portfolio/{book.portfolio_id}/complete", headers=book.headers
    ).get_json()
    expected = market_views.portfolio_complete(portfolio)
    assert body["generated_at"].endswith("Z")
    assert {k: v for k, v in body.items() if k != "generated_at"} == {
        k: v for k, v in expected.items() if k != "generated_at"
    }
    as_of = latest_price_date()
    assert body["as_of"] == as_of.isoformat()
    assert len(body["positions"]) == len(portfolio.positions) == body["portfolio"]["position_count"]
    underlyings = {p.price_symbol for p in portfolio.positions}
    assert set(body["prices"]) == underlyings
    for symbol, quote in body["prices"].items():
        day, close = last_close(symbol, as_of)
        assert (quote["date"], quote["price"]) == (day.isoformat(), close)
    ok = [p for p in body["positions"] if p["status"] == "ok"]
    assert body["summary"]["equity"] == pytest.approx(
        sum(p["market_value"] for p in ok) + portfolio.cash
    )
    assert body["portfolio"]["total_value"] == body["summary"]["equity"]
    assert body["data_quality"]["missing_prices"] == [] and body["portfolio"][
        "created_at"
    ].endswith("Z")


@pytest.fixture()
def gappy(ctx, factory, client):
    """A book holding AAPL and ZGAP, a symbol with gaps and a stale last price, plus NOPRICE."""
    from tests.api.conftest import Book, bearer, login_token

    as_of = latest_price_date()
    days = trading_days(as_of, 30)
    held = [
        d for i, d in enumerate(days) if not (10 <= i < 13) and i < 27
    ]  # 3-day hole, stale 3 days
    db.session.add_all(
        PriceBar(symbol="ZGAP", date=d, adj_close=10.0 + i, source="test")
        for i, d in enumerate(held)
    )
    db.session.commit()
    user = factory.user()
    portfolio = factory.portfolio(
        user,
        positions=[
            {"symbol": "AAPL", "quantity": 5.0, "entry_price": 100.0},
            {"symbol": "ZGAP", "quantity": 5.0, "entry_price": 10.0},
            {"symbol": "NOPRICE", "quantity": 5.0, "entry_price": 10.0},
        ],
    )
    yield (
        Book(
            user.email,
            user.id,
            portfolio.id,
            bearer(login_token(client, user.email, factory.password)),
        ),
        days,
    )
    db.session.execute(
        delete(PriceBar).where(PriceBar.symbol == "ZGAP")
    )  # leave the shared DB as found
    db.session.commit()
    price_panel.clear()  # a deletion the in-memory panel cannot see


def test_data_quality_reports_gaps_staleness_and_missing_symbols(client, gappy):
    book, days = gappy
    body = client.get(
        f"/api/v1/data/portfolio/{book.portfolio_id}/data-quality?lookback_days=30",
        headers=book.headers,
    ).get_json()
    assert body["lookback_days"] == 30 and body["window"]["trading_days"] == 30
    assert (
        body["window"]["start"] == days[0].isoformat()
        and body["window"]["end"] == days[-1].isoformat()
    )
    rows = {r["symbol"]: r for r in body["symbols"]}
    assert rows["AAPL"]["completeness"] == 1.0 and rows["AAPL"]["gap_days"] == 0
    z = rows["ZGAP"]
    assert z["trading_days"] == 24 and z["expected_days"] == 30 and z["gap_days"] == 6
    assert z["completeness"] == pytest.approx(24 / 30)
    assert z["gap_ranges"] == [
        [days[10].isoformat(), days[12].isoformat()],
        [days[27].isoformat(), days[29].isoformat()],
    ]
    assert z["last_date"] == days[26].isoformat() and z["stale_days"] == 3
    assert body["missing_symbols"] == ["NOPRICE"] and rows["NOPRICE"]["trading_days"] == 0
    assert body["summary"] == {
        "symbols": 3,
        "complete": 1,
        "partial": 1,
        "missing": 1,
        "average_completeness": pytest.approx((1 + 24 / 30) / 3),
    }
    factor = body["feasibility"]["factor_exposures"]
    assert factor["eligible"] == ["AAPL"] and {r["symbol"] for r in factor["ineligible"]} == {
        "NOPRICE",
        "ZGAP",
    }


def test_data_quality_parameter_range(client, books_no_batch):
    book = books_no_batch["individual"]
    resp = client.get(
        f"/api/v1/data/portfolio/{book.portfolio_id}/data-quality?lookback_days=5",
        headers=book.headers,
    )
    error = assert_error(resp, 400, "lookback_days")
    assert (error["details"]["min"], error["details"]["max"]) == (20, 1260)


def test_historical_prices_are_aligned_and_equal_stored_closes(client, ctx, books_no_batch):
    book = books_no_batch["individual"]
    body = client.get(
        f"/api/v1/data/prices/historical/{book.portfolio_id}?lookback_days=20", headers=book.headers
    ).get_json()
    days = trading_days(latest_price_date(), 20)
    assert body["dates"] == [d.isoformat() for d in days]
    portfolio = db.session.get(Portfolio, book.portfolio_id)
    assert set(body["symbols"]) == {p.symbol for p in portfolio.positions}
    for symbol, series in body["symbols"].items():
        assert len(series["adj_close"]) == 20
        stored = dict(
            db.session.execute(
                select(PriceBar.date, PriceBar.adj_close).where(
                    PriceBar.symbol == symbol, PriceBar.date >= days[0]
                )
            ).all()
        )
        assert series["adj_close"] == [stored.get(d) for d in days]
    meta = body["metadata"]
    assert meta["truncated"] is False and meta["total_symbols"] == meta["symbols_returned"] == 16
    assert meta["date_format"] == "iso" and "factor_etfs" not in body


def test_historical_max_symbols_truncates_largest_first_and_says_so(client, ctx, books_no_batch):
    book = books_no_batch["hedgefundstyle"]
    body = client.get(
        f"/api/v1/data/prices/historical/{book.portfolio_id}?max_symbols=3&lookback_days=5",
        headers=book.headers,
    ).get_json()
    meta = body["metadata"]
    assert len(body["symbols"]) == 3 == meta["symbols_returned"] == meta["max_symbols"]
    assert meta["truncated"] is True and meta["total_symbols"] == 25
    assert len(meta["omitted_symbols"]) == 22 and not set(meta["omitted_symbols"]) & set(
        body["symbols"]
    )
    view = client.get(
        f"/api/v1/data/positions/details?portfolio_id={book.portfolio_id}", headers=book.headers
    ).get_json()
    size: dict[str, float] = {}
    for p in view["positions"]:
        size[p["underlying"]] = size.get(p["underlying"], 0) + abs(p["market_value"])
    assert set(body["symbols"]) == set(sorted(size, key=size.get, reverse=True)[:3])


def test_historical_unix_dates_and_factor_etfs(client, ctx, books_no_batch):
    book = books_no_batch["individual"]
    body = client.get(
        f"/api/v1/data/prices/historical/{book.portfolio_id}?lookback_days=3"
        "&date_format=unix&include_factor_etfs=true",
        headers=book.headers,
    ).get_json()
    days = trading_days(latest_price_date(), 3)
    assert body["dates"] == [calendar.timegm(d.timetuple()) for d in days]
    assert all(isinstance(d, int) for d in body["dates"])
    assert dt.datetime.fromtimestamp(body["dates"][-1], dt.UTC).date() == days[-1]
    assert body["metadata"]["date_format"] == "unix"
    assert set(body["factor_etfs"]) == {f.etf_symbol for f in FACTORS}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("max_symbols=0", "max_symbols"),
        ("max_symbols=501", "max_symbols"),
        ("lookback_days=0", "lookback_days"),
        ("lookback_days=1261", "lookback_days"),
        ("date_format=rfc822", "date_format"),
        ("include_factor_etfs=yes", "include_factor_etfs"),
    ],
)
def test_historical_parameter_errors(client, books_no_batch, query, field):
    book = books_no_batch["individual"]
    resp = client.get(
        f"/api/v1/data/prices/historical/{book.portfolio_id}?{query}", headers=book.headers
    )
    assert_error(resp, 400, field)


def test_quotes_last_price_change_and_unknown_symbols(client, ctx, books_no_batch):
    book = books_no_batch["individual"]
    body = client.get(
        "/api/v1/data/prices/quotes?symbols=AAPL,msft,ZZZZ,AAPL", headers=book.headers
    ).get_json()
    assert [q["symbol"] for q in body["quotes"]] == ["AAPL", "MSFT"]
    assert body["unknown_symbols"] == ["ZZZZ"]
    as_of = latest_price_date()
    for q in body["quotes"]:
        day, close = last_close(q["symbol"], as_of)
        prev_day, prev = last_close(q["symbol"], day - dt.timedelta(days=1))
        assert (q["date"], q["price"], q["previous_date"]) == (
            day.isoformat(),
            close,
            prev_day.isoformat(),
        )
        assert q["change"] == pytest.approx(close - prev) and q["change_pct"] == pytest.approx(
            close / prev - 1
        )
        assert q["stale"] is False
    assert body["quotes"][0]["name"] == "Apple Inc."


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?symbols=",
        "?symbols=AAPL,,MSFT",
        "?symbols=%3D1%2B1",
        "?symbols=" + ",".join(f"S{i}" for i in range(101)),
    ],
)
def test_quotes_parameter_errors(client, books_no_batch, query):
    resp = client.get(
        f"/api/v1/data/prices/quotes{query}", headers=books_no_batch["individual"].headers
    )
    assert_error(resp, 400, "symbols")


def test_factor_etf_prices(client, ctx, books_no_batch):
    body = client.get(
        "/api/v1/data/factors/etf-prices?lookback_days=10", headers=books_no_batch["hnw"].headers
    ).get_json()
    assert [(f["factor"], f["etf_symbol"]) for f in body["factors"]] == [
        (spec.name, spec.etf_symbol) for spec in FACTORS
    ]
    as_of = latest_price_date()
    assert body["as_of"] == as_of.isoformat() and len(body["dates"]) == 10
    for f in body["factors"]:
        day, close = last_close(f["etf_symbol"], as_of)
        assert (f["quote"]["date"], f["quote"]["price"]) == (day.isoformat(), close)
        assert f["adj_close"][-1] == close and len(f["adj_close"]) == 10
    assert_error(
        client.get(
            "/api/v1/data/factors/etf-prices?lookback_days=253",
            headers=books_no_batch["hnw"].headers,
        ),
        400,
        "lookback_days",
    )


def test_an_empty_integer_parameter_is_a_400_naming_the_field(client, books_no_batch):
    """`?lookback_days=` is not an integer: the document says so and the API agrees."""
    resp = client.get(
        "/api/v1/data/factors/etf-prices?lookback_days=",
        headers=books_no_batch["individual"].headers,
    )
    assert resp.status_code == 400
    assert resp.get_json()["error"]["details"]["field"] == "lookback_days"

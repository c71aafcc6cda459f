"""/api/v1/export: JSON/CSV/XLSX downloads parsed back, and broker-style trade lists."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from webapp.extensions import db
from webapp.imports import TEMPLATE_CSV, validate_holdings_file
from webapp.models import Portfolio, PriceBar, Tag
from webapp.services import correlations as correlations_svc
from webapp.services import factor_exposures as factors_svc
from webapp.services import market_views
from webapp.services import overview as overview_svc
from webapp.services import positions as positions_svc
from webapp.services import risk_metrics as risk_svc
from webapp.services import stress_tests as stress_svc
from webapp.services.queries import known_symbols, latest_price_date

EXPORT = "/api/v1/export/portfolio/{id}"
TRADES = "/api/v1/export/trades"


def assert_error(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    error = resp.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


def reimport(text: str):
    """The export through the same validation an upload gets."""
    return validate_holdings_file(
        text.encode(),
        filename="export.csv",
        known_symbols=known_symbols(),
        max_bytes=5 * 1024 * 1024,
        max_rows=20_000,
        today=latest_price_date(),
    )


# ------------------------------------------------------------------------------------------------
# Auth and ownership
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx"])
def test_export_requires_credentials_and_ownership(client, books, stranger, fmt):
    book = books["individual"]
    assert_error(client.get(EXPORT.format(id=book.portfolio_id) + f"?format={fmt}"), 401)
    resp = client.get(
        EXPORT.format(id=book.portfolio_id) + f"?format={fmt}", headers=stranger.headers
    )
    assert_error(resp, 404)
    assert "Individual" not in resp.get_data(as_text=True)


def test_unknown_format_is_400(client, books):
    book = books["individual"]
    error = assert_error(
        client.get(EXPORT.format(id=book.portfolio_id) + "?format=pdf", headers=book.headers), 400
    )
    assert error["details"] == {
        "field": "format",
        "value": "pdf",
        "allowed": ["json", "csv", "xlsx"],
    }


def test_trades_require_a_token_ownership_and_a_body(client, auth, books, stranger):
    book = books["hedgefundstyle"]
    body = {
        "portfolio_id": book.portfolio_id,
        "trades": [{"symbol": "AAPL", "side": "BUY", "quantity": 1}],
    }
    assert_error(client.post(TRADES, json=body), 401)
    assert_error(client.post(TRADES, json=body, headers=stranger.headers), 404)
    auth.login(book.email, "demo12345")  # a browser session alone never authorises a POST
    assert_error(client.post(TRADES, json=body), 401)
    assert_error(client.post(TRADES, data="not json", headers=stranger.headers), 400)
    error = assert_error(client.post(TRADES, json={"trades": []}, headers=stranger.headers), 422)
    assert "portfolio_id" in error["details"]["fields"]


# ------------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------------
def test_json_package_holds_every_stored_result(client, ctx, books):
    book = books["hedgefundstyle"]
    portfolio = db.session.get(Portfolio, book.portfolio_id)
    resp = client.get(EXPORT.format(id=book.portfolio_id), headers=book.headers)
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    as_of = latest_price_date().isoformat()
    assert (
        resp.headers["Content-Disposition"]
        == f'attachment; filename="long-short-opportunities-{as_of}.json"'
    )
    package = json.loads(resp.get_data(as_text=True))
    assert package["format"] == "sigmasight.portfolio.v1"
    assert package["portfolio"]["id"] == book.portfolio_id and package["as_of"] == as_of
    assert len(package["positions"]) == len(portfolio.positions)
    assert package["analytics"]["overview"] == overview_svc.overview(portfolio).to_dict()
    assert package["analytics"]["risk_metrics"] == risk_svc.risk_metrics(portfolio).to_dict()
    assert (
        package["analytics"]["stress_test"]
        == stress_svc.stress_test(portfolio, positions=True).to_dict()
    )
    assert (
        package["analytics"]["correlation_matrix"]
        == correlations_svc.correlation_matrix(portfolio).to_dict()
    )
    every = package["analytics"]["position_factor_exposures"]
    assert len(every["data"]["positions"]) == len(portfolio.positions)  # not one page of them
    for name, result in package["analytics"].items():
        assert result["available"] is True, name
        assert (
            result["metadata"]["calculated_at"].endswith("Z") and "parameters" in result["metadata"]
        )
    assert [f["name"] for f in package["factor_definitions"]] == [
        f["name"] for f in factors_svc.factor_definitions()
    ]


def test_json_package_of_a_fresh_portfolio_says_why_results_are_missing(client, stranger):
    package = client.get(
        EXPORT.format(id=stranger.portfolio_id), headers=stranger.headers
    ).get_json()
    assert {r["reason"] for r in package["analytics"].values()} == {"no_results"}
    assert len(package["positions"]) == 1


# ------------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------------
def _positions(portfolio: Portfolio) -> list[tuple]:
    return sorted(
        (
            p.symbol,
            p.quantity,
            p.entry_price,
            p.entry_date,
            tuple(sorted(t.name for t in p.tags)),
            p.strategy,
        )
        for p in portfolio.positions
        if p.exit_date is None
    )


@pytest.mark.parametrize("who", ["individual", "hnw", "hedgefundstyle"])
def test_csv_is_the_canonical_format_and_reimports_to_the_same_positions(client, ctx, books, who):
    book = books[who]
    portfolio = db.session.get(Portfolio, book.portfolio_id)
    resp = client.get(EXPORT.format(id=book.portfolio_id) + "?format=csv", headers=book.headers)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    assert resp.headers["Content-Disposition"].endswith(
        f'-positions-{latest_price_date().isoformat()}.csv"'
    )
    text = resp.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == TEMPLATE_CSV.splitlines()[0].split(",")
    assert len(rows) == len(portfolio.positions) + 1
    report = reimport(text)
    assert (
        report.file_error is None
        and report.rejected == []
        and report.detected_format == "canonical"
    )
    again = sorted(
        (r.symbol, r.quantity, r.entry_price, r.entry_date, tuple(sorted(r.tags)), r.strategy)
        for r in report.accepted
    )
    assert again == _positions(portfolio)
    # Options keep their contract fields and come back as the same position types.
    by_symbol = {p.symbol: p for p in portfolio.positions}
    for row in report.accepted:
        original = by_symbol[row.symbol]
        assert row.position_type == original.position_type
        assert (row.underlying_symbol, row.strike_price, row.expiration_date) == (
            original.underlying_symbol,
            original.strike_price,
            original.expiration_date,
        )


def test_csv_neutralises_text_cells_but_not_short_quantities(client, factory, stranger):
    from webapp.models import Position

    portfolio = db.session.get(Portfolio, stranger.portfolio_id)
    position = Position(
        symbol="MSFT",
        position_type="SHORT",
        quantity=-5.0,
        entry_price=400.5,
        entry_date=dt.date(2025, 1, 2),
        strategy="+SUM(A1)",
        notes='=HYPERLINK("http://evil")',
        tags=[Tag(user_id=stranger.user_id, name="@risk")],
    )
    portfolio.positions.append(position)
    db.session.commit()
    text = client.get(
        EXPORT.format(id=stranger.portfolio_id) + "?format=csv", headers=stranger.headers
    ).get_data(as_text=True)
    rows = {r[0]: r for r in csv.reader(io.StringIO(text))}
    assert rows["MSFT"] == [
        "MSFT",
        "-5",
        "400.5",
        "2025-01-02",
        "'@risk",
        "'+SUM(A1)",
        '\'=HYPERLINK("http://evil")',
    ]
    assert rows["AAPL"][1:3] == ["10", "150"]
    report = reimport(text)
    assert report.rejected == [] and {r.symbol: r.quantity for r in report.accepted} == {
        "AAPL": 10.0,
        "MSFT": -5.0,
    }


# ------------------------------------------------------------------------------------------------
# XLSX
# ------------------------------------------------------------------------------------------------
def _workbook(client, book):
    resp = client.get(EXPORT.format(id=book.portfolio_id) + "?format=xlsx", headers=book.headers)
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert resp.headers["Content-Disposition"].endswith(f'-{latest_price_date().isoformat()}.xlsx"')
    return load_workbook(io.BytesIO(resp.data))


def test_xlsx_sheets_headers_formats_and_values(client, ctx, books):
    book = books["hedgefundstyle"]
    portfolio = db.session.get(Portfolio, book.portfolio_id)
    wb = _workbook(client, book)
    assert wb.sheetnames == ["Positions", "Exposures", "Factors", "Risk", "Stress"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.bold for c in ws[1] if c.value is not None), ws.title

    positions = wb["Positions"]
    header = [c.value for c in positions[1]]
    assert header[:8] == [
        "Symbol",
        "Name",
        "Type",
        "Quantity",
        "Entry Price",
        "Entry Date",
        "Price",
        "Market Value",
    ]
    col = {name: i for i, name in enumerate(header)}
    view = positions_svc.positions_view(portfolio)
    for row, expected in zip(
        positions.iter_rows(min_row=2, max_row=len(view.rows) + 1), view.rows, strict=True
    ):
        assert row[col["Symbol"]].value == expected["symbol"]
        assert row[col["Quantity"]].value == expected["quantity"]
        assert row[col["Market Value"]].value == pytest.approx(expected["market_value"])
        assert row[col["Market Value"]].number_format == "$#,##0"
        assert row[col["Unrealized P&L %"]].number_format == "0.0%"
        assert row[col["Entry Date"]].value.date() == dt.date.fromisoformat(expected["entry_date"])
        assert row[col["Entry Date"]].is_date

    overview = overview_svc.overview(portfolio).to_dict()["data"]["summary"]
    exposures = {r[0].value: r for r in wb["Exposures"].iter_rows(min_row=2) if r[0].value}
    assert exposures["Equity"][1].value == pytest.approx(overview["equity"])
    assert exposures["Gross exposure"][1].value == pytest.approx(overview["gross_exposure"])
    assert exposures["Gross exposure"][1].number_format == "$#,##0"
    assert exposures["Net exposure"][2].value == pytest.approx(
        overview["net_exposure"] / overview["equity"]
    )
    assert exposures["Net exposure"][2].number_format == "0.0%"

    factors = factors_svc.factor_exposures(portfolio).to_dict()["data"]["factors"]
    sheet = wb["Factors"]
    assert [c.value for c in sheet[1]] == ["Factor", "ETF Proxy", "Beta", "Dollar Exposure"]
    for row, f in zip(sheet.iter_rows(min_row=2, max_row=len(factors) + 1), factors, strict=True):
        # XLSX stores doubles to 16 significant digits.
        assert (
            row[0].value == f["name"]
            and row[1].value
            == {d["name"]: d["etf_symbol"] for d in factors_svc.factor_definitions()}[f["name"]]
        )
        assert (row[2].value, row[3].value) == pytest.approx(
            (f["beta"], f["exposure_dollar"]), rel=1e-14
        )
        assert row[3].number_format == "$#,##0"

    risk = risk_svc.risk_metrics(portfolio).to_dict()["data"]
    metrics = {r[0].value: r[1] for r in wb["Risk"].iter_rows(min_row=2) if r[0].value}
    assert metrics["Annualized volatility"].value == pytest.approx(risk["annualized_volatility"])
    assert metrics["Annualized volatility"].number_format == "0.0%"
    assert metrics["Max drawdown"].value == pytest.approx(risk["max_drawdown"])
    # Labelled by method since full revaluation sits beside it (risk model v2).
    assert metrics["Historical VaR (delta-only) 95%, 1-day ($)"].value == pytest.approx(
        risk["var"][0]["historical"]["dollars"]
    )

    scenarios = stress_svc.stress_test(portfolio).to_dict()["data"]["scenarios"]
    stress = wb["Stress"]
    rows = list(stress.iter_rows(min_row=2, max_row=len(scenarios) + 1))
    assert [r[1].value for r in rows] == [s["scenario_id"] for s in scenarios]
    assert (
        rows[0][5].value == pytest.approx(scenarios[0]["pnl"])
        and rows[0][5].number_format == "$#,##0"
    )
    assert (
        rows[0][6].value == pytest.approx(scenarios[0]["pnl_pct"])
        and rows[0][6].number_format == "0.0%"
    )


def test_xlsx_of_a_fresh_portfolio_says_why_in_a1(client, stranger):
    wb = _workbook(client, stranger)
    assert wb["Positions"]["A2"].value == "AAPL"
    for name in ("Exposures", "Factors", "Risk", "Stress"):
        a1 = wb[name]["A1"].value
        assert "not available (no_results)" in a1 and "Recalculate" in a1, name


BIG_BOOK = 2_000


@pytest.fixture()
def big_book(client, factory):
    """A 2,000-position book, batched.

    Stocks, shorts and 10% options; tags and formula-looking strategies.
    """
    import numpy as np

    from tests.api.conftest import Book, bearer, login_token
    from webapp.models import Position
    from webapp.services.batch import run_portfolio_batch

    user = factory.user()
    # Symbols priced on the as-of date: UNH and ^GSPC stop in 2023, and other tests store
    # short synthetic histories (ZZ…) in the shared database.
    as_of = latest_price_date()
    symbols = sorted(
        db.session.scalars(select(PriceBar.symbol).where(PriceBar.date == as_of).distinct())
    )
    symbols = [s for s in symbols if s in known_symbols() and not s.startswith("ZZ")]
    rng = np.random.default_rng(2000)
    tags = [Tag(user_id=user.id, name=name) for name in ("core", "@risk")]
    portfolio = Portfolio(user_id=user.id, name="Two thousand", cash=250_000.0)
    for i in range(BIG_BOOK):
        long = rng.random() < 0.7
        common = dict(
            entry_date=dt.date(2025, 1, 2) + dt.timedelta(days=i % 300),
            strategy="=SUM(A1:A9)" if i % 50 == 0 else f"Sleeve {i % 4}",
            notes=f"lot {i}",
            tags=[tags[i % 2]],
        )
        if i % 10 == 9:
            kind = "C" if i % 20 == 9 else "P"
            portfolio.positions.append(
                Position(
                    symbol=f"SPY270115{kind}{i:05d}",
                    underlying_symbol="SPY",
                    position_type=("L" if long else "S") + kind,
                    quantity=(1 + i % 9) * (1 if long else -1),
                    entry_price=12.5,
                    strike_price=float(500 + i % 200),
                    expiration_date=dt.date(2027, 1, 15),
                    multiplier=100.0,
                    implied_vol=0.2,
                    **common,
                )
            )
        else:
            qty = float(1 + i) * (1 if long else -1)
            portfolio.positions.append(
                Position(
                    symbol=str(rng.choice(symbols)),
                    position_type="LONG" if long else "SHORT",
                    quantity=qty,
                    entry_price=float(10 + i % 300),
                    **common,
                )
            )
    db.session.add(portfolio)
    db.session.commit()
    run = run_portfolio_batch(portfolio.id)
    assert run.status == "succeeded", run.steps
    return Book(
        user.email, user.id, portfolio.id, bearer(login_token(client, user.email, factory.password))
    )


def test_xlsx_of_a_2000_position_book_opens_with_every_row_and_value(client, ctx, big_book):
    from webapp.imports import neutralize

    portfolio = db.session.get(Portfolio, big_book.portfolio_id)
    view = positions_svc.positions_view(portfolio)
    assert len(view.rows) == BIG_BOOK
    wb = _workbook(client, big_book)
    assert wb.sheetnames == ["Positions", "Exposures", "Factors", "Risk", "Stress"]

    sheet = wb["Positions"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    col = {name: i for i, name in enumerate(header)}
    body = rows[1 : BIG_BOOK + 1]
    assert len(body) == BIG_BOOK and all(r[col["Type"]] for r in body)
    assert [v for v in rows[BIG_BOOK + 1] if v is not None] == []  # a blank line, then the as-of
    assert rows[BIG_BOOK + 2][0] == "As of" and rows[BIG_BOOK + 2][1].date() == view.as_of
    for got, expected in zip(body, view.rows, strict=True):
        assert got[col["Symbol"]] == expected["symbol"]
        assert got[col["Quantity"]] == expected["quantity"]
        assert got[col["Entry Date"]].date() == dt.date.fromisoformat(expected["entry_date"])
        assert got[col["Market Value"]] == pytest.approx(expected["market_value"], rel=1e-14)
        assert got[col["Weight"]] == pytest.approx(expected["weight"], rel=1e-14)
        assert got[col["Tags"]] == neutralize(", ".join(expected["tags"]))
        assert got[col["Strategy"]] == neutralize(expected["strategy"])
    assert sum(r[col["Strategy"]] == "'=SUM(A1:A9)" for r in body) == BIG_BOOK // 50
    assert sum(r[col["Tags"]] == "'@risk" for r in body) == BIG_BOOK // 2
    cells = [c for r in sheet.iter_rows(min_row=2, max_row=BIG_BOOK + 1) for c in r]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # text is never a formula
    assert {c.number_format for c in cells if c.column == col["Market Value"] + 1} == {"$#,##0"}
    assert {c.number_format for c in cells if c.column == col["Weight"] + 1} == {"0.0%"}

    scenarios = stress_svc.stress_test(portfolio).to_dict()["data"]["scenarios"]
    stress = [
        r for r in wb["Stress"].iter_rows(min_row=2, values_only=True) if r[2]
    ]  # has a category
    assert [r[1] for r in stress] == [s["scenario_id"] for s in scenarios]
    factors = factors_svc.factor_exposures(portfolio).to_dict()["data"]["factors"]
    factor_rows = [
        r for r in wb["Factors"].iter_rows(min_row=2, values_only=True) if r and r[2] is not None
    ]
    assert [r[0] for r in factor_rows] == [f["name"] for f in factors]
    summary = overview_svc.overview(portfolio).to_dict()["data"]["summary"]
    exposures = {
        r[0]: r for r in wb["Exposures"].iter_rows(min_row=2, values_only=True) if r and r[0]
    }
    assert exposures["Gross exposure"][1] == pytest.approx(summary["gross_exposure"])


# ------------------------------------------------------------------------------------------------
# Trade lists
# ------------------------------------------------------------------------------------------------
@pytest.fixture()
def small_book(factory, stranger):
    """The stranger's book: long 10 AAPL, short 5 MSFT."""
    from webapp.models import Position

    portfolio = db.session.get(Portfolio, stranger.portfolio_id)
    portfolio.positions.append(
        Position(
            symbol="MSFT",
            position_type="SHORT",
            quantity=-5.0,
            entry_price=400.0,
            entry_date=dt.date(2025, 1, 2),
        )
    )
    db.session.commit()
    prices = {r["symbol"]: r["price"] for r in positions_svc.positions_view(portfolio).rows}
    prices["SPY"] = market_views.last_bars(["SPY"], latest_price_date())["SPY"][0][1]
    return stranger, prices


def _trades(client, book, payload, fmt="json"):
    return client.post(
        f"{TRADES}?format={fmt}",
        json={"portfolio_id": book.portfolio_id, **payload},
        headers=book.headers,
    )


def test_target_flips_and_new_positions(client, small_book):
    book, prices = small_book
    resp = _trades(
        client,
        book,
        {
            "target": [
                {"symbol": "aapl", "quantity": -5},
                {"symbol": "MSFT", "quantity": 5},
                {"symbol": "SPY", "quantity": 3},
            ]
        },
    )
    assert resp.status_code == 200
    body = resp.get_json()
    legs = [(t["Action"], t["Symbol"], t["Quantity"]) for t in body["trades"]]
    assert legs == [
        ("SELL", "AAPL", 10),
        ("BUY_TO_COVER", "MSFT", 5),
        ("SELL_SHORT", "AAPL", 5),
        ("BUY", "MSFT", 5),
        ("BUY", "SPY", 3),
    ]
    for t in body["trades"]:
        assert t["Order Type"] == "MARKET" and t["Est. Price"] == pytest.approx(prices[t["Symbol"]])
        assert t["Est. Value"] == pytest.approx(t["Quantity"] * prices[t["Symbol"]])
    assert body["columns"] == [
        "Action",
        "Symbol",
        "Quantity",
        "Order Type",
        "Est. Price",
        "Est. Value",
    ]
    assert body["count"] == 5 and body["as_of"] == latest_price_date().isoformat()


def test_target_closes_unlisted_positions_unless_told_not_to(client, small_book):
    book, _ = small_book
    full = _trades(client, book, {"target": [{"symbol": "SPY", "quantity": 3}]}).get_json()[
        "trades"
    ]
    assert [(t["Action"], t["Symbol"], t["Quantity"]) for t in full] == [
        ("SELL", "AAPL", 10),
        ("BUY_TO_COVER", "MSFT", 5),
        ("BUY", "SPY", 3),
    ]
    partial = _trades(
        client, book, {"target": [{"symbol": "AAPL", "quantity": 12}], "close_unlisted": False}
    ).get_json()["trades"]
    assert [(t["Action"], t["Symbol"], t["Quantity"]) for t in partial] == [("BUY", "AAPL", 2)]


def test_explicit_trades_as_broker_csv(client, small_book):
    book, prices = small_book
    resp = _trades(
        client,
        book,
        {
            "trades": [
                {"symbol": "SPY", "side": "buy", "quantity": 2},
                {"symbol": "AAPL", "side": "SELL", "quantity": 4},
            ]
        },
        fmt="csv",
    )
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].endswith(
        f'-trades-{latest_price_date().isoformat()}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [(r["Action"], r["Symbol"], r["Quantity"], r["Order Type"]) for r in rows] == [
        ("SELL", "AAPL", "4", "MARKET"),
        ("BUY", "SPY", "2", "MARKET"),
    ]
    assert float(rows[1]["Est. Value"]) == pytest.approx(2 * prices["SPY"], abs=0.005)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"target": [], "trades": []}, {"body"}),
        ({}, {"body"}),
        ({"target": []}, {"target"}),
        ({"target": [{"symbol": "AAPL"}]}, {"target[0].quantity"}),
        ({"target": [{"symbol": "=cmd", "quantity": 1}]}, {"target[0].symbol"}),
        (
            {"target": [{"symbol": "AAPL", "quantity": 1}, {"symbol": "AAPL", "quantity": 2}]},
            {"target[1].symbol"},
        ),
        ({"trades": [{"symbol": "AAPL", "side": "HOLD", "quantity": 1}]}, {"trades[0].side"}),
        ({"trades": [{"symbol": "AAPL", "side": "BUY", "quantity": -1}]}, {"trades[0].quantity"}),
        (
            {"trades": [{"symbol": "AAPL", "side": "BUY", "quantity": "ten"}]},
            {"trades[0].quantity"},
        ),
        ({"trades": [{"symbol": "ZZZZ", "side": "BUY", "quantity": 1}]}, {"symbol:ZZZZ"}),
        ({"trades": ["AAPL"]}, {"trades[0]"}),
    ],
)
def test_trade_validation_errors_are_422_with_fields(client, small_book, payload, fields):
    book, _ = small_book
    error = assert_error(_trades(client, book, payload), 422)
    assert error["code"] == "validation_error" and set(error["details"]["fields"]) == fields

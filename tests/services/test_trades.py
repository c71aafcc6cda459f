"""services.trades called directly: orders from a target book or explicit trades, and the CSV."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from tests.factories import OptionPositionFactory, PortfolioFactory, PositionFactory
from webapp.extensions import db
from webapp.models import PriceBar
from webapp.services.management import ValidationError
from webapp.services.trades import TRADE_COLUMNS, trade_list, trades_csv

CALL = "AAPL260918C00200000"  # OptionPositionFactory's default contract


def _close(symbol: str) -> float:
    """The latest stored adjusted close: what positions are valued at."""
    last = db.session.scalar(select(func.max(PriceBar.date)))
    return db.session.scalar(
        select(PriceBar.adj_close).where(PriceBar.symbol == symbol, PriceBar.date == last)
    )


@pytest.fixture()
def book(ctx):
    """Long 10 AAPL, short 5 MSFT, one long AAPL call."""
    portfolio = PortfolioFactory()
    PositionFactory(portfolio=portfolio, symbol="AAPL", quantity=10)
    PositionFactory(portfolio=portfolio, symbol="MSFT", quantity=-5, entry_price=300.0)
    OptionPositionFactory(portfolio=portfolio)
    return portfolio


def _legs(rows: list[dict]) -> list[tuple[str, str, float]]:
    return [(r["Action"], r["Symbol"], r["Quantity"]) for r in rows]


def test_target_book_closes_unlisted_covers_shorts_first_and_sorts_sells_first(book):
    rows = trade_list(
        book,
        {
            "target": [
                {"symbol": "AAPL", "quantity": 15},
                {"symbol": "MSFT", "quantity": 5},  # from -5: cover 5, then buy 5
                {"symbol": "SPY", "quantity": 3},  # not held
            ]
        },
    )
    assert _legs(rows) == [
        ("SELL", CALL, 1.0),  # held, not in the target: closed
        ("BUY_TO_COVER", "MSFT", 5.0),
        ("BUY", "AAPL", 5.0),
        ("BUY", "MSFT", 5.0),
        ("BUY", "SPY", 3.0),
    ]
    assert {r["Order Type"] for r in rows} == {"MARKET"}
    by_leg = {(r["Action"], r["Symbol"]): r for r in rows}
    for symbol in ("AAPL", "MSFT", "SPY"):
        row = next(r for r in rows if r["Symbol"] == symbol)
        assert row["Est. Price"] == pytest.approx(_close(symbol))
        assert row["Est. Value"] == pytest.approx(row["Quantity"] * _close(symbol))
    call = by_leg[("SELL", CALL)]
    assert call["Est. Price"] > _close("AAPL") - 200.0  # a model value above intrinsic
    assert call["Est. Value"] == pytest.approx(call["Est. Price"] * 100)  # multiplier 100


def test_target_can_leave_unlisted_positions_alone_and_go_short(book):
    rows = trade_list(
        book,
        {"target": [{"symbol": "AAPL", "quantity": -4}], "close_unlisted": False},
    )
    assert _legs(rows) == [("SELL", "AAPL", 10.0), ("SELL_SHORT", "AAPL", 4.0)]


def test_a_target_equal_to_the_book_needs_no_orders(book):
    target = [
        {"symbol": "AAPL", "quantity": 10},
        {"symbol": "MSFT", "quantity": -5},
        {"symbol": CALL, "quantity": 1},
    ]
    assert trade_list(book, {"target": target}) == []


def test_explicit_trades_normalise_symbols_and_sides(book):
    rows = trade_list(
        book,
        {
            "trades": [
                {"symbol": "brk.b", "side": "buy", "quantity": 2},
                {"symbol": "AAPL", "side": "SELL", "quantity": 3},
                {"symbol": "AAPL  260918C00200000", "side": "sell", "quantity": 1},
            ]
        },
    )
    assert _legs(rows) == [("SELL", "AAPL", 3.0), ("SELL", CALL, 1.0), ("BUY", "BRK-B", 2.0)]


def test_an_option_not_held_gets_no_price_but_its_multiplier(book):
    rows = trade_list(
        book, {"trades": [{"symbol": "MSFT260918P00400000", "side": "BUY", "quantity": 2}]}
    )
    assert rows[0]["Est. Price"] is None and rows[0]["Est. Value"] is None


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({}, {"body": "Send exactly one of 'target' or 'trades'."}),
        ({"target": [], "trades": []}, {"body": "Send exactly one of 'target' or 'trades'."}),
        ({"target": []}, {"target": "A non-empty list is required."}),
        ({"target": ["AAPL"]}, {"target[0]": "Each row is an object."}),
        (
            {"target": [{"symbol": "AAPL", "quantity": 1}] * 2},
            {"target[1].symbol": "AAPL is listed twice."},
        ),
        (
            {"target": [{"symbol": "AAPL", "quantity": 1}], "close_unlisted": "no"},
            {"close_unlisted": "true or false."},
        ),
        (
            {"trades": [{"symbol": "AAPL", "side": "HOLD", "quantity": 1}]},
            {"trades[0].side": "The side must be one of BUY, SELL, SELL_SHORT, BUY_TO_COVER."},
        ),
        (
            {"trades": [{"symbol": "AAPL", "side": "BUY", "quantity": -1}]},
            {"trades[0].quantity": "The quantity must be positive; the side says buy or sell."},
        ),
        (
            {"trades": [{"symbol": "AAPL", "side": "BUY", "quantity": True}]},
            {"trades[0].quantity": "A number is required."},
        ),
        (
            {"trades": [{"symbol": 7, "side": "BUY", "quantity": 1}]},
            {"trades[0].symbol": "A symbol (text) is required."},
        ),
        (
            {"trades": [{"symbol": "ZZZQ", "side": "BUY", "quantity": 1}]},
            {"symbol:ZZZQ": "No stored prices for ZZZQ; it cannot be priced."},
        ),
        (
            {"trades": [{"symbol": "MSFT260918P00400000", "side": "BUY", "quantity": 1.5}]},
            {"symbol:MSFT260918P00400000": "Options trade in whole contracts."},
        ),
    ],
)
def test_bad_input_is_refused_field_by_field(book, payload, errors):
    with pytest.raises(ValidationError) as refused:
        trade_list(book, payload)
    assert refused.value.errors == errors


def test_too_many_rows_are_refused(book, monkeypatch):
    from webapp.services import trades

    monkeypatch.setattr(trades, "MAX_TRADE_ROWS", 2)
    with pytest.raises(ValidationError) as refused:
        trade_list(book, {"target": [{"symbol": "AAPL", "quantity": 1}] * 3})
    assert refused.value.errors == {"target": "At most 2 rows."}


def test_trades_csv_has_broker_columns_rounded_cells_and_neutralised_text():
    rows = [
        {
            "Action": "BUY",
            "Symbol": "AAPL",
            "Quantity": 5.0,
            "Order Type": "MARKET",
            "Est. Price": 305.48999,
            "Est. Value": 1527.44995,
        },
        {
            "Action": "SELL",
            "Symbol": "=HYPERLINK(1)",
            "Quantity": 1.5,
            "Order Type": "MARKET",
            "Est. Price": None,
            "Est. Value": None,
        },
    ]
    text = trades_csv(rows)
    assert text.endswith("\r\n")
    parsed = list(csv.reader(io.StringIO(text)))
    assert tuple(parsed[0]) == TRADE_COLUMNS
    assert parsed[1] == ["BUY", "AAPL", "5", "MARKET", "305.4900", "1527.45"]
    assert parsed[2][0] == "SELL" and not parsed[2][1].startswith("=")
    assert parsed[2][2:] == ["1.5", "MARKET", "", ""]

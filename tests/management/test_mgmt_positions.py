"""Position pages: add (stocks, shorts, options built from call/put + sign), edit, close, delete."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.management.conftest import csrf_token, field_errors
from webapp.extensions import db
from webapp.models import Position, Tag
from webapp.services import management as mgmt

STOCK = {
    "option_type": "",
    "symbol": "aapl",
    "quantity": "100",
    "entry_price": "185.25",
    "entry_date": "2025-03-14",
}
OPTION = {
    "option_type": "call",
    "symbol": "",
    "quantity": "-2",
    "entry_price": "12.50",
    "entry_date": "2025-03-14",
    "underlying_symbol": "aapl",
    "strike_price": "250",
    "expiration_date": "2027-01-15",
}


@pytest.fixture()
def book(advisor, factory):
    return factory.portfolio(
        advisor, positions=[dict(symbol="MSFT", quantity=10, entry_price=300.0)]
    )


def _positions(portfolio) -> list[Position]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Position).where(Position.portfolio_id == portfolio.id).order_by(Position.id)
        )
    )


def _added(client, portfolio, data) -> Position:
    resp = client.post(f"/portfolios/{portfolio.id}/positions/new", data=data)
    assert resp.status_code == 302, field_errors(resp.get_data(as_text=True))
    assert resp.headers["Location"].endswith(f"/portfolios/{portfolio.id}")
    return _positions(portfolio)[-1]


def test_add_long_and_short_stock(client, book):
    assert client.get(f"/portfolios/{book.id}/positions/new").status_code == 200
    long = _added(client, book, STOCK | {"strategy": "Core", "notes": "first lot"})
    assert (
        long.symbol,
        long.position_type,
        long.quantity,
        long.entry_price,
        long.entry_date,
        long.multiplier,
    ) == ("AAPL", "LONG", 100.0, 185.25, dt.date(2025, 3, 14), 1.0)
    assert (long.strategy, long.notes) == ("Core", "first lot")
    short = _added(client, book, STOCK | {"symbol": "BRK.B", "quantity": "-25"})
    assert (short.symbol, short.position_type, short.quantity) == ("BRK-B", "SHORT", -25.0)
    html = client.get(f"/portfolios/{book.id}").get_data(as_text=True)
    assert 'data-symbol="AAPL"' in html and 'data-symbol="BRK-B"' in html


@pytest.mark.parametrize(
    ("kind", "quantity", "ptype", "symbol"),
    [
        ("call", "2", "LC", "AAPL270115C00250000"),
        ("call", "-2", "SC", "AAPL270115C00250000"),
        ("put", "3", "LP", "AAPL270115P00250000"),
        ("put", "-3", "SP", "AAPL270115P00250000"),
    ],
)
def test_option_type_comes_from_call_put_and_the_sign_and_the_osi_symbol_is_built(
    client, book, kind, quantity, ptype, symbol
):
    option = _added(client, book, OPTION | {"option_type": kind, "quantity": quantity})
    assert (option.position_type, option.symbol, option.underlying_symbol) == (
        ptype,
        symbol,
        "AAPL",
    )
    assert (option.quantity, option.strike_price, option.expiration_date, option.multiplier) == (
        float(quantity),
        250.0,
        dt.date(2027, 1, 15),
        100.0,
    )


def test_an_osi_symbol_typed_as_the_ticker_is_an_option(client, book):
    option = _added(
        client,
        book,
        STOCK | {"symbol": "SPY  270115P00600000", "quantity": "-1", "entry_price": "8.4"},
    )
    assert (option.position_type, option.symbol, option.underlying_symbol, option.strike_price) == (
        "SP",
        "SPY270115P00600000",
        "SPY",
        600.0,
    )


def test_fractional_strike_is_kept_in_the_osi_symbol(client, book):
    option = _added(
        client, book, OPTION | {"strike_price": "32.5", "option_type": "put", "quantity": "1"}
    )
    assert option.symbol == "AAPL270115P00032500" and option.strike_price == 32.5


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"symbol": "", "quantity": "0", "entry_price": "abc", "entry_date": "2999-01-01"},
            {
                "symbol": "Enter a ticker like AAPL or BRK-B.",
                "quantity": "Quantity cannot be zero.",
                "entry_price": "&#39;abc&#39; is not a number.",
                "entry_date": "The entry date cannot be in the future.",
            },
        ),
        (
            {"entry_price": "-1", "entry_date": "14/03/2025"},
            {
                "entry_price": "Must be at least 0.",
                "entry_date": "&#39;14/03/2025&#39; is not a date (YYYY-MM-DD).",
            },
        ),
        (
            {"symbol": "ZZZQ"},
            {
                "symbol": (
                    "No market data for ZZZQ (prices end 2026-08-03); "
                    "run a price sync or choose a covered symbol."
                )
            },
        ),
        ({"symbol": "AAPL 2027"}, {"symbol": "Enter a ticker like AAPL or BRK-B."}),
        (
            {"implied_vol": "25", "tags": "ok, bad;", "strategy": "s" * 121},
            {
                "implied_vol": "Give implied volatility as a decimal (0.25 = 25%), at most 5.",
                "strategy": "At most 120 characters.",
            },
        ),
    ],
)
def test_stock_field_errors_show_next_to_their_fields(client, book, changes, expected):
    resp = client.post(f"/portfolios/{book.id}/positions/new", data=STOCK | changes)
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True)) == {k: [v] for k, v in expected.items()}
    assert len(_positions(book)) == 1  # nothing stored


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"underlying_symbol": "", "strike_price": "", "expiration_date": ""},
            {
                "underlying_symbol": (
                    "Enter the underlying&#39;s ticker (1–6 letters or digits), e.g. AAPL."
                ),
                "strike_price": "This field is required.",
                "expiration_date": "This field is required.",
            },
        ),
        (
            {"strike_price": "-5", "expiration_date": "2024-01-01"},
            {"strike_price": "Must be greater than zero."},
        ),
        (
            {"expiration_date": "2025-01-17"},
            {"expiration_date": "The option cannot expire before its entry date."},
        ),
        (
            {"strike_price": "250.0001"},
            {"strike_price": "A strike below 100,000 in whole tenths of a cent."},
        ),
        ({"quantity": "1.5"}, {"quantity": "An option quantity is a whole number of contracts."}),
        ({"option_type": "straddle"}, {"option_type": "Choose stock, call or put."}),
        (
            {"underlying_symbol": "ZZZQ"},
            {
                "underlying_symbol": (
                    "No market data for ZZZQ (prices end 2026-08-03); "
                    "run a price sync or choose a covered symbol."
                )
            },
        ),
    ],
)
def test_option_field_errors_show_next_to_their_fields(client, book, changes, expected):
    resp = client.post(f"/portfolios/{book.id}/positions/new", data=OPTION | changes)
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True)) == {k: [v] for k, v in expected.items()}
    assert len(_positions(book)) == 1


def test_free_text_is_neutralized_for_spreadsheets(client, book):
    position = _added(
        client, book, STOCK | {"notes": "=HYPERLINK(1)", "strategy": "+carry", "tags": "@risk"}
    )
    assert (position.notes, position.strategy, [t.name for t in position.tags]) == (
        "'=HYPERLINK(1)",
        "'+carry",
        ["'@risk"],
    )


def test_edit_prefills_signed_values_and_saves(client, book):
    option = _added(client, book, OPTION | {"tags": "income, options", "strategy": "Covered calls"})
    html = client.get(f"/portfolios/{book.id}/positions/{option.id}/edit").get_data(as_text=True)
    for snippet in (
        'value="-2"',
        'value="12.5"',
        'value="250"',
        'value="2027-01-15"',
        'value="income, options"',
        'value="Covered calls"',
        '<option selected value="call">',
    ):
        assert snippet in html, snippet
    resp = client.post(
        f"/portfolios/{book.id}/positions/{option.id}/edit",
        data=OPTION
        | {"quantity": "-5", "strike_price": "260", "tags": "income", "strategy": "Wheel"},
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert (option.quantity, option.symbol, option.strategy, [t.name for t in option.tags]) == (
        -5.0,
        "AAPL270115C00260000",
        "Wheel",
        ["income"],
    )


def test_edit_errors_are_422_and_change_nothing(client, book):
    position = _positions(book)[0]
    resp = client.post(
        f"/portfolios/{book.id}/positions/{position.id}/edit", data=STOCK | {"quantity": "x"}
    )
    assert resp.status_code == 422 and "quantity" in field_errors(resp.get_data(as_text=True))
    db.session.expire_all()
    assert (position.symbol, position.quantity) == ("MSFT", 10.0)


def test_a_position_without_market_data_stays_editable(client, advisor, factory):
    # Imports accept symbols without prices; editing such a position must not be blocked by that.
    portfolio = factory.portfolio(
        advisor, positions=[dict(symbol="ZZZQ", quantity=10, entry_price=5.0)]
    )
    position = portfolio.positions[0]
    resp = client.post(
        f"/portfolios/{portfolio.id}/positions/{position.id}/edit",
        data=STOCK
        | {"symbol": "ZZZQ", "quantity": "10", "entry_price": "5", "notes": "waiting for prices"},
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert position.notes == "waiting for prices"


def test_close_records_the_exit_and_leaves_the_open_list(client, book):
    position = _positions(book)[0]
    url = f"/portfolios/{book.id}/positions/{position.id}/close"
    assert client.get(url).status_code == 200
    bad = client.post(url, data={"exit_date": "2024-01-01", "exit_price": ""})
    assert bad.status_code == 422
    assert field_errors(bad.get_data(as_text=True)) == {
        "exit_date": ["The exit date cannot be before the entry date (2025-01-02)."],
        "exit_price": ["This field is required."],
    }
    assert client.post(url, data={"exit_date": "2999-01-01", "exit_price": "1"}).status_code == 422
    resp = client.post(url, data={"exit_date": "2026-07-01", "exit_price": "420.5"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert (position.exit_date, position.exit_price) == (dt.date(2026, 7, 1), 420.5)
    assert 'data-symbol="MSFT"' not in client.get(f"/portfolios/{book.id}").get_data(as_text=True)
    assert mgmt.list_positions(book) == [] and mgmt.list_positions(book, status="closed") == [
        position
    ]
    again = client.post(
        url, data={"exit_date": "2026-07-02", "exit_price": "1"}, follow_redirects=True
    )
    assert "already closed on 2026-07-01" in again.get_data(as_text=True)
    db.session.expire_all()
    assert position.exit_date == dt.date(2026, 7, 1)


def test_delete_position_asks_first_and_keeps_the_tags(client, book):
    position = _added(client, book, STOCK | {"tags": "keepme"})
    url = f"/portfolios/{book.id}/positions/{position.id}/delete"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "the position AAPL (100)" in confirm.get_data(
        as_text=True
    )
    assert len(_positions(book)) == 2
    assert client.post(url).status_code == 302
    assert [p.symbol for p in _positions(book)] == ["MSFT"]
    assert (
        db.session.scalar(select(Tag).where(Tag.user_id == book.user_id, Tag.name == "keepme"))
        is not None
    )


def test_positions_are_reached_only_through_their_own_portfolio(client, advisor, factory, book):
    mine_elsewhere = factory.portfolio(
        advisor, positions=[dict(symbol="AAPL", quantity=1, entry_price=1.0)]
    )
    theirs = factory.portfolio(
        factory.user(), positions=[dict(symbol="AAPL", quantity=1, entry_price=1.0)]
    )
    for portfolio_id, position in (
        (book.id, mine_elsewhere.positions[0]),
        (theirs.id, theirs.positions[0]),
        (book.id, theirs.positions[0]),
    ):
        for action in ("edit", "close", "delete"):
            url = f"/portfolios/{portfolio_id}/positions/{position.id}/{action}"
            assert client.get(url).status_code == 404, url
            assert (
                client.post(
                    url, data=STOCK | {"exit_date": "2026-01-02", "exit_price": "1"}
                ).status_code
                == 404
            ), url
    db.session.expire_all()
    assert theirs.positions[0].exit_date is None and len(theirs.positions) == 1


def test_strategies_are_subtotalled_on_the_positions_page(client, book):
    _added(client, book, STOCK | {"strategy": "Core"})
    _added(
        client,
        book,
        STOCK | {"symbol": "NVDA", "quantity": "5", "entry_price": "100", "strategy": "Core"},
    )
    _added(client, book, OPTION | {"strategy": "Covered calls"})
    html = client.get(f"/portfolios/{book.id}").get_data(as_text=True)
    strategies = html[html.index('id="strategies"') :]
    assert '<td>Core</td><td class="num">2</td>' in strategies
    assert '<td>Covered calls</td><td class="num">1</td>' in strategies
    assert '<td>Unassigned</td><td class="num">1</td>' in strategies


def test_position_form_posts_need_the_csrf_token(app, client, book):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(f"/portfolios/{book.id}/positions/new", data=STOCK)
        token = csrf_token(
            client.get(f"/portfolios/{book.id}/positions/new").get_data(as_text=True)
        )
        accepted = client.post(
            f"/portfolios/{book.id}/positions/new", data=STOCK | {"csrf_token": token}
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400 and accepted.status_code == 302
    assert [p.symbol for p in _positions(book)] == ["MSFT", "AAPL"]

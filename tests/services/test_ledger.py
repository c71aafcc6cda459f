"""services.ledger called directly: FIFO lots, shorts, options, cash, refusals, invariants."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.factories import PortfolioFactory, PositionFactory
from webapp.extensions import db
from webapp.imports import TEMPLATE_CSV
from webapp.models import Position, Transaction
from webapp.services import imports as import_svc
from webapp.services import ledger
from webapp.services.management import Conflict, ValidationError

D0 = dt.date(2025, 1, 2)
AAPL = ledger.Instrument("AAPL", "LONG")
AAPL_SHORT = ledger.Instrument("AAPL", "SHORT")


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def amounts(portfolio) -> float:
    return db.session.scalar(
        select(func.sum(Transaction.amount)).where(Transaction.portfolio_id == portfolio.id)
    )


def lots(portfolio, status: str = "open") -> list[tuple]:
    query = select(Position).where(Position.portfolio_id == portfolio.id)
    query = query.where(
        Position.exit_date.is_(None) if status == "open" else Position.exit_date.is_not(None)
    )
    return [
        (p.symbol, p.position_type, p.quantity, p.entry_price, p.exit_price)
        for p in db.session.scalars(query.order_by(Position.entry_date, Position.id))
    ]


@pytest.fixture()
def book(ctx):
    """A portfolio with $100,000 deposited through the ledger and no positions."""
    portfolio = PortfolioFactory(cash=0.0)
    ledger.record_cash(portfolio, "deposit", 100_000.0, D0)
    return portfolio


def test_fifo_sells_the_oldest_lot_first_and_splits_the_partly_sold_one(book):
    ledger.record_trade(book, "buy", AAPL, 100, 10.0, day(0))
    ledger.record_trade(book, "buy", AAPL, 100, 12.0, day(1))
    rows = ledger.record_trade(book, "sell", AAPL, 150, 15.0, day(30))
    # 100 × (15 − 10) from the first lot, 50 × (15 − 12) from the second.
    assert [(r.quantity, r.realized_pnl) for r in rows] == [(100, 500.0), (50, 150.0)]
    assert sum(r.realized_pnl for r in rows) == 650.0
    assert lots(book) == [("AAPL", "LONG", 50.0, 12.0, None)]
    assert lots(book, "closed") == [
        ("AAPL", "LONG", 100.0, 10.0, 15.0),
        ("AAPL", "LONG", 50.0, 12.0, 15.0),
    ]
    assert book.cash == pytest.approx(100_000 - 1_000 - 1_200 + 2_250)
    assert ledger.rebuild_check(book).ok
    assert ledger.ledger_state(book).realized_pnl == 650.0


def test_a_short_is_covered_with_profit_when_the_price_falls(book):
    ledger.record_trade(book, "short", AAPL_SHORT, 100, 50.0, day(0), fees=5.0)
    assert book.cash == pytest.approx(100_000 + 5_000 - 5)
    (row,) = ledger.record_trade(book, "cover", AAPL_SHORT, 40, 45.0, day(5), fees=2.0)
    assert (row.amount, row.realized_pnl) == (-1_802.0, 40 * 5.0 - 2.0)
    assert lots(book) == [("AAPL", "SHORT", -60.0, 50.0, None)]
    assert ledger.rebuild_check(book).ok


def _option(ptype: str, strike: float = 200.0) -> ledger.Instrument:
    kind = "C" if ptype[1] == "C" else "P"
    symbol = f"AAPL260918{kind}{int(strike * 1000):08d}"
    return ledger.Instrument(symbol, ptype, 100.0, "AAPL", strike, dt.date(2026, 9, 18))


def test_option_open_then_close_books_premium_times_multiplier(book):
    call = _option("LC")
    (opened,) = ledger.record_trade(book, "option_open", call, 2, 5.0, day(0))
    assert opened.amount == -1_000.0
    (closed,) = ledger.record_trade(book, "option_close", call, 1, 7.0, day(10))
    assert (closed.amount, closed.realized_pnl) == (700.0, 200.0)
    assert [lot[2] for lot in lots(book)] == [1.0]
    assert book.cash == pytest.approx(100_000 - 1_000 + 700)
    assert ledger.rebuild_check(book).ok


def test_a_written_option_that_expires_keeps_its_premium(book):
    put = _option("SP", 150.0)
    ledger.record_trade(book, "option_open", put, 1, 3.0, day(0))
    (lot,) = db.session.scalars(select(Position).where(Position.portfolio_id == book.id))
    row = ledger.expire_option(lot, dt.date(2026, 7, 17))
    assert (row.kind, row.amount, row.realized_pnl) == ("option_expire", 0.0, 300.0)
    assert lots(book) == [] and book.cash == pytest.approx(100_300)
    assert ledger.rebuild_check(book).ok


def test_an_exercised_call_leaves_at_zero_and_buys_the_shares_at_the_strike(book):
    ledger.record_trade(book, "option_open", _option("LC"), 1, 5.0, day(0))
    (lot,) = db.session.scalars(select(Position).where(Position.portfolio_id == book.id))
    option_row, stock_row = ledger.assign_option(lot, day(100))
    assert (option_row.kind, option_row.amount, option_row.realized_pnl) == (
        "option_assign",
        0.0,
        -500.0,
    )
    assert (stock_row.kind, stock_row.quantity, stock_row.price, stock_row.amount) == (
        "buy",
        100.0,
        200.0,
        -20_000.0,
    )
    assert lots(book) == [("AAPL", "LONG", 100.0, 200.0, None)]
    assert book.cash == pytest.approx(100_000 - 500 - 20_000)
    assert ledger.rebuild_check(book).ok


def test_an_assigned_covered_call_delivers_the_held_shares(book):
    ledger.record_trade(book, "buy", AAPL, 100, 150.0, day(0))
    ledger.record_trade(book, "option_open", _option("SC"), 1, 4.0, day(0))
    call = next(p for p in book.positions if p.position_type == "SC")
    _, sale = ledger.assign_option(call, day(50))
    assert (sale.kind, sale.realized_pnl) == ("sell", 100 * (200.0 - 150.0))
    assert lots(book) == []
    assert book.cash == pytest.approx(100_000 - 15_000 + 400 + 20_000)


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (
            lambda b: ledger.record_trade(b, "buy", AAPL, 1, 10.0, dt.date(2026, 8, 4)),
            "trade_date",
            "The date cannot be after the last price date (2026-08-03).",
        ),
        (
            lambda b: ledger.record_trade(b, "sell", AAPL, 1, 10.0, day(3)),
            "quantity",
            "Only 0 AAPL held on 2025-01-05; cannot close 1.",
        ),
        (
            lambda b: ledger.record_cash(b, "deposit", 0.0, day(3)),
            "amount",
            "The amount must be greater than zero.",
        ),
        (
            lambda b: ledger.record_cash(b, "fee", -5.0, day(3)),
            "amount",
            "The amount must be greater than zero.",
        ),
        (
            lambda b: ledger.record_cash(b, "withdrawal", 100_001.0, day(3)),
            "amount",
            "Only $100,000.00 cash; cannot withdraw $100,001.00.",
        ),
    ],
)
def test_refusals_name_the_field_and_change_nothing(book, call, field, message):
    before = (book.cash, db.session.scalar(select(func.count()).select_from(Transaction)))
    with pytest.raises(ValidationError) as refused:
        call(book)
    assert refused.value.errors == {field: message}
    db.session.expire_all()
    assert (book.cash, db.session.scalar(select(func.count()).select_from(Transaction))) == before


def test_a_lot_cannot_be_closed_before_its_entry_above_its_size_or_twice(book):
    ledger.record_trade(book, "buy", AAPL, 10, 10.0, day(10))
    (lot,) = book.positions
    with pytest.raises(ValidationError) as early:
        ledger.reduce_position(lot, 5, 11.0, day(9))
    assert early.value.errors == {
        "trade_date": "The date cannot be before the entry date (2025-01-12)."
    }
    with pytest.raises(ValidationError) as too_many:
        ledger.reduce_position(lot, 11, 11.0, day(11))
    assert too_many.value.errors == {"quantity": "Only 10 held; cannot close 11."}
    ledger.close_position(lot, 11.0, day(11))
    with pytest.raises(Conflict):
        ledger.close_position(lot, 11.0, day(12))


def test_a_legacy_book_is_adopted_with_zero_sum_flows_before_the_first_write(ctx):
    """Rows written around the ledger (here by factories) enter it by the migration's rule."""
    portfolio = PortfolioFactory(cash=1_000.0)
    PositionFactory(portfolio=portfolio, quantity=10, entry_price=150.0)
    PositionFactory(portfolio=portfolio, symbol="MSFT", quantity=-5, entry_price=400.0)
    assert not ledger.rebuild_check(portfolio).ok
    ledger.record_cash(portfolio, "dividend", 12.0, day(40), symbol="AAPL")
    assert portfolio.cash == 1_012.0 and amounts(portfolio) == pytest.approx(1_012.0)
    kinds = db.session.scalars(
        select(Transaction.kind)
        .where(Transaction.portfolio_id == portfolio.id, Transaction.source == "migration")
        .order_by(Transaction.id)
    ).all()
    assert kinds == ["deposit", "buy", "deposit", "short", "withdrawal"]
    assert ledger.rebuild_check(portfolio).ok


def test_an_import_books_each_opening_funded_by_a_deposit_and_the_statement_cash(ctx):
    report = import_svc.validate_upload(TEMPLATE_CSV.encode(), "template.csv")
    user = PortfolioFactory().owner
    portfolio = import_svc.commit_import(user.id, {"name": "Imported", "cash": "2500"}, report)
    rows = db.session.scalars(
        select(Transaction).where(Transaction.portfolio_id == portfolio.id).order_by(Transaction.id)
    ).all()
    assert {r.source for r in rows} == {"import"}
    assert rows[0].kind == "deposit" and rows[0].amount == 2_500.0 and rows[0].is_flow
    trades = [(r.kind, r.symbol, r.quantity) for r in rows if not r.is_flow]
    assert trades == [
        ("buy", "AAPL", 100.0),
        ("buy", "MSFT", 40.0),
        ("short", "SPY", 25.0),
        ("option_open", "AAPL270115C00250000", 2.0),
    ]
    # Each opening's funding flow is its mirror image: the holdings were transferred in.
    assert sum(r.amount for r in rows if r.position_id is not None) == pytest.approx(0.0)
    assert portfolio.cash == 2_500.0 and ledger.rebuild_check(portfolio).ok


# ------------------------------------------------------------------ property: the invariants

PRICES = {"AAPL": 180.0, "MSFT": 410.0}  # the fixed valuation prices
operation = st.one_of(
    st.tuples(st.just("deposit"), st.floats(1, 50_000)),
    st.tuples(st.just("withdrawal"), st.floats(0.01, 1.0)),  # a fraction of the cash held
    st.tuples(st.just("dividend"), st.floats(0.01, 500)),
    st.tuples(st.just("fee"), st.floats(0.01, 100)),
    st.tuples(
        st.sampled_from(["buy", "short"]),
        st.sampled_from(sorted(PRICES)),
        st.integers(1, 300),
        st.floats(1, 1_000),
    ),
    st.tuples(
        st.sampled_from(["sell", "cover"]),
        st.sampled_from(sorted(PRICES)),
        st.floats(0.05, 1.0),  # a fraction of what is held
        st.floats(1, 1_000),
    ),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(operation, max_size=12))
def test_any_sequence_keeps_cash_equal_to_the_ledger_and_returns_all_value_on_exit(ctx, ops):
    """After any valid sequence: Σ amounts == cash; cash + Σ market value == equity tracked by
    hand; selling everything at the fixed prices leaves only cash, and realized P&L equals
    Σ (proceeds − cost) of the trades."""
    portfolio = PortfolioFactory(cash=0.0)
    ledger.record_cash(portfolio, "deposit", 10_000.0, D0)
    cash, held = 10_000.0, {(s, t): 0.0 for s in PRICES for t in ("LONG", "SHORT")}
    for i, (kind, *args) in enumerate(ops, start=1):
        when = day(i)
        if kind in ("deposit", "dividend", "fee", "withdrawal"):
            amount = args[0] * cash if kind == "withdrawal" else args[0]
            if amount <= 0:
                continue
            ledger.record_cash(portfolio, kind, amount, when)
            cash += ledger._CASH_SIGN[kind] * amount
            continue
        symbol, size, price = args
        ptype = "LONG" if kind in ("buy", "sell") else "SHORT"
        inst = ledger.Instrument(symbol, ptype)
        if kind in ("buy", "short"):
            quantity = float(size)
            cash += (-1 if ptype == "LONG" else 1) * quantity * price
            held[(symbol, ptype)] += quantity
        else:
            quantity = held[(symbol, ptype)] * size
            if quantity <= 0:
                continue
            cash += (1 if ptype == "LONG" else -1) * quantity * price
            held[(symbol, ptype)] -= quantity
        ledger.record_trade(portfolio, kind, inst, quantity, price, when)
    assert portfolio.cash == pytest.approx(cash, rel=1e-9, abs=1e-6)
    assert amounts(portfolio) == pytest.approx(portfolio.cash, rel=1e-9, abs=1e-6)
    assert ledger.rebuild_check(portfolio).ok
    market_value = sum((1 if t == "LONG" else -1) * q * PRICES[s] for (s, t), q in held.items())
    equity = cash + market_value
    open_value = sum(
        p.quantity * PRICES[p.symbol] for p in portfolio.positions if p.exit_date is None
    )
    assert portfolio.cash + open_value == pytest.approx(equity, rel=1e-9, abs=1e-6)
    exit_day = day(len(ops) + 1)
    for (symbol, ptype), quantity in held.items():
        if quantity > ledger.QTY_EPS:
            kind = "sell" if ptype == "LONG" else "cover"
            ledger.record_trade(
                portfolio,
                kind,
                ledger.Instrument(symbol, ptype),
                quantity,
                PRICES[symbol],
                exit_day,
            )
    assert lots(portfolio) == []
    assert portfolio.cash == pytest.approx(equity, rel=1e-9, abs=1e-6)
    trades = db.session.scalars(
        select(Transaction).where(
            Transaction.portfolio_id == portfolio.id, Transaction.quantity.is_not(None)
        )
    ).all()
    assert ledger.ledger_state(portfolio).realized_pnl == pytest.approx(
        sum(t.amount for t in trades), rel=1e-9, abs=1e-6
    )

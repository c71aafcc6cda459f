"""Performance from the ledger, checked against an independent replay of the stored closes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import PriceBar
from webapp.services import batch, ledger, overview, performance, queries, risk_metrics
from webapp.services.ledger import Instrument

START = dt.date(2026, 3, 2)  # a Monday inside the bundled prices (they end 2026-08-03)
DEPOSIT_DAY = dt.date(2026, 5, 1)
SELL_DAY = dt.date(2026, 6, 1)


def _closes(symbol: str, start: dt.date, end: dt.date) -> pd.Series:
    rows = db.session.execute(
        select(PriceBar.date, PriceBar.adj_close)
        .where(PriceBar.symbol == symbol, PriceBar.date >= start, PriceBar.date <= end)
        .order_by(PriceBar.date)
    ).all()
    return pd.Series({pd.Timestamp(d): float(c) for d, c in rows})


def _ledger_book(factory):
    """100,000 in; 200 AAPL bought at the close; 25,000 more in; 120 AAPL sold at the close."""
    user = factory.user()
    portfolio = factory.portfolio(user, cash=0.0)
    aapl = _closes("AAPL", START, SELL_DAY)
    stock = Instrument("AAPL", "LONG")
    ledger.record_cash(portfolio, "deposit", 100_000.0, START)
    ledger.record_trade(portfolio, "buy", stock, 200, aapl[pd.Timestamp(START)], START)
    ledger.record_cash(portfolio, "deposit", 25_000.0, DEPOSIT_DAY)
    ledger.record_trade(portfolio, "sell", stock, 120, aapl[pd.Timestamp(SELL_DAY)], SELL_DAY)
    return portfolio


def _independent(as_of: dt.date) -> tuple[pd.Series, pd.Series]:
    """Value and flows per SPY trading day, by hand from the closes."""
    spy = _closes("SPY", START, as_of)
    aapl = _closes("AAPL", START - dt.timedelta(days=10), as_of).reindex(spy.index).ffill()
    buy = aapl[pd.Timestamp(START)] * 200
    sell = aapl[pd.Timestamp(SELL_DAY)] * 120
    shares = pd.Series(np.where(spy.index < pd.Timestamp(SELL_DAY), 200, 80), index=spy.index)
    cash = pd.Series(100_000.0 - buy, index=spy.index)
    cash[spy.index >= pd.Timestamp(DEPOSIT_DAY)] += 25_000.0
    cash[spy.index >= pd.Timestamp(SELL_DAY)] += sell
    flows = pd.Series(0.0, index=spy.index)
    flows[pd.Timestamp(START)] = 100_000.0
    flows[pd.Timestamp(DEPOSIT_DAY)] = 25_000.0
    return cash + shares * aapl, flows


def test_twr_and_irr_match_a_replay_by_hand(factory):
    portfolio = _ledger_book(factory)
    run = batch.run_portfolio_batch(portfolio.id)
    assert {s["name"]: s["status"] for s in run.steps}["snapshots"] == "succeeded"
    data = performance.performance(portfolio).data
    as_of = queries.latest_price_date()
    values, flows = _independent(as_of)
    assert data["history"]["equity"] == pytest.approx(values.round(2).tolist(), abs=0.011)
    # Flows at the close: r_t = (V_t - F_t) / V_{t-1} - 1.
    r = (values - flows) / values.shift(1) - 1
    index = (1 + r.fillna(0.0)).cumprod()
    assert data["history"]["growth"][-1] == pytest.approx(10_000 * index.iloc[-1], abs=0.011)
    si = next(p for p in data["periods"] if p["period"] == "SI")
    assert si["return"] == pytest.approx(index.iloc[-1] - 1, rel=1e-9)
    # IRR: -V_0 at the first close, -25,000 in May, +V_T at the end (ACT/365).
    t = lambda d: (d - values.index[0]).days / 365  # noqa: E731
    npv = lambda rate: (  # noqa: E731
        -values.iloc[0]
        - 25_000 / (1 + rate) ** t(pd.Timestamp(DEPOSIT_DAY))
        + values.iloc[-1] / (1 + rate) ** t(values.index[-1])
    )
    assert data["money_weighted"]["value"] == pytest.approx(brentq(npv, -0.99, 10.0), rel=1e-7)
    assert [f["amount"] for f in data["flow_days"]] == [100_000.0, 25_000.0]


def test_the_sale_books_cash_and_realized_pnl_on_the_overview(factory):
    portfolio = _ledger_book(factory)
    batch.run_portfolio_batch(portfolio.id)
    aapl = _closes("AAPL", START, SELL_DAY)
    realized = 120 * (aapl[pd.Timestamp(SELL_DAY)] - aapl[pd.Timestamp(START)])
    result = overview.overview(portfolio)
    pnl = result.data["pnl"]
    assert pnl["realized_pnl"] == pytest.approx(realized, abs=1e-6)
    assert pnl["total_pnl"] == pytest.approx(realized + pnl["unrealized_pnl"], abs=1e-6)
    expected_cash = 125_000 - 200 * aapl[pd.Timestamp(START)] + 120 * aapl[pd.Timestamp(SELL_DAY)]
    assert result.data["summary"]["cash"] == pytest.approx(expected_cash, abs=1e-6)
    values, flows = _independent(queries.latest_price_date())
    assert pnl["day_change"] == pytest.approx(values.iloc[-1] - values.iloc[-2], abs=0.011)


def test_a_short_book_without_cash_is_refused_not_sign_flipped(factory):
    user = factory.user()
    portfolio = factory.portfolio(user, cash=0.0)
    # Transferred in: the short's proceeds leave as a withdrawal, so equity is -(value).
    lot = ledger.Position(
        symbol="TSLA", position_type="SHORT", quantity=-50, entry_price=200.0, entry_date=START
    )
    ledger.open_position(portfolio, lot, funding="transfer")
    run = batch.run_portfolio_batch(portfolio.id)
    snapshots = next(s for s in run.steps if s["name"] == "snapshots")
    assert snapshots["status"] == "failed" and snapshots["reason"] == "non_positive_equity"
    result = performance.performance(portfolio)
    assert not result.available and result.reason == "non_positive_equity"


def test_the_benchmark_can_be_a_blend(factory):
    portfolio = _ledger_book(factory)
    portfolio.benchmark = "SPY:0.6,TLT:0.4"
    db.session.commit()
    batch.run_portfolio_batch(portfolio.id)
    data = performance.performance(portfolio).data
    assert data["benchmark"] == "SPY:0.6,TLT:0.4"
    one_month = next(p for p in data["periods"] if p["period"] == "1M")
    spy = _closes("SPY", dt.date(2026, 6, 1), dt.date(2026, 8, 3))
    tlt = _closes("TLT", dt.date(2026, 6, 1), dt.date(2026, 8, 3))
    start, end = pd.Timestamp(one_month["start"]), pd.Timestamp(one_month["end"])
    # The month runs 2026-07-02 .. 2026-08-03: weights reset on 2026-07-01's close and on
    # 2026-07-31's; inside each piece the two holdings drift with their prices.
    pieces = [(start, pd.Timestamp("2026-07-31")), (pd.Timestamp("2026-07-31"), end)]
    growth = 1.0
    for a, b in pieces:
        reset = spy.index[spy.index <= a][-1] if a == start else a
        month_start = spy.index[spy.index < pd.Timestamp(a.year, a.month, 1)][-1]
        anchor = month_start if a == start else reset
        w_spy = 0.6 * spy[b] / spy[anchor]
        w_tlt = 0.4 * tlt[b] / tlt[anchor]
        base_spy = 0.6 * spy[a] / spy[anchor]
        base_tlt = 0.4 * tlt[a] / tlt[anchor]
        growth *= (w_spy + w_tlt) / (base_spy + base_tlt)
    assert one_month["benchmark_return"] == pytest.approx(growth - 1, abs=1e-10)
    risk = risk_metrics.risk_metrics(portfolio, lookback_days=90).data
    assert risk["benchmark_symbol"] == "SPY:0.6,TLT:0.4"

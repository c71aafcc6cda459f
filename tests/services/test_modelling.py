"""Modelling sessions: proposed trades booked on a proposed book through the real ledger; its
impacts equal the analytics of a real portfolio holding the proposed positions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.factories import PortfolioFactory, PositionFactory, UserFactory
from webapp.extensions import db
from webapp.models import ModellingSession, Portfolio, Position
from webapp.services import ledger, management, modelling
from webapp.services.batch import run_portfolio_batch
from webapp.services.impacts import impacts
from webapp.services.ledger import Conflict, ValidationError
from webapp.services.portfolios import NotOwned, user_portfolios
from webapp.services.queries import latest_price_date
from webapp.services.results import latest_result

HOLDINGS = (("AAPL", 100, 150.0), ("MSFT", 20, 300.0), ("XOM", 50, 100.0))


@pytest.fixture()
def account(ctx):
    book = PortfolioFactory(owner=UserFactory(), cash=50_000.0)
    for symbol, qty, price in HOLDINGS:
        PositionFactory(portfolio=book, symbol=symbol, quantity=qty, entry_price=price)
    return book


def _open_lots(book) -> list[tuple]:
    return sorted(
        (p.symbol, p.quantity)
        for p in db.session.scalars(
            select(Position).where(Position.portfolio_id == book.id, Position.exit_date.is_(None))
        )
    )


def test_a_new_session_proposes_the_account_as_it_is(account):
    session = modelling.start_session(account)
    assert session.proposal.kind == "proposal"
    assert _open_lots(session.proposal) == _open_lots(account)
    assert session.proposal.cash == pytest.approx(account.cash)
    assert session.proposal not in user_portfolios(account.user_id)


def test_a_trade_changes_the_proposed_book_only(account):
    session = modelling.start_session(account)
    close = modelling.last_close("NVDA")
    modelling.add_trade(session, {"kind": "buy", "symbol": "NVDA", "quantity": 10})
    modelling.add_trade(session, {"kind": "sell", "symbol": "AAPL", "quantity": 40, "price": 200})
    assert ("NVDA", 10.0) in _open_lots(session.proposal)
    assert ("AAPL", 60.0) in _open_lots(session.proposal)
    assert session.proposal.cash == pytest.approx(account.cash - 10 * close + 40 * 200)
    assert _open_lots(account) == sorted((s, float(q)) for s, q, _ in HOLDINGS)
    assert [t.fields["price"] for t in session.trades] == [close, 200]


def test_a_refused_trade_changes_nothing_and_names_itself(account):
    session = modelling.start_session(account)
    modelling.add_trade(session, {"kind": "buy", "symbol": "NVDA", "quantity": 10})
    before = (_open_lots(session.proposal), session.proposal.cash)
    with pytest.raises(ValidationError) as refused:
        modelling.add_trade(session, {"kind": "sell", "symbol": "MSFT", "quantity": 500})
    assert any(m.startswith("Trade 2 (sell):") for m in refused.value.errors.values())
    db.session.expire_all()
    assert len(session.trades) == 1
    assert (_open_lots(session.proposal), session.proposal.cash) == before
    with pytest.raises(ValidationError, match="kind"):
        modelling.add_trade(session, {"kind": "option_expire", "position_id": 1})


def test_removing_a_trade_a_later_one_needs_is_refused(account):
    session = modelling.start_session(account)
    buy = modelling.add_trade(session, {"kind": "buy", "symbol": "NVDA", "quantity": 10})
    modelling.add_trade(session, {"kind": "sell", "symbol": "NVDA", "quantity": 10})
    with pytest.raises(ValidationError, match="Trade 1 \\(sell\\)"):
        modelling.remove_trade(session, buy.id)
    db.session.expire_all()
    assert len(session.trades) == 2


def test_impacts_equal_the_analytics_of_a_real_book_holding_the_proposal(account):
    session = modelling.start_session(account)
    modelling.add_trade(session, {"kind": "buy", "symbol": "NVDA", "quantity": 30})
    modelling.add_trade(session, {"kind": "sell", "symbol": "XOM", "quantity": 50, "price": 110})
    # The same positions entered independently, in a portfolio of their own.
    twin = PortfolioFactory(owner=account.owner, cash=session.proposal.cash)
    for symbol, qty, price in HOLDINGS[:2]:
        PositionFactory(portfolio=twin, symbol=symbol, quantity=qty, entry_price=price)
    PositionFactory(
        portfolio=twin,
        symbol="NVDA",
        quantity=30,
        entry_price=modelling.last_close("NVDA"),
        entry_date=latest_price_date(),
    )
    for book in (account, session.proposal, twin):
        assert run_portfolio_batch(book.id).status == "succeeded"
    result = impacts(session)
    assert result.calculated and result.up_to_date
    lines = {(g, line.key): line for g, ls in result.groups.items() for line in ls}

    def twin_figure(kind, path, params=None):
        value = latest_result(twin.id, kind, params).payload
        for key in path:
            value = value[key]
        return value

    assert lines["exposures", "equity"].proposed == pytest.approx(
        twin_figure("overview", ("summary", "equity"))
    )
    assert lines["risk", "beta"].proposed == pytest.approx(
        twin_figure("risk_metrics", ("portfolio_beta",), {"lookback_days": 252})
    )
    twin_factors = {
        f["name"]: f["beta"] for f in twin_figure("factor_exposures", ("factors",), {"window": 252})
    }
    for name, beta in twin_factors.items():
        assert lines["factors", name].proposed == pytest.approx(beta)
    twin_stress = {s["scenario_id"]: s["pnl"] for s in twin_figure("stress_test", ("scenarios",))}
    assert twin_stress and all(
        lines["stress", sid].proposed == pytest.approx(pnl) for sid, pnl in twin_stress.items()
    )
    # And the current side is the account's own.
    assert lines["exposures", "equity"].current == pytest.approx(
        latest_result(account.id, "overview").payload["summary"]["equity"]
    )
    assert lines["stress", "market_down_10"].difference == pytest.approx(
        lines["stress", "market_down_10"].proposed - lines["stress", "market_down_10"].current
    )
    # A new trade makes the proposed results stale until the next calculation.
    modelling.add_trade(session, {"kind": "buy", "symbol": "AAPL", "quantity": 1})
    assert not impacts(session).up_to_date


def test_apply_books_the_trades_on_the_account_and_closes_the_session(account):
    session = modelling.start_session(account)
    modelling.add_trade(session, {"kind": "buy", "symbol": "NVDA", "quantity": 10})
    proposed = (_open_lots(session.proposal), session.proposal.cash)
    assert modelling.apply_to_portfolio(session) == 1
    assert (_open_lots(account), account.cash) == (proposed[0], pytest.approx(proposed[1]))
    assert ledger.rebuild_check(account).ok
    with pytest.raises(Conflict, match="applied"):
        modelling.add_trade(session, {"kind": "buy", "symbol": "AAPL", "quantity": 1})


def test_save_as_a_new_account_and_the_proposed_book_is_read_only(account):
    session = modelling.start_session(account)
    modelling.add_trade(session, {"kind": "buy", "symbol": "NVDA", "quantity": 10})
    with pytest.raises(Conflict, match="proposed book"):
        ledger.record_cash(session.proposal, "deposit", 100.0, latest_price_date())
    saved = modelling.save_as_portfolio(session, "Maria — proposed")
    assert saved.kind == "account" and saved in user_portfolios(account.user_id)
    assert _open_lots(saved) == _open_lots(session.proposal)
    assert saved.cash == pytest.approx(session.proposal.cash)
    assert session.status == "saved" and session.saved_portfolio_id == saved.id


def test_sessions_are_private_and_go_with_their_account(account):
    session = modelling.start_session(account)
    session_id, proposal_id = session.id, session.proposal_id
    with pytest.raises(NotOwned):
        modelling.owned_session(session_id, UserFactory().id)
    assert modelling.owned_session(session_id, account.user_id) is session
    management.delete_portfolio(account)
    db.session.expire_all()
    assert db.session.get(ModellingSession, session_id) is None
    assert db.session.get(Portfolio, proposal_id) is None


def test_an_option_trade_is_booked_on_the_proposed_book(account):
    session = modelling.start_session(account)
    expiry = (latest_price_date() + dt.timedelta(days=60)).isoformat()
    modelling.add_trade(
        session,
        {
            "kind": "option_open",
            "position_type": "LP",
            "underlying_symbol": "AAPL",
            "strike_price": 180,
            "expiration_date": expiry,
            "quantity": 2,
            "price": 4.5,
        },
    )
    put = next(p for p in session.proposal.positions if p.is_option)
    assert (put.position_type, put.underlying_symbol, put.strike_price) == ("LP", "AAPL", 180.0)
    assert session.proposal.cash == pytest.approx(account.cash - 2 * 100 * 4.5)

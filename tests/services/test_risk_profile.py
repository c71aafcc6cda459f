"""The forward-range step: both methods stored, the risk score read from the bootstrap's
6-month 5th percentile, and the client's tolerance and loss limit applied."""

from __future__ import annotations

import pytest

from tests.factories import PortfolioFactory, PositionFactory, UserFactory
from webapp.analytics import risk_score as score_engine
from webapp.extensions import db
from webapp.models import Client, RiskProfile
from webapp.services import households
from webapp.services.batch import run_portfolio_batch
from webapp.services.risk_profile import PATHS, SEED, forward_range, risk_score


@pytest.fixture()
def book(ctx):
    portfolio = PortfolioFactory(owner=UserFactory(), cash=20_000.0)
    for symbol, qty in (("AAPL", 100), ("NVDA", 60), ("XOM", 80), ("JNJ", 50)):
        PositionFactory(portfolio=portfolio, symbol=symbol, quantity=qty, entry_price=100.0)
    return portfolio


def _profile(owner, score=40, loss_limit=10.0, name="Maria"):
    client = Client(user_id=owner.id, name=name)
    db.session.add(client)
    db.session.flush()
    db.session.add(
        RiskProfile(
            client_id=client.id,
            version="2026-12",
            answers={},
            score=score,
            willingness=0.4,
            capacity=0.4,
            category="Moderately conservative",
            loss_limit_pct=loss_limit,
        )
    )
    db.session.commit()
    return client


def test_the_step_stores_both_methods_and_the_score_of_the_bootstrap(book):
    run = run_portfolio_batch(book.id)
    step = next(s for s in run.steps if s["name"] == "forward_range")
    assert step["status"] == "succeeded", step
    boot, para = forward_range(book, "bootstrap"), forward_range(book, "parametric")
    assert boot.available and para.available
    assert (boot.data["paths"], boot.data["seed"]) == (PATHS, SEED)
    assert [b["label"] for b in boot.data["bands"]] == ["6 months", "1 year"]
    six = boot.data["bands"][0]
    pcts = [six["pct"][k] for k in ("p5", "p25", "p50", "p75", "p95")]
    assert pcts == sorted(pcts)
    # Dollars are the percentages of today's equity.
    equity = boot.data["start_equity"]
    assert six["dollars"]["p5"] == pytest.approx(six["pct"]["p5"] / 100 * equity)
    score = risk_score(book)
    assert score.available
    assert score.data["score"] == score_engine.score_for_loss(max(-six["pct"]["p5"], 0.0))
    assert score.data["gap"]["verdict"] == "no_tolerance"
    assert boot.data["breach"] is None  # no client, no loss limit


def test_the_same_book_gives_the_same_bands(book):
    run_portfolio_batch(book.id)
    first = forward_range(book).data["bands"]
    run_portfolio_batch(book.id)
    assert forward_range(book).data["bands"] == first


def test_the_clients_tolerance_and_loss_limit_are_applied(book):
    client = _profile(book.owner, score=10, loss_limit=5.0, name="Maria")
    book.client_id = client.id
    db.session.commit()
    run_portfolio_batch(book.id)
    data = risk_score(book).data
    assert data["tolerance"]["score"] == 10 and data["tolerance"]["loss_limit_pct"] == 5.0
    assert data["gap"]["difference"] == data["score"] - 10
    if data["score"] > 15:
        assert data["gap"]["verdict"] == "riskier"
        assert "Maria" in data["gap"]["words"]
    breach = forward_range(book).data["breach"]
    assert [b["horizon_days"] for b in breach] == [126, 252]
    for b in breach:
        assert 0.0 <= b["at_horizon"] <= b["any_checkpoint"] <= 1.0


def test_a_household_uses_its_own_clients_tolerance(ctx):
    owner = UserFactory()
    a = PortfolioFactory(owner=owner, cash=1_000.0)
    PositionFactory(portfolio=a, symbol="SPY", quantity=20, entry_price=400.0)
    client = _profile(owner, score=70, loss_limit=25.0, name="Lee")
    book = households.create_household(owner.id, "Lee family", [a.id], client_id=client.id)
    run_portfolio_batch(book.id)
    data = risk_score(book).data
    assert data["tolerance"]["client_name"] == "Lee"
    assert forward_range(book).data["loss_limit_pct"] == 25.0


def test_an_empty_book_records_why(ctx):
    empty = PortfolioFactory(owner=UserFactory())
    run_portfolio_batch(empty.id)
    result = risk_score(empty)
    assert not result.available and result.reason == "no_positions"

"""Households: the combined book mirrors its accounts, its risk is the combined book's, and it
cannot be edited around its accounts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import PortfolioFactory, PositionFactory, UserFactory
from webapp.extensions import db
from webapp.models import Position, Transaction
from webapp.services import households, ledger, management
from webapp.services.batch import run_portfolio_batch
from webapp.services.ledger import Conflict, ValidationError
from webapp.services.results import latest_result


def _account(owner, *holdings, cash=5_000.0):
    book = PortfolioFactory(owner=owner, cash=cash)
    for symbol, qty, price in holdings:
        PositionFactory(portfolio=book, symbol=symbol, quantity=qty, entry_price=price)
    return book


def _ledger_sum(book) -> float:
    return db.session.scalar(
        select(func.coalesce(func.sum(Transaction.amount), 0.0)).where(
            Transaction.portfolio_id == book.id
        )
    )


@pytest.fixture()
def family(ctx):
    owner = UserFactory()
    a = _account(owner, ("AAPL", 50, 150.0), ("MSFT", 20, 300.0))
    b = _account(owner, ("XOM", 80, 100.0), ("JNJ", 40, 160.0), ("AAPL", 10, 170.0), cash=2_500)
    book = households.create_household(owner.id, "The Garcias", [a.id, b.id])
    return owner, a, b, book


def test_the_combined_book_holds_every_lot_and_the_summed_cash(family):
    _, a, b, book = family
    copies = db.session.scalars(select(Position).where(Position.portfolio_id == book.id)).all()
    assert sorted((p.symbol, p.quantity) for p in copies) == sorted(
        (p.symbol, p.quantity) for p in [*a.positions, *b.positions]
    )
    assert book.cash == pytest.approx(a.cash + b.cash)
    # Each account's ledger (adopted on creation) is copied whole: it explains the cash.
    assert _ledger_sum(book) == pytest.approx(book.cash)
    linked = db.session.scalars(
        select(Transaction.position_id).where(
            Transaction.portfolio_id == book.id, Transaction.position_id.is_not(None)
        )
    ).all()
    assert linked and set(linked) <= {p.id for p in copies}


def test_sync_copies_only_when_an_account_changed(family):
    _, a, _, book = family
    assert households.sync(book).copied is False
    ledger.record_trade(
        a, "buy", ledger.Instrument("NVDA", "LONG"), 5, 100.0, a.positions[0].entry_date
    )
    result = households.sync(book)
    assert result.copied is True
    assert "NVDA" in {p.symbol for p in book.positions}
    assert book.cash == pytest.approx(a.cash + family[2].cash)


def test_household_exposures_are_the_sum_and_var_the_combined_books(family):
    _, a, b, book = family
    for portfolio in (a, b, book):
        assert run_portfolio_batch(portfolio.id).status == "succeeded"

    def summary(p):
        return latest_result(p.id, "overview").payload["summary"]

    for key in ("long_exposure", "gross_exposure", "net_exposure", "equity", "cash"):
        assert summary(book)[key] == pytest.approx(summary(a)[key] + summary(b)[key]), key

    def var95(p):
        payload = latest_result(p.id, "risk_metrics", {"lookback_days": 252}).payload
        return next(v for v in payload["var"] if v["confidence"] == 0.95)

    # Long-only: σ and expected shortfall are sub-additive, so the combined book's figure is
    # at most the sum (diversification across accounts counts), never their average.
    for key in ("parametric", "expected_shortfall"):
        combined = var95(book)[key]["dollars"]
        accounts = var95(a)[key]["dollars"], var95(b)[key]["dollars"]
        assert combined <= sum(accounts) + 1e-6, key
        assert combined > max(accounts), key


def test_the_combined_book_refuses_edits(family):
    _, _, _, book = family
    lot = book.positions[0]
    with pytest.raises(Conflict, match="household"):
        ledger.record_cash(book, "deposit", 100.0, lot.entry_date)
    with pytest.raises(Conflict):
        management.delete_position(lot)
    with pytest.raises(Conflict):
        management.set_position_tags(lot, "core")
    # Renaming is the household's own business.
    management.update_portfolio(book, {"name": "Garcia family"})
    assert book.name == "Garcia family"


def test_accounts_must_be_the_advisors_own_and_in_one_household(family):
    owner, a, _, book = family
    stranger = _account(UserFactory(), ("AAPL", 1, 150.0))
    with pytest.raises(ValidationError, match="does not exist"):
        households.create_household(owner.id, "Other", [stranger.id])
    with pytest.raises(ValidationError, match="Already in another household"):
        households.create_household(owner.id, "Twice", [a.id])
    with pytest.raises(ValidationError, match="another household"):
        households.create_household(owner.id, "Nested", [book.id])
    with pytest.raises(ValidationError, match="already have"):
        households.create_household(owner.id, book.name, [_account(owner).id])


def test_deleting_an_account_drops_it_from_the_household(family):
    _, a, b, book = family
    management.delete_portfolio(a)
    db.session.expire_all()
    assert [m.id for m in households.members(book)] == [b.id]
    households.sync(book)
    assert sorted(p.symbol for p in book.positions) == sorted(p.symbol for p in b.positions)
    assert book.cash == pytest.approx(b.cash)


def test_household_pages_offer_no_edits_and_refuse_them(client, factory):
    owner = factory.user()
    a = _account(owner, ("AAPL", 50, 150.0), ("MSFT", 20, 300.0))
    book = households.create_household(owner.id, "Read-only family", [a.id])
    lot = book.positions[0]
    client.post("/login", data={"email": owner.email, "password": factory.password})
    page = client.get(f"/portfolios/{book.id}").get_data(as_text=True)
    assert 'id="household-note"' in page
    assert f"/portfolios/{book.id}/positions/{lot.id}/edit" not in page
    assert "Add position" not in page
    ledger_page = client.get(f"/portfolios/{book.id}/transactions").get_data(as_text=True)
    assert "Record a cash entry" not in ledger_page
    # A hand-made request is refused with the reason, and nothing changes.
    resp = client.post(f"/portfolios/{book.id}/positions/{lot.id}/delete")
    assert resp.status_code in (302, 409, 422)
    db.session.expire_all()
    assert db.session.get(Position, lot.id) is not None


@pytest.mark.parametrize("name", ["\x00", "A\x00B", 42, ["x"]])
def test_a_household_name_must_be_plain_text(family, name):
    owner, a, _, _ = family
    other = _account(owner, ("AAPL", 1, 150.0))
    with pytest.raises(ValidationError) as refused:
        households.create_household(owner.id, name, [other.id])
    assert "name" in refused.value.errors

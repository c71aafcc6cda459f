"""The factories build rows the database accepts, with the defaults their docstrings promise.

Every service test leans on them; a model gaining a required column fails here first, by name.
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from tests.factories import (
    PASSWORD,
    BatchRunFactory,
    OptionPositionFactory,
    PortfolioFactory,
    PositionFactory,
    TagFactory,
    UserFactory,
)
from webapp.extensions import db
from webapp.models import BatchRun, Portfolio, Position, Tag, User


def _fresh(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def test_users_are_unique_active_and_log_in_with_the_shared_password(ctx):
    a, b = UserFactory(), UserFactory(password="another-pass-77")
    assert a.email != b.email
    stored = _fresh(User, a.id)
    assert stored.is_active and stored.check_password(PASSWORD)
    assert _fresh(User, b.id).check_password("another-pass-77")


def test_a_position_brings_its_portfolio_and_owner(ctx):
    position = PositionFactory()
    stored = _fresh(Position, position.id)
    assert (stored.position_type, stored.quantity, stored.symbol) == ("LONG", 10.0, "AAPL")
    assert stored.portfolio.owner.email.startswith("advisor")
    assert stored.portfolio.cash == 10_000.0
    assert PositionFactory(quantity=-3).position_type == "SHORT"


@pytest.mark.parametrize(
    ("right", "quantity", "kind", "symbol"),
    [
        ("C", 1, "LC", "AAPL260918C00200000"),
        ("C", -2, "SC", "AAPL260918C00200000"),
        ("P", 3, "LP", "AAPL260918P00200000"),
        ("P", -1, "SP", "AAPL260918P00200000"),
    ],
)
def test_options_of_every_type_pass_the_database_checks(ctx, right, quantity, kind, symbol):
    option = OptionPositionFactory(right=right, quantity=quantity)
    stored = _fresh(Position, option.id)
    assert (stored.position_type, stored.symbol, stored.multiplier) == (kind, symbol, 100.0)
    assert stored.is_option and stored.price_symbol == "AAPL"


def test_names_are_unique_per_advisor_as_the_schema_demands(ctx):
    portfolio = PortfolioFactory()
    second = PortfolioFactory(owner=portfolio.owner)
    assert _fresh(Portfolio, second.id).name != portfolio.name
    tag = TagFactory()
    assert _fresh(Tag, tag.id).user_id != portfolio.owner.id  # a new advisor of its own
    with pytest.raises(IntegrityError):
        TagFactory(user_id=tag.user_id, name=tag.name)
    db.session.rollback()


def test_batch_runs_belong_to_a_portfolio(ctx):
    run = BatchRunFactory()
    stored = _fresh(BatchRun, run.id)
    assert stored.status == "succeeded" and stored.steps == []
    assert db.session.get(Portfolio, stored.portfolio_id) is not None

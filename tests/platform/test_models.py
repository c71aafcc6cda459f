import datetime as dt

import pytest
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import Position


@pytest.mark.parametrize(
    "ptype, qty",
    [("LONG", -5), ("SHORT", 5), ("LC", -1), ("SP", 2)],
)
def test_quantity_sign_must_match_position_type(factory, ptype, qty):
    user = factory.user()
    portfolio = factory.portfolio(user)
    extra = {}
    if ptype not in ("LONG", "SHORT"):
        extra = dict(
            underlying_symbol="AAPL",
            strike_price=200.0,
            expiration_date=dt.date(2026, 9, 18),
            multiplier=100.0,
        )
    db.session.add(
        Position(
            portfolio_id=portfolio.id,
            symbol="AAPL",
            position_type=ptype,
            quantity=qty,
            entry_price=1.0,
            entry_date=dt.date(2025, 1, 2),
            **extra,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_option_requires_strike_expiry_underlying(factory):
    user = factory.user()
    portfolio = factory.portfolio(user)
    db.session.add(
        Position(
            portfolio_id=portfolio.id,
            symbol="AAPL260918C00200000",
            position_type="LC",
            quantity=1,
            entry_price=5.0,
            entry_date=dt.date(2025, 1, 2),
            multiplier=100.0,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_password_is_hashed(factory):
    user = factory.user(password="s3cret-pass")
    assert "s3cret-pass" not in user.password_hash
    assert user.check_password("s3cret-pass") and not user.check_password("wrong")

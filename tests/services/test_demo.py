"""`flask seed-demo`: three advisors, books built from dataset symbols, idempotent."""

import datetime as dt

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Portfolio, Position, PriceBar, User
from webapp.services.demo import DEMO_PASSWORD

AS_OF = dt.date(2026, 8, 3)
EMAILS = (
    "demo_individual@sigmasight.com",
    "demo_hnw@sigmasight.com",
    "demo_hedgefundstyle@sigmasight.com",
)


def _book(email):
    user = db.session.scalar(select(User).where(User.email == email))
    return user, db.session.scalars(select(Portfolio).where(Portfolio.user_id == user.id)).one()


def test_demo_accounts_and_books(ctx):
    sizes = {}
    for email in EMAILS:
        user, portfolio = _book(email)
        assert user.check_password(DEMO_PASSWORD)
        sizes[email] = len(portfolio.positions)
        for p in portfolio.positions:
            has_prices = db.session.scalar(
                select(func.count())
                .select_from(PriceBar)
                .where(PriceBar.symbol == p.price_symbol, PriceBar.date == AS_OF)
            )
            assert has_prices == 1, p.symbol
    assert sizes == {EMAILS[0]: 16, EMAILS[1]: 17, EMAILS[2]: 30}


def test_plain_books_hold_only_stocks_and_etfs(ctx):
    for email in EMAILS[:2]:
        _, portfolio = _book(email)
        assert {p.position_type for p in portfolio.positions} == {"LONG"}


def test_hedge_fund_book_has_every_position_type_with_future_expiries(ctx):
    _, portfolio = _book(EMAILS[2])
    types = {p.position_type for p in portfolio.positions}
    assert types == {"LONG", "SHORT", "LC", "LP", "SC", "SP"}
    for p in portfolio.positions:
        if p.is_option:
            assert p.expiration_date > AS_OF and p.multiplier == 100
            assert (
                p.symbol.startswith(p.underlying_symbol)
                and len(p.symbol) == len(p.underlying_symbol) + 15
            )
        assert p.entry_date <= AS_OF


def test_entry_prices_are_real_closes(ctx):
    _, portfolio = _book(EMAILS[0])
    for p in portfolio.positions:
        close = db.session.scalar(
            select(PriceBar.adj_close).where(
                PriceBar.symbol == p.symbol, PriceBar.date == p.entry_date
            )
        )
        assert abs(close - p.entry_price) < 1e-4


def test_seed_demo_is_idempotent(runner, ctx):
    before = db.session.scalar(select(func.count()).select_from(Position))
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "created" not in result.output.replace("demo data ready", "")
    assert db.session.scalar(select(func.count()).select_from(Position)) == before
    assert (
        db.session.scalar(select(func.count()).select_from(User).where(User.email.in_(EMAILS))) == 3
    )

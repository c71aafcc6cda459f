"""API test helpers: demo books with stored results, bearer tokens, another advisor's portfolio."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from webapp.services.demo import DEMO_BOOKS, DEMO_PASSWORD

DEMO_EMAILS = tuple(book.email for book in DEMO_BOOKS)  # the same three as tests/conftest.py


@dataclass(frozen=True)
class Book:
    """One demo advisor: the portfolio id and a bearer header for the API."""

    email: str
    user_id: int
    portfolio_id: int
    headers: dict


def login_token(client, email: str, password: str) -> str:
    """POST /auth/login and return the access token."""
    resp = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert resp.status_code == 200, resp.get_json()
    # A bearer-token client: drop the auth_token cookie the login also set, so a request
    # without the header is unauthenticated (test_api_cookie_auth.py covers the cookie).
    client.delete_cookie("auth_token", path="/api/")
    return resp.get_json()["access_token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def demo_books(app, *, run_batch: bool) -> dict[str, Book]:
    """The three demo books keyed by email ('individual', 'hnw', 'hedgefundstyle' also work)."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Portfolio, User
    from webapp.services.batch import run_portfolio_batch

    books: dict[str, Book] = {}
    client = app.test_client()
    with app.app_context():
        for email in DEMO_EMAILS:
            user = db.session.scalar(select(User).where(User.email == email))
            portfolio = db.session.scalar(select(Portfolio).where(Portfolio.user_id == user.id))
            if run_batch:
                run = run_portfolio_batch(portfolio.id)
                assert run.status == "succeeded", run.error
            book = Book(
                email, user.id, portfolio.id, bearer(login_token(client, email, DEMO_PASSWORD))
            )
            books[email] = book
            books[email.split("@")[0].removeprefix("demo_")] = book
        db.session.remove()
    return books


@pytest.fixture(scope="module")
def books(app):
    """Demo books with a batch run once per module (stored results for every analytics page)."""
    return demo_books(app, run_batch=True)


@pytest.fixture(scope="module")
def books_no_batch(app):
    """Demo books and tokens without running the batch (raw data tests need no results)."""
    return demo_books(app, run_batch=False)


@pytest.fixture()
def stranger(factory, client):
    """Another advisor with one stock position and no batch run, plus their bearer header."""
    user = factory.user()
    portfolio = factory.portfolio(
        user, positions=[{"symbol": "AAPL", "quantity": 10.0, "entry_price": 150.0}]
    )
    token = login_token(client, user.email, factory.password)
    return Book(user.email, user.id, portfolio.id, bearer(token))

"""Login budgets: one per address across form and API, kept in Redis; a lockout per account."""

from __future__ import annotations

import itertools
import secrets

import pytest

from webapp.services import login_guard
from webapp.services.queueing import get_redis

_addresses = itertools.count(10)
# A network per test session: CI's Redis service outlives a run, and an hour's budget spent by
# the previous run must not count against this one.
_NETWORK = 20 + secrets.randbelow(200)


@pytest.fixture()
def address():
    """A client address of its own, so budgets spent by other tests do not count."""
    return f"10.{_NETWORK}.{next(_addresses)}.{next(_addresses) % 250}"


@pytest.fixture()
def tight_budget(app):
    saved = app.config["LOGIN_RATE_LIMIT"]
    # Per hour, not per minute: the limiter's windows are fixed, and six slow logins on a loaded
    # machine could straddle a minute boundary and find the budget reset.
    app.config["LOGIN_RATE_LIMIT"] = "4 per hour"
    yield
    app.config["LOGIN_RATE_LIMIT"] = saved


def _form(client, email, password, addr):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": addr}
    )


def _api(client, email, password, addr):
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": addr},
    )


def test_form_and_api_share_one_budget_per_address_stored_in_redis(
    app, ctx, client, tight_budget, address
):
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    codes = [
        _form(client, f"nobody{i}@example.com", "wrong-password", address).status_code
        for i in range(2)
    ]
    codes += [
        _api(client, f"nobody{i}@example.com", "wrong-password", address).status_code
        for i in range(2, 4)
    ]
    assert codes == [401, 401, 401, 401]
    form, api = (
        _form(client, "n5@example.com", "x" * 9, address),
        _api(client, "n6@example.com", "x" * 9, address),
    )
    assert (
        form.status_code == 429
        and "Too many login attempts from your network address" in form.get_data(as_text=True)
    )
    assert api.status_code == 429 and api.get_json()["error"]["code"] == "rate_limited"
    assert any(b"login" in key for key in get_redis().keys("LIMITS*"))  # shared, not per process


def test_repeated_failures_lock_the_account_across_addresses_and_say_so(app, client, factory):
    user = factory.user()
    codes = [
        _form(client, user.email, f"guess-{i}", f"10.88.0.{i}").status_code
        for i in range(app.config["LOGIN_MAX_FAILURES"] - 1)
    ]
    assert set(codes) == {401}
    locked = _form(client, user.email, "guess-last", "10.88.1.1")
    assert locked.status_code == 429
    assert "Too many failed logins for this account" in locked.get_data(as_text=True)
    # Flask-Limiter raises Retry-After to its own window's reset when that is later (and
    # re-derives it from the clock, so it may read a second less).
    assert int(locked.headers["Retry-After"]) >= app.config["LOGIN_LOCKOUT_SECONDS"] - 1
    assert "try again in 30 seconds" in locked.get_data(as_text=True)
    # Even the right password waits, from anywhere, through the API too.
    right = _api(client, user.email, factory.password, "10.88.2.2")
    assert right.status_code == 429 and right.get_json()["error"]["code"] == "account_locked"
    assert "try again in" in right.get_json()["error"]["message"]
    # A further failure doubles the pause.
    get_redis().delete(login_guard._keys(user.email)[1])  # the first pause has run out
    again = _form(client, user.email, "guess-again", "10.88.3.3")
    assert int(again.headers["Retry-After"]) >= 2 * app.config["LOGIN_LOCKOUT_SECONDS"] - 1
    assert "try again in 1 minute." in again.get_data(as_text=True)
    get_redis().delete(login_guard._keys(user.email)[1])
    ok = _form(client, user.email, factory.password, "10.88.4.4")
    assert ok.status_code == 302  # and success clears the count
    assert get_redis().get(login_guard._keys(user.email)[0]) is None


def test_unknown_emails_are_counted_like_real_ones(app, ctx, client):
    """The lockout must not tell an attacker which e-mails have accounts."""
    email = "ghost-account@example.com"
    get_redis().delete(*login_guard._keys(email))
    codes = [
        _form(client, email, f"g{i}", f"10.99.0.{i}").status_code
        for i in range(app.config["LOGIN_MAX_FAILURES"])
    ]
    assert codes[-1] == 429
    get_redis().delete(*login_guard._keys(email))

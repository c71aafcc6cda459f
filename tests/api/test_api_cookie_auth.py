"""Dual authentication (TODO3 4.0.1): the API login also sets an HttpOnly auth_token cookie,
accepted for reads; a write with it needs the X-CSRF-Token header; logout clears it."""

from __future__ import annotations

import pytest


@pytest.fixture()
def user_book(factory):
    user = factory.user()
    portfolio = factory.portfolio(user, positions=[])
    return user, portfolio


def _login(client, user, factory):
    resp = client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": factory.password}
    )
    assert resp.status_code == 200
    return resp


def test_login_sets_an_httponly_samesite_cookie_holding_the_token(app, factory, user_book):
    user, _ = user_book
    client = app.test_client()
    resp = _login(client, user, factory)
    header = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("auth_token="))
    token = resp.get_json()["access_token"]
    assert header.startswith(f"auth_token={token};")
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/api/" in header
    assert "Max-Age=86400" in header
    assert resp.get_json()["csrf_token"]


def test_cookie_authorises_reads_without_a_header(app, factory, user_book):
    user, portfolio = user_book
    client = app.test_client()
    assert client.get("/api/v1/data/portfolios").status_code == 401
    _login(client, user, factory)
    resp = client.get("/api/v1/data/portfolios")  # no Authorization header: the cookie
    assert resp.status_code == 200
    assert [p["id"] for p in resp.get_json()["portfolios"]] == [portfolio.id]


def test_cookie_write_needs_the_csrf_header(app, factory, user_book):
    user, portfolio = user_book
    client = app.test_client()
    csrf = _login(client, user, factory).get_json()["csrf_token"]
    path = f"/api/v1/management/portfolios/{portfolio.id}"
    refused = client.patch(path, json={"description": "by cookie"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "csrf_required"
    wrong = client.patch(
        path, json={"description": "by cookie"}, headers={"X-CSRF-Token": "x" * 40}
    )
    assert wrong.status_code == 403
    ok = client.patch(path, json={"description": "by cookie"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.get_json()["description"] == "by cookie"


def test_another_tokens_csrf_value_does_not_fit(app, factory, user_book):
    user, portfolio = user_book
    first = _login(app.test_client(), user, factory).get_json()["csrf_token"]
    client = app.test_client()
    second = _login(client, user, factory).get_json()["csrf_token"]
    assert first != second
    resp = client.patch(
        f"/api/v1/management/portfolios/{portfolio.id}",
        json={"description": "x"},
        headers={"X-CSRF-Token": first},
    )
    assert resp.status_code == 403


def test_logout_revokes_the_cookie_token_and_clears_the_cookie(app, factory, user_book):
    user, _ = user_book
    client = app.test_client()
    token = _login(client, user, factory).get_json()["access_token"]
    resp = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "unused"})
    # Logout by cookie is a write: it too needs the CSRF header, so log out with the bearer.
    assert resp.status_code == 403
    resp = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json() == {"revoked": True}
    cleared = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("auth_token="))
    assert "Max-Age=0" in cleared or "expires=Thu, 01 Jan 1970" in cleared
    assert client.get("/api/v1/data/portfolios").status_code == 401
    # The token itself is revoked too, wherever it is sent.
    other = app.test_client()
    assert (
        other.get(
            "/api/v1/data/portfolios", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )


def test_bearer_wins_over_the_cookie(app, factory, user_book):
    user, _ = user_book
    other_user = factory.user()
    other_portfolio = factory.portfolio(other_user, positions=[])
    client = app.test_client()
    _login(client, user, factory)  # cookie: user
    other_token = client.post(
        "/api/v1/auth/login", json={"email": other_user.email, "password": factory.password}
    ).get_json()["access_token"]
    _login(client, user, factory)  # cookie back to user
    resp = client.get("/api/v1/data/portfolios", headers={"Authorization": f"Bearer {other_token}"})
    assert [p["id"] for p in resp.get_json()["portfolios"]] == [other_portfolio.id]

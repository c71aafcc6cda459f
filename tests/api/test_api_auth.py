"""Bearer tokens (login, refresh rotation, logout) and the browser session on /api/v1."""

from __future__ import annotations

import datetime as dt

from tests.api.conftest import DEMO_EMAILS, DEMO_PASSWORD, bearer

LOGIN = "/api/v1/auth/login"
READ = "/api/v1/data/portfolios"


def assert_error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def login(client, email=DEMO_EMAILS[0], password=DEMO_PASSWORD):
    return client.post(LOGIN, json={"email": email, "password": password})


def test_login_returns_a_bearer_token_with_its_expiry(client):
    resp = login(client)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["token_type"] == "bearer" and len(body["access_token"]) >= 32
    assert body["expires_at"].endswith("Z")
    expires = dt.datetime.fromisoformat(body["expires_at"].removesuffix("Z")).replace(tzinfo=dt.UTC)
    left = (expires - dt.datetime.now(dt.UTC)).total_seconds()
    assert 23 * 3600 < left <= 24 * 3600 and abs(body["expires_in"] - left) < 5
    me = client.get(READ, headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.get_json()["count"] == 1


def test_login_failures(client):
    assert_error(login(client, password="wrong-password"), 401, "unauthorized")
    assert_error(login(client, email="nobody@example.com"), 401, "unauthorized")
    error = assert_error(
        client.post(LOGIN, json={"email": DEMO_EMAILS[0]}), 422, "validation_error"
    )
    assert error["details"] == {"fields": ["password"]}
    assert_error(client.post(LOGIN, data="email=x"), 400, "bad_request")


def test_refresh_rotates_the_token(client):
    old = login(client).get_json()["access_token"]
    resp = client.post("/api/v1/auth/refresh", headers=bearer(old))
    assert resp.status_code == 200
    new = resp.get_json()["access_token"]
    assert new != old
    assert client.get(READ, headers=bearer(new)).status_code == 200
    error = assert_error(client.get(READ, headers=bearer(old)), 401, "unauthorized")
    assert "revoked" in error["message"]


def test_logout_revokes_the_token(client):
    token = login(client).get_json()["access_token"]
    resp = client.post("/api/v1/auth/logout", headers=bearer(token))
    assert resp.status_code == 200 and resp.get_json() == {"revoked": True}
    assert_error(client.get(READ, headers=bearer(token)), 401, "unauthorized")
    assert_error(client.post("/api/v1/auth/logout", headers=bearer(token)), 401, "unauthorized")


def test_garbage_and_missing_credentials_are_401_with_a_challenge(client):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        resp = client.get(READ, headers=headers)
        assert_error(resp, 401, "unauthorized")
        assert resp.headers["WWW-Authenticate"] == 'Bearer realm="sigmasight"'


def test_browser_session_authorises_reads_but_not_writes(client, auth, factory):
    user = factory.user()
    portfolio = factory.portfolio(user)
    assert auth.login(user.email).status_code == 302  # the HTML login form
    resp = client.get(READ)
    assert resp.status_code == 200 and [p["id"] for p in resp.get_json()["portfolios"]] == [
        portfolio.id
    ]
    export = client.get(f"/api/v1/export/portfolio/{portfolio.id}?format=csv")
    assert export.status_code == 200 and export.headers["Content-Disposition"].startswith(
        "attachment"
    )
    body = {
        "portfolio_id": portfolio.id,
        "trades": [{"symbol": "AAPL", "side": "BUY", "quantity": 1}],
    }
    assert_error(client.post("/api/v1/export/trades", json=body), 401, "unauthorized")
    assert_error(client.post("/api/v1/auth/refresh"), 401, "unauthorized")
    auth.logout()
    assert_error(client.get(READ), 401, "unauthorized")

"""Browser login: form with CSRF, sessions, remember-me, generic failure, rate limit, logout."""

import re

from webapp.auth.routes import GENERIC_FAILURE


def test_login_page_is_a_form_with_csrf_token(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        html = client.get("/login").get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert '<form method="post"' in html
    assert re.search(r'name="csrf_token" type="hidden" value="[^"]+"', html)
    assert 'name="remember"' in html


def test_post_without_csrf_token_is_refused(app, client, factory):
    user = factory.user()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = client.post("/login", data={"email": user.email, "password": factory.password})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert resp.status_code == 400
    assert client.get("/portfolios/").status_code == 302  # not logged in


def test_login_with_csrf_token_succeeds(app, client, factory):
    user = factory.user()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        html = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        resp = client.post(
            "/login", data={"email": user.email, "password": factory.password, "csrf_token": token}
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/portfolios/")


def test_wrong_password_and_unknown_email_get_the_same_generic_error(client, auth, factory):
    user = factory.user()
    bad_pw = auth.login(user.email, "wrong-password")
    unknown = auth.login("nobody@example.com", "whatever-123")
    assert bad_pw.status_code == unknown.status_code == 401
    for resp in (bad_pw, unknown):
        assert GENERIC_FAILURE in resp.get_data(as_text=True)


def test_login_logout_and_refused_afterwards(client, auth, factory):
    user = factory.user()
    assert auth.login(user.email).status_code == 302
    page = client.get("/portfolios/")
    assert page.status_code == 200 and user.email in page.get_data(as_text=True)
    assert auth.logout().status_code == 302
    after = client.get("/portfolios/")
    assert after.status_code == 302 and "/login" in after.headers["Location"]


def test_session_cookie_flags(client, auth, factory):
    user = factory.user()
    resp = auth.login(user.email, remember=True)
    cookies = resp.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("session="))
    remember = next(c for c in cookies if c.startswith("remember_token="))
    for c in (session, remember):
        assert "HttpOnly" in c and "SameSite=Lax" in c


def test_remember_me_restores_the_session(app, factory):
    user = factory.user()
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": factory.password, "remember": "y"})
    client.delete_cookie("session")  # the browser was closed: only the remember cookie survives
    assert client.get_cookie("remember_token") is not None
    assert client.get("/portfolios/").status_code == 200
    forgetful = app.test_client()
    forgetful.post("/login", data={"email": user.email, "password": factory.password})
    forgetful.delete_cookie("session")
    assert forgetful.get("/portfolios/").status_code == 302


def test_next_parameter_only_allows_local_paths(client, factory):
    user = factory.user()
    resp = client.post(
        "/login?next=https://evil.example/steal",
        data={"email": user.email, "password": factory.password},
    )
    assert resp.headers["Location"].endswith("/portfolios/")


def test_login_attempts_are_rate_limited(app, client, factory):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [
            client.post(
                "/login", data={"email": "x@example.com", "password": "nope-nope"}
            ).status_code
            for _ in range(5)
        ]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]


def test_users_create_cli(runner, ctx):
    result = runner.invoke(
        args=["users", "create", "--email", "New.Advisor@Example.com", "--name", "New"],
        input="Kestrel-Orbit-42\nKestrel-Orbit-42\n",
    )
    assert result.exit_code == 0, result.output
    from webapp.services.users import authenticate

    assert authenticate("new.advisor@example.com", "Kestrel-Orbit-42") is not None
    dup = runner.invoke(
        args=["users", "create", "--email", "new.advisor@example.com"],
        input="Kestrel-Orbit-42\nKestrel-Orbit-42\n",
    )
    assert dup.exit_code != 0 and "already exists" in dup.output

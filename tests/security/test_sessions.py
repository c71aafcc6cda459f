"""Sessions: no constant secret, logout revokes server-side.

Remember-me tokens are hashed and expire.
"""

from __future__ import annotations

import hashlib
import re
import stat
from datetime import timedelta

from flask_login.utils import encode_cookie
from sqlalchemy import select

from tests.security.conftest import ROOT
from webapp import config as config_module
from webapp.extensions import db
from webapp.models import UserSession
from webapp.models._time import utcnow


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_logout_invalidates_the_old_session_cookie_and_the_remember_token(app, factory):
    user = factory.user()
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": factory.password, "remember": "y"})
    stolen_session, stolen_remember = (
        _session_cookie(client),
        client.get_cookie("remember_token").value,
    )
    assert client.get("/portfolios/").status_code == 200
    assert client.post("/logout").status_code == 302
    for name, value in (("session", stolen_session), ("remember_token", stolen_remember)):
        replay = app.test_client()
        replay.set_cookie(name, value)
        resp = replay.get("/portfolios/")
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], name
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert row.revoked_at is not None


def test_remember_token_is_random_stored_hashed_and_expires(app, factory):
    user = factory.user()
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": factory.password, "remember": "y"})
    cookie = client.get_cookie("remember_token").value
    token = cookie.split("|")[0]  # Flask-Login: value|hmac
    assert len(token) >= 40 and str(user.id) != token
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert (
        row.token_digest == hashlib.sha256(token.encode()).hexdigest()
        and token not in row.token_digest
    )
    assert row.remember and timedelta(days=13) < row.expires_at - utcnow() <= timedelta(days=14)
    # A second login is a second, different session.
    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": factory.password, "remember": "y"})
    assert other.get_cookie("remember_token").value.split("|")[0] != token
    # Expired: the cookie no longer logs in, however validly signed.
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    replay = app.test_client()
    replay.set_cookie("remember_token", cookie)
    assert replay.get("/portfolios/").status_code == 302


def test_a_remember_cookie_forged_for_a_user_id_logs_no_one_in(app, factory):
    """Even with the signing key (the measured attack: a constant dev secret), a cookie naming a
    user id is useless: cookies name random, stored sessions."""
    user = factory.user()
    with app.test_request_context():
        forged = encode_cookie(str(user.id))
    client = app.test_client()
    client.set_cookie("remember_token", forged)
    resp = client.get("/portfolios/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_development_secret_is_generated_per_instance_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config_module, "INSTANCE_DIR", tmp_path / "a")
    first = config_module.DevelopmentConfig().SECRET_KEY
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert config_module.DevelopmentConfig().SECRET_KEY == first  # kept across restarts
    key_file = tmp_path / "a" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    monkeypatch.setattr(config_module, "INSTANCE_DIR", tmp_path / "b")
    assert config_module.DevelopmentConfig().SECRET_KEY != first  # another install, another key


def test_no_constant_secret_in_the_code_and_procfile_selects_production():
    source = (ROOT / "webapp" / "config.py").read_text()
    assert not re.search(r"SECRET_KEY\s*=\s*['\"]", source)
    assert not re.search(r"get\(['\"]SECRET_KEY['\"],", source)  # no fallback literal
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            assert "SIGMASIGHT_ENV=production" in line, line


def test_logout_everywhere_revokes_every_session_and_token(app, factory, runner):
    user = factory.user()
    browser = app.test_client()
    browser.post("/login", data={"email": user.email, "password": factory.password})
    api = app.test_client()
    token = api.post(
        "/api/v1/auth/login", json={"email": user.email, "password": factory.password}
    ).get_json()["access_token"]
    result = runner.invoke(args=["users", "logout-everywhere", "--email", user.email])
    assert result.exit_code == 0 and "revoked 1 session(s) and 1 API token(s)" in result.output
    assert browser.get("/portfolios/").status_code == 302
    assert (
        api.get("/api/v1/data/portfolios", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )

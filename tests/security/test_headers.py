"""Security headers on every kind of response, Cache-Control: no-store on everything but /static/,
and HSTS only under the production config."""

from __future__ import annotations

import pytest

from webapp import create_app
from webapp.services.demo import DEMO_BOOKS, DEMO_PASSWORD

EMAIL = DEMO_BOOKS[1].email  # the high-net-worth demo advisor

CSP_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def csp(response) -> dict[str, str]:
    """The Content-Security-Policy header as {directive: sources}."""
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, _, sources = part.partition(" ")
        directives[name] = sources.strip()
    return directives


def assert_security_headers(response) -> None:
    policy = csp(response)
    for directive, sources in CSP_DIRECTIVES.items():
        assert policy.get(directive) == sources, (directive, policy)
    for directive, sources in policy.items():
        if directive in ("script-src", "default-src"):
            assert "unsafe" not in sources and "*" not in sources, (directive, sources)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "no-referrer")
    permissions = response.headers["Permissions-Policy"]
    assert "camera=()" in permissions and "geolocation=()" in permissions


def assert_no_store(response) -> None:
    assert "no-store" in response.headers.get("Cache-Control", ""), dict(response.headers)


@pytest.fixture()
def advisor(client, auth, ctx):
    """A client logged in as the demo advisor, their portfolio id and a bearer header."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Portfolio, User

    resp = auth.login(EMAIL, DEMO_PASSWORD)
    assert resp.status_code == 302
    user = db.session.scalar(select(User).where(User.email == EMAIL))
    portfolio_id = db.session.scalar(select(Portfolio.id).where(Portfolio.user_id == user.id))
    token = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": DEMO_PASSWORD})
    assert token.status_code == 200, token.get_json()
    return client, portfolio_id, {"Authorization": f"Bearer {token.get_json()['access_token']}"}


def test_authenticated_page(advisor):
    client, portfolio_id, _ = advisor
    resp = client.get(f"/portfolios/{portfolio_id}/overview")
    assert resp.status_code == 200 and b"<html" in resp.data
    assert_security_headers(resp)
    assert_no_store(resp)
    assert "Strict-Transport-Security" not in resp.headers  # not outside production


def test_htmx_partial(advisor):
    client, portfolio_id, _ = advisor
    resp = client.get(
        f"/portfolios/{portfolio_id}/correlations?lookback_days=30", headers={"HX-Request": "true"}
    )
    assert resp.status_code == 200
    assert b"<html" not in resp.data and b'id="heatmap"' in resp.data  # the partial alone
    assert_security_headers(resp)
    assert_no_store(resp)


def test_api_response_and_api_error(advisor):
    client, portfolio_id, bearer = advisor
    resp = client.get("/api/v1/data/portfolios", headers=bearer)
    assert resp.status_code == 200 and resp.is_json
    assert_security_headers(resp)
    assert_no_store(resp)
    missing = client.get("/api/v1/data/portfolio/999999999/complete", headers=bearer)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert_no_store(missing)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_downloads(advisor, fmt):
    client, portfolio_id, bearer = advisor
    resp = client.get(f"/api/v1/export/portfolio/{portfolio_id}?format={fmt}", headers=bearer)
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert_security_headers(resp)
    assert_no_store(resp)


def test_login_health_and_error_pages(client):
    for path, status in (("/login", 200), ("/health", 200), ("/no-such-page", 404)):
        resp = client.get(path)
        assert resp.status_code == status, path
        assert_security_headers(resp)
        assert_no_store(resp)


@pytest.mark.parametrize(
    "path",
    [
        "/static/js/app.js",
        "/static/js/charts.js",
        "/static/vendor/htmx-2.0.11.min.js",
        "/static/css/app.css",
    ],
)
def test_static_files_stay_cacheable(client, path):
    resp = client.get(path)
    assert resp.status_code == 200
    assert "no-store" not in resp.headers.get("Cache-Control", "")
    assert resp.headers.get("ETag") or resp.headers.get("Last-Modified")  # revalidation works
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    resp.close()


def test_hsts_only_under_the_production_config(app, monkeypatch, tmp_path):
    assert not app.config.get("STRICT_TRANSPORT_SECURITY")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-for-this-test")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    monkeypatch.setenv("REDIS_URL", app.config["REDIS_URL"])
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    production = create_app("production")
    resp = production.test_client().get("/login")
    assert resp.status_code == 200
    hsts = resp.headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=") and int(hsts.split(";")[0].split("=")[1]) >= 31536000
    assert_security_headers(resp)
    with app.test_client() as testing_client:
        assert "Strict-Transport-Security" not in testing_client.get("/login").headers


def test_templates_have_no_inline_script_or_handler():
    """A strict CSP blocks inline code: every behaviour lives in static/js."""
    import re
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|hx-on|javascript:|js:", re.I)
    for path in templates.rglob("*.html"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if inline.search(line):
                offenders.append(f"{path.relative_to(templates)}:{number}: {line.strip()}")
    assert not offenders, offenders

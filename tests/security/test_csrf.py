"""Every browser form refuses a POST without its CSRF token, and the refused action does nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.security.test_isolation import _url
from webapp.extensions import db
from webapp.models import BatchRun, Portfolio, Position, Tag


@pytest.fixture()
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def _counts(advisor) -> tuple:
    return tuple(
        db.session.scalar(select(func.count()).select_from(m).where(cond))
        for m, cond in (
            (Portfolio, Portfolio.user_id == advisor.user_id),
            (Position, Position.portfolio_id == advisor.portfolio_id),
            (Tag, Tag.user_id == advisor.user_id),
            (BatchRun, BatchRun.portfolio_id == advisor.portfolio_id),
        )
    )


def test_every_form_post_without_a_token_is_refused_and_changes_nothing(
    app, client, two_advisors, csrf_on
):
    alice, _ = two_advisors
    page = client.get("/login").get_data(as_text=True)
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page
    )
    token = next(g for g in token.groups() if g)
    assert (
        client.post(
            "/login",
            data={"email": alice.email, "password": "correct-horse-9", "csrf_token": token},
        ).status_code
        == 302
    )
    before = _counts(alice)
    posts = [
        rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.rule.startswith("/api/")
    ]
    assert len(posts) >= 12
    for rule in posts:
        url = _url(rule, alice)
        resp = client.post(url, data={"name": "x", "cash": "1", "quantity": "1"})
        assert resp.status_code == 400, (url, resp.status_code)
        assert (
            "CSRF" in resp.get_data(as_text=True) or "csrf" in resp.get_data(as_text=True).lower()
        )
    db.session.expire_all()
    assert _counts(alice) == before
    assert client.get("/portfolios/").status_code == 200  # still logged in: logout was refused too


def test_a_post_with_the_pages_token_goes_through(app, client, auth, factory, csrf_on):
    user = factory.user()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(
        "/login", data={"email": user.email, "password": factory.password, "csrf_token": token}
    )
    form = client.get("/portfolios/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    resp = client.post(
        "/portfolios/new",
        data={"name": "With token", "description": "", "cash": "5", "csrf_token": token},
    )
    assert resp.status_code == 302

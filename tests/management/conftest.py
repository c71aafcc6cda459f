"""Fixtures for the management tests: a logged-in advisor, an API client, queue hygiene."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import BatchRun, Portfolio, Position, Tag


def counts() -> dict[str, int]:
    """Rows per table that an import or a management action may touch (all advisors)."""
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Portfolio, Position, Tag, BatchRun)
    }


def exists(model, row_id: int) -> bool:
    """True when the row is in the database (bypasses this session's identity map)."""
    return db.session.scalar(select(func.count()).select_from(model).where(model.id == row_id)) == 1


def csrf_token(html: str) -> str:
    """The CSRF token a rendered form carries."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "the form has no CSRF token"
    return match.group(1)


def field_errors(html: str) -> dict[str, list[str]]:
    """field name -> messages shown next to it (the _macros.field markup)."""
    out: dict[str, list[str]] = {}
    for name, message in re.findall(
        r'<div class="field-error" data-field="([^"]+)">([^<]*)</div>', html
    ):
        out.setdefault(name, []).append(message)
    return out


@pytest.fixture()
def advisor(factory, auth):
    """A new advisor, logged in through the login form."""
    user = factory.user()
    assert auth.login(user.email).status_code == 302
    return user


class Api:
    """Bearer-token JSON client for /api/v1."""

    def __init__(self, client, token: str):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method: str):
        def call(path: str, **kwargs):
            return getattr(self.client, method)(f"/api/v1{path}", headers=self.headers, **kwargs)

        return call


@pytest.fixture()
def api_for(app, factory):
    """api_for(user) -> an Api client logged in as ``user`` via POST /auth/login."""

    def make(user) -> Api:
        client = app.test_client()
        resp = client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": factory.password}
        )
        assert resp.status_code == 200, resp.get_json()
        return Api(client, resp.get_json()["access_token"])

    return make


@pytest.fixture()
def api(factory, api_for):
    """An API client for a new advisor (``api.user``)."""
    user = factory.user()
    client = api_for(user)
    client.user = user
    return client


@pytest.fixture()
def queued_jobs(ctx):
    """Jobs enqueued during the test are removed afterwards (no worker runs them here)."""
    from webapp.services.queueing import get_queue

    queue = get_queue()
    before = set(queue.job_ids) | set(queue.deferred_job_registry.get_job_ids())
    yield queue
    for job_id in (set(queue.job_ids) | set(queue.deferred_job_registry.get_job_ids())) - before:
        job = queue.fetch_job(job_id)
        if job is not None:
            job.delete()

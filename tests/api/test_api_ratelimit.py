"""The API rate limit: per user, read per request from API_RATE_LIMIT, 429 in the error shape."""

from __future__ import annotations

import pytest

from webapp.extensions import limiter


@pytest.fixture()
def three_per_minute(app):
    """Tighten the limit for one test; restore it and forget the counted hits afterwards."""
    saved = app.config["API_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"] = "3 per minute"
    limiter.reset()
    yield
    app.config["API_RATE_LIMIT"] = saved
    limiter.reset()


def test_fourth_request_in_a_minute_is_429_with_retry_after(
    client, books_no_batch, three_per_minute
):
    book = books_no_batch["individual"]
    path = f"/api/v1/analytics/portfolio/{book.portfolio_id}/overview"
    for _ in range(3):
        assert client.get(path, headers=book.headers).status_code == 200
    resp = client.get(path, headers=book.headers)
    assert resp.status_code == 429
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == "rate_limited"
    assert set(body["error"]) == {"code", "message", "details"}


def test_the_limit_is_per_user(client, books_no_batch, three_per_minute):
    first, second = books_no_batch["individual"], books_no_batch["hnw"]
    for _ in range(3):
        assert client.get("/api/v1/data/portfolios", headers=first.headers).status_code == 200
    assert client.get("/api/v1/data/portfolios", headers=first.headers).status_code == 429
    assert client.get("/api/v1/data/portfolios", headers=second.headers).status_code == 200


def test_the_budget_is_shared_across_routes(client, books_no_batch, three_per_minute):
    book = books_no_batch["individual"]
    paths = [
        "/api/v1/data/portfolios",
        f"/api/v1/analytics/portfolio/{book.portfolio_id}/overview",
        "/api/v1/analytics/factors/definitions",
    ]
    for path in paths:
        assert client.get(path, headers=book.headers).status_code == 200
    assert client.get("/api/v1/system/batch/history", headers=book.headers).status_code == 429

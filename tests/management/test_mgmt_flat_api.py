"""The contract's flat management paths: portfolios list, positions across portfolios (filters,
grouping, paging), position CRUD and tags by id alone, strategies."""

from __future__ import annotations

import pytest

from webapp.extensions import db
from webapp.models import Position


@pytest.fixture()
def books(api, factory):
    """Two portfolios of ``api.user``: stocks with strategies and tags, and one option."""
    user = api.user
    a = factory.portfolio(
        user,
        name="A growth",
        positions=[
            {"symbol": "AAPL", "quantity": 10.0, "entry_price": 150.0, "strategy": "core"},
            {"symbol": "MSFT", "quantity": 5.0, "entry_price": 300.0, "strategy": "core"},
            {"symbol": "XOM", "quantity": -20.0, "entry_price": 100.0, "position_type": "SHORT"},
        ],
    )
    b = factory.portfolio(
        user,
        name="B income",
        positions=[{"symbol": "AAPL", "quantity": 3.0, "entry_price": 160.0, "strategy": "income"}],
    )
    aapl = next(p for p in a.positions if p.symbol == "AAPL")
    assert (
        api.put(f"/management/positions/{aapl.id}/tags", json={"tags": ["tech"]}).status_code == 200
    )
    return a, b


def test_portfolios_list_is_paginated(api, books):
    body = api.get("/management/portfolios?limit=1&offset=1").get_json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 1, 1)
    assert [p["name"] for p in body["portfolios"]] == ["B income"]
    assert api.get("/management/portfolios?limit=0").status_code == 400


def test_positions_across_portfolios_filter_and_page(api, books):
    a, b = books
    every = api.get("/management/positions").get_json()
    assert every["total"] == 4 and {p["portfolio_id"] for p in every["positions"]} == {a.id, b.id}
    aapl = api.get("/management/positions?symbol=aapl").get_json()
    assert [p["symbol"] for p in aapl["positions"]] == ["AAPL", "AAPL"]
    short = api.get("/management/positions?position_type=SHORT").get_json()
    assert [p["symbol"] for p in short["positions"]] == ["XOM"]
    one = api.get(f"/management/positions?portfolio_id={b.id}").get_json()
    assert one["total"] == 1
    tagged = api.get("/management/positions?tag=tech").get_json()
    assert [p["portfolio_id"] for p in tagged["positions"]] == [a.id]
    page = api.get("/management/positions?limit=2&offset=2").get_json()
    assert (page["total"], len(page["positions"])) == (4, 2)
    ids = [p["id"] for p in every["positions"]]
    assert [p["id"] for p in page["positions"]] == ids[2:]
    bad = api.get("/management/positions?status=sold")
    assert bad.status_code == 400
    assert bad.get_json()["error"]["details"]["allowed"] == ["open", "closed", "all"]


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        ("strategy", {"core": 2, "income": 1, "(no strategy)": 1}),
        ("type", {"LONG": 3, "SHORT": 1}),
        ("tag", {"tech": 1, "(no tag)": 3}),
    ],
)
def test_positions_grouped(api, books, group_by, expected):
    body = api.get(f"/management/positions?group_by={group_by}").get_json()
    assert body["group_by"] == group_by
    assert {g["key"]: g["count"] for g in body["groups"]} == expected
    listed = {p["id"] for p in body["positions"]}
    assert all(set(g["position_ids"]) <= listed for g in body["groups"])


def test_position_crud_by_id_alone(api, books, ctx):
    a, _ = books
    created = api.post(
        "/management/positions",
        json={
            "portfolio_id": a.id,
            "symbol": "NVDA",
            "quantity": 2,
            "entry_price": 100,
            "entry_date": "2026-07-01",
        },
    )
    assert created.status_code == 201, created.get_json()
    pid = created.get_json()["id"]
    assert created.get_json()["portfolio_id"] == a.id
    assert api.get(f"/management/positions/{pid}").get_json()["symbol"] == "NVDA"
    patched = api.patch(f"/management/positions/{pid}", json={"notes": "starter"})
    assert patched.status_code == 200 and patched.get_json()["notes"] == "starter"
    assert api.delete(f"/management/positions/{pid}").status_code == 204
    db.session.expire_all()
    assert db.session.get(Position, pid) is None
    assert api.get(f"/management/positions/{pid}").status_code == 404
    missing = api.post("/management/positions", json={"symbol": "NVDA", "quantity": 1})
    assert missing.status_code == 422
    assert "portfolio_id" in missing.get_json()["error"]["details"]["fields"]


def test_another_advisors_positions_are_404(api, books, factory, api_for):
    a, _ = books
    other = api_for(factory.user())
    pid = a.positions[0].id
    for method in ("get", "delete"):
        assert getattr(other, method)(f"/management/positions/{pid}").status_code == 404
    assert other.put(f"/management/positions/{pid}/tags", json={"tags": ["x"]}).status_code == 404
    assert other.get(f"/management/positions?portfolio_id={a.id}").status_code == 404
    assert other.get("/management/positions").get_json()["total"] == 0
    assert (
        other.post(
            "/management/positions",
            json={"portfolio_id": a.id, "symbol": "NVDA", "quantity": 1, "entry_price": 1},
        ).status_code
        == 404
    )
    assert other.get("/management/strategies").get_json()["count"] == 0


def test_strategies_group_open_positions(api, books):
    body = api.get("/management/strategies").get_json()
    by_name = {s["strategy"]: s for s in body["strategies"]}
    assert set(by_name) == {"core", "income", "(no strategy)"}
    core = by_name["core"]
    assert core["position_count"] == 2 and core["symbols"] == ["AAPL", "MSFT"]
    assert core["cost_basis"] == pytest.approx(10 * 150 + 5 * 300)
    assert by_name["(no strategy)"]["cost_basis"] == pytest.approx(-20 * 100)


@pytest.mark.parametrize("value", [[None, None], 5, {"a": 1}, True])
def test_a_name_must_be_text(api, value):
    # Found by fuzzing the writes: str([None, None]) used to become a portfolio's name.
    for path in ("/management/portfolios", "/management/tags"):
        resp = api.post(path, json={"name": value})
        assert resp.status_code == 422, (path, resp.get_json())
        assert resp.get_json()["error"]["details"]["fields"]["name"] == "Must be text."
    assert api.get("/management/portfolios").get_json()["total"] == 0

"""/api/v1/management/clients and /management/households: the same service as the pages, the
API's error shape, pagination, and 404 for another advisor's client or household."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import bearer, login_token
from tests.factories import PortfolioFactory, PositionFactory
from webapp.analytics import questionnaire
from webapp.extensions import db
from webapp.models import Client, Portfolio, RiskProfile
from webapp.services import clients as svc
from webapp.services import households

API = "/api/v1/management"


def answers(level: int) -> dict[str, str]:
    return {q.key: q.choices[min(level, len(q.choices) - 1)].value for q in questionnaire.QUESTIONS}


class Caller:
    """An advisor with a bearer token."""

    def __init__(self, client, factory):
        self.user = factory.user()
        self.client = client
        self.headers = bearer(login_token(client, self.user.email, factory.password))

    def __getattr__(self, method: str):
        def call(path: str, **kwargs):
            return getattr(self.client, method)(f"{API}{path}", headers=self.headers, **kwargs)

        return call


@pytest.fixture()
def me(client, factory):
    return Caller(client, factory)


@pytest.fixture()
def other(app, factory):
    return Caller(app.test_client(), factory)


def _account(owner, symbol="AAPL"):
    book = PortfolioFactory(owner=owner, cash=1_000.0)
    PositionFactory(portfolio=book, symbol=symbol, quantity=10, entry_price=100.0)
    return book


def _fields(resp) -> dict:
    body = resp.get_json()
    assert body["error"]["code"] == "validation_error", body
    return body["error"]["details"]["fields"]


# ---------------------------------------------------------------- clients


def test_client_crud(me):
    account = _account(me.user)
    resp = me.post(
        "/clients",
        json={"name": "Ada Lovelace", "email": "ada@example.com", "portfolio_ids": [account.id]},
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["name"] == "Ada Lovelace" and body["profile"] is None
    assert body["accounts"] == [{"id": account.id, "name": account.name}]
    assert body["created_at"].endswith("Z")
    client_id = body["id"]
    assert me.get(f"/clients/{client_id}").get_json() == svc.client_dict(
        db.session.get(Client, client_id)
    )

    resp = me.put(f"/clients/{client_id}", json={"notes": "Retired teacher", "portfolio_ids": []})
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["name"], body["notes"], body["accounts"]) == (
        "Ada Lovelace",
        "Retired teacher",
        [],
    )

    assert me.delete(f"/clients/{client_id}").status_code == 204
    resp = me.get(f"/clients/{client_id}")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    db.session.expire_all()
    assert db.session.get(Portfolio, account.id) is not None  # accounts stay


def test_list_is_paginated(me):
    for name in ("Carol", "Alice", "Bob"):
        assert me.post("/clients", json={"name": name}).status_code == 201
    body = me.get("/clients?limit=2&offset=1").get_json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 2, 1)
    assert [c["name"] for c in body["clients"]] == ["Bob", "Carol"]
    assert me.get("/clients").get_json()["limit"] == 50
    resp = me.get("/clients?limit=0")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_parameter"


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": None}, "name"),
        ({"name": "Ok", "email": "nope"}, "email"),
        ({"name": "Ok", "email": 5}, "email"),
        ({"name": "Ok", "portfolio_ids": "1"}, "portfolio_ids"),
        ({"name": "Ok", "portfolio_ids": [2**63]}, "portfolio_ids"),
    ],
)
def test_field_errors_are_422(me, body, field):
    resp = me.post("/clients", json=body)
    assert resp.status_code == 422
    assert field in _fields(resp)


def test_names_are_unique_per_advisor(me, other):
    assert me.post("/clients", json={"name": "Same"}).status_code == 201
    resp = me.post("/clients", json={"name": "Same"})
    assert resp.status_code == 422
    assert _fields(resp) == {"name": "You already have a client called 'Same'."}
    second = me.post("/clients", json={"name": "Second"}).get_json()
    assert me.put(f"/clients/{second['id']}", json={"name": "Same"}).status_code == 422
    assert other.post("/clients", json={"name": "Same"}).status_code == 201


def test_a_body_that_is_not_an_object_is_400(me):
    resp = me.post("/clients", data="[]", content_type="application/json")
    assert resp.status_code == 400


# ---------------------------------------------------------------- questionnaire


def test_questionnaire_is_scored_stored_and_kept(me):
    client_id = me.post("/clients", json={"name": "Ada"}).get_json()["id"]
    given = answers(1)
    resp = me.post(f"/clients/{client_id}/questionnaire", json={"answers": given})
    assert resp.status_code == 201, resp.get_json()
    first = resp.get_json()
    expected = questionnaire.score(given)
    for key in ("score", "willingness", "capacity", "capped", "category", "loss_limit_pct"):
        assert first[key] == getattr(expected, key), key
    assert first["version"] == questionnaire.VERSION
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["answered_at"])
    assert first["answers"] == given
    assert first["description"] == questionnaire.describe(expected)
    assert first == svc.profile_dict(db.session.get(RiskProfile, first["id"]))

    second = me.post(f"/clients/{client_id}/questionnaire", json={"answers": answers(4)})
    second = second.get_json()
    body = me.get(f"/clients/{client_id}/questionnaire").get_json()
    assert body["version"] == questionnaire.VERSION
    assert [q["key"] for q in body["questions"]] == [q.key for q in questionnaire.QUESTIONS]
    assert [h["id"] for h in body["history"]] == [second["id"], first["id"]]
    assert body["history"][1] == first  # the old profile is unchanged
    assert me.get(f"/clients/{client_id}").get_json()["profile"] == second


def test_invalid_answers_are_422_with_the_engines_field_errors(me):
    client_id = me.post("/clients", json={"name": "Ada"}).get_json()["id"]
    bad = answers(2)
    del bad["reserves"]
    bad["goal"] = "riches"
    bad["horizon"] = 3
    with pytest.raises(questionnaire.InvalidAnswers) as engine:
        questionnaire.score(bad)
    resp = me.post(f"/clients/{client_id}/questionnaire", json={"answers": bad})
    assert resp.status_code == 422
    assert _fields(resp) == engine.value.errors
    assert set(_fields(resp)) == {"reserves", "goal", "horizon"}
    for body in ({}, {"answers": ["a"]}, {"answers": None}):
        resp = me.post(f"/clients/{client_id}/questionnaire", json=body)
        assert resp.status_code == 422 and "answers" in _fields(resp), body
    assert me.get(f"/clients/{client_id}/questionnaire").get_json()["history"] == []


# ---------------------------------------------------------------- households


def test_household_crud(me):
    a, b = _account(me.user, "AAPL"), _account(me.user, "XOM")
    person = me.post("/clients", json={"name": "Ada"}).get_json()
    resp = me.post(
        "/households",
        json={"name": "Lovelace family", "account_ids": [a.id, b.id], "client_id": person["id"]},
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    book_id = body["id"]
    assert body["client"] == {"id": person["id"], "name": "Ada"}
    assert {m["id"] for m in body["members"]} == {a.id, b.id}
    # The combined book is a portfolio like any other: its positions are the members'.
    positions = me.get(f"/portfolios/{book_id}/positions").get_json()["positions"]
    assert sorted(p["symbol"] for p in positions) == ["AAPL", "XOM"]
    assert me.get(f"/clients/{person['id']}").get_json()["households"] == [
        {"id": book_id, "name": "Lovelace family"}
    ]

    listed = me.get("/households").get_json()
    assert (listed["total"], listed["limit"], listed["offset"]) == (1, 50, 0)
    assert listed["households"] == [me.get(f"/households/{book_id}").get_json()]

    resp = me.put(f"/households/{book_id}", json={"account_ids": [b.id], "client_id": None})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["client"] is None and [m["id"] for m in body["members"]] == [b.id]
    assert body["name"] == "Lovelace family"

    assert me.delete(f"/households/{book_id}").status_code == 204
    assert me.get(f"/households/{book_id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Portfolio, book_id) is None
    assert db.session.get(Portfolio, a.id) is not None


def test_household_errors(me, other):
    own = _account(me.user)
    theirs = _account(other.user)
    cases = [
        ({"name": "H", "account_ids": []}, "account_ids"),
        ({"name": "H", "account_ids": [theirs.id]}, "account_ids"),
        ({"name": "H", "account_ids": [2**63]}, "account_ids"),
        ({"name": "H"}, "account_ids"),
        ({"name": "", "account_ids": [own.id]}, "name"),
        ({"name": ["H"], "account_ids": [own.id]}, "name"),
        ({"name": "H", "account_ids": [own.id], "client_id": "x"}, "client_id"),
    ]
    for body, field in cases:
        resp = me.post("/households", json=body)
        assert resp.status_code == 422, (body, resp.get_json())
        assert field in _fields(resp), body
    their_client = other.post("/clients", json={"name": "Theirs"}).get_json()["id"]
    resp = me.post(
        "/households", json={"name": "H", "account_ids": [own.id], "client_id": their_client}
    )
    assert resp.status_code == 422 and _fields(resp) == {"client_id": "No such client."}
    # An account is not a household.
    assert me.get(f"/households/{own.id}").status_code == 404


# ---------------------------------------------------------------- isolation


def test_another_advisor_gets_404_on_every_client_and_household_route(app, me, other):
    account = _account(other.user)
    theirs = other.post("/clients", json={"name": "Private person"}).get_json()["id"]
    other.post(f"/clients/{theirs}/questionnaire", json={"answers": answers(2)})
    book = households.create_household(other.user.id, "Private household", [account.id])
    values = {"client_id": theirs, "portfolio_id": book.id}
    checked = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or not re.search(
            r"/management/(clients|households)/", rule.rule
        ):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = rule.rule
            for name in rule.arguments:
                url = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), url)
            resp = me.client.open(
                url,
                method=method,
                headers=me.headers,
                json={"name": "x", "answers": answers(1)} if method != "GET" else None,
            )
            assert resp.status_code == 404, (method, url, resp.status_code)
            assert resp.get_json()["error"]["code"] == "not_found"
            assert "Private" not in resp.get_data(as_text=True)
            checked.add((method, rule.rule))
    assert len(checked) == 8  # client GET/PUT/DELETE, questionnaire GET/POST, household G/P/D
    db.session.expire_all()
    assert db.session.get(Client, theirs).name == "Private person"
    assert db.session.get(Portfolio, book.id) is not None
    assert me.get("/clients").get_json()["total"] == 0
    assert me.get("/households").get_json()["total"] == 0


def test_another_advisors_portfolio_cannot_be_assigned(me, other):
    theirs = _account(other.user)
    resp = me.post("/clients", json={"name": "Sneaky", "portfolio_ids": [theirs.id]})
    assert resp.status_code == 422
    assert _fields(resp) == {"portfolio_ids": "One of the chosen portfolios does not exist."}
    mine = me.post("/clients", json={"name": "Mine"}).get_json()["id"]
    resp = me.put(f"/clients/{mine}", json={"name": "Renamed", "portfolio_ids": [theirs.id]})
    assert resp.status_code == 422
    db.session.expire_all()
    assert db.session.get(Portfolio, theirs.id).client_id is None
    assert db.session.get(Client, mine).name == "Mine"  # refused whole


def test_routes_need_authentication(client):
    for path in ("/clients", "/households", "/clients/1", "/clients/1/questionnaire"):
        resp = client.get(f"{API}{path}")
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"


ODD_VALUES = [None, True, 0, -1, 2**63, 1.5, "", "\x00", "x" * 5000, [], [None], {}, {"a": []}]


def test_odd_bodies_never_fail(me):
    """Every write answers 2xx or a 4xx in the error shape, whatever the field values."""
    account = _account(me.user)
    client_id = me.post("/clients", json={"name": "Target"}).get_json()["id"]
    book_id = me.post("/households", json={"name": "Target H", "account_ids": [account.id]})
    book_id = book_id.get_json()["id"]
    writes = [
        ("post", "/clients", ("name", "email", "notes", "portfolio_ids")),
        ("put", f"/clients/{client_id}", ("name", "email", "notes", "portfolio_ids")),
        ("post", f"/clients/{client_id}/questionnaire", ("answers",)),
        ("post", "/households", ("name", "account_ids", "client_id")),
        ("put", f"/households/{book_id}", ("name", "account_ids", "client_id")),
    ]
    for method, path, keys in writes:
        for key in keys:
            for value in ODD_VALUES:
                resp = getattr(me, method)(path, json={key: value})
                assert resp.status_code < 500, (method, path, key, value)
                if resp.status_code >= 400:
                    assert set(resp.get_json()["error"]) == {"code", "message", "details"}
    assert me.get(f"/clients/{client_id}").status_code == 200

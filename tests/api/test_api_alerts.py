"""/api/v1/management/alerts: the list of active alerts, detail with the trail, acknowledge, and
alert rules; the JSON is the service's dicts; another advisor's alerts and rules are 404."""

from __future__ import annotations

import pytest

from tests.api.conftest import Book, bearer, login_token
from webapp.extensions import db
from webapp.models import Alert, Portfolio
from webapp.services import alerts as svc
from webapp.services.batch import run_portfolio_batch

BASE = "/api/v1/management/alerts"


@pytest.fixture()
def advisor(factory, client):
    """An advisor with a one-name NVDA book (a token AAPL beside it) and a bearer header."""
    user = factory.user()
    book = factory.portfolio(
        user,
        positions=[
            {"symbol": "NVDA", "quantity": 100.0, "entry_price": 100.0},
            {"symbol": "AAPL", "quantity": 1.0, "entry_price": 100.0},
        ],
        cash=1_000.0,
    )
    return Book(
        user.email, user.id, book.id, bearer(login_token(client, user.email, "correct-horse-9"))
    )


@pytest.fixture()
def firing(advisor, client):
    """Two rules that fire on the book after a batch: single name at 20%, VaR at 0.5%."""
    for body in (
        {"kind": "single_name_pct", "threshold": 20},
        {"kind": "var_pct", "threshold": "0.5"},
    ):
        resp = client.post(
            f"{BASE}/rules",
            json={"portfolio_id": advisor.portfolio_id, **body},
            headers=advisor.headers,
        )
        assert resp.status_code == 201, resp.get_json()
    assert run_portfolio_batch(advisor.portfolio_id).status == "succeeded"
    return advisor


def _service_list(book: Book, **kwargs) -> list[dict]:
    db.session.expire_all()
    rows, _ = svc.user_alerts(book.user_id, **kwargs)
    return [svc.alert_dict(a) for a in rows]


def test_create_rule_is_201_with_the_services_dict_and_checked_at_once(advisor, client, ctx):
    resp = client.post(
        f"{BASE}/rules",
        json={
            "portfolio_id": advisor.portfolio_id,
            "kind": "factor_beta",
            "threshold": 1.5,
            "param": "growth",
        },
        headers=advisor.headers,
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["param"] == "Growth" and body["comparison"] == "above" and body["enabled"]
    assert body["summary"] == "Factor beta (Growth) above 1.5 beta"
    # No batch ran: checked at once, and the reason it could not be is on the rule.
    assert body["last_checked_at"].endswith("Z")
    assert body["last_unavailable"] == "no factor betas in this batch"
    assert body == svc.rule_dict(svc.owned_rule(body["id"], advisor.user_id))
    listed = client.get(
        f"{BASE}/rules?portfolio_id={advisor.portfolio_id}", headers=advisor.headers
    ).get_json()
    assert listed == {"rules": [body], "total": 1}


@pytest.mark.parametrize(
    "body, fields",
    [
        ({"kind": "var_pct", "threshold": "lots"}, {"threshold"}),
        (
            {"kind": "var_pct", "threshold": 2, "param": "x", "comparison": "sideways"},
            {"param", "comparison"},
        ),
        ({"kind": "moon_phase", "threshold": 1}, {"kind"}),
        ({"kind": "scenario_loss_vs_limit", "param": "no_such_scenario"}, {"param"}),
        ({"kind": "var_pct"}, {"threshold"}),
        ({"kind": ["var_pct"], "threshold": True}, {"kind"}),
    ],
)
def test_invalid_rules_are_422_with_field_errors(advisor, client, body, fields):
    resp = client.post(
        f"{BASE}/rules",
        json={"portfolio_id": advisor.portfolio_id, **body},
        headers=advisor.headers,
    )
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "validation_error" and set(error["details"]["fields"]) == fields


def test_rule_body_problems(advisor, client):
    post = lambda body: client.post(f"{BASE}/rules", json=body, headers=advisor.headers)  # noqa: E731
    assert post({"kind": "var_pct", "threshold": 2}).status_code == 422  # no portfolio_id
    assert post({"portfolio_id": "x", "kind": "var_pct"}).status_code == 422
    assert (
        post({"portfolio_id": 2_000_000_000, "kind": "var_pct", "threshold": 2}).status_code == 404
    )
    resp = client.post(f"{BASE}/rules", data="nope", headers=advisor.headers)
    assert resp.status_code == 400
    assert (
        client.post(f"{BASE}/rules", json={"portfolio_id": advisor.portfolio_id}).status_code == 401
    )
    twice = {"portfolio_id": advisor.portfolio_id, "kind": "beta", "threshold": 1.2}
    assert post(twice).status_code == 201
    assert post(twice).get_json()["error"]["details"]["fields"] == {
        "kind": "This book has this rule already."
    }


def test_the_list_is_the_open_alerts_by_default_and_equals_the_service(firing, client, ctx):
    resp = client.get(BASE, headers=firing.headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "open" and body["total"] == 2
    assert (body["limit"], body["offset"]) == (50, 0)
    assert body["alerts"] == _service_list(firing, status="open")
    keys = {a["key"] for a in body["alerts"]}
    assert keys == {"single_name_pct:NVDA", "var_pct"}
    one = next(a for a in body["alerts"] if a["key"] == "var_pct")
    assert one["unit"] == "% of equity" and one["threshold"] == 0.5 and one["value"] > 0.5
    assert one["as_of"] == "2026-08-03" and one["raised_at"].endswith("Z")
    assert one["status"] == "new" and one["acknowledged"] is False
    page = client.get(f"{BASE}?status=all&limit=1&offset=1", headers=firing.headers).get_json()
    assert page["total"] == 2 and len(page["alerts"]) == 1
    assert page["alerts"] == _service_list(firing, status="all", limit=1, offset=1)
    mine = client.get(f"{BASE}?portfolio_id={firing.portfolio_id}", headers=firing.headers)
    assert mine.get_json()["total"] == 2


@pytest.mark.parametrize(
    "query", ["status=bogus", "limit=0", "limit=201", "offset=-1", "portfolio_id=0"]
)
def test_bad_list_parameters_are_400(firing, client, query):
    resp = client.get(f"{BASE}?{query}", headers=firing.headers)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_parameter"


def test_detail_acknowledge_and_the_trail(firing, client, ctx):
    alert_id = client.get(BASE, headers=firing.headers).get_json()["alerts"][0]["id"]
    detail = client.get(f"{BASE}/{alert_id}", headers=firing.headers).get_json()
    assert [e["status"] for e in detail["events"]] == ["new"]
    assert detail["events"][0]["user_id"] is None  # raised by the batch
    missing = client.post(f"{BASE}/{alert_id}/acknowledge", json={}, headers=firing.headers)
    assert missing.status_code == 422 and "note" in missing.get_json()["error"]["details"]["fields"]
    long = client.post(
        f"{BASE}/{alert_id}/acknowledge", json={"note": "x" * 2001}, headers=firing.headers
    )
    assert long.status_code == 422
    done = client.post(
        f"{BASE}/{alert_id}/acknowledge",
        json={"note": "Discussed with the client."},
        headers=firing.headers,
    )
    assert done.status_code == 200
    body = done.get_json()
    assert body["status"] == "acknowledged" and body["acknowledged"] is True
    last = body["events"][-1]
    assert (last["status"], last["note"], last["user_email"]) == (
        "acknowledged",
        "Discussed with the client.",
        firing.email,
    )
    db.session.expire_all()
    assert body == svc.alert_dict(db.session.get(Alert, alert_id), events=True)
    again = client.post(
        f"{BASE}/{alert_id}/acknowledge", json={"note": "again"}, headers=firing.headers
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert client.get(BASE, headers=firing.headers).get_json()["total"] == 1
    acked = client.get(f"{BASE}?status=acknowledged", headers=firing.headers).get_json()
    assert [a["id"] for a in acked["alerts"]] == [alert_id]


def test_disable_and_delete_a_rule(firing, client, ctx):
    rules = client.get(f"{BASE}/rules", headers=firing.headers).get_json()["rules"]
    rule = next(r for r in rules if r["kind"] == "var_pct")
    assert rule["open_alerts"] == 1 and rule["state"] == "firing (1 alert)"
    off = client.patch(
        f"{BASE}/rules/{rule['id']}", json={"enabled": False}, headers=firing.headers
    )
    assert off.status_code == 200 and off.get_json()["enabled"] is False
    assert off.get_json()["state"] == "disabled"
    bad = client.patch(f"{BASE}/rules/{rule['id']}", json={"enabled": "no"}, headers=firing.headers)
    assert bad.status_code == 422
    alert_id = next(
        a["id"]
        for a in client.get(BASE, headers=firing.headers).get_json()["alerts"]
        if a["rule_id"] == rule["id"]
    )
    assert client.delete(f"{BASE}/rules/{rule['id']}", headers=firing.headers).status_code == 204
    assert client.get(f"{BASE}/{alert_id}", headers=firing.headers).status_code == 404
    assert client.delete(f"{BASE}/rules/{rule['id']}", headers=firing.headers).status_code == 404


def test_another_advisor_gets_404_for_alerts_and_rules(firing, stranger, client):
    alert = client.get(BASE, headers=firing.headers).get_json()["alerts"][0]
    rule_id = alert["rule_id"]
    other = stranger.headers
    assert client.get(BASE, headers=other).get_json()["total"] == 0
    for resp in (
        client.get(f"{BASE}/{alert['id']}", headers=other),
        client.post(f"{BASE}/{alert['id']}/acknowledge", json={"note": "mine"}, headers=other),
        client.patch(f"{BASE}/rules/{rule_id}", json={"enabled": False}, headers=other),
        client.delete(f"{BASE}/rules/{rule_id}", headers=other),
        client.get(f"{BASE}/rules?portfolio_id={firing.portfolio_id}", headers=other),
        client.get(f"{BASE}?portfolio_id={firing.portfolio_id}", headers=other),
        client.post(
            f"{BASE}/rules",
            json={"portfolio_id": firing.portfolio_id, "kind": "var_pct", "threshold": 1},
            headers=other,
        ),
    ):
        assert resp.status_code == 404, resp.request.path
        assert resp.get_json()["error"]["code"] == "not_found"
        assert firing.email not in resp.get_data(as_text=True)
    assert client.get(f"{BASE}/rules", headers=other).get_json() == {"rules": [], "total": 0}
    # Nothing of the owner's changed.
    after = client.get(f"{BASE}/{alert['id']}", headers=firing.headers).get_json()
    assert after["status"] == "new" and len(after["events"]) == 1


def test_the_document_lists_these_routes_with_their_errors(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    documented = {
        (path, method.upper()): operation
        for path, item in doc["paths"].items()
        if path.startswith(BASE)
        for method, operation in item.items()
    }
    assert len(documented) == 7
    for (path, _method), operation in documented.items():
        responses = operation["responses"]
        assert {"401", "429"} <= set(responses)
        if "{" in path:
            assert "404" in responses


def test_a_household_book_takes_rules_through_the_api(advisor, client, ctx):
    from webapp.services import households

    book = db.session.get(Portfolio, advisor.portfolio_id)
    household = households.create_household(advisor.user_id, "API household", [book.id])
    resp = client.post(
        f"{BASE}/rules",
        json={"portfolio_id": household.id, "kind": "single_name_pct", "threshold": 20},
        headers=advisor.headers,
    )
    assert resp.status_code == 201 and resp.get_json()["portfolio_id"] == household.id

"""/api/v1/modeling/sessions: the ProForma modelling API on the modelling service — sessions,
trades (422 field errors, 409 once closed), calculate (202, 503 with the queue down), impacts
equal to ``impacts(session).to_dict()``, save, apply, the broker trade list; another advisor's
session or trade is 404."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.conftest import Book, bearer, login_token
from webapp.api import modelling as api
from webapp.extensions import db
from webapp.models import ModellingSession, Portfolio
from webapp.services import modelling
from webapp.services.batch import run_portfolio_batch
from webapp.services.impacts import impacts
from webapp.services.queueing import QueueUnavailable, get_queue
from webapp.services.trades import TRADE_COLUMNS

BASE = "/api/v1/modeling/sessions"


@pytest.fixture(autouse=True)
def empty_queue(ctx):
    """No worker runs here: leave no queued batch behind for another module's worker."""
    yield
    get_queue().empty()


def _advisor(factory, client) -> Book:
    user = factory.user()
    book = factory.portfolio(
        user,
        positions=[
            {"symbol": "AAPL", "quantity": 100.0, "entry_price": 150.0},
            {"symbol": "MSFT", "quantity": 20.0, "entry_price": 300.0},
        ],
        cash=50_000.0,
    )
    return Book(
        user.email, user.id, book.id, bearer(login_token(client, user.email, "correct-horse-9"))
    )


@pytest.fixture()
def advisor(factory, client):
    """An advisor with a two-stock account and a bearer header."""
    return _advisor(factory, client)


@pytest.fixture()
def other(factory, client):
    """Another advisor, with an account of their own."""
    return _advisor(factory, client)


def _start(client, book: Book, **body) -> dict:
    resp = client.post(BASE, json={"portfolio_id": book.portfolio_id, **body}, headers=book.headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _service_dict(session_id: int) -> dict:
    db.session.expire_all()
    session = db.session.get(ModellingSession, session_id)
    return api.session_json(session)


def test_start_list_and_get_answer_the_services_dict(client, advisor, ctx):
    body = _start(client, advisor, name="Hedge the tech")
    assert body["name"] == "Hedge the tech" and body["status"] == "open"
    assert body["portfolio_id"] == advisor.portfolio_id and body["trades"] == []
    assert body["created_at"].endswith("Z") and body["proposed_cash"] == pytest.approx(50_000.0)
    assert body == _service_dict(body["id"])
    second = _start(client, advisor)
    assert second["name"].startswith("What-if on ")
    listed = client.get(BASE, headers=advisor.headers).get_json()
    assert listed["total"] == 2 and [s["id"] for s in listed["sessions"]] == [
        second["id"],
        body["id"],
    ]
    page = client.get(f"{BASE}?limit=1&offset=1", headers=advisor.headers).get_json()
    assert [s["id"] for s in page["sessions"]] == [body["id"]] and page["total"] == 2
    assert client.get(f"{BASE}?status=saved", headers=advisor.headers).get_json()["total"] == 0
    assert client.get(f"{BASE}?limit=0", headers=advisor.headers).status_code == 400
    got = client.get(f"{BASE}/{body['id']}", headers=advisor.headers)
    assert got.status_code == 200 and got.get_json() == _service_dict(body["id"])


def test_start_refuses_bad_input(client, advisor, other, ctx):
    resp = client.post(BASE, json={"portfolio_id": other.portfolio_id}, headers=advisor.headers)
    assert resp.status_code == 404
    resp = client.post(BASE, json={"portfolio_id": "x"}, headers=advisor.headers)
    assert resp.status_code == 422
    resp = client.post(
        BASE, json={"portfolio_id": advisor.portfolio_id, "name": 5}, headers=advisor.headers
    )
    assert resp.status_code == 422
    assert resp.get_json()["error"]["details"]["fields"] == {"name": "Must be text."}
    assert client.post(BASE, data="[]", headers=advisor.headers).status_code == 400


def test_trades_are_booked_or_refused_with_field_errors(client, advisor, ctx):
    session = _start(client, advisor)
    url = f"{BASE}/{session['id']}/trades"
    resp = client.post(
        url, json={"kind": "buy", "symbol": "NVDA", "quantity": 10}, headers=advisor.headers
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["trade"]["kind"] == "buy" and body["trade"]["price"] == modelling.last_close("NVDA")
    assert body["session"] == _service_dict(session["id"])
    trade_id = body["trade"]["id"]
    refused = client.post(
        url,
        json={"kind": "sell", "symbol": "MSFT", "quantity": 500, "price": 1},
        headers=advisor.headers,
    )
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["fields"]["quantity"].startswith("Trade 2 (sell):")
    assert len(_service_dict(session["id"])["trades"]) == 1
    assert client.post(url, json={"kind": "dividend"}, headers=advisor.headers).status_code == 422
    # Replace the trade's fields; remove it.
    put = client.put(
        f"{url}/{trade_id}",
        json={"kind": "buy", "symbol": "NVDA", "quantity": 5, "price": 100},
        headers=advisor.headers,
    )
    assert put.status_code == 200 and put.get_json()["trade"]["quantity"] == 5
    assert put.get_json()["session"]["proposed_cash"] == pytest.approx(50_000.0 - 500.0)
    assert (
        client.put(
            f"{url}/{trade_id + 999}", json={"kind": "buy"}, headers=advisor.headers
        ).status_code
        == 404
    )
    assert client.delete(f"{url}/{trade_id}", headers=advisor.headers).status_code == 204
    assert _service_dict(session["id"])["trades"] == []
    assert client.delete(f"{url}/{trade_id}", headers=advisor.headers).status_code == 404


def test_calculate_queues_the_proposed_books_batch_and_impacts_equal_the_service(
    client, advisor, ctx
):
    session = _start(client, advisor)
    client.post(
        f"{BASE}/{session['id']}/trades",
        json={"kind": "buy", "symbol": "NVDA", "quantity": 30},
        headers=advisor.headers,
    )
    resp = client.post(f"{BASE}/{session['id']}/calculate", headers=advisor.headers)
    assert resp.status_code == 202
    run = resp.get_json()
    assert run["portfolio_id"] == session["proposal_portfolio_id"] and run["status"] == "queued"
    assert run["job_id"].startswith(f"batch-{run['batch_run_id']}-")
    # Pressed again while queued: the same run.
    again = client.post(f"{BASE}/{session['id']}/calculate", headers=advisor.headers).get_json()
    assert again["batch_run_id"] == run["batch_run_id"]
    before = client.get(f"{BASE}/{session['id']}/impacts", headers=advisor.headers).get_json()
    assert before["calculated"] is False
    # As the worker would: the batch on the proposed book (and the account).
    get_queue().empty()
    run_portfolio_batch(session["proposal_portfolio_id"], batch_run_id=run["batch_run_id"])
    run_portfolio_batch(advisor.portfolio_id)
    body = client.get(f"{BASE}/{session['id']}/impacts", headers=advisor.headers).get_json()
    db.session.expire_all()
    expected = impacts(db.session.get(ModellingSession, session["id"])).to_dict()
    assert body == expected
    assert body["calculated"] and body["up_to_date"]
    equity = next(line for line in body["groups"]["exposures"] if line["key"] == "equity")
    assert equity["difference"] == pytest.approx(equity["proposed"] - equity["current"])
    assert {line["key"] for line in body["groups"]["stress"]} >= {"market_down_10"}


def test_calculate_with_the_queue_down_is_503_in_the_error_shape(client, advisor, ctx, monkeypatch):
    session = _start(client, advisor)

    def down(*args, **kwargs):
        raise QueueUnavailable()

    monkeypatch.setattr(api, "enqueue_portfolio_batch", down)
    resp = client.post(f"{BASE}/{session['id']}/calculate", headers=advisor.headers)
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert resp.get_json()["error"]["code"] == "queue_unavailable"


def test_save_makes_a_new_account_and_closes_the_session(client, advisor, ctx):
    session = _start(client, advisor)
    client.post(
        f"{BASE}/{session['id']}/trades",
        json={"kind": "buy", "symbol": "NVDA", "quantity": 10},
        headers=advisor.headers,
    )
    resp = client.post(f"{BASE}/{session['id']}/save", json={"name": ""}, headers=advisor.headers)
    assert resp.status_code == 422 and "name" in resp.get_json()["error"]["details"]["fields"]
    resp = client.post(
        f"{BASE}/{session['id']}/save", json={"name": "Saved"}, headers=advisor.headers
    )
    assert resp.status_code == 201
    body = resp.get_json()
    saved = db.session.get(Portfolio, body["portfolio_id"])
    assert saved.user_id == advisor.user_id and saved.kind == "account"
    assert body["session"]["status"] == "saved"
    assert body["session"]["saved_portfolio_id"] == saved.id
    # Closed: changes are 409.
    resp = client.post(
        f"{BASE}/{session['id']}/trades",
        json={"kind": "deposit", "amount": 5},
        headers=advisor.headers,
    )
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    assert client.post(f"{BASE}/{session['id']}/apply", headers=advisor.headers).status_code == 409


def test_apply_books_the_rows_and_delete_discards(client, advisor, ctx):
    session = _start(client, advisor)
    client.post(
        f"{BASE}/{session['id']}/trades",
        json={"kind": "sell", "symbol": "AAPL", "quantity": 40, "price": 200},
        headers=advisor.headers,
    )
    resp = client.post(f"{BASE}/{session['id']}/apply", headers=advisor.headers)
    assert resp.status_code == 200
    assert resp.get_json()["rows"] == 1 and resp.get_json()["session"]["status"] == "applied"
    db.session.expire_all()
    account = db.session.get(Portfolio, advisor.portfolio_id)
    assert account.cash == pytest.approx(50_000.0 + 40 * 200)
    proposal_id = session["proposal_portfolio_id"]
    assert client.delete(f"{BASE}/{session['id']}", headers=advisor.headers).status_code == 204
    db.session.expire_all()
    assert db.session.get(ModellingSession, session["id"]) is None
    assert db.session.get(Portfolio, proposal_id) is None
    assert client.get(f"{BASE}/{session['id']}", headers=advisor.headers).status_code == 404


def test_the_trade_list_has_broker_columns(client, advisor, ctx):
    session = _start(client, advisor)
    url = f"{BASE}/{session['id']}/trades"
    for trade in (
        {"kind": "buy", "symbol": "nvda", "quantity": 3},
        {"kind": "cover", "symbol": "SPY", "quantity": 1},  # refused: nothing short
        {"kind": "short", "symbol": "SPY", "quantity": 4, "price": 500},
        {"kind": "cover", "symbol": "SPY", "quantity": 1, "price": 490},
        {"kind": "withdrawal", "amount": 100},
        {
            "kind": "option_open",
            "position_type": "SC",
            "symbol": "AAPL261218C00250000",
            "quantity": 1,
            "price": 3.25,
        },
        {
            "kind": "option_close",
            "position_type": "SC",
            "symbol": "AAPL261218C00250000",
            "quantity": 1,
            "price": 3,
        },
    ):
        client.post(url, json=trade, headers=advisor.headers)
    body = client.get(url, headers=advisor.headers).get_json()
    assert body["columns"] == list(TRADE_COLUMNS) and body["count"] == 5
    assert [(t["Action"], t["Symbol"], t["Quantity"]) for t in body["trades"]] == [
        ("BUY", "NVDA", 3.0),
        ("SELL_SHORT", "SPY", 4.0),
        ("BUY_TO_COVER", "SPY", 1.0),
        ("SELL_TO_OPEN", "AAPL261218C00250000", 1.0),
        ("BUY_TO_CLOSE", "AAPL261218C00250000", 1.0),
    ]
    assert body["trades"][1]["Est. Value"] == pytest.approx(2000.0)
    assert body["trades"][3]["Est. Value"] == pytest.approx(325.0)
    assert all(t["Order Type"] == "MARKET" for t in body["trades"])
    resp = client.get(f"{url}?format=csv", headers=advisor.headers)
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert tuple(rows[0]) == TRADE_COLUMNS and len(rows) == 6
    assert rows[2] == ["SELL_SHORT", "SPY", "4", "MARKET", "500.0000", "2000.00"]
    assert client.get(f"{url}?format=xlsx", headers=advisor.headers).status_code == 400


def test_another_advisors_session_and_trades_are_404(client, advisor, other, ctx):
    mine = _start(client, advisor)
    trade = client.post(
        f"{BASE}/{mine['id']}/trades",
        json={"kind": "buy", "symbol": "NVDA", "quantity": 1},
        headers=advisor.headers,
    ).get_json()["trade"]
    theirs = _start(client, other)
    one, trade_url = f"{BASE}/{mine['id']}", f"{BASE}/{mine['id']}/trades/{trade['id']}"
    for method, url in (
        ("GET", one),
        ("DELETE", one),
        ("GET", one + "/impacts"),
        ("GET", one + "/trades"),
        ("POST", one + "/trades"),
        ("POST", one + "/calculate"),
        ("POST", one + "/save"),
        ("POST", one + "/apply"),
        ("PUT", trade_url),
        ("DELETE", trade_url),
        # My trade id on their own session is not theirs either.
        ("PUT", f"{BASE}/{theirs['id']}/trades/{trade['id']}"),
        ("DELETE", f"{BASE}/{theirs['id']}/trades/{trade['id']}"),
    ):
        resp = client.open(
            url, method=method, json={"kind": "buy", "name": "x"}, headers=other.headers
        )
        assert resp.status_code == 404, (method, url, resp.get_json())
        assert advisor.email not in resp.get_data(as_text=True)
    listed = client.get(BASE, headers=other.headers).get_json()
    assert [s["id"] for s in listed["sessions"]] == [theirs["id"]]
    assert (
        client.get(f"{BASE}?portfolio_id={advisor.portfolio_id}", headers=other.headers).status_code
        == 404
    )
    assert _service_dict(mine["id"])["trades"][0]["id"] == trade["id"]  # untouched
    assert client.get(BASE).status_code == 401


def test_suggest_sizes_books_and_can_only_preview(client, advisor, ctx):
    started = _start(client, advisor)
    run_portfolio_batch(started["proposal_portfolio_id"])
    url = f"{BASE}/{started['id']}/suggest"
    preview = client.post(url, json={"target": "beta", "value": 0.5, "add": False},
                          headers=advisor.headers)  # fmt: skip
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["suggestion"]["symbol"] == "SPY" and body["trade"] is None
    assert body["session"]["trades"] == []
    added = client.post(url, json={"target": "beta", "value": 0.5}, headers=advisor.headers)
    assert added.get_json()["trade"]["symbol"] == "SPY"
    assert len(added.get_json()["session"]["trades"]) == 1
    for bad in (
        {"target": "beta"},
        {"target": "alpha", "value": 1},
        {"target": "weight", "value": 0.1},
    ):
        resp = client.post(url, json=bad, headers=advisor.headers)
        assert resp.status_code == 422, (bad, resp.get_json())

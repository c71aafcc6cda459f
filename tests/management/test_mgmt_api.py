"""JSON twins under /api/v1/management: same validation as the forms.

One error shape; another advisor's objects answer 404.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.management.conftest import counts, exists
from webapp.api.management import position_dict
from webapp.extensions import db
from webapp.models import BatchRun, Portfolio, Position, Tag
from webapp.services import imports as svc
from webapp.services.queueing import fetch_job

HERE = Path(__file__).resolve().parent
MIXED = (HERE / "fixtures" / "canonical_mixed.csv").read_bytes()
BROKERS = Path(__file__).resolve().parents[1] / "imports" / "fixtures"
REPORT_KEYS = {
    "detected_format",
    "file_error",
    "accepted",
    "rejected",
    "skipped_lines",
    "warnings",
    "portfolio_id",
}
ACCEPTED_KEYS = {
    "line",
    "symbol",
    "asset_type",
    "position_type",
    "quantity",
    "entry_price",
    "entry_date",
    "tags",
    "underlying",
    "expiry",
    "option_type",
    "strike",
    "has_market_data",
    "warnings",
}
STOCK = {"symbol": "AAPL", "quantity": 100, "entry_price": 185.25, "entry_date": "2025-03-14"}
OPTION = {
    "option_type": "put",
    "quantity": -3,
    "entry_price": 4.2,
    "entry_date": "2025-03-14",
    "underlying_symbol": "SPY",
    "strike_price": 500,
    "expiration_date": "2027-01-15",
}


def error(resp, status: int, code: str) -> dict:
    """The body's error object, after checking the status and the one error shape."""
    body = resp.get_json()
    assert resp.status_code == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


def upload(
    api, data: bytes, mode: str, name: str | None = "API import", filename: str = "holdings.csv"
):
    form = {"file": (io.BytesIO(data), filename), "mode": mode}
    if name is not None:
        form["name"] = name
    return api.post("/management/portfolios/upload", data=form, content_type="multipart/form-data")


@pytest.fixture()
def book(api, factory):
    return factory.portfolio(
        api.user, name="API book", positions=[dict(symbol="MSFT", quantity=10, entry_price=300.0)]
    )


# ---------------------------------------------------------------- auth and ownership


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/management/portfolios"),
        ("patch", "/management/portfolios/1"),
        ("delete", "/management/portfolios/1"),
        ("post", "/management/portfolios/upload"),
        ("get", "/management/portfolios/1/positions"),
        ("post", "/management/portfolios/1/positions"),
        ("put", "/management/portfolios/1/positions/1"),
        ("post", "/management/portfolios/1/positions/1/close"),
        ("delete", "/management/portfolios/1/positions/1"),
        ("put", "/management/portfolios/1/positions/1/tags"),
        ("get", "/management/tags"),
        ("post", "/management/tags"),
        ("delete", "/management/tags/1"),
    ],
)
def test_every_endpoint_needs_a_token(client, method, path):
    resp = getattr(client, method)(f"/api/v1{path}", json={})
    assert error(resp, 401, "unauthorized")["message"].startswith("Authentication required")
    bad = getattr(client, method)(
        f"/api/v1{path}", json={}, headers={"Authorization": "Bearer nope"}
    )
    assert (
        error(bad, 401, "unauthorized")["message"]
        == "The bearer token is invalid, expired or revoked."
    )


def test_a_browser_session_cannot_write(client, advisor):
    # Writes need a bearer token, so a forged cross-site form riding the cookie gets nowhere.
    assert (
        client.post("/api/v1/management/portfolios", json={"name": "via cookie"}).status_code == 401
    )


def test_another_advisors_resources_are_404(api, factory):
    theirs = factory.portfolio(
        factory.user(), name="Theirs", positions=[dict(symbol="AAPL", quantity=1, entry_price=1.0)]
    )
    position = theirs.positions[0]
    tag = Tag(user_id=theirs.user_id, name="their-tag")
    db.session.add(tag)
    db.session.commit()
    base = f"/management/portfolios/{theirs.id}"
    for resp in (
        api.patch(base, json={"name": "mine now"}),
        api.delete(base),
        api.get(f"{base}/positions"),
        api.post(f"{base}/positions", json=STOCK),
        api.get(f"{base}/positions/{position.id}"),
        api.put(f"{base}/positions/{position.id}", json=STOCK),
        api.post(
            f"{base}/positions/{position.id}/close",
            json={"exit_date": "2026-01-02", "exit_price": 1},
        ),
        api.put(f"{base}/positions/{position.id}/tags", json={"tags": ["x"]}),
        api.delete(f"{base}/positions/{position.id}"),
    ):
        assert error(resp, 404, "not_found")["details"] == {"portfolio_id": theirs.id}
    assert error(api.delete(f"/management/tags/{tag.id}"), 404, "not_found")["details"] == {
        "tag_id": tag.id
    }
    mine = api.post("/management/portfolios", json={"name": "Mine"}).get_json()
    resp = api.get(f"/management/portfolios/{mine['id']}/positions/{position.id}")
    assert error(resp, 404, "not_found")["details"] == {"position_id": position.id}
    db.session.expire_all()
    assert theirs.name == "Theirs" and len(theirs.positions) == 1 and position.exit_date is None


# ---------------------------------------------------------------- portfolios


def test_create_portfolio(api):
    resp = api.post(
        "/management/portfolios", json={"name": "Growth", "description": "d", "cash": 2500}
    )
    body = resp.get_json()
    assert resp.status_code == 201
    assert set(body) == {
        "id",
        "name",
        "description",
        "cash_balance",
        "benchmark",
        "inception_date",
        "created_at",
        "updated_at",
    }
    assert body["benchmark"] == "SPY"
    assert (body["name"], body["description"], body["cash_balance"]) == ("Growth", "d", 2500.0)
    assert db.session.get(Portfolio, body["id"]).user_id == api.user.id


def test_portfolio_validation_is_422_with_a_message_per_field(api, factory):
    factory.portfolio(api.user, name="Taken")
    err = error(
        api.post(
            "/management/portfolios", json={"name": "", "cash": -1, "description": "x" * 2001}
        ),
        422,
        "validation_error",
    )
    assert err["details"] == {
        "fields": {
            "name": "Give the portfolio a name.",
            "cash": "Must be at least 0.",
            "description": "At most 2000 characters.",
        }
    }
    dup = error(api.post("/management/portfolios", json={"name": "Taken"}), 422, "validation_error")
    assert dup["details"] == {"fields": {"name": "You already have a portfolio called 'Taken'."}}
    assert error(
        api.post("/management/portfolios", json={"name": "x", "cash": True}),
        422,
        "validation_error",
    )["details"]["fields"] == {"cash": "'True' is not a number."}
    assert error(api.post("/management/portfolios", data="name=x"), 400, "bad_request")


def test_rename_and_delete_portfolio(api, book):
    resp = api.patch(
        f"/management/portfolios/{book.id}", json={"name": "Renamed", "cash_balance": 5}
    )
    assert resp.status_code == 200 and (
        resp.get_json()["name"],
        resp.get_json()["cash_balance"],
    ) == ("Renamed", 5.0)
    assert api.delete(f"/management/portfolios/{book.id}").status_code == 204
    assert not exists(Portfolio, book.id)
    assert db.session.scalar(select(Position.id).where(Position.portfolio_id == book.id)) is None


def test_null_fields_are_refused_and_change_nothing(api, book):
    # A PATCH with cash: null once read as "no cash" and booked the balance as a withdrawal.
    api.patch(f"/management/portfolios/{book.id}", json={"cash_balance": 2500})
    resp = api.patch(f"/management/portfolios/{book.id}", json={"cash": None, "name": "X"})
    err = error(resp, 422, "validation_error")
    assert set(err["details"]["fields"]) == {"cash"}
    db.session.expire_all()
    assert db.session.get(Portfolio, book.id).cash == 2500.0
    assert db.session.get(Portfolio, book.id).name == "API book"
    resp = api.post("/management/portfolios", json={"name": "B", "benchmark": False})
    assert set(error(resp, 422, "validation_error")["details"]["fields"]) == {"benchmark"}
    resp = api.post("/management/tags", json={"name": "hedges", "color": ""})
    assert set(error(resp, 422, "validation_error")["details"]["fields"]) == {"color"}
    assert api.post("/management/tags", json={"name": "hedges"}).get_json()["color"] == "#4c78a8"


# ---------------------------------------------------------------- upload


def test_upload_validate_returns_the_section_5_report_and_stores_nothing(app, api):
    before = counts()
    resp = upload(api, MIXED, "validate")
    body = resp.get_json()
    assert resp.status_code == 200 and counts() == before
    assert set(body) == REPORT_KEYS and body["portfolio_id"] is None and body["file_error"] is None
    assert all(set(row) == ACCEPTED_KEYS for row in body["accepted"])
    assert all(set(row) == {"line", "errors", "duplicate_of_line"} for row in body["rejected"])
    assert all(
        set(e) >= {"field", "code", "message"} for row in body["rejected"] for e in row["errors"]
    )
    with app.app_context():
        assert (
            body == svc.validate_upload(MIXED, "holdings.csv").to_dict()
        )  # the service's report, as JSON
    assert [r["line"] for r in body["accepted"]] == [2, 3, 4, 5, 11]
    assert [r["line"] for r in body["rejected"]] == [6, 7, 8, 9] and body["rejected"][2][
        "duplicate_of_line"
    ] == 2
    assert body["skipped_lines"] == [1, 10] and [w["code"] for w in body["warnings"]] == [
        "no_market_data"
    ]
    assert (
        body["accepted"][3]["symbol"] == "ZZZQ" and body["accepted"][3]["has_market_data"] is False
    )
    assert body["accepted"][2] == {
        "line": 4,
        "symbol": "AAPL270115C00250000",
        "asset_type": "option",
        "position_type": "SC",
        "quantity": -2.0,
        "entry_price": 12.5,
        "entry_date": "2024-11-01",
        "tags": ["options"],
        "underlying": "AAPL",
        "expiry": "2027-01-15",
        "option_type": "call",
        "strike": 250.0,
        "has_market_data": True,
        "warnings": [],
    }


def test_upload_commit_creates_the_portfolio_and_queues_the_work(api, queued_jobs):
    before = counts()
    resp = upload(api, MIXED, "commit", name="Committed")
    body = resp.get_json()
    assert resp.status_code == 201 and set(body) == REPORT_KEYS
    portfolio = db.session.get(Portfolio, body["portfolio_id"])
    assert portfolio.user_id == api.user.id and portfolio.name == "Committed"
    assert [p.symbol for p in portfolio.positions] == [r["symbol"] for r in body["accepted"]]
    assert counts()["Position"] == before["Position"] + 5
    run = db.session.get(BatchRun, int(resp.headers["X-Batch-Run-Id"]))
    assert (
        run.portfolio_id == portfolio.id
        and run.trigger == "import"
        and resp.headers["X-Job-Id"] == run.job_id
    )
    assert (
        fetch_job(run.job_id).dependency_ids[0] in queued_jobs.job_ids
    )  # the price refresh runs first


@pytest.mark.parametrize("mode", ["validate", "commit"])
@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "invalid_file"),
        ((BROKERS / "robinhood_activity.csv").read_bytes(), "unsupported_format"),
        (b"ticker,quantity\nAAPL,1\n", "missing_required_column"),
    ],
)
def test_upload_file_errors_are_422_with_the_report(api, mode, data, code):
    before = counts()
    resp = upload(api, data, mode)
    body = resp.get_json()
    assert resp.status_code == 422 and set(body) == REPORT_KEYS
    assert (
        body["file_error"]["code"] == code
        and body["accepted"] == []
        and body["portfolio_id"] is None
    )
    assert set(body["file_error"]) == {"code", "message", "columns"}
    assert counts() == before


def test_upload_limits(app, api):
    data = b"ticker,quantity,entry_price,entry_date\n" + b"".join(
        b"AAPL,%d,1,2024-01-02\n" % i for i in range(1, 21)
    )
    app.config.update(IMPORT_MAX_ROWS=5)
    try:
        rows = upload(api, data, "commit").get_json()
    finally:
        app.config.update(IMPORT_MAX_ROWS=20_000)
    app.config.update(IMPORT_MAX_BYTES=100)
    try:
        size = upload(api, data, "validate").get_json()
    finally:
        app.config.update(IMPORT_MAX_BYTES=5 * 1024 * 1024)
    assert (
        rows["file_error"]["code"] == "too_many_rows"
        and size["file_error"]["code"] == "file_too_large"
    )


def test_upload_request_errors(api, factory):
    factory.portfolio(api.user, name="Dup")
    before = counts()
    assert error(upload(api, MIXED, "commit", name=None), 422, "validation_error")["details"] == {
        "fields": {"name": "Give the portfolio a name."}
    }
    assert error(upload(api, MIXED, "commit", name="Dup"), 422, "validation_error")["details"] == {
        "fields": {"name": "You already have a portfolio called 'Dup'."}
    }
    assert error(upload(api, MIXED, "preview"), 400, "invalid_parameter")["details"]["allowed"] == [
        "validate",
        "commit",
    ]
    no_file = api.post(
        "/management/portfolios/upload",
        data={"mode": "validate"},
        content_type="multipart/form-data",
    )
    assert error(no_file, 422, "validation_error")["details"] == {
        "fields": {"file": "Choose a CSV file to upload."}
    }
    rejected_only = b"ticker,quantity,entry_price,entry_date\nAAPL,0,1,2024-01-02\n"
    assert error(upload(api, rejected_only, "commit"), 422, "validation_error")["details"] == {
        "fields": {"file": "The file has no importable rows."}
    }
    assert counts() == before


@pytest.mark.parametrize(
    "filename", sorted(p.name for p in BROKERS.glob("*.csv") if p.name != "robinhood_activity.csv")
)
def test_each_broker_export_commits_through_the_api(api, queued_jobs, filename):
    data = (BROKERS / filename).read_bytes()
    resp = upload(api, data, "commit", name=f"API {filename}", filename=filename)
    body = resp.get_json()
    assert resp.status_code == 201 and body["accepted"]
    portfolio = db.session.get(Portfolio, body["portfolio_id"])
    assert [(p.symbol, p.position_type, p.quantity) for p in portfolio.positions] == [
        (a["symbol"], a["position_type"], a["quantity"]) for a in body["accepted"]
    ]


# ---------------------------------------------------------------- positions


def test_positions_crud(api, book):
    base = f"/management/portfolios/{book.id}/positions"
    created = api.post(base, json=STOCK | {"tags": ["core", "tech"], "strategy": "Core"})
    body = created.get_json()
    assert created.status_code == 201
    position = db.session.get(Position, body["id"])
    assert body == position_dict(position)
    assert (body["position_type"], body["quantity"], body["tags"], body["status"]) == (
        "LONG",
        100.0,
        ["core", "tech"],
        "open",
    )

    got = api.get(f"{base}/{position.id}").get_json()
    assert got == body
    put = api.put(f"{base}/{position.id}", json=STOCK | {"quantity": -50})
    assert (
        put.status_code == 200
        and put.get_json()["position_type"] == "SHORT"
        and put.get_json()["tags"] == []
    )
    patched = api.patch(f"{base}/{position.id}", json={"strategy": "Hedge", "tags": "h"}).get_json()
    assert (patched["quantity"], patched["strategy"], patched["tags"]) == (-50.0, "Hedge", ["h"])
    flipped = api.patch(f"{base}/{position.id}", json={"position_type": "LONG"}).get_json()
    assert (flipped["position_type"], flipped["quantity"]) == ("LONG", 50.0)

    closed = api.post(
        f"{base}/{position.id}/close", json={"exit_date": "2026-07-01", "exit_price": 200}
    )
    assert closed.status_code == 200 and (
        closed.get_json()["status"],
        closed.get_json()["exit_price"],
    ) == ("closed", 200.0)
    again = error(
        api.post(f"{base}/{position.id}/close", json={"exit_date": "2026-07-02", "exit_price": 1}),
        409,
        "conflict",
    )
    assert again["details"] == {
        "fields": {"exit_date": "This position was already closed on 2026-07-01."}
    }

    assert [p["symbol"] for p in api.get(base).get_json()["positions"]] == ["MSFT"]
    assert [p["id"] for p in api.get(f"{base}?status=closed").get_json()["positions"]] == [
        position.id
    ]
    assert api.get(f"{base}?status=all").get_json()["count"] == 2
    assert error(api.get(f"{base}?status=gone"), 400, "invalid_parameter")

    assert api.delete(f"{base}/{position.id}").status_code == 204
    assert not exists(Position, position.id)
    assert error(api.delete(f"{base}/{position.id}"), 404, "not_found")


@pytest.mark.parametrize(
    ("payload", "ptype", "quantity", "symbol"),
    [
        (OPTION, "SP", -3.0, "SPY270115P00500000"),
        (OPTION | {"option_type": "call", "quantity": 3}, "LC", 3.0, "SPY270115C00500000"),
        (
            OPTION | {"option_type": None, "position_type": "SC", "quantity": 2},
            "SC",
            -2.0,
            "SPY270115C00500000",
        ),
        (
            {
                "symbol": "QQQ270115C00450000",
                "quantity": 1,
                "entry_price": 30,
                "entry_date": "2025-03-14",
            },
            "LC",
            1.0,
            "QQQ270115C00450000",
        ),
    ],
)
def test_option_positions(api, book, payload, ptype, quantity, symbol):
    resp = api.post(f"/management/portfolios/{book.id}/positions", json=payload)
    body = resp.get_json()
    assert resp.status_code == 201, body
    assert (body["position_type"], body["quantity"], body["symbol"], body["multiplier"]) == (
        ptype,
        quantity,
        symbol,
        100.0,
    )


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        (
            {},
            {
                "quantity": "This field is required.",
                "symbol": "Enter a ticker like AAPL or BRK-B.",
                "entry_price": "This field is required.",
                "entry_date": "This field is required.",
            },
        ),
        (
            STOCK | {"position_type": "LONG", "quantity": -5},
            {
                "quantity": (
                    "A long position needs a positive quantity; "
                    "a negative quantity means short (SHORT, SC or SP)."
                )
            },
        ),
        (
            STOCK | {"position_type": "BOND"},
            {"position_type": "Choose one of LONG, SHORT, LC, LP, SC, SP."},
        ),
        (
            STOCK | {"position_type": "LONG", "symbol": "AAPL270115C00250000"},
            {
                "symbol": (
                    "Enter a ticker like AAPL or BRK-B. "
                    "That is an option symbol: choose call or put."
                )
            },
        ),
        (
            STOCK | {"symbol": "AAPL270115C00250000", "position_type": "LP"},
            {"symbol": "AAPL270115C00250000 is a call, not a LP."},
        ),
        (
            STOCK | {"tags": ["ok", "x" * 61]},
            {"tags": f"Invalid tag(s): {'x' * 61} (1–60 characters, no ',' or ';')."},
        ),
        (STOCK | {"quantity": "NaN"}, {"quantity": "Must be a finite number."}),
    ],
)
def test_position_validation_is_422_with_the_forms_messages(api, book, payload, fields):
    resp = api.post(f"/management/portfolios/{book.id}/positions", json=payload)
    assert error(resp, 422, "validation_error")["details"] == {"fields": fields}
    assert len(api.get(f"/management/portfolios/{book.id}/positions").get_json()["positions"]) == 1


def test_positions_filter_by_tag_and_strategy(api, book):
    base = f"/management/portfolios/{book.id}/positions"
    api.post(base, json=STOCK | {"tags": ["growth"], "strategy": "Core"})
    api.post(base, json=STOCK | {"symbol": "NVDA", "tags": ["growth", "ai"]})
    assert [p["symbol"] for p in api.get(f"{base}?tag=growth").get_json()["positions"]] == [
        "AAPL",
        "NVDA",
    ]
    assert [p["symbol"] for p in api.get(f"{base}?tag=ai").get_json()["positions"]] == ["NVDA"]
    assert [p["symbol"] for p in api.get(f"{base}?strategy=Core").get_json()["positions"]] == [
        "AAPL"
    ]


# ---------------------------------------------------------------- tags


def test_tags_create_list_assign_delete(api, book):
    created = api.post("/management/tags", json={"name": "income", "color": "#123abc"})
    assert created.status_code == 201
    assert created.get_json() == {
        "id": created.get_json()["id"],
        "name": "income",
        "color": "#123abc",
        "position_count": 0,
    }
    assert error(api.post("/management/tags", json={"name": "income"}), 422, "validation_error")[
        "details"
    ] == {"fields": {"name": "The tag 'income' already exists."}}
    assert error(
        api.post("/management/tags", json={"name": "a;b", "color": "blue"}), 422, "validation_error"
    )["details"] == {
        "fields": {
            "name": "Invalid tag(s): a;b (1–60 characters, no ',' or ';').",
            "color": "A colour like #4c78a8.",
        }
    }

    position = book.positions[0]
    url = f"/management/portfolios/{book.id}/positions/{position.id}/tags"
    assigned = api.put(url, json={"tags": ["income", "new-one"]})
    assert assigned.status_code == 200 and assigned.get_json()["tags"] == ["income", "new-one"]
    assert error(api.put(url, json={}), 422, "validation_error")["details"] == {
        "fields": {"tags": "This field is required."}
    }
    listed = {
        t["name"]: t["position_count"] for t in api.get("/management/tags").get_json()["tags"]
    }
    assert listed == {"income": 1, "new-one": 1}

    assert api.delete(f"/management/tags/{created.get_json()['id']}").status_code == 204
    assert api.get(f"/management/portfolios/{book.id}/positions/{position.id}").get_json()[
        "tags"
    ] == ["new-one"]
    assert api.put(url, json={"tags": []}).get_json()["tags"] == []

"""/api/v1/export/reports: generate (202), status, download (409 until built), the paginated list,
templates and schedules; the JSON is the service's dicts; another advisor's ids are 404."""

from __future__ import annotations

import base64
import io

import pypdf
import pytest
from PIL import Image

from tests.api.conftest import Book, bearer, login_token
from webapp.extensions import db
from webapp.models import Report
from webapp.services import reports as svc
from webapp.services.batch import run_portfolio_batch
from webapp.services.queueing import get_queue

BASE = "/api/v1/export/reports"


def png_base64() -> str:
    out = io.BytesIO()
    Image.new("RGB", (60, 20), (0, 90, 60)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def _advisor(factory, client) -> Book:
    user = factory.user()
    book = factory.portfolio(
        user,
        positions=[
            {"symbol": "AAPL", "quantity": 50.0, "entry_price": 150.0},
            {"symbol": "XOM", "quantity": 40.0, "entry_price": 100.0},
        ],
        name=f"API report book {user.id}",
    )
    return Book(
        user.email, user.id, book.id, bearer(login_token(client, user.email, "correct-horse-9"))
    )


@pytest.fixture()
def advisor(factory, client):
    get_queue().empty()
    book = _advisor(factory, client)
    assert run_portfolio_batch(book.portfolio_id).status in ("succeeded", "partial")
    yield book
    get_queue().empty()


def test_generate_status_and_download_through_the_job_body(advisor, client):
    template = client.post(
        f"{BASE}/templates",
        json={"name": "Firm", "firm_name": "Northwind", "sections": ["risk", "stress"]},
        headers=advisor.headers,
    )
    assert template.status_code == 201, template.get_json()
    template_id = template.get_json()["template_id"]
    resp = client.post(
        f"{BASE}/generate",
        json={"portfolio_id": advisor.portfolio_id, "template_id": template_id},
        headers=advisor.headers,
    )
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "queued" and body["template_id"] == template_id
    report_id = body["report_id"]
    again = client.post(
        f"{BASE}/generate",
        json={"portfolio_id": advisor.portfolio_id, "template_id": template_id},
        headers=advisor.headers,
    )
    assert again.status_code == 202 and again.get_json()["report_id"] == report_id
    early = client.get(f"{BASE}/{report_id}/download", headers=advisor.headers)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "conflict"
    svc.generate_report(report_id)  # the worker's job body (tests/jobs runs a real worker)
    status = client.get(f"{BASE}/{report_id}/status", headers=advisor.headers).get_json()
    db.session.expire_all()
    assert status == svc.report_dict(db.session.get(Report, report_id))
    assert status["status"] == "succeeded" and status["progress"] == 100 and status["page_count"]
    pdf = client.get(f"{BASE}/{report_id}/download", headers=advisor.headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith('attachment; filename="api-report-book')
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Northwind" in text and "Stress tests" in text and "Holdings and allocation" not in text


def test_the_list_is_paginated_and_equals_the_service(advisor, client):
    ids = []
    for session_template in (None, "A", "B"):
        template_id = None
        if session_template:
            template_id = client.post(
                f"{BASE}/templates", json={"name": session_template}, headers=advisor.headers
            ).get_json()["template_id"]
        resp = client.post(
            f"{BASE}/generate",
            json={"portfolio_id": advisor.portfolio_id, "template_id": template_id},
            headers=advisor.headers,
        )
        ids.append(resp.get_json()["report_id"])
    page = client.get(f"{BASE}?limit=2&offset=1", headers=advisor.headers).get_json()
    assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 1
    assert [r["report_id"] for r in page["reports"]] == [ids[1], ids[0]]
    rows, _ = svc.user_reports(advisor.user_id, limit=2, offset=1)
    assert page["reports"] == [svc.report_dict(r) for r in rows]
    bad = client.get(f"{BASE}?limit=0", headers=advisor.headers)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_parameter"


def test_templates_validate_per_field_and_delete(advisor, client):
    made = client.post(
        f"{BASE}/templates",
        json={"name": "Logo", "sections": ["stress"], "logo_base64": png_base64()},
        headers=advisor.headers,
    )
    assert made.status_code == 201 and made.get_json()["has_logo"] is True
    refused = client.post(
        f"{BASE}/templates",
        json={"name": "Logo", "sections": ["gossip"], "logo_base64": "not base64!"},
        headers=advisor.headers,
    )
    assert refused.status_code == 422
    fields = refused.get_json()["error"]["details"]["fields"]
    assert set(fields) == {"name", "sections", "logo"}
    listed = client.get(f"{BASE}/templates", headers=advisor.headers).get_json()
    assert listed["total"] == 1 and {s["key"] for s in listed["sections"]} >= {"risk", "stress"}
    template_id = made.get_json()["template_id"]
    assert (
        client.delete(f"{BASE}/templates/{template_id}", headers=advisor.headers).status_code == 204
    )
    assert client.get(f"{BASE}/templates", headers=advisor.headers).get_json()["total"] == 0


def test_schedules_create_list_and_delete(advisor, client):
    refused = client.post(
        f"{BASE}/schedule",
        json={"portfolio_id": advisor.portfolio_id, "day_of_month": 30},
        headers=advisor.headers,
    )
    assert (
        refused.status_code == 422
        and "day_of_month" in refused.get_json()["error"]["details"]["fields"]
    )
    made = client.post(
        f"{BASE}/schedule",
        json={"portfolio_id": advisor.portfolio_id, "day_of_month": 7},
        headers=advisor.headers,
    )
    assert made.status_code == 201, made.get_json()
    schedule = made.get_json()
    assert schedule["frequency"] == "monthly" and schedule["next_run_date"][-2:] == "07"
    listed = client.get(f"{BASE}/schedule", headers=advisor.headers).get_json()
    assert [s["schedule_id"] for s in listed["schedules"]] == [schedule["schedule_id"]]
    gone = client.delete(f"{BASE}/schedule/{schedule['schedule_id']}", headers=advisor.headers)
    assert gone.status_code == 204
    assert client.get(f"{BASE}/schedule", headers=advisor.headers).get_json()["total"] == 0


def test_another_advisors_ids_are_404_and_never_their_data(advisor, client, factory):
    other = _advisor(factory, client)
    template = client.post(f"{BASE}/templates", json={"name": "Theirs"}, headers=other.headers)
    template_id = template.get_json()["template_id"]
    schedule_id = client.post(
        f"{BASE}/schedule",
        json={"portfolio_id": other.portfolio_id, "day_of_month": 2},
        headers=other.headers,
    ).get_json()["schedule_id"]
    report_id = client.post(
        f"{BASE}/generate", json={"portfolio_id": other.portfolio_id}, headers=other.headers
    ).get_json()["report_id"]
    mine = advisor.headers
    for method, url, body in (
        ("GET", f"{BASE}/{report_id}/status", None),
        ("GET", f"{BASE}/{report_id}/download", None),
        ("DELETE", f"{BASE}/templates/{template_id}", None),
        ("DELETE", f"{BASE}/schedule/{schedule_id}", None),
        ("POST", f"{BASE}/generate", {"portfolio_id": other.portfolio_id}),
        (
            "POST",
            f"{BASE}/generate",
            {"portfolio_id": advisor.portfolio_id, "template_id": template_id},
        ),
        ("POST", f"{BASE}/schedule", {"portfolio_id": other.portfolio_id, "day_of_month": 3}),
    ):
        resp = client.open(url, method=method, json=body, headers=mine)
        assert resp.status_code == 404, (method, url, resp.get_json())
        assert resp.get_json()["error"]["code"] == "not_found"
    for path in ("", "/templates", "/schedule"):
        assert "Theirs" not in client.get(f"{BASE}{path}", headers=mine).get_data(as_text=True)
    assert client.get(f"{BASE}", headers=mine).get_json()["total"] == 0


def test_writes_need_a_token_and_a_bad_body_is_400_or_422(advisor, client):
    assert client.post(f"{BASE}/generate", json={"portfolio_id": 1}).status_code == 401
    assert client.post(f"{BASE}/generate", data="x", headers=advisor.headers).status_code == 400
    resp = client.post(f"{BASE}/generate", json={"portfolio_id": "x"}, headers=advisor.headers)
    assert resp.status_code == 422
    resp = client.post(
        f"{BASE}/generate",
        json={"portfolio_id": advisor.portfolio_id, "session_id": "abc"},
        headers=advisor.headers,
    )
    assert resp.status_code == 422 and "session_id" in resp.get_json()["error"]["details"]["fields"]


def test_with_the_queue_down_generate_is_503_with_retry_after(app, advisor, client):
    app.config["REDIS_URL"], saved = "redis://127.0.0.1:1/0", app.config["REDIS_URL"]
    try:
        resp = client.post(
            f"{BASE}/generate", json={"portfolio_id": advisor.portfolio_id}, headers=advisor.headers
        )
    finally:
        app.config["REDIS_URL"] = saved
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert resp.get_json()["error"]["code"] == "queue_unavailable"

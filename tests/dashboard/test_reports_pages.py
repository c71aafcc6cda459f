"""Report pages: generate with an HTMX progress fragment that polls until the download link,
templates (logo upload, sections, 422 inline errors), monthly schedules, 404 for another's."""

from __future__ import annotations

import html
import io
import re

import pypdf
import pytest
from PIL import Image

from tests.factories import PortfolioFactory, PositionFactory
from webapp.extensions import db
from webapp.models import Report, ReportSchedule, ReportTemplate
from webapp.services import reports as svc
from webapp.services.batch import run_portfolio_batch
from webapp.services.queueing import get_queue

HX = {"HX-Request": "true"}


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def field_errors(page: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, message in re.findall(
        r'<div class="field-error" data-field="([^"]+)">([^<]*)</div>', page
    ):
        out.setdefault(name, []).append(html.unescape(message))
    return out


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (90, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture()
def advisor(factory, auth):
    get_queue().empty()
    user = factory.user()
    assert auth.login(user.email).status_code == 302
    yield user
    get_queue().empty()


@pytest.fixture()
def book(advisor):
    portfolio = PortfolioFactory(owner=advisor, cash=5_000.0, name="Pages report book")
    for symbol, qty in (("AAPL", 30), ("MSFT", 10)):
        PositionFactory(portfolio=portfolio, symbol=symbol, quantity=qty, entry_price=100.0)
    assert run_portfolio_batch(portfolio.id).status in ("succeeded", "partial")
    return portfolio


def test_index_starts_empty_and_lists_the_accounts(client, book):
    page = text(client.get("/reports/"))
    assert "Client reports" in page and "No reports yet" in page
    assert "No templates" in page and "No monthly reports scheduled" in page
    assert f'href="/reports/portfolio/{book.id}"' in page
    account = text(client.get(f"/reports/portfolio/{book.id}"))
    assert 'id="generate-form"' in account and "Every section, no firm name" in account
    assert "csrf_token" in account


def test_generate_polls_until_the_download_link_and_the_pdf_downloads(client, book):
    resp = client.post(f"/reports/portfolio/{book.id}", data={}, headers=HX)
    assert resp.status_code == 200
    fragment = text(resp)
    report = db.session.scalars(
        db.select(Report).where(Report.portfolio_id == book.id).order_by(Report.id.desc())
    ).first()
    assert f'id="report-{report.id}"' in fragment and 'data-status="queued"' in fragment
    assert f'hx-get="/reports/{report.id}/progress"' in fragment and "load delay:1s" in fragment
    svc.generate_report(report.id)  # what the worker runs (tests/jobs runs a real one)
    done = text(client.get(f"/reports/{report.id}/progress", headers=HX))
    assert 'data-status="succeeded"' in done and "hx-get" not in done
    assert f'href="/reports/{report.id}/download"' in done
    pdf = client.get(f"/reports/{report.id}/download")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith('attachment; filename="pages-report-book')
    pages = pypdf.PdfReader(io.BytesIO(pdf.data)).pages
    assert "Pages report book" in pages[0].extract_text()
    listed = text(client.get("/reports/"))
    assert f'data-report="{report.id}" data-status="succeeded"' in listed


def test_a_form_post_without_htmx_goes_to_the_accounts_report_page(client, book):
    resp = client.post(f"/reports/portfolio/{book.id}", data={"template_id": ""})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/reports/portfolio/{book.id}"
    )
    page = text(client.get(resp.headers["Location"]))
    assert "The report is being built" in page and 'data-status="queued"' in page
    # A download before it is built goes back to the list, saying so.
    report = db.session.scalars(db.select(Report).where(Report.portfolio_id == book.id)).first()
    early = client.get(f"/reports/{report.id}/download")
    assert early.status_code == 303


def test_templates_upload_a_logo_choose_sections_and_refuse_inline(client, advisor):
    resp = client.post(
        "/reports/templates/new",
        data={
            "name": "Quarterly",
            "firm_name": "Northwind Wealth",
            "sections": ["stress", "risk"],
            "logo": (io.BytesIO(png()), "logo.png"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    template = db.session.scalars(
        db.select(ReportTemplate).where(ReportTemplate.user_id == advisor.id)
    ).one()
    assert template.sections == ["risk", "stress"] and template.logo.startswith(b"\x89PNG")
    page = text(client.get("/reports/"))
    assert "Quarterly" in page and "Northwind Wealth" in page and "Stress tests" in page
    refused = client.post(
        "/reports/templates/new",
        data={
            "name": "Quarterly",
            "sections": ["gossip"],
            "logo": (io.BytesIO(b"GIF89a"), "x.gif"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    errors = field_errors(refused.get_data(as_text=True))
    assert "already have a template" in errors["name"][0]
    assert "gossip" in errors["sections"][0] and "PNG" in errors["logo"][0]
    form = text(client.get(f"/reports/templates/{template.id}/edit"))
    assert 'value="Quarterly"' in form and "Remove the current logo" in form
    client.post(
        f"/reports/templates/{template.id}/edit",
        data={"name": "Quarterly v2", "firm_name": "", "sections": ["stress"]},
        content_type="multipart/form-data",
    )
    db.session.expire_all()
    assert template.name == "Quarterly v2" and template.logo is not None  # the logo stays
    assert "Delete?" in text(client.get(f"/reports/templates/{template.id}/delete"))
    template_id = template.id
    assert client.post(f"/reports/templates/{template_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(ReportTemplate, template_id) is None


def test_schedules_are_created_refused_inline_and_deleted(client, book):
    refused = client.post("/reports/schedules", data={"portfolio_id": book.id, "day_of_month": 31})
    assert refused.status_code == 422
    assert "1 to 28" in field_errors(refused.get_data(as_text=True))["day_of_month"][0]
    resp = client.post("/reports/schedules", data={"portfolio_id": book.id, "day_of_month": "12"})
    assert resp.status_code == 302
    schedule = db.session.scalars(
        db.select(ReportSchedule).where(ReportSchedule.portfolio_id == book.id)
    ).one()
    page = text(client.get("/reports/"))
    assert f'data-schedule="{schedule.id}"' in page and schedule.next_run_date.isoformat() in page
    schedule_id = schedule.id
    assert client.post(f"/reports/schedules/{schedule_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(ReportSchedule, schedule_id) is None


def test_another_advisors_report_template_schedule_and_portfolio_are_404(client, book, factory):
    other = factory.user()
    theirs = PortfolioFactory(owner=other)
    template = svc.create_template(other.id, {"name": "Theirs"})
    schedule = svc.create_schedule(other.id, theirs, {"day_of_month": 3})
    report = Report(user_id=other.id, portfolio_id=theirs.id, status="succeeded", pdf=b"%PDF-")
    db.session.add(report)
    db.session.commit()
    for method, url in (
        ("GET", f"/reports/{report.id}/download"),
        ("GET", f"/reports/{report.id}/progress"),
        ("GET", f"/reports/templates/{template.id}/edit"),
        ("POST", f"/reports/templates/{template.id}/delete"),
        ("POST", f"/reports/schedules/{schedule.id}/delete"),
        ("POST", f"/reports/portfolio/{theirs.id}"),
        ("GET", f"/reports/portfolio/{theirs.id}"),
    ):
        assert client.open(url, method=method).status_code == 404, url
    resp = client.post("/reports/schedules", data={"portfolio_id": theirs.id, "day_of_month": 3})
    assert resp.status_code == 404
    assert "Theirs" not in text(client.get("/reports/"))


def test_with_the_queue_down_the_button_says_so(app, client, book):
    app.config["REDIS_URL"], saved = "redis://127.0.0.1:1/0", app.config["REDIS_URL"]
    try:
        resp = client.post(f"/reports/portfolio/{book.id}", headers=HX)
    finally:
        app.config["REDIS_URL"] = saved
    assert resp.status_code == 200 and "queue is unreachable" in text(resp)
    assert (
        db.session.scalars(db.select(Report).where(Report.portfolio_id == book.id)).first() is None
    )

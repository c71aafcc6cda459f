"""Report jobs through a real Redis and a real RQ worker (`flask worker --burst` in a subprocess):
the PDF is built, stored and downloadable; a failing report is marked failed with its reason and
the same worker goes on to build the next one."""

from __future__ import annotations

import datetime as dt
import io

import pypdf
import pytest

from tests.api.conftest import bearer, login_token
from webapp.extensions import db
from webapp.models import Report
from webapp.services import reports as svc
from webapp.services.batch import run_portfolio_batch
from webapp.services.queueing import job_status

pytestmark = pytest.mark.worker
WORKER_SECONDS = 240


def _book(factory):
    user = factory.user()
    book = factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=100, entry_price=150.0),
            dict(symbol="MSFT", quantity=50, entry_price=300.0),
            dict(symbol="XOM", quantity=-80, entry_price=110.0),
        ],
        cash=20_000.0,
        name=f"Worker report book {user.id}",
    )
    assert run_portfolio_batch(book.id).status in ("succeeded", "partial")
    return book


def _run(start_worker) -> str:
    proc = start_worker()
    assert proc.wait(timeout=WORKER_SECONDS) == 0, proc.log_path.read_text()[-3000:]
    return proc.log_path.read_text()


def test_the_report_job_runs_on_a_real_worker_and_the_pdf_downloads(
    app, client, factory, clean_queue, start_worker
):
    book = _book(factory)
    report = svc.request_report(book, book.user_id)
    _run(start_worker)
    db.session.expire_all()
    assert report.status == "succeeded", report.error
    assert report.progress == 100 and report.page_count and report.as_of_date
    status = job_status(report.job_id)
    assert status["status"] == "finished" and status["result"]["report_id"] == report.id
    assert status["current_step"] == "laying out the pages"  # the last progress the job noted
    token = login_token(client, book.owner.email, "correct-horse-9")
    resp = client.get(f"/api/v1/export/reports/{report.id}/download", headers=bearer(token))
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(resp.data))
    assert len(reader.pages) == report.page_count
    assert book.name in reader.pages[0].extract_text()


def test_a_failing_report_is_marked_failed_and_the_worker_builds_the_next(
    app, factory, clean_queue, start_worker
):
    book = _book(factory)
    broken = svc.create_template(book.user_id, {"name": "Broken logo"})
    broken.logo = b"\x89PNG\r\n\x1a\n but not an image"  # what validation would refuse
    db.session.commit()
    failing = svc.request_report(book, book.user_id, template_id=broken.id)
    good = svc.request_report(book, book.user_id)
    log = _run(start_worker)
    db.session.expire_all()
    assert failing.status == "failed" and failing.error.startswith("the report could not be built")
    assert failing.pdf is None and failing.finished_at is not None
    assert job_status(failing.job_id)["status"] == "failed"
    assert good.status == "succeeded" and good.pdf.startswith(b"%PDF"), log[-2000:]


def test_the_daily_check_queues_due_schedules_on_the_worker(
    app, factory, clean_queue, start_worker
):
    from webapp.services.queueing import get_queue

    book = _book(factory)
    today = dt.date(2027, 3, 9)
    schedule = svc.create_schedule(book.user_id, book, {"day_of_month": 9}, on=today)
    get_queue().enqueue("jobs.reports.run_due_schedules", today.isoformat(), job_timeout=120)
    _run(start_worker)  # runs the check, then the report it queued
    db.session.expire_all()
    assert schedule.next_run_date == dt.date(2027, 4, 9)
    report = db.session.get(Report, schedule.last_report_id)
    assert report.portfolio_id == book.id and report.status == "succeeded"

"""Client reports: the PDF read back with pypdf holds the cover, the numbers as the pages print
them, every scenario and the page numbers; templates choose sections; schedules run once a day."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re

import pypdf
import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.factories import PortfolioFactory, PositionFactory, UserFactory
from webapp.extensions import db
from webapp.formatting import money
from webapp.models import Client, Portfolio, Report, ReportSchedule, ReportTemplate
from webapp.services import management, modelling
from webapp.services import reports as svc
from webapp.services.batch import run_portfolio_batch
from webapp.services.ledger import Conflict, ValidationError
from webapp.services.portfolios import NotOwned
from webapp.services.queueing import QueueUnavailable, get_queue
from webapp.services.stress_tests import stress_test

HOLDINGS = (("AAPL", 120, 150.0), ("MSFT", 40, 300.0), ("XOM", -60, 100.0), ("JPM", 50, 140.0))


def png(width: int = 120, height: int = 40) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (31, 95, 191)).save(out, format="PNG")
    return out.getvalue()


def text_of(pdf: bytes) -> tuple[list[str], str]:
    pages = [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    return pages, "\n".join(pages)


@pytest.fixture()
def empty_queue(ctx):
    get_queue().empty()
    yield
    get_queue().empty()


def _book(name: str = "Report book", *, batch: bool = True) -> Portfolio:
    user = UserFactory(full_name="Alex Advisor")
    client = Client(user_id=user.id, name="Jordan Client")
    db.session.add(client)
    db.session.flush()
    book = PortfolioFactory(owner=user, cash=25_000.0, name=name, client_id=client.id)
    for symbol, qty, price in HOLDINGS:
        PositionFactory(portfolio=book, symbol=symbol, quantity=qty, entry_price=price)
    if batch:
        assert run_portfolio_batch(book.id).status in ("succeeded", "partial")
    return book


@pytest.fixture()
def book(ctx):
    return _book()


def test_the_pdf_has_the_cover_every_scenario_as_the_stress_page_prints_it_and_page_numbers(
    app, book, auth
):
    template = svc.create_template(
        book.user_id, {"name": "Firm", "firm_name": "Northwind Wealth", "logo": png()}
    )
    pdf = svc.build_pdf(book, template=template)
    assert pdf.startswith(b"%PDF")
    pages, text = text_of(pdf)
    from webapp.services.overview import overview as read_overview

    view = read_overview(book)
    cover = pages[0]
    assert "Jordan Client" in cover and "Alex Advisor" in cover and book.owner.email in cover
    assert "Northwind Wealth" in cover and view.as_of.isoformat() in cover
    assert money(view.data["summary"]["equity"]) in text
    # Every page says which page of how many, and carries the as-of date in its footer.
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert f"as of {view.as_of.isoformat()}" in page
    # The stress page's own table, and the PDF, print each scenario's P&L the same way.
    client = app.test_client()
    auth.client = client
    assert auth.login(book.owner.email).status_code == 302
    page = client.get(f"/portfolios/{book.id}/stress").get_data(as_text=True)
    scenarios = stress_test(book).data["scenarios"]
    assert len(scenarios) >= 15
    flat = re.sub(r"\s+", " ", text)
    for s in scenarios:
        assert s["name"] in flat, s["name"]
        assert f">{money(s['pnl'])}<" in page, s["name"]
        assert money(s["pnl"]) in text, (s["name"], money(s["pnl"]))


def test_a_book_without_a_client_is_prepared_for_the_account(book):
    book.client_id = None
    db.session.flush()
    db.session.expire(book, ["client"])
    cover = text_of(svc.build_pdf(book))[0][0]
    assert f"Prepared for {book.name}" in cover and "none linked" in cover
    assert "No client linked" not in cover


def test_the_report_reads_the_stored_numbers_with_their_units(book):
    from webapp.services.risk_metrics import risk_metrics

    _, text = text_of(svc.build_pdf(book))
    risk = risk_metrics(book, lookback_days=252).data
    v95 = next(v for v in risk["var"] if v["confidence"] == 0.95)
    assert f"{money(v95['historical']['dollars'])} (" in text  # VaR in dollars with its %
    assert "Beta vs SPY" in text and "Annualized volatility" in text
    for key in ("Methodology", "Data sources", "Important information", "Growth of $10,000"):
        assert key in text
    assert "σ" in text and "Σ" in text  # the formulas' Greek letters survive (Symbol font)


def test_a_report_from_a_modelling_session_has_the_proposal_current_vs_proposed(book):
    session = modelling.start_session(book, "Add NVDA")
    modelling.add_trade(session, {"kind": "buy", "symbol": "NVDA", "quantity": 25})
    assert run_portfolio_batch(session.proposal_id).status in ("succeeded", "partial")
    _, text = text_of(svc.build_pdf(book, session=session))
    assert "Proposal: current vs proposed" in text
    assert "Add NVDA" in text and "NVDA" in text
    assert "Current" in text and "Proposed" in text and "Difference" in text
    from webapp.services.impacts import impacts

    equity = next(x for x in impacts(session).groups["exposures"] if x.key == "equity")
    assert money(equity.current) in text and money(equity.proposed) in text
    # Without the session there is no proposal section.
    assert "Proposal: current vs proposed" not in text_of(svc.build_pdf(book))[1]


def test_a_session_of_another_account_is_refused(book):
    other = PortfolioFactory(owner=book.owner)
    PositionFactory(portfolio=other, symbol="AAPL", quantity=5)
    session = modelling.start_session(other)
    with pytest.raises(ValidationError, match="another account"):
        svc.build_pdf(book, session=session)


def test_template_sections_are_respected(book):
    template = svc.create_template(book.user_id, {"name": "Stress only", "sections": ["stress"]})
    pages, text = text_of(svc.build_pdf(book, template=template))
    assert "1. Stress tests" in text
    assert "Holdings and allocation" not in text and "Methodology" not in text
    assert "Important information" in text  # the cover and the disclaimer are always there
    assert "Portfolio risk report" in pages[0]


def test_unavailable_sections_say_why_in_words(ctx):
    fresh = _book("Never calculated", batch=False)
    _, text = text_of(svc.build_pdf(fresh))
    flat = re.sub(r"\s+", " ", text)
    for what in ("valuation of the holdings", "risk analysis", "stress test", "factor analysis"):
        assert f"The {what} is not available in this report: not calculated yet." in flat
    assert "no_results" not in flat


def test_template_validation_speaks_per_field(ctx):
    user = UserFactory()
    svc.create_template(user.id, {"name": "Mine"})
    with pytest.raises(ValidationError) as refused:
        svc.create_template(
            user.id, {"name": "Mine", "sections": ["stress", "gossip"], "logo": b"GIF89a..."}
        )
    errors = refused.value.errors
    assert "already have a template" in errors["name"]
    assert "gossip" in errors["sections"]
    assert "PNG" in errors["logo"]
    with pytest.raises(ValidationError, match="500 KB"):
        svc.create_template(user.id, {"name": "Big", "logo": b"\x89PNG\r\n\x1a\n" + b"0" * 600_000})
    with pytest.raises(ValidationError, match="at least one"):
        svc.create_template(user.id, {"name": "None", "sections": []})
    made = svc.create_template(
        user.id, {"name": "API", "logo_base64": base64.b64encode(png()).decode()}
    )
    assert svc.template_dict(made)["has_logo"] and made.sections == list(svc.OPTIONAL_SECTIONS)
    svc.update_template(made, {"name": "API 2", "sections": ["risk"], "remove_logo": True})
    assert (made.name, made.sections, made.logo) == ("API 2", ["risk"], None)
    with pytest.raises(NotOwned):
        svc.owned_template(made.id, UserFactory().id)


def test_the_job_body_stores_the_pdf_with_progress_and_pages(book, empty_queue):
    report = svc.request_report(book, book.user_id)
    assert report.status == "queued" and report.job_id.startswith(f"report-{report.id}-")
    # A second press while it is queued returns the same report.
    assert svc.request_report(book, book.user_id).id == report.id
    seen = []
    result = svc.generate_report(report.id, on_progress=lambda p, s: seen.append((p, s)))
    db.session.expire_all()
    assert result["status"] == "succeeded" and report.status == "succeeded"
    assert [s for _, s in seen][:2] == ["Cover", "Holdings and allocation"]
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)
    assert report.progress == 100 and report.page_count == len(text_of(report.pdf)[0])
    assert report.as_of_date is not None and report.finished_at is not None
    assert svc.report_pdf(report).startswith(b"%PDF")
    assert svc.report_filename(report).endswith(f"-report-{report.as_of_date}.pdf")
    # A duplicate job of a report that ran does nothing.
    assert svc.generate_report(report.id)["status"] == "skipped"


def test_a_failing_report_is_marked_failed_with_the_reason(book, empty_queue):
    template = svc.create_template(book.user_id, {"name": "Broken logo"})
    template.logo = b"\x89PNG\r\n\x1a\n not really a png"  # what validation would have refused
    db.session.commit()
    report = svc.request_report(book, book.user_id, template_id=template.id)
    with pytest.raises(Exception):  # whatever the image reader raises: the job fails too
        svc.generate_report(report.id)
    db.session.expire_all()
    assert report.status == "failed" and report.error.startswith("the report could not be built")
    with pytest.raises(Conflict, match="not ready"):
        svc.report_pdf(report)


def test_request_report_checks_ownership_and_the_queue(app, book, empty_queue):
    stranger = UserFactory()
    foreign = svc.create_template(stranger.id, {"name": "Theirs"})
    with pytest.raises(NotOwned):
        svc.request_report(book, book.user_id, template_id=foreign.id)
    with pytest.raises(NotOwned):
        svc.request_report(book, stranger.id)
    with pytest.raises(ValidationError):
        svc.request_report(book, book.user_id, template_id="x")
    before = db.session.scalar(select(func.count()).select_from(Report))
    app.config["REDIS_URL"], saved = "redis://127.0.0.1:1/0", app.config["REDIS_URL"]
    try:
        with app.app_context(), pytest.raises(QueueUnavailable):
            svc.request_report(db.session.get(Portfolio, book.id), book.user_id)
    finally:
        app.config["REDIS_URL"] = saved
    assert db.session.scalar(select(func.count()).select_from(Report)) == before


@pytest.mark.parametrize(
    ("day", "after", "inclusive", "expected"),
    [
        (15, dt.date(2026, 12, 10), True, dt.date(2026, 12, 15)),
        (15, dt.date(2026, 12, 15), True, dt.date(2026, 12, 15)),
        (15, dt.date(2026, 12, 15), False, dt.date(2027, 1, 15)),
        (1, dt.date(2026, 1, 31), False, dt.date(2026, 2, 1)),
        (28, dt.date(2026, 2, 28), False, dt.date(2026, 3, 28)),
    ],
)
def test_next_run(day, after, inclusive, expected):
    assert svc.next_run(day, after, inclusive=inclusive) == expected


def test_schedules_run_once_when_due_and_move_to_next_month(book, empty_queue):
    with pytest.raises(ValidationError, match="1 to 28"):
        svc.create_schedule(book.user_id, book, {"day_of_month": 31})
    schedule = svc.create_schedule(
        book.user_id, book, {"day_of_month": "15"}, on=dt.date(2026, 12, 10)
    )
    assert schedule.next_run_date == dt.date(2026, 12, 15)
    assert _due_ids(dt.date(2026, 12, 14), book) == []
    first = _due_ids(dt.date(2026, 12, 15), book)
    assert len(first) == 1
    db.session.expire_all()
    assert schedule.next_run_date == dt.date(2027, 1, 15) and schedule.last_report_id == first[0]
    assert _due_ids(dt.date(2026, 12, 15), book) == []  # the same day again: nothing
    # A missed run (the scheduler was down for weeks) runs once, then next month.
    assert len(_due_ids(dt.date(2027, 2, 20), book)) == 1
    db.session.expire_all()
    assert schedule.next_run_date == dt.date(2027, 3, 15)
    report = db.session.get(Report, first[0])
    assert (report.portfolio_id, report.user_id, report.status) == (book.id, book.user_id, "queued")


def test_a_schedule_whose_report_cannot_be_queued_keeps_its_date(app, book, empty_queue):
    schedule = svc.create_schedule(book.user_id, book, {"day_of_month": 3}, on=dt.date(2027, 5, 1))
    app.config["REDIS_URL"], saved = "redis://127.0.0.1:1/0", app.config["REDIS_URL"]
    try:
        with app.app_context(), pytest.raises(QueueUnavailable):
            svc.run_due_schedules(dt.date(2027, 5, 3))
    finally:
        app.config["REDIS_URL"] = saved
    db.session.expire_all()
    assert schedule.next_run_date == dt.date(2027, 5, 3)


def _due_ids(on: dt.date, book: Portfolio) -> list[int]:
    """``run_due_schedules`` on ``on``: the reports it requested for ``book``."""
    ids = svc.run_due_schedules(on)
    db.session.expire_all()
    return [i for i in ids if db.session.get(Report, i).portfolio_id == book.id]


def test_deleting_the_portfolio_deletes_its_reports_and_schedules_not_the_template(
    book, empty_queue
):
    template = svc.create_template(book.user_id, {"name": "Kept"})
    report = svc.request_report(book, book.user_id, template_id=template.id)
    svc.create_schedule(book.user_id, book, {"day_of_month": 2, "template_id": template.id})
    book_id, report_id, template_id = book.id, report.id, template.id
    management.delete_portfolio(book)
    for model in (Report, ReportSchedule):
        count = select(func.count()).select_from(model).where(model.portfolio_id == book_id)
        assert db.session.scalar(count) == 0
    assert db.session.get(ReportTemplate, template_id) is not None
    assert svc.generate_report(report_id)["status"] == "missing"  # its job ends quietly

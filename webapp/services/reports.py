"""Client reports: the PDF (``build_pdf``), the worker's job that builds and stores it, report
templates and monthly schedules. Pages, the API, the job and the scheduler all call this module.

A report is a row (``models.Report``) created queued by ``request_report``; the worker's
``generate_report`` builds every section of the PDF from the stored results (``report_sections``,
nothing is recalculated), noting the section it is on in the row and the job's meta, and stores
the PDF in the row, or marks it failed with the reason. Templates choose the sections and put the
firm's name and logo on the cover; schedules request a report every month.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError
from redis.exceptions import RedisError
from rq.job import JobStatus
from sqlalchemy import func, select, update

from webapp.extensions import db
from webapp.models import ModellingSession, Portfolio, Report, ReportSchedule, ReportTemplate
from webapp.models._time import isoformat_z, utcnow
from webapp.models.reports import ACTIVE_REPORT_STATUSES, FREQUENCIES, MAX_DAY_OF_MONTH
from webapp.services import report_pdf as kit
from webapp.services.ledger import Conflict, ValidationError
from webapp.services.market_views import slugify
from webapp.services.modelling import owned_session
from webapp.services.portfolios import MAX_ID, NotOwned, owned_portfolio
from webapp.services.queueing import QueueUnavailable, fetch_job, get_queue, get_redis
from webapp.services.report_sections import SECTION_TITLES, SECTIONS, Context, Formats
from webapp.services.transactions import run_write

log = logging.getLogger(__name__)

# The job: its dotted name (jobs/reports.py), queue and timeout. A 2,000-position book takes
# seconds (bench/reports.py), so the timeout only catches a hang.
JOB = "jobs.reports.generate_report"
QUEUE = "default"
TIMEOUT = 600
RESULT_TTL = 7 * 24 * 3600
# A report created but not yet given its job id is mid-enqueue for a moment at most.
ENQUEUE_GRACE = dt.timedelta(minutes=2)

MAX_NAME = 120  # ReportTemplate.name
MAX_FIRM = 200  # ReportTemplate.firm_name
MAX_LOGO_BYTES = 500 * 1024
MAX_LOGO_PIXELS = 4000  # per side: a logo, not a photograph
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Sections a template may choose (the cover and the disclaimer are always printed).
OPTIONAL_SECTIONS = tuple(s.key for s in SECTIONS if not s.required)
BUILDERS = {s.key: s for s in SECTIONS}

__all__ = ["SECTIONS", "SECTION_TITLES", "build_pdf", "generate_report", "request_report"]


# ------------------------------------------------------------------------------------------------
# The PDF
# ------------------------------------------------------------------------------------------------
Progress = Callable[[int, str], None]  # (percent 0-100, what is being built)


def section_keys(template: ReportTemplate | None, session: ModellingSession | None) -> tuple:
    """The sections a report prints, in order: the template's choice (all without one) plus the
    cover and disclaimer; the proposal only when made from a session."""
    chosen = set(template.sections) if template is not None else set(OPTIONAL_SECTIONS)
    return tuple(
        s.key
        for s in SECTIONS
        if (s.required or s.key in chosen) and (session is not None or not s.needs_session)
    )


def _check_session(portfolio: Portfolio, session: ModellingSession | None) -> None:
    if session is not None and session.portfolio_id != portfolio.id:
        raise ValidationError({"session_id": "That modelling session is on another account."})


def _compose(
    portfolio: Portfolio,
    template: ReportTemplate | None,
    session: ModellingSession | None,
    progress: Progress | None = None,
) -> tuple[kit.Rendered, dt.date | None]:
    """Every section's flowables, then the pages; the PDF and the report's as-of date."""
    ctx = Context(portfolio, portfolio.owner, template, session, Formats.of_app())
    ctx.keys = section_keys(template, session)
    story: list = []
    for index, key in enumerate(ctx.keys):
        if progress is not None:
            progress(round(90 * index / len(ctx.keys)), SECTION_TITLES[key])
        story += BUILDERS[key].build(ctx)
    if progress is not None:
        progress(95, "laying out the pages")
    as_of = ctx.as_of
    footer = " · ".join(
        part for part in (ctx.firm, portfolio.name, f"as of {ctx.fmt.isodate(as_of)}") if part
    )
    rendered = kit.render(
        story,
        title=f"Portfolio risk report: {portfolio.name}",
        author=ctx.advisor_name,
        footer=footer,
    )
    return rendered, as_of


def build_pdf(
    portfolio: Portfolio,
    *,
    template: ReportTemplate | None = None,
    session: ModellingSession | None = None,
) -> bytes:
    """The report of ``portfolio`` as PDF bytes (with ``session``'s proposal when given).

    Sections per ``template`` (every one without); the cover names the client, the advisor,
    the firm and its logo and the as-of date; every page's footer says "Page n of m".
    """
    _check_session(portfolio, session)
    return _compose(portfolio, template, session)[0].pdf


# ------------------------------------------------------------------------------------------------
# Reports: request, the job, status, download
# ------------------------------------------------------------------------------------------------
def owned_report(report_id: int, user_id: int) -> Report:
    """The report if ``user_id`` asked for it; NotOwned (404) for a missing or another's id."""
    report = db.session.get(Report, report_id) if 0 < report_id <= MAX_ID else None
    if report is None or report.user_id != user_id:
        raise NotOwned("No such report.")
    return report


def user_reports(user_id: int, *, limit: int = 50, offset: int = 0) -> tuple[list[Report], int]:
    """The advisor's reports, newest first (one page), and how many there are."""
    query = select(Report).where(Report.user_id == user_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Report.id.desc()).limit(limit).offset(offset))
    return list(rows), total or 0


def _active_twin(portfolio_id: int, template_id: int | None, session_id: int | None):
    """A queued or running report of the same book, template and session (a second press)."""
    return db.session.scalar(
        select(Report)
        .where(
            Report.portfolio_id == portfolio_id,
            Report.template_id.is_(None)
            if template_id is None
            else Report.template_id == template_id,
            Report.session_id.is_(None) if session_id is None else Report.session_id == session_id,
            Report.status.in_(ACTIVE_REPORT_STATUSES),
        )
        .order_by(Report.id.desc())
        .limit(1)
    )


def _resolve(portfolio: Portfolio, user_id: int, template_id, session_id):
    """The template and session a request names, each the caller's (404 otherwise)."""
    if portfolio.user_id != user_id:
        raise NotOwned("No such portfolio.")
    if portfolio.kind == "proposal":
        raise ValidationError(
            {"portfolio_id": "Report on the account; a proposal is reported from its session."}
        )
    template_id, session_id = _id(template_id, "template_id"), _id(session_id, "session_id")
    template = owned_template(template_id, user_id) if template_id is not None else None
    session = owned_session(session_id, user_id) if session_id is not None else None
    _check_session(portfolio, session)
    return template, session


def _id(value: Any, name: str) -> int | None:
    """An optional record id from a form or a JSON body ("" and None are none)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ValidationError({name: "An id (a whole number) is required."})
    return int(value)


def request_report(
    portfolio: Portfolio,
    user_id: int,
    template_id: int | None = None,
    session_id: int | None = None,
) -> Report:
    """Queue a report of ``portfolio`` (with a template and a modelling session's proposal) for
    the worker; the same report when one of these is already queued or running.

    Raises ``QueueUnavailable`` when Redis is down, leaving no report behind in "queued".
    """
    template, session = _resolve(portfolio, user_id, template_id, session_id)
    try:
        get_redis().ping()
    except RedisError as exc:
        raise QueueUnavailable() from exc
    twin = _active_twin(portfolio.id, template and template.id, session and session.id)
    if twin is not None:
        refresh_status(twin)
        if not twin.done:
            return twin

    def unit() -> Report:
        report = Report(
            user_id=user_id,
            portfolio_id=portfolio.id,
            template_id=template.id if template else None,
            session_id=session.id if session else None,
            status="queued",
            step="waiting for a worker",
        )
        db.session.add(report)
        return report

    return _enqueue(run_write(unit))


def _enqueue(report: Report) -> Report:
    """Put the report's job on the queue; a queue that fails now fails the report, saying so."""
    try:
        job = get_queue(QUEUE).enqueue(
            JOB,
            report.id,
            job_id=f"report-{report.id}-{secrets.token_hex(4)}",
            job_timeout=TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=RESULT_TTL,
            description=f"report {report.id} of portfolio {report.portfolio_id}",
        )
    except RedisError as exc:  # nothing will ever run this report
        _finish(report.id, status="failed", error="could not be queued: the queue was unreachable")
        raise QueueUnavailable() from exc
    run_write(lambda: _set(report.id, job_id=job.id))
    db.session.refresh(report)
    return report


def _set(report_id: int, **values: Any) -> int:
    return db.session.execute(
        update(Report).where(Report.id == report_id).values(**values)
    ).rowcount


def _finish(report_id: int, **values: Any) -> None:
    run_write(lambda: _set(report_id, finished_at=utcnow(), **values))


class ReportGone(LookupError):
    """The report's row was deleted (with its portfolio) while its job waited or ran."""


def generate_report(report_id: int, on_progress: Progress | None = None) -> dict:
    """Build and store report ``report_id`` (the worker's job body).

    Marks it running, notes each section in the row (and through ``on_progress``, the job's
    meta), then stores the PDF, its page count and as-of date. Any error marks it failed with the
    reason and is raised again, so the job fails too; a report that is not queued (a duplicate
    job) or was deleted meanwhile ends quietly.
    """
    report = db.session.get(Report, report_id)
    if report is None or report.status != "queued":
        status = "missing" if report is None else "skipped"
        return {"report_id": report_id, "status": status}
    run_write(lambda: _set(report_id, status="running", progress=0, step="starting"))

    def progress(percent: int, step: str) -> None:
        if not run_write(lambda: _set(report_id, progress=percent, step=step)):
            raise ReportGone(f"report {report_id} was deleted while it was being built")
        if on_progress is not None:
            on_progress(percent, step)

    try:
        rendered, as_of = _compose(report.portfolio, report.template, report.session, progress)
    except ReportGone:
        db.session.rollback()
        return {"report_id": report_id, "status": "missing"}
    except Exception as exc:
        db.session.rollback()
        _finish(report_id, status="failed", error=_reason(exc), step=None)
        raise
    _finish(
        report_id,
        status="succeeded",
        progress=100,
        step=None,
        pdf=rendered.pdf,
        page_count=rendered.pages,
        as_of_date=as_of,
    )
    return {"report_id": report_id, "status": "succeeded", "pages": rendered.pages}


def _reason(exc: Exception) -> str:
    """An error in words for the report row (its type and message, never a traceback)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"the report could not be built: {type(exc).__name__}" + (f": {text}" if text else "")


def _job_problem(report: Report) -> str | None:
    """Why the report's job can no longer finish it, or None while it still can."""
    if not report.job_id:
        return None if utcnow() - report.created_at < ENQUEUE_GRACE else "never reached the queue"
    job = fetch_job(report.job_id)
    if job is None:
        return "the job was lost before it finished (worker stopped or queue flushed)"
    status = job.get_status(refresh=True)
    if status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.FINISHED):
        return None  # a finished job's own commit decides the report's status
    latest = job.latest_result()
    detail = (latest.exc_string or "").strip().splitlines()[-1:] if latest else []
    if detail and "AbandonedJobError" in detail[0]:
        return "the worker building it stopped; ask for the report again"
    return f"the job {status.value}" + (f": {detail[0]}" if detail else "")


def refresh_status(report: Report) -> Report:
    """Close a queued or running report whose job died (worker killed, queue flushed); with Redis
    down the report is left as the database has it."""
    if report.done:
        return report
    try:
        problem = _job_problem(report)
    except QueueUnavailable:
        return report
    if problem is not None:
        run_write(
            lambda: db.session.execute(
                update(Report)
                .where(Report.id == report.id, Report.status.in_(ACTIVE_REPORT_STATUSES))
                .values(status="failed", error=problem, finished_at=utcnow())
            )
        )
        db.session.refresh(report)
    return report


def report_pdf(report: Report) -> bytes:
    """The stored PDF; Conflict (409) while the report is not built (or failed)."""
    if report.status != "succeeded" or report.pdf is None:
        state = report.status if report.status != "failed" else f"failed ({report.error})"
        raise Conflict({"status": f"The report is not ready to download: it is {state}."})
    return report.pdf


def report_filename(report: Report) -> str:
    """``<account-slug>-report-<as-of>.pdf``."""
    as_of = report.as_of_date.isoformat() if report.as_of_date else "no-date"
    return f"{slugify(report.portfolio.name) or 'portfolio'}-report-{as_of}.pdf"


def report_dict(report: Report) -> dict:
    """The report's state for the API (no PDF bytes)."""
    return {
        "report_id": report.id,
        "portfolio_id": report.portfolio_id,
        "portfolio_name": report.portfolio.name,
        "template_id": report.template_id,
        "session_id": report.session_id,
        "status": report.status,
        "progress": 100 if report.status == "succeeded" else report.progress,
        "step": report.step,
        "error": report.error,
        "page_count": report.page_count,
        "as_of": report.as_of_date.isoformat() if report.as_of_date else None,
        "created_at": isoformat_z(report.created_at),
        "finished_at": isoformat_z(report.finished_at),
    }


# ------------------------------------------------------------------------------------------------
# Templates
# ------------------------------------------------------------------------------------------------
def owned_template(template_id: int, user_id: int) -> ReportTemplate:
    """The template if it is ``user_id``'s; NotOwned (404) otherwise."""
    template = db.session.get(ReportTemplate, template_id) if 0 < template_id <= MAX_ID else None
    if template is None or template.user_id != user_id:
        raise NotOwned("No such report template.")
    return template


def user_templates(user_id: int) -> list[ReportTemplate]:
    """The advisor's templates by name."""
    return list(
        db.session.scalars(
            select(ReportTemplate)
            .where(ReportTemplate.user_id == user_id)
            .order_by(ReportTemplate.name, ReportTemplate.id)
        )
    )


def _text(data: Mapping, name: str, limit: int, errors: dict[str, str]) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = "Must be text."
        return ""
    value = value.strip()
    if "\x00" in value:
        errors[name] = "Must not contain NUL characters."
    elif len(value) > limit:
        errors[name] = f"At most {limit} characters."
    return value


def _template_name(data: Mapping, user_id: int, existing, errors: dict[str, str]) -> str:
    name = _text(data, "name", MAX_NAME, errors)
    if not name and "name" not in errors:
        errors["name"] = "Give the template a name."
    elif name and "name" not in errors:
        clash = db.session.scalar(
            select(ReportTemplate.id).where(
                ReportTemplate.user_id == user_id, ReportTemplate.name == name
            )
        )
        if clash is not None and (existing is None or clash != existing.id):
            errors["name"] = f"You already have a template called '{name}'."
    return name


def _sections(value: Any, errors: dict[str, str]) -> list[str]:
    """Chosen section keys in the report's order; unknown keys are refused by name."""
    if value is None:
        return list(OPTIONAL_SECTIONS)
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors["sections"] = "Send a list of section keys."
        return []
    chosen = {v.strip() for v in value}
    unknown = sorted(chosen - set(OPTIONAL_SECTIONS))
    if unknown:
        known = ", ".join(OPTIONAL_SECTIONS)
        errors["sections"] = f"Unknown section(s): {', '.join(unknown)}. Choose from: {known}."
    elif not chosen:
        errors["sections"] = "Choose at least one section."
    return [k for k in OPTIONAL_SECTIONS if k in chosen]


def check_logo(png: bytes) -> str | None:
    """Why ``png`` cannot be a logo (not a PNG, too large, unreadable), or None."""
    if len(png) > MAX_LOGO_BYTES:
        return f"The logo is {len(png) / 1024:,.0f} KB; at most {MAX_LOGO_BYTES // 1024} KB."
    if not png.startswith(PNG_SIGNATURE):
        return "The logo must be a PNG image."
    try:
        with Image.open(io.BytesIO(png)) as image:
            image.verify()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return "The logo could not be read as a PNG image."
    if max(width, height) > MAX_LOGO_PIXELS:
        return f"The logo is {width} × {height} pixels; at most {MAX_LOGO_PIXELS} on a side."
    return None


def _logo(data: Mapping, errors: dict[str, str]) -> bytes | None:
    """The logo's bytes from ``logo`` (bytes from a form) or ``logo_base64`` (the API)."""
    png = data.get("logo")
    if png is None and data.get("logo_base64") not in (None, ""):
        try:
            png = base64.b64decode(str(data["logo_base64"]), validate=True)
        except (binascii.Error, ValueError):
            errors["logo"] = "logo_base64 is not base64."
            return None
    if png is None or png == b"":
        return None
    if not isinstance(png, bytes):
        errors["logo"] = "Send the logo as a PNG file."
        return None
    problem = check_logo(png)
    if problem:
        errors["logo"] = problem
    return png


@dataclass(frozen=True)
class TemplateInput:
    """A validated template: name, firm, sections and (when sent) a new logo."""

    name: str
    firm_name: str
    sections: list[str]
    logo: bytes | None
    remove_logo: bool


def validate_template(data: Mapping, user_id: int, existing=None) -> TemplateInput:
    """Clean template fields, or ValidationError with every field's message."""
    if not isinstance(data, Mapping):
        raise ValidationError({"name": "Send the template's fields."})
    errors: dict[str, str] = {}
    clean = TemplateInput(
        name=_template_name(data, user_id, existing, errors),
        firm_name=_text(data, "firm_name", MAX_FIRM, errors),
        sections=_sections(data.get("sections"), errors),
        logo=_logo(data, errors),
        remove_logo=data.get("remove_logo") in (True, "y", "on", "true", "1"),
    )
    if errors:
        raise ValidationError(errors)
    return clean


def create_template(user_id: int, data: Mapping) -> ReportTemplate:
    """A new template of the advisor's (sections default to all of them)."""
    clean = validate_template(data, user_id)

    def unit() -> ReportTemplate:
        template = ReportTemplate(
            user_id=user_id,
            name=clean.name,
            firm_name=clean.firm_name,
            sections=clean.sections,
            logo=clean.logo,
        )
        db.session.add(template)
        return template

    return run_write(unit)


def update_template(template: ReportTemplate, data: Mapping) -> ReportTemplate:
    """Change the template; its logo stays unless a new one is sent or ``remove_logo`` is set."""
    clean = validate_template(data, template.user_id, existing=template)

    def unit() -> ReportTemplate:
        template.name, template.firm_name = clean.name, clean.firm_name
        template.sections = clean.sections
        if clean.logo is not None:
            template.logo = clean.logo
        elif clean.remove_logo:
            template.logo = None
        return template

    return run_write(unit)


def delete_template(template: ReportTemplate) -> None:
    """Delete the template; reports and schedules made with it keep going without it."""

    def unit() -> None:
        for model in (Report, ReportSchedule):
            db.session.execute(
                update(model).where(model.template_id == template.id).values(template_id=None)
            )
        db.session.delete(template)

    run_write(unit)


def template_dict(template: ReportTemplate) -> dict:
    """The template for the API (``has_logo`` rather than the image)."""
    return {
        "template_id": template.id,
        "name": template.name,
        "firm_name": template.firm_name,
        "sections": list(template.sections or []),
        "has_logo": template.logo is not None,
        "created_at": isoformat_z(template.created_at),
    }


# ------------------------------------------------------------------------------------------------
# Schedules
# ------------------------------------------------------------------------------------------------
def today() -> dt.date:
    """The calendar date in UTC: schedules run on calendar days, not on price dates."""
    return utcnow().date()


def next_run(day_of_month: int, after: dt.date, *, inclusive: bool = False) -> dt.date:
    """The next date on ``day_of_month`` after ``after`` (on or after it when ``inclusive``)."""
    candidate = after.replace(day=day_of_month)
    if candidate > after or (inclusive and candidate == after):
        return candidate
    year, month = (after.year + 1, 1) if after.month == 12 else (after.year, after.month + 1)
    return dt.date(year, month, day_of_month)


def owned_schedule(schedule_id: int, user_id: int) -> ReportSchedule:
    """The schedule if it is ``user_id``'s; NotOwned (404) otherwise."""
    schedule = db.session.get(ReportSchedule, schedule_id) if 0 < schedule_id <= MAX_ID else None
    if schedule is None or schedule.user_id != user_id:
        raise NotOwned("No such report schedule.")
    return schedule


def user_schedules(user_id: int) -> list[ReportSchedule]:
    """The advisor's schedules, next due first."""
    return list(
        db.session.scalars(
            select(ReportSchedule)
            .where(ReportSchedule.user_id == user_id)
            .order_by(ReportSchedule.next_run_date, ReportSchedule.id)
        )
    )


def _day_of_month(value: Any, errors: dict[str, str]) -> int:
    try:
        day = int(str(value).strip()) if not isinstance(value, bool) else 0
    except (TypeError, ValueError):
        day = 0
    if not 1 <= day <= MAX_DAY_OF_MONTH:
        errors["day_of_month"] = f"Choose a day from 1 to {MAX_DAY_OF_MONTH} (every month has it)."
    return day


def create_schedule(
    user_id: int, portfolio: Portfolio, data: Mapping, *, on: dt.date | None = None
) -> ReportSchedule:
    """A monthly report of ``portfolio`` on ``day_of_month`` (1-28), with an optional template;
    the first is due on the next such day (today if it is that day)."""
    owned_portfolio(portfolio.id, user_id)
    if portfolio.kind == "proposal":
        raise ValidationError({"portfolio_id": "Schedule reports of accounts and households."})
    errors: dict[str, str] = {}
    frequency = str(data.get("frequency") or "monthly")
    if frequency not in FREQUENCIES:
        errors["frequency"] = f"Choose one of: {', '.join(FREQUENCIES)}."
    day = _day_of_month(data.get("day_of_month"), errors)
    if errors:
        raise ValidationError(errors)
    template_id = _id(data.get("template_id"), "template_id")
    template = owned_template(template_id, user_id) if template_id is not None else None

    def unit() -> ReportSchedule:
        schedule = ReportSchedule(
            user_id=user_id,
            portfolio_id=portfolio.id,
            template_id=template.id if template else None,
            frequency=frequency,
            day_of_month=day,
            next_run_date=next_run(day, on or today(), inclusive=True),
            enabled=True,
        )
        db.session.add(schedule)
        return schedule

    return run_write(unit)


def delete_schedule(schedule: ReportSchedule) -> None:
    """Stop the schedule (the reports it made stay)."""

    def unit() -> None:
        db.session.delete(schedule)

    run_write(unit)


def schedule_dict(schedule: ReportSchedule) -> dict:
    """The schedule for the API."""
    return {
        "schedule_id": schedule.id,
        "portfolio_id": schedule.portfolio_id,
        "portfolio_name": schedule.portfolio.name,
        "template_id": schedule.template_id,
        "frequency": schedule.frequency,
        "day_of_month": schedule.day_of_month,
        "next_run_date": schedule.next_run_date.isoformat(),
        "enabled": schedule.enabled,
        "last_report_id": schedule.last_report_id,
        "created_at": isoformat_z(schedule.created_at),
    }


def _claim(schedule: ReportSchedule, on: dt.date) -> dt.date | None:
    """Move the schedule's next run past ``on`` unless another check did first; the date it was
    due on when this call claimed it, else None."""
    due, following = schedule.next_run_date, next_run(schedule.day_of_month, on)

    def unit() -> int:
        return db.session.execute(
            update(ReportSchedule)
            .where(ReportSchedule.id == schedule.id, ReportSchedule.next_run_date == due)
            .values(next_run_date=following)
        ).rowcount

    return due if run_write(unit) else None


def run_due_schedules(on: dt.date | None = None) -> list[int]:
    """Request the report of every enabled schedule due on or before ``on`` (default: today) and
    move it to its next month; the reports' ids.

    Idempotent per day: a schedule is claimed by moving its date past ``on`` in one conditional
    update, so a second check (or a second scheduler) finds nothing due. A report that cannot be
    queued (Redis down) gives the schedule its date back, so the next check retries.
    """
    on = on or today()
    due = db.session.scalars(
        select(ReportSchedule.id).where(
            ReportSchedule.enabled.is_(True), ReportSchedule.next_run_date <= on
        )
    ).all()
    requested = []
    for schedule_id in due:
        schedule = db.session.get(ReportSchedule, schedule_id)
        was_due = _claim(schedule, on) if schedule is not None else None
        if was_due is None:
            continue
        try:
            report = request_report(schedule.portfolio, schedule.user_id, schedule.template_id)
        except QueueUnavailable:
            run_write(lambda: _restore(schedule_id, was_due))
            raise
        run_write(lambda: _link_report(schedule_id, report.id))
        requested.append(report.id)
    return requested


def _restore(schedule_id: int, due: dt.date) -> None:
    db.session.execute(
        update(ReportSchedule).where(ReportSchedule.id == schedule_id).values(next_run_date=due)
    )


def _link_report(schedule_id: int, report_id: int) -> None:
    db.session.execute(
        update(ReportSchedule)
        .where(ReportSchedule.id == schedule_id)
        .values(last_report_id=report_id)
    )

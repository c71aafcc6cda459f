"""Client reports: the PDFs the worker builds, the advisors' report templates, monthly schedules."""

from __future__ import annotations

from sqlalchemy.orm import deferred

from webapp.extensions import db
from webapp.models._ids import NEVER_REUSE_IDS
from webapp.models._owned import NamedPerUser, OwnedByUser
from webapp.models._time import utcnow

REPORT_STATUSES = ("queued", "running", "succeeded", "failed")
ACTIVE_REPORT_STATUSES = ("queued", "running")
FREQUENCIES = ("monthly",)
# Day 29-31 does not exist in every month: a schedule runs on a day every month has.
MAX_DAY_OF_MONTH = 28


def _sql_list(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


class ReportTemplate(NamedPerUser, db.Model):
    """An advisor's report layout: which sections, the firm's name and logo on the cover."""

    __tablename__ = "report_templates"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False)
    firm_name = db.Column(db.String(200), nullable=False, default="")
    # Section keys (services.reports.SECTIONS) in the order the report prints them.
    sections = db.Column(db.JSON, nullable=False, default=list)
    # A PNG of at most 500 KB (services.reports checks it); not loaded with the row.
    logo = deferred(db.Column(db.LargeBinary))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<ReportTemplate {self.id} {self.name!r}>"


class Report(OwnedByUser, db.Model):
    """One PDF report of a portfolio (with a modelling session's proposal when made from one).

    ``status`` queued -> running -> succeeded (``pdf`` stored) or failed (``error`` says why);
    ``progress`` 0-100 and ``step`` name the section being built while it runs.
    """

    __tablename__ = "reports"
    __table_args__ = (
        db.CheckConstraint(f"status IN ({_sql_list(REPORT_STATUSES)})", name="status"),
        db.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    portfolio_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False, index=True
    )
    session_id = db.Column(
        db.Integer, db.ForeignKey("modelling_sessions.id", ondelete="SET NULL"), index=True
    )
    template_id = db.Column(
        db.Integer, db.ForeignKey("report_templates.id", ondelete="SET NULL"), index=True
    )
    status = db.Column(db.String(16), nullable=False, default="queued")
    job_id = db.Column(db.String(64), index=True)
    progress = db.Column(db.Integer, nullable=False, default=0)
    step = db.Column(db.String(200))
    error = db.Column(db.Text)
    # The PDF itself (a few hundred KB; tens of pages for a 2,000-position book), loaded only
    # when downloaded.
    pdf = deferred(db.Column(db.LargeBinary))
    page_count = db.Column(db.Integer)
    as_of_date = db.Column(db.Date)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime)

    portfolio = db.relationship("Portfolio")
    session = db.relationship("ModellingSession")
    template = db.relationship("ReportTemplate")

    @property
    def done(self) -> bool:
        """True once the report succeeded or failed (nothing more will change)."""
        return self.status not in ACTIVE_REPORT_STATUSES


class ReportSchedule(OwnedByUser, db.Model):
    """A report of one portfolio requested every month on ``day_of_month`` (the daily check in
    jobs/schedule.py requests it once ``next_run_date`` has come)."""

    __tablename__ = "report_schedules"
    __table_args__ = (
        db.CheckConstraint(f"frequency IN ({_sql_list(FREQUENCIES)})", name="frequency"),
        db.CheckConstraint(
            f"day_of_month BETWEEN 1 AND {MAX_DAY_OF_MONTH}", name="day_of_month_range"
        ),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    portfolio_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False, index=True
    )
    template_id = db.Column(
        db.Integer, db.ForeignKey("report_templates.id", ondelete="SET NULL"), index=True
    )
    frequency = db.Column(db.String(16), nullable=False, default="monthly")
    day_of_month = db.Column(db.Integer, nullable=False)
    next_run_date = db.Column(db.Date, nullable=False, index=True)
    enabled = db.Column(db.Boolean, nullable=False, default=True)
    last_report_id = db.Column(db.Integer, db.ForeignKey("reports.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    portfolio = db.relationship("Portfolio")
    template = db.relationship("ReportTemplate")
    last_report = db.relationship("Report")

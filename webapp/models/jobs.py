"""Batch runs: one row per portfolio batch with per-step status, timings and errors."""

from __future__ import annotations

from webapp.extensions import db
from webapp.models._ids import NEVER_REUSE_IDS
from webapp.models._time import utcnow

RUN_STATUSES = ("queued", "running", "succeeded", "partial", "failed", "cancelled")


class BatchRun(db.Model):
    """One batch run of a portfolio: trigger, status, as-of date, timings and per-step results."""

    __tablename__ = "batch_runs"
    __table_args__ = (NEVER_REUSE_IDS,)

    id = db.Column(db.Integer, primary_key=True)
    portfolio_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="CASCADE"), index=True
    )
    job_id = db.Column(db.String(64), index=True)
    trigger = db.Column(db.String(16), nullable=False, default="manual")
    status = db.Column(db.String(16), nullable=False, default="queued")
    as_of_date = db.Column(db.Date)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    started_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)
    # [{"name", "status", "seconds", "error"}] in execution order
    steps = db.Column(db.JSON, nullable=False, default=list)
    error = db.Column(db.Text)

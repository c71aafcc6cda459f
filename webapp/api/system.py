"""/system: batch triggers, job status, batch history."""

from __future__ import annotations

from flask import g, jsonify
from sqlalchemy import select

from webapp.api import bp
from webapp.api.common import ApiError, int_param, owned_portfolio_or_404, require_auth
from webapp.extensions import db
from webapp.models import BatchRun, Portfolio
from webapp.models._time import isoformat_z
from webapp.services import portfolios as svc
from webapp.services.jsonable import jsonable
from webapp.services.queueing import enqueue_portfolio_batch, job_status
from webapp.services.runs import recent_runs

HISTORY_LIMIT = (50, 1, 500)  # runs in GET /system/batch/history: (default, minimum, maximum)


# BatchRun columns the API returns as stored, and those it writes as UTC timestamps.
RUN_COLUMNS = ("portfolio_id", "job_id", "trigger", "status", "steps", "error")
RUN_TIMESTAMPS = ("created_at", "started_at", "finished_at")


def run_dict(run: BatchRun) -> dict:
    """The API shape of one batch run (``BatchRun`` in the OpenAPI document)."""
    return {
        "batch_run_id": run.id,
        "as_of": jsonable(run.as_of_date),
        **{name: getattr(run, name) for name in RUN_COLUMNS},
        **{name: isoformat_z(getattr(run, name)) for name in RUN_TIMESTAMPS},
    }


@bp.post("/system/batch/portfolio/<int:portfolio_id>")
@require_auth
def batch_portfolio(portfolio_id: int):
    """Queue a batch for one of the caller's portfolios, or return the one already active."""
    portfolio = owned_portfolio_or_404(portfolio_id)
    run = enqueue_portfolio_batch(portfolio.id, trigger="api")
    return jsonify(run_dict(run)), 202


@bp.post("/system/batch/run-all")
@require_auth
def batch_run_all():
    """Queue a batch for every portfolio of the caller (one job each)."""
    runs = [enqueue_portfolio_batch(p.id, trigger="api") for p in svc.user_portfolios(g.user.id)]
    return jsonify({"runs": [run_dict(r) for r in runs], "count": len(runs)}), 202


def _job_owned(job_id: str) -> None:
    """Only the owner of the run's portfolio may read a job; found by the stored job id, so an
    id Redis still remembers from another run can never be adopted."""
    run = db.session.scalar(select(BatchRun).where(BatchRun.job_id == job_id[:64]))
    portfolio = db.session.get(Portfolio, run.portfolio_id) if run and run.portfolio_id else None
    if portfolio is None or portfolio.user_id != g.user.id:
        raise ApiError(404, "Job not found.", {"job_id": job_id})


@bp.get("/system/jobs/<job_id>")
@require_auth
def job(job_id: str):
    """Status, progress and result of the RQ job of one of the caller's batch runs."""
    _job_owned(job_id)
    status = job_status(job_id)
    if status is None:
        raise ApiError(
            404, "Job not found (finished jobs expire after 7 days).", {"job_id": job_id}
        )
    for key in ("enqueued_at", "started_at", "ended_at"):
        value = status[key]
        status[key] = isoformat_z(value.replace(tzinfo=None)) if value else None
    return jsonify(status)


@bp.get("/system/batch/history")
@require_auth
def batch_history():
    """The caller's latest batch runs, newest first, optionally for one portfolio."""
    limit = int_param("limit", *HISTORY_LIMIT)
    portfolio_id = int_param("portfolio_id", None, 1, 2**31 - 1)
    if portfolio_id is not None:
        owned_portfolio_or_404(portfolio_id)
        runs = recent_runs(portfolio_id, limit)
    else:
        runs = []
        for p in svc.user_portfolios(g.user.id):
            runs.extend(recent_runs(p.id, limit))
        runs = sorted(runs, key=lambda r: r.id, reverse=True)[:limit]
    return jsonify({"runs": [run_dict(r) for r in runs], "count": len(runs)})

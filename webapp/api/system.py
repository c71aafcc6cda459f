"""/system: batch triggers, job status, batch history."""

from __future__ import annotations

from flask import g, jsonify
from sqlalchemy import select

from webapp.api import bp
from webapp.api.apidoc import documented
from webapp.api.common import ApiError, owned_portfolio_or_404, query_params, require_auth
from webapp.extensions import db
from webapp.models import BatchRun, Portfolio
from webapp.models._time import isoformat_z
from webapp.schemas.api.common import BatchRun as BatchRunShape
from webapp.schemas.api.system import (
    BatchMarketDataResponse,
    BatchRunList,
    BatchStatusResponse,
    BatchStepResponse,
    JobResponse,
    JobRun,
)
from webapp.schemas.params import BatchHistoryParams, BatchTargetParams
from webapp.services import portfolios as svc
from webapp.services.jsonable import jsonable
from webapp.services.queueing import (
    cancel_run,
    enqueue_portfolio_batch,
    enqueue_refresh_prices,
    job_status,
    queue_status,
)
from webapp.services.runs import ACTIVE_RUN_STATUSES, recent_runs

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
@documented(
    "system_batch_portfolio",
    "Queue the portfolio's calculation batch",
    BatchRunShape,
    ok_text="Queued (or the already queued run)",
    status=202,
)
def batch_portfolio(portfolio_id: int):
    """Queue a batch for one of the caller's portfolios, or return the one already active."""
    portfolio = owned_portfolio_or_404(portfolio_id)
    run = enqueue_portfolio_batch(portfolio.id, trigger="api")
    return jsonify(run_dict(run)), 202


@bp.post("/system/batch/run-all")
@require_auth
@documented(
    "system_batch_run_all",
    "Queue a batch for every portfolio of the caller",
    BatchRunList,
    ok_text="Queued",
    status=202,
)
def batch_run_all():
    """Queue a batch for every portfolio of the caller (one job each)."""
    runs = [enqueue_portfolio_batch(p.id, trigger="api") for p in svc.user_portfolios(g.user.id)]
    return jsonify({"runs": [run_dict(r) for r in runs], "count": len(runs)}), 202


#: The reference contract's per-calculation triggers, and the batch step each one runs (with
#: the steps it needs: ``batch.steps_for``).
STEP_TRIGGERS = {"greeks": "valuation", "factors": "factors", "stress-tests": "stress"}


def _job_owned(job_id: str) -> BatchRun:
    """Only the owner of the run's portfolio may read a job; found by the stored job id, so an
    id Redis still remembers from another run can never be adopted."""
    run = db.session.scalar(select(BatchRun).where(BatchRun.job_id == job_id[:64]))
    portfolio = db.session.get(Portfolio, run.portfolio_id) if run and run.portfolio_id else None
    if portfolio is None or portfolio.user_id != g.user.id:
        raise ApiError(404, "Job not found.", {"job_id": job_id})
    return run


def _portfolio_ids() -> list[int]:
    """``portfolio_id`` (one of the caller's, else 404) or every portfolio of the caller."""
    portfolio_id = query_params(BatchTargetParams).portfolio_id
    if portfolio_id is not None:
        return [owned_portfolio_or_404(portfolio_id).id]
    return [p.id for p in svc.user_portfolios(g.user.id)]


def _step_trigger(segment: str):
    """POST /system/batch/<segment>: queue that calculation for one or every portfolio."""
    step = STEP_TRIGGERS[segment]

    def view():
        runs = [
            enqueue_portfolio_batch(pid, trigger="api", only=(step,)) for pid in _portfolio_ids()
        ]
        return jsonify({"runs": [run_dict(r) for r in runs], "count": len(runs), "step": step}), 202

    view.__name__ = "batch_" + segment.replace("-", "_")
    view.__doc__ = (
        f"Queue the {segment} calculation (batch step {step!r} and what it needs) for "
        "portfolio_id, or for every portfolio of the caller."
    )
    view = documented(
        view.__name__.replace("batch_", "system_batch_"),
        f"Queue the {segment} calculation (batch step {step!r} and what it needs)",
        BatchStepResponse,
        ok_text="Queued",
        status=202,
        query=BatchTargetParams,
        errors=(404,),
    )(view)
    bp.post(f"/system/batch/{segment}")(require_auth(view))


for _segment in STEP_TRIGGERS:
    _step_trigger(_segment)


@bp.post("/system/batch/market-data")
@require_auth
@documented(
    "system_batch_market_data",
    "Queue the price sync from the configured provider",
    BatchMarketDataResponse,
    ok_text="Queued",
    status=202,
)
def batch_market_data():
    """Queue the insert-only price sync from the configured provider (shared by every user)."""
    job = enqueue_refresh_prices()
    return jsonify({"job_id": job.id, "status": "queued"}), 202


@bp.get("/system/batch/status")
@require_auth
@documented(
    "system_batch_status",
    "The caller's queued and running runs, and the queue",
    BatchStatusResponse,
    ok_text="Status",
    query=BatchTargetParams,
    errors=(404,),
)
def batch_status():
    """The caller's queued and running batch runs, and whether a worker is there to run them."""
    runs = [r for pid in _portfolio_ids() for r in recent_runs(pid, 5)]
    active = sorted(
        (r for r in runs if r.status in ACTIVE_RUN_STATUSES), key=lambda r: r.id, reverse=True
    )
    return jsonify(
        {
            "active": [run_dict(r) for r in active],
            "active_count": len(active),
            "queue": queue_status(),
        }
    )


@bp.get("/system/jobs/<job_id>/result")
@require_auth
@documented(
    "system_job_result",
    "The finished job's run: status, steps and error (409 while it runs)",
    JobRun,
    ok_text="The run",
    errors=(409,),
)
def job_result(job_id: str):
    """The result of a finished job: the run's status, steps and error; 409 while it runs."""
    run = _job_owned(job_id)
    if run.status in ACTIVE_RUN_STATUSES:
        raise ApiError(
            409,
            f"The job is still {run.status}: poll /system/jobs/{job_id} until it finishes.",
            {"job_id": job_id, "status": run.status},
            "job_not_finished",
        )
    return jsonify({"job_id": job_id, **run_dict(run)})


@bp.post("/system/jobs/<job_id>/cancel")
@require_auth
@documented(
    "system_job_cancel",
    "Cancel a queued or running job (409 once finished)",
    JobRun,
    ok_text="Cancelled",
    status=202,
    errors=(409,),
)
def job_cancel(job_id: str):
    """Cancel a queued or running job: a queued one never starts, a running one stops at its
    next step (results already stored stay); 409 when it has finished."""
    run = _job_owned(job_id)
    if not cancel_run(run.id, "cancelled on request (API)"):
        raise ApiError(
            409,
            f"The job has already finished ({run.status}).",
            {"job_id": job_id, "status": run.status},
            "job_finished",
        )
    db.session.refresh(run)
    return jsonify({"job_id": job_id, **run_dict(run)}), 202


@bp.get("/system/jobs/<job_id>")
@require_auth
@documented(
    "system_job",
    "Job status, progress, current step and result",
    JobResponse,
    ok_text="Job",
)
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
@documented(
    "system_batch_history",
    "Recent batch runs",
    BatchRunList,
    ok_text="Runs",
    query=BatchHistoryParams,
    errors=(404,),
)
def batch_history():
    """The caller's latest batch runs, newest first, optionally for one portfolio."""
    params = query_params(BatchHistoryParams)
    limit, portfolio_id = params.limit, params.portfolio_id
    if portfolio_id is not None:
        owned_portfolio_or_404(portfolio_id)
        runs = recent_runs(portfolio_id, limit)
    else:
        runs = []
        for p in svc.user_portfolios(g.user.id):
            runs.extend(recent_runs(p.id, limit))
        runs = sorted(runs, key=lambda r: r.id, reverse=True)[:limit]
    return jsonify({"runs": [run_dict(r) for r in runs], "count": len(runs)})

"""Redis connection and the one place views, API, CLI and jobs enqueue work."""
from __future__ import annotations

from flask import current_app, g
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from webapp.extensions import db
from webapp.models import BatchRun
from webapp.models._time import utcnow

LIVE_JOB_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def get_redis() -> Redis:
    """A Redis client for this app context (short timeouts: pages must not hang)."""
    if "redis" not in g:
        g.redis = Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
        )
    return g.redis


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())


def fetch_job(job_id: str) -> Job | None:
    try:
        return Job.fetch(job_id, connection=get_redis())
    except NoSuchJobError:
        return None


def _still_live(run: BatchRun) -> bool:
    job = fetch_job(run.job_id) if run.job_id else None
    return job is not None and job.get_status(refresh=True) in LIVE_JOB_STATUSES


def enqueue_portfolio_batch(portfolio_id: int, trigger: str = "manual", depends_on=None) -> BatchRun:
    """Queue the portfolio's batch unless one is already queued or running (then return that one).

    Idempotent: pressing "Recalculate" twice does not run the batch twice.
    """
    from jobs.batch import BATCH_TIMEOUT, QUEUE, RETRY
    from webapp.services.batch import active_run, create_run

    active = active_run(portfolio_id)
    if active is not None:
        if _still_live(active):
            return active
        # Its job vanished (worker killed, Redis flushed): close the record honestly.
        active.status, active.finished_at = "failed", utcnow()
        active.error = active.error or "job lost before it finished (worker stopped?)"
        db.session.commit()
    run = create_run(portfolio_id, trigger)
    job = get_queue(QUEUE).enqueue(
        "jobs.batch.run_portfolio_batch",
        portfolio_id,
        run.id,
        trigger,
        job_id=f"batch-{run.id}",
        job_timeout=BATCH_TIMEOUT,
        retry=RETRY,
        result_ttl=7 * 24 * 3600,
        failure_ttl=7 * 24 * 3600,
        description=f"batch for portfolio {portfolio_id}",
        depends_on=depends_on,
    )
    run.job_id = job.id
    db.session.commit()
    return run


def enqueue_run_all(trigger: str = "manual") -> Job:
    """Queue the fan-out job that queues one batch per portfolio."""
    return get_queue("default").enqueue(
        "jobs.batch.run_all", trigger, job_timeout=300, retry=None,
        description="batch for every portfolio",
    )


def enqueue_refresh_prices() -> Job:
    return get_queue("default").enqueue("jobs.batch.refresh_prices", job_timeout=3600)


def enqueue_after_import(portfolio_id: int) -> BatchRun:
    """New holdings: refresh prices first, then run the portfolio's batch once they're in."""
    refresh = enqueue_refresh_prices()
    return enqueue_portfolio_batch(portfolio_id, trigger="import", depends_on=refresh)


def job_status(job_id: str) -> dict | None:
    """Status, progress, current step and result of a job, or None when Redis has no such job."""
    job = fetch_job(job_id)
    if job is None:
        return None
    status = job.get_status(refresh=True)
    meta = job.get_meta(refresh=True) if hasattr(job, "get_meta") else job.meta
    result = job.return_value() if status == JobStatus.FINISHED else None
    error = None
    if status == JobStatus.FAILED:
        latest = job.latest_result()
        error = (latest.exc_string or "").strip().splitlines()[-1:] if latest else None
        error = error[0] if error else "job failed"
    return {
        "job_id": job.id,
        "status": str(status.value if hasattr(status, "value") else status),
        "progress": 100 if status == JobStatus.FINISHED else meta.get("progress", 0),
        "current_step": meta.get("current_step"),
        "step_index": meta.get("step_index"),
        "step_count": meta.get("step_count"),
        "result": result,
        "error": error,
        "enqueued_at": job.enqueued_at,
        "started_at": job.started_at,
        "ended_at": job.ended_at,
    }

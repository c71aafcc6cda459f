"""Redis connection and the one place views, API, CLI and jobs enqueue work.

Redis being down is expected, not exceptional: every call here raises ``QueueUnavailable`` (a
clear message, mapped to a flash, an HTMX fragment or a 503 with Retry-After) instead of letting a
``redis`` exception become a 500, and no batch run is left "queued" for a job that never existed.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app, g
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import update

from webapp.extensions import db
from webapp.models import BatchRun, Portfolio
from webapp.models._time import utcnow
from webapp.services.households import household_of
from webapp.services.runs import ACTIVE_RUN_STATUSES, active_run, create_run
from webapp.services.transactions import run_write

log = logging.getLogger(__name__)

QUEUE = "default"
BATCH_TIMEOUT = 900  # seconds; a 2,000-position book takes ~10 s, so this only catches hangs
# No automatic retry: a batch that failed is recorded as failed and the advisor (or tomorrow's
# nightly run) starts a fresh one; re-running a job that killed its worker could kill the next.
RETRY = None
LIVE_JOB_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
RETRY_AFTER_SECONDS = 30
# A run created but not yet given its job id is mid-enqueue for a moment at most.
ENQUEUE_GRACE = timedelta(minutes=2)


class QueueUnavailable(Exception):
    """The job queue (Redis) cannot be reached; ``message`` says so in plain words."""

    message = (
        "The calculation queue is unreachable right now, so this can't be started. "
        "Nothing was lost; try again in a minute."
    )
    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        if message:
            self.message = message


@contextmanager
def _redis_errors():
    try:
        yield
    except RedisError as exc:
        log.warning("Redis unreachable: %s", exc)
        raise QueueUnavailable() from exc


def get_redis() -> Redis:
    """A Redis client for this app context (short timeouts: pages must not hang)."""
    if "redis" not in g:
        g.redis = Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
        )
    return g.redis


def get_queue(name: str = "default") -> Queue:
    """The RQ queue ``name`` on this app context's Redis."""
    return Queue(name, connection=get_redis())


def fetch_job(job_id: str) -> Job | None:
    """The RQ job with this id, or None when Redis no longer has it."""
    with _redis_errors():
        try:
            return Job.fetch(job_id, connection=get_redis())
        except NoSuchJobError:
            return None


def _job_problem(run: BatchRun) -> str | None:
    """Why the run's job can no longer finish it, or None while it still can."""
    if not run.job_id:
        return None if utcnow() - run.created_at < ENQUEUE_GRACE else "never reached the queue"
    with _redis_errors():
        job = fetch_job(run.job_id)
        if job is None:
            return "job lost before it finished (worker stopped or queue flushed)"
        status = job.get_status(refresh=True)
        if status == JobStatus.DEFERRED and not _dependencies_can_finish(job):
            return "the price refresh it waited for failed; press Recalculate"
        if status == JobStatus.QUEUED and get_queue(job.origin).get_job_position(job.id) is None:
            # Its record survives but the queue no longer holds it (emptied or flushed): no
            # worker will ever pick it up.
            return "job lost from the queue before it started; press Recalculate"
        if status in LIVE_JOB_STATUSES:
            return None
        if status == JobStatus.FINISHED:
            return None  # the job ended; its own commit decides the run's status
        latest = job.latest_result()
        detail = (latest.exc_string or "").strip().splitlines()[-1:] if latest else []
        if detail and "AbandonedJobError" in detail[0]:
            return "the worker running it stopped (no heartbeat); press Recalculate to run it again"
        return f"job {status.value}: {detail[0]}" if detail else f"job {status.value}"


def _dependencies_can_finish(job: Job) -> bool:
    """False when a job it waits for failed or vanished: RQ would then never start it."""
    dependencies = job.fetch_dependencies()
    if len(dependencies) < len(job.dependency_ids):
        return False
    dead = (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED)
    return not any(d.get_status(refresh=True) in dead for d in dependencies)


def reconcile_runs(runs: Iterable[BatchRun]) -> None:
    """Close queued/running runs whose job is gone, failed or abandoned (their worker died).

    Pages call this before showing runs, so a dead run reads "failed" within a heartbeat's TTL
    instead of "started 33%" until the job timeout.
    """
    active = [run for run in runs if run.status in ACTIVE_RUN_STATUSES]
    if not active:
        return
    with _redis_errors():
        # Moves jobs whose worker stopped heartbeating to the failed registry (RQ's own
        # abandoned-job handling, which otherwise only runs inside a live worker). Once per
        # call, not per run.
        StartedJobRegistry(queue=get_queue()).cleanup()
    changed = False
    for run in active:
        problem = _job_problem(run)
        if problem is None:
            continue
        closed = db.session.execute(
            update(BatchRun)
            .where(BatchRun.id == run.id, BatchRun.status.in_(ACTIVE_RUN_STATUSES))
            .values(status="failed", finished_at=utcnow(), error=run.error or problem)
        ).rowcount
        changed = changed or bool(closed)
    if changed:
        db.session.commit()
        for run in active:
            db.session.refresh(run)


def reconcile_quietly(runs: Iterable[BatchRun]) -> None:
    """``reconcile_runs`` for pages: with Redis down, runs are shown as the database has them."""
    try:
        reconcile_runs(runs)
    except QueueUnavailable:
        pass


def enqueue_portfolio_batch(
    portfolio_id: int,
    trigger: str = "manual",
    depends_on=None,
    only: tuple[str, ...] | None = None,
) -> BatchRun:
    """Queue the portfolio's batch unless one is already queued or running (then return that one).

    ``only`` runs just those steps and what they need (``batch.steps_for``).

    Idempotent: pressing "Recalculate" twice does not run the batch twice. Raises
    ``QueueUnavailable`` when Redis is down, leaving no run behind in "queued".
    """
    with _redis_errors():
        get_redis().ping()
    active = active_run(portfolio_id)
    if active is not None:
        reconcile_runs([active])
        if active.status in ACTIVE_RUN_STATUSES:
            return active
    return enqueue_run(create_run(portfolio_id, trigger), depends_on=depends_on, only=only)


def enqueue_household_after(account_id: int) -> BatchRun | None:
    """Queue the batch of the household an account belongs to, after the account's own batch.

    The household's combined book copies its accounts (``households.sync``), so its numbers are
    stale until it runs again. None when the account is in no household, or Redis is down (the
    nightly run catches up; the household page shows its own as-of date meanwhile).
    """
    account = db.session.get(Portfolio, account_id)
    household = household_of(account) if account is not None else None
    if household is None:
        return None
    try:
        return enqueue_portfolio_batch(household.id, trigger="account")
    except QueueUnavailable:
        log.warning(
            "household %s not queued after account %s: queue down", household.id, account_id
        )
        return None


def enqueue_run(run: BatchRun, depends_on=None, only: tuple[str, ...] | None = None) -> BatchRun:
    """Queue the job of a new queued ``run`` (no check for another active run of its book).

    ``enqueue_portfolio_batch`` checks first, but two triggers can pass that check at the same
    moment (a nightly fan-out and a button press): both runs are then queued, and the per-book
    lock (``services.locks``, taken by the job) runs them one after the other.
    """
    try:
        with _redis_errors():
            job = get_queue(QUEUE).enqueue(
                "jobs.batch.run_portfolio_batch",
                run.portfolio_id,
                run.id,
                run.trigger,
                list(only) if only else None,
                # Random suffix: a job id is never shared by two runs, whatever Redis remembers.
                job_id=f"batch-{run.id}-{secrets.token_hex(4)}",
                job_timeout=BATCH_TIMEOUT,
                retry=RETRY,
                result_ttl=7 * 24 * 3600,
                failure_ttl=7 * 24 * 3600,
                description=f"batch for portfolio {run.portfolio_id}",
                depends_on=depends_on,
            )
    except QueueUnavailable:
        run.status, run.finished_at = "failed", utcnow()
        run.error = "could not be queued: the job queue was unreachable"
        db.session.commit()
        raise
    run.job_id = job.id
    db.session.commit()
    return run


def cancel_portfolio_runs(portfolio_id: int) -> int:
    """Mark the portfolio's queued/running runs cancelled and cancel their queued jobs.

    A job already running stops at its next step (it re-reads its run before each one), so a
    deleted portfolio never gets results written after the delete. Redis being down does not
    block the delete: the database flag alone stops the job.
    """
    condition = BatchRun.portfolio_id == portfolio_id
    return _cancel_runs(condition, "cancelled: the portfolio was deleted")


def cancel_run(run_id: int, reason: str = "cancelled on request") -> bool:
    """Cancel one queued/running run (as ``cancel_portfolio_runs``); False if it was not active."""
    return _cancel_runs(BatchRun.id == run_id, reason) > 0


def _cancel_runs(condition, reason: str) -> int:
    def unit() -> list[str]:
        runs = list(
            db.session.scalars(
                db.select(BatchRun).where(condition, BatchRun.status.in_(ACTIVE_RUN_STATUSES))
            )
        )
        for run in runs:
            run.status, run.finished_at = "cancelled", utcnow()
            run.error = run.error or reason
        return [run.job_id for run in runs]

    job_ids = run_write(unit)
    for job_id in job_ids:
        try:
            job = fetch_job(job_id) if job_id else None
            if job is not None and job.get_status(refresh=True) in (
                JobStatus.QUEUED,
                JobStatus.DEFERRED,
                JobStatus.SCHEDULED,
            ):
                job.cancel()
        except (QueueUnavailable, RedisError):
            log.warning("could not cancel job %s (Redis down)", job_id)
    return len(job_ids)


def enqueue_run_all(trigger: str = "manual") -> Job:
    """Queue the fan-out job that queues one batch per portfolio."""
    with _redis_errors():
        return get_queue(QUEUE).enqueue(
            "jobs.batch.run_all",
            trigger,
            job_timeout=300,
            retry=None,
            description="batch for every portfolio",
        )


def enqueue_refresh_prices() -> Job:
    """Queue the insert-only price sync from the configured provider."""
    with _redis_errors():
        return get_queue(QUEUE).enqueue("jobs.batch.refresh_prices", job_timeout=3600)


def enqueue_after_import(portfolio_id: int) -> BatchRun:
    """New holdings: refresh prices first, then run the portfolio's batch once they're in."""
    refresh = enqueue_refresh_prices()
    return enqueue_portfolio_batch(portfolio_id, trigger="import", depends_on=refresh)


def queue_status() -> dict:
    """Jobs waiting in the batch queue and the workers that have registered (or why unknown)."""
    try:
        with _redis_errors():
            queue = get_queue(QUEUE)
            workers = Worker.all(connection=get_redis())
            return {
                "available": True,
                "queued_jobs": queue.count,
                "workers": len(workers),
                "busy_workers": sum(w.get_state() == "busy" for w in workers),
            }
    except QueueUnavailable as exc:
        return {"available": False, "message": str(exc)}


def job_status(job_id: str) -> dict | None:
    """Status, progress, current step and result of a job, or None when Redis has no such job."""
    job = fetch_job(job_id)
    if job is None:
        return None
    with _redis_errors():
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

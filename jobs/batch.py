"""Batch jobs: one portfolio's batch, the fan-out over all portfolios, price refresh, nightly run.

Job bodies are thin: open the app context, call the service, report progress in ``job.meta``.
A portfolio's batch runs under its book lock (``services.locks``), so N workers on M machines
never interleave two batches of one book.
"""

from __future__ import annotations

import logging
import os
import socket
import time

from rq import get_current_job

from jobs.context import app_context
from webapp.marketdata.providers import get_provider
from webapp.marketdata.sync import sync_prices
from webapp.services import batch
from webapp.services.locks import BookLock
from webapp.services.queueing import (
    BATCH_TIMEOUT,
    enqueue_household_after,
    enqueue_portfolio_batch,
)
from webapp.services.runs import (
    all_portfolio_ids,
    mark_failed,
    note_waiting,
    run_status,
    still_wanted,
)

log = logging.getLogger(__name__)

# How long a batch waits for another batch of its book (which holds the lock) before its run is
# failed with the reason. A third of the job timeout, so the waiter still has the rest for
# itself; a holder whose worker died lets go within the lock's TTL (70 s by default).
LOCK_WAIT_SECONDS = BATCH_TIMEOUT // 3


def _progress(index: int, total: int, step: str) -> None:
    job = get_current_job()
    if job is None:
        return
    job.meta.update(
        progress=round(100 * index / total) if total else 100,
        current_step=step,
        step_index=index,
        step_count=total,
    )
    job.save_meta()


def _holder_name(batch_run_id: int | None) -> str:
    """How a lock holder is named to the batches that wait for it."""
    what = f"batch run {batch_run_id}" if batch_run_id else "a batch"
    return f"{what} (worker {socket.gethostname()}:{os.getpid()})"


def run_portfolio_batch(
    portfolio_id: int,
    batch_run_id: int | None = None,
    trigger: str = "manual",
    only: list[str] | None = None,
) -> dict:
    """Run the batch for one portfolio under its book lock; returns the run's id, status and
    per-step records.

    Another batch of the book holding the lock is waited for (at most ``LOCK_WAIT_SECONDS``; the
    run says whom it waits for, and the job's current step too); past that the run is failed
    with the reason. A run that is no longer queued once the lock is held (a duplicate job of a
    run that already ran) is left as it is: ``status: skipped``. A portfolio deleted (or a run
    cancelled) while queued, waiting or mid-run ends the job quietly with ``status: cancelled``:
    nothing more is written, and it is not a worker failure. The lock is released however the
    batch ends.
    """
    with app_context():
        lock = BookLock(portfolio_id, _holder_name(batch_run_id))
        waits = _Waits(portfolio_id, batch_run_id)
        started = time.monotonic()
        if not lock.acquire(LOCK_WAIT_SECONDS, waiting=waits):
            return _not_started(portfolio_id, batch_run_id, lock)
        waited = round(time.monotonic() - started, 3)
        try:
            result = _run_locked(lock, portfolio_id, batch_run_id, trigger, only)
        finally:
            lock.release()
        if waits.holders:
            result.update(waited_seconds=waited, waited_for=waits.holders)
        return result


class _Waits:
    """While a batch waits for the lock: say whom it waits for (on the run and the job) and
    whether it is still wanted."""

    def __init__(self, portfolio_id: int, batch_run_id: int | None):
        self.portfolio_id, self.batch_run_id = portfolio_id, batch_run_id
        self.holders: list[str] = []

    def __call__(self, holder: str | None) -> bool:
        if holder is not None and holder not in self.holders:
            self.holders.append(holder)
            message = f"waiting for {holder} of this portfolio to finish"
            if self.batch_run_id:
                note_waiting(self.batch_run_id, message)
            _set_step(message)
        return not self.batch_run_id or still_wanted(self.portfolio_id, self.batch_run_id)


def _run_locked(
    lock: BookLock,
    portfolio_id: int,
    batch_run_id: int | None,
    trigger: str,
    only: list[str] | None,
) -> dict:
    """The batch, once its book's lock is held (and kept renewed while it runs)."""
    if batch_run_id:
        status = run_status(batch_run_id)
        if status not in (None, "queued", "cancelled"):
            reason = (
                f"batch run {batch_run_id} was {status} already when this job got its "
                "portfolio's lock: a duplicate job, nothing done"
            )
            return {
                "batch_run_id": batch_run_id,
                "status": "skipped",
                "reason": reason,
                "steps": [],
            }

    def progress(index: int, total: int, step: str) -> None:
        if index < total:  # before each step: stop if the lock was lost meanwhile
            lock.check()
        _progress(index, total, step)

    try:
        with lock.kept():
            run = batch.run_portfolio_batch(
                portfolio_id,
                batch_run_id=batch_run_id,
                trigger=trigger,
                progress=progress,
                only=tuple(only) if only else None,
            )
    except batch.BatchCancelled as exc:
        return {
            "batch_run_id": batch_run_id,
            "status": "cancelled",
            "reason": str(exc),
            "steps": [],
        }
    result = {"batch_run_id": run.id, "status": run.status, "steps": run.steps}
    if run.status in ("succeeded", "partial"):
        follow = enqueue_household_after(portfolio_id)
        if follow is not None:
            result["household_run_id"] = follow.id
    return result


def _not_started(portfolio_id: int, batch_run_id: int | None, lock: BookLock) -> dict:
    """The lock was not had: the run was cancelled meanwhile, or the wait ran out (then the run
    is failed, saying which batch held the book)."""
    if batch_run_id and not still_wanted(portfolio_id, batch_run_id):
        reason = f"batch run {batch_run_id} was cancelled while it waited for its portfolio's lock"
        return {"batch_run_id": batch_run_id, "status": "cancelled", "reason": reason, "steps": []}
    reason = (
        f"did not start: {lock.holder() or 'another batch'} of this portfolio held its lock "
        f"for more than {LOCK_WAIT_SECONDS} s; press Recalculate to queue it again"
    )
    log.warning("portfolio %s: %s", portfolio_id, reason)
    if batch_run_id:
        mark_failed(batch_run_id, reason)
    return {"batch_run_id": batch_run_id, "status": "failed", "reason": reason, "steps": []}


def _set_step(text: str) -> None:
    """Show ``text`` as the job's current step (progress unchanged)."""
    job = get_current_job()
    if job is not None:
        job.meta.update(current_step=text)
        job.save_meta()


def run_all(trigger: str = "manual") -> dict:
    """Fan out: enqueue one batch job per portfolio (workers run them in parallel)."""
    with app_context():
        runs = [enqueue_portfolio_batch(pid, trigger=trigger) for pid in all_portfolio_ids()]
        return {"batch_run_ids": [r.id for r in runs], "job_ids": [r.job_id for r in runs]}


def refresh_prices() -> dict:
    """Insert-only sync from the configured provider."""
    with app_context():
        report = sync_prices(get_provider())
        return {"provider": report.provider, "inserted": report.inserted}


def nightly() -> dict:
    """After the US close: refresh prices, then recalculate every portfolio."""
    prices = refresh_prices()
    return {"prices": prices, "batches": run_all(trigger="schedule")}

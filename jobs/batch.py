"""Batch jobs: one portfolio's batch, the fan-out over all portfolios, price refresh, nightly run.

Job bodies are thin: open the app context, call the service, report progress in ``job.meta``.
"""

from __future__ import annotations

from rq import get_current_job

from jobs.context import app_context
from webapp.marketdata.providers import get_provider
from webapp.marketdata.sync import sync_prices
from webapp.services import batch
from webapp.services.queueing import enqueue_portfolio_batch
from webapp.services.runs import all_portfolio_ids


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


def run_portfolio_batch(
    portfolio_id: int,
    batch_run_id: int | None = None,
    trigger: str = "manual",
    only: list[str] | None = None,
) -> dict:
    """Run the batch for one portfolio; returns the run's id, status and per-step records.

    A portfolio deleted (or a run cancelled) while queued or mid-run ends the job quietly with
    ``status: cancelled``: nothing more is written, and it is not a worker failure.
    """
    with app_context():
        try:
            run = batch.run_portfolio_batch(
                portfolio_id,
                batch_run_id=batch_run_id,
                trigger=trigger,
                progress=_progress,
                only=tuple(only) if only else None,
            )
        except batch.BatchCancelled as exc:
            return {
                "batch_run_id": batch_run_id,
                "status": "cancelled",
                "reason": str(exc),
                "steps": [],
            }
        return {"batch_run_id": run.id, "status": run.status, "steps": run.steps}


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

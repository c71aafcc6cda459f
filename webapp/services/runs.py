"""Batch run records: create, find and list them (no step runs here).

Kept apart from the batch runner so the queue, pages and the API can read and create runs
without importing every feature's step.
"""

from __future__ import annotations

from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import BatchRun, Portfolio
from webapp.models._time import utcnow
from webapp.services import queries
from webapp.services.transactions import run_write

ACTIVE_RUN_STATUSES = ("queued", "running")
FINISHED_RUN_STATUSES = ("succeeded", "partial")


def create_run(portfolio_id: int | None, trigger: str) -> BatchRun:
    """A new queued run record (its own short write unit: it waits out an import's lock)."""

    def unit() -> BatchRun:
        run = BatchRun(portfolio_id=portfolio_id, trigger=trigger, status="queued", steps=[])
        db.session.add(run)
        return run

    return run_write(unit)


def active_run(portfolio_id: int) -> BatchRun | None:
    """The queued or running batch of this portfolio, if any."""
    return db.session.scalar(
        select(BatchRun)
        .where(BatchRun.portfolio_id == portfolio_id, BatchRun.status.in_(ACTIVE_RUN_STATUSES))
        .order_by(BatchRun.id.desc())
        .limit(1)
    )


def still_wanted(portfolio_id: int, run_id: int) -> bool:
    """Whether the run still exists and is not cancelled.

    Asks the database, not the session's cache: a delete may have committed in another process.
    """
    status = db.session.scalar(
        select(BatchRun.status).where(BatchRun.id == run_id, BatchRun.portfolio_id == portfolio_id)
    )
    return status is not None and status != "cancelled"


def run_status(run_id: int) -> str | None:
    """The run's status as the database has it now (another process may have changed it)."""
    return db.session.scalar(select(BatchRun.status).where(BatchRun.id == run_id))


def note_waiting(run_id: int, message: str) -> None:
    """Say on a queued run why it has not started yet (the batch clears it when it starts)."""

    def unit() -> None:
        db.session.execute(
            update(BatchRun)
            .where(BatchRun.id == run_id, BatchRun.status == "queued")
            .values(error=message[:500])
        )

    run_write(unit)


def mark_failed(run_id: int, error: str) -> bool:
    """Close a still-active run as failed with ``error``; False if the database refused."""
    try:
        db.session.execute(
            update(BatchRun)
            .where(BatchRun.id == run_id, BatchRun.status.in_(ACTIVE_RUN_STATUSES))
            .values(status="failed", error=error, finished_at=utcnow())
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        return False
    return True


def all_portfolio_ids() -> list[int]:
    """Ids of every account and household, ascending (proposed books run when modelled)."""
    return list(
        db.session.scalars(
            select(Portfolio.id).where(Portfolio.kind != "proposal").order_by(Portfolio.id)
        )
    )


def recent_runs(portfolio_id: int | None = None, limit: int = 50) -> list[BatchRun]:
    """At most ``limit`` runs, newest first, of one portfolio or of all of them."""
    query = select(BatchRun).order_by(BatchRun.id.desc()).limit(limit)
    if portfolio_id is not None:
        query = query.where(BatchRun.portfolio_id == portfolio_id)
    return list(db.session.scalars(query))


def portfolios_needing_batch(portfolio_ids: list[int]) -> list[int]:
    """Those without a finished (succeeded/partial) run for the current as-of date."""
    as_of = queries.latest_price_date()
    done = set(
        db.session.scalars(
            select(BatchRun.portfolio_id).where(
                BatchRun.portfolio_id.in_(portfolio_ids),
                BatchRun.as_of_date == as_of,
                BatchRun.status.in_(FINISHED_RUN_STATUSES),
            )
        )
    )
    return [pid for pid in portfolio_ids if pid not in done]

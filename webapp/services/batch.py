"""The portfolio batch: ordered steps that load inputs, run the engines and persist results.

Each step commits on its own, so one failing step is recorded with its reason and the others'
results survive. A run is ``succeeded`` when every step did, ``partial`` when some did, ``failed``
when none did. Re-running for the same as-of date replaces that day's results (idempotent).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from webapp.analytics.constants import STANDARD_WINDOWS
from webapp.analytics.errors import AnalyticsError
from webapp.extensions import db
from webapp.models import BatchRun, Portfolio
from webapp.models._time import utcnow
from webapp.services import queries
from webapp.services.results import prune_superseded, store_result
from webapp.services.transactions import run_write

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, str], None]


class StepSkipped(Exception):
    """A step could not run because a step it needs failed."""


@dataclass
class BatchContext:
    """What the steps share: the portfolio, the as-of date and inputs computed along the way."""

    portfolio: Portfolio
    run: BatchRun
    as_of: Any
    data: dict[str, Any] = field(default_factory=dict)
    windows: tuple[int, ...] = STANDARD_WINDOWS

    def store(self, kind: str, payload: dict, params: dict | None = None) -> None:
        """Store a result of this run for the portfolio and the as-of date."""
        store_result(
            self.portfolio.id,
            kind,
            payload,
            as_of=self.as_of,
            params=params,
            batch_run_id=self.run.id,
        )

    def need(self, key: str):
        """An input an earlier step provides; raises StepSkipped when that step failed."""
        if key not in self.data:
            raise StepSkipped(f"needs '{key}', which an earlier step did not produce")
        return self.data[key]


def _steps():
    # Imported lazily: the step bodies pull in pandas/statsmodels, which `flask --help` need not
    # pay.
    from webapp.services import batch_steps

    return batch_steps.STEPS


def step_names() -> list[str]:
    """The batch's step names in execution order."""
    return [name for name, _ in _steps()]


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
        .where(BatchRun.portfolio_id == portfolio_id, BatchRun.status.in_(("queued", "running")))
        .order_by(BatchRun.id.desc())
        .limit(1)
    )


class BatchCancelled(Exception):
    """The portfolio or its run disappeared (deleted) or the run was cancelled.

    The batch stops and writes nothing.
    """


def _still_wanted(portfolio_id: int, run_id: int) -> bool:
    """Whether the run still exists and is not cancelled.

    Asks the database, not the session's cache: a delete may have committed in another process.
    """
    status = db.session.scalar(
        select(BatchRun.status).where(BatchRun.id == run_id, BatchRun.portfolio_id == portfolio_id)
    )
    return status is not None and status != "cancelled"


def run_portfolio_batch(
    portfolio_id: int,
    *,
    batch_run_id: int | None = None,
    trigger: str = "manual",
    progress: ProgressFn | None = None,
) -> BatchRun:
    """Run every step for one portfolio, recording per-step status, timing and errors.

    Raises ``BatchCancelled`` (having written nothing more) when the portfolio is deleted or the
    run cancelled before or between steps; any other exception rolls back, marks the run failed
    and propagates.
    """
    portfolio = db.session.get(Portfolio, portfolio_id)
    if portfolio is None:
        raise BatchCancelled(f"portfolio {portfolio_id} no longer exists")
    if batch_run_id:
        run = db.session.get(BatchRun, batch_run_id)
        # A run id from another portfolio is never adopted (ids come from the queue, not users).
        if run is None or run.portfolio_id != portfolio_id or run.status == "cancelled":
            raise BatchCancelled(f"batch run {batch_run_id} is gone or cancelled")
    else:
        run = create_run(portfolio_id, trigger)
    run_id = run.id
    try:
        return _run_steps(portfolio, run, progress)
    except BatchCancelled:
        db.session.rollback()
        raise
    except Exception as exc:
        db.session.rollback()
        _mark_failed(run_id, f"{type(exc).__name__}: {exc}"[:500])
        raise


def _run_steps(portfolio: Portfolio, run: BatchRun, progress: ProgressFn | None) -> BatchRun:
    # Plain ids: once the rows are deleted elsewhere, touching the ORM objects would raise.
    portfolio_id, run_id = portfolio.id, run.id
    run.status, run.started_at, run.finished_at, run.error = "running", utcnow(), None, None
    run.as_of_date = queries.latest_price_date()
    run.steps = []
    db.session.commit()
    ctx = BatchContext(portfolio=portfolio, run=run, as_of=run.as_of_date)
    steps = _steps()
    records = []
    cancelled = f"portfolio {portfolio_id} deleted or run {run_id} cancelled"
    for index, (name, fn) in enumerate(steps):
        if not _still_wanted(portfolio_id, run_id):
            raise BatchCancelled(cancelled)
        if progress:
            progress(index, len(steps), name)
        records.append(_run_step(ctx, name, fn, portfolio_id))
        if not _still_wanted(portfolio_id, run_id):
            raise BatchCancelled(cancelled)
        run.steps = list(records)  # a new list so SQLAlchemy sees the JSON change
        db.session.commit()
    ok = sum(r["status"] == "succeeded" for r in records)
    run.status = "succeeded" if ok == len(records) else ("partial" if ok else "failed")
    failed = [r for r in records if r["status"] != "succeeded"]
    run.error = "; ".join(f"{r['name']}: {r['error']}" for r in failed) or None
    run.finished_at = utcnow()
    prune_superseded(portfolio_id, run_id)
    db.session.commit()
    if progress:
        progress(len(steps), len(steps), "done")
    return run


def _mark_failed(run_id: int, error: str) -> None:
    """Close a run honestly after an unexpected error (best effort: the database may be down)."""
    try:
        db.session.execute(
            update(BatchRun)
            .where(BatchRun.id == run_id, BatchRun.status.in_(("queued", "running")))
            .values(status="failed", error=error, finished_at=utcnow())
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not mark batch run %s failed", run_id)


def _run_step(ctx: BatchContext, name: str, fn, portfolio_id: int) -> dict:
    started = time.perf_counter()
    record = {"name": name, "status": "succeeded", "seconds": None, "error": None, "reason": None}
    try:
        if ctx.as_of is None:
            raise AnalyticsError("no market data stored; run `flask marketdata sync`")
        fn(ctx)
        db.session.commit()
    except StepSkipped as exc:
        db.session.rollback()
        record.update(status="skipped", error=str(exc), reason="dependency_failed")
    except AnalyticsError as exc:
        db.session.rollback()
        record.update(status="failed", error=exc.message, reason=exc.reason)
    except Exception as exc:  # recorded, never lost: the next steps still run
        db.session.rollback()
        log.exception("batch step %s failed for portfolio %s", name, portfolio_id)
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:500], reason="error")
    record["seconds"] = round(time.perf_counter() - started, 4)
    return record


def all_portfolio_ids() -> list[int]:
    """Ids of every portfolio, ascending."""
    return list(db.session.scalars(select(Portfolio.id).order_by(Portfolio.id)))


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
                BatchRun.status.in_(("succeeded", "partial")),
            )
        )
    )
    return [pid for pid in portfolio_ids if pid not in done]

"""The portfolio batch: the feature steps in order, each storing its results.

Each step commits on its own, so one failing step is recorded with its reason and the others'
results survive; a step whose declared input was not produced (its producer failed) is recorded
as skipped. A run is ``succeeded`` when every step did, ``partial`` when some did, ``failed``
when none did. Re-running for the same as-of date replaces that day's results (idempotent).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from webapp.analytics.errors import AnalyticsError
from webapp.extensions import db
from webapp.models import BatchRun, Portfolio
from webapp.models._time import utcnow
from webapp.services import (
    alerts,
    correlations,
    factor_exposures,
    households,
    ledger,
    overview,
    performance,
    queries,
    risk_metrics,
    risk_profile,
    stress_tests,
)
from webapp.services.pipeline import Step, StepContext
from webapp.services.results import prune_superseded, store_result
from webapp.services.runs import create_run, mark_failed, still_wanted

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, str], None]

# In execution order; each step's ``needs`` names what an earlier one ``produces``.
STEPS: list[Step] = [
    overview.STEP,
    performance.STEP,
    factor_exposures.STEP,
    correlations.STEP,
    risk_metrics.STEP,
    stress_tests.STEP,
    risk_profile.STEP,
]


class BatchCancelled(Exception):
    """The portfolio or its run disappeared (deleted) or the run was cancelled.

    The batch stops and writes nothing.
    """


def step_names() -> list[str]:
    """The batch's step names in execution order."""
    return [step.name for step in STEPS]


def steps_for(targets: tuple[str, ...] | None) -> list[Step]:
    """The steps that ``targets`` (step names) need, in batch order; every step for None.

    A step's ``needs`` are the outputs of earlier steps (``produces``), so asking for
    ``stress`` also runs the valuation and the factor model it reads.
    """
    if not targets:
        return list(STEPS)
    unknown = set(targets) - set(step_names())
    if unknown:
        raise ValueError(f"unknown batch step(s): {', '.join(sorted(unknown))}")
    producer = {step.produces: step.name for step in STEPS if step.produces}
    wanted = set(targets)
    for step in reversed(STEPS):  # a step's producers come before it
        if step.name in wanted:
            wanted |= {producer[n] for n in step.needs if n in producer}
    return [step for step in STEPS if step.name in wanted]


def run_portfolio_batch(
    portfolio_id: int,
    *,
    batch_run_id: int | None = None,
    trigger: str = "manual",
    progress: ProgressFn | None = None,
    only: tuple[str, ...] | None = None,
) -> BatchRun:
    """Run every step (or ``only`` those and what they need, ``steps_for``) for one portfolio,
    recording per-step status, timing and errors.

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
        return _run_steps(portfolio, run, progress, steps_for(only))
    except BatchCancelled:
        db.session.rollback()
        raise
    except Exception as exc:
        db.session.rollback()
        # Best effort: the database may be what failed.
        if not mark_failed(run_id, f"{type(exc).__name__}: {exc}"[:500]):
            log.exception("could not mark batch run %s failed", run_id)
        raise


def _run_steps(
    portfolio: Portfolio, run: BatchRun, progress: ProgressFn | None, steps: list[Step]
) -> BatchRun:
    # Plain ids: once the rows are deleted elsewhere, touching the ORM objects would raise.
    portfolio_id, run_id = portfolio.id, run.id
    run.status, run.started_at, run.finished_at, run.error = "running", utcnow(), None, None
    run.as_of_date = queries.latest_price_date()
    run.steps = []
    # Lots entered around the ledger (seeded demo books, fixtures, older writers) join it by the
    # 0003 migration's rule before anything reads it: idempotent, and cash is unchanged.
    if portfolio.kind == "household":
        households.sync(portfolio)  # the combined book first: its accounts may have changed
    ledger.adopt(portfolio)
    db.session.commit()

    def sink(kind: str, payload: dict, params: dict | None) -> None:
        store_result(
            portfolio_id, kind, payload, as_of=run.as_of_date, params=params, batch_run_id=run_id
        )

    ctx = StepContext(portfolio=portfolio, as_of=run.as_of_date, sink=sink)
    records = []
    cancelled = f"portfolio {portfolio_id} deleted or run {run_id} cancelled"
    for index, step in enumerate(steps):
        if not still_wanted(portfolio_id, run_id):
            raise BatchCancelled(cancelled)
        if progress:
            progress(index, len(steps), step.name)
        records.append(_run_step(ctx, step, portfolio_id))
        if not still_wanted(portfolio_id, run_id):
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
    # After the run is final: the rules read its results as any page does.
    try:
        alerts.evaluate_portfolio(portfolio_id, run_id)
    except Exception:  # an alert that cannot be evaluated never fails the batch
        log.exception("alert evaluation failed for portfolio %s", portfolio_id)
    if progress:
        progress(len(steps), len(steps), "done")
    return run


def _run_step(ctx: StepContext, step: Step, portfolio_id: int) -> dict:
    started = time.perf_counter()
    record = {
        "name": step.name,
        "status": "succeeded",
        "seconds": None,
        "error": None,
        "reason": None,
    }
    try:
        if ctx.as_of is None:
            raise AnalyticsError("no market data stored; run `flask marketdata sync`")
        missing = step.missing_input(ctx)
        if missing:
            record.update(
                status="skipped",
                error=f"needs '{missing}', which an earlier step did not produce",
                reason="dependency_failed",
            )
        else:
            step(ctx)
            db.session.commit()
    except AnalyticsError as exc:
        db.session.rollback()
        record.update(status="failed", error=exc.message, reason=exc.reason)
    except Exception as exc:  # recorded, never lost: the next steps still run
        db.session.rollback()
        log.exception("batch step %s failed for portfolio %s", step.name, portfolio_id)
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:500], reason="error")
    record["seconds"] = round(time.perf_counter() - started, 4)
    return record

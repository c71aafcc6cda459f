"""Batch jobs through a real Redis and a real RQ worker (`flask worker --burst` in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import AnalyticsResult, BatchRun
from webapp.services.batch import step_names
from webapp.services.queueing import enqueue_portfolio_batch, get_queue, job_status

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker


def run_worker_burst(app) -> subprocess.CompletedProcess:
    """A real worker process on the test database and Redis, exiting when the queue is empty."""
    env = dict(
        os.environ,
        SIGMASIGHT_ENV="testing",
        TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        TEST_REDIS_URL=app.config["REDIS_URL"],
    )
    flask = Path(sys.executable).parent / "flask"
    return subprocess.run(
        [str(flask), "--app", "wsgi", "worker", "--burst"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _demo_book(factory):
    user = factory.user()
    return factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=100, entry_price=150.0),
            dict(symbol="MSFT", quantity=50, entry_price=300.0),
            dict(symbol="XOM", quantity=-80, entry_price=110.0),
        ],
        cash=20_000.0,
    )


def test_portfolio_batch_runs_every_step_through_a_real_worker(app, factory, clean_queue):
    portfolio = _demo_book(factory)
    run = enqueue_portfolio_batch(portfolio.id)
    assert run.status == "queued" and run.job_id.startswith(f"batch-{run.id}-")
    # pressing Recalculate again while queued returns the same run (idempotent)
    assert enqueue_portfolio_batch(portfolio.id).id == run.id
    proc = run_worker_burst(app)
    assert proc.returncode == 0, proc.stderr[-3000:]
    db.session.expire_all()
    run = db.session.get(BatchRun, run.id)
    assert run.status == "succeeded", run.steps
    assert [s["name"] for s in run.steps] == step_names()
    assert all(s["seconds"] is not None for s in run.steps)
    status = job_status(run.job_id)
    assert status["status"] == "finished" and status["progress"] == 100
    assert status["result"]["batch_run_id"] == run.id
    kinds = set(
        db.session.scalars(
            select(AnalyticsResult.kind).where(AnalyticsResult.batch_run_id == run.id)
        )
    )
    assert {"overview", "risk_metrics", "correlations", "factor_exposures", "stress_test"} <= kinds


def test_an_accounts_batch_queues_its_households_which_the_worker_runs(app, factory, clean_queue):
    from jobs.batch import run_portfolio_batch as batch_job
    from webapp.services import households

    account = _demo_book(factory)
    other = factory.portfolio(
        account.owner, positions=[dict(symbol="SPY", quantity=10, entry_price=400.0)]
    )
    household = households.create_household(account.user_id, "Family", [account.id, other.id])
    household_id = household.id
    db.session.commit()
    result = batch_job(account.id)
    assert result["status"] == "succeeded"
    queued = db.session.get(BatchRun, result["household_run_id"])
    assert (queued.portfolio_id, queued.status, queued.trigger) == (
        household_id,
        "queued",
        "account",
    )
    proc = run_worker_burst(app)
    assert proc.returncode == 0, proc.stderr[-3000:]
    db.session.expire_all()
    assert db.session.get(BatchRun, queued.id).status == "succeeded"
    # An account in no household queues nothing after it.
    lone = _demo_book(factory)
    db.session.commit()
    assert "household_run_id" not in batch_job(lone.id)


def test_rerun_is_idempotent(app, factory, clean_queue):
    portfolio = _demo_book(factory)
    from webapp.services.batch import run_portfolio_batch

    first = run_portfolio_batch(portfolio.id)
    count = db.session.scalar(
        select(func.count())
        .select_from(AnalyticsResult)
        .where(AnalyticsResult.portfolio_id == portfolio.id)
    )
    second = run_portfolio_batch(portfolio.id)
    again = db.session.scalar(
        select(func.count())
        .select_from(AnalyticsResult)
        .where(AnalyticsResult.portfolio_id == portfolio.id)
    )
    assert first.status == second.status == "succeeded"
    assert again == count  # the second run replaced the first run's rows, it didn't add to them


def test_failing_step_is_recorded_and_others_keep_their_results(app, factory, monkeypatch):
    import dataclasses

    from webapp.services import batch
    from webapp.services.batch import run_portfolio_batch

    portfolio = _demo_book(factory)

    def boom(ctx):
        raise RuntimeError("correlation engine exploded")

    steps = [
        dataclasses.replace(s, run=boom) if s.name == "correlations" else s for s in batch.STEPS
    ]
    monkeypatch.setattr(batch, "STEPS", steps)
    run = run_portfolio_batch(portfolio.id)
    by_name = {s["name"]: s for s in run.steps}
    assert run.status == "partial"
    assert by_name["correlations"]["status"] == "failed"
    assert "correlation engine exploded" in by_name["correlations"]["error"]
    assert by_name["risk"]["status"] == "succeeded"
    kinds = set(
        db.session.scalars(
            select(AnalyticsResult.kind).where(AnalyticsResult.batch_run_id == run.id)
        )
    )
    assert "risk_metrics" in kinds and "correlations" not in kinds


def test_run_all_fans_out_one_job_per_portfolio(app, factory, clean_queue):
    from jobs.batch import run_all
    from webapp.services.runs import all_portfolio_ids

    result = run_all(trigger="test")
    assert len(result["job_ids"]) == len(all_portfolio_ids())
    assert len(set(result["job_ids"])) == len(result["job_ids"])
    queued = set(get_queue().job_ids)
    assert set(result["job_ids"]) <= queued


def test_batch_cli_runs_inline(runner, factory):
    portfolio = _demo_book(factory)
    result = runner.invoke(args=["batch", "run", "--portfolio", str(portfolio.id)])
    assert result.exit_code == 0, result.output
    assert f"portfolio {portfolio.id}: run" in result.output and "succeeded" in result.output
    for name in step_names():
        assert name in result.output


def test_schedule_runs_after_the_us_close():
    import datetime as dt

    from croniter import croniter

    from jobs.schedule import SCHEDULE

    entry = next(e for e in SCHEDULE if e["func"] == "jobs.batch.nightly")
    nxt = croniter(entry["cron"], dt.datetime(2026, 8, 3, 12, 0)).get_next(dt.datetime)
    assert nxt.weekday() < 5 and nxt.hour >= 21  # UTC: after 16:00 New York in both EST and EDT

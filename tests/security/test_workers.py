"""A failing job never stops the others; a dead worker's run is failed, and /health says so.

Real Redis, real `flask worker` processes.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import func, select

from tests.security.conftest import start_worker
from webapp.extensions import db
from webapp.models import AnalyticsResult, BatchRun, Portfolio
from webapp.services.queueing import enqueue_portfolio_batch, get_queue

pytestmark = pytest.mark.worker


@pytest.fixture()
def clean_queue(ctx):
    get_queue().empty()
    yield
    get_queue().empty()


def _book(factory, symbol="AAPL"):
    user = factory.user()
    return factory.portfolio(
        user,
        positions=[
            dict(symbol=symbol, quantity=50, entry_price=100.0),
            dict(symbol="SPY", quantity=-5, entry_price=500.0),
        ],
    )


def _burst(app) -> str:
    proc = start_worker(app, burst=True)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    return out


def test_a_poisoned_job_leaves_the_worker_healthy_for_the_next_advisor(app, factory, clean_queue):
    get_queue().enqueue("tests.security.jobfuncs.poison_session", job_timeout=60)
    other = _book(factory, "MSFT")
    run = enqueue_portfolio_batch(other.id)
    out = _burst(app)
    assert "IntegrityError" in out  # the poison job did fail inside this worker
    db.session.expire_all()
    run = db.session.get(BatchRun, run.id)
    assert run.status == "succeeded", (run.steps, out[-2000:])
    assert "PendingRollbackError" not in out


def test_delete_while_queued_cancels_the_job_and_the_next_one_runs(app, factory, clean_queue):
    from webapp.services import management as mgmt

    doomed, kept = _book(factory, "AMD"), _book(factory, "JPM")
    doomed_id = doomed.id
    doomed_run = enqueue_portfolio_batch(doomed_id)
    kept_run = enqueue_portfolio_batch(kept.id)
    job_id = doomed_run.job_id
    mgmt.delete_portfolio(doomed)
    from rq.job import Job

    assert Job.fetch(job_id, connection=get_queue().connection).get_status() == "canceled"
    _burst(app)
    db.session.expire_all()
    assert db.session.get(BatchRun, kept_run.id).status == "succeeded"
    assert db.session.get(Portfolio, doomed_id) is None
    leftovers = db.session.scalar(
        select(func.count())
        .select_from(AnalyticsResult)
        .where(AnalyticsResult.portfolio_id == doomed_id)
    )
    assert leftovers == 0


def test_a_killed_worker_is_reported_and_its_run_fails_so_recalculate_starts_fresh(
    app, factory, client, auth, clean_queue
):
    portfolio = _book(factory, "XOM")
    owner = db.session.get(Portfolio, portfolio.id).owner
    worker = start_worker(app, burst=False, RQ_WORKER_TTL="16", RQ_HEARTBEAT_INTERVAL="1")
    try:
        deadline = time.monotonic() + 60
        while client.get("/health").get_json()["checks"]["workers"].get("alive", 0) == 0:
            assert time.monotonic() < deadline, "worker never heartbeated"
            assert worker.poll() is None, worker.stdout.read()[-2000:]
            time.sleep(0.5)
        # A run whose job is still executing when its worker dies.
        run = BatchRun(portfolio_id=portfolio.id, trigger="test", status="running", steps=[])
        db.session.add(run)
        db.session.commit()
        job = get_queue().enqueue(
            "tests.security.jobfuncs.hang", 120, job_id=f"batch-{run.id}-hang", job_timeout=300
        )
        run.job_id = job.id
        db.session.commit()
        deadline = time.monotonic() + 60
        while job.get_status(refresh=True) != "started":
            assert time.monotonic() < deadline, "worker never started the job"
            time.sleep(0.2)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the machine dies: worker and its scheduler child
        worker.wait(timeout=10)
    assert auth.login(owner.email).status_code == 302
    page = client.get(f"/portfolios/{portfolio.id}/jobs").get_data(as_text=True)
    assert "running" in page  # the heartbeat has not lapsed yet: still honestly "running"
    time.sleep(16 + 1 + 3)  # worker TTL + heartbeat interval, plus slack
    health = client.get("/health").get_json()["checks"]["workers"]
    assert health["ok"] is False and health["alive"] == 0  # dead: silent, or dropped by RQ
    page = client.get(f"/portfolios/{portfolio.id}/jobs").get_data(as_text=True)
    db.session.expire_all()
    dead = db.session.get(BatchRun, run.id)
    assert dead.status == "failed" and "worker" in dead.error and "stopped" in dead.error
    assert "no heartbeat" in page
    resp = client.post(f"/portfolios/{portfolio.id}/recalculate", headers={"HX-Request": "true"})
    assert resp.status_code == 200
    fresh = db.session.scalar(
        select(BatchRun)
        .where(BatchRun.portfolio_id == portfolio.id)
        .order_by(BatchRun.id.desc())
        .limit(1)
    )
    assert fresh.id != run.id and fresh.status == "queued"


def test_a_batch_waiting_on_a_failed_price_refresh_is_closed_not_left_queued(
    app, factory, clean_queue
):
    from webapp.services.queueing import reconcile_runs

    portfolio = _book(factory, "KO")
    refresh = get_queue().enqueue("tests.security.jobfuncs.poison_session", job_timeout=60)
    run = enqueue_portfolio_batch(portfolio.id, trigger="import", depends_on=refresh)
    _burst(app)  # the "refresh" fails; RQ leaves the batch deferred for ever
    db.session.expire_all()
    run = db.session.get(BatchRun, run.id)
    assert run.status == "queued"
    reconcile_runs([run])
    assert run.status == "failed" and "price refresh" in run.error


def test_runs_whose_job_left_the_queue_are_closed(app, factory, clean_queue):
    """Queue emptied (a flush, an operator): the job records survive but no worker will run them."""
    from webapp.services.queueing import enqueue_refresh_prices, reconcile_runs

    plain = enqueue_portfolio_batch(_book(factory, "PG").id)
    waiting = enqueue_portfolio_batch(_book(factory, "KO").id, depends_on=enqueue_refresh_prices())
    get_queue().empty()
    reconcile_runs([plain, waiting])
    assert plain.status == "failed" and "lost" in plain.error
    assert waiting.status == "failed" and "price refresh" in waiting.error

"""Scale-out: N workers share one queue of books; the per-book lock keeps each book's batches apart.

The lock's own behaviour first (in this process: a held book, expiry, release after a failure,
a lost lock, the wait bound, the inline CLI), then two real `flask worker --burst` processes
draining a queue of books on the test database (SQLite or, in CI's second pass, PostgreSQL).
"""

from __future__ import annotations

import secrets
import threading
import time

import pytest
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import select

import jobs.batch as job_module
from webapp.extensions import db
from webapp.models import BatchRun
from webapp.models._time import utcnow
from webapp.services import batch as batch_service
from webapp.services.batch import step_names
from webapp.services.locks import BookLock, lock_key
from webapp.services.queueing import (
    BATCH_TIMEOUT,
    enqueue_portfolio_batch,
    enqueue_run,
    get_queue,
    get_redis,
)
from webapp.services.runs import create_run

pytestmark = pytest.mark.worker

GATE = "the test's gate"


def failing_batch(portfolio_id: int, batch_run_id: int) -> dict:
    """The batch job, with its last write raising past the step guard (as a database error
    would). Run by the workers below by dotted name; restores the batch module afterwards (a
    worker runs every job in its one process)."""
    original = batch_service.prune_superseded

    def boom(*args, **kwargs):
        raise RuntimeError("storage failed mid-batch")

    batch_service.prune_superseded = boom
    try:
        return job_module.run_portfolio_batch(portfolio_id, batch_run_id, "test")
    finally:
        batch_service.prune_superseded = original


def _book(factory, symbol: str = "AAPL"):
    return factory.portfolio(
        factory.user(),
        positions=[
            dict(symbol=symbol, quantity=60, entry_price=100.0),
            dict(symbol="SPY", quantity=-5, entry_price=500.0),
        ],
    )


def _fresh(run_id: int) -> BatchRun:
    """The run as the database has it now (other processes and threads write it)."""
    db.session.rollback()  # a new snapshot (SQLite's WAL keeps a transaction's own)
    db.session.expire_all()
    return db.session.get(BatchRun, run_id)


def _free_id() -> int:
    """A portfolio id no test book has, for tests of the bare lock."""
    return 10**9 + secrets.randbelow(10**8)


def _until(condition, timeout: float, what: str, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll)


# --- the lock -------------------------------------------------------------------------------


def test_a_held_book_lock_refuses_a_second_holder_of_that_book_only(ctx):
    book_a, book_b = _free_id(), _free_id()
    first = BookLock(book_a, "batch run 1", ttl=30)
    assert first.try_acquire()
    try:
        second = BookLock(book_a, "batch run 2", ttl=30)
        assert not second.try_acquire()
        assert not second.acquire(0.3)  # waited, bounded, still refused
        assert second.holder() == "batch run 1"
        other_book = BookLock(book_b, "batch run 3", ttl=30)
        assert other_book.try_acquire()
        assert other_book.release()
        assert not second.release()  # never held: nothing released, the holder keeps it
        assert first.holder() == "batch run 1"
    finally:
        assert first.release()
    assert BookLock(book_a, "batch run 2").holder() is None


def test_the_lock_expires_when_its_holder_stops_renewing_and_lasts_while_it_renews(ctx):
    dead, alive = _free_id(), _free_id()
    crashed = BookLock(dead, "a worker that died", ttl=1)
    assert crashed.try_acquire()  # and never renewed, as by a killed worker
    assert not BookLock(dead, "next").try_acquire()
    time.sleep(1.2)
    successor = BookLock(dead, "next")
    assert successor.try_acquire()
    successor.release()
    assert not crashed.release()  # expired: the late release is refused, not an error

    holder = BookLock(alive, "a live batch", ttl=1, renew_every=0.2)
    assert holder.try_acquire()
    with holder.kept():
        time.sleep(1.6)  # longer than the TTL: the renewing thread keeps it
        assert not BookLock(alive, "next").try_acquire()
        holder.check()
    assert holder.release()


def test_a_second_batch_of_a_locked_book_waits_while_another_book_runs(app, factory):
    book_a, book_b = _book(factory, "MSFT").id, _book(factory, "JPM").id
    # Plain ids: the thread must not touch this session's (expiring) objects.
    run_a, run_b = create_run(book_a, "test").id, create_run(book_b, "test").id
    gate = BookLock(book_a, GATE, ttl=30)
    assert gate.try_acquire()
    results = {}

    def job_a() -> None:
        with app.app_context():
            results["a"] = job_module.run_portfolio_batch(book_a, run_a, "test")

    thread = threading.Thread(target=job_a)
    thread.start()
    try:
        _until(lambda: "waiting for" in (_fresh(run_a).error or ""), 30, "run A to wait")
        waiting = _fresh(run_a)
        assert waiting.status == "queued" and waiting.started_at is None
        assert waiting.error == f"waiting for {GATE} of this portfolio to finish"
        # Another book is not held up by A's lock.
        other = job_module.run_portfolio_batch(book_b, run_b, "test")
        assert other["status"] == "succeeded" and "waited_for" not in other
        assert _fresh(run_a).status == "queued"
        released_at = utcnow()
    finally:
        gate.release()
        thread.join(timeout=60)
    assert results["a"]["status"] == "succeeded" and results["a"]["waited_for"] == [GATE]
    done = _fresh(run_a)
    assert done.status == "succeeded" and done.error is None
    assert done.started_at >= released_at  # it ran after the holder let go, not alongside
    assert BookLock(book_a, "next").holder() is None


def test_a_batch_that_waits_past_the_bound_fails_saying_who_held_the_book(
    ctx, factory, monkeypatch
):
    monkeypatch.setattr(job_module, "LOCK_WAIT_SECONDS", 0.6)
    book = _book(factory, "XOM")
    run = create_run(book.id, "test")
    gate = BookLock(book.id, GATE, ttl=30)
    assert gate.try_acquire()
    try:
        result = job_module.run_portfolio_batch(book.id, run.id, "test")
        assert gate.holder() == GATE  # the waiter did not take or break the holder's lock
    finally:
        gate.release()
    assert result["status"] == "failed"
    failed = _fresh(run.id)
    assert failed.status == "failed" and failed.started_at is None and failed.steps == []
    assert failed.error.startswith(f"did not start: {GATE} of this portfolio held its lock")
    assert "press Recalculate" in failed.error


def test_a_run_cancelled_while_it_waits_ends_without_running(app, factory):
    from webapp.services.queueing import cancel_run

    book = _book(factory, "KO").id
    run = create_run(book, "test").id  # plain ids, as above
    gate = BookLock(book, GATE, ttl=30)
    assert gate.try_acquire()
    results = {}

    def job() -> None:
        with app.app_context():
            results["r"] = job_module.run_portfolio_batch(book, run, "test")

    thread = threading.Thread(target=job)
    thread.start()
    try:
        _until(lambda: "waiting for" in (_fresh(run).error or ""), 30, "the run to wait")
        assert cancel_run(run)
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        gate.release()
    assert results["r"]["status"] == "cancelled"
    assert _fresh(run).status == "cancelled" and _fresh(run).started_at is None


def test_the_lock_is_released_when_the_batch_raises(ctx, factory, monkeypatch):
    book = _book(factory, "AMD")
    run = create_run(book.id, "test")

    def boom(*args, **kwargs):
        raise RuntimeError("storage failed mid-batch")

    monkeypatch.setattr(batch_service, "prune_superseded", boom)
    with pytest.raises(RuntimeError, match="storage failed"):
        job_module.run_portfolio_batch(book.id, run.id, "test")
    assert BookLock(book.id, "next").holder() is None
    failed = _fresh(run.id)
    assert failed.status == "failed" and "storage failed mid-batch" in failed.error
    monkeypatch.undo()
    again = create_run(book.id, "test")  # the book is not wedged: the next batch runs at once
    assert job_module.run_portfolio_batch(book.id, again.id, "test")["status"] == "succeeded"


def test_a_lost_lock_stops_the_batch_before_its_next_step(ctx, factory, monkeypatch):
    import dataclasses

    book = _book(factory, "PG")
    run = create_run(book.id, "test")

    def expire_lock(step_ctx):  # as if Redis had dropped the key mid-batch
        get_redis().delete(lock_key(book.id))

    steps = [
        dataclasses.replace(s, run=expire_lock) if s.name == "snapshots" else s
        for s in batch_service.STEPS
    ]
    monkeypatch.setattr(batch_service, "STEPS", steps)
    with pytest.raises(Exception, match="lock of portfolio .* was lost mid-batch"):
        job_module.run_portfolio_batch(book.id, run.id, "test")
    lost = _fresh(run.id)
    assert lost.status == "failed" and "BookLockLost" in lost.error
    assert [s["name"] for s in lost.steps] == ["valuation", "snapshots"]  # nothing after


def test_a_duplicate_job_of_a_run_that_ran_does_nothing(ctx, factory):
    book = _book(factory, "IBM")
    run = create_run(book.id, "test")
    first = job_module.run_portfolio_batch(book.id, run.id, "test")
    started = _fresh(run.id).started_at
    second = job_module.run_portfolio_batch(book.id, run.id, "test")
    assert first["status"] == "succeeded"
    assert second["status"] == "skipped" and "duplicate" in second["reason"]
    assert _fresh(run.id).started_at == started and _fresh(run.id).status == "succeeded"


def test_inline_cli_batch_waits_for_the_book_lock_and_gives_up_after_the_bound(
    runner, factory, monkeypatch
):
    book = _book(factory, "CVX")
    monkeypatch.setattr("jobs.cli.LOCK_WAIT_SECONDS", 0.5)
    gate = BookLock(book.id, GATE, ttl=30)
    assert gate.try_acquire()
    try:
        result = runner.invoke(args=["batch", "run", "--portfolio", str(book.id)])
    finally:
        gate.release()
    assert result.exit_code != 0
    assert f"waiting for {GATE} to finish" in result.output
    assert "held its lock for more than 0.5 s; nothing was run" in result.output
    result = runner.invoke(args=["batch", "run", "--portfolio", str(book.id)])
    assert result.exit_code == 0 and "succeeded" in result.output, result.output


# --- two workers, one queue -----------------------------------------------------------------


def test_two_workers_drain_a_queue_of_books_with_no_duplicate_lost_or_overlapping_batch(
    app, factory, clean_queue, start_worker
):
    symbols = ("AAPL", "MSFT", "NVDA", "JPM", "XOM", "KO", "PG", "AMZN")
    ids = [_book(factory, s).id for s in symbols]
    queue = get_queue()
    # Book 0 is held by the test until both workers have taken one of its two jobs, so they
    # would run its batches side by side but for the lock.
    gate = BookLock(ids[0], GATE, ttl=60)
    assert gate.try_acquire()
    # Book 0: the nightly fan-out and a button press passed the active-run check together.
    a1 = enqueue_portfolio_batch(ids[0], trigger="schedule")
    a2 = enqueue_run(create_run(ids[0], "manual"))
    # Book 1: Recalculate pressed twice (one run), and that run's job delivered twice.
    b = enqueue_portfolio_batch(ids[1])
    assert enqueue_portfolio_batch(ids[1]).id == b.id
    b_again = queue.enqueue(
        "jobs.batch.run_portfolio_batch",
        ids[1],
        b.id,
        "manual",
        None,
        job_id=f"batch-{b.id}-again",
        job_timeout=BATCH_TIMEOUT,
    )
    # Book 2: a batch that raises, then a fresh one (the failure must release the book).
    c_fail = create_run(ids[2], "test")
    c_fail.job_id = queue.enqueue(
        "tests.jobs.test_scale_out.failing_batch",
        ids[2],
        c_fail.id,
        job_id=f"batch-{c_fail.id}-fail",
        job_timeout=BATCH_TIMEOUT,
    ).id
    db.session.commit()
    c_ok = enqueue_run(create_run(ids[2], "manual"))
    # Books 3-7: one run each.
    rest = [enqueue_portfolio_batch(pid) for pid in ids[3:]]
    run_ids = [a1.id, a2.id, b.id, c_fail.id, c_ok.id, *(r.id for r in rest)]
    job_ids = {r: _fresh(r).job_id for r in run_ids}
    db.session.commit()

    began = time.monotonic()
    workers = [start_worker(), start_worker()]
    try:

        def both_wait() -> bool:
            for w in workers:
                assert w.poll() is None, w.log_path.read_text()[-3000:]
            statuses = [Job.fetch(job_ids[r], connection=queue.connection) for r in (a1.id, a2.id)]
            return all(j.get_status(refresh=True) == "started" for j in statuses) and all(
                (_fresh(r).error or "").startswith(f"waiting for {GATE}") for r in (a1.id, a2.id)
            )

        _until(both_wait, 45, "both workers to wait for book 0", poll=0.2)
    finally:
        gate.release()
    for w in workers:  # ~30 s in all on this shared box; the bound only catches a hang
        w.wait(timeout=max(10.0, 150 - (time.monotonic() - began)))
    logs = [w.log_path.read_text() for w in workers]
    for w, log in zip(workers, logs):
        assert w.returncode == 0, log[-3000:]

    # Nothing lost: no job left in the queue or running, every run closed.
    assert queue.count == 0
    assert not set(StartedJobRegistry(queue=queue).get_job_ids()) & set(job_ids.values())
    assert set(FailedJobRegistry(queue=queue).get_job_ids()) & set(job_ids.values()) == {
        job_ids[c_fail.id]
    }
    runs = {r: _fresh(r) for r in run_ids}
    by_book = {
        pid: list(db.session.scalars(select(BatchRun).where(BatchRun.portfolio_id == pid)))
        for pid in ids
    }
    assert {pid: len(rs) for pid, rs in by_book.items()} == dict(zip(ids, [2, 1, 2, 1, 1, 1, 1, 1]))
    # Exactly one successful run per distinct request; the one made to fail failed, alone.
    for run_id, run in runs.items():
        if run_id == c_fail.id:
            assert run.status == "failed" and "storage failed mid-batch" in run.error
            continue
        assert run.status == "succeeded", (run_id, run.status, run.error, run.steps)
        assert [s["name"] for s in run.steps] == step_names() and run.error is None
    # No duplicated work: book 1's second delivery found its run done and did nothing.
    results = {
        jid: Job.fetch(jid, connection=queue.connection).return_value()
        for jid in (job_ids[b.id], b_again.id)
    }
    assert sorted(r["status"] for r in results.values()) == ["skipped", "succeeded"]
    # No overlap: the batches of one book ran one after the other.
    for pid, book_runs in by_book.items():
        spans = sorted((r.started_at, r.finished_at) for r in book_runs)
        assert all(start and end and start <= end for start, end in spans), spans
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert end <= start, (pid, spans)
    # Book 0's two jobs went to the two workers; the later one waited for the earlier run.
    jobs_a = {r: Job.fetch(job_ids[r], connection=queue.connection) for r in (a1.id, a2.id)}
    assert len({j.worker_name for j in jobs_a.values()}) == 2
    first, second = sorted((a1.id, a2.id), key=lambda r: runs[r].started_at)
    waited = jobs_a[second].return_value()["waited_for"]
    assert waited[0] == GATE and waited[-1].startswith(f"batch run {first} (worker ")
    assert sum("storage failed mid-batch" in log for log in logs) == 1
    assert not any("PendingRollbackError" in log or "BookLockLost" in log for log in logs)

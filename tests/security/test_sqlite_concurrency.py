"""Five advisors confirm big holdings imports at the same moment: no error, every row stored once.

Each advisor has their own test client in their own thread (its own app context, session and
pooled connection per request), on the suite's file database, so the five confirmations really
compete for SQLite's single write lock; on PostgreSQL the same test checks the same outcome.
The full five × 20,000-row case runs through gunicorn in bench/concurrent_imports.py.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import io
import re
import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from webapp.extensions import db
from webapp.models import Portfolio, Position, Tag
from webapp.models.portfolios import position_tags
from webapp.services import transactions
from webapp.services.transactions import run_write, write_transaction

ADVISORS = 5
ROWS = 3_000
TICKERS = ("AAPL", "MSFT", "SPY", "QQQ", "NVDA", "JPM", "XOM", "GOOGL")


def holdings_csv(rows: int, seed: int) -> bytes:
    """A canonical-template file: stocks, shorts and OSI calls, two tags each, unique lots."""
    lines = ["ticker,quantity,entry_price,entry_date,tags,strategy,notes"]
    for i in range(rows):
        ticker = TICKERS[i % len(TICKERS)]
        if i % 10 == 9:
            ticker = f"{ticker}270115C{(100 + i % 300) * 1000:08d}"
            quantity = 1 + i // 10 + seed  # contracts; unique per line
        else:
            quantity = (i + 1 + seed) * (-1 if i % 7 == 0 else 1)
        entry = dt.date(2024, 1, 2) + dt.timedelta(days=i % 600)
        lines.append(
            f"{ticker},{quantity},{20 + i % 400}.25,{entry.isoformat()},core;lot{i % 9},,note {i}"
        )
    return ("\n".join(lines) + "\n").encode()


def confirm_fields(page: str) -> dict[str, str]:
    """The hidden fields of the preview's confirmation form."""
    form = page[page.index('action="/imports/confirm"') :]
    return {
        name: htmllib.unescape(value)
        for name, value in re.findall(
            r'<input id="\w+" name="(token|name|description|cash)" type="hidden" value="([^"]*)">',
            form,
        )
    }


@pytest.fixture()
def queue_hygiene(ctx):
    """The refresh and batch jobs each import queues are removed afterwards (no worker here)."""
    from webapp.services.queueing import get_queue

    queue = get_queue()

    def ids() -> set[str]:
        return set(queue.job_ids) | set(queue.deferred_job_registry.get_job_ids())

    before = ids()
    yield
    for job_id in ids() - before:
        job = queue.fetch_job(job_id)
        if job is not None:
            job.delete()


def test_five_concurrent_imports_store_every_row_once(app, factory, queue_hygiene):
    if app.config["SQLALCHEMY_DATABASE_URI"] in ("sqlite://", "sqlite:///:memory:"):
        pytest.skip(
            "needs a file database: an in-memory SQLite database is private to a connection"
        )
    users = [factory.user() for _ in range(ADVISORS)]
    emails = [u.email for u in users]  # the threads have no app context to load attributes in
    files = [holdings_csv(ROWS, seed=k * 100_000) for k in range(ADVISORS)]
    start_upload, start_confirm = threading.Barrier(ADVISORS), threading.Barrier(ADVISORS)
    results: dict[int, str] = {}

    def advisor(k: int) -> None:
        client = app.test_client()
        try:
            assert (
                client.post(
                    "/login", data={"email": emails[k], "password": factory.password}
                ).status_code
                == 302
            )
            start_upload.wait(timeout=60)
            preview = client.post(
                "/imports/new",
                content_type="multipart/form-data",
                data={
                    "file": (io.BytesIO(files[k]), f"book{k}.csv"),
                    "name": f"Concurrent {k}",
                    "description": "",
                    "cash": "",
                },
            )
            assert preview.status_code == 200, preview.status_code
            fields = confirm_fields(preview.get_data(as_text=True))
            start_confirm.wait(timeout=60)
            done = client.post("/imports/confirm", data=fields)
            assert done.status_code == 302 and "/portfolios/" in done.headers["Location"], (
                done.status_code,
                done.headers.get("Location"),
            )
            results[k] = "ok"
        except BaseException as exc:  # noqa: BLE001 (every failure is the finding)
            results[k] = f"{type(exc).__name__}: {exc}"
            start_upload.abort()  # release the others instead of letting them wait 60 s
            start_confirm.abort()

    threads = [threading.Thread(target=advisor, args=(k,)) for k in range(ADVISORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert results == {k: "ok" for k in range(ADVISORS)}

    db.session.expire_all()
    for k, user in enumerate(users):
        portfolio = db.session.scalar(select(Portfolio).where(Portfolio.user_id == user.id))
        assert portfolio is not None and portfolio.name == f"Concurrent {k}"
        # Every line's note is unique ("note {i}"): one stored position per line, none twice.
        stored = dict(
            db.session.execute(
                select(Position.notes, func.count())
                .where(Position.portfolio_id == portfolio.id)
                .group_by(Position.notes)
            ).all()
        )
        assert stored == {f"note {i}": 1 for i in range(ROWS)}
        links = db.session.scalar(
            select(func.count())
            .select_from(position_tags)
            .join(Position, Position.id == position_tags.c.position_id)
            .where(Position.portfolio_id == portfolio.id)
        )
        assert links == 2 * ROWS  # core + lotN on every row


# ------------------------------------------------------------------------------------------------
# The helper itself: webapp/services/transactions.py
# ------------------------------------------------------------------------------------------------
def _sqlite_file(app) -> str:
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        pytest.skip("SQLite file database only")
    return url.database


def _tag_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Tag).where(Tag.user_id == user_id))


def test_a_deferred_read_then_write_fails_at_once_but_a_write_unit_waits_its_turn(app, factory):
    """Cause (a): a deferred transaction's stale snapshot cannot become a writer, whatever the
    busy timeout; BEGIN IMMEDIATE takes the lock first and simply waits for the other writer."""
    path = _sqlite_file(app)
    user = factory.user()
    insert_tag = "INSERT INTO tags (user_id, name, color) VALUES (?, ?, '#4c78a8')"
    other = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    deferred = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        deferred.execute("BEGIN")
        deferred.execute("SELECT count(*) FROM tags").fetchone()  # its snapshot starts here
        other.execute(insert_tag, (user.id, "other-writer"))  # commits after that snapshot
        started = time.perf_counter()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            deferred.execute(insert_tag, (user.id, "deferred-writer"))
        assert time.perf_counter() - started < 5  # refused at once: the 30 s timeout never applied
        deferred.execute("ROLLBACK")

        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock for half a second
        other.execute(insert_tag, (user.id, "slow-writer"))
        threading.Timer(0.5, other.execute, args=("COMMIT",)).start()
        started = time.perf_counter()
        with write_transaction():
            _tag_count(user.id)  # a read first, as real units do: no stale snapshot this time
            db.session.add(Tag(user_id=user.id, name="unit-writer"))
        assert time.perf_counter() - started >= 0.4  # it waited for the lock instead of failing
    finally:
        other.close()
        deferred.close()
    db.session.expire_all()
    names = set(db.session.scalars(select(Tag.name).where(Tag.user_id == user.id)))
    assert names == {"other-writer", "slow-writer", "unit-writer"}


def _locked() -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


def test_run_write_reruns_the_whole_unit_after_a_lock_and_commits_once(ctx, factory, monkeypatch):
    monkeypatch.setattr(transactions, "RETRY_PAUSE_S", 0.01)
    user = factory.user()
    user_id = user.id
    calls = []

    def unit() -> str:
        calls.append(1)
        db.session.add(Tag(user_id=user_id, name=f"attempt-{len(calls)}"))
        db.session.flush()
        if len(calls) == 1:
            raise _locked()  # the first attempt's tag is rolled back with it
        return "done"

    assert run_write(unit) == "done" and len(calls) == 2
    db.session.expire_all()
    assert set(db.session.scalars(select(Tag.name).where(Tag.user_id == user_id))) == {"attempt-2"}


def test_run_write_gives_up_after_its_attempts_and_never_retries_other_errors(ctx, monkeypatch):
    monkeypatch.setattr(transactions, "RETRY_PAUSE_S", 0.01)
    calls = []

    def always_locked() -> None:
        calls.append(1)
        raise _locked()

    with pytest.raises(OperationalError, match="locked"):
        run_write(always_locked)
    assert len(calls) == transactions.WRITE_ATTEMPTS

    calls.clear()

    def broken() -> None:
        calls.append(1)
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: nope"))

    with pytest.raises(OperationalError, match="no such table"):
        run_write(broken)
    assert len(calls) == 1


def test_nested_write_units_commit_once_with_the_outermost(ctx, factory):
    user = factory.user()
    user_id = user.id
    with pytest.raises(RuntimeError):
        with write_transaction():
            run_write(lambda: db.session.add(Tag(user_id=user_id, name="inner")))
            raise RuntimeError("the outer unit fails after the inner one finished")
    db.session.expire_all()
    assert _tag_count(user_id) == 0

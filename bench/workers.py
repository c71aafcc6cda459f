"""Scale-out benchmark: one queue of books drained by 1 and then 2 RQ worker processes.

Run ``.venv/bin/python bench/workers.py [--books 20] [--positions 50] [--workers 1,2]``, or
``... --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres`` to measure on a
PostgreSQL server (a throwaway database is created there and dropped at the end).

It builds a throwaway SQLite database in a temp dir (``bench/engines.build_batch_app``:
migrations, bundled prices, demo books) or the PostgreSQL one (``bench/_common.migrated_app``),
adds ``--books`` synthetic books (``engines.add_synthetic_book``: stocks, shorts, ~10% options)
and starts an embedded Redis on a free loopback port. Then, for each worker count, it queues one
batch per book (``enqueue_portfolio_batch``, as "Recalculate" does), starts that many
``flask worker --burst`` processes at once (BLAS pinned to one thread each) and waits for them
to drain the queue and exit. Throughput is books / (last run's finished_at - first run's
started_at), from the runs' own records, so process start-up is left out (the wall time with it
is printed too). Every run must finish (succeeded, or partial where a synthetic book's data
fails a step); the load average (1/5/15 min) is printed before and
after each pass, since this 2-core box is shared.
"""

from __future__ import annotations

import os

# Before numpy loads, here and (inherited) in the workers: on 2 shared cores a BLAS thread pool
# per worker only adds contention.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

from _common import load_average, migrated_app  # noqa: E402
from engines import ROOT, add_synthetic_book, build_batch_app  # noqa: E402

WORKER_TIMEOUT_S = 600


@contextmanager
def postgres_database(server_url: str):
    """A fresh database on the server ``server_url`` names, dropped afterwards; yields its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    name = f"sigmasight_bench_{secrets.token_hex(4)}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def build(db_url: str | None, tmp: Path, redis_url: str, books: int, positions: int):
    """The app on its throwaway database, with ``books`` synthetic books; (app, book ids)."""
    os.environ["TEST_REDIS_URL"] = redis_url  # the testing config reads it when built
    if db_url is None:
        app = build_batch_app(tmp / "bench.db")
    else:
        app = migrated_app(db_url, REDIS_URL=redis_url)
    from webapp.extensions import db

    with app.app_context():
        ids = [
            add_synthetic_book(positions, seed=1000 + i, name=f"Scale-out book {i + 1}")
            for i in range(books)
        ]
        db.session.remove()
    return app, ids


def drain(app, book_ids: list[int], workers: int, log_dir: Path) -> dict:
    """Queue one batch per book, drain the queue with ``workers`` burst workers; the figures."""
    from webapp.extensions import db
    from webapp.models import BatchRun
    from webapp.services.queueing import enqueue_portfolio_batch, get_queue
    from webapp.services.runs import FINISHED_RUN_STATUSES

    with app.app_context():
        get_queue().empty()
        run_ids = [enqueue_portfolio_batch(pid, trigger="bench").id for pid in book_ids]
        db.session.remove()
    env = dict(
        os.environ,
        SIGMASIGHT_ENV="testing",
        TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        TEST_REDIS_URL=app.config["REDIS_URL"],
        PYTHONUNBUFFERED="1",
    )
    load_before = load_average()
    launched = time.perf_counter()
    procs = []
    for n in range(workers):
        log = open(log_dir / f"worker-{workers}-{n + 1}.log", "wb")
        procs.append(
            subprocess.Popen(
                [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "worker", "--burst"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    for proc in procs:
        if proc.wait(timeout=WORKER_TIMEOUT_S) != 0:
            raise RuntimeError(f"a worker exited with {proc.returncode}; logs in {log_dir}")
    wall = time.perf_counter() - launched
    with app.app_context():
        runs = list(db.session.scalars(db.select(BatchRun).where(BatchRun.id.in_(run_ids))))
        # "partial": a step refused the book's data (a synthetic book may go short of
        # capital), the batch still ran through; anything else is a failure of the bench.
        bad = [(r.id, r.status, r.error) for r in runs if r.status not in FINISHED_RUN_STATUSES]
        if bad:
            raise RuntimeError(f"runs that did not finish: {bad}")
        span = (max(r.finished_at for r in runs) - min(r.started_at for r in runs)).total_seconds()
        per_batch = sum((r.finished_at - r.started_at).total_seconds() for r in runs) / len(runs)
        db.session.remove()
    return {
        "workers": workers,
        "books": len(runs),
        "partial": sum(r.status == "partial" for r in runs),
        "span": span,
        "wall": wall,
        "per_batch": per_batch,
        "rate": len(runs) / span,
        "load_before": load_before,
        "load_after": load_average(),
    }


def main(argv: list[str] | None = None) -> None:
    """Build, drain once per worker count, print one line per pass and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=20, help="books in the queue (20)")
    parser.add_argument("--positions", type=int, default=50, help="positions per book (50)")
    parser.add_argument(
        "--workers", default="1,2", help="worker counts, in order (1,2; repeat, e.g. 1,2,1,2)"
    )
    parser.add_argument(
        "--postgres",
        metavar="SERVER_URL",
        help="measure on this PostgreSQL server (a throwaway database is made there)",
    )
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]

    from webapp.embedded_redis import free_port, start_redis, stop

    tmp = Path(tempfile.mkdtemp(prefix="sigmasight-bench-workers-"))
    redis_port = free_port()
    redis = start_redis(redis_port, tmp / "redis")
    try:
        with postgres_database(args.postgres) if args.postgres else _no_database() as db_url:
            started = time.perf_counter()
            app, ids = build(
                db_url, tmp, f"redis://127.0.0.1:{redis_port}/0", args.books, args.positions
            )
            database = "PostgreSQL" if db_url else "SQLite (WAL)"
            print(
                f"{database}; {len(ids)} synthetic books of {args.positions} positions, built in "
                f"{time.perf_counter() - started:.0f} s; {os.cpu_count()} CPUs; BLAS threads "
                f"{os.environ['OPENBLAS_NUM_THREADS']} per worker"
            )
            print(
                f"{'workers':>7}  {'books/s':>7}  {'busy s':>6}  {'wall s':>6}  "
                f"{'s/batch':>7}  load avg before -> after"
            )
            results = []
            for n in counts:
                r = drain(app, ids, n, tmp)
                results.append(r)
                print(
                    f"{r['workers']:>7}  {r['rate']:7.2f}  {r['span']:6.1f}  {r['wall']:6.1f}  "
                    f"{r['per_batch']:7.2f}  {r['load_before']} -> {r['load_after']}"
                    + (f"  ({r['partial']} partial)" if r["partial"] else "")
                )
            # Repeated counts (--workers 1,2,1,2) are summarised by their median rate.
            rates = {
                n: statistics.median(r["rate"] for r in results if r["workers"] == n)
                for n in dict.fromkeys(counts)
            }
            base = min(rates)
            for n, rate in rates.items():
                if n != base:
                    print(f"{n} workers / {base}: {rate / rates[base]:.2f}x the books per second")
            print(
                "busy s: first batch start to last batch end (the rate's denominator); wall s: "
                "worker launch to exit, start-up included; s/batch: mean batch duration"
            )
            with app.app_context():
                from webapp.extensions import db

                db.engine.dispose()  # before the database is dropped
    finally:
        stop(redis)
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _no_database():
    yield None


if __name__ == "__main__":
    main()

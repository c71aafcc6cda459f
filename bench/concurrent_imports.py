"""Concurrent-imports benchmark: five advisors import 20,000-row holdings files at once on SQLite.

Run ``.venv/bin/python bench/concurrent_imports.py [--clients 5] [--rows 20000] [--rev REV]``.

It builds its own SQLite database in a temp dir (migrations, bundled prices, one advisor per
client), starts an embedded Redis and gunicorn (SIGMASIGHT_ENV=development, 2 workers × 4 threads)
on free loopback ports, logs each client in through the login form, and then all clients at once
go through the browser flow: upload (POST /imports/new) → preview → confirm (POST
/imports/confirm), the confirmations released together so they compete for SQLite's write lock.
No worker runs: the jobs an import queues just wait in Redis. Prints errors (anything but the
expected 200 preview and 302 confirmation), seconds per phase, positions and tag links stored per
portfolio (each line exactly once), "database is locked" lines in the gunicorn log, and the load
average. ``--rev REV`` runs the app as it was at REV (``git archive`` into a temp dir), for a
before/after comparison on the same machine. Loopback only; gunicorn and Redis are stopped on the
way out, whatever happens.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # 2 shared cores: no BLAS thread pools

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import html as htmllib  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from _common import (  # noqa: E402
    browser_login,
    csrf_token,
    load_average,
    migrated_app,
    start_gunicorn,
)

HERE = Path(__file__).resolve().parent
# The tree whose app is measured: this checkout, or an exported revision (--rev).
ROOT = Path(os.environ.get("BENCH_TREE") or HERE.parent)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORKERS, THREADS = 2, 4
PASSWORD = "correct-horse-9"
TICKERS = ("AAPL", "MSFT", "SPY", "QQQ", "NVDA", "JPM", "XOM", "GOOGL", "AMZN", "META")
CONFIRM_FIELD = re.compile(
    r'<input id="\w+" name="(token|name|description|cash)" type="hidden" value="([^"]*)">'
)


def holdings_csv(rows: int, client: int) -> bytes:
    """A canonical-template file: stocks, shorts and OSI calls, two tags each, unique lines."""
    lines = ["ticker,quantity,entry_price,entry_date,tags,strategy,notes"]
    for i in range(rows):
        ticker = TICKERS[i % len(TICKERS)]
        if i % 10 == 9:
            ticker = f"{ticker}270115C{(100 + i % 300) * 1000:08d}"
            quantity = 1 + i // 10  # contracts, unique per line
        else:
            quantity = (i + 1 + client * 1_000_000) * (-1 if i % 7 == 0 else 1)
        entry = dt.date(2024, 1, 2) + dt.timedelta(days=i % 600)
        lines.append(
            f"{ticker},{quantity},{20 + i % 400}.25,{entry.isoformat()},"
            f"core;lot{i % 9},Bench {i % 4},note {i}"
        )
    return ("\n".join(lines) + "\n").encode()


# --- setup (run inside the measured tree: `--build DB_URL N`) ---------------------------------


def build_database(db_url: str, clients: int) -> None:
    """Migrated SQLite DB with the bundled prices and one advisor per client."""
    from webapp.extensions import db
    from webapp.models import User

    app = migrated_app(db_url)
    with app.app_context():
        for k in range(clients):
            user = User(email=f"importer{k}@example.com")
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def stored_counts(db_path: Path, clients: int) -> list[tuple[int, int, int]]:
    """(positions, distinct notes, tag links) of each advisor's imported portfolio."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        out = []
        for k in range(clients):
            out.append(
                conn.execute(
                    "SELECT count(p.id), count(DISTINCT p.notes),"
                    " (SELECT count(*) FROM position_tags t"
                    " JOIN positions q ON q.id = t.position_id"
                    "  WHERE q.portfolio_id IN (SELECT f.id FROM portfolios f JOIN users u"
                    "   ON u.id = f.user_id WHERE u.email = ?))"
                    " FROM positions p JOIN portfolios f ON f.id = p.portfolio_id"
                    " JOIN users u ON u.id = f.user_id WHERE u.email = ?",
                    (f"importer{k}@example.com", f"importer{k}@example.com"),
                ).fetchone()
            )
        return out
    finally:
        conn.close()


# --- the run -----------------------------------------------------------------------------------


class Client(threading.Thread):
    """One advisor: upload, preview, then (with the others) confirm."""

    def __init__(
        self,
        k: int,
        base: str,
        session,
        data: bytes,
        go: threading.Barrier,
        confirm_together: threading.Barrier,
    ):
        super().__init__(daemon=True)
        self.k, self.base, self.session, self.data = k, base, session, data
        self.go, self.confirm_together = go, confirm_together
        self.errors: list[str] = []
        self.seconds: dict[str, float] = {}

    def run(self) -> None:
        try:
            self.go.wait(timeout=120)
            started = time.perf_counter()
            form = self.session.get(f"{self.base}/imports/new", timeout=60).text
            preview = self.session.post(
                f"{self.base}/imports/new",
                timeout=600,
                data={
                    "csrf_token": csrf_token(form),
                    "name": f"Concurrent import {self.k}",
                    "description": "",
                    "cash": "",
                },
                files={"file": (f"book{self.k}.csv", self.data, "text/csv")},
            )
            self.seconds["upload+preview"] = time.perf_counter() - started
            if preview.status_code != 200 or 'action="/imports/confirm"' not in preview.text:
                raise RuntimeError(f"preview: HTTP {preview.status_code}")
            page = preview.text[preview.text.index('action="/imports/confirm"') :]
            fields = {n: htmllib.unescape(v) for n, v in CONFIRM_FIELD.findall(page)}
            fields["csrf_token"] = csrf_token(page)
            self.confirm_together.wait(timeout=600)
            started = time.perf_counter()
            done = self.session.post(
                f"{self.base}/imports/confirm", data=fields, timeout=600, allow_redirects=False
            )
            self.seconds["confirm"] = time.perf_counter() - started
            if done.status_code != 302 or "/portfolios/" not in done.headers.get("Location", ""):
                raise RuntimeError(f"confirm: HTTP {done.status_code}")
        except Exception as exc:  # noqa: BLE001 (every failure is a finding)
            self.errors.append(f"{type(exc).__name__}: {exc}")
            self.go.abort()
            self.confirm_together.abort()


def export_tree(rev: str, into: Path) -> Path:
    """The repository at ``rev`` as plain files (nothing in this checkout changes)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", rev], cwd=HERE.parent, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rev", help="measure the app as it was at this git revision")
    parser.add_argument("--build", nargs=2, metavar=("DB_URL", "CLIENTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:  # the setup step, run by main() inside the measured tree
        build_database(args.build[0], int(args.build[1]))
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="sigmasight-bench-imports-"))
    tree = export_tree(args.rev, workdir / "tree") if args.rev else HERE.parent
    db_path = workdir / "bench.db"
    env = dict(
        os.environ,
        SIGMASIGHT_ENV="development",
        DATABASE_URL=f"sqlite:///{db_path}",
        SECRET_KEY=secrets.token_hex(32),
        BENCH_TREE=str(tree),
        LOGIN_RATE_LIMIT="100 per minute",
    )  # every client logs in within a second
    from webapp.embedded_redis import free_port, start_redis, stop

    redis_port = free_port()
    env["REDIS_URL"] = env["RATELIMIT_STORAGE_URI"] = f"redis://127.0.0.1:{redis_port}/0"
    redis_proc = start_redis(redis_port, workdir / "redis")
    gunicorn = None
    try:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(HERE / "concurrent_imports.py"),
                "--build",
                env["DATABASE_URL"],
                str(args.clients),
            ],
            cwd=tree,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        files = [holdings_csv(args.rows, k) for k in range(args.clients)]
        print(
            f"database built in {time.perf_counter() - started:.1f} s; {args.clients} files of "
            f"{args.rows:,} rows ({len(files[0]) / 1e6:.2f} MB each)",
            flush=True,
        )
        port = free_port()
        gunicorn = start_gunicorn(
            tree, port, env, workdir / "gunicorn.log", workers=WORKERS, threads=THREADS, timeout=300
        )
        base = f"http://127.0.0.1:{port}"
        sessions = [
            browser_login(base, f"importer{k}@example.com", PASSWORD, timeout=60)
            for k in range(args.clients)
        ]
        print("config:")
        print(
            f"  app: {'revision ' + args.rev if args.rev else 'this working tree'}; gunicorn "
            f"{WORKERS} workers × {THREADS} threads; SQLite {db_path}"
        )
        print(
            f"  machine: {os.cpu_count()} cores; load average before {load_average()}", flush=True
        )

        go = threading.Barrier(args.clients)
        confirm_together = threading.Barrier(args.clients)
        clients = [
            Client(k, base, sessions[k], files[k], go, confirm_together)
            for k in range(args.clients)
        ]
        started = time.perf_counter()
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=1800)
        elapsed = time.perf_counter() - started
        load_after = load_average()

        errors = [f"client {c.k}: {e}" for c in clients for e in c.errors]
        locked = (workdir / "gunicorn.log").read_text(errors="replace").count("database is locked")
        counts = stored_counts(db_path, args.clients)
        print(
            f"\n{'client':>6}  {'upload+preview s':>16}  {'confirm s':>9}  {'positions':>9}  "
            f"{'distinct':>8}  {'tag links':>9}"
        )
        for c, (positions, distinct, links) in zip(clients, counts, strict=True):
            print(
                f"{c.k:>6}  {c.seconds.get('upload+preview', float('nan')):>16.1f}  "
                f"{c.seconds.get('confirm', float('nan')):>9.1f}  {positions:>9,}  "
                f"{distinct:>8,}  {links:>9,}"
            )
        complete = sum(p == d == args.rows and links == 2 * args.rows for p, d, links in counts)
        print(f"\nerrors: {len(errors)}; 'database is locked' in the gunicorn log: {locked}")
        for error in errors:
            print(f"  {error}")
        print(
            f"portfolios complete (every line once, two tag links each): {complete} of "
            f"{args.clients}; rows stored {sum(p for p, _, _ in counts):,} of "
            f"{args.clients * args.rows:,}"
        )
        print(f"wall time {elapsed:.1f} s; load average after {load_after}")
        return 0 if not errors and complete == args.clients else 1
    finally:
        if gunicorn is not None:
            stop(gunicorn)
        stop(redis_proc)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

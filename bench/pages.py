"""Page benchmark: every dashboard page and HTMX partial under gunicorn, 8 concurrent advisors.

Run ``.venv/bin/python bench/pages.py [--rounds 20] [--seconds 60] [--clients 8]``.

It builds its own SQLite database in a temp dir (migrations, bundled prices, demo books, one batch
per book, all through the app's own services), starts an embedded Redis and gunicorn
(SIGMASIGHT_ENV=development, 2 workers × 4 threads) on free loopback ports, logs each client in
through the login form (CSRF token from the form), then drives every page and every HTMX partial
(``HX-Request: true`` + ``HX-Target``) of its demo book for a bounded number of rounds, stopping
early at the time budget. One unmeasured warm-up round per client comes first. Prints p50/p95/max
in ms per route and overall, marking which routes meet p95 ≤ 150 ms. Loopback only; gunicorn and
Redis are stopped on the way out, whatever happens.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # 2 cores shared by 8 gunicorn threads: no BLAS thread pools

import argparse  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from _common import browser_login, migrated_app, start_gunicorn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

TARGET_P95_MS = 150.0
WORKERS, THREADS = 2, 4
AS_OF = "2026-08-03"


@dataclass(frozen=True)
class Route:
    name: str
    path: str  # relative to /portfolios/{pid}, or absolute when it starts with "//"
    target: str | None = None  # HX-Target for an HTMX partial; None = full page

    def url(self, base: str, pid: int) -> str:
        if self.path.startswith("//"):
            return base + self.path[1:]
        return f"{base}/portfolios/{pid}{self.path}"


def routes_for(book: dict) -> list[Route]:
    """Every page and every HTMX partial the pages' controls request, for one demo book."""
    return [
        Route("page portfolio list", "//portfolios/"),
        Route("page positions", ""),
        Route("page overview", "/overview"),
        Route("page position detail", f"/positions/{book['position_id']}"),
        Route("page correlations", "/correlations"),
        Route("page factors", "/factors"),
        Route("page risk", "/risk"),
        Route("page stress", "/stress"),
        Route("page performance", "/performance"),
        Route("page jobs", "/jobs"),
        Route(
            "htmx overview sort",
            "/overview?sort=symbol&dir=asc&type=&tag=&strategy=&page=1&per_page=15",
            "positions-table",
        ),
        Route(
            "htmx overview filter",
            "/overview?sort=weight&dir=desc&type=LONG&tag=&strategy=&per_page=15",
            "positions-table",
        ),
        Route(
            "htmx overview page 2",
            "/overview?sort=weight&dir=desc&page=2&per_page=5",
            "positions-table",
        ),
        Route(
            "htmx correlations 30d",
            "/correlations?lookback_days=30&min_overlap=30&max_symbols=25",
            "heatmap",
        ),
        Route(
            "htmx correlations 252d/10",
            "/correlations?lookback_days=252&min_overlap=60&max_symbols=10",
            "heatmap",
        ),
        Route("htmx factors page 2", "/factors?page=2&symbol=", "factor-positions"),
        Route("htmx factors symbol", f"/factors?symbol={book['symbol']}", "factor-positions"),
        Route("htmx risk 180d", "/risk?lookback_days=180", "risk-metrics"),
        Route("htmx stress category", "/stress?category=historical", "stress-scenarios"),
        Route("htmx stress scenario", f"/stress?scenario={book['scenario']}", "scenario-detail"),
        Route("htmx job progress", f"/runs/{book['run_id']}/progress", f"run-{book['run_id']}"),
    ]


# --- setup -----------------------------------------------------------------------------------


def build_database(db_url: str, redis_url: str) -> None:
    """Migrated SQLite DB with bundled prices, the demo books and a finished batch for each."""
    from webapp.extensions import db
    from webapp.services.batch import run_portfolio_batch
    from webapp.services.demo import seed_demo
    from webapp.services.runs import all_portfolio_ids

    app = migrated_app(db_url, REDIS_URL=redis_url)
    with app.app_context():
        seed_demo()
        for pid in all_portfolio_ids():
            run = run_portfolio_batch(pid, trigger="bench")
            if run.status != "succeeded":
                raise RuntimeError(f"batch for portfolio {pid} ended {run.status}: {run.error}")
        db.session.remove()
        db.engine.dispose()


def discover(base: str, session: requests.Session) -> dict:
    """The book's id, a position, a scenario, a run and a symbol, read from its own pages."""
    listing = session.get(f"{base}/portfolios/", timeout=10).text
    pid = int(re.search(r'href="/portfolios/(\d+)"', listing).group(1))
    overview = session.get(f"{base}/portfolios/{pid}/overview", timeout=30).text
    position_id, symbol = re.search(
        rf'href="/portfolios/{pid}/positions/(\d+)">([A-Z.\-]+)</a>', overview
    ).groups()
    stress = session.get(f"{base}/portfolios/{pid}/stress", timeout=30).text
    scenario = re.search(r'data-scenario="([^"]+)"', stress).group(1)
    jobs = session.get(f"{base}/portfolios/{pid}/jobs", timeout=10).text
    run_id = int(re.search(r"<tbody>\s*<tr>\s*<td>(\d+)</td>", jobs).group(1))
    return {
        "pid": pid,
        "position_id": int(position_id),
        "symbol": symbol,
        "scenario": scenario,
        "run_id": run_id,
    }


# --- load ------------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = {}
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.samples.setdefault(name, []).append(ms)
            if error:
                self.errors.setdefault(name, []).append(error)


def check(route: Route, response: requests.Response) -> str | None:
    """What is wrong with a response, or None: pages carry the as-of date, partials no <html>."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    body = response.text
    if route.target:
        if "<html" in body:
            return "full page instead of a partial"
        if f'id="{route.target}"' not in body:
            return f"no #{route.target} in the partial"
    elif AS_OF not in body:
        return f"no as-of {AS_OF} on the page"
    return None


def client_loop(
    index: int,
    base: str,
    session: requests.Session,
    routes: list[Route],
    pid: int,
    rounds: int,
    seconds: float,
    start_line: threading.Barrier,
    t0: list[float],
    recorder: Recorder,
    done_rounds: list[int],
) -> None:
    """One warm-up round (not recorded), then measured rounds.

    Stops after ``rounds`` measured rounds, or at the time budget once at least one has run.
    """
    rng = random.Random(index)
    for round_no in range(rounds + 1):
        if round_no == 1:
            start_line.wait(timeout=300)  # every client has warmed up: the clock starts
        if round_no > 1 and time.monotonic() > t0[0] + seconds:
            break
        order = routes[:]
        rng.shuffle(order)
        for route in order:
            headers = {"HX-Request": "true", "HX-Target": route.target} if route.target else {}
            started = time.perf_counter()
            try:
                response = session.get(route.url(base, pid), headers=headers, timeout=30)
                error = check(route, response)
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}"
            ms = (time.perf_counter() - started) * 1000
            if round_no:
                recorder.add(route.name, ms, error)
        if round_no:
            done_rounds[index] = round_no


def pct(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(recorder: Recorder, order: list[str], elapsed: float) -> None:
    everything = [ms for name in order for ms in recorder.samples.get(name, [])]
    width = max(len(n) for n in order + ["overall"])
    print(
        f"\n{'route':<{width}}  {'n':>5}  {'p50 ms':>7}  {'p95 ms':>7}  {'max ms':>7}  "
        f"p95≤{TARGET_P95_MS:.0f}  errors"
    )
    print("-" * (width + 52))
    meeting = 0
    for name in order + ["overall"]:
        values = everything if name == "overall" else recorder.samples.get(name, [])
        if not values:
            continue
        errors = (
            sum(len(e) for e in recorder.errors.values())
            if name == "overall"
            else len(recorder.errors.get(name, []))
        )
        p95 = pct(values, 95)
        ok = p95 <= TARGET_P95_MS
        meeting += ok and name != "overall"
        print(
            f"{name:<{width}}  {len(values):>5}  {statistics.median(values):>7.1f}  {p95:>7.1f}  "
            f"{max(values):>7.1f}  {'yes' if ok else 'NO ':>6}  {errors or ''}"
        )
    print("-" * (width + 52))
    print(
        f"{meeting} of {len(order)} routes meet p95 ≤ {TARGET_P95_MS:.0f} ms; "
        f"{len(everything)} requests in {elapsed:.1f} s ({len(everything) / elapsed:.0f} req/s)"
    )
    for name, errors in recorder.errors.items():
        print(f"  errors on {name}: {sorted(set(errors))[:3]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=20, help="measured rounds per client (max)")
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="time budget for the measured rounds"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sigmasight-bench-"))
    db_url = f"sqlite:///{workdir / 'bench.db'}"
    # Before anything imports webapp: its config classes read the environment at import time.
    os.environ.update(
        SIGMASIGHT_ENV="development",
        DATABASE_URL=db_url,
        SECRET_KEY=secrets.token_hex(32),
        LOGIN_RATE_LIMIT="100 per minute",  # 8 logins from one address within a second
    )
    from webapp.embedded_redis import free_port, start_redis, stop

    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    os.environ["REDIS_URL"] = redis_url
    redis_proc = start_redis(redis_port, workdir / "redis")
    gunicorn = None
    try:
        started = time.perf_counter()
        build_database(db_url, redis_url)
        print(f"database built in {time.perf_counter() - started:.1f} s: {db_url}", flush=True)

        port = free_port()
        gunicorn = start_gunicorn(
            ROOT, port, dict(os.environ), workdir / "gunicorn.log", workers=WORKERS, threads=THREADS
        )
        base = f"http://127.0.0.1:{port}"
        from webapp.services.demo import DEMO_BOOKS, DEMO_PASSWORD

        sessions, books = [], {}
        for i in range(args.clients):
            email = DEMO_BOOKS[i % len(DEMO_BOOKS)].email
            session = browser_login(base, email, DEMO_PASSWORD, timeout=10)
            if email not in books:
                books[email] = discover(base, session)
            sessions.append((session, books[email]))

        print("config:")
        print(
            f"  gunicorn {WORKERS} workers × {THREADS} threads on {base} "
            "(SIGMASIGHT_ENV=development)"
        )
        print(f"  database SQLite {workdir / 'bench.db'}; Redis embedded on 127.0.0.1:{redis_port}")
        print(
            f"  {args.clients} concurrent clients "
            "(requests.Session, logged in through the form) over "
            f"{len(books)} demo books; up to {args.rounds} measured rounds × "
            f"{len(routes_for(next(iter(books.values()))))} routes each after 1 warm-up round; "
            f"time budget {args.seconds:.0f} s"
        )
        print(
            f"  machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}",
            flush=True,
        )

        recorder = Recorder()
        done_rounds = [0] * args.clients
        t0: list[float] = []
        start_line = threading.Barrier(args.clients, action=lambda: t0.append(time.monotonic()))
        threads = [
            threading.Thread(
                target=client_loop,
                daemon=True,
                args=(
                    i,
                    base,
                    session,
                    routes_for(book),
                    book["pid"],
                    args.rounds,
                    args.seconds,
                    start_line,
                    t0,
                    recorder,
                    done_rounds,
                ),
            )
            for i, (session, book) in enumerate(sessions)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 300)
        elapsed = time.monotonic() - t0[0]
        order = [r.name for r in routes_for(next(iter(books.values())))]
        print(f"  measured rounds completed per client: {done_rounds}")
        report(recorder, order, elapsed)
        return 0 if not recorder.errors else 1
    finally:
        if gunicorn is not None:
            stop(gunicorn)
        stop(redis_proc)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

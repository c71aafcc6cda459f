"""Page benchmark: every dashboard page and HTMX partial under gunicorn, N concurrent advisors.

Run ``.venv/bin/python bench/pages.py [--rounds 20] [--seconds 60] [--clients 8]`` for the demo
books, or ``... --book-size 2000`` for one synthetic book of that many positions
(``bench/engines.add_synthetic_book``: stocks, shorts, ~10% options) that every client drives.

It builds its own SQLite database in a temp dir (migrations, bundled prices, the demo books or
the synthetic book, one batch per book, all through the app's own services), starts an embedded
Redis and gunicorn (SIGMASIGHT_ENV=development, 2 workers × 8 threads by default) on free
loopback ports,
logs each client in through the login form (CSRF token from the form), then drives every page
and every HTMX partial (``HX-Request: true`` + ``HX-Target``) of its book — positions pages and
sorts, overview pages, look-backs the batch stores and look-backs it does not — for a bounded
number of rounds, stopping early at the time budget. One unmeasured warm-up round per client
comes first. Prints p50/p95/max in ms and the HTML bytes per route against the issue's target
(demo books: p95 ≤ 50 ms at 8 clients, ≤ 150 ms above; a large book: ≤ 150 ms) with PASS/FAIL,
and the load average before and after. Loopback only; gunicorn and Redis are stopped on the
way out, whatever happens.
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
from _common import browser_login, load_average, migrated_app, start_gunicorn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

WORKERS, THREADS = 2, 8  # what `make run` starts (webapp/devserver.py)
AS_OF = "2026-08-03"
# The targets (p95, ms): demo books at up to 8 clients, demo books above, a large book.
DEMO_TARGET_MS, DEMO_BUSY_TARGET_MS, LARGE_TARGET_MS = 50.0, 150.0, 150.0
DEMO_TARGET_CLIENTS = 8
BENCH_PASSWORD = "bench-password-1"  # what bench/engines.add_synthetic_book gives its advisor


def target_ms(clients: int, book_size: int) -> float:
    """The p95 target of this run: a large book, or the demo books at this many clients."""
    if book_size:
        return LARGE_TARGET_MS
    return DEMO_TARGET_MS if clients <= DEMO_TARGET_CLIENTS else DEMO_BUSY_TARGET_MS


@dataclass(frozen=True)
class Route:
    name: str
    path: str  # relative to /portfolios/{pid}, or absolute when it starts with "//"
    target: str | None = None  # HX-Target for an HTMX partial; None = full page

    def url(self, base: str, pid: int) -> str:
        if self.path.startswith("//"):
            return base + self.path[1:]
        return f"{base}/portfolios/{pid}{self.path}"


def routes_for(book: dict, only: tuple[str, ...] = ()) -> list[Route]:
    """Every page and every HTMX partial the pages' controls request, for one book.

    ``only``: keep the routes whose name contains one of these words (all when empty).
    """
    routes = [
        Route("page portfolio list", "//portfolios/"),
        Route("page positions", ""),
        Route(
            "htmx positions sort",
            "?sort=symbol&dir=asc&page=1&per_page=50",
            "positions-list",
        ),
        Route(
            "htmx positions page 2",
            "?sort=weight&dir=desc&page=2&per_page=50",
            "positions-list",
        ),
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
        Route(  # not a stored window: computed on request, then cached per book version
            "htmx correlations 45d",
            "/correlations?lookback_days=45&min_overlap=30&max_symbols=25",
            "heatmap",
        ),
        Route("htmx factors page 2", "/factors?page=2&symbol=", "factor-positions"),
        Route("htmx factors symbol", f"/factors?symbol={book['symbol']}", "factor-positions"),
        Route("htmx risk 180d", "/risk?lookback_days=180", "risk-metrics"),
        Route("htmx risk 120d", "/risk?lookback_days=120", "risk-metrics"),  # not stored
        Route("htmx stress category", "/stress?category=historical", "stress-scenarios"),
        Route("htmx stress scenario", f"/stress?scenario={book['scenario']}", "scenario-detail"),
        Route("htmx job progress", f"/runs/{book['run_id']}/progress", f"run-{book['run_id']}"),
    ]
    return [r for r in routes if not only or any(word in r.name for word in only)]


# --- setup -----------------------------------------------------------------------------------


def build_database(db_url: str, redis_url: str, book_size: int) -> list[tuple[str, str]]:
    """Migrated SQLite DB with bundled prices, the books and a finished batch for each.

    The demo books, or (``book_size`` > 0) one synthetic book of that many positions. Returns
    the (email, password) of the advisors whose books the clients drive.
    """
    from webapp.extensions import db
    from webapp.services.batch import run_portfolio_batch
    from webapp.services.demo import DEMO_BOOKS, DEMO_PASSWORD, seed_demo
    from webapp.services.runs import all_portfolio_ids

    app = migrated_app(db_url, REDIS_URL=redis_url)
    with app.app_context():
        if book_size:
            from engines import add_synthetic_book  # after the environment is set

            from webapp.models import Portfolio, User

            ids = [add_synthetic_book(book_size)]
            owner = db.session.get(User, db.session.get(Portfolio, ids[0]).user_id)
            advisors = [(owner.email, BENCH_PASSWORD)]
        else:
            seed_demo()
            ids = all_portfolio_ids()
            advisors = [(b.email, DEMO_PASSWORD) for b in DEMO_BOOKS]
        for pid in ids:
            run = run_portfolio_batch(pid, trigger="bench")
            if run.status != "succeeded":
                raise RuntimeError(f"batch for portfolio {pid} ended {run.status}: {run.error}")
        db.session.remove()
        db.engine.dispose()
    return advisors


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
        self.bytes: dict[str, list[int]] = {}

    def add(self, name: str, ms: float, error: str | None, size: int | None = None) -> None:
        with self.lock:
            self.samples.setdefault(name, []).append(ms)
            if size is not None:
                self.bytes.setdefault(name, []).append(size)
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
            size = None
            try:
                response = session.get(route.url(base, pid), headers=headers, timeout=30)
                error = check(route, response)
                size = len(response.content)  # the HTML, after any gzip/brotli on the wire
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}"
            ms = (time.perf_counter() - started) * 1000
            if round_no:
                recorder.add(route.name, ms, error, size)
        if round_no:
            done_rounds[index] = round_no


def pct(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(recorder: Recorder, order: list[str], elapsed: float, target: float) -> bool:
    """Print the table; True when every route meets the target without errors."""
    everything = [ms for name in order for ms in recorder.samples.get(name, [])]
    width = max(len(n) for n in order + ["overall"])
    print(
        f"\n{'route':<{width}}  {'n':>5}  {'p50 ms':>7}  {'p95 ms':>7}  {'max ms':>7}  "
        f"{'HTML bytes':>10}  target     errors"
    )
    print("-" * (width + 72))
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
        sizes = recorder.bytes.get(name) or [0]
        p95 = pct(values, 95)
        ok = p95 <= target and not errors
        meeting += ok and name != "overall"
        print(
            f"{name:<{width}}  {len(values):>5}  {statistics.median(values):>7.1f}  {p95:>7.1f}  "
            f"{max(values):>7.1f}  {max(sizes):>10,}  ≤{target:.0f} {'PASS' if ok else 'FAIL'}"
            f"  {errors or ''}"
        )
    print("-" * (width + 72))
    print(
        f"{meeting} of {len(order)} routes meet p95 ≤ {target:.0f} ms; "
        f"{len(everything)} requests in {elapsed:.1f} s ({len(everything) / elapsed:.0f} req/s)"
    )
    for name, errors in recorder.errors.items():
        print(f"  errors on {name}: {sorted(set(errors))[:3]}")
    return meeting == len(order)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per gunicorn worker")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=20, help="measured rounds per client (max)")
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="time budget for the measured rounds"
    )
    parser.add_argument(
        "--book-size",
        type=int,
        default=0,
        help="drive one synthetic book of this many positions instead of the demo books",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated words: drive only the routes whose name contains one "
        "(e.g. positions,overview), to see them without the others' load",
    )
    args = parser.parse_args()
    only = tuple(w.strip() for w in args.only.split(",") if w.strip())
    target = target_ms(args.clients, args.book_size)

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
        advisors = build_database(db_url, redis_url, args.book_size)
        print(f"database built in {time.perf_counter() - started:.1f} s: {db_url}", flush=True)

        port = free_port()
        gunicorn = start_gunicorn(
            ROOT,
            port,
            dict(os.environ),
            workdir / "gunicorn.log",
            workers=args.workers,
            threads=args.threads,
        )
        base = f"http://127.0.0.1:{port}"
        sessions, books = [], {}
        for i in range(args.clients):
            email, password = advisors[i % len(advisors)]
            session = browser_login(base, email, password, timeout=10)
            if email not in books:
                books[email] = discover(base, session)
            sessions.append((session, books[email]))

        order = [r.name for r in routes_for(next(iter(books.values())), only)]
        print("config:")
        print(
            f"  gunicorn {args.workers} workers × {args.threads} threads on {base} "
            "(SIGMASIGHT_ENV=development)"
        )
        print(f"  database SQLite {workdir / 'bench.db'}; Redis embedded on 127.0.0.1:{redis_port}")
        print(
            f"  {args.clients} concurrent clients "
            "(requests.Session, logged in through the form) over "
            + (
                f"one synthetic book of {args.book_size:,} positions"
                if args.book_size
                else f"{len(books)} demo books"
            )
            + f"; up to {args.rounds} measured rounds × "
            f"{len(order)} routes each after 1 warm-up round; "
            f"time budget {args.seconds:.0f} s"
        )
        print(
            f"  machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}",
            flush=True,
        )
        print(f"  target: every route p95 ≤ {target:.0f} ms; load average {load_average()}")

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
                    routes_for(book, only),
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
        print(f"  measured rounds completed per client: {done_rounds}")
        passed = report(recorder, order, elapsed, target)
        print(f"load average after: {load_average()}")
        return 0 if passed else 1
    finally:
        if gunicorn is not None:
            stop(gunicorn)
        stop(redis_proc)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

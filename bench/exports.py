"""Export benchmark: the XLSX workbook of 2,000 / 6,120 / 20,000-position books, before vs after.

Run ``.venv/bin/python bench/exports.py [--sizes 2000 6120 20000] [--before REV] [--no-batch]
[--profile SIZE]``.

It builds its own SQLite database in a temp dir (migrations, bundled prices), draws one book per
size with a seeded rng from the bundled symbols (longs and shorts, ~10% options, tags, strategies
and notes), runs the batch for each so every sheet has stored results (``--no-batch`` skips it:
the analytics sheets then say "not available"), and times ``portfolio_xlsx`` in-process. With
``--before REV`` the same books are also exported by ``webapp/services/exports.py`` as it was at
REV (loaded from ``git show`` into a temporary module); sizes above ``--before-max`` are skipped
for the old code because it is quadratic. ``--profile SIZE`` prints a cProfile of one export.
Prints seconds, bytes and the load average before and after each measurement.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # 2 shared cores: no BLAS thread pools

import argparse  # noqa: E402
import cProfile  # noqa: E402
import datetime as dt  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from _common import load_average, migrated_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

OPTION_UNDERLYINGS = ("SPY", "QQQ", "AAPL", "MSFT", "NVDA", "JPM", "XOM")
EXPIRIES = (dt.date(2026, 9, 18), dt.date(2026, 12, 18), dt.date(2027, 1, 15))
STRATEGIES = ("Core", "Income", "Hedges", '=HYPERLINK("x")', None)  # one formula-looking text


def book_rows(n: int, seed: int) -> list[dict]:
    """``n`` position rows (column dicts) drawn from the bundled symbols, entry at real closes."""
    import numpy as np
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import PriceBar

    as_of = db.session.scalar(select(func.max(PriceBar.date)))
    recent = as_of - dt.timedelta(days=30)
    # Symbols still trading at the as-of date, with their last close as a (plausible) entry price.
    closes = dict(
        db.session.execute(
            select(PriceBar.symbol, func.max(PriceBar.adj_close))
            .where(PriceBar.date >= recent)
            .group_by(PriceBar.symbol)
        ).all()
    )
    symbols = sorted(s for s in closes if not s.startswith("^"))
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        long = rng.random() < 0.7
        entry = dt.date(2024, 1, 2) + dt.timedelta(days=int(rng.integers(0, 900)))
        strategy = STRATEGIES[i % len(STRATEGIES)]
        common = dict(
            entry_date=entry,
            strategy=strategy,
            notes=f"lot {i}" if i % 3 else "",
            created_at=dt.datetime(2026, 8, 1),
            updated_at=dt.datetime(2026, 8, 1),
        )
        if i % 10 == 9:
            underlying = str(rng.choice(OPTION_UNDERLYINGS))
            spot = closes[underlying]
            kind = "C" if rng.random() < 0.5 else "P"
            rows.append(
                dict(
                    common,
                    symbol=f"{underlying}{i:06d}{kind}",
                    underlying_symbol=underlying,
                    position_type=("L" if long else "S") + kind,
                    quantity=float(rng.integers(1, 30)) * (1 if long else -1),
                    entry_price=round(spot * 0.05, 2),
                    multiplier=100.0,
                    strike_price=float(max(5, round(spot * rng.uniform(0.85, 1.15) / 5) * 5)),
                    expiration_date=EXPIRIES[int(rng.integers(len(EXPIRIES)))],
                    implied_vol=round(float(rng.uniform(0.15, 0.55)), 4),
                )
            )
        else:
            symbol = str(rng.choice(symbols))
            shares = float(max(1, round(rng.uniform(5_000, 150_000) / closes[symbol])))
            rows.append(
                dict(
                    common,
                    symbol=symbol,
                    position_type="LONG" if long else "SHORT",
                    quantity=shares if long else -shares,
                    entry_price=round(closes[symbol], 4),
                    multiplier=1.0,
                )
            )
    return rows


def create_book(n: int, run_batch: bool) -> int:
    """A new advisor with an ``n``-position book (two tags per position); returns its id."""
    from sqlalchemy import insert, select

    from webapp.extensions import db
    from webapp.models import Portfolio, Position, Tag, User
    from webapp.models.portfolios import position_tags
    from webapp.services.batch import run_portfolio_batch

    user = User(email=f"bench-{n}@example.com")
    user.set_password("correct-horse-9")
    portfolio = Portfolio(owner=user, name=f"Bench {n:,}", cash=1_000_000.0)
    db.session.add(portfolio)
    db.session.flush()
    tags = [Tag(user_id=user.id, name=name) for name in ("core", "@risk", "tax-lot")]
    db.session.add_all(tags)
    db.session.flush()
    rows = book_rows(n, seed=n)
    db.session.execute(insert(Position), [dict(r, portfolio_id=portfolio.id) for r in rows])
    ids = db.session.scalars(
        select(Position.id).where(Position.portfolio_id == portfolio.id).order_by(Position.id)
    ).all()
    links = [
        {"position_id": pid, "tag_id": tags[k].id}
        for i, pid in enumerate(ids)
        for k in (i % 3, (i + 1) % 3)
    ]
    db.session.execute(insert(position_tags), links)
    db.session.commit()
    if run_batch:
        started = time.perf_counter()
        run = run_portfolio_batch(portfolio.id, trigger="bench")
        print(
            f"  batch for {n:,} positions: {run.status} in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    return portfolio.id


def old_exports(rev: str):
    """``webapp/services/exports.py`` as it was at ``rev``, imported as a separate module."""
    source = subprocess.run(
        ["git", "show", f"{rev}:webapp/services/exports.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="sigmasight-old-exports-")) / "exports_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("exports_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed_export(module, portfolio_id: int) -> tuple[float, int]:
    """Seconds and bytes of one cold XLSX export: a fresh session and no cached valuation."""
    from webapp.extensions import db
    from webapp.models import Portfolio
    from webapp.services import valuation

    db.session.remove()
    valuation._CACHE.clear()  # the first download after a price update values the book
    portfolio = db.session.get(Portfolio, portfolio_id)
    started = time.perf_counter()
    body = module.portfolio_xlsx(portfolio)
    return time.perf_counter() - started, len(body)


def check_workbook(body_module, portfolio_id: int, n: int) -> None:
    """The export opens and its Positions sheet has one row per position (plus header and as-of)."""
    from openpyxl import load_workbook

    from webapp.extensions import db
    from webapp.models import Portfolio

    db.session.remove()
    body = body_module.portfolio_xlsx(db.session.get(Portfolio, portfolio_id))
    wb = load_workbook(io.BytesIO(body), read_only=True)
    # Position rows have a Type; the blank line and the as-of line do not.
    rows = sum(
        1
        for r in wb["Positions"].iter_rows(min_row=2, values_only=True)
        if len(r) > 2 and r[2] is not None
    )
    if rows != n:
        raise RuntimeError(f"Positions sheet has {rows} rows, expected {n}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 6_120, 20_000])
    parser.add_argument("--before", metavar="REV", help="also time exports.py as it was at REV")
    parser.add_argument(
        "--before-max",
        type=int,
        default=20_000,
        help="largest size the old code is timed at (it is quadratic)",
    )
    parser.add_argument(
        "--no-batch", action="store_true", help="skip the batch (no stored results)"
    )
    parser.add_argument("--profile", type=int, metavar="SIZE", help="cProfile one export of SIZE")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sigmasight-bench-exports-"))
    db_url = f"sqlite:///{workdir / 'bench.db'}"
    try:
        started = time.perf_counter()
        app = migrated_app(db_url)
        from webapp.extensions import db
        from webapp.services import exports

        before = old_exports(args.before) if args.before else None
        with app.app_context():
            books = {n: create_book(n, not args.no_batch) for n in args.sizes}
            print(f"database built in {time.perf_counter() - started:.1f} s: {db_url}")
            print(
                f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
                f"load average at start {load_average()}"
            )
            for n, pid in books.items():
                check_workbook(exports, pid, n)
                timed_export(exports, pid)  # warm-up: lazy imports, SQLite page cache
            print(
                f"\n{'positions':>9}  {'version':<12} {'seconds':>8}  {'bytes':>11}  load average"
            )
            for n, pid in books.items():
                versions = [("after", exports)]
                if before is not None and n <= args.before_max:
                    versions.insert(0, (f"before {args.before[:7]}", before))
                for label, module in versions:
                    seconds, size = timed_export(module, pid)
                    print(
                        f"{n:>9,}  {label:<12} {seconds:>8.2f}  {size:>11,}  {load_average()}",
                        flush=True,
                    )
            if args.profile:
                pid = books[args.profile]
                from webapp.models import Portfolio
                from webapp.services import valuation

                db.session.remove()
                valuation._CACHE.clear()
                portfolio = db.session.get(Portfolio, pid)
                profiler = cProfile.Profile()
                profiler.runcall(exports.portfolio_xlsx, portfolio)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            db.session.remove()
            db.engine.dispose()
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

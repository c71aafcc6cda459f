"""Client report benchmark: seconds to build the PDF of a 2,000-position book (target ≤ 20 s).

Run ``.venv/bin/python bench/reports.py [--positions 2000] [--repeat 3] [--profile]``.

It builds its own SQLite database in a temp dir (migrations, bundled prices), draws the book
``bench/exports.py`` draws (longs and shorts, ~10% options; seeded), runs its batch so every
section has stored results, and times ``services.reports.build_pdf`` in-process on a fresh
session each time (the stored results are read back, the valuation cache does not apply).
Prints each run, the median with the load average before and after, the pages and the bytes,
and whether the median meets the target.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # 2 shared cores: no BLAS thread pools

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from _common import load_average, migrated_app  # noqa: E402
from exports import create_book  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 20.0


def timed_report(portfolio_id: int) -> tuple[float, bytes]:
    """Seconds and bytes of one report build on a fresh session."""
    from webapp.extensions import db
    from webapp.models import Portfolio
    from webapp.services.reports import build_pdf

    db.session.remove()
    portfolio = db.session.get(Portfolio, portfolio_id)
    started = time.perf_counter()
    pdf = build_pdf(portfolio)
    return time.perf_counter() - started, pdf


def check_pdf(pdf: bytes) -> int:
    """The PDF opens, says "Page 1 of m" and lists the holdings; its page count."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    first = reader.pages[0].extract_text()
    if f"Page 1 of {pages}" not in first:
        raise RuntimeError("the first page has no 'Page 1 of m' footer")
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one more build")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sigmasight-bench-reports-"))
    try:
        app = migrated_app(f"sqlite:///{tmp / 'bench.db'}")
        with app.app_context():
            portfolio_id = create_book(args.positions, run_batch=True)
            timed_report(portfolio_id)  # warm-up: fonts registered, modules imported
            before = load_average()
            runs = []
            for _ in range(args.repeat):
                seconds, pdf = timed_report(portfolio_id)
                runs.append(seconds)
                print(f"  build: {seconds:.2f} s", flush=True)
            after = load_average()
            pages = check_pdf(pdf)
            median = statistics.median(runs)
            verdict = "meets" if median <= TARGET_SECONDS else "MISSES"
            print(
                f"report of {args.positions:,} positions: median {median:.2f} s of "
                f"{args.repeat} ({pages} pages, {len(pdf) / 1024:,.0f} KB); load average "
                f"{before} before, {after} after; {verdict} the {TARGET_SECONDS:.0f} s target"
            )
            if args.profile:
                profile = cProfile.Profile()
                profile.enable()
                timed_report(portfolio_id)
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

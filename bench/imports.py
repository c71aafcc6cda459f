"""Benchmark: validate and commit generated holdings files (issue 14 targets for 20,000 rows).

Run: .venv/bin/python bench/imports.py [--runs 5] [--no-commit]

Validation runs in memory (``validate_holdings_file``, no app) on a template file and a Schwab
export of 10,000 and 20,000 rows. The commit goes through the app's own service
(``services.imports.commit_import``: the portfolio, its positions, tag links and ledger rows in one
write transaction) into a throwaway migrated SQLite database, a new portfolio per run. Every
figure is the median wall time of ``--runs`` runs (with the median CPU time of this process
beside it), printed with microseconds per row, the ratio to a bare ``csv.reader`` pass over the
same bytes, the target with PASS/FAIL and the load average (2 shared cores: a loaded machine
measures slower). Exits 1 when a 20,000-row figure misses its target.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # 2 shared cores: no BLAS thread pools

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime as dt  # noqa: E402
import io  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere without installing
    sys.path.insert(0, str(ROOT))

from _common import load_average, migrated_app  # noqa: E402

from webapp.imports import validate_holdings_file  # noqa: E402

KNOWN = frozenset({"AAPL", "MSFT", "SPY", "QQQ", "NVDA", "AMZN", "GOOGL", "META", "JPM", "XOM"})
TICKERS = sorted(KNOWN) + ["ZZZA", "ZZZB"]  # a few without market data, as in real books
TARGET_ROWS = 20_000
VALIDATE_TARGET_S = 0.3  # issue 14: 20,000 rows validated in at most 0.3 s
COMMIT_TARGET_S = 2.0  # ... and committed in at most 2 s


def canonical(rows: int) -> bytes:
    """A template-format file: stocks, shorts and OSI options with tags and notes."""
    lines = ["ticker,quantity,entry_price,entry_date,tags,strategy,notes"]
    for i in range(rows):
        ticker = TICKERS[i % len(TICKERS)]
        date = dt.date(2020, 1, 1) + dt.timedelta(days=i % 1500)
        if i % 5 == 4:
            ticker = f"{ticker}{27 + i % 3:02d}0115{'CP'[i % 2]}{(100 + i % 400) * 1000:08d}"
        qty = (i + 1) * (-1 if i % 7 == 0 else 1)  # unique lots: no duplicate_row rejections
        lines.append(
            f"{ticker},{qty},{50 + (i * 37) % 500}.{i % 100:02d},"
            f"{date.isoformat()},core;lot{i % 9},,note {i}"
        )
    return ("\n".join(lines) + "\n").encode()


def schwab(rows: int) -> bytes:
    """A Schwab positions export: all-quoted money cells, total cost basis, as-of date."""
    head = (
        '"Positions for account Individual ...123 as of 12:33 PM ET, 2025/05/04"\n\n'
        '"Symbol","Description","Qty (Quantity)","Price","Mkt Val (Market Value)",'
        '"Cost Basis","Security Type"\n'
    )
    body = "".join(
        f'"{TICKERS[i % len(TICKERS)]}","DESC {i}","{i + 1:,}","$101.25","$1,234.00",'
        f'"${(i + 1) * 97 + i % 13:,}.50","Equity"\n'
        for i in range(rows)
    )
    return (head + body + '"Account Total","--","--","--","$1.00","$1.00","--"\n').encode()


def median_seconds(run: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``runs`` calls (after one untimed warm-up call).

    The target is wall time; the CPU time (this process only) shows how much of it other load
    on the machine took.
    """
    run()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def bare_parse(data: bytes) -> int:
    """The floor: decode and split the bytes with csv.reader, nothing else."""
    return sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def validate(data: bytes, rows: int):
    return validate_holdings_file(
        data,
        filename="bench.csv",
        known_symbols=KNOWN,
        max_bytes=50 * 1024 * 1024,
        max_rows=rows,
        today=dt.date(2026, 11, 24),
    )


def verdict(seconds: float, target: float) -> str:
    return f"target <= {target:g} s {'PASS' if seconds <= target else 'FAIL'}"


def bench_validate(label: str, data: bytes, rows: int, runs: int) -> float:
    report = validate(data, rows)
    assert report.file_error is None, report.file_error
    assert len(report.accepted) == rows, (len(report.accepted), len(report.rejected))
    seconds, cpu = median_seconds(lambda: validate(data, rows), runs)
    floor, _ = median_seconds(lambda: bare_parse(data), runs)
    target = f"  {verdict(seconds, VALIDATE_TARGET_S)}" if rows == TARGET_ROWS else ""
    print(
        f"validate {label:<17} {rows:>6} rows  {len(data) / 1e6:5.2f} MB  {seconds:6.3f} s "
        f"(cpu {cpu:5.3f} s)  {seconds / rows * 1e6:5.1f} us/row  {seconds / floor:5.1f}x "
        f"csv.reader ({floor * 1e3:.1f} ms){target}",
        flush=True,
    )
    return seconds


def bench_commit(data: bytes, rows: int, runs: int) -> float:
    """Median seconds of ``commit_import`` for a validated ``rows``-row file (temp SQLite DB)."""
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import Position, User
    from webapp.services import imports as svc

    workdir = Path(tempfile.mkdtemp(prefix="sigmasight-bench-commit-"))
    try:
        app = migrated_app(f"sqlite:///{workdir / 'bench.db'}")
        with app.app_context():
            user = User(email="bench-commit@example.com")
            user.set_password("bench-password-1")
            db.session.add(user)
            db.session.commit()
            report = svc.validate_upload(data, "bench.csv")
            assert report.file_error is None and len(report.accepted) == rows
            wall, cpu = [], []
            for run in range(runs + 1):  # the first run warms up (and is checked, not timed)
                db.session.expire_all()
                start, start_cpu = time.perf_counter(), time.process_time()
                portfolio = svc.commit_import(user.id, {"name": f"Bench {run}", "cash": ""}, report)
                seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
                stored = db.session.scalar(
                    select(func.count()).where(Position.portfolio_id == portfolio.id)
                )
                assert stored == rows, stored
                if run:
                    wall.append(seconds)
                    cpu.append(cpu_seconds)
            db.session.remove()
            db.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    seconds = statistics.median(wall)
    print(
        f"commit   canonical         {rows:>6} rows  {'':>8}  {seconds:6.3f} s "
        f"(cpu {statistics.median(cpu):5.3f} s)  {seconds / rows * 1e6:5.1f} us/row  "
        f"(positions, tag links, ledger rows)  "
        f"{verdict(seconds, COMMIT_TARGET_S) if rows == TARGET_ROWS else ''}",
        flush=True,
    )
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--no-commit", action="store_true", help="validation only (no database)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average before {load_average()}", flush=True)
    passed = True
    for rows in (10_000, TARGET_ROWS):
        seconds = bench_validate("canonical", canonical(rows), rows, args.runs)
        passed &= rows != TARGET_ROWS or seconds <= VALIDATE_TARGET_S
    for rows in (10_000, TARGET_ROWS):
        seconds = bench_validate("schwab_positions", schwab(rows), rows, args.runs)
        passed &= rows != TARGET_ROWS or seconds <= VALIDATE_TARGET_S
    if not args.no_commit:
        passed &= bench_commit(canonical(TARGET_ROWS), TARGET_ROWS, args.runs) <= COMMIT_TARGET_S
    print(f"load average after {load_average()}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

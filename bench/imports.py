"""Benchmark: validate generated 10k- and 20k-row holdings files in memory.

Run: .venv/bin/python bench/imports.py
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parent.parent)
)  # run from anywhere without installing

from webapp.imports import validate_holdings_file  # noqa: E402

KNOWN = frozenset({"AAPL", "MSFT", "SPY", "QQQ", "NVDA", "AMZN", "GOOGL", "META", "JPM", "XOM"})
TICKERS = sorted(KNOWN) + ["ZZZA", "ZZZB"]  # a few without market data, as in real books


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


def bench(label: str, data: bytes, rows: int) -> None:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        report = validate_holdings_file(
            data,
            filename="bench.csv",
            known_symbols=KNOWN,
            max_bytes=50 * 1024 * 1024,
            max_rows=rows,
            today=dt.date(2026, 11, 24),
        )
        best = min(best, time.perf_counter() - start)
    assert report.file_error is None, report.file_error
    handled = len(report.accepted) + len(report.rejected)
    print(
        f"{label:<22} {rows:>6} rows  {len(data) / 1e6:5.2f} MB  {best:6.3f} s  "
        f"{handled / best:>9,.0f} rows/s  "
        f"(accepted {len(report.accepted)}, rejected {len(report.rejected)})"
    )


def main() -> None:
    for rows in (10_000, 20_000):
        bench("canonical", canonical(rows), rows)
    for rows in (10_000, 20_000):
        bench("schwab_positions", schwab(rows), rows)


if __name__ == "__main__":
    main()

"""Insert-only sync with gap detection, against the session database."""

import datetime as dt
import gzip

import pandas as pd
import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.marketdata.base import BAR_COLUMNS
from webapp.marketdata.bundled import DATA_DIR
from webapp.marketdata.sync import missing_ranges, sync_prices
from webapp.models import PriceBar, RiskFreeRate, Security


class FakeProvider:
    """Serves a fixed frame and records which ranges were asked for."""

    name = "fake"

    def __init__(self, bars: pd.DataFrame):
        self.bars = bars
        self.calls: list[tuple[tuple[str, ...], dt.date | None, dt.date | None]] = []

    def available_symbols(self):
        return sorted(self.bars["symbol"].unique())

    def fetch_daily_bars(self, symbols, start, end):
        self.calls.append((tuple(symbols), start, end))
        b = self.bars[self.bars["symbol"].isin(symbols)]
        if start is not None:
            b = b[b["date"] >= start]
        if end is not None:
            b = b[b["date"] <= end]
        return b.reset_index(drop=True)


def spy_calendar(n: int, start=dt.date(2026, 1, 2)) -> list[dt.date]:
    return list(
        db.session.scalars(
            select(PriceBar.date)
            .where(PriceBar.symbol == "SPY", PriceBar.date >= start)
            .order_by(PriceBar.date)
            .limit(n)
        )
    )


def bars_for(symbol: str, dates, base: float = 100.0) -> pd.DataFrame:
    rows = [
        {
            "symbol": symbol,
            "date": d,
            "open": None,
            "high": None,
            "low": None,
            "close": base + i,
            "adj_close": base + i,
            "volume": 1000 + i,
        }
        for i, d in enumerate(dates)
    ]
    return pd.DataFrame(rows, columns=BAR_COLUMNS)


def stored(symbol: str) -> dict[dt.date, float]:
    rows = db.session.execute(
        select(PriceBar.date, PriceBar.adj_close).where(PriceBar.symbol == symbol)
    )
    return dict(rows.all())


def test_resync_adds_nothing_and_changes_nothing(ctx):
    days = spy_calendar(20)
    provider = FakeProvider(bars_for("ZZONE", days))
    first = sync_prices(provider)
    assert first.inserted == 20
    before = stored("ZZONE")
    again = sync_prices(provider)
    assert again.inserted == 0
    assert stored("ZZONE") == before


def test_stored_bar_is_never_overwritten(ctx):
    days = spy_calendar(10)
    sync_prices(FakeProvider(bars_for("ZZKEEP", days, base=50.0)))
    revised = bars_for("ZZKEEP", days, base=999.0)
    report = sync_prices(FakeProvider(revised))
    assert report.inserted == 0
    assert stored("ZZKEEP")[days[0]] == 50.0


def test_gap_detection_requests_only_missing_ranges(ctx):
    days = spy_calendar(30)
    holey = [d for i, d in enumerate(days) if not 10 <= i <= 13]
    sync_prices(FakeProvider(bars_for("ZZGAP", holey)))
    assert len(stored("ZZGAP")) == 26
    provider = FakeProvider(bars_for("ZZGAP", days))
    report = sync_prices(provider, symbols=["ZZGAP"], start=days[0], end=days[-1])
    assert ((("ZZGAP",), days[10], days[13])) in provider.calls
    assert report.inserted == 4
    assert len(stored("ZZGAP")) == 30


def test_missing_ranges_cases():
    cal = [dt.date(2026, 1, d) for d in (2, 5, 6, 7, 8, 9, 12)]
    assert missing_ranges([], cal, None, None) == [(None, None)]
    have = [cal[1], cal[2], cal[4], cal[5]]
    got = missing_ranges(have, cal, cal[0], cal[-1])
    assert got == [
        (cal[0], cal[1] - dt.timedelta(days=1)),
        (cal[3], cal[3]),
        (cal[5] + dt.timedelta(days=1), cal[-1]),
    ]


def test_bundled_dataset_fully_loaded(ctx):
    with gzip.open(DATA_DIR / "prices_adjclose_extended.csv.gz", "rt") as fh:
        extended = pd.read_csv(fh)
    ohlcv = pd.read_csv(DATA_DIR / "prices.csv.gz")
    expected = len(extended) + len(ohlcv[~ohlcv["symbol"].isin(extended["symbol"].unique())])
    count = db.session.scalar(
        select(func.count()).select_from(PriceBar).where(PriceBar.source == "bundled")
    )
    assert count == expected == 222_830
    # adjusted close from the extended file, OHLCV from prices.csv.gz where it has the day
    bar = db.session.scalar(
        select(PriceBar).where(PriceBar.symbol == "AAPL", PriceBar.date == dt.date(2026, 8, 3))
    )
    want = extended[(extended.symbol == "AAPL") & (extended.date == "2026-08-03")].adj_close.item()
    assert bar.adj_close == pytest.approx(want, abs=1e-9) and bar.open is None
    old = db.session.scalar(
        select(PriceBar).where(PriceBar.symbol == "AAPL", PriceBar.date == dt.date(2020, 3, 23))
    )
    row = ohlcv[(ohlcv.symbol == "AAPL") & (ohlcv.date == "2020-03-23")].iloc[0]
    assert old.open == pytest.approx(row.open) and old.volume == row.volume
    assert db.session.scalar(select(func.count()).select_from(Security)) == 104
    assert db.session.scalar(select(func.count()).select_from(RiskFreeRate)) == 2157


def test_sync_cli_is_idempotent_on_bundled_data(runner):
    result = runner.invoke(args=["marketdata", "sync"])
    assert result.exit_code == 0, result.output
    assert "0 bars inserted" in result.output


def test_coverage_cli_reports_gaps_and_staleness(runner, ctx):
    days = spy_calendar(15, start=dt.date(2026, 3, 2))
    sync_prices(FakeProvider(bars_for("ZZCOV", days[:5] + days[8:])))
    result = runner.invoke(
        args=["marketdata", "coverage", "--symbol", "ZZCOV", "--symbol", "UNH", "--gaps"]
    )
    assert result.exit_code == 0, result.output
    lines = {
        line.split()[0]: line.split()
        for line in result.output.splitlines()[1:]
        if not line.startswith(" ")
    }
    assert lines["ZZCOV"][3:5] == ["12", "3"]  # 12 trading days stored, 3 missing
    assert f"gap {days[5]} .. {days[7]}" in result.output
    assert lines["UNH"][2] == "2023-10-27" and int(lines["UNH"][6]) > 600  # stale since 2023


def test_factor_definitions_are_reference_data(ctx):
    from webapp.analytics.factors import FACTORS
    from webapp.marketdata.sync import sync_factor_definitions
    from webapp.models import FactorDefinition
    from webapp.services.factor_exposures import factor_definitions

    rows = factor_definitions()
    assert [r["name"] for r in rows] == [f.name for f in FACTORS]
    assert {r["name"]: r["etf_symbol"] for r in rows}["Value"] == "VTV"
    assert sync_factor_definitions() == 0  # already there: nothing inserted
    assert db.session.scalar(select(func.count()).select_from(FactorDefinition)) == 8


def test_factor_definitions_follow_the_engine_when_it_redefines_a_factor(ctx):
    from webapp.analytics.factors import FACTORS
    from webapp.marketdata.sync import sync_factor_definitions
    from webapp.models import FactorDefinition

    growth = db.session.scalar(select(FactorDefinition).where(FactorDefinition.name == "Growth"))
    growth.etf_symbol, growth.construction = "VUG", "spread"  # a v1 row
    db.session.flush()
    assert sync_factor_definitions() == 1
    engine = next(f for f in FACTORS if f.name == "Growth")
    assert (growth.etf_symbol, growth.construction) == (engine.etf_symbol, engine.construction)
    assert sync_factor_definitions() == 0
    db.session.rollback()

"""The in-memory price panel gives exactly the frames SQL gives, and follows every insert."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from webapp.extensions import db
from webapp.models import PriceBar
from webapp.services import price_panel, queries

SYMBOLS = ["SPY", "AAPL", "MSFT", "UNH", "^GSPC", "XLK", "TLT", "NOPE"]


@pytest.fixture()
def bars(ctx):
    """add(symbol, day, adj_close, close=None): a committed bar, deleted after the test."""
    added = []

    def add(symbol: str, day: dt.date, adj_close: float | None, close: float | None = None):
        db.session.add(
            PriceBar(symbol=symbol, date=day, adj_close=adj_close, close=close, source="test")
        )
        db.session.commit()
        added.append(symbol)

    yield add
    db.session.rollback()
    db.session.execute(delete(PriceBar).where(PriceBar.symbol.in_(set(added))))
    db.session.commit()
    price_panel.clear()


def same(symbols, **kwargs) -> pd.DataFrame:
    got = queries.load_prices(symbols, **kwargs)
    pd.testing.assert_frame_equal(got, queries.query_prices(symbols, **kwargs))
    return got


dates = st.dates(dt.date(2017, 6, 1), dt.date(2026, 9, 1))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    symbols=st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=5),
    start=st.none() | dates,
    end=st.none() | dates,
    windows=st.none() | st.lists(st.tuples(dates, dates), max_size=4),
    column=st.sampled_from(["adj_close", "close"]),
)
def test_panel_frames_equal_the_sql_frames(ctx, symbols, start, end, windows, column):
    same(symbols, start=start, end=end, windows=windows, column=column)


def test_an_insert_is_seen_by_the_next_read(bars):
    before = same(["ZPNL", "SPY"], start=dt.date(2026, 7, 1))
    assert "ZPNL" not in before.columns
    bars("ZPNL", dt.date(2026, 7, 31), 10.0)
    after = same(["ZPNL", "SPY"], start=dt.date(2026, 7, 1))
    assert after.loc["2026-07-31", "ZPNL"] == 10.0
    # A backfilled older date, a date no other symbol has, and a bar without this column.
    bars("ZPNL", dt.date(2026, 7, 1), 9.0)
    bars("ZPNL", dt.date(2026, 8, 8), 11.0)  # a Saturday
    bars("ZPNL", dt.date(2026, 8, 9), 12.0, close=11.5)
    got = same(["ZPNL"], start=dt.date(2026, 6, 1))
    assert got["ZPNL"].to_dict() == {
        pd.Timestamp("2026-07-01"): 9.0,
        pd.Timestamp("2026-07-31"): 10.0,
        pd.Timestamp("2026-08-08"): 11.0,
        pd.Timestamp("2026-08-09"): 12.0,
    }
    closes = same(["ZPNL"], column="close")
    # Every bar is a row, but only one has a close: the others are there as NaN.
    assert len(closes) == 4 and closes["ZPNL"].dropna().tolist() == [11.5]


def test_incremental_reads_only_the_new_rows(bars, monkeypatch):
    queries.load_prices(["SPY"])  # the panel is current
    seen = []
    real = price_panel._read
    monkeypatch.setattr(
        price_panel, "_read", lambda c, above_id=0: seen.append(above_id) or real(c, above_id)
    )
    old_max = queries.price_version()
    bars("ZPNL", dt.date(2026, 8, 3), 1.0)
    same(["ZPNL"])
    assert seen[0] == old_max  # only the bars above the old max id were read
    seen.clear()
    same(["ZPNL"])
    assert seen == []  # unchanged: nothing read at all


def test_a_rolled_back_insert_does_not_linger(ctx):
    db.session.add(PriceBar(symbol="ZRBK", date=dt.date(2026, 8, 3), adj_close=5.0, source="t"))
    db.session.flush()
    assert "ZRBK" in queries.load_prices(["ZRBK"]).columns  # this transaction sees its own bar
    db.session.rollback()
    assert "ZRBK" not in same(["ZRBK", "SPY"]).columns


def test_panels_are_per_database(app, tmp_path):
    import flask_migrate

    from webapp import create_app

    other = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'o.db'}")
    with other.app_context():
        import contextlib
        import io

        with contextlib.redirect_stderr(io.StringIO()):
            flask_migrate.upgrade()
        db.session.add(PriceBar(symbol="SPY", date=dt.date(2026, 8, 3), adj_close=1.0, source="t"))
        db.session.commit()
        assert queries.load_prices(["SPY"])["SPY"].tolist() == [1.0]
        db.session.remove()
    with app.app_context():
        assert len(queries.load_prices(["SPY"])) > 1000

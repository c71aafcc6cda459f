"""Value history with purchases as flows, and period returns, on hand-worked cases."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from webapp.analytics.errors import NoPositions
from webapp.analytics.performance import period_returns, value_history

DATES = pd.bdate_range("2026-03-02", periods=5)


def valued(rows):
    base = dict(multiplier=1.0, status="ok", strike=np.nan, expiry=None, vol=np.nan)
    return pd.DataFrame([{**base, **r} for r in rows], index=range(1, len(rows) + 1))


def test_purchases_are_flows_not_gains():
    px = pd.DataFrame(
        {"A": [10.0, 11.0, 12.0, 12.0, 13.0], "B": [20.0, 20.0, 21.0, 22.0, 22.0]}, index=DATES
    )
    book = valued(
        [
            dict(
                symbol="A",
                underlying="A",
                position_type="LONG",
                quantity=10,
                entry_price=10.0,
                entry_date=DATES[0].date(),
            ),
            dict(
                symbol="B",
                underlying="B",
                position_type="LONG",
                quantity=5,
                entry_price=20.5,
                entry_date=DATES[2].date(),
            ),
        ]
    )
    h = value_history(book, px, cash=100.0, as_of=DATES[-1], rate_pct=0.0).frame
    assert h["equity"].tolist() == [200.0, 210.0, 220.0 + 105.0, 220.0 + 110.0, 230.0 + 110.0]
    # day 3: A gains 10, B enters at 20.5 and closes at 21 -> +2.5
    assert h["daily_pnl"].iloc[2] == pytest.approx(12.5)
    assert h["daily_return"].iloc[2] == pytest.approx(12.5 / 210.0)
    assert h["daily_return"].iloc[1] == pytest.approx(10 / 200.0)
    assert np.isnan(h["daily_return"].iloc[0])


def test_short_book_gains_when_prices_fall():
    px = pd.DataFrame({"A": [10.0, 9.0, 8.0]}, index=DATES[:3])
    book = valued(
        [
            dict(
                symbol="A",
                underlying="A",
                position_type="SHORT",
                quantity=-10,
                entry_price=10.0,
                entry_date=DATES[0].date(),
            )
        ]
    )
    h = value_history(book, px, cash=1000.0, as_of=DATES[2], rate_pct=0.0).frame
    assert h["daily_pnl"].iloc[1:].tolist() == pytest.approx([10.0, 10.0])


def test_no_positions_is_explicit():
    with pytest.raises(NoPositions):
        value_history(
            valued(
                [
                    dict(
                        symbol="A",
                        underlying="A",
                        position_type="LONG",
                        quantity=1,
                        entry_price=1.0,
                        entry_date=DATES[0].date(),
                        status="no_prices",
                    )
                ]
            ),
            pd.DataFrame(),
            0.0,
            DATES[-1],
            0.0,
        )


def test_period_returns_compound_and_flag_short_history():
    idx = pd.bdate_range("2025-01-01", "2026-08-03")
    r = pd.Series(0.001, index=idx)
    out = {p["period"]: p for p in period_returns(r, r * 2, dt.date(2026, 8, 3))}
    n = ((idx > pd.Timestamp("2026-07-03")) & (idx <= pd.Timestamp("2026-08-03"))).sum()
    assert out["1M"]["return"] == pytest.approx(1.001**n - 1)
    assert out["1M"]["benchmark_return"] == pytest.approx(1.002**n - 1)
    short = period_returns(r.loc["2026-06-01":], r, dt.date(2026, 8, 3))
    assert {p["period"]: p["available"] for p in short} == {
        "1M": True,
        "3M": False,
        "YTD": False,
        "1Y": False,
    }

"""Valuation and exposure totals on hand-worked books."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from webapp.analytics.exposures import exposure_summary, exposures_by_underlying, value_holdings
from webapp.analytics.options import option_greeks

DATES = pd.bdate_range("2026-01-01", periods=80)


def prices():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "AAA": 100 * np.cumprod(1 + rng.normal(0, 0.01, len(DATES))),
            "BBB": 50 * np.cumprod(1 + rng.normal(0, 0.02, len(DATES))),
        },
        index=DATES,
    )
    frame.loc[DATES[-30] :, "OLD"] = np.nan
    frame["OLD"] = np.where(DATES < DATES[-30], 10.0, np.nan)
    return frame


def holdings(rows):
    base = dict(
        underlying=None,
        multiplier=1.0,
        entry_date=dt.date(2026, 1, 2),
        strike=np.nan,
        expiry=None,
        implied_vol=np.nan,
        strategy=None,
    )
    out = []
    for r in rows:
        row = {**base, **r}
        row["underlying"] = row["underlying"] or row["symbol"]
        out.append(row)
    return pd.DataFrame(out, index=range(1, len(out) + 1))


def test_long_short_and_option_values_by_hand():
    px = prices()
    as_of = DATES[-1]
    book = holdings(
        [
            dict(symbol="AAA", position_type="LONG", quantity=10, entry_price=90.0),
            dict(symbol="BBB", position_type="SHORT", quantity=-20, entry_price=55.0),
            dict(
                symbol="AAA260918C00100000",
                underlying="AAA",
                position_type="SC",
                quantity=-2,
                multiplier=100.0,
                entry_price=3.0,
                strike=100.0,
                expiry=dt.date(2026, 9, 18),
                implied_vol=0.3,
            ),
        ]
    )
    v = value_holdings(book, px, as_of, 4.0)
    a, b = px["AAA"].iloc[-1], px["BBB"].iloc[-1]
    assert v.loc[1, "market_value"] == pytest.approx(10 * a)
    assert v.loc[1, "unrealized_pnl_pct"] == pytest.approx((a - 90) / 90)
    assert v.loc[2, "market_value"] == pytest.approx(-20 * b)
    assert v.loc[2, "unrealized_pnl"] == pytest.approx(-20 * (b - 55))
    days = (pd.Timestamp("2026-09-18") - as_of).days
    g = option_greeks(a, 100.0, 4.0, 0.3, days, call=True)
    assert v.loc[3, "market_value"] == pytest.approx(-2 * 100 * g.price)
    assert v.loc[3, "exposure"] == pytest.approx(g.delta * 100 * -2 * a)
    assert v.loc[3, "vol_source"] == "implied"
    s = exposure_summary(v, cash=1000.0)
    assert s.equity == pytest.approx(10 * a - 20 * b - 200 * g.price + 1000)
    assert s.long_exposure == pytest.approx(10 * a)
    assert s.short_exposure == pytest.approx(-20 * b - 200 * g.price)
    assert s.gross_exposure == pytest.approx(10 * a + 20 * b + 200 * g.price)
    assert s.delta_net_exposure == pytest.approx(10 * a - 20 * b + g.delta * 100 * -2 * a)
    by = exposures_by_underlying(v)
    assert by["AAA"] == pytest.approx(10 * a + g.delta * 100 * -2 * a)


def test_missing_and_stale_prices_are_left_out_with_reasons():
    px = prices()
    book = holdings(
        [
            dict(symbol="AAA", position_type="LONG", quantity=1, entry_price=90.0),
            dict(symbol="ZZZ", position_type="LONG", quantity=1, entry_price=10.0),
            dict(symbol="OLD", position_type="LONG", quantity=1, entry_price=10.0),
        ]
    )
    v = value_holdings(book, px, DATES[-1], 4.0)
    assert list(v["status"]) == ["ok", "no_prices", "stale_price"]
    s = exposure_summary(v, cash=0.0)
    assert s.valued_count == 1 and s.left_out_count == 2
    assert s.equity == pytest.approx(px["AAA"].iloc[-1])


def test_option_without_implied_vol_uses_realized_and_expired_option_is_intrinsic():
    px = prices()
    book = holdings(
        [
            dict(
                symbol="X",
                underlying="AAA",
                position_type="LP",
                quantity=1,
                multiplier=100.0,
                entry_price=2.0,
                strike=200.0,
                expiry=dt.date(2026, 1, 15),
            ),
            dict(
                symbol="Y",
                underlying="AAA",
                position_type="LC",
                quantity=1,
                multiplier=100.0,
                entry_price=2.0,
                strike=90.0,
                expiry=dt.date(2027, 1, 15),
            ),
        ]
    )
    v = value_holdings(book, px, DATES[-1], 4.0)
    a = px["AAA"].iloc[-1]
    assert v.loc[1, "market_value"] == pytest.approx(100 * (200 - a))  # expired ITM put
    assert v.loc[1, "exposure"] == pytest.approx(-100 * a)
    assert v.loc[2, "vol_source"] == "realized_60d"
    r = px["AAA"].pct_change().dropna().iloc[-60:]
    assert v.loc[2, "vol"] == pytest.approx(r.std(ddof=1) * np.sqrt(252))


def test_scaling_quantities_scales_every_dollar_figure():
    px = prices()
    one = holdings(
        [
            dict(symbol="AAA", position_type="LONG", quantity=3, entry_price=90.0),
            dict(symbol="BBB", position_type="SHORT", quantity=-4, entry_price=50.0),
        ]
    )
    ten = one.assign(quantity=one["quantity"] * 10)
    s1 = exposure_summary(value_holdings(one, px, DATES[-1], 4.0), 0.0)
    s10 = exposure_summary(value_holdings(ten, px, DATES[-1], 4.0), 0.0)
    for field in ("equity", "gross_exposure", "net_exposure", "unrealized_pnl"):
        assert getattr(s10, field) == pytest.approx(10 * getattr(s1, field))

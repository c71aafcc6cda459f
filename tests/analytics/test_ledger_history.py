"""Implied vol from a premium, and the day-by-day replay of a transactions ledger.

The implied-vol tests live here (not in test_options.py) because the ledger's option values are
what they protect: an option bought at its fair value must not show entry-day P&L.
"""

import math

import mibian
import numpy as np
import pandas as pd
import pytest

from webapp.analytics.errors import NoPrices
from webapp.analytics.options import (
    black_scholes_greeks,
    black_scholes_price,
    black_scholes_vector,
    implied_vol,
    option_greeks,
    realized_vol,
)
from webapp.analytics.performance import ledger_history, value_history
from webapp.analytics.twr import twr_returns


def _mibian_grid():
    """Near-the-money options whose premium pins the vol for mibian.

    mibian rounds a premium to 6 decimals and bisects until its estimate matches to as many
    decimals as the premium's string shows, so its vol is good to ~0.5e-6 / vega: keep options
    with vega >= 0.05 $ per vol point and premiums whose 6-decimal string keeps 6 decimals.
    """
    grid = []
    for spot in (90.0, 100.0, 110.0):
        for days in (30, 90, 365):
            for vol in (0.2, 0.35, 0.8):
                for call in (True, False):
                    premium = round(
                        black_scholes_price(spot, 100.0, 0.045, vol, days, call=call), 6
                    )
                    vega = option_greeks(spot, 100.0, 4.5, vol, days, call=call).vega
                    if vega >= 0.05 and len(str(premium).split(".")[1]) == 6:
                        grid.append((spot, 100.0, days, vol, call, premium))
    return grid


MIBIAN_GRID = _mibian_grid()


def test_mibian_grid_is_broad():
    assert len(MIBIAN_GRID) >= 40
    assert {g[4] for g in MIBIAN_GRID} == {True, False}


@pytest.mark.parametrize("spot,strike,days,vol,call,premium", MIBIAN_GRID)
def test_implied_vol_equals_mibian(spot, strike, days, vol, call, premium):
    args = [spot, strike, 4.5, days]
    bs = mibian.BS(args, callPrice=premium) if call else mibian.BS(args, putPrice=premium)
    ours = implied_vol(premium, spot, strike, days, 4.5, "call" if call else "put")
    assert ours == pytest.approx(bs.impliedVolatility / 100.0, abs=1e-6)
    # The 6-decimal premium moves the root by at most 0.5e-6 / vega from the vol it came from.
    assert ours == pytest.approx(vol, abs=1e-6)


def test_implied_vol_round_trips_and_vectorises():
    spot = np.array([95.0, 100.0, 130.0, 60.0])
    strike = np.array([100.0, 100.0, 120.0, 70.0])
    days = np.array([30.0, 200.0, 60.0, 5.0])
    vol = np.array([0.2, 0.55, 0.3, 1.4])
    kind = np.array(["LC", "SP", "call", "P"])
    calls = [True, False, True, False]
    premium = np.array(
        [
            black_scholes_price(s, k, 0.03, v, d, call=c)
            for s, k, v, d, c in zip(spot, strike, vol, days, calls, strict=True)
        ]
    )
    iv = implied_vol(premium, spot, strike, days, 3.0, kind)
    assert isinstance(iv, np.ndarray) and iv.shape == (4,)
    np.testing.assert_allclose(iv, vol, atol=1e-9)
    again = [
        black_scholes_price(s, k, 0.03, v, d, call=c)
        for s, k, v, d, c in zip(spot, strike, iv, days, calls, strict=True)
    ]
    np.testing.assert_allclose(again, premium, atol=1e-10)


@pytest.mark.parametrize(
    "price,spot,strike,days,kind",
    [
        (5.0, 110.0, 100.0, 30, "call"),  # below intrinsic (10)
        (1.0, 100.0, 105.0, 45, "put"),  # below intrinsic (5)
        (99.0, 100.0, 100.0, 30, "call"),  # above what 500% vol prices
        (2.0, 100.0, 100.0, 0, "call"),  # expired: no time value to solve from
        (math.nan, 100.0, 100.0, 30, "put"),
    ],
)
def test_implied_vol_without_root_is_nan(price, spot, strike, days, kind):
    out = implied_vol(price, spot, strike, days, 4.5, kind)
    assert isinstance(out, float) and math.isnan(out)


def test_implied_vol_of_many_options_at_once_equals_one_at_a_time():
    # The bisection runs on whole arrays; each element must be the root it would be alone.
    rng = np.random.default_rng(5)
    n = 60
    spot = rng.uniform(20, 300, n)
    strike = spot * rng.uniform(0.7, 1.3, n)
    days = rng.choice([1, 7, 45, 365, 900], n).astype(float)
    vol = rng.uniform(0.08, 1.2, n)
    calls = rng.random(n) < 0.5
    premium = black_scholes_vector(spot, strike, 0.045, vol, days, calls)
    kind = np.where(calls, "call", "put")
    together = implied_vol(premium, spot, strike, days, 4.5, kind)
    alone = [
        implied_vol(p, s, k, d, 4.5, c)
        for p, s, k, d, c in zip(premium, spot, strike, days, kind, strict=True)
    ]
    np.testing.assert_array_equal(together, alone)
    # Where the premium moves with vol (vega of a cent per vol point or more) it gives vol back;
    # deep in the money a day from expiry the premium is intrinsic and any low vol fits.
    vega = black_scholes_greeks(spot, strike, 0.045, vol, days, calls).vega
    assert (vega > 0.01).sum() > 40
    np.testing.assert_allclose(together[vega > 0.01], vol[vega > 0.01], atol=1e-9)


def test_implied_vol_rejects_unknown_kind():
    with pytest.raises(ValueError, match="call/put"):
        implied_vol(2.0, 100.0, 100.0, 30, 4.5, "straddle")


# ---------------------------------------------------------------------------------------------
# Ledger replay
# ---------------------------------------------------------------------------------------------

DAYS = pd.bdate_range("2026-03-02", periods=6)  # Mon 2 .. Mon 9 March 2026


def tx(day, kind, instrument=None, qd=0.0, amount=0.0, **extra):
    """One ledger row; ``day`` a Timestamp or an index into DAYS."""
    date = DAYS[day] if isinstance(day, int) else pd.Timestamp(day)
    row = dict(
        trade_date=date.date(),
        kind=kind,
        instrument=instrument,
        underlying=instrument,
        position_type=None,
        quantity_delta=qd,
        multiplier=1.0,
        amount=amount,
        is_flow=kind in ("deposit", "withdrawal"),
        price=np.nan,
        strike=np.nan,
        expiry=None,
        implied_vol=np.nan,
    )
    return {**row, **extra}


def deposit(day, dollars):
    return tx(day, "deposit", amount=dollars)


def trade(day, kind, symbol, qd, price):
    """A stock trade at ``price``: cash moves against the quantity, −qd × price."""
    ptype = "SHORT" if kind in ("short", "cover") else "LONG"
    return tx(day, kind, symbol, qd, -qd * price, price=price, position_type=ptype)


def option(day, kind, osi, qd, premium, *, ptype, underlying, strike, expiry, iv=np.nan):
    """An option trade of ``qd`` contracts at ``premium`` $ per share (100 shares a contract)."""
    return tx(
        day,
        kind,
        osi,
        qd,
        -qd * premium * 100.0,
        underlying=underlying,
        position_type=ptype,
        multiplier=100.0,
        price=premium,
        strike=strike,
        expiry=pd.Timestamp(expiry).date(),
        implied_vol=iv,
    )


def ledger(*rows):
    return pd.DataFrame(list(rows))


def test_three_day_stock_ledger_by_hand():
    px = pd.DataFrame({"A": [10.0, 11.0, 12.0]}, index=DAYS[:3])
    book = ledger(
        deposit(0, 1000.0),
        trade(0, "buy", "A", 10, 10.0),
        trade(2, "sell", "A", -10, 12.0),
    )
    h = ledger_history(book, px, DAYS[2], 0.0)
    f = h.frame
    # day 0: 1000 in, 100 spent on 10 A at 10 -> cash 900 + A 100
    # day 1: A closes at 11 -> 900 + 110
    # day 2: sold at the close for 120 -> cash 1020, nothing held
    assert f["cash"].tolist() == [900.0, 900.0, 1020.0]
    assert f["long_mv"].tolist() == [100.0, 110.0, 0.0]
    assert f["short_mv"].tolist() == [0.0, 0.0, 0.0]
    assert f["equity"].tolist() == [1000.0, 1010.0, 1020.0]
    assert f["flows"].tolist() == [1000.0, 0.0, 0.0]
    assert f["positions"].tolist() == [1, 1, 0]
    assert list(f.index) == list(DAYS[:3])
    assert h.values.tolist() == f["equity"].tolist()
    assert h.market_values["A"].tolist() == [100.0, 110.0, 0.0]


def test_deposits_and_withdrawals_change_equity_as_flows():
    px = pd.DataFrame({"A": [10.0, 11.0, 11.0, 12.1]}, index=DAYS[:4])
    book = ledger(
        deposit(0, 100.0),
        trade(0, "buy", "A", 10, 10.0),
        deposit(1, 500.0),
        tx(3, "withdrawal", amount=-200.0),
    )
    h = ledger_history(book, px, DAYS[3], 0.0)
    assert h.frame["equity"].tolist() == pytest.approx([100.0, 610.0, 610.0, 421.0])
    assert h.flows.tolist() == [100.0, 500.0, 0.0, -200.0]
    assert h.flows.index.equals(h.values.index)
    # The flow is in its day's value (booked at the close), so taking it out again leaves the
    # market's move alone: day 1 is A's +10% on the 100 invested, not the 500 deposited.
    v, fl = h.values.to_numpy(), h.flows.to_numpy()
    assert (v[1] - fl[1]) / v[0] - 1 == pytest.approx(0.10)
    assert (v[3] - fl[3]) / v[2] - 1 == pytest.approx(11.0 / 610.0)


def test_values_and_flows_feed_the_twr_engine():
    px = pd.DataFrame({"A": [10.0, 11.0, 11.0, 12.1, 12.1]}, index=DAYS[:5])
    book = ledger(deposit(0, 100.0), trade(0, "buy", "A", 10, 10.0), deposit(2, 50.0))
    h = ledger_history(book, px, DAYS[4], 0.0)
    r = twr_returns(h.values, h.flows)
    assert list(r.index) == list(DAYS[1:5])
    # Days without a flow: the book's own move. The deposit day is no 50/110 gain, whichever
    # part of the day the engine lets the idle cash count for.
    assert r.iloc[0] == pytest.approx(0.10)
    assert abs(r.iloc[1]) < 1e-12
    assert r.iloc[2] == pytest.approx(11.0 / 160.0)
    assert r.iloc[3] == 0.0


def test_trades_on_a_non_trading_day_are_booked_on_the_next_one():
    # The calendar is the benchmark's; A's frame lacks Wednesday (carried, 1 day old).
    spy = pd.DataFrame({"SPY": 400.0}, index=DAYS[:5])
    px = pd.DataFrame({"A": [10.0, 10.0, np.nan, 10.0, 10.0]}, index=DAYS[:5])
    saturday = pd.Timestamp("2026-03-07")
    book = ledger(deposit(0, 100.0), trade(saturday, "buy", "A", 3, 10.0))
    h = ledger_history(book, px, DAYS[5], 0.0, trading_days=spy.index)
    assert list(h.frame.index) == list(DAYS[:5])  # the calendar, not A's dates nor as_of's
    assert h.frame["positions"].tolist() == [0, 0, 0, 0, 0]
    h = ledger_history(book, px.reindex(DAYS), DAYS[5], 0.0)
    assert h.frame["cash"].tolist() == [100.0] * 4 + [100.0, 70.0]
    assert h.frame["positions"].tolist() == [0] * 5 + [1]


def test_sum_of_amounts_is_final_cash():
    px = pd.DataFrame({"A": [10.0, 11.0, 9.0, 12.0, 12.5, 13.0]}, index=DAYS)
    book = ledger(
        deposit(0, 5000.0),
        trade(0, "buy", "A", 100, 10.0),
        tx(1, "fee", amount=-4.95),
        tx(2, "dividend", "A", amount=23.0),
        trade(2, "short", "A", -300, 9.0),  # through flat to short 200
        trade(4, "cover", "A", 200, 12.5),
        tx(5, "withdrawal", amount=-1000.0),
    )
    h = ledger_history(book, px, DAYS[-1], 0.0)
    assert h.frame["cash"].iloc[-1] == pytest.approx(book["amount"].sum(), abs=1e-9)
    assert h.frame["positions"].tolist() == [1, 1, 1, 1, 0, 0]
    assert h.frame["short_mv"].iloc[2:4].tolist() == [-1800.0, -2400.0]
    # Equity = cash + Σ signed market value on every day.
    np.testing.assert_allclose(
        h.frame["equity"], h.frame["cash"] + h.market_values.sum(axis=1), atol=1e-9
    )


def _aapl_call(real_prices, trade_day, vol, *, days=60, qty=2):
    """A call on AAPL struck near the money, priced at ``vol`` at the trade day's close."""
    spot = float(real_prices.loc[trade_day, "AAPL"])
    strike = float(round(spot / 5.0) * 5.0)
    expiry = trade_day + pd.Timedelta(days=days)
    premium = black_scholes_price(spot, strike, 0.045, vol, days, call=True)
    return (
        option(
            trade_day,
            "option_open",
            "AAPL_CALL",
            qty,
            premium,
            ptype="LC",
            underlying="AAPL",
            strike=strike,
            expiry=expiry,
        ),
        premium,
        strike,
        expiry,
    )


def test_option_bought_at_fair_value_shows_no_entry_day_pnl(real_prices):
    px = real_prices.loc["2024-01-02":"2024-06-28", ["AAPL", "SPY"]]
    days = px.index
    trade_day = days[40]
    # Priced at 45% vol while AAPL's 60-day realized vol is far lower, as a quote may be.
    realized = realized_vol(real_prices["AAPL"].loc[:trade_day])
    assert abs(realized - 0.45) > 0.1
    row, premium, strike, expiry = _aapl_call(real_prices, trade_day, 0.45)
    book = ledger(deposit(days[0], 100_000.0), row)
    h = ledger_history(book, px, days[-1], 4.5)
    f = h.frame
    entry = days.get_loc(trade_day)
    assert f["equity"].iloc[entry - 1] == 100_000.0
    assert f["equity"].iloc[entry] == pytest.approx(100_000.0, abs=0.01)
    assert f["long_mv"].iloc[entry] == pytest.approx(premium * 200.0, abs=0.01)
    assert h.vol_source == {"AAPL_CALL": "entry_premium"}
    assert h.lots["vol"].iloc[0] == pytest.approx(0.45, abs=1e-9)
    # The day after, the lot moves with AAPL and time at the vol it was bought at.
    nxt = days[entry + 1]
    expected = black_scholes_price(
        float(px.loc[nxt, "AAPL"]), strike, 0.045, 0.45, (expiry - nxt).days, call=True
    )
    assert f["long_mv"].iloc[entry + 1] == pytest.approx(expected * 200.0, abs=1e-6)

    # value_history (today's 60-day vol) books a phantom entry-day P&L for the same trade.
    old = value_history(
        pd.DataFrame(
            [
                dict(
                    status="ok",
                    underlying="AAPL",
                    position_type="LC",
                    quantity=2,
                    multiplier=100.0,
                    entry_date=trade_day.date(),
                    entry_price=premium,
                    strike=strike,
                    expiry=expiry.date(),
                    vol=realized_vol(px["AAPL"]),
                )
            ]
        ),
        px,
        cash=0.0,
        as_of=days[-1],
        rate_pct=4.5,
    ).frame
    # Its first row is the entry day: the lot is marked at a value other than what it cost.
    assert old.index[0] == trade_day
    assert abs(old["equity"].iloc[0] - premium * 200.0) > 100.0


def test_short_option_is_negative_and_loses_as_the_underlying_rises():
    px = pd.DataFrame({"U": [100.0, 100.0, 105.0, 110.0]}, index=DAYS[:4])
    strike, expiry = 100.0, DAYS[0] + pd.Timedelta(days=30)
    premium = black_scholes_price(100.0, strike, 0.04, 0.3, (expiry - DAYS[1]).days, call=True)
    sold = option(
        1, "option_open", "U_SC", -3, premium, ptype="SC", underlying="U", strike=strike,
        expiry=expiry, iv=0.3,
    )  # fmt: skip
    book = ledger(deposit(0, 10_000.0), sold)
    h = ledger_history(book, px, DAYS[3], 4.0)
    f = h.frame
    assert sold["amount"] > 0  # writing the call brings its premium in
    assert f["cash"].iloc[1] == pytest.approx(10_000.0 + 300.0 * premium)
    assert (f["short_mv"].iloc[1:] < 0).all() and (f["long_mv"] == 0).all()
    assert f["short_mv"].iloc[1] == pytest.approx(-300.0 * premium, abs=1e-9)
    # Day 1: written at fair value (vol given), so no entry-day P&L.
    assert f["equity"].iloc[1] == pytest.approx(10_000.0, abs=1e-9)
    assert f["equity"].iloc[2] < f["equity"].iloc[1] and f["equity"].iloc[3] < f["equity"].iloc[2]
    assert h.vol_source == {"U_SC": "stored"}
    assert f["positions"].tolist() == [0, 1, 1, 1]


def test_option_expires_to_intrinsic_then_leaves_with_its_expire_row():
    # Expiry on Thursday DAYS[3]; U closes at 108 that day and 120 after.
    px = pd.DataFrame({"U": [100.0, 104.0, 106.0, 108.0, 120.0, 125.0]}, index=DAYS)
    expiry = DAYS[3]
    call = dict(ptype="LC", underlying="U", strike=100.0, expiry=expiry, iv=0.25)
    put = dict(ptype="LP", underlying="U", strike=95.0, expiry=expiry, iv=0.25)
    book = ledger(
        deposit(0, 10_000.0),
        option(0, "option_open", "U_C", 1, 2.5, **call),
        option(0, "option_open", "U_P", 2, 0.4, **put),
        # The put expires worthless: its row sets the quantity back to 0 on the expiry date.
        option(3, "option_expire", "U_P", -2, 0.0, **put),
    )
    h = ledger_history(book, px, DAYS[-1], 4.0)
    mv = h.market_values
    # On expiry the call is worth intrinsic at that close, and stays there (no expire row):
    # the underlying's later moves no longer reach it.
    assert mv["U_C"].iloc[3:].tolist() == [800.0, 800.0, 800.0]
    assert mv["U_C"].iloc[2] > 600.0  # a day before: intrinsic 6 plus time value
    assert mv["U_P"].iloc[3:].tolist() == [0.0, 0.0, 0.0]
    assert mv["U_P"].iloc[0] > 0.0
    assert h.frame["positions"].tolist() == [2, 2, 2, 1, 1, 1]
    assert h.frame["cash"].iloc[-1] == pytest.approx(10_000.0 - 250.0 - 80.0)


def test_stale_close_carries_forward_up_to_seven_days_then_raises():
    days = pd.bdate_range("2026-03-02", periods=13)  # Mon 2 .. Wed 18 March
    a = [10.0, 11.0] + [np.nan] * 4 + [12.0] + [np.nan] * 6
    px = pd.DataFrame({"SPY": 400.0, "A": a}, index=days)
    px.iloc[0, 1] = np.nan  # not held yet: a missing close before the buy is no problem
    book = ledger(deposit(days[0], 100.0), trade(days[1], "buy", "A", 5, 11.0))
    h = ledger_history(book, px, days[11], 0.0)
    # 11.0 from Tue 3 March stands for Wed..Fri and Mon 9 (6 days old); Tue 10 has a close.
    assert h.market_values["A"].iloc[1:7].tolist() == [55.0] * 5 + [60.0]
    # 12.0 from Tue 10 March is 7 days old on Tue 17, still in use ...
    assert h.market_values["A"].iloc[-1] == 60.0
    # ... and 8 days old on Wed 18: that is no price.
    with pytest.raises(NoPrices) as err:
        ledger_history(book, px, days[12], 0.0)
    assert err.value.details["symbol"] == "A"
    assert err.value.details["date"] == "2026-03-18"
    assert "A" in err.value.message and "2026-03-18" in err.value.message


def test_unknown_symbol_is_no_prices():
    px = pd.DataFrame({"A": [10.0, 11.0]}, index=DAYS[:2])
    with pytest.raises(NoPrices, match="B"):
        ledger_history(ledger(deposit(0, 50.0), trade(1, "buy", "B", 1, 5.0)), px, DAYS[1], 0.0)


def test_splitting_a_buy_in_two_halves_leaves_the_history_unchanged():
    px = pd.DataFrame({"A": [10.0, 10.5, 9.8, 11.0], "U": [50.0, 52.0, 49.0, 51.0]}, index=DAYS[:4])
    opt = dict(ptype="LP", underlying="U", strike=50.0, expiry=DAYS[0] + pd.Timedelta(days=45))
    whole = ledger(
        deposit(0, 10_000.0),
        trade(1, "buy", "A", 100, 10.5),
        option(1, "option_open", "U_P", 4, 3.0, **opt),
        trade(3, "sell", "A", -100, 11.0),
    )
    halves = ledger(
        deposit(0, 10_000.0),
        trade(1, "buy", "A", 50, 10.5),
        trade(1, "buy", "A", 50, 10.5),
        option(1, "option_open", "U_P", 2, 3.0, **opt),
        option(1, "option_open", "U_P", 2, 3.0, **opt),
        trade(3, "sell", "A", -100, 11.0),
    )
    one = ledger_history(whole, px, DAYS[3], 4.0)
    two = ledger_history(halves, px, DAYS[3], 4.0)
    pd.testing.assert_frame_equal(one.frame, two.frame, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(one.market_values, two.market_values, check_exact=False)
    assert len(two.lots) == 2 and two.lots["vol"].nunique() == 1


def test_no_root_falls_back_to_realized_vol_at_the_trade_date(real_prices):
    # The frame reaches back before the ledger: the fallback's 60 returns come from there.
    px = real_prices.loc[:"2024-03-28", ["AAPL"]]
    trade_day = pd.Timestamp("2024-02-15")
    spot = float(px.loc[trade_day, "AAPL"])
    strike = spot - 20.0
    # A premium below the intrinsic value (20) has no implied vol.
    row = option(
        trade_day, "option_open", "AAPL_C", 1, 15.0, ptype="LC", underlying="AAPL",
        strike=strike, expiry=trade_day + pd.Timedelta(days=90),
    )  # fmt: skip
    h = ledger_history(ledger(deposit("2024-01-02", 5000.0), row), px, px.index[-1], 4.5)
    assert h.frame.index[0] == pd.Timestamp("2024-01-02")
    assert h.vol_source == {"AAPL_C": "realized"}
    expected = realized_vol(real_prices["AAPL"].loc[:trade_day])
    assert h.lots["vol"].iloc[0] == pytest.approx(expected, rel=1e-12)


def test_closing_an_option_reduces_its_oldest_lot_first():
    px = pd.DataFrame({"U": [100.0, 101.0, 99.0, 100.0]}, index=DAYS[:4])
    opt = dict(ptype="LC", underlying="U", strike=100.0, expiry=DAYS[0] + pd.Timedelta(days=60))
    book = ledger(
        deposit(0, 10_000.0),
        option(0, "option_open", "U_C", 2, 4.0, iv=0.2, **opt),
        option(1, "option_open", "U_C", 2, 6.0, iv=0.4, **opt),
        option(2, "option_close", "U_C", -2, 4.5, **opt),  # closes the 20%-vol lot
    )
    h = ledger_history(book, px, DAYS[3], 4.0)
    days_left = (opt["expiry"] - DAYS[3]).days
    left = black_scholes_price(100.0, 100.0, 0.04, 0.4, days_left, call=True) * 200.0
    assert h.market_values["U_C"].iloc[3] == pytest.approx(left, abs=1e-9)
    assert h.frame["cash"].iloc[-1] == pytest.approx(10_000.0 - 800.0 - 1200.0 + 900.0)

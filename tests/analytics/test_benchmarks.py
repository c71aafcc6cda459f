"""Benchmark specs, and blend returns against a hand-rolled monthly-rebalanced book."""

import numpy as np
import pandas as pd
import pytest

from webapp.analytics.benchmarks import BenchmarkSpecError, benchmark_returns, parse_benchmark
from webapp.analytics.errors import NoPrices


def test_single_symbol_and_blend_parse():
    single = parse_benchmark("SPY")
    assert single.components == (("SPY", 1.0),) and not single.is_blend
    blend = parse_benchmark(" spy : 0.6 , TLT:0.4 ")
    assert blend.components == (("SPY", 0.6), ("TLT", 0.4)) and blend.is_blend
    assert blend.to_spec() == "SPY:0.6,TLT:0.4"
    assert parse_benchmark(blend.to_spec()) == blend
    assert parse_benchmark("BRK-B:0.1,^GSPC:0.2,QQQ:0.7").symbols == ("BRK-B", "^GSPC", "QQQ")
    assert parse_benchmark("SPY:1").components == (("SPY", 1.0),)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("SPY:0.6,,TLT:0.4", "component 2 is empty"),
        ("SPY,TLT:0.4", "'SPY' has no weight"),
        ("SPY:0.6,TLT:abc", "weight of TLT, 'abc', is not a number"),
        ("SPY:1.2,TLT:-0.2", "weight of TLT must be > 0"),
        ("SPY:0,TLT:1", "weight of SPY must be > 0"),
        ("SPY:nan,TLT:1", "finite"),
        ("SPY:0.5,SPY:0.5", "SPY appears more than once"),
        ("SPY:0.6,TLT:0.3", "sum to 0.9, not 1"),
        ("SPY:0.6,TLT:0.400000001", "not 1"),
        ("S P Y", "not a ticker"),
        ("SPY:0.5:0.5", "more than one ':'"),
        ("SPY:0.5", "sum to 0.5"),
    ],
)
def test_bad_specs_name_the_problem(spec, message):
    with pytest.raises(BenchmarkSpecError, match=message):
        parse_benchmark(spec)


def test_weights_within_tolerance_are_accepted():
    assert parse_benchmark("A:0.1,B:0.2,C:0.7").weights.sum() == pytest.approx(1.0)
    parse_benchmark("A:0.6,B:0.4000000000001")


def test_single_symbol_is_its_adjusted_close_return(real_prices):
    r = benchmark_returns("SPY", real_prices)
    spy = real_prices["SPY"].dropna()
    assert r.name == "SPY"
    pd.testing.assert_series_equal(r, (spy / spy.shift(1) - 1).iloc[1:], check_names=False)


def _manual_blend(closes: pd.DataFrame, weights: dict) -> pd.Series:
    """Dollars held per symbol; reset to the targets at the close before a new month's first day."""
    value = 1.0
    held = {s: w * value for s, w in weights.items()}
    out = {}
    dates = closes.index
    for prev, day in zip(dates[:-1], dates[1:]):
        if day.month != prev.month:
            held = {s: w * value for s, w in weights.items()}
        for s in held:
            held[s] *= closes.at[day, s] / closes.at[prev, s]
        new_value = sum(held.values())
        out[day] = new_value / value - 1.0
        value = new_value
    return pd.Series(out)


def test_blend_matches_a_manual_monthly_rebalancing_loop(real_prices):
    prices = real_prices.loc["2019-11-15":"2021-03-10"]
    weights = {"SPY": 0.6, "TLT": 0.3, "GLD": 0.1}
    r = benchmark_returns("SPY:0.6,TLT:0.3,GLD:0.1", prices)
    expected = _manual_blend(prices[list(weights)].dropna(), weights)
    assert r.index.equals(expected.index)
    np.testing.assert_allclose(r.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-13)
    # Between rebalances the weights drift: the daily return is not the fixed-weight average.
    fixed = (prices[list(weights)].pct_change().iloc[1:] @ pd.Series(weights)).loc[r.index]
    assert np.abs(r - fixed).max() > 1e-5


def test_blend_month_return_is_the_weighted_component_month_return(real_prices):
    prices = real_prices.loc["2022-01-01":"2022-12-31", ["SPY", "TLT"]]
    r = benchmark_returns("SPY:0.7,TLT:0.3", prices)
    month = (1 + r).groupby(r.index.to_period("M")).prod() - 1
    parts = prices.pct_change().iloc[1:]
    parts_month = (1 + parts).groupby(parts.index.to_period("M")).prod() - 1
    np.testing.assert_allclose(month, parts_month @ np.array([0.7, 0.3]), atol=1e-13)


def test_blend_uses_dates_where_every_component_has_a_price():
    days = pd.bdate_range("2026-01-26", periods=8)  # Mon 26 Jan .. Wed 4 Feb
    prices = pd.DataFrame(
        {"A": [10.0, 11, 12, 12, 13, 14, 15, 15], "B": [20.0, 20, np.nan, 22, 21, 20, 20, 21]},
        index=days,
    )
    r = benchmark_returns("A:0.5,B:0.5", prices)
    assert days[2] not in r.index
    # Across the gap (Tue 27 -> Thu 29 Jan): A 11 -> 12, B 20 -> 22, weights 11/20 x 10/20 drifted.
    held = np.array([0.5 * 11 / 10, 0.5 * 1.0])
    grown = held * np.array([12 / 11, 22 / 20])
    assert r[days[3]] == pytest.approx(grown.sum() / held.sum() - 1)
    # Mon 2 Feb is February's first trading day: back to 50/50 at Fri 30 Jan's close.
    assert r[days[5]] == pytest.approx(0.5 * (14 / 13 - 1) + 0.5 * (20 / 21 - 1))
    # Tue 3 Feb: the weights have drifted with Monday's moves.
    held = np.array([0.5 * 14 / 13, 0.5 * 20 / 21])
    assert r[days[6]] == pytest.approx((held * [15 / 14, 20 / 20]).sum() / held.sum() - 1)
    assert r[days[6]] != pytest.approx(0.5 * (15 / 14 - 1))


def test_missing_symbol_prices_name_the_symbols(real_prices):
    with pytest.raises(NoPrices, match="AGG") as info:
        benchmark_returns("SPY:0.6,AGG:0.3,BND:0.1", real_prices)
    assert info.value.details["symbols"] == ["AGG", "BND"]
    empty = real_prices[["SPY"]].assign(XYZ=np.nan)
    with pytest.raises(NoPrices, match="XYZ"):
        benchmark_returns("XYZ", empty)

"""Time-weighted return index, money-weighted return and trailing periods on hand-worked cases."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import newton

from webapp.analytics.errors import InsufficientHistory, IRRUndefined, NonPositiveEquity
from webapp.analytics.twr import daily_twr, money_weighted_return, period_returns, twr_returns

DAYS = pd.bdate_range("2026-03-02", periods=5)  # Mon 2 .. Fri 6 March 2026


def test_five_days_with_a_deposit_hand_worked():
    # V: 100 -> 110 -> (deposit 50 at the start of day 3) 165 -> 165 -> 132
    # r2 = 110 / 100 - 1        = 0.10
    # r3 = 165 / (110 + 50) - 1 = 0.03125   (the 50 earns day 3's return, it is not growth)
    # r4 = 165 / 165 - 1        = 0
    # r5 = 132 / 165 - 1        = -0.20
    # index = 1, 1.1, 1.1 * 1.03125 = 1.134375, 1.134375, 1.134375 * 0.8 = 0.9075
    values = pd.Series([100.0, 110.0, 165.0, 165.0, 132.0], index=DAYS)
    flows = pd.Series({DAYS[2]: 50.0})
    index = daily_twr(values, flows)
    assert index.tolist() == pytest.approx([1.0, 1.1, 1.134375, 1.134375, 0.9075], abs=1e-15)
    assert list(index.index) == list(DAYS)
    assert twr_returns(values, flows).tolist() == pytest.approx([0.1, 0.03125, 0.0, -0.2])


def test_a_deposit_on_a_flat_day_is_not_growth():
    # 50 % of the value deposited, markets flat: the book goes 200 -> 300, the index stays 1.
    values = pd.Series([200.0, 200.0, 300.0, 300.0], index=DAYS[:4])
    index = daily_twr(values, pd.Series({DAYS[2]: 100.0}))
    assert index.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_weekend_flow_arrives_at_the_start_of_monday():
    days = pd.bdate_range("2026-03-05", periods=3)  # Thu, Fri, Mon
    values = pd.Series([100.0, 100.0, 150.0], index=days)
    saturday = pd.Timestamp("2026-03-07")
    assert daily_twr(values, pd.Series({saturday: 50.0})).tolist() == [1.0, 1.0, 1.0]


def test_several_flows_on_one_day_add_up_and_first_day_flows_are_in_its_value():
    values = pd.Series([100.0, 100.0, 160.0], index=DAYS[:3])
    flows = pd.Series([100.0, 30.0, 30.0], index=[DAYS[0], DAYS[2], DAYS[2]])
    assert daily_twr(values, flows).tolist() == [1.0, 1.0, 1.0]


def test_a_withdrawal_that_empties_the_book_and_a_later_restart():
    # Day 3 starts with 105 - 105 = 0 and ends at 0: no capital, no return (index flat).
    # Day 5: 50 deposited at the start, the book closes at 52 -> r = 52 / 50 - 1 = 0.04.
    values = pd.Series([100.0, 105.0, 0.0, 0.0, 52.0], index=DAYS)
    flows = pd.Series({DAYS[2]: -105.0, DAYS[4]: 50.0})
    index = daily_twr(values, flows)
    assert index.tolist() == pytest.approx([1.0, 1.05, 1.05, 1.05, 1.05 * 1.04])


def test_emptied_base_but_value_left_raises():
    # Everything withdrawn at the start of day 3, yet the book closes at 3 $: value from nowhere.
    values = pd.Series([100.0, 105.0, 3.0], index=DAYS[:3])
    with pytest.raises(NonPositiveEquity, match="2026-03-04"):
        daily_twr(values, pd.Series({DAYS[2]: -105.0}))


def test_non_positive_base_raises_with_date_and_amounts():
    values = pd.Series([100.0, 100.0, -40.0], index=DAYS[:3])
    with pytest.raises(NonPositiveEquity) as info:
        daily_twr(values, pd.Series({DAYS[2]: -150.0}))
    message = str(info.value)
    assert "2026-03-04" in message and "-150.00" in message and "-50.00" in message
    assert info.value.details["base"] == -50.0
    assert info.value.reason == "non_positive_equity"


def test_flow_after_the_last_day_and_nan_values_are_errors():
    values = pd.Series([100.0, 101.0], index=DAYS[:2])
    with pytest.raises(ValueError, match="after the last value date"):
        daily_twr(values, pd.Series({DAYS[3]: 5.0}))
    with pytest.raises(ValueError, match="finite"):
        daily_twr(pd.Series([100.0, np.nan], index=DAYS[:2]))


@st.composite
def books(draw):
    n = draw(st.integers(min_value=2, max_value=30))
    values = draw(st.lists(st.floats(1.0, 1e6), min_size=n, max_size=n))
    # Flows as a fraction of the previous value, > -0.9, so every base stays positive.
    fractions = draw(st.lists(st.floats(-0.9, 2.0), min_size=n, max_size=n))
    flows = [0.0] + [f * v for f, v in zip(fractions[1:], values[:-1])]
    days = pd.bdate_range("2024-01-01", periods=n)
    return pd.Series(values, index=days), pd.Series(flows, index=days)


@settings(max_examples=200, deadline=None)
@given(books(), st.floats(1e-3, 1e3))
def test_scaling_values_and_flows_leaves_the_index_unchanged(book, k):
    values, flows = book
    assert daily_twr(values * k, flows * k).to_numpy() == pytest.approx(
        daily_twr(values, flows).to_numpy(), rel=1e-9
    )


@settings(max_examples=200, deadline=None)
@given(books())
def test_without_flows_the_index_ends_at_the_value_ratio(book):
    values, _ = book
    index = daily_twr(values)
    assert index.iloc[-1] == pytest.approx(values.iloc[-1] / values.iloc[0], rel=1e-9)
    assert daily_twr(values, pd.Series(0.0, index=values.index)).equals(index)


# ---------------------------------------------------------------------------------------------
# Money-weighted return
# ---------------------------------------------------------------------------------------------


def test_irr_one_year_hand_case():
    # 100 in, 110 out exactly one (365-day) year later: -100 + 110 / (1 + r) = 0 -> r = 10 %.
    r = money_weighted_return([], 100.0, dt.date(2025, 1, 1), 110.0, dt.date(2026, 1, 1))
    assert r == pytest.approx(0.10, abs=1e-12)


def _independent_irr(amounts, days):
    """Newton on the textbook equation in r, from a 10 % guess (not the engine's bracket)."""
    return newton(
        lambda r: sum(a * (1 + r) ** (-t / 365) for a, t in zip(amounts, days)),
        0.1,
        tol=1e-13,
        maxiter=200,
    )


@pytest.mark.parametrize(
    "flows, start_value, end_value",
    [
        (
            {"2024-03-15": 50_000.0, "2025-02-03": -20_000.0, "2025-09-30": 10_000.0},
            100_000.0,
            160_000.0,
        ),
        ({"2024-06-28": -30_000.0}, 250_000.0, 201_000.0),
        ({"2024-02-01": 10_000.0, "2024-02-02": 10_000.0, "2026-01-05": 5_000.0}, 0.0, 27_500.0),
    ],
)
def test_irr_matches_newton_on_the_same_flows(flows, start_value, end_value):
    start, end = pd.Timestamp("2024-01-31"), pd.Timestamp("2026-06-30")
    series = pd.Series(flows)
    series.index = pd.to_datetime(series.index)
    r = money_weighted_return(series, start_value, start, end_value, end)
    amounts = [-start_value] + [-a for a in series] + [end_value]
    days = [0] + [(d - start).days for d in series.index] + [(end - start).days]
    assert r == pytest.approx(_independent_irr(amounts, days), abs=1e-10)
    # The root it returns makes the investor's NPV zero.
    assert sum(a * (1 + r) ** (-t / 365) for a, t in zip(amounts, days)) == pytest.approx(
        0.0, abs=1e-6
    )


def test_irr_pairs_and_start_day_flow_are_in_start_value():
    pairs = [(dt.date(2025, 1, 1), 999.0), (dt.date(2025, 7, 2), 100.0)]
    r = money_weighted_return(pairs, 100.0, dt.date(2025, 1, 1), 200.0, dt.date(2026, 1, 1))
    days = (pd.Timestamp("2025-07-02") - pd.Timestamp("2025-01-01")).days
    assert r == pytest.approx(_independent_irr([-100.0, -100.0, 200.0], [0, days, 365]), abs=1e-10)


def test_irr_of_a_total_loss_is_undefined():
    with pytest.raises(IRRUndefined, match="positive|negative"):
        money_weighted_return([], 100.0, dt.date(2025, 1, 1), 0.0, dt.date(2026, 1, 1))


def test_irr_all_flows_one_sign_has_no_root():
    flows = pd.Series({pd.Timestamp("2025-06-01"): 50.0})
    with pytest.raises(IRRUndefined) as info:
        money_weighted_return(flows, 100.0, dt.date(2025, 1, 1), -1.0, dt.date(2026, 1, 1))
    assert info.value.reason == "irr_undefined"
    assert "negative" in info.value.message


def test_irr_rejects_flows_outside_the_period_and_a_backward_period():
    with pytest.raises(ValueError, match="outside"):
        money_weighted_return(
            [(dt.date(2024, 12, 31), 5.0)], 100.0, dt.date(2025, 1, 1), 110.0, dt.date(2026, 1, 1)
        )
    with pytest.raises(ValueError, match="after start_date"):
        money_weighted_return([], 100.0, dt.date(2026, 1, 1), 110.0, dt.date(2026, 1, 1))


def test_irr_large_loss_and_large_gain_are_found():
    lose = money_weighted_return([], 100.0, dt.date(2025, 1, 1), 1.0, dt.date(2026, 1, 1))
    win = money_weighted_return([], 100.0, dt.date(2025, 1, 1), 10_000.0, dt.date(2026, 1, 1))
    assert lose == pytest.approx(-0.99, abs=1e-12) and win == pytest.approx(99.0, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Trailing periods
# ---------------------------------------------------------------------------------------------


def _rows(index, as_of, days):
    return {r["period"]: r for r in period_returns(index, as_of, days)}


def test_one_month_start_on_a_weekend_is_the_friday_close():
    days = pd.bdate_range("2026-01-02", "2026-07-06")
    index = pd.Series(np.linspace(1.0, 1.5, len(days)), index=days)
    rows = _rows(index, "2026-07-06", days)  # Monday; minus one month = Saturday 6 June
    one_month = rows["1M"]
    assert one_month["start"] == "2026-06-05" and one_month["end"] == "2026-07-06"
    expected = index[pd.Timestamp("2026-07-06")] / index[pd.Timestamp("2026-06-05")] - 1
    assert one_month["return"] == pytest.approx(expected)
    assert one_month["days"] == 21  # trading days after Fri 5 June up to Mon 6 July
    assert one_month["annualized"] is None


def test_three_years_on_two_years_of_history_is_none_with_reason():
    days = pd.bdate_range("2024-08-01", "2026-08-03")
    index = pd.Series(np.linspace(1.0, 1.3, len(days)), index=days)
    rows = _rows(index, "2026-08-03", days)
    assert rows["3Y"]["available"] is False and rows["3Y"]["return"] is None
    assert "2024-08-01" in rows["3Y"]["reason"]
    assert rows["1Y"]["available"] is True
    assert rows["1Y"]["annualized"] == rows["1Y"]["return"]
    si = rows["SI"]
    assert si["start"] == "2024-08-01" and si["return"] == pytest.approx(0.3)
    assert si["annualized"] == pytest.approx(1.3 ** (365 / si["calendar_days"]) - 1)


def test_three_year_annualised_and_ytd_on_the_previous_years_last_trading_day():
    days = pd.bdate_range("2022-01-03", "2026-08-03").drop(pd.Timestamp("2025-12-31"))
    index = pd.Series(1.0003 ** np.arange(len(days)), index=days)
    rows = _rows(index, "2026-08-03", days)
    assert rows["YTD"]["start"] == "2025-12-30"
    three = rows["3Y"]
    assert three["start"] == "2023-08-03"
    assert three["annualized"] == pytest.approx((1 + three["return"]) ** (1 / 3) - 1)
    assert three["days"] == len(days[(days > "2023-08-03") & (days <= "2026-08-03")])


def test_since_inception_under_a_year_is_not_annualised_and_ytd_needs_last_year():
    days = pd.bdate_range("2026-02-02", "2026-08-03")
    index = pd.Series(np.linspace(1.0, 1.1, len(days)), index=days)
    rows = _rows(index, "2026-08-03", days)
    assert rows["SI"]["return"] == pytest.approx(0.1) and rows["SI"]["annualized"] is None
    assert "not annualised" in rows["SI"]["annualized_reason"]
    assert rows["YTD"]["available"] is False and rows["1Y"]["available"] is False
    assert rows["3M"]["available"] is True


def test_index_that_stops_before_the_as_of_day_is_an_error():
    days = pd.bdate_range("2026-01-02", "2026-03-06")
    index = pd.Series(1.0, index=days[:-3])
    with pytest.raises(InsufficientHistory, match="before the as-of"):
        period_returns(index, days[-1], days)


def test_periods_are_json_ready():
    days = pd.bdate_range("2020-01-02", "2026-08-03")
    rows = period_returns(pd.Series(1.0001 ** np.arange(len(days)), index=days), "2026-08-03", days)
    assert [r["period"] for r in rows] == ["1M", "3M", "YTD", "1Y", "3Y", "SI"]
    for r in rows:
        assert all(v is None or isinstance(v, (str, bool, int, float)) for v in r.values())
        assert r["return"] is None or math.isfinite(r["return"])


def test_end_of_day_flows_liquidation_and_close_deposit():
    """Ledger convention: trades and flows at the close, r_t = (V_t - F_t) / V_{t-1} - 1."""
    days = pd.bdate_range("2026-03-02", periods=4)
    # Day 2: +10% on 100. Day 3: +9.09% (120 sold at the close and withdrawn: 0 left).
    # Day 4: an empty book takes a 490 deposit at the close: no return, no error.
    values = pd.Series([100.0, 110.0, 0.0, 490.0], index=days)
    flows = pd.Series([-120.0, 490.0], index=[days[2], days[3]])
    r = twr_returns(values, flows, timing="end")
    assert r.iloc[0] == pytest.approx(0.10, abs=1e-15)
    assert r.iloc[1] == pytest.approx(120.0 / 110.0 - 1, abs=1e-15)
    assert r.iloc[2] == 0.0
    with pytest.raises(NonPositiveEquity):
        twr_returns(values, flows, timing="start")  # the same ledger read with start-of-day flows
    # A deposit at the close does not dilute the day's return: 100 -> 600 with 490 in is +10%.
    close_deposit = twr_returns(
        pd.Series([100.0, 600.0], index=days[:2]), pd.Series([490.0], index=[days[1]]), timing="end"
    )
    assert close_deposit.iloc[0] == pytest.approx(0.10, abs=1e-15)
    with pytest.raises(ValueError, match="timing"):
        twr_returns(values, flows, timing="noon")

"""Risk-adjusted statistics: hand-worked cases, and numpy/statsmodels on bundled real data."""

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.analytics.errors import NoPrices
from webapp.analytics.risk_adjusted import (
    alpha_beta,
    best_worst_month,
    calmar_ratio,
    hit_rates,
    max_drawdown,
    monthly_returns,
    risk_adjusted_stats,
    risk_free_daily,
    sharpe_ratio,
    sortino_ratio,
)

RISK_FREE = Path(__file__).resolve().parents[2] / "webapp" / "data" / "risk_free.csv"
FOUR = pd.Series([0.01, -0.02, 0.03, 0.0], index=pd.bdate_range("2026-03-02", periods=4))


@pytest.fixture(scope="module")
def t_bill() -> pd.Series:
    frame = pd.read_csv(RISK_FREE, parse_dates=["date"])
    return frame.set_index("date")["rate_annual_pct"]


def test_four_day_sharpe_and_sortino_hand_worked():
    # mean = (0.01 - 0.02 + 0.03 + 0) / 4 = 0.005
    # deviations 0.005, -0.025, 0.025, -0.005 -> squares sum 0.0013 -> var = 0.0013 / 3
    # Sharpe = 0.005 / sqrt(0.0013 / 3) x sqrt(252) = 0.24019 x 15.87451 = 3.81293
    # downside: min(e, 0) = 0, -0.02, 0, 0 -> DD = sqrt(0.0004 / 4) = 0.01
    # Sortino = 0.005 / 0.01 x sqrt(252) = 7.9372...
    sharpe = sharpe_ratio(FOUR, min_observations=4)
    assert sharpe.value == pytest.approx(0.005 / math.sqrt(0.0013 / 3) * math.sqrt(252))
    assert sharpe.value == pytest.approx(3.81293, abs=1e-5)
    assert sharpe.observations == 4 and "ddof=1" in sharpe.formula
    sortino = sortino_ratio(FOUR, min_observations=4)
    assert sortino.value == pytest.approx(0.5 * math.sqrt(252))
    assert sortino.details["downside_deviation_daily"] == pytest.approx(0.01)


def test_four_day_case_with_a_t_bill_rate():
    # y = 2.52 % p.a. -> rf = 1.0252^(1/252) - 1 every day; excess = r - rf.
    rates = pd.Series(2.52, index=FOUR.index)
    rf = 1.0252 ** (1 / 252) - 1
    assert risk_free_daily(rates, FOUR.index).tolist() == pytest.approx([rf] * 4)
    e = FOUR - rf
    sharpe = sharpe_ratio(FOUR, rates, min_observations=4)
    assert sharpe.value == pytest.approx(e.mean() / e.std(ddof=1) * math.sqrt(252))
    # rf shifts the mean only: the std of excess returns is the std of returns.
    assert sharpe.details["std_excess_daily"] == pytest.approx(math.sqrt(0.0013 / 3))
    downside = math.sqrt(((-0.02 - rf) ** 2 + (0.0 - rf) ** 2) / 4)  # two days below rf
    sortino = sortino_ratio(FOUR, rates, min_observations=4)
    assert sortino.value == pytest.approx((0.005 - rf) / downside * math.sqrt(252))


def test_four_day_alpha_beta_hand_worked():
    # r - rf = 0.001 + 1.5 (r_b - rf) exactly: beta 1.5, daily alpha 0.001, annual 1.001^252 - 1.
    bench = pd.Series([0.01, -0.01, 0.02, 0.0], index=FOUR.index)
    rates = pd.Series(5.0, index=FOUR.index)
    rf = 1.05 ** (1 / 252) - 1
    port = rf + 0.001 + 1.5 * (bench - rf)
    alpha, beta = alpha_beta(port, bench, rates, min_observations=4)
    assert beta.value == pytest.approx(1.5)
    assert alpha.details["alpha_daily"] == pytest.approx(0.001)
    assert alpha.value == pytest.approx(1.001**252 - 1)
    assert alpha.details["r_squared"] == pytest.approx(1.0)


def test_risk_free_takes_the_last_published_yield_and_needs_one():
    rates = pd.Series([4.0, 5.0], index=pd.to_datetime(["2026-03-02", "2026-03-04"]))
    rf = risk_free_daily(rates, FOUR.index)
    assert rf.tolist() == pytest.approx([1.04 ** (1 / 252) - 1] * 2 + [1.05 ** (1 / 252) - 1] * 2)
    with pytest.raises(NoPrices, match="2026-03-02"):
        risk_free_daily(rates.iloc[1:], FOUR.index)


def test_sharpe_sortino_alpha_match_numpy_and_statsmodels_on_real_data(real_returns, t_bill):
    window = real_returns.loc["2022-01-01":"2024-12-31"]
    port = 0.5 * window["AAPL"] + 0.3 * window["JPM"] + 0.2 * window["TLT"]
    bench = window["SPY"]
    y = t_bill.reindex(t_bill.index.union(port.index)).ffill().reindex(port.index)
    rf = (1 + y / 100) ** (1 / 252) - 1
    e, eb = (port - rf).to_numpy(), (bench - rf).to_numpy()

    sharpe = sharpe_ratio(port, t_bill)
    assert sharpe.observations == len(port) == 753
    assert sharpe.value == pytest.approx(np.mean(e) / np.std(e, ddof=1) * np.sqrt(252), rel=1e-12)
    sortino = sortino_ratio(port, t_bill)
    dd = np.sqrt(np.mean(np.clip(e, None, 0) ** 2))
    assert sortino.value == pytest.approx(np.mean(e) / dd * np.sqrt(252), rel=1e-12)

    fit = sm.OLS(e, sm.add_constant(eb)).fit()
    alpha, beta = alpha_beta(port, bench, t_bill)
    assert beta.value == pytest.approx(fit.params[1], rel=1e-10)
    assert alpha.details["alpha_daily"] == pytest.approx(fit.params[0], rel=1e-8)
    assert alpha.value == pytest.approx((1 + fit.params[0]) ** 252 - 1, rel=1e-8)
    assert alpha.details["r_squared"] == pytest.approx(fit.rsquared, rel=1e-10)


def test_alpha_uses_common_dates_only(real_returns):
    window = real_returns.loc["2023-01-01":"2023-12-31"]
    port, bench = window["MSFT"], window["SPY"].iloc[10:]
    _, beta = alpha_beta(port, bench)
    fit = sm.OLS(port.iloc[10:].to_numpy(), sm.add_constant(bench.to_numpy())).fit()
    assert beta.observations == len(bench) and beta.value == pytest.approx(fit.params[1])


def test_too_few_observations_give_none_with_a_reason():
    sharpe = sharpe_ratio(FOUR)
    assert sharpe.value is None and sharpe.reason == "4 daily returns; at least 20 needed"
    alpha, beta = alpha_beta(FOUR, FOUR.iloc[:2], min_observations=3)
    assert alpha.value is None and beta.value is None and "2 common" in beta.reason
    assert calmar_ratio(FOUR).value is None
    flat = pd.Series(0.001, index=pd.bdate_range("2026-01-05", periods=30))
    assert sharpe_ratio(flat).reason == "excess returns do not vary"
    assert sortino_ratio(flat).reason == "no excess return below 0"
    assert calmar_ratio(flat).reason.startswith("no drawdown")
    assert sharpe_ratio(flat).to_dict()["available"] is False


def test_max_drawdown_with_dates_and_calmar():
    # V: 1.1, 0.55, 0.66, 1.32 -> peak 1.1 (day 1), trough 0.55 (day 2, -50 %), back above on day 4.
    days = pd.bdate_range("2026-03-02", periods=4)
    r = pd.Series([0.1, -0.5, 0.2, 1.0], index=days)
    mdd = max_drawdown(r)
    assert mdd.value == pytest.approx(-0.5)
    assert mdd.details == {"peak_date": days[0], "trough_date": days[1], "recovery_date": days[3]}
    calmar = calmar_ratio(r, min_observations=4)
    annual = 1.32 ** (252 / 4) - 1
    assert calmar.value == pytest.approx(annual / 0.5)
    # A fall from the start: the peak is the starting value (no date), not yet recovered.
    falling = max_drawdown(pd.Series([-0.1, 0.05], index=days[:2]))
    assert falling.value == pytest.approx(-0.1)
    assert falling.details["peak_date"] is None and falling.details["recovery_date"] is None
    assert falling.to_dict()["details"]["trough_date"] == "2026-03-02"


def _daily_for_months(calendar, month_returns):
    """Daily returns that compound to the given month returns (equal daily steps)."""
    out = []
    for month, total in month_returns.items():
        days = calendar[calendar.to_period("M") == pd.Period(month)]
        step = (1 + total) ** (1 / len(days)) - 1
        out.append(pd.Series(step, index=days))
    return pd.concat(out)


def test_months_compound_daily_returns_and_drop_partial_ones():
    calendar = pd.bdate_range("2025-12-01", "2026-06-10")
    totals = {"2026-01": 0.05, "2026-02": -0.03, "2026-03": 0.02, "2026-04": -0.01, "2026-05": 0.04}
    full = _daily_for_months(calendar, totals)
    # Plus half of December (from the 15th) and June to date: both partial.
    r = pd.concat(
        [
            pd.Series(0.01, index=calendar[(calendar >= "2025-12-15") & (calendar < "2026-01-01")]),
            full,
            pd.Series(0.02, index=calendar[calendar >= "2026-06-01"]),
        ]
    )
    months = monthly_returns(r, calendar)
    assert [str(m) for m in months.index] == list(totals)
    assert months.to_numpy() == pytest.approx(list(totals.values()))
    # Without a calendar the series' own dates stand in: December starts mid-month (dropped),
    # June has weekdays left after its last return (dropped).
    assert [str(m) for m in monthly_returns(r).index] == list(totals)

    best, worst = best_worst_month(r, calendar)
    assert best.value == pytest.approx(0.05) and str(best.details["month"]) == "2026-01"
    assert worst.value == pytest.approx(-0.03) and worst.to_dict()["details"]["month"] == "2026-02"
    monthly, daily = hit_rates(r, calendar)
    assert monthly.value == pytest.approx(3 / 5) and monthly.observations == 5
    assert daily.value == pytest.approx((r > 0).mean())


def test_a_month_with_a_missing_day_is_not_complete():
    calendar = pd.bdate_range("2026-01-01", "2026-04-30")
    r = pd.Series(0.001, index=calendar).drop(pd.Timestamp("2026-02-11"))
    assert [str(m) for m in monthly_returns(r, calendar).index] == ["2026-01", "2026-03", "2026-04"]


def test_a_month_ending_on_its_last_weekday_is_complete_without_a_later_day():
    calendar = pd.bdate_range("2026-01-01", "2026-07-31")  # Fri 31 July: July is over
    r = pd.Series(0.001, index=calendar)
    assert str(monthly_returns(r, calendar).index[-1]) == "2026-07"
    assert str(monthly_returns(r.loc[:"2026-07-30"], calendar[:-1]).index[-1]) == "2026-06"


def test_too_few_months():
    r = pd.Series(0.001, index=pd.bdate_range("2026-01-01", "2026-02-28"))
    best, worst = best_worst_month(r)
    assert best.value is None and "complete months; at least 3" in best.reason


def test_all_statistics_together_are_json_ready(real_returns, real_prices, t_bill):
    port = real_returns["QQQ"].loc["2021-01-01":"2023-12-31"]
    stats = risk_adjusted_stats(
        port, t_bill, real_returns["SPY"], calendar=real_prices.index
    ).to_dict()
    names = list(stats["statistics"])
    assert names == [
        "sharpe_ratio",
        "sortino_ratio",
        "alpha",
        "beta",
        "calmar_ratio",
        "max_drawdown",
        "best_month",
        "worst_month",
        "hit_rate_monthly",
        "hit_rate_daily",
    ]
    assert stats["statistics"]["hit_rate_monthly"]["observations"] == 36
    for s in stats["statistics"].values():
        assert s["available"] and s["formula"] and isinstance(s["value"], float)
    assert stats["start"] == "2021-01-04" and stats["end"] == "2023-12-29"


def _months_by_loop(r: pd.Series, calendar: pd.DatetimeIndex | None) -> list[str]:
    """The rule, month by month, as the docstring states it (the reference for the vector form)."""
    known = calendar is not None
    cal = calendar if known else r.index
    out = []
    for month in sorted(set(r.index.to_period("M"))):
        start, end = month.start_time, month.end_time.normalize()
        days = cal[(cal >= start) & (cal <= end)]
        if len(days) == 0 or not days.isin(r.index).all():
            continue
        if (not known or cal[0] >= start) and days[0] != pd.bdate_range(start, end)[0]:
            continue
        if cal[-1] >= end or len(pd.bdate_range(cal[-1] + pd.Timedelta(days=1), end)) == 0:
            out.append(str(month))
    return out


@settings(max_examples=60, deadline=None)
@given(
    first=st.dates(dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
    length=st.integers(1, 400),
    holes=st.lists(st.integers(0, 399), max_size=6),
    cal_lead=st.integers(0, 40),
    cal_tail=st.integers(-5, 40),
    use_calendar=st.booleans(),
)
def test_complete_months_match_the_month_by_month_rule(
    first, length, holes, cal_lead, cal_tail, use_calendar
):
    calendar = pd.bdate_range(
        pd.Timestamp(first) - pd.offsets.BDay(cal_lead), periods=length + cal_lead + 40
    )
    dates = calendar[cal_lead : cal_lead + length]
    dates = dates.delete(sorted({h for h in holes if h < len(dates)})) if len(dates) > 1 else dates
    calendar = calendar[: max(cal_lead + length + cal_tail, 1)]
    dates = dates[dates <= calendar[-1]]
    if dates.empty:
        return
    r = pd.Series(0.001, index=dates)
    cal = calendar if use_calendar else None
    assert [str(m) for m in monthly_returns(r, cal).index] == _months_by_loop(r, cal)

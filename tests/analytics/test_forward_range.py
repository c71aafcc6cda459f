"""Forward range: lognormal closed form, bootstrap quantiles, revaluation by mibian, option
bounds, scaling and symmetry, breach probabilities, reproducibility and errors."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from tests.analytics.stress_helpers import valued_option
from webapp.analytics.errors import InsufficientHistory, NonPositiveEquity, NoPositions, NoPrices
from webapp.analytics.forward_range import MIN_OBSERVATIONS, simulate
from webapp.analytics.options import black_scholes_price

RATE_PCT = 4.0
EQUITY = 100_000.0


def stock(pid, symbol, exposure, spot=100.0):
    qty = exposure / spot
    return {
        "position_id": pid,
        "symbol": symbol,
        "underlying": symbol,
        "position_type": "LONG" if exposure >= 0 else "SHORT",
        "quantity": qty,
        "multiplier": 1.0,
        "price": spot,
        "underlying_price": spot,
        "market_value": exposure,
        "exposure": exposure,
        "delta": 1.0,
        "gamma": 0.0,
        "strike": np.nan,
        "vol": np.nan,
        "days_to_expiry": np.nan,
        "status": "ok",
    }


def option(pid, underlying, ptype, qty, strike, days, spot=100.0, vol=0.3):
    row = valued_option(
        underlying, ptype, strike, days, spot=spot, vol=vol, quantity=qty, rate_pct=RATE_PCT
    )
    return {"position_id": pid, **row}


def frame(rows):
    return pd.DataFrame(rows).set_index("position_id")


def dates(n):
    return pd.bdate_range("2015-01-02", periods=n, name="date")


def lognormal_returns(n, mu, sigma, symbols=("AAA",), seed=7):
    """Simple returns whose log returns are iid N(mu, sigma^2), one column per symbol."""
    rng = np.random.default_rng(seed)
    x = rng.normal(mu, sigma, size=(n, len(symbols)))
    return pd.DataFrame(np.expm1(x), index=dates(n), columns=list(symbols))


def constant_returns(n, r, symbols=("AAA",)):
    return pd.DataFrame(np.full((n, len(symbols)), r), index=dates(n), columns=list(symbols))


def binomial_se(p, n):
    return math.sqrt(p * (1.0 - p) / n)


# --- closed forms ----------------------------------------------------------------------------


def test_parametric_single_stock_matches_lognormal_quantiles():
    returns = lognormal_returns(2000, 0.0004, 0.012)
    positions = frame([stock(1, "AAA", EQUITY)])
    paths, horizon = 20_000, 126
    fr = simulate(
        positions, returns, EQUITY, method="parametric", horizons=(horizon,), paths=paths, seed=3
    )
    x = np.log1p(returns["AAA"].to_numpy())
    mu_hat, sigma_hat = x.mean(), x.std(ddof=1)
    m, s = mu_hat * horizon, sigma_hat * math.sqrt(horizon)
    band = fr.band(horizon)
    for p in (5, 50, 95):
        z = norm.ppf(p / 100)
        expected = math.expm1(m + z * s)
        # SE of a sample quantile: sqrt(p (1 - p) / n) / f(q); for Y = e^W - 1, W ~ N(m, s^2),
        # f_Y(q) = phi(z) / (s (1 + q)).
        se = binomial_se(p / 100, paths) * s * (1.0 + expected) / norm.pdf(z)
        assert band.pct[p] == pytest.approx(100 * expected, abs=100 * 3 * se), p
        assert band.dollars[p] == pytest.approx(band.pct[p] / 100 * EQUITY, rel=1e-12)
        assert band.value[p] == pytest.approx(EQUITY + band.dollars[p], rel=1e-12)
    assert band.label == "6 months"
    assert fr.observations == 2000


def test_bootstrap_one_day_quantiles_are_the_historys():
    # Fat-tailed, skewed history: a normal approximation would miss its 5% quantile.
    rng = np.random.default_rng(11)
    r = 0.01 * rng.standard_t(3, size=1500) - 0.004 * (rng.random(1500) < 0.05)
    returns = pd.DataFrame({"AAA": r}, index=dates(1500))
    paths = 20_000
    fr = simulate(
        frame([stock(1, "AAA", EQUITY)]),
        returns,
        EQUITY,
        horizons=(1,),
        step=1,
        paths=paths,
        seed=5,
    )
    band = fr.band(1)
    assert band.label == "1 trading day"
    for p in (5, 25, 50, 75, 95):
        # Distribution-free: the resample's p-quantile lies between the history's quantiles at
        # p -/+ 3 binomial standard errors.
        se = binomial_se(p / 100, paths)
        lo, hi = np.quantile(r, [p / 100 - 3 * se, p / 100 + 3 * se])
        assert 100 * lo <= band.pct[p] <= 100 * hi, p
    median = np.median(r)
    assert band.pct[50] == pytest.approx(100 * median, abs=100 * 0.0005)


@pytest.mark.parametrize("method", ["bootstrap", "parametric"])
def test_deterministic_history_revalues_stocks_and_options_like_mibian(method):
    # Every day returns exactly r0, so every path is L(t) = t ln(1 + r0) and the outcome is a
    # number: stock E ((1 + r0)^t - 1), options repriced by mibian at the aged expiry.
    r0 = 0.001
    returns = constant_returns(100, r0, ("AAA", "BBB"))
    rows = [
        stock(1, "AAA", 40_000.0),
        stock(2, "BBB", -10_000.0, spot=50.0),
        option(3, "AAA", "LC", 2, 105.0, 400),
        option(4, "BBB", "SP", -3, 48.0, 100, spot=50.0, vol=0.4),  # expires at t ~ 69
    ]
    positions = frame(rows)
    fr = simulate(
        positions,
        returns,
        EQUITY,
        method=method,
        horizons=(50, 126),
        step=25,
        paths=100,
        rate_pct=RATE_PCT,
    )
    assert [c.day for c in fr.path] == [25, 50, 75, 100, 125, 126]
    rate = RATE_PCT / 100
    for c in fr.path:
        t = c.day
        growth = (1 + r0) ** t
        days = t * 365 / 252
        expected = 40_000.0 * (growth - 1) - 10_000.0 * (growth - 1)
        for row in rows[2:]:
            call = row["position_type"] == "LC"
            s0 = row["underlying_price"]
            v0 = black_scholes_price(
                s0, row["strike"], rate, row["vol"], row["days_to_expiry"], call=call
            )
            spot = s0 * growth
            v1 = black_scholes_price(
                spot, row["strike"], rate, row["vol"], row["days_to_expiry"] - days, call=call
            )
            expected += row["quantity"] * 100 * (v1 - v0)
        for p in fr.percentiles:
            assert c.pct[p] == pytest.approx(100 * expected / EQUITY, rel=1e-9, abs=1e-9), t
    assert fr.options == 2
    assert fr.band(126).pct[5] == pytest.approx(fr.path[-1].pct[5], rel=1e-12)


@pytest.mark.parametrize("method", ["bootstrap", "parametric"])
def test_joint_draws_keep_a_perfect_hedge_flat(method):
    # BBB is AAA day for day: long one, short the other, the book never moves if each draw is
    # a joint row (bootstrap) or the singular covariance is factored correctly (parametric).
    returns = lognormal_returns(300, 0.0, 0.02)
    returns["BBB"] = returns["AAA"]
    positions = frame([stock(1, "AAA", 50_000.0), stock(2, "BBB", -50_000.0)])
    fr = simulate(positions, returns, EQUITY, method=method, paths=500, seed=2)
    for band in fr.bands:
        for p in fr.percentiles:
            assert abs(band.dollars[p]) < 1e-6


# --- scaling and symmetry ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_stock_history():
    return lognormal_returns(750, 0.0003, 0.015, ("AAA", "BBB"), seed=21)


def mixed_book(scale=1.0):
    rows = [
        stock(1, "AAA", 30_000.0 * scale),
        stock(2, "BBB", 20_000.0 * scale),
        option(3, "AAA", "LC", 2 * scale, 110.0, 300),
    ]
    return frame(rows)


@pytest.mark.parametrize("method", ["bootstrap", "parametric"])
def test_doubling_every_position_doubles_the_dollar_bands(two_stock_history, method):
    kwargs = {"method": method, "paths": 2000, "seed": 4, "rate_pct": RATE_PCT}
    one = simulate(mixed_book(1.0), two_stock_history, EQUITY, **kwargs)
    two = simulate(mixed_book(2.0), two_stock_history, EQUITY, **kwargs)
    for b1, b2 in zip(one.bands, two.bands):
        for p in one.percentiles:
            assert b2.dollars[p] == pytest.approx(2 * b1.dollars[p], rel=1e-9)
            assert b2.pct[p] == pytest.approx(2 * b1.pct[p], rel=1e-9)


def test_all_short_book_is_the_mirror_image(two_stock_history):
    long = frame([stock(1, "AAA", 30_000.0), stock(2, "BBB", 20_000.0)])
    short = frame([stock(1, "AAA", -30_000.0), stock(2, "BBB", -20_000.0)])
    a = simulate(long, two_stock_history, EQUITY, paths=2000, seed=9)
    b = simulate(short, two_stock_history, EQUITY, paths=2000, seed=9)
    for ba, bb in zip(a.bands, b.bands):
        for p in a.percentiles:
            assert bb.pct[p] == pytest.approx(-ba.pct[100 - p], rel=1e-9)
    # A lognormal book is right-skewed: the long's upside exceeds its downside, the short's not.
    assert a.band(252).pct[95] > -a.band(252).pct[5]
    assert -b.band(252).pct[5] > b.band(252).pct[95]


def test_more_cash_scales_the_percentages_down(two_stock_history):
    book = mixed_book()
    a = simulate(book, two_stock_history, EQUITY, paths=1000, seed=1, rate_pct=RATE_PCT)
    b = simulate(book, two_stock_history, 4 * EQUITY, paths=1000, seed=1, rate_pct=RATE_PCT)
    for ba, bb in zip(a.bands, b.bands):
        for p in a.percentiles:
            assert bb.dollars[p] == pytest.approx(ba.dollars[p], rel=1e-12)
            assert bb.pct[p] == pytest.approx(ba.pct[p] / 4, rel=1e-12)
            assert bb.value[p] == pytest.approx(4 * EQUITY + ba.dollars[p], rel=1e-12)


# --- options ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def volatile_history():
    return lognormal_returns(1000, 0.0, 0.02, seed=31)


def test_long_call_loses_at_most_its_premium(volatile_history):
    positions = frame([option(1, "AAA", "LC", 5, 100.0, 400)])
    premium = 5 * 100 * black_scholes_price(100.0, 100.0, RATE_PCT / 100, 0.3, 400, call=True)
    fr = simulate(positions, volatile_history, EQUITY, paths=5000, seed=8, rate_pct=RATE_PCT)
    for band in fr.bands:
        for p in fr.percentiles:
            assert band.dollars[p] >= -premium - 1e-9
    # Still 274 calendar days to run at 6 months: time value keeps the 5th percentile above the
    # whole premium lost.
    assert fr.band(126).dollars[5] > -premium


def test_option_expiring_before_the_horizon_is_worth_intrinsic(volatile_history):
    # A 30-day call 35% out of the money, 126 trading days ahead: expired, worth
    # max(S_T - K, 0). S_T's percentiles come from a one-share stock under the same draws.
    s, k, qm = 100.0, 135.0, 100.0
    call = frame([option(1, "AAA", "LC", 1, k, 30, spot=s)])
    share = frame([stock(1, "AAA", s, spot=s)])
    kwargs = {"horizons": (126,), "paths": 20_000, "seed": 12, "rate_pct": RATE_PCT}
    fc = simulate(call, volatile_history, EQUITY, **kwargs)
    fs = simulate(share, volatile_history, EQUITY, **kwargs)
    v0 = black_scholes_price(s, k, RATE_PCT / 100, 0.3, 30, call=True)
    spot_t = {p: s + fs.band(126).dollars[p] for p in fs.percentiles}
    assert spot_t[75] < k < spot_t[95]
    for p in (5, 25, 50, 75):
        assert fc.band(126).dollars[p] == pytest.approx(-qm * v0, rel=1e-9)
    # Above the strike the P&L is affine in S_T, so its percentile is the affine image of S_T's
    # (to the option grid's interpolation error: S_T = S e^L is convex in the grid's L).
    assert fc.band(126).dollars[95] == pytest.approx(qm * (spot_t[95] - k - v0), rel=2e-5)


def test_short_put_tail_is_heavier_than_its_delta_equivalent(volatile_history):
    put = option(1, "AAA", "SP", -4, 100.0, 180)
    delta_equivalent = frame([stock(1, "AAA", put["exposure"])])
    kwargs = {"horizons": (126,), "paths": 5000, "seed": 13, "rate_pct": RATE_PCT}
    fp = simulate(frame([put]), volatile_history, EQUITY, **kwargs)
    fd = simulate(delta_equivalent, volatile_history, EQUITY, **kwargs)
    assert put["exposure"] > 0
    assert fp.band(126).dollars[5] < 1.3 * fd.band(126).dollars[5] < 0
    # The short put's gain is capped at the premium it received.
    premium = 4 * 100 * black_scholes_price(100.0, 100.0, RATE_PCT / 100, 0.3, 180, call=False)
    assert fp.band(126).dollars[95] <= premium + 1e-9
    assert fd.band(126).dollars[95] > premium


# --- breach probabilities and horizons ----------------------------------------------------------


def test_breach_probabilities_are_monotone(volatile_history):
    positions = frame([stock(1, "AAA", EQUITY)])
    kwargs = {"paths": 5000, "seed": 17}
    tight = simulate(positions, volatile_history, EQUITY, loss_limit_pct=10, **kwargs)
    loose = simulate(positions, volatile_history, EQUITY, loss_limit_pct=20, **kwargs)
    for fr in (tight, loose):
        assert fr.breach is not None
        for b in fr.breach:
            assert 0 <= b.at_horizon <= b.any_checkpoint <= 1
        assert fr.breach[1].any_checkpoint >= fr.breach[0].any_checkpoint
    for t, lo in zip(tight.breach, loose.breach):
        assert lo.at_horizon < t.at_horizon
        assert lo.any_checkpoint < t.any_checkpoint
    six, year = tight.band(126), tight.band(252)
    assert year.pct[95] - year.pct[5] > six.pct[95] - six.pct[5]
    assert year.pct[75] - year.pct[25] > six.pct[75] - six.pct[25]
    assert year.label == "1 year"
    no_limit = simulate(positions, volatile_history, EQUITY, **kwargs)
    assert no_limit.breach is None and no_limit.loss_limit_pct is None
    assert no_limit.bands == tight.bands


def test_breach_at_the_5th_percentile_is_five_percent(volatile_history):
    positions = frame([stock(1, "AAA", EQUITY)])
    paths = 4000
    first = simulate(positions, volatile_history, EQUITY, horizons=(126,), paths=paths, seed=6)
    limit = -first.band(126).pct[5]
    fr = simulate(
        positions,
        volatile_history,
        EQUITY,
        horizons=(126,),
        paths=paths,
        seed=6,
        loss_limit_pct=limit,
    )
    assert fr.breach[0].at_horizon == pytest.approx(0.05, abs=2 / paths)
    assert fr.breach[0].any_checkpoint > fr.breach[0].at_horizon


def test_checkpoints_include_every_step_and_every_horizon(volatile_history):
    positions = frame([stock(1, "AAA", EQUITY)])
    fr = simulate(
        positions, volatile_history, EQUITY, horizons=(100, 30), step=21, paths=100, seed=0
    )
    assert fr.horizons == (30, 100)
    assert [c.day for c in fr.path] == [21, 30, 42, 63, 84, 100]
    assert [b.horizon_days for b in fr.bands] == [30, 100]
    assert fr.band(30).label == "30 trading days"
    assert fr.band(100).pct == fr.path[-1].pct
    with pytest.raises(KeyError):
        fr.band(252)


# --- reproducibility, results, errors ---------------------------------------------------------


@pytest.mark.parametrize("method", ["bootstrap", "parametric"])
def test_same_seed_same_result_other_seed_differs(two_stock_history, method):
    book = mixed_book()
    kwargs = {"method": method, "paths": 500, "rate_pct": RATE_PCT, "loss_limit_pct": 5}
    a = simulate(book, two_stock_history, EQUITY, seed=42, **kwargs)
    b = simulate(book, two_stock_history, EQUITY, seed=42, **kwargs)
    c = simulate(book, two_stock_history, EQUITY, seed=43, **kwargs)
    assert a.to_dict() == b.to_dict()
    assert a.band(252).pct != c.band(252).pct


def test_to_dict_is_json_with_string_percentile_keys(two_stock_history):
    positions = mixed_book()
    positions.loc[9] = {**stock(9, "CCC", 1000.0), "status": "no_price"}
    fr = simulate(
        positions, two_stock_history, EQUITY, paths=200, rate_pct=RATE_PCT, loss_limit_pct=15
    )
    d = json.loads(json.dumps(fr.to_dict()))
    assert d["percentiles"] == ["p5", "p25", "p50", "p75", "p95"]
    assert set(d["bands"][0]["pct"]) == {"p5", "p25", "p50", "p75", "p95"}
    assert d["bands"][1]["label"] == "1 year"
    assert d["loss_limit_pct"] == 15 and len(d["breach"]) == 2
    assert d["left_out"] == [{"position_id": 9, "symbol": "CCC", "reason": "no_price"}]
    assert d["observations"] == 750 and d["window_start"] == "2015-01-02"
    assert d["options"] == 1 and d["method"] == "bootstrap"
    assert "bootstrap" in d["description"]


def test_complete_case_dates_only(two_stock_history):
    returns = two_stock_history.copy()
    returns.iloc[:700, 1] = np.nan  # BBB has 50 dates: too few for a two-stock book
    positions = frame([stock(1, "AAA", 1.0), stock(2, "BBB", 1.0)])
    with pytest.raises(InsufficientHistory) as info:
        simulate(positions, returns, EQUITY, paths=100)
    assert info.value.details == {"available": 50, "required": MIN_OBSERVATIONS}
    # AAA alone still has its 750 dates.
    fr = simulate(frame([stock(1, "AAA", 1.0)]), returns, EQUITY, paths=100)
    assert fr.observations == 750


def test_errors(two_stock_history):
    book = frame([stock(1, "AAA", 1000.0)])
    for equity in (0.0, -5.0, float("nan")):
        with pytest.raises(NonPositiveEquity):
            simulate(book, two_stock_history, equity)
    with pytest.raises(InsufficientHistory):
        simulate(book, two_stock_history.iloc[: MIN_OBSERVATIONS - 1], EQUITY, paths=100)
    simulate(book, two_stock_history.iloc[:MIN_OBSERVATIONS], EQUITY, paths=100)
    with pytest.raises(NoPrices) as info:
        simulate(frame([stock(1, "ZZZ", 1000.0)]), two_stock_history, EQUITY)
    assert info.value.details == {"symbols": ["ZZZ"]}
    with pytest.raises(NoPositions):
        simulate(frame([{**stock(1, "AAA", 1.0), "status": "stale"}]), two_stock_history, EQUITY)
    bad = [
        {"method": "garch"},
        {"paths": 99},
        {"horizons": (0, 126)},
        {"horizons": ()},
        {"step": 0},
        {"loss_limit_pct": -15},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            simulate(book, two_stock_history, EQUITY, **kwargs)


def test_realistic_book_on_real_data_is_fast(real_returns, real_prices):
    window = real_returns.iloc[-756:]
    symbols = [c for c in window.columns if window[c].notna().all()][:30]
    assert len(symbols) == 30
    last = real_prices.iloc[-1]
    rows = [stock(i, s, 10_000.0 * (1 + i % 4), spot=float(last[s])) for i, s in enumerate(symbols)]
    for j, s in enumerate(symbols[:10]):
        spot = float(last[s])
        ptype = ("LC", "SP", "LP", "SC")[j % 4]
        qty = 2 if ptype[0] == "L" else -2
        rows.append(option(100 + j, s, ptype, qty, round(spot * 1.05, 2), 20 + 45 * j, spot=spot))
    positions = frame(rows)
    equity = float(positions["market_value"].sum()) + 50_000.0
    start = time.perf_counter()
    fr = simulate(positions, window, equity, paths=5000, rate_pct=RATE_PCT, loss_limit_pct=15)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0
    assert fr.options == 10 and fr.left_out == ()
    for band in fr.bands:
        values = [band.pct[p] for p in fr.percentiles]
        assert values == sorted(values) and all(math.isfinite(v) for v in values)


def test_the_option_grid_matches_pricing_every_path(volatile_history, monkeypatch):
    """With many paths options are priced on a grid of the underlying's log return and read
    off by interpolation: the bands equal pricing each path exactly, to a few ppm of value."""
    import webapp.analytics.forward_range as engine

    book = frame(
        [
            option(1, "AAA", "LC", 3, 105.0, 200),
            option(2, "AAA", "SP", -5, 95.0, 60),
            option(3, "AAA", "LP", 2, 80.0, 400),
        ]
    )
    kwargs = {"paths": 4000, "seed": 21, "rate_pct": RATE_PCT}
    grid = simulate(book, volatile_history, EQUITY, **kwargs)
    monkeypatch.setattr(engine, "GRID_MIN_PATHS", 10**9)  # every path priced exactly
    exact = simulate(book, volatile_history, EQUITY, **kwargs)
    value = sum(abs(q) * 100 * 10.0 for q in (3, 5, 2))  # order of the book's option value
    for g, e in zip(grid.bands, exact.bands):
        for p in grid.percentiles:
            assert g.dollars[p] == pytest.approx(e.dollars[p], abs=1e-4 * value)

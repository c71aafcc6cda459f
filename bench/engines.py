"""Engine benchmarks: the SigmaSight engines against the obvious baselines on the bundled prices.

Run ``.venv/bin/python bench/engines.py`` (every section) or ``... --section stress`` (repeatable;
``--help`` lists them). Every comparison first asserts that engine and baseline give the same
numbers (to 1e-9), then times both (``time.perf_counter``, median of several runs after a
warm-up) and prints one table. Each section is a function returning `Row`s, so more sections
(e.g. batch timings) can be appended to `SECTIONS`.
"""

from __future__ import annotations

import os

# One BLAS thread, set before numpy loads: the baselines (pandas' nancorr, a statsmodels loop)
# run on one core, so this is the like-for-like comparison; and on a busy 2-core box a threaded
# BLAS turns sub-millisecond products into 5-15 ms stalls (measured), which is noise, not speed.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import load_average  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from webapp.analytics.correlations import correlation_matrix  # noqa: E402
from webapp.analytics.factors import FACTOR_ETFS, factor_betas, factor_returns  # noqa: E402
from webapp.analytics.returns import simple_returns  # noqa: E402
from webapp.analytics.risk import backcast_returns, risk_metrics  # noqa: E402

DATASET = ROOT / "webapp" / "data" / "prices_adjclose_extended.csv.gz"
THREE_YEARS = 756
TOL = 1e-9


@dataclass(frozen=True)
class Row:
    """One line of the table: engine vs baseline timings (seconds per call)."""

    name: str
    engine_s: float
    baseline: str
    baseline_s: float | None
    target: float | None = None  # required speed-up, if any
    note: str = ""

    @property
    def speedup(self) -> float | None:
        return None if self.baseline_s is None else self.baseline_s / self.engine_s


def median_time(fn: Callable[[], object], *, repeat: int = 7) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_prices() -> pd.DataFrame:
    """Adjusted closes of every symbol in the bundled dataset (wide, DatetimeIndex)."""
    long = pd.read_csv(DATASET, parse_dates=["date"])
    prices = long.pivot(index="date", columns="symbol", values="adj_close").sort_index()
    prices.columns.name = None
    return prices


def load_returns() -> pd.DataFrame:
    """Daily simple returns of every symbol in the bundled dataset (wide, DatetimeIndex)."""
    return simple_returns(load_prices())


def _close(a, b, what: str) -> None:
    np.testing.assert_allclose(
        np.asarray(a, float), np.asarray(b, float), rtol=TOL, atol=TOL, err_msg=what
    )


# --- option Greeks ----------------------------------------------------------------------------

GREEK_OPTIONS = 10_000
GREEK_SAMPLE = 500  # options the per-option loop values; its time is scaled linearly
GREEK_TARGET_S = 0.010


def bench_greeks(returns: pd.DataFrame) -> list[Row]:
    """10,000 mixed options valued with Greeks at once vs ``option_greeks`` (mibian) per option."""
    from webapp.analytics.options import black_scholes_greeks, option_greeks

    del returns  # synthetic options: spot, strike, vol and expiry drawn per option
    rng = np.random.default_rng(14)
    n = GREEK_OPTIONS
    spot = rng.uniform(20, 400, n)
    strike = spot * rng.uniform(0.7, 1.3, n)
    vol = rng.uniform(0.1, 0.9, n)
    days = rng.choice([-5, 0, 1, 7, 30, 90, 365, 730], n).astype(float)
    call = rng.random(n) < 0.5
    names = ("price", "delta", "gamma", "theta", "vega", "rho")

    def loop(idx):
        return [
            [
                getattr(option_greeks(spot[i], strike[i], 4.5, vol[i], days[i], call=call[i]), g)
                for g in names
            ]
            for i in idx
        ]

    sample = np.arange(GREEK_SAMPLE)
    ours = black_scholes_greeks(spot, strike, 0.045, vol, days, call)
    expected = np.array(loop(sample))
    for j, g in enumerate(names):
        _close(getattr(ours, g)[sample], expected[:, j], f"greek {g}")
    engine_s = median_time(lambda: black_scholes_greeks(spot, strike, 0.045, vol, days, call))
    loop_s = median_time(lambda: loop(sample), repeat=3) * n / GREEK_SAMPLE
    verdict = "PASS" if engine_s <= GREEK_TARGET_S else "FAIL"
    return [
        Row(
            f"Greeks: {n:,} mixed options (expired, expiring, 1 day - 2 years), 6 outputs",
            engine_s,
            f"mibian per option ({GREEK_SAMPLE} timed, scaled)",
            loop_s,
            note=f"equal to 1e-9; target <= {GREEK_TARGET_S * 1000:g} ms {verdict}",
        )
    ]


# --- factor betas ----------------------------------------------------------------------------


def _statsmodels_loop(returns: pd.DataFrame, factors: pd.DataFrame) -> dict[str, tuple]:
    """Baseline: one statsmodels OLS fit per symbol on its available window dates."""
    import statsmodels.api as sm

    X = sm.add_constant(factors)
    out = {}
    for symbol in returns.columns:
        y = returns[symbol].reindex(X.index)
        ok = y.notna().to_numpy()
        res = sm.OLS(y[ok], X[ok]).fit()
        out[symbol] = (res.params.to_numpy(), res.tvalues.to_numpy(), res.rsquared)
    return out


def bench_factor_betas(returns: pd.DataFrame) -> list[Row]:
    """Vectorised factor betas vs a per-symbol statsmodels loop (all symbols, 3 years)."""
    factors = factor_returns(returns).iloc[-THREE_YEARS:]
    window = returns.iloc[-THREE_YEARS:]
    ours = factor_betas(window, factors, window=THREE_YEARS)
    base = _statsmodels_loop(window, factors)
    for symbol, (params, tvalues, r2) in base.items():
        _close(np.r_[ours.alpha[symbol], ours.betas.loc[symbol]], params, f"params {symbol}")
        _close(ours.r_squared[symbol], r2, f"rsquared {symbol}")
        if symbol not in FACTOR_ETFS:  # exact fits: t-stats are rounding noise (ours: NaN)
            _close(ours.t_stats.loc[symbol], tvalues, f"tvalues {symbol}")
    return [
        Row(
            f"factor betas: {window.shape[1]} symbols x {len(factors)} days, 8 factors",
            median_time(lambda: factor_betas(window, factors, window=THREE_YEARS), repeat=21),
            "statsmodels OLS loop",
            median_time(lambda: _statsmodels_loop(window, factors), repeat=5),
            target=10.0,
            note="params, t-stats, R² equal to 1e-9",
        )
    ]


# --- correlations ----------------------------------------------------------------------------


def _realistic_gaps(returns: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Late listings for 5 symbols and 20 missing bars for 3 others (on top of XLC's real gap)."""
    gapped = returns.copy()
    for j, start in zip((3, 17, 40, 66, 90), (250, 500, 750, 1000, 1250)):
        gapped.iloc[:start, j] = np.nan
    for j in (7, 29, 71):
        gapped.iloc[rng.choice(len(gapped), 20, replace=False), j] = np.nan
    return gapped


def bench_correlations(returns: pd.DataFrame, *, min_overlap: int = 30) -> list[Row]:
    """Masked-moment correlations vs ``DataFrame.corr(min_periods=...)`` on several gap layouts."""
    rng = np.random.default_rng(20260803)
    full = returns.iloc[1:]  # XLC starts 2018-06-19: a real late listing
    cases = [
        ("3y, complete", returns.iloc[-THREE_YEARS:]),
        ("2018-2026, XLC late start", full),
        ("2018-2026, + 5 late listings, 60 missing bars", _realistic_gaps(full, rng)),
        ("2018-2026, 2% random gaps in every column", full.mask(rng.random(full.shape) < 0.02)),
    ]
    rows = []
    for label, data in cases:
        ours, base = (
            correlation_matrix(data, min_overlap=min_overlap),
            data.corr(min_periods=min_overlap),
        )
        assert ours.isna().equals(base.isna()), label
        _close(ours.fillna(0), base.fillna(0), f"correlation {label}")
        rows.append(
            Row(
                f"correlations {data.shape[1]}x{len(data)}: {label}",
                median_time(
                    lambda d=data: correlation_matrix(d, min_overlap=min_overlap), repeat=21
                ),
                f"DataFrame.corr(min_periods={min_overlap})",
                median_time(lambda d=data: d.corr(min_periods=min_overlap), repeat=11),
                target=10.0,
                note="equal to 1e-9, same nulls",
            )
        )
    return rows


# --- risk metrics ----------------------------------------------------------------------------


def _naive_pandas_metrics(r: pd.Series, spy: pd.Series) -> dict:
    """Baseline: the same metrics written the straightforward pandas way."""
    value = pd.concat([pd.Series([1.0]), (1 + r).cumprod().reset_index(drop=True)])
    active = r - spy
    te = active.std() * np.sqrt(252)
    out = {
        "vol": r.std() * np.sqrt(252),
        "mdd": (value / value.cummax() - 1).min(),
        "beta": r.cov(spy) / spy.var(),
        "r2": r.corr(spy) ** 2,
        "te": te,
        "ir": active.mean() * 252 / te,
        "up": r[spy > 0].mean() / spy[spy > 0].mean(),
        "down": r[spy < 0].mean() / spy[spy < 0].mean(),
    }
    for c in (0.95, 0.99):
        q = r.quantile(1 - c)
        out[f"var{c}"] = -q
        out[f"es{c}"] = -r[r <= q].mean()
        out[f"pvar{c}"] = (
            1.6448536269514722 * r.std() if c == 0.95 else 2.3263478740408408 * r.std()
        )
    return out


def _quantstats_metrics(qs, r: pd.Series, spy: pd.Series) -> dict:
    """Baseline: the closest quantstats calls (it has no historical VaR; its VaR is parametric)."""
    greeks = qs.stats.greeks(r, spy)
    return {
        "vol": qs.stats.volatility(r),
        "mdd": qs.stats.max_drawdown(r),
        "beta": greeks["beta"],
        "r2": qs.stats.r_squared(r, spy),
        "ir_daily": qs.stats.information_ratio(r, spy),
        "es0.95": -qs.stats.conditional_value_at_risk(r, confidence=0.95, method="historical"),
        "es0.99": -qs.stats.conditional_value_at_risk(r, confidence=0.99, method="historical"),
        "pvar0.95": -qs.stats.value_at_risk(r, confidence=0.95),
        "pvar0.99": -qs.stats.value_at_risk(r, confidence=0.99),
    }


def bench_risk_metrics(returns: pd.DataFrame, *, lookback: int = THREE_YEARS) -> list[Row]:
    """`risk_metrics` on a 3-year backcast of all symbols vs naive pandas and quantstats."""
    window = returns.iloc[-lookback:]
    exposures = pd.Series(1_000_000.0 / window.shape[1], index=window.columns)
    exposures.iloc[::4] *= -0.5  # some shorts
    equity = 1_000_000.0
    r = backcast_returns(exposures, window, equity=equity)
    spy = window["SPY"].rename("SPY")
    m = risk_metrics(r, spy, equity=equity)
    ours = {
        "vol": m.volatility_annual,
        "mdd": m.max_drawdown,
        "beta": m.benchmark.beta,
        "r2": m.benchmark.r_squared,
        "te": m.benchmark.tracking_error,
        "ir": m.benchmark.information_ratio,
        "up": m.benchmark.up_capture,
        "down": m.benchmark.down_capture,
        **{f"var{v.confidence}": v.historical_var for v in m.var},
        **{f"es{v.confidence}": v.expected_shortfall for v in m.var},
        **{f"pvar{v.confidence}": v.parametric_var for v in m.var},
    }
    naive = _naive_pandas_metrics(r, spy)
    for key, value in naive.items():
        _close(ours[key], value, f"naive {key}")
    rows = [
        Row(
            f"risk metrics: backcast of {window.shape[1]} symbols, {len(r)} days",
            median_time(lambda: risk_metrics(r, spy, equity=equity), repeat=21),
            "naive pandas",
            median_time(lambda: _naive_pandas_metrics(r, spy), repeat=21),
            note="vol, MDD, VaR/ES/param. VaR 95/99, beta, R², TE, IR, capture equal to 1e-9",
        )
    ]
    try:
        import quantstats as qs
    except ImportError:
        rows.append(
            Row("risk metrics vs quantstats", rows[0].engine_s, "quantstats not installed", None)
        )
        return rows
    theirs = _quantstats_metrics(qs, r, spy)
    for key in ("vol", "mdd", "beta", "r2", "es0.95", "es0.99"):
        _close(ours[key], theirs[key], f"quantstats {key}")
    _close(ours["ir"], theirs["ir_daily"] * np.sqrt(252), "quantstats IR (daily there)")
    differs = max(abs(ours[f"pvar{c}"] - theirs[f"pvar{c}"]) for c in (0.95, 0.99))
    rows.append(
        Row(
            "risk metrics vs quantstats " + qs.__version__,
            rows[0].engine_s,
            "quantstats (closest calls)",
            median_time(lambda: _quantstats_metrics(qs, r, spy), repeat=11),
            note=(
                "vol, MDD, beta, R², hist. ES, IR equal to 1e-9; "
                "its VaR is parametric with the mean "
                f"(ours z·σ per DESIGN): differs by {differs:.1e}"
            ),
        )
    )
    return rows


# --- batch timings --------------------------------------------------------------------------
#
# The whole portfolio batch (webapp/services/batch.py) as the worker runs it, on a throw-away
# SQLite database built like the test suite's: real migrations, the bundled prices, the demo books.

DEMO_TARGET_S = 0.15
LARGE_BOOK = 2_000
HUGE_BOOK = 10_000
SYNTHETIC_SIZES = (500, LARGE_BOOK, HUGE_BOOK)
# Issue targets: the batch of each synthetic book (10% options), seconds.
SIZE_TARGETS_S = {LARGE_BOOK: 0.5, HUGE_BOOK: 2.0}
BATCH_REPEAT = 3
# Underlyings deep enough in options that a big book would write them.
LIQUID_UNDERLYINGS = (
    "SPY",
    "QQQ",
    "IWM",
    "AAPL",
    "MSFT",
    "NVDA",
    "AMZN",
    "GOOGL",
    "META",
    "TSLA",
    "JPM",
    "XOM",
    "AMD",
    "NFLX",
)
OPTION_EXPIRIES = (
    "2026-08-21",
    "2026-09-18",
    "2026-10-16",
    "2026-12-18",
    "2027-01-15",
    "2027-06-17",
)


def build_batch_app(db_path: Path):
    """The app on a fresh SQLite file: migrations, bundled prices, demo books.

    Built the same way as tests/conftest.py.
    """
    import contextlib
    import io

    import flask_migrate

    from webapp import create_app
    from webapp.extensions import db
    from webapp.marketdata.bundled import BundledProvider
    from webapp.marketdata.sync import sync_prices
    from webapp.services.demo import seed_demo

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}")
    with app.app_context():
        # Alembic's logging config prints each migration to stderr; not part of the table.
        with contextlib.redirect_stderr(io.StringIO()):
            flask_migrate.upgrade()
        sync_prices(BundledProvider())
        seed_demo()
        db.session.remove()
    return app


def add_synthetic_book(
    n_positions: int, *, seed: int = 20260803, option_share: float = 0.10, name: str | None = None
) -> int:
    """A book of ``n_positions`` drawn with a seeded rng; returns its portfolio id (app context).

    Stocks/ETFs from every symbol with a close on the as-of date, longs (~70%) and shorts, entry
    dates uniform over 2023-08-01 .. 2026-07-31 at that day's close; ~``option_share`` options on
    liquid underlyings expiring after 2026-08-03 (strikes 80-120% of the entry close, half with an
    implied vol, half on realized vol), premiums by Black-Scholes at entry.
    """
    import datetime as dt

    from sqlalchemy import select

    from webapp.analytics.options import black_scholes_price
    from webapp.extensions import db
    from webapp.models import Portfolio, Position, User
    from webapp.services import queries
    from webapp.services.management import osi_symbol

    rng = np.random.default_rng(seed + n_positions)
    as_of = queries.latest_price_date()
    first, last = dt.date(2023, 8, 1), dt.date(2026, 7, 31)
    prices = queries.load_prices(queries.known_symbols(), first - dt.timedelta(days=10), as_of)
    live = [s for s in prices.columns if pd.notna(prices[s].iloc[-1])]
    liquid = [s for s in LIQUID_UNDERLYINGS if s in live]
    days = pd.date_range(first, last, freq="D")
    email = f"bench-{n_positions}-{seed}@example.com"
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, full_name=f"Bench {n_positions}")
        user.set_password("bench-password-1")
        db.session.add(user)
        db.session.flush()
    portfolio = Portfolio(
        user_id=user.id,
        name=name or f"Synthetic {n_positions} #{seed}",
        cash=float(rng.integers(1, 50)) * 100_000.0,
    )
    db.session.add(portfolio)
    db.session.flush()
    rows = []
    for _ in range(n_positions):
        entry = days[rng.integers(len(days))]
        is_option = rng.random() < option_share
        symbol = str(rng.choice(liquid if is_option else live))
        upto = prices[symbol].loc[:entry].dropna()
        entry_day, spot = upto.index[-1].date(), float(upto.iloc[-1])
        long = rng.random() < 0.7
        if is_option:
            kind = "C" if rng.random() < 0.5 else "P"
            expiry = dt.date.fromisoformat(str(rng.choice(OPTION_EXPIRIES)))
            strike = max(5.0, round(spot * rng.uniform(0.8, 1.2) / 5.0) * 5.0)
            contracts = int(rng.integers(1, 40)) * (1 if long else -1)
            implied = round(float(rng.uniform(0.15, 0.6)), 4) if rng.random() < 0.5 else None
            premium = black_scholes_price(
                spot, strike, 0.045, implied or 0.3, (expiry - entry_day).days, call=kind == "C"
            )
            rows.append(
                dict(
                    portfolio_id=portfolio.id,
                    symbol=osi_symbol(symbol, expiry, kind, strike),
                    position_type=("L" if long else "S") + kind,
                    quantity=float(contracts),
                    entry_price=round(max(premium, 0.01), 4),
                    entry_date=entry_day,
                    underlying_symbol=symbol,
                    strike_price=strike,
                    expiration_date=expiry,
                    multiplier=100.0,
                    implied_vol=implied,
                    notes="",
                )
            )
        else:
            shares = float(max(1, round(float(rng.uniform(2_000, 200_000)) / spot)))
            rows.append(
                dict(
                    portfolio_id=portfolio.id,
                    symbol=symbol,
                    position_type="LONG" if long else "SHORT",
                    quantity=shares if long else -shares,
                    entry_price=round(spot, 4),
                    entry_date=entry_day,
                    multiplier=1.0,
                    notes="",
                    underlying_symbol=None,
                    strike_price=None,
                    expiration_date=None,
                    implied_vol=None,
                )
            )
    # One executemany: every row needs the same keys, so stocks carry the option columns as NULL.
    db.session.execute(Position.__table__.insert(), rows)
    db.session.commit()
    return portfolio.id


def stored_bytes(run_id: int) -> int:
    """Bytes of JSON the batch run ``run_id`` stored (its result rows' payloads, as encoded)."""
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import AnalyticsResult

    column = AnalyticsResult.__table__.c.payload
    # Read as text, not through the JSON type: the stored bytes, without decoding them.
    return int(
        db.session.scalar(
            select(func.sum(func.length(func.cast(column, db.Text)))).where(
                AnalyticsResult.batch_run_id == run_id
            )
        )
        or 0
    )


def time_batch(portfolio_id: int, repeat: int = BATCH_REPEAT) -> tuple[float, dict, int, int]:
    """Median wall time of ``run_portfolio_batch`` over ``repeat`` runs, per-step medians (s),
    the number of positions and the bytes of JSON the last run stored.

    No separate warm-up: the median sets aside the one run per process that also pays the engines'
    lazy imports. Re-runs replace the day's results, as a nightly re-run of the same day would.
    """
    from webapp.extensions import db
    from webapp.services import queries, valuation
    from webapp.services.batch import run_portfolio_batch

    totals, steps, payload = [], {}, 0
    for _ in range(repeat):
        # Every run values the book: a nightly batch meets new prices, so never a cache hit.
        valuation._CACHE.clear()
        start = time.perf_counter()
        run = run_portfolio_batch(portfolio_id, trigger="bench")
        totals.append(time.perf_counter() - start)
        if run.status != "succeeded":
            raise RuntimeError(f"batch for portfolio {portfolio_id} {run.status}: {run.error}")
        for step in run.steps:
            steps.setdefault(step["name"], []).append(step["seconds"])
        payload = stored_bytes(run.id)
        db.session.remove()
    count = len(queries.open_positions(portfolio_id))
    db.session.remove()
    medians = {k: statistics.median(v) for k, v in steps.items()}
    return statistics.median(totals), medians, count, payload


def bench_batch() -> bool:
    """Time the batch for the demo books and synthetic books; print a table; True if all pass."""
    import shutil
    import tempfile

    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Portfolio
    from webapp.services.demo import DEMO_BOOKS

    tmp = Path(tempfile.mkdtemp(prefix="sigmasight-bench-"))
    try:
        started = time.perf_counter()
        app = build_batch_app(tmp / "bench.db")
        with app.app_context():
            books = [
                (
                    b.portfolio,
                    db.session.scalar(select(Portfolio.id).where(Portfolio.name == b.portfolio)),
                    DEMO_TARGET_S,
                )
                for b in DEMO_BOOKS
            ]
            for n in SYNTHETIC_SIZES:
                books.append(
                    (f"synthetic {n}, 3 years", add_synthetic_book(n), SIZE_TARGETS_S.get(n))
                )
            db.session.remove()
        print(
            f"\nbatch: run_portfolio_batch on a temp SQLite DB (built in "
            f"{time.perf_counter() - started:.1f} s), median of {BATCH_REPEAT} runs per book; "
            f"load average {load_average()}"
        )
        rows = []
        with app.app_context():
            for label, pid, target in books:
                total, steps, count, payload = time_batch(pid)
                rows.append((label, count, total, steps, payload, target))
        names = list(rows[0][3])
        width = max(len(r[0]) for r in rows)
        print(
            f"{'book':<{width}}  {'positions':>9}  {'total s':>8}  {'ms/pos':>7}  "
            f"{'stored MB':>9}  " + "  ".join(f"{n[:12]:>12}" for n in names) + "  target"
        )
        ok = True
        for label, count, total, steps, payload, target in rows:
            verdict = ""
            if target is not None:
                passed = total <= target
                ok &= passed
                verdict = f"<= {target:g} s " + ("PASS" if passed else "FAIL")
            cells = "  ".join(f"{steps.get(n, float('nan')):12.4f}" for n in names)
            print(
                f"{label:<{width}}  {count:>9}  {total:8.3f}  {1000 * total / count:7.3f}  "
                f"{payload / 1e6:9.2f}  {cells}  {verdict}"
            )
        print(
            "  - per-step columns: seconds recorded by the batch for each step (median); total "
            "includes the run bookkeeping and result pruning; ms/pos: total per open position "
            "(flat = linear growth); stored MB: JSON bytes of the run's result rows"
        )
        print(f"  load average after: {load_average()}")
        return ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- stress revaluation of a large option book ------------------------------------------------
#
# The stress step's engine call (webapp/services/stress_tests.py) on a 10,000-option book, with
# the inputs built from the bundled data the way the service builds them but without the app:
# the valuation's frame (`value_holdings`), the factor model's betas and 252-day covariance, the
# replay closes over every episode, the book's equity.

STRESS_OPTIONS = 10_000
STRESS_UNDERLYINGS = 30
STRESS_EXPIRED = 20  # expired 1-30 days ago: intrinsic value
STRESS_EXPIRING = 20  # expiring on the as-of date: intrinsic value
STRESS_SAMPLE = 500  # options the mibian loop revalues; its time is scaled linearly
STRESS_TARGET_S = 0.5
STRESS_REPEAT = 5
RISK_FREE = ROOT / "webapp" / "data" / "risk_free.csv"


def stress_book(prices: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    """A holdings frame of ``STRESS_OPTIONS`` options (the ``queries.holdings_frame`` columns) and
    its cash ($).

    Calls and puts, long and short, on ``STRESS_UNDERLYINGS`` symbols with a close on every date
    (so every replay prices them); strikes 70-130% of the last close, expiries 1-730 days out,
    plus a few expired and expiring today; half with an implied vol, half on realized vol.
    """
    complete = [s for s in prices.columns if prices[s].notna().all() and not s.startswith("^")]
    underlyings = sorted(rng.choice(complete, STRESS_UNDERLYINGS, replace=False).tolist())
    as_of = prices.index[-1]
    n = STRESS_OPTIONS
    underlying = rng.choice(underlyings, n)
    spot = prices[underlyings].iloc[-1].reindex(underlying).to_numpy()
    ptype = rng.choice(["LC", "LP", "SC", "SP"], n)
    days = rng.integers(1, 731, n)
    days[:STRESS_EXPIRED] = rng.integers(-30, 0, STRESS_EXPIRED)
    days[STRESS_EXPIRED : STRESS_EXPIRED + STRESS_EXPIRING] = 0
    strike = np.round(spot * rng.uniform(0.7, 1.3, n), 2)
    expiry = [(as_of + pd.Timedelta(days=int(d))).date() for d in days]
    contracts = rng.integers(1, 40, n) * np.where(np.isin(ptype, ["LC", "LP"]), 1, -1)
    implied = np.where(rng.random(n) < 0.5, np.round(rng.uniform(0.12, 0.8, n), 4), np.nan)
    holdings = pd.DataFrame(
        {
            "symbol": [
                f"{u} {e:%y%m%d}{t[1]}{k:g}"
                for u, e, t, k in zip(underlying, expiry, ptype, strike)
            ],
            "underlying": underlying,
            "position_type": ptype,
            "quantity": contracts.astype(float),
            "multiplier": 100.0,
            "entry_price": np.round(rng.uniform(0.5, 20.0, n), 2),
            "entry_date": (as_of - pd.Timedelta(days=30)).date(),
            "strike": strike,
            "expiry": expiry,
            "implied_vol": implied,
            "strategy": None,
        },
        index=pd.Index(range(1, n + 1), name="position_id"),
    )
    return holdings, 50_000_000.0


def stress_inputs(prices: pd.DataFrame, rng: np.random.Generator) -> dict:
    """``run_all_scenarios``' arguments as the stress step passes them (see module comment)."""
    from webapp.analytics.constants import BENCHMARK_SYMBOL, DEFAULT_FACTOR_WINDOW
    from webapp.analytics.exposures import exposure_summary, value_holdings
    from webapp.analytics.factors import factor_construction
    from webapp.analytics.shrinkage import MoveShrinkage, scenario_covariance
    from webapp.analytics.stress import load_scenarios

    holdings, cash = stress_book(prices, rng)
    as_of = prices.index[-1]
    rates = pd.read_csv(RISK_FREE, parse_dates=["date"]).set_index("date")["rate_annual_pct"]
    rate = float(rates.loc[:as_of].iloc[-1])
    valued = value_holdings(holdings, prices, as_of, rate)
    returns = simple_returns(prices)
    construction = factor_construction(
        returns.reindex(columns=sorted(FACTOR_ETFS)), window=DEFAULT_FACTOR_WINDOW
    )
    exposed = sorted(set(valued["underlying"]))
    betas = factor_betas(
        returns.reindex(columns=exposed), construction.returns, window=DEFAULT_FACTOR_WINDOW
    ).betas
    scenarios = load_scenarios()
    # The service loads each episode from 10 days before its start to its end, in one query.
    windows = [
        (pd.Timestamp(s.replay_start) - pd.Timedelta(days=10), pd.Timestamp(s.replay_end))
        for s in scenarios
        if s.kind == "historical"
    ]
    in_window = np.zeros(len(prices), dtype=bool)
    for start, end in windows:
        in_window |= (prices.index >= start) & (prices.index <= end)
    return dict(
        scenarios=scenarios,
        positions=valued.assign(rate_pct=rate),
        betas=betas,
        # As the stress step: the scenario covariance over the whole history, Blume's shrinkage.
        factor_cov=scenario_covariance(construction.returns).matrix.loc[
            list(betas.columns), list(betas.columns)
        ],
        prices=prices.loc[in_window, [*exposed, BENCHMARK_SYMBOL]],
        equity=exposure_summary(valued, cash).equity,
        shrinkage=MoveShrinkage(),
    )


def _mibian_inputs(results, positions: pd.DataFrame, sample: np.ndarray) -> tuple[list, list]:
    """Per sampled option: its inputs before (once), and after for every scenario, as tuples
    (spot, strike, rate, vol, days, call, qty * mult), read from the engine's result rows."""
    wanted = set(sample.tolist())
    call = positions["position_type"].isin(["LC", "SC"])
    qm = positions["quantity"] * positions["multiplier"]
    before, after = {}, []
    for res in results:
        rows = []
        for p in res.positions:
            pid = p["position_id"]
            if pid not in wanted:
                continue
            inputs = (p["strike"], p["rate"] / 100.0, bool(call[pid]), float(qm[pid]))
            # A vol is None where days <= 0: intrinsic value, which never reads it.
            before.setdefault(
                pid, (p["spot_before"], p["vol_before"] or 0.0, p["days_before"], *inputs)
            )
            rows.append((p["spot_after"], p["vol_after"] or 0.0, p["days_after"], *inputs))
        after.append(rows)
    return [before[pid] for pid in sample.tolist() if pid in before], after


def _mibian_loop(before: list, after: list) -> tuple[list[float], list[list[tuple]]]:
    """Baseline: the same revaluation one option at a time, ``black_scholes_price`` (mibian).

    Each option priced once before, then once per scenario after: P&L = q m (V1 - V0).
    """
    from webapp.analytics.options import black_scholes_price

    v0 = [
        black_scholes_price(spot, strike, rate, vol, days, call=call)
        for spot, vol, days, strike, rate, call, _qm in before
    ]
    out = []
    for rows in after:
        out.append(
            [
                (v1 := black_scholes_price(spot, strike, rate, vol, days, call=call), qm * v1)
                for spot, vol, days, strike, rate, call, qm in rows
            ]
        )
    return v0, out


def revalue_all(
    scenarios, positions, betas, factor_cov, prices, equity, shrinkage=None
) -> list[float]:
    """The revaluation part of ``run_all_scenarios``: each scenario's total P&L ($), no results.

    The engine's own public steps in its order: ``Book`` once; per factor scenario the
    correlated factor moves (``FactorCov``), the underlying moves (``BetaMap``), the vol rule,
    and ``Book.revalue`` for the correlated and the direct-only moves; per replay the episode's
    returns and realized vols (``Closes``) and ``Book.revalue`` with the episode's length. What
    it leaves out is the result assembly (``Book.split``: a dict per position and scenario).
    """
    from webapp.analytics.factor_shocks import BetaMap, FactorCov
    from webapp.analytics.replay import DEFAULT_MAX_STALE_DAYS, Closes
    from webapp.analytics.revaluation import Book
    from webapp.analytics.scenarios import scenario_vol_shock
    from webapp.analytics.shrinkage import NO_SHRINKAGE

    shrink = shrinkage or NO_SHRINKAGE
    book = Book(positions)
    beta_map, cov, closes = BetaMap(betas, book), FactorCov(factor_cov), Closes(prices)
    underlyings = sorted(set(book.underlyings[book.is_option].tolist()))
    totals = []
    for scenario in scenarios:
        if scenario.kind == "historical":
            start, end = pd.Timestamp(scenario.replay_start), pd.Timestamp(scenario.replay_end)
            rev = book.revalue(
                book.moves_from(closes.episode(start, end, DEFAULT_MAX_STALE_DAYS)),
                "no_prices_in_episode",
                vol_after=book.moves_from(closes.episode_vol(start, end, underlyings)),
                elapsed_days=int((end - start).days),
            )
            totals.append(book.total(rev))
            continue
        moves = cov.moves(scenario.shocks)
        market = float(moves.get("Market", 0.0))
        vol_shock, _ = scenario_vol_shock(scenario, market if np.isfinite(market) else 0.0)
        rev = book.revalue(
            shrink.apply(beta_map.position_moves(moves), market),
            "no_factor_betas",
            vol_shock=vol_shock,
        )
        direct = moves.where(moves.index.isin(list(scenario.shocks)), 0.0)
        book.total(
            book.revalue(
                shrink.apply(beta_map.position_moves(direct), float(direct.get("Market", 0.0))),
                "no_factor_betas",
                vol_shock=vol_shock,
            )
        )
        totals.append(book.total(rev))
    return totals


def _verdict(seconds: float) -> str:
    return f"target <= {STRESS_TARGET_S:g} s " + ("PASS" if seconds <= STRESS_TARGET_S else "FAIL")


def bench_stress(prices: pd.DataFrame) -> tuple[bool, bool]:
    """Time the stress engine on a 10,000-option book under every scenario of the library, against
    a per-option mibian loop on a sample (scaled linearly); print the figures and the load
    average. Returns whether the revaluation and the whole ``run_all_scenarios`` meet the target.
    """
    from webapp.analytics.stress import run_all_scenarios

    rng = np.random.default_rng(20261126)
    started = time.perf_counter()
    inputs = stress_inputs(prices, rng)
    positions, scenarios = inputs["positions"], inputs["scenarios"]
    results = run_all_scenarios(**inputs)
    built = time.perf_counter() - started
    kinds = [s.kind for s in scenarios]
    print(
        f"\nstress: {len(positions):,} options "
        f"({positions['underlying'].nunique()} underlyings, "
        f"{int((positions['days_to_expiry'] < 0).sum())} expired, "
        f"{int((positions['days_to_expiry'] == 0).sum())} expiring today) x {len(scenarios)} "
        f"scenarios ({kinds.count('factor')} factor, {kinds.count('historical')} replays); "
        f"inputs built in {built:.1f} s; load average {load_average()}"
    )
    _close(revalue_all(**inputs), [r.pnl for r in results], "revaluation totals")
    options = positions.index[positions["status"] == "ok"].to_numpy()
    sample = np.sort(rng.choice(options, STRESS_SAMPLE, replace=False))
    before, after = _mibian_inputs(results, positions, sample)
    v0, theirs = _mibian_loop(before, after)
    wanted = set(sample.tolist())
    first = [p for p in results[0].positions if p["position_id"] in wanted]
    _close([p["value_before"] for p in first], v0, "V0")
    for res, rows, base in zip(results, after, theirs):
        ours = [p for p in res.positions if p["position_id"] in wanted]
        assert len(ours) == len(rows) == len(base), res.scenario_id
        _close([p["value_after"] for p in ours], [v for v, _ in base], f"V1 {res.scenario_id}")
        _close(
            [p["position_value_after"] for p in ours],
            [pv for _, pv in base],
            f"q m V1 {res.scenario_id}",
        )
    left_out = sum(len(r.left_out) for r in results)

    full_s = median_time(lambda: run_all_scenarios(**inputs), repeat=STRESS_REPEAT)
    reval_s = median_time(lambda: revalue_all(**inputs), repeat=STRESS_REPEAT)
    sample_s = median_time(lambda: _mibian_loop(before, after), repeat=3)
    scale = len(positions) / len(sample)
    loop_s = sample_s * scale
    calls = len(before) + sum(len(rows) for rows in after)
    print(
        f"  revaluation, vectorised Black-Scholes (revalue_all: Book + every scenario's moves "
        f"and Book.revalue, totals only; median of {STRESS_REPEAT}): {reval_s:.3f} s  "
        f"{_verdict(reval_s)}  speed-up vs mibian loop {loop_s / reval_s:.0f}x"
    )
    print(
        f"  run_all_scenarios, full results ({len(positions) * len(scenarios):,} position rows; "
        f"median of {STRESS_REPEAT}): {full_s:.3f} s  {_verdict(full_s)}  speed-up vs mibian "
        f"loop {loop_s / full_s:.0f}x; result assembly (Book.split) ~{full_s - reval_s:.2f} s"
    )
    print(
        f"  mibian loop (black_scholes_price per option): {len(sample)} options x "
        f"{len(scenarios)} scenarios ({calls:,} calls) {sample_s:.2f} s (median of 3), "
        f"scaled x{scale:g} to {len(positions):,} options: {loop_s:.1f} s; "
        f"load average {load_average()}"
    )
    print(
        "  - revalue_all totals equal run_all_scenarios' to 1e-9; the sample's values before and "
        f"after and position values after every scenario equal mibian's to 1e-9; {left_out} rows "
        "left out over all scenarios; the loop is given the engine's moved inputs (spot, vol, "
        "days), so it times the pricing only, and scales linearly in options"
    )
    return reval_s <= STRESS_TARGET_S, full_s <= STRESS_TARGET_S


# --- table -----------------------------------------------------------------------------------


SECTIONS: list[Callable[[pd.DataFrame], list[Row]]] = [
    bench_greeks,
    bench_factor_betas,
    bench_correlations,
    bench_risk_metrics,
]


def print_table(rows: list[Row]) -> None:
    """One line per row: engine and baseline in ms, the ratio, and whether the target is met."""
    width = max(len(r.name) for r in rows)
    bwidth = max(len(r.baseline) for r in rows)
    print(
        f"{'benchmark':<{width}}  {'engine ms':>10}  {'baseline':<{bwidth}}  {'base ms':>9}  "
        f"{'speed-up':>8}  target"
    )
    for r in rows:
        base = f"{r.baseline_s * 1e3:9.2f}" if r.baseline_s is not None else f"{'-':>9}"
        ratio = f"{r.speedup:7.1f}x" if r.speedup is not None else f"{'-':>8}"
        target = ""
        if r.target is not None:
            target = f">={r.target:.0f}x " + ("ok" if r.speedup >= r.target else "MISSED")
        print(
            f"{r.name:<{width}}  {r.engine_s * 1e3:10.2f}  {r.baseline:<{bwidth}}  {base}  "
            f"{ratio}  {target}"
        )
    for r in rows:
        if r.note:
            print(f"  - {r.name}: {r.note}")


# Names for --section: bench_factor_betas -> factor-betas, ...
TABLE_SECTIONS = {f.__name__.removeprefix("bench_").replace("_", "-"): f for f in SECTIONS}
ALL_SECTIONS = (*TABLE_SECTIONS, "batch", "stress")


def main(argv: list[str] | None = None) -> None:
    """Load the dataset once, run the chosen sections (default all), print one table; then the
    batch timings and the stress revaluation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--section",
        action="append",
        choices=ALL_SECTIONS,
        help="run only this section (repeat for several); default: every section",
    )
    chosen = parser.parse_args(argv).section or list(ALL_SECTIONS)
    prices = load_prices()
    returns = simple_returns(prices)
    print(
        f"dataset: {returns.shape[1]} symbols, "
        f"{returns.index[0].date()} .. {returns.index[-1].date()}; "
        f"BLAS threads: {os.environ['OPENBLAS_NUM_THREADS']} (OPENBLAS_NUM_THREADS)"
    )
    sections = [TABLE_SECTIONS[name] for name in TABLE_SECTIONS if name in chosen]
    if sections:
        print_table([row for section in sections for row in section(returns)])
    if "batch" in chosen:
        passed = bench_batch()
        print(
            f"batch targets (demo <= {DEMO_TARGET_S:g} s, "
            + ", ".join(f"{n:,} positions <= {t:g} s" for n, t in SIZE_TARGETS_S.items())
            + "): "
            + ("PASS" if passed else "FAIL")
        )
    if "stress" in chosen:
        reval_ok, full_ok = bench_stress(prices)
        print(
            f"stress targets ({STRESS_OPTIONS:,} options x every scenario <= "
            f"{STRESS_TARGET_S:g} s): revaluation "
            + ("PASS" if reval_ok else "FAIL")
            + ", run_all_scenarios with results "
            + ("PASS" if full_ok else "FAIL")
        )


if __name__ == "__main__":
    main()

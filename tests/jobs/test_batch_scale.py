"""The batch on a 300-position book, checked against calculations made here from the stored bars.

The book is drawn with a seeded rng from the bundled symbols: longs and shorts entered between
2023-08 and 2026-07, ~10% options (with an implied vol, so their value is a closed form here),
and a few positions in a symbol whose prices stop in 2023 (left out as stale, never counted).
Every expected number below comes from the ``price_bars``/``risk_free_rates`` rows and the
formulas stated in the engines' docstrings, not from the engines.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from types import SimpleNamespace

import numpy as np
import pytest
from markupsafe import escape
from scipy.stats import norm
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.formatting import position_name
from webapp.models import Portfolio, PortfolioSnapshot, Position, PriceBar, RiskFreeRate, User
from webapp.services import factor_exposures as factors_svc
from webapp.services import overview as overview_svc
from webapp.services import stress_tests as stress_svc
from webapp.services.batch import run_portfolio_batch, step_names

N_POSITIONS = 300
STALE_SYMBOL = "UNH"  # bundled prices end 2023-10-27
OPTION_UNDERLYINGS = ("SPY", "QQQ", "AAPL", "MSFT", "NVDA", "JPM", "XOM")
EXPIRIES = (dt.date(2026, 9, 18), dt.date(2026, 12, 18), dt.date(2027, 1, 15))
REL = 1e-9


def _closes(symbols) -> dict[str, tuple[list[dt.date], list[float]]]:
    """Ascending (dates, adjusted closes) per symbol, straight from price_bars."""
    rows = db.session.execute(
        select(PriceBar.symbol, PriceBar.date, PriceBar.adj_close)
        .where(PriceBar.symbol.in_(list(symbols)))
        .order_by(PriceBar.symbol, PriceBar.date)
    ).all()
    out: dict[str, tuple[list, list]] = {}
    for symbol, day, close in rows:
        dates, values = out.setdefault(symbol, ([], []))
        dates.append(day)
        values.append(close)
    return out


def _on_or_before(series, day: dt.date) -> tuple[dt.date, float]:
    dates, values = series
    i = bisect.bisect_right(dates, day) - 1
    assert i >= 0, day
    return dates[i], values[i]


def _bs_price(
    spot: float, strike: float, rate_pct: float, vol: float, days: int, call: bool
) -> float:
    """Black–Scholes premium per share, T = days / 365, rate continuous (as a decimal)."""
    t, r = days / 365.0, rate_pct / 100.0
    d1 = (math.log(spot / strike) + (r + vol * vol / 2.0) * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    if call:
        return spot * norm.cdf(d1) - strike * math.exp(-r * t) * norm.cdf(d2)
    return strike * math.exp(-r * t) * norm.cdf(-d2) - spot * norm.cdf(-d1)


@pytest.fixture(scope="module")
def book(app):
    """(portfolio id, positions by id, closes, as-of date) of a batched book (timed in bench/)."""
    with app.app_context():
        as_of = db.session.scalar(select(func.max(PriceBar.date)))
        symbols = [
            s
            for s in db.session.scalars(select(PriceBar.symbol).distinct())
            if s not in (STALE_SYMBOL, "^GSPC")
        ]
        closes = _closes([*symbols, STALE_SYMBOL])
        rng = np.random.default_rng(300)
        first = dt.date(2023, 8, 1)
        specs = []
        for i in range(N_POSITIONS):
            entry = first + dt.timedelta(days=int(rng.integers(0, 1095)))
            long = rng.random() < 0.7
            if i % 10 == 9:
                underlying = str(rng.choice(OPTION_UNDERLYINGS))
                _, spot = _on_or_before(closes[underlying], entry)
                kind = "C" if rng.random() < 0.5 else "P"
                specs.append(
                    dict(
                        symbol=f"{underlying} {kind}{i}",
                        underlying_symbol=underlying,
                        position_type=("L" if long else "S") + kind,
                        quantity=float(rng.integers(1, 30)) * (1 if long else -1),
                        entry_price=round(spot * 0.05, 2),
                        entry_date=entry,
                        strike_price=float(max(5, round(spot * rng.uniform(0.85, 1.15) / 5) * 5)),
                        expiration_date=EXPIRIES[int(rng.integers(len(EXPIRIES)))],
                        multiplier=100.0,
                        implied_vol=round(float(rng.uniform(0.15, 0.55)), 4),
                    )
                )
            else:
                symbol = STALE_SYMBOL if i % 97 == 5 else str(rng.choice(symbols))
                entry = min(entry, dt.date(2023, 10, 20)) if symbol == STALE_SYMBOL else entry
                _, close = _on_or_before(closes[symbol], entry)
                shares = float(max(1, round(rng.uniform(5_000, 150_000) / close)))
                specs.append(
                    dict(
                        symbol=symbol,
                        quantity=shares if long else -shares,
                        entry_price=round(close, 4),
                        entry_date=entry,
                    )
                )
        user = User(email="scale-300@example.com")
        user.set_password("correct-horse-9")
        portfolio = Portfolio(owner=user, name="Scale 300", cash=750_000.0)
        for spec in specs:
            spec.setdefault("position_type", "LONG" if spec["quantity"] > 0 else "SHORT")
            portfolio.positions.append(Position(**spec))
        db.session.add(portfolio)
        db.session.commit()
        run = run_portfolio_batch(portfolio.id)
        assert run.status == "succeeded", run.steps
        assert [s["name"] for s in run.steps] == step_names()
        fields = (
            "id",
            "symbol",
            "underlying_symbol",
            "position_type",
            "quantity",
            "multiplier",
            "entry_date",
            "strike_price",
            "expiration_date",
            "implied_vol",
        )
        by_id = {
            p.id: SimpleNamespace(**{f: getattr(p, f) for f in fields}) for p in portfolio.positions
        }
        pid = portfolio.id
        db.session.remove()
    return pid, by_id, closes, as_of


def _result(app, pid, fn, *args, **kwargs):
    with app.app_context():
        result = fn(db.session.get(Portfolio, pid), *args, **kwargs)
        assert result.available, (result.reason, result.message)
        return result.data


def test_overview_equity_is_quantity_times_price_times_multiplier_plus_cash(app, book):
    pid, positions, closes, as_of = book
    with app.app_context():
        rate = db.session.scalar(
            select(RiskFreeRate.rate_annual_pct)
            .where(RiskFreeRate.date <= as_of)
            .order_by(RiskFreeRate.date.desc())
            .limit(1)
        )
    data = _result(app, pid, overview_svc.overview)
    expected, stale = 750_000.0, set()
    for p in positions.values():
        symbol = p.underlying_symbol or p.symbol
        day, spot = _on_or_before(closes[symbol], as_of)
        if (as_of - day).days > 7:
            stale.add(p.id)
            continue
        if p.expiration_date is None:
            price = spot
        else:
            price = _bs_price(
                spot,
                p.strike_price,
                rate,
                p.implied_vol,
                (p.expiration_date - as_of).days,
                p.position_type in ("LC", "SC"),
            )
        expected += p.quantity * price * p.multiplier
    summary = data["summary"]
    assert summary["equity"] == pytest.approx(expected, rel=REL)
    assert summary["position_count"] == N_POSITIONS
    assert summary["valued_count"] == N_POSITIONS - len(stale) and stale
    left_out = {r["position_id"]: r["reason"] for r in data["left_out"]}
    assert left_out == dict.fromkeys(stale, "stale_price")


def test_factor_scenario_stock_pnl_is_exposure_times_shrunk_beta_weighted_moves(app, book):
    pid, positions, *_ = book
    fx = _result(app, pid, factors_svc.position_factor_exposures, limit=10_000)
    betas = {
        r["position_id"]: (r["exposure"], r["betas"]) for r in fx["positions"] if r["available"]
    }
    stress = _result(
        app, pid, stress_svc.stress_test, scenario_ids=["market_down_10"], positions=True
    )
    (scenario,) = stress["scenarios"]
    moves = scenario["factor_moves"]
    assert moves["Market"] == -0.10 and len(moves) == 8
    modelled = {r["position_id"]: r for r in scenario["positions"]}
    stocks = [
        i for i, p in positions.items() if p.position_type in ("LONG", "SHORT") and i in betas
    ]
    assert len(stocks) > 200
    # The shipped model: Blume's a/b on the raw move, a pulling toward the market's move.
    assert scenario["shrinkage"]["method"] == "blume"
    a, b_ = scenario["shrinkage"]["intercept"], scenario["shrinkage"]["slope"]
    assert (a, b_) == pytest.approx((1 / 3, 2 / 3))

    def move(b):
        return a * moves["Market"] + b_ * sum(b[f] * moves[f] for f in b)

    for i in stocks:
        exposure, b = betas[i]
        assert modelled[i]["pnl"] == pytest.approx(exposure * move(b), rel=REL, abs=1e-6), i
    stock_total = sum(betas[i][0] * move(betas[i][1]) for i in stocks)
    assert sum(modelled[i]["pnl"] for i in stocks) == pytest.approx(stock_total, rel=REL)
    assert scenario["pnl"] == pytest.approx(sum(r["pnl"] for r in scenario["positions"]), rel=REL)
    assert {r["position_id"] for r in scenario["left_out"]} == set(positions) - set(modelled)


def test_historical_replay_stock_pnl_is_value_times_episode_return(app, book):
    pid, positions, closes, *_ = book
    stress = _result(app, pid, stress_svc.stress_test, scenario_ids=["covid_crash"], positions=True)
    (scenario,) = stress["scenarios"]
    start = dt.date.fromisoformat(scenario["episode_start"])
    end = dt.date.fromisoformat(scenario["episode_end"])
    modelled = {r["position_id"]: r for r in scenario["positions"]}
    checked = 0
    for i, p in positions.items():
        if p.position_type not in ("LONG", "SHORT") or i not in modelled:
            continue
        r = _on_or_before(closes[p.symbol], end)[1] / _on_or_before(closes[p.symbol], start)[1] - 1
        assert modelled[i]["move"] == pytest.approx(r, rel=REL)
        assert modelled[i]["pnl"] == pytest.approx(modelled[i]["market_value"] * r, rel=REL)
        checked += 1
    assert checked > 200
    spy = _on_or_before(closes["SPY"], end)[1] / _on_or_before(closes["SPY"], start)[1] - 1
    assert scenario["benchmark_return"] == pytest.approx(spy, rel=REL)


def test_snapshots_cover_every_trading_day_since_the_first_entry(app, book):
    pid, positions, closes, as_of = book
    first = min(p.entry_date for p in positions.values())
    days = [d for d in closes["SPY"][0] if first <= d <= as_of]
    with app.app_context():
        snaps = list(
            db.session.scalars(
                select(PortfolioSnapshot)
                .where(PortfolioSnapshot.portfolio_id == pid)
                .order_by(PortfolioSnapshot.snapshot_date)
            )
        )
    overview = _result(app, pid, overview_svc.overview)
    assert [s.snapshot_date for s in snaps] == days
    assert snaps[0].daily_pnl is None and snaps[-1].daily_pnl is not None
    assert snaps[-1].equity == pytest.approx(overview["summary"]["equity"], rel=REL)
    assert snaps[-1].position_count == overview["summary"]["valued_count"]
    for s in snaps[1:]:
        assert s.gross_exposure == pytest.approx(s.long_exposure - s.short_exposure, rel=REL)


def test_the_stress_detail_page_shows_the_largest_rows_and_says_how_many_there_are(app, book):
    pid, *_ = book
    client = app.test_client()
    client.post("/login", data={"email": "scale-300@example.com", "password": "correct-horse-9"})
    html = client.get(
        f"/portfolios/{pid}/stress?scenario=market_down_10",
        headers={"HX-Request": "true", "HX-Target": "scenario-detail"},
    ).get_data(as_text=True)
    every = _result(
        app, pid, stress_svc.stress_test, scenario_ids=["market_down_10"], positions=True
    )["scenarios"][0]["positions"]
    assert len(every) > 200
    table = html.split('id="scenario-positions"')[1].split("</table>")[0]
    shown = table.count("<tr>") - 1  # the header row
    assert shown == stress_svc.PAGE_DETAIL_ROWS
    assert f"of {len(every)}; every row is in the JSON API" in html
    # The rows shown are those of largest |P&L|: the smallest shown beats every one left out.
    ranked = sorted((abs(p["pnl"]) for p in every), reverse=True)
    assert ranked[stress_svc.PAGE_DETAIL_ROWS - 1] >= ranked[stress_svc.PAGE_DETAIL_ROWS]
    biggest = max(every, key=lambda p: abs(p["pnl"]))
    # Named in words (an option as "AAPL Oct 16 '26 320 Call"), its symbol in the title.
    assert re.search(
        rf'<td class="sym"[^>]*>{re.escape(str(escape(position_name(biggest))))}</td>', table
    )

"""The batch's steps, in order. Each loads what it needs, calls the engines and stores results.

A step takes the ``BatchContext`` and puts what later steps need into ``ctx.data``; a step that
needs something an earlier failed step did not produce is skipped with that reason.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import delete

from webapp.analytics import correlations as correlations_engine
from webapp.analytics import exposures as exposures_engine
from webapp.analytics import factors as factors_engine
from webapp.analytics import performance as performance_engine
from webapp.analytics import risk as risk_engine
from webapp.analytics import stress as stress_engine
from webapp.analytics.constants import (
    BENCHMARK_SYMBOL,
    DEFAULT_FACTOR_WINDOW,
    OPTION_TYPES,
    REALIZED_VOL_WINDOW,
)
from webapp.analytics.errors import NonPositiveEquity, NoPositions
from webapp.analytics.options import Greeks, position_greeks
from webapp.analytics.returns import returns_window, simple_returns
from webapp.extensions import db
from webapp.models import PortfolioSnapshot
from webapp.services import queries

# Calendar days of prices loaded for the windows: 252 returns for factors plus slack for gaps.
HISTORY_CALENDAR_DAYS = 420
# Correlations are stored with the loosest overlap a reader may ask for; reads filter upwards.
STORED_MIN_OVERLAP = 10


def _records(frame: pd.DataFrame, cols: list[str]) -> list[tuple[int, dict]]:
    """(position id, {column: value}) per row, values as Python objects (None if no column).

    What ``iterrows`` + ``row.get`` gives, without building a Series per row (which dominated
    the steps' time on large books).
    """
    present = [c for c in cols if c in frame.columns]
    values = frame[present].to_numpy(dtype=object) if present else None
    absent = {c: None for c in cols if c not in frame.columns}
    out = []
    for i, pid in enumerate(frame.index):
        row = dict(zip(present, values[i])) if present else {}
        out.append((int(pid), {**row, **absent} if absent else row))
    return out


def _positions_rows(valued: pd.DataFrame) -> list[dict]:
    cols = [
        "symbol",
        "underlying",
        "position_type",
        "quantity",
        "multiplier",
        "entry_price",
        "entry_date",
        "price",
        "underlying_price",
        "market_value",
        "cost_basis",
        "unrealized_pnl",
        "unrealized_pnl_pct",
        "exposure",
        "delta",
        "status",
        "reason_detail",
        "strategy",
    ]
    return [
        {**{c: rec[c] for c in cols}, "position_id": pid} for pid, rec in _records(valued, cols)
    ]


def step_valuation(ctx) -> None:
    """Value every open position at the as-of date; store the overview and the option Greeks."""
    portfolio = ctx.portfolio
    holdings = queries.holdings_frame(queries.open_positions(portfolio.id))
    earliest = min(holdings["entry_date"]) if not holdings.empty else ctx.as_of
    start = min(earliest, ctx.as_of - dt.timedelta(days=HISTORY_CALENDAR_DAYS))
    symbols = set(holdings["underlying"]) | set(factors_engine.FACTOR_ETFS) | {BENCHMARK_SYMBOL}
    prices = queries.load_prices(symbols, start - dt.timedelta(days=10), ctx.as_of)
    rate = queries.risk_free_on(ctx.as_of) or 0.0
    if holdings.empty:
        valued = holdings.reindex(columns=[*holdings.columns, *exposures_engine.VALUED_COLUMNS])
    else:
        valued = exposures_engine.value_holdings(
            holdings, prices, ctx.as_of, rate, realized_vol_window=REALIZED_VOL_WINDOW
        )
    summary = exposures_engine.exposure_summary(valued, portfolio.cash)
    sectors = {
        s: (sec.sector or sec.asset_class)
        for s, sec in queries.security_info(set(holdings["underlying"])).items()
    }
    breakdown = exposures_engine.sector_breakdown(valued, sectors)
    left_out = [
        {
            "position_id": pid,
            "symbol": r["symbol"],
            "reason": r["status"],
            "detail": r["reason_detail"],
        }
        for pid, r in _records(valued, ["symbol", "status", "reason_detail"])
        if r["status"] != "ok"
    ]
    ctx.store(
        "overview",
        {
            "summary": summary.to_dict(),
            "sectors": [
                {"sector": s, **{k: float(v) for k, v in r.items()}}
                for s, r in breakdown.iterrows()
            ],
            "positions": _positions_rows(valued),
            "left_out": left_out,
            "risk_free_rate_pct": rate,
            "method": (
                "Market value = quantity × adjusted close × multiplier; "
                "options by Black–Scholes "
                "(implied vol if given, else the underlying's 60-day realized vol)."
            ),
        },
    )
    ctx.store("greeks", _greeks_payload(valued))
    ctx.data.update(valued=valued, prices=prices, rate=rate, summary=summary)


def _valued(ctx) -> pd.DataFrame:
    """The valued positions with status ok, or NoPositions (the step's explicit reason)."""
    valued = ctx.need("valued")
    if valued.empty or not (valued["status"] == "ok").any():
        raise NoPositions("the portfolio has no open positions with current prices")
    return valued


def _greeks_payload(valued: pd.DataFrame) -> dict:
    """Per-option Greeks (per share and per position) and the book's totals."""
    options = (
        valued[valued["position_type"].isin(OPTION_TYPES) & (valued["status"] == "ok")]
        if not valued.empty
        else valued
    )
    rows, totals = [], {"delta": 0.0, "gamma": 0.0, "theta": 0.0, "vega": 0.0, "rho": 0.0}
    cols = [
        "price",
        "delta",
        "gamma",
        "theta",
        "vega",
        "rho",
        "quantity",
        "multiplier",
        "symbol",
        "underlying",
        "position_type",
        "strike",
        "expiry",
        "days_to_expiry",
        "underlying_price",
        "vol",
        "vol_source",
        "exposure",
    ]
    for pid, r in _records(options, cols):
        per_share = Greeks(
            price=r["price"],
            delta=r["delta"],
            gamma=r["gamma"],
            theta=r["theta"],
            vega=r["vega"],
            rho=r["rho"],
        )
        pos = position_greeks(per_share, r["quantity"], r["multiplier"])
        for k in totals:
            totals[k] += pos[k]
        rows.append(
            {
                "position_id": pid,
                "symbol": r["symbol"],
                "underlying": r["underlying"],
                "position_type": r["position_type"],
                "quantity": r["quantity"],
                "strike": r["strike"],
                "expiry": r["expiry"],
                "days_to_expiry": r["days_to_expiry"],
                "underlying_price": r["underlying_price"],
                "vol": r["vol"],
                "vol_source": r["vol_source"],
                "per_share": per_share.to_dict(),
                "position": pos,
                "delta_dollars": r["exposure"],
            }
        )
    return {
        "options": rows,
        "totals": totals,
        "count": len(rows),
        "units": {
            "delta": "shares of underlying",
            "gamma": "delta per $1 move",
            "theta": "$ per calendar day",
            "vega": "$ per vol point",
            "rho": "$ per rate point",
        },
    }


def step_snapshots(ctx) -> None:
    """Daily snapshots of the replayed holdings (replacing the range's rows) and period returns."""
    valued = _valued(ctx)
    prices = ctx.need("prices")
    portfolio = ctx.portfolio
    history = performance_engine.value_history(
        valued, prices, portfolio.cash, ctx.as_of, ctx.data["rate"]
    ).frame
    first, last = history.index[0].date(), history.index[-1].date()
    db.session.execute(
        delete(PortfolioSnapshot).where(
            PortfolioSnapshot.portfolio_id == portfolio.id,
            PortfolioSnapshot.snapshot_date >= first,
            PortfolioSnapshot.snapshot_date <= last,
        )
    )
    unrealized = float(ctx.data["summary"].unrealized_pnl) if ctx.data.get("summary") else 0.0
    days = [d.date() for d in history.index]
    long_mv = history["long_mv"].to_numpy(dtype=float)
    short_mv = history["short_mv"].to_numpy(dtype=float)
    cash = float(portfolio.cash)
    rows = [
        dict(
            portfolio_id=portfolio.id,
            snapshot_date=day,
            equity=equity,
            cash=cash,
            long_exposure=lng,
            short_exposure=sht,
            gross_exposure=gross,
            net_exposure=net,
            unrealized_pnl=unrealized if day == last else 0.0,
            daily_pnl=pnl,
            daily_return=ret,
            position_count=count,
        )
        for day, equity, lng, sht, gross, net, pnl, ret, count in zip(
            days,
            history["equity"].to_numpy(dtype=float).tolist(),
            long_mv.tolist(),
            short_mv.tolist(),
            (long_mv - short_mv).tolist(),
            (long_mv + short_mv).tolist(),
            _floats_or_none(history["daily_pnl"]),
            _floats_or_none(history["daily_return"]),
            history["positions"].to_numpy(dtype=int).tolist(),
        )
    ]
    db.session.execute(PortfolioSnapshot.__table__.insert(), rows)
    bench = prices[BENCHMARK_SYMBOL]
    bench_returns = (bench / bench.shift(1) - 1).dropna()
    bench_value = (1 + bench_returns.reindex(history.index).fillna(0.0)).cumprod()
    ctx.store(
        "performance",
        {
            "periods": performance_engine.period_returns(
                history["daily_return"], bench_returns, ctx.as_of
            ),
            "history": {
                "dates": [d.date().isoformat() for d in history.index],
                "equity": history["equity"].round(2).tolist(),
                "benchmark_equity": (bench_value * float(history["equity"].iloc[0]))
                .round(2)
                .tolist(),
            },
            "benchmark": BENCHMARK_SYMBOL,
            "first_date": first.isoformat(),
            "method": (
                "Today's holdings replayed from their entry dates at stored closes; "
                "purchases are flows, not gains; "
                "cash held at today's balance; returns compounded daily."
            ),
        },
    )


def _floats_or_none(series: pd.Series) -> list[float | None]:
    """Python floats, None where NaN (NULL in the snapshot table)."""
    values = series.to_numpy(dtype=float)
    return [None if v != v else v for v in values.tolist()]


def _returns(ctx) -> pd.DataFrame:
    """Daily simple returns of the valuation prices, computed once for the steps that use them.

    Cached under its own key: ``returns`` itself is what step_factors hands on, and a later
    step that needs it must still be skipped when step_factors failed.
    """
    if "simple_returns" not in ctx.data:
        ctx.data["simple_returns"] = simple_returns(ctx.need("prices"))
    return ctx.data["simple_returns"]


def _equity(ctx) -> float:
    summary = ctx.data.get("summary")
    equity = float(summary.equity) if summary else 0.0
    if equity <= 0:
        raise NonPositiveEquity(
            f"equity is {equity:,.0f} $; returns relative to equity are undefined", equity=equity
        )
    return equity


def step_factors(ctx) -> None:
    """Per-symbol factor betas, the portfolio's factor exposures, VIFs and the risk split."""
    valued = _valued(ctx)
    returns = _returns(ctx)
    exposures = exposures_engine.exposures_by_underlying(valued)
    equity = _equity(ctx)
    factor_rets = factors_engine.factor_returns(
        returns.reindex(columns=sorted(factors_engine.FACTOR_ETFS))
    )
    fb = factors_engine.factor_betas(
        returns.reindex(columns=exposures.index), factor_rets, window=DEFAULT_FACTOR_WINDOW
    )
    portfolio_fx = factors_engine.portfolio_factor_exposures(exposures, fb, equity)
    split = factors_engine.risk_split(
        exposures, fb.betas, fb.residual_var, factor_rets, equity, window=DEFAULT_FACTOR_WINDOW
    )
    window_rets = factor_rets.iloc[-DEFAULT_FACTOR_WINDOW:]
    model = fb.to_dict()
    ctx.store(
        "factor_exposures",
        {
            **portfolio_fx.to_dict(),
            "risk_split": split.to_dict(),
            "vif": factors_engine.vif(window_rets),
            "model": {k: v for k, v in model.items() if k != "symbols"},
            "r_squared": {row["symbol"]: row["r_squared"] for row in model["symbols"]},
        },
        params={"window": DEFAULT_FACTOR_WINDOW},
    )
    by_symbol = {row["symbol"]: row for row in model["symbols"]}
    skipped = {row["symbol"]: row for row in model["skipped"]}
    rows = []
    for pid, r in _records(valued, ["underlying", "exposure", "status", "symbol", "position_type"]):
        fit = by_symbol.get(r["underlying"])
        exposure = float(r["exposure"]) if r["status"] == "ok" else None
        row = {
            "position_id": pid,
            "symbol": r["symbol"],
            "underlying": r["underlying"],
            "position_type": r["position_type"],
            "exposure": exposure,
        }
        if fit is None or exposure is None:
            reason = (
                r["status"]
                if r["status"] != "ok"
                else skipped.get(r["underlying"], {}).get("reason", "no_factor_betas")
            )
            rows.append({**row, "available": False, "reason": reason})
            continue
        rows.append(
            {
                **row,
                "available": True,
                "betas": fit["betas"],
                "alpha": fit["alpha"],
                "t_stats": fit["t_stats"],
                "r_squared": fit["r_squared"],
                "nobs": fit["nobs"],
                "dollar_exposures": {f: exposure * b for f, b in fit["betas"].items()},
            }
        )
    ctx.store(
        "position_factor_exposures",
        {"positions": rows, "factors": list(fb.factors), "window": DEFAULT_FACTOR_WINDOW},
        params={"window": DEFAULT_FACTOR_WINDOW},
    )
    ctx.data.update(
        returns=returns,
        exposures=exposures,
        factor_betas=fb,
        factor_rets=factor_rets,
        equity=equity,
        risk_split=split.to_dict(),
    )


def step_correlations(ctx) -> None:
    """The full pairwise matrix for every standard window.

    Pages filter overlap and size on read.
    """
    valued = _valued(ctx)
    returns = _returns(ctx)
    exposures = exposures_engine.exposures_by_underlying(valued)
    for window in ctx.windows:
        result = correlations_engine.correlation_analysis(
            returns,
            exposures,
            lookback_days=window,
            min_overlap=STORED_MIN_OVERLAP,
            max_symbols=len(exposures),
        )
        ctx.store("correlations", result.to_dict(), params={"lookback_days": window})


def step_risk(ctx) -> None:
    """Risk metrics, Euler contributions and benchmark statistics for every standard window."""
    returns = ctx.need("returns")
    exposures = ctx.need("exposures")
    equity = ctx.need("equity")
    bench = returns[BENCHMARK_SYMBOL] if BENCHMARK_SYMBOL in returns.columns else None
    for window in ctx.windows:
        window_rets = returns_window(returns, ctx.as_of, window)
        coverage = risk_engine.backcast_coverage(exposures, window_rets)
        modelled = exposures.drop(list(coverage.no_prices))
        left_out = [
            {"symbol": s, "exposure": float(exposures[s]), "reason": "no_prices"}
            for s in coverage.no_prices
        ]
        port = risk_engine.backcast_returns(modelled, window_rets, equity=equity)
        metrics = risk_engine.risk_metrics(port, bench, equity=equity)
        contributions = risk_engine.risk_contributions(modelled, window_rets)
        ctx.store(
            "risk_metrics",
            {
                **metrics.to_dict(),
                "lookback_days": window,
                "coverage": coverage.to_dict(),
                "left_out": left_out,
                "contributions": [
                    {"symbol": s, **{k: float(v) for k, v in r.items()}}
                    for s, r in contributions.iterrows()
                ],
                "risk_split": ctx.data.get("risk_split"),
            },
            params={"lookback_days": window},
        )


def step_stress(ctx) -> None:
    """Every scenario of the library: correlated factor shocks and historical replays."""
    valued = _valued(ctx)
    fb = ctx.need("factor_betas")
    factor_rets = ctx.need("factor_rets")
    equity = ctx.need("equity")
    scenarios = stress_engine.load_scenarios()
    factor_cov = factor_rets.iloc[-DEFAULT_FACTOR_WINDOW:].cov()
    underlyings = set(valued["underlying"]) | {BENCHMARK_SYMBOL}
    replays = [s for s in scenarios if s.kind == "historical"]
    # Every episode from 10 days before its start (the staleness check's slack) to its end,
    # in one query.
    prices = (
        queries.load_prices(
            underlyings,
            windows=[(s.replay_start - dt.timedelta(days=10), s.replay_end) for s in replays],
        )
        if replays
        else None
    )
    results = stress_engine.run_all_scenarios(
        scenarios, valued, fb.betas, factor_cov, prices, equity
    )
    ctx.store(
        "stress_test",
        {
            "scenarios": [r.to_dict() for r in results],
            "equity": equity,
            "factor_window": DEFAULT_FACTOR_WINDOW,
            "method": "Factor scenarios shock some factors; the others move by their conditional "
            "expectation Σ_us Σ_ss⁻¹ s over the factor window. Position P&L = exposure × "
            "Σ_f β_f × factor move (options by delta–gamma on the underlying); a long "
            "position loses at most its value. Historical replays apply each symbol's "
            "actual return over the episode to today's holdings.",
        },
    )


STEPS = [
    ("valuation", step_valuation),
    ("snapshots", step_snapshots),
    ("factors", step_factors),
    ("correlations", step_correlations),
    ("risk", step_risk),
    ("stress", step_stress),
]

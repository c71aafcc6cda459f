"""Performance from the ledger: the snapshots step and its read model.

The step replays the portfolio's transactions day by day (``performance.ledger_history``), chains
a time-weighted return index that leaves external flows out (``twr``, flows at the close as the
ledger books them), puts the money-weighted return (IRR) beside it, compares with the
portfolio's benchmark (a symbol or a monthly rebalanced blend) and adds the risk-adjusted
figures. The daily rows are kept in ``portfolio_snapshots``.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from sqlalchemy import delete, select

from webapp.analytics import benchmarks, risk_adjusted, twr
from webapp.analytics import performance as performance_engine
from webapp.analytics.constants import BENCHMARK_SYMBOL, OPTION_TYPES, SHORT_TYPES
from webapp.analytics.errors import AnalyticsError, NoPositions
from webapp.extensions import db
from webapp.models import Portfolio, PortfolioSnapshot, Position
from webapp.models.ledger import Transaction
from webapp.services import queries
from webapp.services.pipeline import Step, StepContext
from webapp.services.results import Result, stored

# Before the first trade: the 60 trading days an option's realized-vol fallback reads.
VOL_HISTORY_DAYS = 100
GROWTH_BASE = 10_000.0

METHOD = (
    "Time-weighted return: the ledger replayed day by day (trades and flows at the close, "
    "options at the implied vol of their entry premium); daily r_t = (V_t − F_t) / V_{t−1} − 1 "
    "with F_t the day's deposits − withdrawals, chained over trading days, so money moved in or "
    "out is not growth. Money-weighted return: the annualised IRR of the same flows (ACT/365), "
    "which does weigh when the money came in. Periods start at the close of the last trading day "
    "on or before the period's start; 3Y and since-inception beyond a year are annualised."
)

# How each kind moves the instrument's held quantity: +1 adds, −1 removes (times the quantity);
# option rows depend on the side (a short option opens with a negative quantity).
_STOCK_DELTA = {"buy": 1.0, "sell": -1.0, "short": -1.0, "cover": 1.0}
_OPTION_DELTA = {"option_open": 1.0, "option_close": -1.0, "option_expire": -1.0}


# The Transaction columns ``transactions_frame`` reads.
_LEDGER_READ = (
    "trade_date",
    "kind",
    "symbol",
    "underlying_symbol",
    "position_type",
    "position_id",
    "quantity",
    "multiplier",
    "amount",
    "is_flow",
    "price",
    "strike_price",
    "expiration_date",
)


def _quantity_delta(t: Transaction) -> float:
    qty = float(t.quantity or 0.0)
    if t.kind in _STOCK_DELTA:
        return _STOCK_DELTA[t.kind] * qty
    if t.kind in _OPTION_DELTA or t.kind == "option_assign":
        side = -1.0 if t.position_type in SHORT_TYPES else 1.0
        return _OPTION_DELTA.get(t.kind, -1.0) * side * qty
    return 0.0


def transactions_frame(
    portfolio: Portfolio, left_out: frozenset[int] = frozenset()
) -> pd.DataFrame:
    """The portfolio's ledger in trade order, in the columns ``ledger_history`` reads.

    Rows of the lots in ``left_out`` (open positions the valuation could not price: stale or
    unknown symbols) keep their cash but move no instrument, so the history values them as the
    overview does: not at all, instead of at a price that no longer exists.
    """
    # The columns read, not ORM objects: loading 10,000 Transaction instances cost seconds.
    columns = [getattr(Transaction, name) for name in _LEDGER_READ]
    rows = db.session.execute(
        select(*columns, Position.implied_vol)
        .outerjoin(Position, Position.id == Transaction.position_id)
        .where(Transaction.portfolio_id == portfolio.id)
        .order_by(Transaction.trade_date, Transaction.id)
    ).all()
    records = []
    for t in rows:
        implied_vol = t.implied_vol
        option = t.position_type in OPTION_TYPES
        held = t.position_type is not None and t.position_id not in left_out
        records.append(
            {
                "trade_date": t.trade_date,
                "kind": t.kind,
                "instrument": t.symbol if held else None,
                "underlying": (t.underlying_symbol if option else t.symbol)
                if t.position_type
                else None,
                "position_type": t.position_type,
                "quantity_delta": _quantity_delta(t) if held else 0.0,
                "multiplier": float(t.multiplier or 1.0),
                "amount": float(t.amount),
                "is_flow": bool(t.is_flow),
                "price": float(t.price) if t.price is not None else math.nan,
                "strike": float(t.strike_price) if t.strike_price is not None else math.nan,
                "expiry": t.expiration_date,
                "implied_vol": float(implied_vol) if option and implied_vol else math.nan,
            }
        )
    return pd.DataFrame(records)


def _open_lots(
    portfolio: Portfolio, days: pd.DatetimeIndex, left_out: frozenset[int]
) -> np.ndarray:
    """How many lots (positions, as the overview counts them) were open at each day's close."""
    lots = db.session.execute(
        select(Position.id, Position.entry_date, Position.exit_date).where(
            Position.portfolio_id == portfolio.id
        )
    ).all()
    lots = [lot for lot in lots if lot.id not in left_out]
    if not lots:
        return np.zeros(len(days), dtype=int)
    entry = np.array([np.datetime64(lot.entry_date) for lot in lots])
    never = np.datetime64("9999-12-31")
    exit_ = np.array([np.datetime64(lot.exit_date) if lot.exit_date else never for lot in lots])
    d = days.to_numpy(dtype="datetime64[D]")[:, None]
    # A lot closed on a day was sold at that close: no longer open at the end of it.
    return ((entry[None, :] <= d) & (exit_[None, :] > d)).sum(axis=1)


def _replace_snapshots(
    portfolio: Portfolio, frame: pd.DataFrame, returns: pd.Series, lot_counts: np.ndarray
) -> None:
    """The range's snapshot rows replaced by the ledger's daily book (idempotent per day)."""
    first, last = frame.index[0].date(), frame.index[-1].date()
    db.session.execute(
        delete(PortfolioSnapshot).where(
            PortfolioSnapshot.portfolio_id == portfolio.id,
            PortfolioSnapshot.snapshot_date >= first,
            PortfolioSnapshot.snapshot_date <= last,
        )
    )
    equity = frame["equity"].to_numpy(dtype=float)
    long_mv = frame["long_mv"].to_numpy(dtype=float)
    short_mv = frame["short_mv"].to_numpy(dtype=float)
    # The day's P&L: the change in value that is not money moved in or out.
    pnl = np.r_[np.nan, np.diff(equity)] - frame["flows"].to_numpy(dtype=float)
    daily_return = returns.reindex(frame.index).to_numpy(dtype=float)
    columns = {
        "snapshot_date": [d.date() for d in frame.index],
        "equity": equity.tolist(),
        "cash": frame["cash"].to_numpy(dtype=float).tolist(),
        "long_exposure": long_mv.tolist(),
        "short_exposure": short_mv.tolist(),
        "gross_exposure": (long_mv - short_mv).tolist(),
        "net_exposure": (long_mv + short_mv).tolist(),
        "unrealized_pnl": [0.0] * len(frame),
        "daily_pnl": [None if v != v else v for v in pnl.tolist()],
        "daily_return": [None if v != v else v for v in daily_return.tolist()],
        "position_count": lot_counts.tolist(),
    }
    rows = [
        {"portfolio_id": portfolio.id, **dict(zip(columns, values))}
        for values in zip(*columns.values())
    ]
    db.session.execute(PortfolioSnapshot.__table__.insert(), rows)


def _irr(frame: pd.DataFrame) -> dict:
    """Since-inception money-weighted return, or why there is none."""
    flows = frame["flows"][frame["flows"] != 0.0]
    try:
        value = twr.money_weighted_return(
            flows,
            float(frame["equity"].iloc[0]),
            frame.index[0],
            float(frame["equity"].iloc[-1]),
            frame.index[-1],
        )
    except (AnalyticsError, ValueError) as exc:
        return {
            "value": None,
            "reason": getattr(exc, "reason", "irr_undefined"),
            "message": str(exc),
        }
    return {"value": value, "reason": None, "message": None}


def _run(ctx: StepContext) -> None:
    """Replay the ledger, store the daily snapshots and the performance result."""
    portfolio = ctx.portfolio
    valued = ctx.valuation.valued
    unpriced = valued[valued["status"] != "ok"] if not valued.empty else valued
    left_out = frozenset(int(i) for i in unpriced.index)
    transactions = transactions_frame(portfolio, left_out)
    if transactions.empty or transactions["instrument"].isna().all():
        raise NoPositions("the portfolio has no trades in its ledger: nothing to measure yet")
    spec = benchmarks.parse_benchmark(portfolio.benchmark or BENCHMARK_SYMBOL)
    first = min(transactions["trade_date"])
    symbols = set(transactions["underlying"].dropna()) | set(spec.symbols) | {BENCHMARK_SYMBOL}
    prices = queries.load_prices(symbols, first - dt.timedelta(days=VOL_HISTORY_DAYS), ctx.as_of)
    calendar = prices[BENCHMARK_SYMBOL].dropna().index
    history = performance_engine.ledger_history(
        transactions,
        prices,
        ctx.as_of,
        ctx.valuation.rate,
        trading_days=calendar[calendar >= pd.Timestamp(first)],
    )
    frame = history.frame
    returns = twr.twr_returns(history.values, history.flows, timing="end")
    index = twr.daily_twr(history.values, history.flows, timing="end")
    bench_returns = benchmarks.benchmark_returns(spec, prices).reindex(index.index).fillna(0.0)
    bench_index = (1.0 + bench_returns.iloc[1:]).cumprod().reindex(index.index).fillna(1.0)
    _replace_snapshots(portfolio, frame, returns, _open_lots(portfolio, frame.index, left_out))
    rate = queries.load_risk_free(first - dt.timedelta(days=10), ctx.as_of)
    stats = risk_adjusted.risk_adjusted_stats(
        returns, rate, bench_returns.reindex(returns.index), calendar=calendar
    )
    periods = twr.period_returns(index, ctx.as_of, calendar)
    bench_periods = {p["period"]: p for p in twr.period_returns(bench_index, ctx.as_of, calendar)}
    for p in periods:
        b = bench_periods.get(p["period"], {})
        p["benchmark_return"] = b.get("return") if p["available"] else None
        p["benchmark_annualized"] = b.get("annualized") if p["available"] else None
        p["excess_return"] = (
            p["return"] - b["return"] if p["available"] and b.get("return") is not None else None
        )
    flows = frame["flows"]
    ctx.store(
        "performance",
        {
            "periods": periods,
            "money_weighted": _irr(frame),
            "risk_adjusted": stats.to_dict(),
            "history": {
                "dates": [d.date().isoformat() for d in frame.index],
                "equity": frame["equity"].round(2).tolist(),
                "cash": frame["cash"].round(2).tolist(),
                "flows": flows.round(2).tolist(),
                "growth": (index * GROWTH_BASE).round(2).tolist(),
                "benchmark_growth": (bench_index * GROWTH_BASE).round(2).tolist(),
                # Kept for clients of the earlier shape: the benchmark at the book's start value.
                "benchmark_equity": (bench_index * float(frame["equity"].iloc[0]))
                .round(2)
                .tolist(),
            },
            "flow_days": [
                {"date": d.date().isoformat(), "amount": round(float(a), 2)}
                for d, a in flows[flows != 0.0].items()
            ],
            "benchmark": spec.to_spec(),
            "benchmark_detail": spec.to_dict(),
            "first_date": frame.index[0].date().isoformat(),
            "vol_source": history.vol_source,
            "left_out": [
                {"position_id": int(pid), "symbol": r["symbol"], "reason": r["status"]}
                for pid, r in unpriced.iterrows()
            ],
            "method": METHOD,
        },
    )


STEP = Step("snapshots", _run, needs=("valuation",), kinds=("performance",))


def performance(portfolio: Portfolio) -> Result:
    """Time- and money-weighted returns against the benchmark, risk-adjusted figures, history."""
    return stored(portfolio, "performance")

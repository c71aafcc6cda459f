"""Performance: the snapshots step (daily value history, period returns) and its read model."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import delete

from webapp.analytics import performance as performance_engine
from webapp.analytics.constants import BENCHMARK_SYMBOL
from webapp.extensions import db
from webapp.models import Portfolio, PortfolioSnapshot
from webapp.services.pipeline import Step, StepContext
from webapp.services.results import Result, stored


def _floats_or_none(series: pd.Series) -> list[float | None]:
    """Python floats, None where NaN (NULL in the snapshot table)."""
    values = series.to_numpy(dtype=float)
    return [None if v != v else v for v in values.tolist()]


def _replace_snapshots(portfolio: Portfolio, history: pd.DataFrame, unrealized: float) -> None:
    """The range's snapshot rows replaced by the replayed history (idempotent per day)."""
    first, last = history.index[0].date(), history.index[-1].date()
    db.session.execute(
        delete(PortfolioSnapshot).where(
            PortfolioSnapshot.portfolio_id == portfolio.id,
            PortfolioSnapshot.snapshot_date >= first,
            PortfolioSnapshot.snapshot_date <= last,
        )
    )
    days = [d.date() for d in history.index]
    long_mv = history["long_mv"].to_numpy(dtype=float)
    short_mv = history["short_mv"].to_numpy(dtype=float)
    # Snapshot column -> one value per day (plain Python values: one executemany for all rows).
    columns = {
        "snapshot_date": days,
        "equity": history["equity"].to_numpy(dtype=float).tolist(),
        "long_exposure": long_mv.tolist(),
        "short_exposure": short_mv.tolist(),
        "gross_exposure": (long_mv - short_mv).tolist(),
        "net_exposure": (long_mv + short_mv).tolist(),
        "unrealized_pnl": [unrealized if day == last else 0.0 for day in days],
        "daily_pnl": _floats_or_none(history["daily_pnl"]),
        "daily_return": _floats_or_none(history["daily_return"]),
        "position_count": history["positions"].to_numpy(dtype=int).tolist(),
    }
    fixed = {"portfolio_id": portfolio.id, "cash": float(portfolio.cash)}
    rows = [{**fixed, **dict(zip(columns, values))} for values in zip(*columns.values())]
    db.session.execute(PortfolioSnapshot.__table__.insert(), rows)


def _run(ctx: StepContext) -> None:
    """Daily snapshots of the replayed holdings (replacing the range's rows) and period returns."""
    valuation = ctx.valuation
    valued = valuation.priced()
    prices = valuation.prices
    portfolio = ctx.portfolio
    history = performance_engine.value_history(
        valued, prices, portfolio.cash, ctx.as_of, valuation.rate
    ).frame
    _replace_snapshots(portfolio, history, float(valuation.summary.unrealized_pnl))
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
            "first_date": history.index[0].date().isoformat(),
            "method": (
                "Today's holdings replayed from their entry dates at stored closes; "
                "purchases are flows, not gains; "
                "cash held at today's balance; returns compounded daily."
            ),
        },
    )


STEP = Step("snapshots", _run, needs=("valuation",), kinds=("performance",))


def performance(portfolio: Portfolio) -> Result:
    """Value history against SPY and period returns."""
    return stored(portfolio, "performance")

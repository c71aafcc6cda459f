"""Overview and Greeks: the valuation step that stores them, and their read models."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select

from webapp.analytics import exposures as exposures_engine
from webapp.analytics.constants import OPTION_TYPES
from webapp.analytics.options import Greeks, position_greeks
from webapp.extensions import db
from webapp.models import Portfolio, PortfolioSnapshot
from webapp.models.ledger import Transaction
from webapp.services import queries
from webapp.services._frames import HOLDING_FIELDS, VALUE_FIELDS, records
from webapp.services.pipeline import Step, StepContext
from webapp.services.results import Result, stored
from webapp.services.valuation import Valuation, value_portfolio

OVERVIEW_POSITION_FIELDS = [
    *HOLDING_FIELDS,
    *VALUE_FIELDS,
    "delta",
    "status",
    "reason_detail",
    "strategy",
]
# An option row of the Greeks result: what the option is, then its per-share and position Greeks.
OPTION_FIELDS = (
    "symbol",
    "underlying",
    "position_type",
    "quantity",
    "strike",
    "expiry",
    "days_to_expiry",
    "underlying_price",
    "vol",
    "vol_source",
)
PER_SHARE = tuple(f.name for f in dataclasses.fields(Greeks))  # price and the five Greeks
GREEK_FIELDS = [*OPTION_FIELDS, *PER_SHARE, "multiplier", "exposure"]
GREEK_UNITS = {
    "delta": "shares of underlying",
    "gamma": "delta per $1 move",
    "theta": "$ per calendar day",
    "vega": "$ per vol point",
    "rho": "$ per rate point",
}


def _run(ctx: StepContext) -> Valuation:
    """Value every open position at the as-of date; store the overview and the option Greeks."""
    valuation = value_portfolio(ctx.portfolio, ctx.as_of)
    valued = valuation.valued
    sectors = {
        s: (sec.sector or sec.asset_class)
        for s, sec in queries.security_info(set(valued["underlying"])).items()
    }
    breakdown = exposures_engine.sector_breakdown(valued, sectors)
    left_out = [
        {
            "position_id": pid,
            "symbol": r["symbol"],
            "reason": r["status"],
            "detail": r["reason_detail"],
        }
        for pid, r in records(valued, ["symbol", "status", "reason_detail"])
        if r["status"] != "ok"
    ]
    summary = valuation.summary.to_dict()
    realized = _realized_pnl(ctx.portfolio.id)
    ctx.store(
        "overview",
        {
            "summary": summary,
            "pnl": {
                "realized_pnl": realized,
                "unrealized_pnl": summary["unrealized_pnl"],
                "total_pnl": realized + (summary["unrealized_pnl"] or 0.0),
            },
            "sectors": [
                {"sector": s, **{k: float(v) for k, v in r.items()}}
                for s, r in breakdown.iterrows()
            ],
            "positions": [
                {**{c: rec[c] for c in OVERVIEW_POSITION_FIELDS}, "position_id": pid}
                for pid, rec in records(valued, OVERVIEW_POSITION_FIELDS)
            ],
            "left_out": left_out,
            "risk_free_rate_pct": valuation.rate,
            "method": (
                "Market value = quantity × adjusted close × multiplier; "
                "options by Black–Scholes "
                "(implied vol if given, else the underlying's 60-day realized vol)."
            ),
        },
    )
    ctx.store("greeks", _greeks_payload(valued))
    return valuation


def _realized_pnl(portfolio_id: int) -> float:
    """Σ realized P&L ($) of the ledger's closing rows (FIFO lots, fees included)."""
    return float(
        db.session.scalar(
            select(func.coalesce(func.sum(Transaction.realized_pnl), 0.0)).where(
                Transaction.portfolio_id == portfolio_id
            )
        )
    )


def _day_change(portfolio_id: int, as_of) -> dict:
    """The as-of day's P&L (change in value that is not a deposit or withdrawal) and return."""
    row = db.session.execute(
        select(PortfolioSnapshot.daily_pnl, PortfolioSnapshot.daily_return).where(
            PortfolioSnapshot.portfolio_id == portfolio_id,
            PortfolioSnapshot.snapshot_date == as_of,
        )
    ).first()
    return {
        "day_change": row.daily_pnl if row else None,
        "day_change_pct": row.daily_return if row else None,
    }


def _greeks_payload(valued) -> dict:
    """Per-option Greeks (per share and per position) and the book's totals."""
    options = (
        valued[valued["position_type"].isin(OPTION_TYPES) & (valued["status"] == "ok")]
        if not valued.empty
        else valued
    )
    rows, totals = [], {"delta": 0.0, "gamma": 0.0, "theta": 0.0, "vega": 0.0, "rho": 0.0}
    for pid, r in records(options, GREEK_FIELDS):
        per_share = Greeks(**{k: r[k] for k in PER_SHARE})
        pos = position_greeks(per_share, r["quantity"], r["multiplier"])
        for k in totals:
            totals[k] += pos[k]
        rows.append(
            {
                "position_id": pid,
                **{k: r[k] for k in OPTION_FIELDS},
                "per_share": per_share.to_dict(),
                "position": pos,
                "delta_dollars": r["exposure"],
            }
        )
    return {"options": rows, "totals": totals, "count": len(rows), "units": GREEK_UNITS}


STEP = Step("valuation", _run, produces="valuation", kinds=("overview", "greeks"))


def overview(portfolio: Portfolio) -> Result:
    """Equity, exposures, P&L, sector breakdown and valued positions (stored by the batch).

    The day's change comes from the performance step's snapshot of the same as-of date.
    """
    result = stored(portfolio, "overview")
    if result.available:
        pnl = {**result.data.get("pnl", {}), **_day_change(portfolio.id, result.as_of)}
        result.data = {**result.data, "pnl": pnl}
    return result


def greeks(portfolio: Portfolio) -> Result:
    """Per-option and total Greeks."""
    return stored(portfolio, "greeks")


def option_greeks(portfolio: Portfolio, position_id: int) -> dict | None:
    """One option position's stored Greeks, or None."""
    result = greeks(portfolio)
    if not result.available:
        return None
    return next((g for g in result.data["options"] if g["position_id"] == position_id), None)

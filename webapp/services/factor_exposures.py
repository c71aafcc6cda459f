"""Factor exposures: the factor step (betas, exposures, VIF, risk split) and its read models."""

from __future__ import annotations

from sqlalchemy import select

from webapp.analytics import factors as factors_engine
from webapp.analytics.constants import DEFAULT_FACTOR_WINDOW
from webapp.extensions import db
from webapp.models import FactorDefinition, Portfolio
from webapp.services._frames import records
from webapp.services.pipeline import FactorModel, Step, StepContext
from webapp.services.results import Result, stored

PARAMS = {"window": DEFAULT_FACTOR_WINDOW}


def _run(ctx: StepContext) -> FactorModel:
    """Per-symbol factor betas, the portfolio's factor exposures, VIFs and the risk split."""
    valuation = ctx.valuation
    valued = valuation.priced()
    returns = valuation.returns
    exposures = valuation.exposures
    equity = valuation.equity
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
    model = fb.to_dict()
    ctx.store(
        "factor_exposures",
        {
            **portfolio_fx.to_dict(),
            "risk_split": split.to_dict(),
            "vif": factors_engine.vif(factor_rets.iloc[-DEFAULT_FACTOR_WINDOW:]),
            "model": {k: v for k, v in model.items() if k != "symbols"},
            "r_squared": {row["symbol"]: row["r_squared"] for row in model["symbols"]},
        },
        params=PARAMS,
    )
    ctx.store(
        "position_factor_exposures",
        {
            "positions": _position_rows(valued, model),
            "factors": list(fb.factors),
            "window": DEFAULT_FACTOR_WINDOW,
        },
        params=PARAMS,
    )
    return FactorModel(betas=fb, factor_returns=factor_rets)


def _position_rows(valued, model: dict) -> list[dict]:
    """Each position's betas and dollar exposures, or why it has none."""
    by_symbol = {row["symbol"]: row for row in model["symbols"]}
    skipped = {row["symbol"]: row for row in model["skipped"]}
    rows = []
    for pid, r in records(valued, ["underlying", "exposure", "status", "symbol", "position_type"]):
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
    return rows


STEP = Step(
    "factors",
    _run,
    needs=("valuation",),
    produces="factor_model",
    kinds=("factor_exposures", "position_factor_exposures"),
)


def factor_exposures(portfolio: Portfolio) -> Result:
    """Portfolio betas and dollar exposures per factor, diagnostics and the risk split."""
    return stored(portfolio, "factor_exposures", PARAMS)


def position_factor_exposures(
    portfolio: Portfolio, *, limit: int = 50, offset: int = 0, symbols: list[str] | None = None
) -> Result:
    """Per-position betas, paginated (``limit``/``offset``) and optionally filtered by symbol."""
    result = stored(portfolio, "position_factor_exposures", PARAMS)
    if not result.available:
        return result
    rows = result.data["positions"]
    if symbols:
        wanted = {s.upper() for s in symbols}
        rows = [
            r for r in rows if r["symbol"].upper() in wanted or r["underlying"].upper() in wanted
        ]
    result.data = {**result.data, "positions": rows[offset : offset + limit]}
    result.metadata.update(
        total=len(rows), limit=limit, offset=offset, has_more=offset + limit < len(rows)
    )
    result.parameters = {**result.parameters, "limit": limit, "offset": offset, "symbols": symbols}
    return result


def position_factors(portfolio: Portfolio, position_id: int) -> dict | None:
    """One position's stored betas, or None when there are none."""
    result = stored(portfolio, "position_factor_exposures", PARAMS)
    if not result.available:
        return None
    return next(
        (p for p in result.data.get("positions", []) if p.get("position_id") == position_id),
        None,
    )


def factor_definitions() -> list[dict]:
    """The stored factor definitions: name, ETF proxy, construction (raw or spread), formula."""
    formulas = {spec.name: spec.to_dict()["formula"] for spec in factors_engine.FACTORS}
    rows = db.session.scalars(select(FactorDefinition).order_by(FactorDefinition.sort_order))
    return [
        {
            "name": r.name,
            "etf_symbol": r.etf_symbol,
            "construction": r.construction,
            "formula": formulas.get(r.name),
            "description": r.description,
        }
        for r in rows
    ]

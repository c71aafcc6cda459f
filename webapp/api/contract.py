"""The reference contract's shapes (the reference backlog, section 3.0.3) on top of our envelope.

Every analytics response keeps the envelope pages and exports share (``available``, ``data``,
``metadata`` from ``Result.to_dict``) and adds the fields a client written against the spec
reads, at the spec's positions, with its names and units: percentages in percentage points
where the spec says percentage (``-10.0`` = -10%), fractions where it gives fractions
(``annualized_volatility: 0.142``). Where the spec names a reason code the response carries it
in ``reason`` and the project's more specific code in ``detail``.

Deliberate differences (README "JSON API", the contract changelog): factor names are the
model's (``Market``, not ``Market Beta``); ids are integers; dates are the as-of price date.
"""

from __future__ import annotations

from typing import Any, Callable

from webapp.schemas.contract import (
    DiversificationContract,
    Exposures,
    FactorExposuresContract,
    FactorItem,
    OverviewContract,
    PnL,
    PositionCount,
    PositionFactorContract,
    PositionFactorItem,
    RiskContract,
    RiskMetrics,
    StressImpact,
)
from webapp.services.results import Result

#: Per endpoint: the spec's reason codes, and the code a reason of ours maps to.
SPEC_REASONS: dict[str, tuple[dict[str, str], str]] = {
    # endpoint: ({our reason: spec reason}, spec reason for anything else)
    "correlation_matrix": (
        {"insufficient_symbols": "insufficient_symbols"},
        "no_calculation_available",
    ),
    "diversification_score": (
        {"insufficient_symbols": "insufficient_symbols"},
        "no_calculation_available",
    ),
    "factor_exposures": ({}, "no_calculation_available"),
    "position_factor_exposures": ({}, "no_calculation_available"),
    "risk_metrics": (
        {"insufficient_history": "insufficient_overlap", "no_benchmark_data": "no_benchmark_data"},
        "no_snapshots",
    ),
    "stress_test": ({"no_results": "no_results"}, "no_snapshot"),
    "performance": ({"no_benchmark_data": "no_benchmark_data"}, "no_snapshots"),
}


def _pp(fraction: float | None) -> float | None:
    """A decimal fraction in percentage points (0.1 -> 10.0), None stays None."""
    return None if fraction is None else 100.0 * fraction


def _unavailable(endpoint: str, body: dict, result: Result) -> dict:
    """The spec's reason in ``reason``, ours in ``detail`` (when they differ or ours is finer)."""
    mapping, fallback = SPEC_REASONS.get(endpoint, ({}, None))
    ours = body.get("reason")
    if fallback is not None:
        body["reason"] = mapping.get(ours, fallback)
    body["detail"] = ours
    lookback = result.parameters.get("lookback_days")
    if lookback is not None:
        body["metadata"]["duration_days"] = lookback
    return body


def overview(body: dict, result: Result) -> dict:
    """Top-level ``total_value, cash_balance, exposures{..}, pnl{..}, position_count{..}``."""
    s, pnl = body["data"]["summary"], body["data"]["pnl"]
    equity = s["equity"]
    counts = s["counts_by_type"]

    def share(value: float) -> float | None:
        return 100.0 * abs(value) / equity if equity > 0 else None

    block = OverviewContract(
        portfolio_id=result.portfolio_id,
        total_value=equity,
        cash_balance=s["cash"],
        exposures=Exposures(
            long_exposure=s["long_exposure"],
            short_exposure=s["short_exposure"],
            gross_exposure=s["gross_exposure"],
            net_exposure=s["net_exposure"],
            long_percentage=share(s["long_exposure"]),
            short_percentage=share(s["short_exposure"]),
        ),
        pnl=PnL(
            total_pnl=pnl["total_pnl"],
            unrealized_pnl=pnl["unrealized_pnl"],
            realized_pnl=pnl["realized_pnl"],
        ),
        position_count=PositionCount(
            total_positions=s["position_count"],
            long_count=counts.get("LONG", 0) + counts.get("LC", 0) + counts.get("LP", 0),
            short_count=counts.get("SHORT", 0) + counts.get("SC", 0) + counts.get("SP", 0),
            option_count=sum(counts.get(t, 0) for t in ("LC", "LP", "SC", "SP")),
        ),
        last_updated=body["metadata"]["calculated_at"],
    )
    body.update(block.model_dump())
    return body


def risk_metrics(body: dict, result: Result) -> dict:
    """``risk_metrics{portfolio_beta, annualized_volatility, max_drawdown}`` and the metadata."""
    d = body["data"]
    metrics = RiskMetrics(
        portfolio_beta=d["portfolio_beta"],
        annualized_volatility=d["annualized_volatility"],
        max_drawdown=d["max_drawdown"],
    )
    body.update(RiskContract(portfolio_id=result.portfolio_id, risk_metrics=metrics).model_dump())
    body["metadata"].update(
        lookback_days=d["lookback_days"],
        date_range={"start": d["start"], "end": d["end"]},
        observations=d["observations"],
    )
    return body


def factor_exposures(body: dict, result: Result) -> dict:
    """Top-level ``calculation_date`` and ``factors[{name, beta, exposure_dollar}]``."""
    d = body["data"]
    block = FactorExposuresContract(
        portfolio_id=result.portfolio_id,
        calculation_date=body["metadata"]["as_of"],
        factors=[
            FactorItem(name=f["name"], beta=f["beta"], exposure_dollar=f["exposure_dollar"])
            for f in d["factors"]
        ],
    )
    body.update(block.model_dump())
    body["metadata"].update(
        factor_model=f"{len(d['factors'])}-factor",
        calculation_method="ETF-proxy regression",
    )
    return body


def position_factor_exposures(body: dict, result: Result) -> dict:
    """Top-level ``total, limit, offset`` and ``positions[{position_id, symbol, exposures}]``."""
    meta = body["metadata"]
    block = PositionFactorContract(
        portfolio_id=result.portfolio_id,
        calculation_date=meta["as_of"],
        total=meta["total"],
        limit=meta["limit"],
        offset=meta["offset"],
        positions=[
            PositionFactorItem(
                position_id=p["position_id"], symbol=p["symbol"], exposures=p["betas"] or {}
            )
            for p in body["data"]["positions"]
        ],
    )
    body.update(block.model_dump())
    return body


def correlation_matrix(body: dict, result: Result) -> dict:
    """``data.matrix`` as ``{symbol: {symbol: float}}``; our rows stay as ``matrix_rows``."""
    d = body["data"] = dict(body["data"])
    symbols, rows = d["symbols"], d["matrix"]
    d["matrix_rows"] = rows
    d["matrix"] = {a: dict(zip(symbols, row)) for a, row in zip(symbols, rows)}
    body["metadata"]["duration_days"] = result.parameters.get("lookback_days")
    return body


def diversification_score(body: dict, result: Result) -> dict:
    """Top-level ``portfolio_correlation, duration_days, calculation_date, symbols_included``."""
    d = body["data"]
    block = DiversificationContract(
        portfolio_id=result.portfolio_id,
        portfolio_correlation=d["portfolio_correlation"],
        duration_days=result.parameters.get("lookback_days"),
        calculation_date=body["metadata"]["as_of"],
        symbols_included=d["symbols_included"],
    )
    body.update(block.model_dump())
    return body


def stress_test(body: dict, result: Result) -> dict:
    """Each scenario's ``id`` and ``impact{..}`` (percentage in points), the baseline value."""
    d = body["data"] = dict(body["data"])
    value = d["equity"]
    d["scenarios"] = [
        {
            **s,
            "id": s["scenario_id"],
            "impact": StressImpact(
                dollar_impact=s["pnl"],
                percentage_impact=_pp(s["pnl_pct"]),
                new_portfolio_value=s["new_value"],
            ).model_dump(),
        }
        for s in d["scenarios"]
    ]
    d["portfolio_value"] = value
    d["calculation_date"] = body["metadata"]["as_of"]
    # The ids asked for (null: every scenario of the library).
    body["metadata"]["scenarios_requested"] = result.parameters.get("scenarios")
    return body


SHAPES: dict[str, Callable[[dict, Result], dict]] = {
    "overview": overview,
    "risk_metrics": risk_metrics,
    "factor_exposures": factor_exposures,
    "position_factor_exposures": position_factor_exposures,
    "correlation_matrix": correlation_matrix,
    "diversification_score": diversification_score,
    "stress_test": stress_test,
}


def shaped(endpoint: str, result: Result) -> dict[str, Any]:
    """``result.to_dict()`` with the spec's fields of ``endpoint`` added (or its reason codes)."""
    body = result.to_dict()
    body["metadata"] = dict(body["metadata"])
    if not body["available"]:
        return _unavailable(endpoint, body, result)
    shape = SHAPES.get(endpoint)
    return shape(body, result) if shape else body


__all__ = ["SHAPES", "SPEC_REASONS", "shaped"]

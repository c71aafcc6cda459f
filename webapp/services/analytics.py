"""Read models for the analytics pages and their JSON twins: the latest stored batch results.

Every function returns a ``Result``: either ``available`` with the payload, its as-of date,
calculation time and parameters, or not available with the reason (``no_results`` before any
batch ran, or the failing step's reason such as ``no_positions`` or ``insufficient_history``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from webapp.analytics import correlations as correlations_engine
from webapp.analytics import factors as factors_engine
from webapp.analytics.constants import DEFAULT_FACTOR_WINDOW, STANDARD_WINDOWS
from webapp.analytics.errors import AnalyticsError
from webapp.models import Portfolio
from webapp.models._time import isoformat_z
from webapp.services.batch import recent_runs
from webapp.services.results import latest_result

# Which batch step produces which stored result kind (to explain a missing result).
STEP_OF_KIND = {
    "overview": "valuation",
    "greeks": "valuation",
    "performance": "snapshots",
    "factor_exposures": "factors",
    "position_factor_exposures": "factors",
    "correlations": "correlations",
    "risk_metrics": "risk",
    "stress_test": "stress",
}


@dataclass
class Result:
    """One analytics result as pages and the API see it."""

    kind: str
    portfolio_id: int
    available: bool
    data: dict[str, Any] = field(default_factory=dict)
    as_of: dt.date | None = None
    calculated_at: dt.datetime | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    message: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The API shape of the result.

        ``available`` + ``data`` + ``metadata``, or ``available: false`` + reason.
        """
        meta = {
            "portfolio_id": self.portfolio_id,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "calculated_at": isoformat_z(self.calculated_at),
            "parameters": self.parameters,
            **self.metadata,
        }
        if not self.available:
            return {
                "available": False,
                "reason": self.reason,
                "message": self.message,
                "metadata": meta,
            }
        return {"available": True, "data": self.data, "metadata": meta}


def missing(portfolio: Portfolio, kind: str, parameters: dict | None = None) -> Result:
    """Why ``kind`` has no stored result: never calculated, or its step failed (with the reason)."""
    runs = [r for r in recent_runs(portfolio.id, limit=5) if r.status not in ("queued", "running")]
    step_name = STEP_OF_KIND.get(kind)
    for run in runs:
        steps = run.steps or []
        for step in steps:
            if step["name"] == step_name and step["status"] != "succeeded":
                # A skipped step reports the failure that caused it (e.g. no_positions).
                cause = (
                    step
                    if step["status"] == "failed"
                    else next((s for s in steps if s["status"] == "failed"), step)
                )
                return Result(
                    kind,
                    portfolio.id,
                    False,
                    parameters=parameters or {},
                    reason=cause.get("reason") or "calculation_failed",
                    message=cause.get("error"),
                    as_of=run.as_of_date,
                )
    return Result(
        kind,
        portfolio.id,
        False,
        parameters=parameters or {},
        reason="no_results",
        message="No calculation has run for this portfolio yet; press Recalculate.",
    )


def stored(portfolio: Portfolio, kind: str, params: dict | None = None) -> Result:
    """The latest stored result of ``kind`` with exactly these parameters."""
    row = latest_result(portfolio.id, kind, params)
    if row is None:
        return missing(portfolio, kind, params)
    return Result(
        kind,
        portfolio.id,
        True,
        data=row.payload,
        as_of=row.as_of_date,
        calculated_at=row.calculated_at,
        parameters=row.params or {},
    )


def stress_test(
    portfolio: Portfolio, *, category: str | None = None, scenario_ids: list[str] | None = None
) -> Result:
    """Stored scenario results, optionally one category or a list of scenario ids.

    Unknown scenario ids are reported in ``metadata.unknown_scenarios`` (the API answers 400).
    """
    result = stored(portfolio, "stress_test")
    if not result.available:
        return result
    scenarios = result.data["scenarios"]
    known = {s["scenario_id"] for s in scenarios}
    result.metadata["categories"] = sorted({s["category"] for s in scenarios})
    if scenario_ids:
        result.metadata["unknown_scenarios"] = [i for i in scenario_ids if i not in known]
        scenarios = [s for s in scenarios if s["scenario_id"] in scenario_ids]
    if category:
        scenarios = [s for s in scenarios if s["category"] == category]
    result.data = {**result.data, "scenarios": scenarios}
    result.parameters = {**result.parameters, "category": category, "scenarios": scenario_ids}
    return result


def overview(portfolio: Portfolio) -> Result:
    """Equity, exposures, P&L, sector breakdown and valued positions (stored by the batch)."""
    return stored(portfolio, "overview")


def greeks(portfolio: Portfolio) -> Result:
    """Per-option and total Greeks."""
    return stored(portfolio, "greeks")


def performance(portfolio: Portfolio) -> Result:
    """Value history against SPY and period returns."""
    return stored(portfolio, "performance")


def factor_exposures(portfolio: Portfolio) -> Result:
    """Portfolio betas and dollar exposures per factor, diagnostics and the risk split."""
    return stored(portfolio, "factor_exposures", {"window": DEFAULT_FACTOR_WINDOW})


def position_factor_exposures(
    portfolio: Portfolio, *, limit: int = 50, offset: int = 0, symbols: list[str] | None = None
) -> Result:
    """Per-position betas, paginated (``limit``/``offset``) and optionally filtered by symbol."""
    result = stored(portfolio, "position_factor_exposures", {"window": DEFAULT_FACTOR_WINDOW})
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


def _correlations_stored(portfolio: Portfolio, lookback_days: int) -> Result:
    """The stored full matrix for a standard window, or one computed now for any other window."""
    if lookback_days in STANDARD_WINDOWS:
        return stored(portfolio, "correlations", {"lookback_days": lookback_days})
    from webapp.services.live import live_correlations

    return live_correlations(portfolio, lookback_days)


def _filter_matrix(data: dict, min_overlap: int) -> tuple[list[str], list[list], list[list]]:
    """Null out pairs with fewer than ``min_overlap`` overlapping days (the diagonal stays 1)."""
    symbols, matrix, points = data["symbols"], data["matrix"], data["data_points"]
    filtered = [
        [v if (i == j or (points[i][j] or 0) >= min_overlap) else None for j, v in enumerate(row)]
        for i, row in enumerate(matrix)
    ]
    return symbols, filtered, points


def correlation_matrix(
    portfolio: Portfolio, *, lookback_days: int = 90, min_overlap: int = 30, max_symbols: int = 25
) -> Result:
    """Pairwise correlations of the top ``max_symbols`` holdings by |exposure|, ordered by weight.

    Pairs with fewer than ``min_overlap`` overlapping return days are null. ``metadata`` says
    whether the matrix was truncated and how many symbols there were in all.
    """
    params = {
        "lookback_days": lookback_days,
        "min_overlap": min_overlap,
        "max_symbols": max_symbols,
    }
    base = _correlations_stored(portfolio, lookback_days)
    if not base.available:
        base.parameters = params
        return base
    symbols, matrix, points = _filter_matrix(base.data, min_overlap)
    weights = base.data.get("weights") or {}
    score = _score(symbols, matrix, weights)
    keep = symbols[:max_symbols]
    n = len(keep)
    data = {
        "symbols": keep,
        "matrix": [row[:n] for row in matrix[:n]],
        "data_points": [row[:n] for row in points[:n]],
        "weights": {s: weights.get(s) for s in keep},
        "average_correlation": _average(matrix[:n]),
        "diversification_score": score,
        "diversification_label": correlations_engine.diversification_label(score)
        if score is not None
        else None,
        "start": base.data.get("start"),
        "end": base.data.get("end"),
        "observations": base.data.get("observations"),
        "left_out": base.data.get("left_out", []),
        "method": base.data.get("method"),
    }
    result = Result(
        "correlations",
        portfolio.id,
        True,
        data=data,
        as_of=base.as_of,
        calculated_at=base.calculated_at,
        parameters=params,
    )
    result.metadata.update(
        truncated=len(symbols) > max_symbols,
        total_symbols=len(symbols),
        symbols_included=n,
        lookback_days=lookback_days,
    )
    return result


def _average(matrix: list[list]) -> float | None:
    values = [
        v for i, row in enumerate(matrix) for j, v in enumerate(row) if j > i and v is not None
    ]
    return sum(values) / len(values) if values else None


def _score(symbols: list[str], matrix: list[list], weights: dict) -> float | None:
    import pandas as pd

    if len(symbols) < 2:
        return None
    corr = pd.DataFrame(matrix, index=symbols, columns=symbols, dtype=float)
    w = pd.Series({s: abs(weights.get(s) or 0.0) for s in symbols}, dtype=float)
    try:
        return correlations_engine.diversification_score(corr, w)
    except AnalyticsError:
        return None


def diversification_score(
    portfolio: Portfolio, *, lookback_days: int = 90, min_overlap: int = 30
) -> Result:
    """The diversification score, with a plain reading.

    Σ_{i<j} w_i w_j |c_ij| / Σ_{i<j} w_i w_j over every modelled holding.
    """
    full = correlation_matrix(
        portfolio, lookback_days=lookback_days, min_overlap=min_overlap, max_symbols=10_000
    )
    if not full.available:
        return full
    score = full.data["diversification_score"]
    data = {
        "portfolio_correlation": score,
        "diversification_score": score,
        "label": full.data["diversification_label"],
        "symbols_included": full.metadata["total_symbols"],
        "average_correlation": full.data["average_correlation"],
        "observations": full.data["observations"],
        "left_out": full.data["left_out"],
        "method": "Weighted mean absolute pairwise correlation, weights |market value| / Σ|MV|; "
        "0 = uncorrelated holdings, 1 = they move as one.",
    }
    result = Result(
        "diversification",
        portfolio.id,
        score is not None,
        data=data,
        as_of=full.as_of,
        calculated_at=full.calculated_at,
        parameters={"lookback_days": lookback_days, "min_overlap": min_overlap},
    )
    if score is None:
        result.reason, result.message = "insufficient_symbols", "fewer than two correlated holdings"
    return result


def risk_metrics(portfolio: Portfolio, *, lookback_days: int = 90) -> Result:
    """Beta, volatility, drawdown, VaR/ES, benchmark statistics and risk contributions."""
    if lookback_days in STANDARD_WINDOWS:
        return stored(portfolio, "risk_metrics", {"lookback_days": lookback_days})
    from webapp.services.live import live_risk_metrics

    return live_risk_metrics(portfolio, lookback_days)


def factor_definitions() -> list[dict]:
    """The stored factor definitions: name, ETF proxy, construction (raw or spread), formula."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import FactorDefinition

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

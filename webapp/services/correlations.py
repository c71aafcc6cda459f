"""Correlations: the step storing every standard window's matrix, and the heatmap read models."""

from __future__ import annotations

import dataclasses

import pandas as pd

from webapp.analytics import correlations as correlations_engine
from webapp.analytics.constants import STANDARD_WINDOWS
from webapp.analytics.errors import AnalyticsError
from webapp.models import Portfolio
from webapp.services.pipeline import Step, StepContext, on_request
from webapp.services.results import Result, stored

# Correlations are stored with the loosest overlap a reader may ask for; reads filter upwards.
STORED_MIN_OVERLAP = 10


def _run(ctx: StepContext) -> None:
    """The full pairwise matrix for every window of the run.

    Pages filter overlap and size on read.
    """
    valuation = ctx.valuation
    valuation.priced()
    exposures = valuation.exposures
    for window in ctx.windows:
        result = correlations_engine.correlation_analysis(
            valuation.returns,
            exposures,
            lookback_days=window,
            min_overlap=STORED_MIN_OVERLAP,
            max_symbols=len(exposures),
        )
        ctx.store("correlations", result.to_dict(), params={"lookback_days": window})


STEP = Step("correlations", _run, needs=("valuation",), kinds=("correlations",))


def correlations_now(portfolio: Portfolio, lookback_days: int) -> Result:
    """The full matrix computed now (for a look-back the batch does not store)."""
    return on_request(portfolio, STEP, "correlations", lookback_days)


def _full_matrix(portfolio: Portfolio, lookback_days: int) -> Result:
    """The stored full matrix for a standard window, or one computed now for any other window."""
    if lookback_days in STANDARD_WINDOWS:
        return stored(portfolio, "correlations", {"lookback_days": lookback_days})
    return correlations_now(portfolio, lookback_days)


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
    base = _full_matrix(portfolio, lookback_days)
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
    result = dataclasses.replace(base, data=data, parameters=params, metadata={})
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
    result = dataclasses.replace(
        full,
        kind="diversification",
        available=score is not None,
        data=data,
        parameters={"lookback_days": lookback_days, "min_overlap": min_overlap},
        metadata={},
    )
    if score is None:
        result.reason, result.message = "insufficient_symbols", "fewer than two correlated holdings"
    return result

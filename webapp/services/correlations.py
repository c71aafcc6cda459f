"""Correlations: the step storing every standard window's matrix, and the heatmap read models."""

from __future__ import annotations

import dataclasses

import pandas as pd

from webapp.analytics import correlations as correlations_engine
from webapp.analytics.constants import STANDARD_WINDOWS
from webapp.analytics.errors import AnalyticsError, InsufficientHistory
from webapp.analytics.returns import returns_window
from webapp.models import Portfolio
from webapp.services.pipeline import Step, StepContext, on_request_cached
from webapp.services.results import Result, stored

# Correlations are stored with the loosest overlap a reader may ask for; reads filter upwards.
STORED_MIN_OVERLAP = 10


def _run(ctx: StepContext) -> None:
    """The full pairwise matrix for every window of the run.

    Pages filter overlap and size on read. ``left_out`` holds the positions the valuation could
    not price (stale or unknown prices) besides the symbols with too few returns in the window;
    ``gross_exposure`` counts both, so readers can state ``coverage``.
    """
    valuation = ctx.valuation
    valuation.priced()
    exposures = valuation.exposures
    unvalued = valuation.left_out()
    gross = float(exposures.abs().sum()) + sum(x["gross_exposure"] for x in unvalued)
    for window in ctx.windows:
        result = correlations_engine.correlation_analysis(
            returns_window(valuation.returns, ctx.as_of, window),
            exposures,
            lookback_days=window,
            min_overlap=STORED_MIN_OVERLAP,
            max_symbols=len(exposures),
        )
        payload = result.to_dict()
        payload["left_out"] = [*unvalued, *_symbol_entries(payload["left_out"])]
        payload["gross_exposure"] = gross
        payload["coverage"] = _coverage(payload["exposures"], gross)
        ctx.store("correlations", payload, params={"lookback_days": window})


def _symbol_entries(entries: list[dict]) -> list[dict]:
    """Engine left-out symbols as result entries: gross exposure = |their exposure| ($)."""
    return [{**x, "gross_exposure": abs(x["exposure"])} for x in entries]


def _coverage(exposures: dict, gross: float | None) -> float | None:
    """Σ|E| of the modelled symbols / the book's gross exposure (None when unknown)."""
    if not gross:
        return None
    return sum(abs(v or 0.0) for v in exposures.values()) / gross


STEP = Step("correlations", _run, needs=("valuation",), kinds=("correlations",))


def correlations_now(portfolio: Portfolio, lookback_days: int) -> Result:
    """The full matrix computed now (for a look-back the batch does not store).

    Remembered per book version (`valuation.book_key`) and look-back: other overlaps and sizes
    filter the same matrix. Callers get their own ``Result``; the values inside its payload are
    shared, read-only.
    """
    return on_request_cached(portfolio, STEP, "correlations", lookback_days)


def _full_matrix(portfolio: Portfolio, lookback_days: int) -> Result:
    """The stored full matrix for a standard window, or one computed now for any other window."""
    if lookback_days in STANDARD_WINDOWS:
        return stored(portfolio, "correlations", {"lookback_days": lookback_days})
    return correlations_now(portfolio, lookback_days)


def _filter_matrix(data: dict, min_overlap: int) -> tuple[list[str], list[list], list[list]]:
    """Drop symbols with fewer than ``min_overlap`` returns; null thinner pairs (diagonal 1).

    A symbol's own count (the diagonal of ``data_points``) below ``min_overlap`` could not
    correlate with anything at this overlap: it is left out (`_thin_symbols`), not shown blank.
    """
    points = data["data_points"]
    keep = [i for i in range(len(data["symbols"])) if (points[i][i] or 0) >= min_overlap]
    symbols = [data["symbols"][i] for i in keep]
    matrix = [[data["matrix"][i][j] for j in keep] for i in keep]
    points = [[points[i][j] for j in keep] for i in keep]
    filtered = [
        [v if (i == j or (points[i][j] or 0) >= min_overlap) else None for j, v in enumerate(row)]
        for i, row in enumerate(matrix)
    ]
    return symbols, filtered, points


def _thin_symbols(data: dict, min_overlap: int) -> list[dict]:
    """Left-out entries for the stored symbols with fewer than ``min_overlap`` returns."""
    exposures = data.get("exposures") or {}
    out = []
    for i, symbol in enumerate(data["symbols"]):
        n = int(data["data_points"][i][i] or 0)
        if n < min_overlap:
            exposure = exposures.get(symbol)
            out.append(
                {
                    "symbol": symbol,
                    "exposure": exposure,
                    "reason": InsufficientHistory.reason,
                    "detail": f"{n} returns for {symbol} in the window, fewer than the "
                    f"minimum overlap of {min_overlap} days",
                    "nobs": n,
                    "gross_exposure": abs(exposure) if exposure is not None else None,
                }
            )
    return out


def correlation_matrix(
    portfolio: Portfolio, *, lookback_days: int = 90, min_overlap: int = 30, max_symbols: int = 25
) -> Result:
    """Pairwise correlations of the top ``max_symbols`` holdings, ordered by exposure.

    Order and score weights are |delta-adjusted exposure| per underlying (an option counts as
    |delta × contracts × multiplier × underlying price|). Pairs with fewer than ``min_overlap``
    overlapping return days are null; symbols with fewer returns than that are left out.
    ``coverage`` = Σ|E| of the symbols kept / the book's gross exposure (unpriced positions at
    their cost basis). ``metadata`` says whether the matrix was truncated and how many symbols
    there were in all.
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
    exposures = base.data.get("exposures") or {}
    kept = {s: exposures[s] for s in symbols if s in exposures}
    gross = base.data.get("gross_exposure")
    score = _score(symbols, matrix, weights)
    keep = symbols[:max_symbols]
    n = len(keep)
    data = {
        "symbols": keep,
        "matrix": [row[:n] for row in matrix[:n]],
        "data_points": [row[:n] for row in points[:n]],
        "weights": {s: weights.get(s) for s in keep},
        "exposures": {s: exposures.get(s) for s in keep},
        "average_correlation": _average(matrix[:n]),
        "diversification_score": score,
        "diversification_label": correlations_engine.diversification_label(score)
        if score is not None
        else None,
        "start": base.data.get("start"),
        "end": base.data.get("end"),
        "observations": base.data.get("observations"),
        "observations_reason": base.data.get("observations_reason"),
        "coverage": _coverage(kept, gross) if kept else base.data.get("coverage"),
        "left_out": [*base.data.get("left_out", []), *_thin_symbols(base.data, min_overlap)],
        "method": base.data.get("method"),
    }
    # Whether the matrix was computed on request (a look-back the batch does not store) stays.
    kept_meta = {k: v for k, v in base.metadata.items() if k == "computed"}
    result = dataclasses.replace(base, data=data, parameters=params, metadata=kept_meta)
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


DIVERSIFICATION_METHOD = (
    "Weighted mean absolute pairwise correlation, weights |delta-adjusted exposure| / "
    "Σ|delta-adjusted exposure| per underlying (an option counts by its delta: "
    "|delta × contracts × multiplier × underlying price|); 0 = uncorrelated holdings, 1 = they "
    "move as one."
)


def diversification_score(
    portfolio: Portfolio, *, lookback_days: int = 90, min_overlap: int = 30
) -> Result:
    """The diversification score, with a plain reading.

    Σ_{i<j} w_i w_j |c_ij| / Σ_{i<j} w_i w_j over every modelled holding, with
    w = |delta-adjusted exposure| / Σ|delta-adjusted exposure| (options count by their delta).
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
        "observations_reason": full.data["observations_reason"],
        "coverage": full.data["coverage"],
        "left_out": full.data["left_out"],
        "method": DIVERSIFICATION_METHOD,
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

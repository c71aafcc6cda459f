"""Correlations: the heatmap (look-back / overlap / size controls) and diversification score."""

from __future__ import annotations

from webapp import charts
from webapp.analytics.constants import STANDARD_WINDOWS
from webapp.correlations import bp
from webapp.pages import nav_item, owned, page_params, result_page
from webapp.schemas.params import CorrelationMatrixParams
from webapp.services.correlations import correlation_matrix

nav_item("correlations.index", "Correlations", 30)
LOOKBACKS = STANDARD_WINDOWS  # the windows the batch stores


@bp.get("/correlations")
def index(portfolio_id: int):
    """The Correlations page: the heatmap for a look-back, overlap and size, or its partial."""
    portfolio = owned(portfolio_id)
    params, error = page_params(CorrelationMatrixParams)
    lookback = params.lookback_days
    result = correlation_matrix(portfolio, **params.model_dump())
    figure = None
    if result.available and result.data["symbols"]:
        figure = charts.heatmap(
            result.data["symbols"],
            result.data["matrix"],
            title=(
                f"Correlation of daily returns, last {lookback} trading days (ordered by exposure)"
            ),
        )
    return result_page(
        "correlations/index.html",
        "correlations/_heatmap.html",
        portfolio,
        "Correlations",
        result,
        figure=figure,
        lookback=lookback,
        min_overlap=params.min_overlap,
        max_symbols=params.max_symbols,
        lookbacks=LOOKBACKS,
        param_error=error,
        bounds={
            n: CorrelationMatrixParams.bounds(n)
            for n in ("lookback_days", "min_overlap", "max_symbols")
        },
    )

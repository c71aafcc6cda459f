"""Correlations: the heatmap (look-back / overlap / size controls) and diversification score."""

from __future__ import annotations

from webapp import charts
from webapp.correlations import bp
from webapp.pages import int_arg, nav_item, owned, result_page
from webapp.services.correlations import correlation_matrix

nav_item("correlations.index", "Correlations", 30)
LOOKBACKS = (30, 60, 90, 180, 252)


@bp.get("/correlations")
def index(portfolio_id: int):
    """The Correlations page: the heatmap for a look-back, overlap and size, or its partial."""
    portfolio = owned(portfolio_id)
    lookback = int_arg("lookback_days", 90, 30, 365)
    min_overlap = min(int_arg("min_overlap", 30, 10, 365), lookback)
    max_symbols = int_arg("max_symbols", 25, 2, 50)
    result = correlation_matrix(
        portfolio, lookback_days=lookback, min_overlap=min_overlap, max_symbols=max_symbols
    )
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
        min_overlap=min_overlap,
        max_symbols=max_symbols,
        lookbacks=LOOKBACKS,
    )

"""Performance: the value history from daily snapshots against SPY, and period returns."""

from __future__ import annotations

from webapp import charts
from webapp.pages import nav_item, owned, result_page
from webapp.performance import bp
from webapp.services.performance import performance

nav_item("performance.index", "Performance", 70)


@bp.get("/performance")
def index(portfolio_id: int):
    """The Performance page: value history from daily snapshots against SPY, period returns."""
    portfolio = owned(portfolio_id)
    result = performance(portfolio)
    figure = None
    if result.available:
        h = result.data["history"]
        figure = charts.lines(
            h["dates"],
            {
                "Portfolio": h["equity"],
                f"{result.data['benchmark']} (same start value)": h["benchmark_equity"],
            },
            title="Portfolio value vs SPY",
            y_title="Value (US $)",
        )
    return result_page(
        "performance/index.html",
        None,
        portfolio,
        "Performance",
        result,
        figure=figure,
    )

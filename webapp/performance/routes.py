"""Performance: time- and money-weighted returns from the ledger against the benchmark."""

from __future__ import annotations

from webapp import charts
from webapp.pages import nav_item, owned, result_page
from webapp.performance import bp
from webapp.services.performance import performance

nav_item("performance.index", "Performance", 70)


def _figures(data: dict) -> dict:
    h = data["history"]
    growth = charts.lines(
        h["dates"],
        {"Portfolio (time-weighted)": h["growth"], data["benchmark"]: h["benchmark_growth"]},
        title="Growth of $10,000",
        y_title="Value of $10,000 invested (US $)",
    )
    value = charts.lines(
        h["dates"], {"Portfolio value": h["equity"]}, title="Portfolio value", y_title="US $"
    )
    charts.mark_events(
        value, data["flow_days"], name="Deposits / withdrawals", y=h["equity"], x=h["dates"]
    )
    return {"growth": growth, "value": value}


@bp.get("/performance")
def index(portfolio_id: int):
    """The Performance page: returns by period, IRR, risk-adjusted figures and two charts."""
    portfolio = owned(portfolio_id)
    result = performance(portfolio)
    figures = _figures(result.data) if result.available else {}
    return result_page(
        "performance/index.html", None, portfolio, "Performance", result, figures=figures
    )

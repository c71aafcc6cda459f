"""Stress tests: every scenario's impact, a category filter and one scenario's position detail."""

from __future__ import annotations

from flask import request

from webapp import charts
from webapp.pages import nav_item, owned, page_params, result_page
from webapp.schemas.params import StressParams
from webapp.services.stress_tests import page_detail, stress_test, with_detail
from webapp.stress import bp

nav_item("stress.index", "Stress tests", 60)


def _figure(scenarios: list[dict]):
    if not scenarios:
        return None
    ordered = sorted(scenarios, key=lambda s: s["pnl"])
    return charts.signed_bars(
        *charts.columns(ordered, "name", "pnl"),
        title="Scenario P&L",
        axes=("P&L (US $)", "Scenario"),
        value_format="$,.0s",
        hover="%{y}: %{x:$,.0f}<extra></extra>",
        horizontal=True,
    )


@bp.get("/stress")
def index(portfolio_id: int):
    """The Stress tests page: every scenario's P&L; HTMX gets the list or one scenario's detail."""
    portfolio = owned(portfolio_id)
    params, error = page_params(StressParams)
    category = params.category
    result = stress_test(portfolio, category=category)
    selected = None
    if result.available:
        wanted = request.args.get("scenario")
        selected = next((s for s in result.data["scenarios"] if s["scenario_id"] == wanted), None)
        if selected is not None:
            selected = page_detail(with_detail(portfolio, result, selected))
    figure = _figure(result.data.get("scenarios", [])) if result.available else None
    partial = (
        "stress/_position_detail.html"
        if request.headers.get("HX-Target") == "scenario-detail"
        else "stress/_scenarios.html"
    )
    return result_page(
        "stress/index.html",
        partial,
        portfolio,
        "Stress tests",
        result,
        category=category,
        selected=selected,
        figure=figure,
        param_error=error,
    )

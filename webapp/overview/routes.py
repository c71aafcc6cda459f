"""Overview: equity, exposures, P&L, sector breakdown and the filterable positions table."""

from __future__ import annotations

from flask import request

from webapp import charts
from webapp.overview import bp
from webapp.pages import is_htmx, nav_item, owned, portfolio_page
from webapp.schemas.positions import PositionsTableParams, page_error, table_params
from webapp.services import positions
from webapp.services.alerts import open_alerts
from webapp.services.overview import overview
from webapp.services.risk_profile import risk_score

nav_item("overview.index", "Overview", 10)


def _table(portfolio) -> tuple:
    """The table's page and the parameter error to show beside its controls (or None)."""
    params, error = table_params(PositionsTableParams, request.args)
    return positions.positions_page(portfolio, **params.service_args()), page_error(error)


def _figures(result) -> dict:
    if not result.available:
        return {}
    s = result.data["summary"]
    exposure = charts.signed_bars(
        ["Long", "Short", "Gross", "Net", "Net (delta-adj.)"],
        [
            s.get("long_exposure"),
            s.get("short_exposure"),
            s.get("gross_exposure"),
            s.get("net_exposure"),
            s.get("delta_net_exposure"),
        ],
        title="Exposure",
        axes=("", "US dollars ($)"),
    )
    sectors = result.data.get("sectors") or []
    sector = (
        charts.grouped_bars(
            [r["sector"] for r in sectors],
            {"Long": [r["long"] for r in sectors], "Short": [r["short"] for r in sectors]},
            title="Delta-adjusted exposure by sector",
            y_title="US dollars ($)",
        )
        if sectors
        else None
    )
    return {"exposure": exposure, "sector": sector}


@bp.get("/overview")
def index(portfolio_id: int):
    """The Overview page: equity, exposures, P&L and sectors, or the positions table for HTMX."""
    portfolio = owned(portfolio_id)
    table, table_error = _table(portfolio)
    if is_htmx() and request.headers.get("HX-Target") == "positions-table":
        return portfolio_page(
            "overview/index.html",
            "overview/_positions.html",
            portfolio,
            "Overview",
            table=table,
            table_error=table_error,
        )
    result = overview(portfolio)
    return portfolio_page(
        "overview/index.html",
        None,
        portfolio,
        "Overview",
        result=result,
        table=table,
        table_error=table_error,
        figures=_figures(result),
        as_of=result.as_of or table.as_of,
        alerts=open_alerts(portfolio.id),
        score=risk_score(portfolio),
    )

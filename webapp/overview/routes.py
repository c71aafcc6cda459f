"""Overview: equity, exposures, P&L, sector breakdown and the filterable positions table."""

from __future__ import annotations

from flask import request

from webapp import charts
from webapp.overview import bp
from webapp.pages import int_arg, is_htmx, nav_item, owned, portfolio_page
from webapp.services import positions
from webapp.services.overview import overview

nav_item("overview.index", "Overview", 10)


def _table(portfolio):
    return positions.positions_page(
        portfolio,
        sort=request.args.get("sort", "weight"),
        direction=request.args.get("dir", "desc"),
        position_type=request.args.get("type") or None,
        tag=request.args.get("tag") or None,
        strategy=request.args.get("strategy") or None,
        page=int_arg("page", 1, 1, 10_000),
        per_page=int_arg("per_page", 15, 5, 200),
    )


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
    table = _table(portfolio)
    if is_htmx() and request.headers.get("HX-Target") == "positions-table":
        return portfolio_page(
            "overview/index.html", "overview/_positions.html", portfolio, "Overview", table=table
        )
    result = overview(portfolio)
    return portfolio_page(
        "overview/index.html",
        None,
        portfolio,
        "Overview",
        result=result,
        table=table,
        figures=_figures(result),
        as_of=result.as_of or table.as_of,
    )

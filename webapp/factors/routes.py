"""Factor exposures: portfolio betas and dollar exposures, diagnostics, position-level betas."""

from __future__ import annotations

from flask import request

from webapp import charts
from webapp.factors import bp
from webapp.pages import int_arg, nav_item, owned, result_page
from webapp.services.factor_exposures import (
    factor_exposures,
    market_beta_comparison,
    position_factor_exposures,
)

nav_item("factors.index", "Factors", 40)
PER_PAGE = 10


@bp.get("/factors")
def index(portfolio_id: int):
    """The Factor exposures page: portfolio betas and a page of position betas, or that table."""
    portfolio = owned(portfolio_id)
    page = int_arg("page", 1, 1, 10_000)
    symbol = (request.args.get("symbol") or "").strip().upper() or None
    positions = position_factor_exposures(
        portfolio,
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
        symbols=[symbol] if symbol else None,
    )
    result = factor_exposures(portfolio)
    figure = None
    if result.available:
        factors = result.data["factors"]
        figure = charts.signed_bars(
            *charts.columns(factors, "name", "beta"),
            title="Portfolio factor betas",
            axes=("Factor", "Beta (per $ of equity)"),
            hover="%{x}: %{y:.3f}<extra></extra>",
        )
    return result_page(
        "factors/index.html",
        "factors/_positions.html",
        portfolio,
        "Factor exposures",
        result,
        positions=positions,
        figure=figure,
        market_beta=market_beta_comparison(portfolio, result),
        page=page,
        per_page=PER_PAGE,
        symbol=symbol,
    )

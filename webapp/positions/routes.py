"""Position detail: price chart, P&L, factor betas and (for options) Greeks."""

from __future__ import annotations

from webapp import charts
from webapp.pages import owned, portfolio_page
from webapp.positions import bp
from webapp.services.positions import position_detail


@bp.get("/<int:position_id>")
def detail(portfolio_id: int, position_id: int):
    """The position detail page: a year of prices, P&L, factor betas and, for options, Greeks."""
    portfolio = owned(portfolio_id)
    detail = position_detail(portfolio, position_id)
    p = detail.prices
    figure = (
        charts.lines(
            p["dates"],
            {p["symbol"]: p["adj_close"]},
            title=f"{p['symbol']} adjusted close, last 12 months",
            y_title="Price (US $ per share)",
            hover_format="$,.2f",
        )
        if p["dates"]
        else None
    )
    return portfolio_page(
        "positions/detail.html",
        None,
        portfolio,
        f"Position {detail.position['display_name'] or detail.position['symbol']}",
        detail=detail,
        figure=figure,
        as_of=detail.as_of,
    )

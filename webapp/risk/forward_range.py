"""Forward range: where the book may be in 6 months and a year, and its risk score against the
client's stated tolerance."""

from __future__ import annotations

from webapp import charts
from webapp.pages import nav_item, owned, page_params, result_page
from webapp.risk import bp
from webapp.schemas.params import ForwardRangeParams
from webapp.services.risk_profile import forward_range, risk_score

nav_item("risk.forward_range", "Forward range", 55)


@bp.get("/forward-range", endpoint="forward_range")
def forward_range_page(portfolio_id: int):
    """The Forward range page (fan chart, bands, breach odds, risk score), or its partial."""
    portfolio = owned(portfolio_id)
    params, error = page_params(ForwardRangeParams)
    result = forward_range(portfolio, params.method)
    figure = (
        charts.fan(
            result.data["path"],
            title=f"Simulated outcomes, {result.data['paths']:,} paths ({params.method})",
            loss_limit_pct=result.data["loss_limit_pct"],
        )
        if result.available
        else None
    )
    return result_page(
        "risk/forward_range.html",
        "risk/_forward_range.html",
        portfolio,
        "Forward range",
        result,
        figure=figure,
        score=risk_score(portfolio),
        method=params.method,
        param_error=error,
    )

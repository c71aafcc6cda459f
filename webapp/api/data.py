"""GET /data/*: raw portfolio data."""
from __future__ import annotations

from flask import g, jsonify

from webapp.api import bp
from webapp.api.common import owned_portfolio_or_404, require_auth
from webapp.models._time import isoformat_z
from webapp.services import portfolios as svc


@bp.get("/data/portfolios")
@require_auth
def portfolios():
    """The caller's portfolios with value and position count as of the last price date."""
    out = []
    for p in svc.user_portfolios(g.user.id):
        view = svc.positions_view(p)
        out.append(
            {
                "id": p.id,
                "name": p.name,
                "description": p.description,
                "cash_balance": p.cash,
                "total_value": view.totals.get("equity"),
                "position_count": len(view.rows),
                "as_of": view.as_of.isoformat() if view.as_of else None,
                "created_at": isoformat_z(p.created_at),
            }
        )
    return jsonify({"portfolios": out, "count": len(out)})


@bp.get("/data/positions/details")
@require_auth
def positions_details():
    from flask import request

    from webapp.api.common import ApiError

    portfolio_id = request.args.get("portfolio_id", type=int)
    if portfolio_id is None:
        raise ApiError(400, "'portfolio_id' is required", {"field": "portfolio_id"}, "invalid_parameter")
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify(svc.positions_view(portfolio).to_dict())

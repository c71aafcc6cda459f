"""GET /data/*: raw portfolio data."""

from __future__ import annotations

from flask import g, jsonify, request

from webapp.api import bp
from webapp.api.analytics import SYMBOL_RE, csv_param
from webapp.api.common import ApiError, owned_portfolio_or_404, query_params, require_auth
from webapp.schemas.params import DataQualityParams, EtfPricesParams, HistoricalPricesParams
from webapp.services import market_views
from webapp.services import portfolios as svc
from webapp.services.positions import portfolio_dict, positions_view


@bp.get("/data/portfolios")
@require_auth
def portfolios():
    """The caller's portfolios with value and position count as of the last price date."""
    out = []
    for p in svc.user_portfolios(g.user.id):
        out.append(portfolio_dict(p, positions_view(p)))
    return jsonify({"portfolios": out, "count": len(out)})


@bp.get("/data/positions/details")
@require_auth
def positions_details():
    """The valued positions table of one portfolio (?portfolio_id=)."""
    portfolio_id = request.args.get("portfolio_id", type=int)
    if portfolio_id is None:
        raise ApiError(
            400, "'portfolio_id' is required", {"field": "portfolio_id"}, "invalid_parameter"
        )
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify(positions_view(portfolio).to_dict())


MAX_QUOTES = 100


@bp.get("/data/portfolio/<int:portfolio_id>/complete")
@require_auth
def portfolio_complete(portfolio_id: int):
    """Positions valued as of the last price date, the prices used and the totals."""
    return jsonify(market_views.portfolio_complete(owned_portfolio_or_404(portfolio_id)))


@bp.get("/data/portfolio/<int:portfolio_id>/data-quality")
@require_auth
def portfolio_data_quality(portfolio_id: int):
    """Per-symbol price coverage over the look-back and which engines it permits."""
    params = query_params(DataQualityParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify(market_views.data_quality(portfolio, lookback_days=params.lookback_days))


@bp.get("/data/prices/historical/<int:portfolio_id>")
@require_auth
def prices_historical(portfolio_id: int):
    """Aligned daily prices of the portfolio's symbols, largest first: at most max_symbols and
    ``MAX_PAYLOAD_BYTES`` of JSON per page, the next page at ``metadata.next_cursor``."""
    params = query_params(HistoricalPricesParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify(
        market_views.historical_prices(
            portfolio,
            lookback_days=params.lookback_days,
            max_symbols=params.max_symbols,
            date_format=params.date_format,
            include_factor_etfs=params.include_factor_etfs == "true",
            cursor=params.cursor,
        )
    )


@bp.get("/data/prices/quotes")
@require_auth
def prices_quotes():
    """Last stored price, date and one-day change per symbol; unknown symbols are listed."""
    symbols = csv_param(
        "symbols", pattern=SYMBOL_RE, upper=True, required=True, max_items=MAX_QUOTES
    )
    return jsonify(market_views.quotes(symbols))


@bp.get("/data/factors/etf-prices")
@require_auth
def factor_etf_prices():
    """The factor ETFs' last prices and recent daily series."""
    params = query_params(EtfPricesParams)
    return jsonify(market_views.factor_etf_prices(lookback_days=params.lookback_days))

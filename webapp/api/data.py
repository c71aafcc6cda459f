"""GET /data/*: raw portfolio data."""

from __future__ import annotations

from flask import g, jsonify

from webapp.api import bp
from webapp.api.apidoc import documented
from webapp.api.common import owned_portfolio_or_404, query_params, require_auth
from webapp.schemas.api.common import PositionsView
from webapp.schemas.api.data import (
    FactorEtfPricesResponse,
    PortfolioCompleteResponse,
    PortfolioDataQualityResponse,
    PortfoliosResponse,
    PricesHistoricalResponse,
    PricesQuotesResponse,
)
from webapp.schemas.params import (
    DataQualityParams,
    EtfPricesParams,
    HistoricalPricesParams,
    PositionDetailsParams,
    QuoteParams,
)
from webapp.services import market_views
from webapp.services import portfolios as svc
from webapp.services.positions import portfolio_dict, positions_view


@bp.get("/data/portfolios")
@require_auth
@documented(
    "data_portfolios",
    "The caller's portfolios",
    PortfoliosResponse,
    ok_text="Portfolios",
)
def portfolios():
    """The caller's portfolios with value and position count as of the last price date."""
    out = []
    for p in svc.user_portfolios(g.user.id):
        out.append(portfolio_dict(p, positions_view(p)))
    return jsonify({"portfolios": out, "count": len(out)})


@bp.get("/data/positions/details")
@require_auth
@documented(
    "data_positions_details",
    "Valued positions of one portfolio",
    PositionsView,
    ok_text="Positions",
    query=PositionDetailsParams,
    errors=(404,),
)
def positions_details():
    """The valued positions table of one portfolio (?portfolio_id=)."""
    portfolio = owned_portfolio_or_404(query_params(PositionDetailsParams).portfolio_id)
    return jsonify(positions_view(portfolio).to_dict())


@bp.get("/data/portfolio/<int:portfolio_id>/complete")
@require_auth
@documented(
    "data_portfolio_complete",
    "Positions, prices as of the last price date and totals",
    PortfolioCompleteResponse,
    ok_text="Complete raw portfolio data",
)
def portfolio_complete(portfolio_id: int):
    """Positions valued as of the last price date, the prices used and the totals."""
    return jsonify(market_views.portfolio_complete(owned_portfolio_or_404(portfolio_id)))


@bp.get("/data/portfolio/<int:portfolio_id>/data-quality")
@require_auth
@documented(
    "data_portfolio_data_quality",
    "Price coverage per symbol over the look-back",
    PortfolioDataQualityResponse,
    ok_text="Coverage",
    query=DataQualityParams,
)
def portfolio_data_quality(portfolio_id: int):
    """Per-symbol price coverage over the look-back and which engines it permits."""
    params = query_params(DataQualityParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify(market_views.data_quality(portfolio, lookback_days=params.lookback_days))


@bp.get("/data/prices/historical/<int:portfolio_id>")
@require_auth
@documented(
    "data_prices_historical",
    "Daily prices of the portfolio's symbols on one date axis",
    PricesHistoricalResponse,
    ok_text="Aligned prices",
    query=HistoricalPricesParams,
)
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
@documented(
    "data_prices_quotes",
    "Last price, date and one-day change",
    PricesQuotesResponse,
    ok_text="Quotes",
    query=QuoteParams,
)
def prices_quotes():
    """Last stored price, date and one-day change per symbol; unknown symbols are listed."""
    return jsonify(market_views.quotes(query_params(QuoteParams).symbol_list))


@bp.get("/data/factors/etf-prices")
@require_auth
@documented(
    "data_factor_etf_prices",
    "The factor ETFs' recent prices",
    FactorEtfPricesResponse,
    ok_text="Factor ETF prices",
    query=EtfPricesParams,
)
def factor_etf_prices():
    """The factor ETFs' last prices and recent daily series."""
    params = query_params(EtfPricesParams)
    return jsonify(market_views.factor_etf_prices(lookback_days=params.lookback_days))

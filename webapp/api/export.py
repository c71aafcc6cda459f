"""/export: the portfolio as JSON, CSV (re-importable) or XLSX, and broker-style trade lists."""

from __future__ import annotations

import json

from flask import Response, jsonify, request

from webapp.api import bp
from webapp.api.apidoc import documented
from webapp.api.common import (
    ApiError,
    body_portfolio,
    owned_portfolio_or_404,
    query_params,
    require_auth,
)
from webapp.schemas.api.export import PortfolioResponse, TradesBody, TradesResponse
from webapp.schemas.params import ExportFormatParams, TradeExportParams
from webapp.services import exports, trades
from webapp.services.jsonable import jsonable
from webapp.services.market_views import export_filename
from webapp.services.queries import latest_price_date

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(body: str | bytes, mimetype: str, filename: str) -> Response:
    """A download: the body with Content-Disposition: attachment and the file name."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/export/portfolio/<int:portfolio_id>")
@require_auth
@documented(
    "export_portfolio",
    "Download the portfolio",
    PortfolioResponse,
    ok_text="json: everything (positions, prices, every stored result); csv: open positions "
    "in the canonical import format; xlsx: workbook",
    query=ExportFormatParams,
    files=("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
)
def export_portfolio(portfolio_id: int):
    """format=json (everything), csv (positions, canonical import format) or xlsx (workbook)."""
    fmt = query_params(ExportFormatParams).format
    portfolio = owned_portfolio_or_404(portfolio_id)
    if fmt == "csv":
        return attachment(
            exports.positions_csv(portfolio),
            "text/csv",
            export_filename(portfolio, "positions", "csv"),
        )
    if fmt == "xlsx":
        return attachment(
            exports.portfolio_xlsx(portfolio), XLSX_MIMETYPE, export_filename(portfolio, "", "xlsx")
        )
    body = json.dumps(exports.portfolio_package(portfolio), indent=1, allow_nan=False)
    return attachment(body, "application/json", export_filename(portfolio, "", "json"))


@bp.post("/export/trades")
@require_auth
@documented(
    "export_trades",
    "Trade list (target vs current, or explicit trades)",
    TradesResponse,
    ok_text="Broker-style orders",
    query=TradeExportParams,
    body=TradesBody,
    files=("text/csv",),
    errors=(404,),
)
def export_trades():
    """The trade list as JSON or CSV, from a target or from explicit trades.

    Body {portfolio_id, target: [{symbol, quantity}]} or
    {portfolio_id, trades: [{symbol, side, quantity}]}.
    """
    fmt = query_params(TradeExportParams).format
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ApiError(
            400, 'Send a JSON object body: {"portfolio_id": …, "target" or "trades": […]}.'
        )
    portfolio = body_portfolio(payload)
    rows = trades.trade_list(portfolio, payload)
    if fmt == "csv":
        return attachment(
            trades.trades_csv(rows), "text/csv", export_filename(portfolio, "trades", "csv")
        )
    as_of = latest_price_date()
    return jsonify(
        {
            "portfolio_id": portfolio.id,
            "as_of": jsonable(as_of),
            "columns": list(trades.TRADE_COLUMNS),
            "trades": rows,
            "count": len(rows),
        }
    )

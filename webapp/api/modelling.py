"""/modeling/sessions: the reference's ProForma modelling API (§3.1) on the modelling service.

The same services as the pages (``services.modelling``, ``services.impacts``): a session starts
on one of the caller's accounts; each proposed trade is booked on the session's proposed book
through the real ledger or refused with the ledger's field messages (422); the proposed book is
calculated by the normal batch (202, queued; 503 when the queue is down) and the impacts are
``impacts(session).to_dict()``. Another advisor's session or trade is 404; changing a saved or
applied session is 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from flask import g, jsonify
from pydantic import Field

from webapp.api import bp
from webapp.api.apidoc import documented
from webapp.api.common import (
    ApiError,
    body_portfolio,
    json_body,
    owned_portfolio_or_404,
    query_params,
    require_auth,
)
from webapp.api.export import attachment
from webapp.api.system import run_dict
from webapp.imports import parse_option_symbol
from webapp.imports.symbols import stock_symbol
from webapp.models import ModellingSession
from webapp.models._time import isoformat_z
from webapp.models.modelling import SESSION_STATUSES
from webapp.schemas.api.common import BatchRun
from webapp.schemas.api.modelling import (
    ApplyResponse,
    ImpactsResponse,
    SaveBody,
    SaveResponse,
    Session,
    SessionList,
    SessionTradesResponse,
    StartSessionBody,
    SuggestBody,
    SuggestResponse,
    TradeBody,
    TradeChange,
)
from webapp.schemas.params import OwnPortfolioId, Page, TradeExportParams
from webapp.services import modelling as svc
from webapp.services.impacts import impacts
from webapp.services.jsonable import jsonable
from webapp.services.management import ValidationError, osi_symbol
from webapp.services.market_views import export_filename
from webapp.services.portfolios import NotOwned
from webapp.services.queries import latest_price_date
from webapp.services.queueing import enqueue_portfolio_batch
from webapp.services.runs import recent_runs
from webapp.services.suggestions import suggest as suggest_trade
from webapp.services.trades import TRADE_COLUMNS, trades_csv

SESSIONS = "/modeling/sessions"
ONE = SESSIONS + "/<int:session_id>"

#: A proposed entry as a broker order: stock trades in the export's own words
#: (``services.trades.ACTIONS``), option trades by whether they open or close the contract.
STOCK_ACTIONS = {"buy": "BUY", "sell": "SELL", "short": "SELL_SHORT", "cover": "BUY_TO_COVER"}
OPTION_ACTIONS = {
    ("option_open", "L"): "BUY_TO_OPEN",
    ("option_open", "S"): "SELL_TO_OPEN",
    ("option_close", "L"): "SELL_TO_CLOSE",
    ("option_close", "S"): "BUY_TO_CLOSE",
}
ACTIONS = (*STOCK_ACTIONS.values(), *OPTION_ACTIONS.values())
OPTION_MULTIPLIER = 100.0


class SessionListParams(Page):
    """GET /modeling/sessions: the caller's sessions, newest first, by status or account."""

    status: Literal[SESSION_STATUSES] | None = Field(  # type: ignore[valid-type]
        None, description="Only sessions in this status (open, applied or saved)."
    )
    portfolio_id: OwnPortfolioId = None


def owned_session_or_404(session_id: int) -> ModellingSession:
    """The caller's session, or 404 in the API error shape (another advisor's is never shown)."""
    try:
        return svc.owned_session(session_id, g.user.id)
    except NotOwned:
        raise ApiError(404, "Modelling session not found.", {"session_id": session_id}) from None


def _trade_or_404(session: ModellingSession, trade_id: int) -> int:
    if not any(t.id == trade_id for t in session.trades):
        raise ApiError(404, "Proposed trade not found.", {"trade_id": trade_id})
    return trade_id


def session_json(session: ModellingSession) -> dict:
    """``session_dict`` with the API's timestamps (UTC, Z suffix)."""
    return svc.session_dict(session) | {
        "created_at": isoformat_z(session.created_at),
        "updated_at": isoformat_z(session.updated_at),
    }


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _stock_symbol(fields: dict) -> str:
    raw = str(fields.get("symbol") or "")
    return stock_symbol(raw) or raw.strip().upper()


def _option_symbol(fields: dict) -> str:
    """The contract's OSI symbol from the entry's underlying, expiry and strike (or as typed)."""
    underlying, expiry = fields.get("underlying_symbol"), fields.get("expiration_date")
    strike = _number(fields.get("strike_price"))
    if underlying and expiry and strike is not None:
        day = dt.date.fromisoformat(str(expiry)[:10])
        return osi_symbol(str(underlying).upper(), day, str(fields["position_type"])[1], strike)
    raw = str(fields.get("symbol") or "")
    parsed = parse_option_symbol(raw)
    return parsed.osi if parsed is not None else raw.strip().upper()


def session_orders(session: ModellingSession) -> list[dict]:
    """The session's trades as broker orders (``TRADE_COLUMNS``), in booking order, at the prices
    the proposal was built with; cash entries are not orders and are left out."""
    orders = []
    for row in svc.trade_rows(session):
        fields = row.fields
        if row.kind in STOCK_ACTIONS:
            action, symbol, multiplier = STOCK_ACTIONS[row.kind], _stock_symbol(fields), 1.0
        elif row.kind in ("option_open", "option_close"):
            side = str(fields.get("position_type") or "L")[:1].upper()
            action, multiplier = OPTION_ACTIONS[row.kind, side], OPTION_MULTIPLIER
            symbol = _option_symbol(fields)
        else:
            continue
        quantity, price = _number(fields.get("quantity")), _number(fields.get("price"))
        value = (
            quantity * price * multiplier if quantity is not None and price is not None else None
        )
        orders.append(dict(zip(TRADE_COLUMNS, (action, symbol, quantity, "MARKET", price, value))))
    return orders


def _calculated(portfolio_id: int) -> bool:
    return any(r.status in ("succeeded", "partial") for r in recent_runs(portfolio_id, limit=5))


@bp.get(SESSIONS)
@require_auth
@documented(
    "modeling_list_sessions",
    "The caller's modelling sessions, newest first (paginated)",
    SessionList,
    ok_text="Sessions",
    query=SessionListParams,
    errors=(404,),
)
def modelling_list_sessions():
    """The caller's sessions, newest first: {sessions, total, limit, offset}."""
    params = query_params(SessionListParams)
    if params.portfolio_id is not None:
        owned_portfolio_or_404(params.portfolio_id)
    rows = svc.user_sessions(g.user.id, status=params.status)
    if params.portfolio_id is not None:
        rows = [s for s in rows if s.portfolio_id == params.portfolio_id]
    page = rows[params.offset : params.offset + params.limit]
    return jsonify(
        {
            "sessions": [session_json(s) for s in page],
            "total": len(rows),
            "limit": params.limit,
            "offset": params.offset,
        }
    )


@bp.post(SESSIONS)
@require_auth
@documented(
    "modeling_start_session",
    "Start a modelling session on one of the caller's accounts",
    Session,
    ok_text="The session (its proposed book equals the account)",
    status=201,
    body=StartSessionBody,
    errors=(404,),
)
def modelling_start_session():
    """A session on one of the caller's accounts: {portfolio_id, name?} → 201."""
    data = json_body()
    portfolio = body_portfolio(data)
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise ValidationError({"name": "Must be text."})
    return jsonify(session_json(svc.start_session(portfolio, name))), 201


@bp.get(ONE)
@require_auth
@documented(
    "modeling_get_session",
    "One session",
    Session,
    ok_text="The session",
)
def modelling_get_session(session_id: int):
    """The session: account, proposed book, status and trades."""
    return jsonify(session_json(owned_session_or_404(session_id)))


@bp.delete(ONE)
@require_auth
@documented(
    "modeling_delete_session",
    "Discard a session and its proposed book",
    ok_text="Deleted",
    status=204,
)
def modelling_delete_session(session_id: int):
    """Discard the session and its proposed book (the account is untouched) → 204."""
    svc.delete_session(owned_session_or_404(session_id))
    return "", 204


@bp.post(ONE + "/trades")
@require_auth
@documented(
    "modeling_add_trade",
    "Propose a trade (booked on the proposed book, or refused with field errors)",
    TradeChange,
    ok_text="The trade and the session",
    status=201,
    body=TradeBody,
    errors=(409,),
)
def modelling_add_trade(session_id: int):
    """Propose one ledger entry (``kind`` decides its fields) → 201 {trade, session}."""
    session = owned_session_or_404(session_id)
    trade = svc.add_trade(session, json_body())
    row = next(r for r in svc.trade_rows(session) if r.id == trade.id)
    return jsonify({"trade": row.to_dict(), "session": session_json(session)}), 201


@bp.put(ONE + "/trades/<int:trade_id>")
@require_auth
@documented(
    "modeling_update_trade",
    "Replace a proposed trade's fields",
    TradeChange,
    ok_text="The trade and the session",
    body=TradeBody,
    errors=(409,),
)
def modelling_update_trade(session_id: int, trade_id: int):
    """Replace a proposed entry's fields → {trade, session}."""
    session = owned_session_or_404(session_id)
    trade = svc.update_trade(session, _trade_or_404(session, trade_id), json_body())
    row = next(r for r in svc.trade_rows(session) if r.id == trade.id)
    return jsonify({"trade": row.to_dict(), "session": session_json(session)})


@bp.delete(ONE + "/trades/<int:trade_id>")
@require_auth
@documented(
    "modeling_remove_trade",
    "Withdraw a proposed trade (refused while a later one needs it)",
    ok_text="Deleted",
    status=204,
    errors=(409, 422),
)
def modelling_remove_trade(session_id: int, trade_id: int):
    """Withdraw a proposed entry → 204 (422 when a later entry needs it)."""
    session = owned_session_or_404(session_id)
    svc.remove_trade(session, _trade_or_404(session, trade_id))
    return "", 204


@bp.post(ONE + "/calculate")
@require_auth
@documented(
    "modeling_calculate",
    "Queue the proposed book's calculation (the normal batch)",
    BatchRun,
    ok_text="Queued (or the run already queued)",
    status=202,
    errors=(503,),
)
def modelling_calculate(session_id: int):
    """Queue the proposed book's batch (and the account's, if never calculated) → 202 with the
    proposed book's run; 503 when the queue is down."""
    session = owned_session_or_404(session_id)
    run = enqueue_portfolio_batch(session.proposal_id, trigger="api")
    if not _calculated(session.portfolio_id):
        enqueue_portfolio_batch(session.portfolio_id, trigger="api")
    return jsonify(run_dict(run)), 202


@bp.get(ONE + "/impacts")
@require_auth
@documented(
    "modeling_impacts",
    "Current vs proposed vs difference for every figure",
    ImpactsResponse,
    ok_text="Impacts: units $, fraction (0.05 = 5%), number or score",
)
def modelling_impacts(session_id: int):
    """Every figure of the account and of the proposed book with the difference."""
    return jsonify(impacts(owned_session_or_404(session_id)).to_dict())


@bp.post(ONE + "/save")
@require_auth
@documented(
    "modeling_save",
    "Save the proposed book as a new account",
    SaveResponse,
    ok_text="The new account's id",
    status=201,
    body=SaveBody,
    errors=(409,),
)
def modelling_save(session_id: int):
    """Save the proposed book as a new account: {name} → 201 {portfolio_id, session}."""
    session = owned_session_or_404(session_id)
    saved = svc.save_as_portfolio(session, json_body().get("name"))
    return jsonify({"portfolio_id": saved.id, "session": session_json(session)}), 201


@bp.post(ONE + "/apply")
@require_auth
@documented(
    "modeling_apply",
    "Book the session's trades on the real account (all or none)",
    ApplyResponse,
    ok_text="Ledger rows booked",
    errors=(409, 422),
)
def modelling_apply(session_id: int):
    """Book the session's entries on the real account, all or none → {rows, session}."""
    session = owned_session_or_404(session_id)
    rows = svc.apply_to_portfolio(session)
    return jsonify({"rows": rows, "session": session_json(session)})


@bp.post(ONE + "/suggest")
@require_auth
@documented(
    "modeling_suggest",
    "Size the trade that reaches a target (beta, net_exposure, weight, scenario_loss, var) "
    "on the proposed book, and book it unless add is false",
    SuggestResponse,
    ok_text="The suggestion (null when the target is met) and the trade booked",
    body=SuggestBody,
    errors=(409,),
)
def modelling_suggest(session_id: int):
    """Size the trade that reaches a target on the proposed book; ``add`` (default true) books
    it → {suggestion (None when the target is met), trade, session}."""
    session = owned_session_or_404(session_id)
    body = json_body()
    value = _number(body.get("value"))
    if value is None or value != value or abs(value) == float("inf"):
        raise ValidationError({"value": "Give the target as a number."})
    suggestion = suggest_trade(
        session,
        str(body.get("target") or ""),
        value,
        symbol=body.get("symbol") if isinstance(body.get("symbol"), str) else None,
        scenario_id=body.get("scenario_id") if isinstance(body.get("scenario_id"), str) else None,
        hedge=str(body.get("hedge") or "index"),
    )
    trade = None
    if suggestion is not None and body.get("add", True) is not False:
        trade = svc.add_trade(session, suggestion.trade_fields())
    return jsonify(
        {
            "suggestion": suggestion.to_dict() if suggestion else None,
            "trade": jsonable(svc.trade_rows(session)[-1].to_dict()) if trade else None,
            "session": session_json(session),
        }
    )


@bp.get(ONE + "/trades")
@require_auth
@documented(
    "modeling_trades",
    "The session's trades as broker orders (cash entries are not orders)",
    SessionTradesResponse,
    ok_text="Orders",
    query=TradeExportParams,
    files=("text/csv",),
)
def modelling_trades(session_id: int):
    """The session's trades as broker orders: format=json (default) or csv."""
    fmt = query_params(TradeExportParams).format
    session = owned_session_or_404(session_id)
    orders = session_orders(session)
    if fmt == "csv":
        return attachment(
            trades_csv(orders), "text/csv", export_filename(session.portfolio, "proposal", "csv")
        )
    return jsonify(
        {
            "session_id": session.id,
            "portfolio_id": session.portfolio_id,
            "as_of": jsonable(latest_price_date()),
            "columns": list(TRADE_COLUMNS),
            "trades": orders,
            "count": len(orders),
        }
    )

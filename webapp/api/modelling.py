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
from webapp.api.common import (
    ApiError,
    body_portfolio,
    choice_param,
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
from webapp.schemas.params import OwnPortfolioId, Page
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
def modelling_get_session(session_id: int):
    """The session: account, proposed book, status and trades."""
    return jsonify(session_json(owned_session_or_404(session_id)))


@bp.delete(ONE)
@require_auth
def modelling_delete_session(session_id: int):
    """Discard the session and its proposed book (the account is untouched) → 204."""
    svc.delete_session(owned_session_or_404(session_id))
    return "", 204


@bp.post(ONE + "/trades")
@require_auth
def modelling_add_trade(session_id: int):
    """Propose one ledger entry (``kind`` decides its fields) → 201 {trade, session}."""
    session = owned_session_or_404(session_id)
    trade = svc.add_trade(session, json_body())
    row = next(r for r in svc.trade_rows(session) if r.id == trade.id)
    return jsonify({"trade": row.to_dict(), "session": session_json(session)}), 201


@bp.put(ONE + "/trades/<int:trade_id>")
@require_auth
def modelling_update_trade(session_id: int, trade_id: int):
    """Replace a proposed entry's fields → {trade, session}."""
    session = owned_session_or_404(session_id)
    trade = svc.update_trade(session, _trade_or_404(session, trade_id), json_body())
    row = next(r for r in svc.trade_rows(session) if r.id == trade.id)
    return jsonify({"trade": row.to_dict(), "session": session_json(session)})


@bp.delete(ONE + "/trades/<int:trade_id>")
@require_auth
def modelling_remove_trade(session_id: int, trade_id: int):
    """Withdraw a proposed entry → 204 (422 when a later entry needs it)."""
    session = owned_session_or_404(session_id)
    svc.remove_trade(session, _trade_or_404(session, trade_id))
    return "", 204


@bp.post(ONE + "/calculate")
@require_auth
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
def modelling_impacts(session_id: int):
    """Every figure of the account and of the proposed book with the difference."""
    return jsonify(impacts(owned_session_or_404(session_id)).to_dict())


@bp.post(ONE + "/save")
@require_auth
def modelling_save(session_id: int):
    """Save the proposed book as a new account: {name} → 201 {portfolio_id, session}."""
    session = owned_session_or_404(session_id)
    saved = svc.save_as_portfolio(session, json_body().get("name"))
    return jsonify({"portfolio_id": saved.id, "session": session_json(session)}), 201


@bp.post(ONE + "/apply")
@require_auth
def modelling_apply(session_id: int):
    """Book the session's entries on the real account, all or none → {rows, session}."""
    session = owned_session_or_404(session_id)
    rows = svc.apply_to_portfolio(session)
    return jsonify({"rows": rows, "session": session_json(session)})


@bp.post(ONE + "/suggest")
@require_auth
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
def modelling_trades(session_id: int):
    """The session's trades as broker orders: format=json (default) or csv."""
    fmt = choice_param("format", "json", ("json", "csv"))
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


def openapi_operations() -> list:
    """These routes' OpenAPI operations, for ``openapi.document()`` to list with the others.

    Imported at call time: the document module imports every API module first.
    """
    from webapp.api.openapi import STRING, enum_query, fields, nullable, obj, op, ref, response
    from webapp.schemas.params import query_parameters

    trade = fields("id!:int position!:int kind!:str")  # and the entry's own fields
    session = fields(
        "id!:int name!:str status!:status portfolio_id!:int proposal_portfolio_id!:int?",
        "saved_portfolio_id!:int? created_at!:ts? updated_at!:ts? trades!:[trade]",
        "proposed_cash!:num?",
        status={"enum": list(SESSION_STATUSES)},
        trade=trade,
    )
    changed = fields("trade!:trade session!:session", trade=trade, session=session)
    entry = fields(
        "kind!:kind symbol:str quantity:amount price:amount amount:amount trade_date:str",
        "fees:amount position_type:str underlying_symbol:str strike_price:amount",
        "expiration_date:str notes:str",
        kind={"type": "string", "enum": list(svc.TRADE_KINDS)},
    )
    line = fields(
        "key!:str label!:str unit!:unit current!:num? proposed!:num? difference!:num?",
        unit={"enum": ["$", "fraction", "number", "score"]},
    )
    result = fields(
        "session_id!:int calculated!:bool up_to_date!:bool as_of!:date? groups!:{[line]}",
        line=line,
    )
    order = obj(
        tuple(TRADE_COLUMNS),
        **{
            "Action": {"enum": list(ACTIONS)},
            "Symbol": STRING,
            "Quantity": nullable({"type": "number"}),
            "Order Type": {"const": "MARKET"},
            "Est. Price": nullable({"type": "number"}),
            "Est. Value": nullable({"type": "number"}),
        },
    )
    orders = fields(
        "session_id!:int portfolio_id!:int as_of!:date? columns!:[str] trades!:[order] count!:int",
        order=order,
    )
    deleted = {"description": "Deleted"}
    one, trades = "/modeling/sessions/{session_id}", "/modeling/sessions/{session_id}/trades"
    calculate = op(
        f"post {one}/calculate",
        "modeling_calculate",
        "Queue the proposed book's calculation (the normal batch)",
        response("Queued (or the run already queued)", ref("BatchRun")),
        status=202,
    )
    calculate.spec["responses"]["503"] = response(
        "The job queue is unreachable; nothing was queued",
        ref("Error"),
        headers={"Retry-After": {"description": "Seconds to wait", "schema": STRING}},
    )
    return [
        op(
            "get /modeling/sessions",
            "modeling_list_sessions",
            "The caller's modelling sessions, newest first (paginated)",
            response(
                "Sessions",
                fields("sessions!:[session] total!:int limit!:int offset!:int", session=session),
            ),
            query=query_parameters(SessionListParams),
            errors=(404,),  # the query's portfolio_id
        ),
        op(
            "post /modeling/sessions",
            "modeling_start_session",
            "Start a modelling session on one of the caller's accounts",
            response("The session (its proposed book equals the account)", session),
            status=201,
            body=fields("portfolio_id!:id name:str?"),
            errors=(404,),  # the body's portfolio_id
        ),
        op(f"get {one}", "modeling_get_session", "One session", response("The session", session)),
        op(
            f"delete {one}",
            "modeling_delete_session",
            "Discard a session and its proposed book",
            deleted,
            status=204,
        ),
        op(
            f"post {trades}",
            "modeling_add_trade",
            "Propose a trade (booked on the proposed book, or refused with field errors)",
            response("The trade and the session", changed),
            status=201,
            body=entry,
            errors=(409,),  # a saved or applied session
        ),
        op(
            f"put {trades}/{{trade_id}}",
            "modeling_update_trade",
            "Replace a proposed trade's fields",
            response("The trade and the session", changed),
            body=entry,
            errors=(409,),
        ),
        op(
            f"delete {trades}/{{trade_id}}",
            "modeling_remove_trade",
            "Withdraw a proposed trade (refused while a later one needs it)",
            deleted,
            status=204,
            errors=(409, 422),
        ),
        calculate,
        op(
            f"get {one}/impacts",
            "modeling_impacts",
            "Current vs proposed vs difference for every figure",
            response("Impacts: units $, fraction (0.05 = 5%), number or score", result),
        ),
        op(
            f"post {one}/save",
            "modeling_save",
            "Save the proposed book as a new account",
            response("The new account's id", fields("portfolio_id!:int session!:s", s=session)),
            status=201,
            body=fields("name!:str"),
            errors=(409,),
        ),
        op(
            f"post {one}/suggest",
            "modeling_suggest",
            "Size the trade that reaches a target (beta, net_exposure, weight, scenario_loss, "
            "var) on the proposed book, and book it unless add is false",
            response(
                "The suggestion (null when the target is met) and the trade booked",
                fields("suggestion!:obj? trade!:obj? session!:s", s=session),
            ),
            body=fields(
                "target!:target value!:num symbol:str scenario_id:str hedge:hedge add:bool",
                target={"enum": ["beta", "net_exposure", "weight", "scenario_loss", "var"]},
                hedge={"enum": ["index", "put"]},
            ),
            errors=(409, 422),
        ),
        op(
            f"post {one}/apply",
            "modeling_apply",
            "Book the session's trades on the real account (all or none)",
            response("Ledger rows booked", fields("rows!:int session!:s", s=session)),
            errors=(409, 422),
        ),
        op(
            f"get {trades}",
            "modeling_trades",
            "The session's trades as broker orders (cash entries are not orders)",
            response(
                "Orders",
                headers={
                    "Content-Disposition": {
                        "required": False,
                        "schema": STRING,
                        "description": "csv: attachment with the file name",
                    }
                },
                content={
                    "application/json": {"schema": orders},
                    "text/csv": {"schema": STRING},
                },
            ),
            query=[enum_query("format", ("json", "csv"), "json", "Output format.")],
        ),
    ]

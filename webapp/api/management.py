"""/management: portfolios, CSV upload, positions and tags.

The same validation as the forms, in the API's error shape.

Field problems answer 422 ``{"error": {"code": "validation_error", "details": {"fields": {field:
message}}}}`` with the messages the forms show; a state clash (closing a closed position) is 409.
"""

from __future__ import annotations

from flask import g, jsonify, request

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
from webapp.models import Position, Tag
from webapp.schemas.api.common import ImportReport, Portfolio
from webapp.schemas.api.common import Position as PositionShape
from webapp.schemas.api.management import (
    AnyPositionBody,
    ClosePositionBody,
    CreateTagBody,
    CreateTagResponse,
    CreateTransactionBody,
    CreateTransactionResponse,
    ListAllPositionsResponse,
    ListPortfoliosResponse,
    ListPositionsResponse,
    ListStrategiesResponse,
    ListTagsResponse,
    ListTransactionsResponse,
    PatchPortfolioBody,
    PatchPositionBody,
    PortfolioBody,
    PositionBody,
    TagsBody,
    UploadBody,
)
from webapp.schemas.params import (
    LedgerParams,
    PortfolioListParams,
    PortfolioPositionsParams,
    PositionListParams,
    StrategyListParams,
)
from webapp.services import imports as import_svc
from webapp.services import ledger
from webapp.services import management as mgmt
from webapp.services.jsonable import jsonable
from webapp.services.portfolios import user_portfolios
from webapp.services.positions import portfolio_dict
from webapp.services.queueing import QueueUnavailable, enqueue_after_import

ONE_PORTFOLIO = "/management/portfolios/<int:portfolio_id>"
ONE_POSITION = ONE_PORTFOLIO + "/positions/<int:position_id>"


def position_dict(p: Position) -> dict:
    """A position with every stored field; its input fields are accepted back by PUT."""
    fields = mgmt.position_fields(p)
    return {
        "id": p.id,
        "portfolio_id": p.portfolio_id,
        "symbol": p.symbol,
        "position_type": p.position_type,
        "option_type": fields["option_type"] or None,
        "quantity": p.quantity,
        "entry_price": p.entry_price,
        "entry_date": jsonable(p.entry_date),
        "status": "open" if p.is_open else "closed",
        "exit_date": jsonable(p.exit_date),
        "exit_price": p.exit_price,
        "underlying_symbol": p.underlying_symbol,
        "strike_price": p.strike_price,
        "expiration_date": jsonable(p.expiration_date),
        "multiplier": p.multiplier,
        "implied_vol": p.implied_vol,
        "strategy": p.strategy,
        "notes": p.notes,
        "tags": fields["tags"],
    }


def tag_dict(t: Tag) -> dict:
    """A tag with the number of open positions carrying it."""
    return {
        "id": t.id,
        "name": t.name,
        "color": t.color,
        "position_count": sum(1 for p in t.positions if p.is_open),
    }


def _portfolio_body() -> dict:
    """The JSON body, with ``cash_balance`` (what GET returns) accepted as ``cash``."""
    data = json_body()
    # Null is refused rather than read as "not given": on PATCH a null cash would otherwise
    # become 0 and book the whole balance as a withdrawal. Leaving a field out keeps its value.
    nulls = {
        key: "Leave the field out instead of sending null." for key, v in data.items() if v is None
    }
    if nulls:
        raise mgmt.ValidationError(nulls)
    if "cash_balance" in data and "cash" not in data:
        data["cash"] = data.pop("cash_balance")
    return data


# ---------------------------------------------------------------- portfolios


@bp.get("/management/portfolios")
@require_auth
@documented(
    "management_list_portfolios",
    "The caller's portfolios (paginated)",
    ListPortfoliosResponse,
    ok_text="Portfolios",
    query=PortfolioListParams,
)
def list_portfolios():
    """The caller's portfolios by name, paginated: {portfolios, total, limit, offset}."""
    params = query_params(PortfolioListParams)
    portfolios = user_portfolios(g.user.id)
    page = portfolios[params.offset : params.offset + params.limit]
    return jsonify(
        {
            "portfolios": [portfolio_dict(p) for p in page],
            "total": len(portfolios),
            "limit": params.limit,
            "offset": params.offset,
        }
    )


@bp.post("/management/portfolios")
@require_auth
@documented(
    "management_create_portfolio",
    "Create a portfolio",
    Portfolio,
    ok_text="The portfolio",
    status=201,
    body=PortfolioBody,
)
def create_portfolio():
    """A new, empty portfolio: {name, description?, cash?} → 201."""
    portfolio = mgmt.create_portfolio(g.user.id, _portfolio_body())
    return jsonify(portfolio_dict(portfolio)), 201


@bp.put(ONE_PORTFOLIO)
@require_auth
@documented(
    "management_put_portfolio",
    "Update a portfolio (PUT)",
    Portfolio,
    ok_text="The portfolio",
    body=PortfolioBody,
)
def put_portfolio(portfolio_id: int):
    """Rename / re-describe / set cash; fields not sent keep their value (as PATCH)."""
    return _update_portfolio(portfolio_id)


@bp.patch(ONE_PORTFOLIO)
@require_auth
@documented(
    "management_patch_portfolio",
    "Update a portfolio (PATCH)",
    Portfolio,
    ok_text="The portfolio",
    body=PatchPortfolioBody,
)
def patch_portfolio(portfolio_id: int):
    """Rename / re-describe / set cash; fields not sent keep their value."""
    return _update_portfolio(portfolio_id)


def _update_portfolio(portfolio_id: int):
    portfolio = owned_portfolio_or_404(portfolio_id)
    mgmt.update_portfolio(portfolio, _portfolio_body(), source="api")
    return jsonify(portfolio_dict(portfolio))


@bp.delete(ONE_PORTFOLIO)
@require_auth
@documented(
    "management_delete_portfolio",
    "Delete a portfolio",
    ok_text="Deleted",
    status=204,
)
def delete_portfolio(portfolio_id: int):
    """Delete the portfolio with its positions and results → 204."""
    mgmt.delete_portfolio(owned_portfolio_or_404(portfolio_id))
    return "", 204


@bp.post("/management/portfolios/upload")
@require_auth
@documented(
    "management_upload",
    "Upload a holdings CSV (mode=validate|commit)",
    ImportReport,
    ok_text="Validation report (mode=validate)",
    form=UploadBody,
)
def upload_portfolio():
    """multipart: file, name, mode=validate|commit → the validation report of CSV_IMPORT.md §5."""
    mode = request.form.get("mode", "validate")
    if mode not in import_svc.UPLOAD_MODES:
        raise ApiError(
            400,
            "'mode' must be validate or commit",
            {"field": "mode", "value": mode, "allowed": list(import_svc.UPLOAD_MODES)},
            "invalid_parameter",
        )
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(
            422,
            "Attach the holdings file as multipart field 'file'.",
            {"fields": {"file": "Choose a CSV file to upload."}},
            "validation_error",
        )
    report = import_svc.validate_upload(upload.read(), upload.filename or "upload.csv")
    if report.file_error:
        return jsonify(report.to_dict()), 422
    if mode == "validate":
        return jsonify(report.to_dict()), 200
    fields = {key: request.form.get(key) for key in ("name", "description", "cash")}
    portfolio = import_svc.commit_import(g.user.id, fields, report)
    response = jsonify(report.to_dict())
    response.status_code = 201
    try:
        run = enqueue_after_import(portfolio.id)
    except QueueUnavailable:
        pass  # stored; the advisor (or POST /system/batch/portfolio/<id>) can queue it later
    else:
        # The body is exactly the §5 report; the queued work is named in headers.
        response.headers["X-Batch-Run-Id"] = str(run.id)
        response.headers["X-Job-Id"] = run.job_id or ""
    return response


# ---------------------------------------------------------------- positions


@bp.get("/management/portfolios/<int:portfolio_id>/positions")
@require_auth
@documented(
    "management_list_positions",
    "Positions of a portfolio",
    ListPositionsResponse,
    ok_text="Positions",
    query=PortfolioPositionsParams,
)
def list_positions(portfolio_id: int):
    """?status=open|closed|all (default open), ?tag=name, ?strategy=name."""
    params = query_params(PortfolioPositionsParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    positions = mgmt.list_positions(
        portfolio, status=params.status, tag=params.tag or None, strategy=params.strategy or None
    )
    return jsonify({"positions": [position_dict(p) for p in positions], "count": len(positions)})


@bp.post("/management/portfolios/<int:portfolio_id>/positions")
@require_auth
@documented(
    "management_create_position",
    "Add a position",
    PositionShape,
    ok_text="The position",
    status=201,
    body=PositionBody,
)
def create_position(portfolio_id: int):
    """Add a position → 201 (position_type, or option_type call/put plus the quantity's sign;
    funding transfer|cash, fees)."""
    portfolio = owned_portfolio_or_404(portfolio_id)
    position = mgmt.add_position(portfolio, json_body(), source="api")
    return jsonify(position_dict(position)), 201


def _position(portfolio_id: int, position_id: int) -> Position:
    """The caller's position in the caller's portfolio, or 404."""
    portfolio = owned_portfolio_or_404(portfolio_id)
    position = mgmt.owned_position(portfolio, position_id)
    if position is None:
        raise ApiError(404, "Position not found.", {"position_id": position_id})
    return position


@bp.get(ONE_POSITION)
@require_auth
@documented(
    "management_get_position",
    "One position",
    PositionShape,
    ok_text="The position",
)
def get_position(portfolio_id: int, position_id: int):
    """One position, open or closed."""
    return jsonify(position_dict(_position(portfolio_id, position_id)))


@bp.put(ONE_POSITION)
@require_auth
@documented(
    "management_put_position",
    "Update a position (PUT: every field)",
    PositionShape,
    ok_text="The position",
    body=PositionBody,
)
def put_position(portfolio_id: int, position_id: int):
    """Replace every field of the position."""
    return _update_position(_position(portfolio_id, position_id), partial=False)


@bp.patch(ONE_POSITION)
@require_auth
@documented(
    "management_patch_position",
    "Update a position (PATCH: the fields sent)",
    PositionShape,
    ok_text="The position",
    body=PatchPositionBody,
)
def patch_position(portfolio_id: int, position_id: int):
    """Change only the fields sent."""
    return _update_position(_position(portfolio_id, position_id), partial=True)


def _update_position(position, *, partial: bool):
    mgmt.update_position(position, json_body(), partial=partial)
    return jsonify(position_dict(position))


@bp.post("/management/portfolios/<int:portfolio_id>/positions/<int:position_id>/close")
@require_auth
@documented(
    "management_close_position",
    "Close a position",
    PositionShape,
    ok_text="The position",
    body=ClosePositionBody,
    errors=(409,),
)
def close_position(portfolio_id: int, position_id: int):
    """{exit_date, exit_price, quantity?, fees?} → the closed lot (the whole position, or the
    part split off by a partial close); 409 when the position is already closed."""
    position = _position(portfolio_id, position_id)
    closed = mgmt.close_position(position, json_body(), source="api")
    return jsonify(position_dict(closed))


@bp.delete(ONE_POSITION)
@require_auth
@documented(
    "management_delete_position",
    "Delete a position",
    ok_text="Deleted",
    status=204,
)
def delete_position(portfolio_id: int, position_id: int):
    """Delete the position → 204."""
    mgmt.delete_position(_position(portfolio_id, position_id))
    return "", 204


@bp.put("/management/portfolios/<int:portfolio_id>/positions/<int:position_id>/tags")
@require_auth
@documented(
    "management_set_position_tags",
    "Replace the position's tags (unknown names become new tags)",
    PositionShape,
    ok_text="The position",
    body=TagsBody,
)
def set_position_tags(portfolio_id: int, position_id: int):
    """{"tags": [names]} replaces the position's tags; unknown names become new tags."""
    position = _position(portfolio_id, position_id)
    mgmt.set_position_tags(position, _tags_body())
    return jsonify(position_dict(position))


def _tags_body() -> list:
    body = json_body()
    if "tags" not in body:
        raise ApiError(
            422,
            'Send {"tags": [names]}.',
            {"fields": {"tags": "This field is required."}},
            "validation_error",
        )
    return body["tags"]


# ------------------------------------------------- positions across the caller's portfolios

#: group_by -> the position's key(s) in that grouping.
_GROUP_KEYS = {
    "type": lambda p: [p["position_type"]],
    "strategy": lambda p: [p["strategy"] or "(no strategy)"],
    "tag": lambda p: p["tags"] or ["(no tag)"],
}


def _portfolio_ids(portfolio_id: int | None) -> list[int]:
    if portfolio_id is not None:
        return [owned_portfolio_or_404(portfolio_id).id]
    return [p.id for p in user_portfolios(g.user.id)]


def _user_position(position_id: int) -> Position:
    position = mgmt.user_position(g.user.id, position_id)
    if position is None:
        raise ApiError(404, "Position not found.", {"position_id": position_id})
    return position


@bp.get("/management/positions")
@require_auth
@documented(
    "management_list_all_positions",
    "The caller's positions across portfolios: filtered, grouped, paginated",
    ListAllPositionsResponse,
    ok_text="Positions",
    query=PositionListParams,
    errors=(404,),
)
def list_all_positions():
    """The caller's positions across portfolios: filters, ``group_by``, ``limit``/``offset``."""
    params = query_params(PositionListParams)
    positions = mgmt.find_positions(
        _portfolio_ids(params.portfolio_id),
        status=params.status,
        tag=params.tag,
        strategy=params.strategy,
        position_type=params.position_type,
        symbol=params.symbol.strip().upper() if params.symbol else None,
    )
    rows = [position_dict(p) for p in positions[params.offset : params.offset + params.limit]]
    body = {"positions": rows, "total": len(positions), "limit": params.limit}
    body["offset"] = params.offset
    if params.group_by:
        groups: dict[str, list[int]] = {}
        for row in rows:
            for key in _GROUP_KEYS[params.group_by](row):
                groups.setdefault(key, []).append(row["id"])
        body["group_by"] = params.group_by
        body["groups"] = [
            {"key": k, "position_ids": ids, "count": len(ids)} for k, ids in sorted(groups.items())
        ]
    return jsonify(body)


@bp.post("/management/positions")
@require_auth
@documented(
    "management_create_any_position",
    "Add a position to one of the caller's portfolios (portfolio_id in the body)",
    PositionShape,
    ok_text="The position",
    status=201,
    body=AnyPositionBody,
    errors=(404,),
)
def create_any_position():
    """Add a position to one of the caller's portfolios: the body names ``portfolio_id`` → 201."""
    body = json_body()
    portfolio = body_portfolio(body)
    del body["portfolio_id"]
    position = mgmt.add_position(portfolio, body, source="api")
    return jsonify(position_dict(position)), 201


ANY_POSITION = "/management/positions/<int:position_id>"


@bp.get(ANY_POSITION)
@require_auth
@documented(
    "management_get_any_position",
    "One of the caller's positions",
    PositionShape,
    ok_text="The position",
)
def get_any_position(position_id: int):
    """One of the caller's positions, in any portfolio."""
    return jsonify(position_dict(_user_position(position_id)))


@bp.put(ANY_POSITION)
@require_auth
@documented(
    "management_put_any_position",
    "Update one of the caller's positions (PUT: every field)",
    PositionShape,
    ok_text="The position",
    body=PositionBody,
)
def put_any_position(position_id: int):
    """Replace every field of the position."""
    return _update_position(_user_position(position_id), partial=False)


@bp.patch(ANY_POSITION)
@require_auth
@documented(
    "management_patch_any_position",
    "Update one of the caller's positions (PATCH: the fields sent)",
    PositionShape,
    ok_text="The position",
    body=PatchPositionBody,
)
def patch_any_position(position_id: int):
    """Change only the fields sent."""
    return _update_position(_user_position(position_id), partial=True)


@bp.delete(ANY_POSITION)
@require_auth
@documented(
    "management_delete_any_position",
    "Delete one of the caller's positions",
    ok_text="Deleted",
    status=204,
)
def delete_any_position(position_id: int):
    """Delete the position → 204."""
    mgmt.delete_position(_user_position(position_id))
    return "", 204


@bp.put("/management/positions/<int:position_id>/tags")
@require_auth
@documented(
    "management_set_any_position_tags",
    "Replace the position's tags (unknown names become new tags)",
    PositionShape,
    ok_text="The position",
    body=TagsBody,
)
def set_any_position_tags(position_id: int):
    """{"tags": [names]} replaces the position's tags; unknown names become new tags."""
    position = _user_position(position_id)
    mgmt.set_position_tags(position, _tags_body())
    return jsonify(position_dict(position))


@bp.get("/management/strategies")
@require_auth
@documented(
    "management_list_strategies",
    "Open positions grouped by strategy",
    ListStrategiesResponse,
    ok_text="Strategies",
    query=StrategyListParams,
    errors=(404,),
)
def list_strategies():
    """Open positions grouped by strategy: count, symbols, market-value basis, portfolios."""
    params = query_params(StrategyListParams)
    positions = mgmt.find_positions(_portfolio_ids(params.portfolio_id), status="open")
    groups: dict[str, list[Position]] = {}
    for p in positions:
        groups.setdefault(p.strategy or "(no strategy)", []).append(p)
    strategies = [
        {
            "strategy": name,
            "position_count": len(members),
            "symbols": sorted({p.symbol for p in members}),
            "position_ids": [p.id for p in members],
            "portfolio_ids": sorted({p.portfolio_id for p in members}),
            "cost_basis": sum(p.quantity * p.entry_price * (p.multiplier or 1) for p in members),
        }
        for name, members in sorted(groups.items())
    ]
    return jsonify({"strategies": strategies, "count": len(strategies)})


# ---------------------------------------------------------------- transactions


@bp.get("/management/portfolios/<int:portfolio_id>/transactions")
@require_auth
@documented(
    "management_list_transactions",
    "The portfolio's ledger, newest first, with running cash",
    ListTransactionsResponse,
    ok_text="Transactions",
    query=LedgerParams,
)
def list_transactions(portfolio_id: int):
    """The ledger newest first: ?limit=&offset= (paginated), ?kind= (one kind)."""
    params = query_params(LedgerParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    page = ledger.list_transactions(
        portfolio, kind=params.kind, limit=params.limit, offset=params.offset
    )
    return jsonify(page.to_dict() | {"cash_balance": portfolio.cash})


@bp.post("/management/portfolios/<int:portfolio_id>/transactions")
@require_auth
@documented(
    "management_create_transaction",
    "Book a cash entry, a trade (closing kinds close lots FIFO) or an option event",
    CreateTransactionResponse,
    ok_text="The rows booked and the new cash",
    status=201,
    body=CreateTransactionBody,
)
def create_transaction(portfolio_id: int):
    """A cash entry, a trade or an option event (``kind`` decides the fields) → 201 with the rows
    it booked (a FIFO close books one row per lot) and the new cash balance."""
    portfolio = owned_portfolio_or_404(portfolio_id)
    rows = mgmt.record_entry(portfolio, json_body(), source="api")
    body = {
        "transactions": [ledger.transaction_dict(t) for t in rows],
        "cash_balance": portfolio.cash,
    }
    return jsonify(body), 201


# ---------------------------------------------------------------- tags


@bp.get("/management/tags")
@require_auth
@documented(
    "management_list_tags",
    "The caller's tags",
    ListTagsResponse,
    ok_text="Tags",
)
def list_tags():
    """The caller's tags with their open-position counts."""
    tags = mgmt.user_tags(g.user.id)
    return jsonify({"tags": [tag_dict(t) for t in tags], "count": len(tags)})


@bp.post("/management/tags")
@require_auth
@documented(
    "management_create_tag",
    "Create a tag",
    CreateTagResponse,
    ok_text="The tag",
    status=201,
    body=CreateTagBody,
    errors=(409,),
)
def create_tag():
    """A new tag: {name, color?} → 201."""
    tag = mgmt.create_tag(g.user.id, json_body())
    return jsonify(tag_dict(tag)), 201


@bp.delete("/management/tags/<int:tag_id>")
@require_auth
@documented(
    "management_delete_tag",
    "Delete a tag",
    ok_text="Deleted",
    status=204,
)
def delete_tag(tag_id: int):
    """Delete the tag; its positions stay, untagged → 204."""
    tag = mgmt.owned_tag(g.user.id, tag_id)
    if tag is None:
        raise ApiError(404, "Tag not found.", {"tag_id": tag_id})
    mgmt.delete_tag(tag)
    return "", 204

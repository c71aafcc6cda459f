"""/management: portfolios, positions and tags — the forms' validation, the API's error shape."""
from __future__ import annotations

from flask import g, jsonify, request

from webapp.api import bp
from webapp.api.common import ApiError, owned_portfolio_or_404, require_auth
from webapp.extensions import db
from webapp.models import Tag
from webapp.models._time import isoformat_z
from webapp.queueing import enqueue_after_import
from webapp.services import imports as import_svc
from webapp.services import management as mgmt


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "Send a JSON object body.")
    return data


def _invalid(exc: mgmt.ValidationError) -> ApiError:
    return ApiError(422, "Validation failed: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items()),
                    {"fields": exc.errors}, "validation_error")


def portfolio_dict(p) -> dict:
    return {"id": p.id, "name": p.name, "description": p.description, "cash_balance": p.cash,
            "created_at": isoformat_z(p.created_at), "updated_at": isoformat_z(p.updated_at)}


def position_dict(p) -> dict:
    return {
        "id": p.id, "portfolio_id": p.portfolio_id, "symbol": p.symbol, "position_type": p.position_type,
        "quantity": p.quantity, "entry_price": p.entry_price,
        "entry_date": p.entry_date.isoformat() if p.entry_date else None,
        "exit_date": p.exit_date.isoformat() if p.exit_date else None, "exit_price": p.exit_price,
        "underlying_symbol": p.underlying_symbol, "strike_price": p.strike_price,
        "expiration_date": p.expiration_date.isoformat() if p.expiration_date else None,
        "multiplier": p.multiplier, "implied_vol": p.implied_vol, "strategy": p.strategy,
        "notes": p.notes, "tags": [t.name for t in p.tags],
    }


@bp.post("/management/portfolios")
@require_auth
def create_portfolio():
    try:
        portfolio = mgmt.create_portfolio(g.user.id, _json_body())
    except mgmt.ValidationError as exc:
        raise _invalid(exc) from None
    return jsonify(portfolio_dict(portfolio)), 201


@bp.route("/management/portfolios/<int:portfolio_id>", methods=["PATCH", "PUT"])
@require_auth
def update_portfolio(portfolio_id: int):
    portfolio = owned_portfolio_or_404(portfolio_id)
    try:
        mgmt.update_portfolio(portfolio, _json_body())
    except mgmt.ValidationError as exc:
        raise _invalid(exc) from None
    return jsonify(portfolio_dict(portfolio))


@bp.delete("/management/portfolios/<int:portfolio_id>")
@require_auth
def delete_portfolio(portfolio_id: int):
    mgmt.delete_portfolio(owned_portfolio_or_404(portfolio_id))
    return "", 204


@bp.post("/management/portfolios/upload")
@require_auth
def upload_portfolio():
    """multipart: file, name, mode=validate|commit → the validation report of CSV_IMPORT.md §5."""
    mode = request.form.get("mode", "validate")
    if mode not in ("validate", "commit"):
        raise ApiError(400, "'mode' must be validate or commit",
                       {"field": "mode", "value": mode, "allowed": ["validate", "commit"]}, "invalid_parameter")
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(400, "Attach the holdings file as multipart field 'file'.", {"field": "file"}, "invalid_parameter")
    report = import_svc.validate_upload(upload.read(), upload.filename or "upload.csv")
    body = report.to_dict()
    if report.file_error:
        return jsonify(body), 422
    if mode == "validate":
        return jsonify(body), 200
    fields = {"name": request.form.get("name"), "description": request.form.get("description"),
              "cash": request.form.get("cash")}
    try:
        portfolio = import_svc.commit_import(g.user.id, fields, report)
    except mgmt.ValidationError as exc:
        raise _invalid(exc) from None
    run = enqueue_after_import(portfolio.id)
    body["portfolio_id"] = portfolio.id
    body["batch_run_id"] = run.id
    body["job_id"] = run.job_id
    return jsonify(body), 201


@bp.get("/management/portfolios/<int:portfolio_id>/positions")
@require_auth
def list_positions(portfolio_id: int):
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify({"positions": [position_dict(p) for p in portfolio.positions]})


@bp.post("/management/portfolios/<int:portfolio_id>/positions")
@require_auth
def create_position(portfolio_id: int):
    portfolio = owned_portfolio_or_404(portfolio_id)
    try:
        position = mgmt.add_position(portfolio, _json_body())
    except mgmt.ValidationError as exc:
        raise _invalid(exc) from None
    return jsonify(position_dict(position)), 201


def _position(portfolio_id: int, position_id: int):
    portfolio = owned_portfolio_or_404(portfolio_id)
    position = mgmt.owned_position(portfolio, position_id)
    if position is None:
        raise ApiError(404, "Position not found.", {"position_id": position_id})
    return position


@bp.route("/management/portfolios/<int:portfolio_id>/positions/<int:position_id>", methods=["PUT", "PATCH"])
@require_auth
def update_position(portfolio_id: int, position_id: int):
    position = _position(portfolio_id, position_id)
    data = position_dict(position) | _json_body() if request.method == "PATCH" else _json_body()
    data["quantity"] = abs(data["quantity"]) if isinstance(data.get("quantity"), (int, float)) else data.get("quantity")
    try:
        mgmt.update_position(position, data)
    except mgmt.ValidationError as exc:
        raise _invalid(exc) from None
    return jsonify(position_dict(position))


@bp.post("/management/portfolios/<int:portfolio_id>/positions/<int:position_id>/close")
@require_auth
def close_position(portfolio_id: int, position_id: int):
    position = _position(portfolio_id, position_id)
    try:
        mgmt.close_position(position, _json_body())
    except mgmt.ValidationError as exc:
        raise ApiError(409 if "already closed" in str(exc) else 422, str(exc),
                       {"fields": exc.errors}, "conflict" if "already closed" in str(exc) else "validation_error") from None
    return jsonify(position_dict(position))


@bp.delete("/management/portfolios/<int:portfolio_id>/positions/<int:position_id>")
@require_auth
def delete_position(portfolio_id: int, position_id: int):
    mgmt.delete_position(_position(portfolio_id, position_id))
    return "", 204


@bp.get("/management/tags")
@require_auth
def list_tags():
    return jsonify({"tags": [{"id": t.id, "name": t.name, "color": t.color,
                              "position_count": len(t.positions)} for t in mgmt.user_tags(g.user.id)]})


@bp.post("/management/tags")
@require_auth
def create_tag():
    try:
        tag = mgmt.create_tag(g.user.id, _json_body())
    except mgmt.ValidationError as exc:
        if "already exists" in exc.errors.get("name", ""):
            raise ApiError(409, exc.errors["name"], {"fields": exc.errors}, "conflict") from None
        raise _invalid(exc) from None
    return jsonify({"id": tag.id, "name": tag.name, "color": tag.color}), 201


@bp.delete("/management/tags/<int:tag_id>")
@require_auth
def delete_tag(tag_id: int):
    tag = db.session.get(Tag, tag_id)
    if tag is None or tag.user_id != g.user.id:
        raise ApiError(404, "Tag not found.", {"tag_id": tag_id})
    mgmt.delete_tag(tag)
    return "", 204

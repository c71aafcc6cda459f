"""/management/clients and /management/households: the client and household pages' JSON twins.

The same validation as the forms (``services.clients``), in the API's error shape: field problems
answer 422 ``{"error": {"code": "validation_error", "details": {"fields": {field: message}}}}``;
another advisor's client or household is 404, never its data.
"""

from __future__ import annotations

from flask import g, jsonify, request

from webapp.api import bp
from webapp.api.common import ApiError, json_body, query_params, require_auth
from webapp.schemas.params import ClientListParams, HouseholdListParams, Page
from webapp.services import clients as svc
from webapp.services import management as mgmt
from webapp.services.portfolios import NotOwned


def _client(client_id: int):
    """The caller's client, or 404 in the API error shape."""
    try:
        return svc.owned_client(client_id, g.user.id)
    except NotOwned:
        raise ApiError(404, "Client not found.", {"client_id": client_id}) from None


def _household(portfolio_id: int):
    """The caller's household book, or 404 in the API error shape."""
    try:
        return svc.owned_household(portfolio_id, g.user.id)
    except NotOwned:
        raise ApiError(404, "Household not found.", {"portfolio_id": portfolio_id}) from None


def _page(items: list, key: str, params: Page, to_dict) -> dict:
    """One page of ``items`` with the total: {key: [...], total, limit, offset}."""
    page = items[params.offset : params.offset + params.limit]
    return {
        key: [to_dict(item) for item in page],
        "total": len(items),
        "limit": params.limit,
        "offset": params.offset,
    }


# ---------------------------------------------------------------- clients


@bp.get("/management/clients")
@require_auth
def list_clients():
    """The caller's clients by name, paginated: {clients, total, limit, offset}."""
    params = query_params(ClientListParams)
    return jsonify(_page(svc.user_clients(g.user.id), "clients", params, svc.client_dict))


@bp.post("/management/clients")
@require_auth
def create_client():
    """A new client: {name, email?, notes?, portfolio_ids?} → 201."""
    client = svc.create_client(g.user.id, json_body())
    return jsonify(svc.client_dict(client)), 201


@bp.route("/management/clients/<int:client_id>", methods=["GET", "PUT", "DELETE"])
@require_auth
def one_client(client_id: int):
    """GET the client; PUT {name?, email?, notes?, portfolio_ids?} (fields sent change; the
    portfolio list, when sent, replaces the client's); DELETE → 204 (accounts stay, unlinked)."""
    client = _client(client_id)
    if request.method == "DELETE":
        svc.delete_client(client)
        return "", 204
    if request.method == "PUT":
        svc.update_client(client, json_body())
    return jsonify(svc.client_dict(client))


@bp.get("/management/clients/<int:client_id>/questionnaire")
@require_auth
def get_questionnaire(client_id: int):
    """The questions of the current version, the scoring method and the client's history."""
    return jsonify(svc.questionnaire_dict(_client(client_id)))


@bp.post("/management/clients/<int:client_id>/questionnaire")
@require_auth
def post_questionnaire(client_id: int):
    """{"answers": {question key: choice value}} → 201 with the stored, scored profile."""
    client = _client(client_id)
    body = json_body()
    if "answers" not in body:
        raise mgmt.ValidationError({"answers": 'Send {"answers": {question key: choice}}.'})
    profile = svc.record_questionnaire(client, body["answers"])
    return jsonify(svc.profile_dict(profile)), 201


# ---------------------------------------------------------------- households


@bp.get("/management/households")
@require_auth
def list_households():
    """The caller's households by name with their accounts and client, paginated."""
    params = query_params(HouseholdListParams)
    views = svc.user_households(g.user.id)
    return jsonify(_page(views, "households", params, lambda v: v.to_dict()))


@bp.post("/management/households")
@require_auth
def create_household():
    """A household: {name, account_ids: [ids], client_id?} → 201 (its combined book is filled)."""
    book = svc.create_household(g.user.id, json_body())
    return jsonify(svc.household_view(book).to_dict()), 201


@bp.route("/management/households/<int:portfolio_id>", methods=["GET", "PUT", "DELETE"])
@require_auth
def one_household(portfolio_id: int):
    """GET the household; PUT {name?, account_ids?, client_id?} (fields sent change, null
    client_id unlinks); DELETE → 204 (the combined book goes; the accounts stay)."""
    book = _household(portfolio_id)
    if request.method == "DELETE":
        mgmt.delete_portfolio(book)
        return "", 204
    if request.method == "PUT":
        svc.update_household(book, json_body())
    return jsonify(svc.household_view(book).to_dict())

"""/management/clients and /management/households: the client and household pages' JSON twins.

The same validation as the forms (``services.clients``), in the API's error shape: field problems
answer 422 ``{"error": {"code": "validation_error", "details": {"fields": {field: message}}}}``;
another advisor's client or household is 404, never its data.
"""

from __future__ import annotations

from flask import g, jsonify

from webapp.api import bp
from webapp.api.apidoc import documented
from webapp.api.common import ApiError, json_body, query_params, require_auth
from webapp.schemas.api.clients import (
    Client,
    ClientList,
    CreateClientBody,
    CreateHouseholdBody,
    GetQuestionnaireResponse,
    Household,
    HouseholdList,
    RecordQuestionnaireBody,
    RiskProfile,
    UpdateClientBody,
    UpdateHouseholdBody,
)
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
@documented(
    "management_list_clients",
    "The caller's clients (paginated)",
    ClientList,
    ok_text="Clients",
    query=ClientListParams,
)
def list_clients():
    """The caller's clients by name, paginated: {clients, total, limit, offset}."""
    params = query_params(ClientListParams)
    return jsonify(_page(svc.user_clients(g.user.id), "clients", params, svc.client_dict))


@bp.post("/management/clients")
@require_auth
@documented(
    "management_create_client",
    "Create a client (portfolio_ids: their accounts and households)",
    Client,
    ok_text="The client",
    status=201,
    body=CreateClientBody,
)
def create_client():
    """A new client: {name, email?, notes?, portfolio_ids?} → 201."""
    client = svc.create_client(g.user.id, json_body())
    return jsonify(svc.client_dict(client)), 201


ONE_CLIENT = "/management/clients/<int:client_id>"


@bp.get(ONE_CLIENT)
@require_auth
@documented("management_get_client", "One client", Client, ok_text="The client")
def get_client(client_id: int):
    """The client with their accounts and latest risk profile."""
    return jsonify(svc.client_dict(_client(client_id)))


@bp.put(ONE_CLIENT)
@require_auth
@documented(
    "management_update_client",
    "Change a client: fields sent change; portfolio_ids replaces their portfolios",
    Client,
    ok_text="The client",
    body=UpdateClientBody,
)
def update_client(client_id: int):
    """{name?, email?, notes?, portfolio_ids?}: fields sent change; the portfolio list, when
    sent, replaces the client's."""
    client = _client(client_id)
    svc.update_client(client, json_body())
    return jsonify(svc.client_dict(client))


@bp.delete(ONE_CLIENT)
@require_auth
@documented(
    "management_delete_client",
    "Delete a client and their questionnaires (their accounts stay, unlinked)",
    ok_text="Deleted",
    status=204,
)
def delete_client(client_id: int):
    """Delete the client → 204 (their accounts stay, unlinked)."""
    svc.delete_client(_client(client_id))
    return "", 204


@bp.get("/management/clients/<int:client_id>/questionnaire")
@require_auth
@documented(
    "management_get_questionnaire",
    "The risk questionnaire's questions and the client's history, newest first",
    GetQuestionnaireResponse,
    ok_text="Questions and history",
)
def get_questionnaire(client_id: int):
    """The questions of the current version, the scoring method and the client's history."""
    return jsonify(svc.questionnaire_dict(_client(client_id)))


@bp.post("/management/clients/<int:client_id>/questionnaire")
@require_auth
@documented(
    "management_record_questionnaire",
    "Score and store a completed questionnaire (a new profile; old ones never change)",
    RiskProfile,
    ok_text="The stored profile",
    status=201,
    body=RecordQuestionnaireBody,
)
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
@documented(
    "management_list_households",
    "The caller's households with their accounts (paginated)",
    HouseholdList,
    ok_text="Households",
    query=HouseholdListParams,
)
def list_households():
    """The caller's households by name with their accounts and client, paginated."""
    params = query_params(HouseholdListParams)
    views = svc.user_households(g.user.id)
    return jsonify(_page(views, "households", params, lambda v: v.to_dict()))


@bp.post("/management/households")
@require_auth
@documented(
    "management_create_household",
    "Create a household of the caller's accounts (its combined book is a portfolio)",
    Household,
    ok_text="The household",
    status=201,
    body=CreateHouseholdBody,
)
def create_household():
    """A household: {name, account_ids: [ids], client_id?} → 201 (its combined book is filled)."""
    book = svc.create_household(g.user.id, json_body())
    return jsonify(svc.household_view(book).to_dict()), 201


ONE_HOUSEHOLD = "/management/households/<int:portfolio_id>"


@bp.get(ONE_HOUSEHOLD)
@require_auth
@documented("management_get_household", "One household", Household, ok_text="The household")
def get_household(portfolio_id: int):
    """The household: its accounts, client and combined book."""
    return jsonify(svc.household_view(_household(portfolio_id)).to_dict())


@bp.put(ONE_HOUSEHOLD)
@require_auth
@documented(
    "management_update_household",
    "Rename, change accounts or client (null unlinks); fields sent change",
    Household,
    ok_text="The household",
    body=UpdateHouseholdBody,
)
def update_household(portfolio_id: int):
    """{name?, account_ids?, client_id?}: fields sent change, a null client_id unlinks."""
    book = _household(portfolio_id)
    svc.update_household(book, json_body())
    return jsonify(svc.household_view(book).to_dict())


@bp.delete(ONE_HOUSEHOLD)
@require_auth
@documented(
    "management_delete_household",
    "Delete the household's combined book (the accounts stay)",
    ok_text="Deleted",
    status=204,
)
def delete_household(portfolio_id: int):
    """Delete the combined book → 204 (the accounts stay)."""
    mgmt.delete_portfolio(_household(portfolio_id))
    return "", 204

"""/management/alerts: the advisor's alerts (list, detail, acknowledge) and alert rules.

The same service as the pages (``services.alerts``), so the JSON is the service's dicts. Rule
problems answer 422 ``{"error": {"code": "validation_error", "details": {"fields": {...}}}}``
with the form's messages; acknowledging twice is 409; another advisor's alert, rule or
portfolio is 404. An alert's ``value`` and ``threshold`` are in its rule's ``unit``: percentage
points of equity for the percent rules (2.1 = 2.1%), unlike the analytics' decimal fractions.
"""

from __future__ import annotations

from typing import Literal

from flask import g, jsonify, request
from pydantic import Field

from webapp.analytics.alert_rules import RULE_KINDS
from webapp.api import bp
from webapp.api.common import (
    ApiError,
    body_portfolio,
    owned_portfolio_or_404,
    query_params,
    require_auth,
)
from webapp.schemas.params import OwnPortfolioId, Page, QueryParams
from webapp.services import alerts as svc

#: The service's filters: open, new, seen, acknowledged, cleared, all.
STATUSES = tuple(svc.STATUS_FILTERS)


class AlertListParams(Page):
    """GET /management/alerts: a status filter (default open = new or seen), a book, a page."""

    status: Literal[STATUSES] = Field(  # type: ignore[valid-type]
        "open", description="open (new or seen), new, seen, acknowledged, cleared or all."
    )
    portfolio_id: OwnPortfolioId = None


class RuleListParams(QueryParams):
    """GET /management/alerts/rules: one book's rules, or all the caller's."""

    portfolio_id: OwnPortfolioId = None


def _json_body() -> dict:
    """The request's JSON object, or 400."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "Send a JSON object body.")
    return data


@bp.get("/management/alerts")
@require_auth
def list_alerts():
    """The caller's alerts, newest first: {alerts, total, limit, offset, status}."""
    params = query_params(AlertListParams)
    if params.portfolio_id is not None:
        owned_portfolio_or_404(params.portfolio_id)
    rows, total = svc.user_alerts(
        g.user.id,
        status=params.status,
        portfolio_id=params.portfolio_id,
        limit=params.limit,
        offset=params.offset,
    )
    return jsonify(
        {
            "alerts": [svc.alert_dict(a) for a in rows],
            "total": total,
            "limit": params.limit,
            "offset": params.offset,
            "status": params.status,
        }
    )


@bp.get("/management/alerts/<int:alert_id>")
@require_auth
def get_alert(alert_id: int):
    """One alert with its audit trail (``events``, oldest first)."""
    return jsonify(svc.alert_dict(svc.owned_alert(alert_id, g.user.id), events=True))


@bp.post("/management/alerts/<int:alert_id>/acknowledge")
@require_auth
def acknowledge_alert(alert_id: int):
    """Acknowledge with {note} (required, at most 2,000 characters); 409 if done already."""
    alert = svc.owned_alert(alert_id, g.user.id)
    svc.acknowledge(alert, g.user.id, _json_body().get("note"))
    return jsonify(svc.alert_dict(alert, events=True))


@bp.get("/management/alerts/rules")
@require_auth
def list_rules():
    """The caller's alert rules (one book's with ``portfolio_id``): {rules, total}."""
    params = query_params(RuleListParams)
    if params.portfolio_id is not None:
        owned_portfolio_or_404(params.portfolio_id)
    rules = svc.user_rules(g.user.id, params.portfolio_id)
    return jsonify({"rules": [svc.rule_dict(r) for r in rules], "total": len(rules)})


@bp.post("/management/alerts/rules")
@require_auth
def create_rule():
    """A rule {portfolio_id, kind, threshold?, param?, comparison?} → 201, checked at once."""
    data = _json_body()
    portfolio = body_portfolio(data)
    rule = svc.create_rule(
        g.user.id,
        portfolio,
        data.get("kind"),
        data.get("threshold"),
        data.get("param"),
        data.get("comparison"),
    )
    return jsonify(svc.rule_dict(rule)), 201


@bp.patch("/management/alerts/rules/<int:rule_id>")
@require_auth
def update_rule(rule_id: int):
    """Enable or disable the rule: {enabled: true|false}."""
    rule = svc.owned_rule(rule_id, g.user.id)
    svc.set_enabled(rule, _json_body().get("enabled"))
    return jsonify(svc.rule_dict(rule))


@bp.delete("/management/alerts/rules/<int:rule_id>")
@require_auth
def delete_rule(rule_id: int):
    """Delete the rule with its alerts → 204."""
    svc.delete_rule(svc.owned_rule(rule_id, g.user.id))
    return "", 204


def openapi_operations() -> list:
    """These routes' OpenAPI operations, for ``openapi.document()`` to list with the others.

    Built here, beside the routes and their parameter models; imported at call time because the
    document module imports every API module first.
    """
    from webapp.api.openapi import fields, op, response
    from webapp.schemas.params import query_parameters

    event = "id!:int status!:str note!:str user_id:int? user_email:str? at!:ts"
    alert_fields = (
        "id!:int portfolio_id!:int portfolio_name!:str rule_id!:int rule_summary!:str kind!:str",
        "label!:str unit:str? key!:str subject:str? status!:status acknowledged!:bool",
        "value:num? threshold:num? comparison!:str message!:str as_of:date? batch_run_id:int?",
        "raised_at!:ts last_seen_at!:ts cleared_at:ts?",
    )
    status = {"type": "string", "enum": ["new", "seen", "acknowledged", "cleared"]}
    alert = fields(*alert_fields, status=status)
    with_events = fields(*alert_fields, "events!:[event]", status=status, event=event)
    rule = fields(
        "id!:int portfolio_id!:int kind!:str label!:str unit:str? threshold:num? param:str?",
        "comparison!:str enabled!:bool summary!:str created_at!:ts last_checked_at:ts?",
        "last_unavailable:str? state!:str open_alerts!:int",
    )
    kinds = {"type": "string", "enum": list(RULE_KINDS)}
    rule_body = fields(
        "portfolio_id!:id kind!:kind threshold:threshold param:str? comparison:comparison",
        kind=kinds,
        threshold={"type": ["number", "string", "null"]},
        comparison={"type": ["string", "null"], "enum": ["above", "below", None]},
    )
    one_alert = "/management/alerts/{alert_id}"
    one_rule = "/management/alerts/rules/{rule_id}"
    return [
        op(
            "get /management/alerts",
            "management_list_alerts",
            "The caller's alerts, newest first (default: the open ones)",
            response(
                "Alerts; value and threshold are in the rule's unit (percentage points for "
                "'% of equity', 2.1 = 2.1%)",
                fields(
                    "alerts!:[alert] total!:int limit!:int offset!:int status!:str", alert=alert
                ),
            ),
            query=query_parameters(AlertListParams),
            errors=(404,),  # the query's portfolio_id
        ),
        op(
            f"get {one_alert}",
            "management_get_alert",
            "One alert with its audit trail",
            response("The alert", with_events),
        ),
        op(
            f"post {one_alert}/acknowledge",
            "management_acknowledge_alert",
            "Acknowledge an alert with a note",
            response("The alert", with_events),
            body=fields("note!:note", note={"type": "string", "maxLength": svc.MAX_NOTE}),
            errors=(409,),  # acknowledged already
        ),
        op(
            "get /management/alerts/rules",
            "management_list_alert_rules",
            "The caller's alert rules (one book's with portfolio_id)",
            response("Rules", fields("rules!:[rule] total!:int", rule=rule)),
            query=query_parameters(RuleListParams),
            errors=(404,),
        ),
        op(
            "post /management/alerts/rules",
            "management_create_alert_rule",
            "Add an alert rule to a book (checked at once against its stored results)",
            response("The rule", rule),
            status=201,
            body=rule_body,
            errors=(404,),  # the body's portfolio_id
        ),
        op(
            f"patch {one_rule}",
            "management_update_alert_rule",
            "Enable or disable an alert rule",
            response("The rule", rule),
            body=fields("enabled!:bool"),
        ),
        op(
            f"delete {one_rule}",
            "management_delete_alert_rule",
            "Delete an alert rule with its alerts",
            {"description": "Deleted"},
            status=204,
        ),
    ]

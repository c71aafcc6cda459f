"""/management/alerts: the advisor's alerts (list, detail, acknowledge) and alert rules.

The same service as the pages (``services.alerts``), so the JSON is the service's dicts. Rule
problems answer 422 ``{"error": {"code": "validation_error", "details": {"fields": {...}}}}``
with the form's messages; acknowledging twice is 409; another advisor's alert, rule or
portfolio is 404. An alert's ``value`` and ``threshold`` are in its rule's ``unit``: percentage
points of equity for the percent rules (2.1 = 2.1%), unlike the analytics' decimal fractions.
"""

from __future__ import annotations

from typing import Literal

from flask import g, jsonify
from pydantic import Field

from webapp.api import bp
from webapp.api.apidoc import documented
from webapp.api.common import (
    body_portfolio,
    json_body,
    owned_portfolio_or_404,
    query_params,
    require_auth,
)
from webapp.schemas.api.alerts import (
    AcknowledgeAlertBody,
    AlertList,
    AlertRule,
    AlertRuleList,
    AlertWithEvents,
    CreateAlertRuleBody,
    UpdateAlertRuleBody,
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


@bp.get("/management/alerts")
@require_auth
@documented(
    "management_list_alerts",
    "The caller's alerts, newest first (default: the open ones)",
    AlertList,
    ok_text="Alerts; value and threshold are in the rule's unit (percentage points for "
    "'% of equity', 2.1 = 2.1%)",
    query=AlertListParams,
    errors=(404,),
)
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
@documented(
    "management_get_alert",
    "One alert with its audit trail",
    AlertWithEvents,
    ok_text="The alert",
)
def get_alert(alert_id: int):
    """One alert with its audit trail (``events``, oldest first)."""
    return jsonify(svc.alert_dict(svc.owned_alert(alert_id, g.user.id), events=True))


@bp.post("/management/alerts/<int:alert_id>/acknowledge")
@require_auth
@documented(
    "management_acknowledge_alert",
    "Acknowledge an alert with a note",
    AlertWithEvents,
    ok_text="The alert",
    body=AcknowledgeAlertBody,
    errors=(409,),
)
def acknowledge_alert(alert_id: int):
    """Acknowledge with {note} (required, at most 2,000 characters); 409 if done already."""
    alert = svc.owned_alert(alert_id, g.user.id)
    svc.acknowledge(alert, g.user.id, json_body().get("note"))
    return jsonify(svc.alert_dict(alert, events=True))


@bp.get("/management/alerts/rules")
@require_auth
@documented(
    "management_list_alert_rules",
    "The caller's alert rules (one book's with portfolio_id)",
    AlertRuleList,
    ok_text="Rules",
    query=RuleListParams,
    errors=(404,),
)
def list_rules():
    """The caller's alert rules (one book's with ``portfolio_id``): {rules, total}."""
    params = query_params(RuleListParams)
    if params.portfolio_id is not None:
        owned_portfolio_or_404(params.portfolio_id)
    rules = svc.user_rules(g.user.id, params.portfolio_id)
    return jsonify({"rules": [svc.rule_dict(r) for r in rules], "total": len(rules)})


@bp.post("/management/alerts/rules")
@require_auth
@documented(
    "management_create_alert_rule",
    "Add an alert rule to a book (checked at once against its stored results)",
    AlertRule,
    ok_text="The rule",
    status=201,
    body=CreateAlertRuleBody,
    errors=(404,),
)
def create_rule():
    """A rule {portfolio_id, kind, threshold?, param?, comparison?} → 201, checked at once."""
    data = json_body()
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
@documented(
    "management_update_alert_rule",
    "Enable or disable an alert rule",
    AlertRule,
    ok_text="The rule",
    body=UpdateAlertRuleBody,
)
def update_rule(rule_id: int):
    """Enable or disable the rule: {enabled: true|false}."""
    rule = svc.owned_rule(rule_id, g.user.id)
    svc.set_enabled(rule, json_body().get("enabled"))
    return jsonify(svc.rule_dict(rule))


@bp.delete("/management/alerts/rules/<int:rule_id>")
@require_auth
@documented(
    "management_delete_alert_rule",
    "Delete an alert rule with its alerts",
    ok_text="Deleted",
    status=204,
)
def delete_rule(rule_id: int):
    """Delete the rule with its alerts → 204."""
    svc.delete_rule(svc.owned_rule(rule_id, g.user.id))
    return "", 204

"""Alert list, alert detail with its audit trail, rules per book."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.alerts import bp
from webapp.alerts.forms import AcknowledgeForm, RuleActionForm, RuleForm
from webapp.analytics.alert_rules import RULE_KINDS
from webapp.analytics.constants import FACTOR_NAMES
from webapp.models import Alert, AlertRule
from webapp.pages import int_arg, is_htmx, nav_item, on_invalid, owned, portfolio_page
from webapp.services import alerts as svc
from webapp.services.management import Conflict
from webapp.services.portfolios import NotOwned, user_portfolios

PAGE_SIZE = 50
#: The list's status filter: open = new or seen.
STATUS_CHOICES = ("open", "acknowledged", "cleared", "all")
UNITS = {k: spec.unit for k, spec in RULE_KINDS.items()}

nav_item("alerts.rules", "Alerts", 80)


@bp.errorhandler(Conflict)
def _conflict(exc: Conflict):
    """A valid request the alert's state refuses (acknowledged twice): say so where it was."""
    for message in exc.errors.values():
        flash(message, "error")
    alert_id = (request.view_args or {}).get("alert_id")
    if alert_id is not None:
        return redirect(url_for("alerts.detail", alert_id=alert_id))
    return redirect(request.referrer or url_for("alerts.index"))


def _list_filters() -> tuple[str, int | None]:
    """The status filter (unknown: open) and the book filter (another's book: 404)."""
    status = request.args.get("status", "open")
    if status not in STATUS_CHOICES:
        status = "open"
    portfolio_id = request.args.get("portfolio_id", type=int)
    if portfolio_id:
        owned(portfolio_id)
    return status, portfolio_id or None


@bp.get("/")
def index():
    """The advisor's alerts, newest first, by status and book; the table alone for HTMX."""
    status, portfolio_id = _list_filters()
    offset = int_arg("offset", 0, 0, 10**9)
    rows, total = svc.user_alerts(
        current_user.id, status=status, portfolio_id=portfolio_id, limit=PAGE_SIZE, offset=offset
    )
    context = {
        "rows": rows,
        "total": total,
        "offset": offset,
        "limit": PAGE_SIZE,
        "status": status,
        "statuses": STATUS_CHOICES,
        "portfolio_id": portfolio_id,
        "units": UNITS,
    }
    if is_htmx():
        response = make_response(render_template("alerts/_table.html", **context))
    else:
        books = user_portfolios(current_user.id)
        response = make_response(render_template("alerts/index.html", books=books, **context))
    response.headers["Vary"] = "HX-Request"
    return response


def _detail_page(alert: Alert, form: AcknowledgeForm):
    return render_template(
        "alerts/detail.html",
        alert=alert,
        rule_summary=svc.rule_summary(alert.rule),
        kind=RULE_KINDS.get(alert.rule.kind),
        authors=svc.event_authors(alert),
        acknowledged=svc.acknowledged_event(alert),
        form=form,
    )


@bp.get("/<int:alert_id>")
def detail(alert_id: int):
    """One alert with its audit trail; opening a new alert marks it seen."""
    alert = svc.owned_alert(alert_id, current_user.id)
    svc.mark_seen(alert, current_user.id)
    return _detail_page(alert, AcknowledgeForm())


@bp.post("/<int:alert_id>/acknowledge")
def acknowledge(alert_id: int):
    """Acknowledge the alert with a note (a refused note re-renders the page with 422)."""
    alert = svc.owned_alert(alert_id, current_user.id)
    form = AcknowledgeForm()
    on_invalid(form, lambda: _detail_page(alert, form))
    if not form.validate_on_submit():
        return _detail_page(alert, form)
    svc.acknowledge(alert, current_user.id, form.note.data)
    flash("Alert acknowledged; your note is on its trail.", "success")
    return redirect(url_for("alerts.detail", alert_id=alert.id))


@bp.route("/rules/<int:portfolio_id>", methods=["GET", "POST"])
def rules(portfolio_id: int):
    """The book's rules with their last evaluation, its open alerts, and the add-rule form."""
    portfolio = owned(portfolio_id)
    form = RuleForm()

    def render():
        return portfolio_page(
            "alerts/rules.html",
            None,
            portfolio,
            "Alerts",
            form=form,
            rules=svc.book_rules(portfolio.id),
            alerts=svc.open_alerts(portfolio.id),
            kinds=RULE_KINDS,
            factors=FACTOR_NAMES,
            scenarios=svc.scenario_choices(),
            action=RuleActionForm(),
            rule_summary=svc.rule_summary,
            rule_state=svc.rule_state,
            window=svc.WINDOW_DAYS,
        )

    on_invalid(form, render)
    if not form.validate_on_submit():
        return render()
    rule = svc.create_rule(
        current_user.id,
        portfolio,
        form.kind.data,
        form.threshold.data,
        form.param.data,
        form.comparison.data,
    )
    flash(
        f"Added the rule: {svc.rule_summary(rule)}. {svc.rule_state(rule).capitalize()}.", "success"
    )
    return redirect(url_for("alerts.rules", portfolio_id=portfolio.id))


def _book_rule(portfolio_id: int, rule_id: int) -> AlertRule:
    """The rule of this book of the advisor's, or 404."""
    portfolio = owned(portfolio_id)
    rule = svc.owned_rule(rule_id, current_user.id)
    if rule.portfolio_id != portfolio.id:
        raise NotOwned("No such alert rule.")
    return rule


@bp.post("/rules/<int:portfolio_id>/<int:rule_id>/delete")
def delete_rule(portfolio_id: int, rule_id: int):
    """Delete the rule with its alerts."""
    rule = _book_rule(portfolio_id, rule_id)
    if RuleActionForm().validate_on_submit():
        summary = svc.rule_summary(rule)
        svc.delete_rule(rule)
        flash(f"Deleted the rule: {summary}.", "success")
    return redirect(url_for("alerts.rules", portfolio_id=portfolio_id))


@bp.post("/rules/<int:portfolio_id>/<int:rule_id>/enabled")
def set_enabled(portfolio_id: int, rule_id: int):
    """Enable (enabled=1) or disable (enabled=0) the rule."""
    rule = _book_rule(portfolio_id, rule_id)
    form = RuleActionForm()
    if form.validate_on_submit():
        svc.set_enabled(rule, form.enabled.data == "1")
        flash(f"{'Enabled' if rule.enabled else 'Disabled'} the rule.", "success")
    return redirect(url_for("alerts.rules", portfolio_id=portfolio_id))

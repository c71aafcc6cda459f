"""Alerts: rules per book, the alerts each batch raises, their lifecycle."""

from webapp.pages import advisor_blueprint, form_errors

bp = advisor_blueprint("alerts", __name__, "/alerts")
form_errors(bp)

from webapp.alerts import routes  # noqa: E402,F401

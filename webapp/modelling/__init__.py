"""Modelling sessions: proposed trades and their impact on every analytic."""

from webapp.pages import advisor_blueprint, form_errors

bp = advisor_blueprint("modelling", __name__, "/modelling")
form_errors(bp)

from webapp.modelling import routes  # noqa: E402,F401

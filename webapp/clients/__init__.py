"""Clients (with their risk questionnaires) and households of accounts."""

from webapp.pages import advisor_blueprint, form_errors

bp = advisor_blueprint("clients", __name__, "/clients")
form_errors(bp)

from webapp.clients import routes  # noqa: E402,F401

"""The Overview page of a portfolio."""

from webapp.pages import advisor_blueprint

bp = advisor_blueprint("overview", __name__, "/portfolios/<int:portfolio_id>")

from webapp.overview import routes  # noqa: E402,F401

"""The Correlations page of a portfolio."""

from webapp.pages import advisor_blueprint

bp = advisor_blueprint("correlations", __name__, "/portfolios/<int:portfolio_id>")

from webapp.correlations import routes  # noqa: E402,F401

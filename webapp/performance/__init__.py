"""The Performance page of a portfolio."""

from webapp.pages import advisor_blueprint

bp = advisor_blueprint("performance", __name__, "/portfolios/<int:portfolio_id>")

from webapp.performance import routes  # noqa: E402,F401

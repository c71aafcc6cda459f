"""The Stress tests page of a portfolio."""

from webapp.pages import advisor_blueprint

bp = advisor_blueprint("stress", __name__, "/portfolios/<int:portfolio_id>")

from webapp.stress import routes  # noqa: E402,F401

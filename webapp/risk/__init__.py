"""The Risk page of a portfolio."""

from webapp.pages import advisor_blueprint

bp = advisor_blueprint("risk", __name__, "/portfolios/<int:portfolio_id>")

from webapp.risk import forward_range, routes  # noqa: E402,F401

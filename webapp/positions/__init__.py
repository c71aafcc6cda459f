"""The position detail page of a portfolio."""

from webapp.pages import advisor_blueprint

bp = advisor_blueprint("positions", __name__, "/portfolios/<int:portfolio_id>/positions")

from webapp.positions import routes  # noqa: E402,F401

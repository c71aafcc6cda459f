"""The Factor exposures page of a portfolio."""

from webapp.pages import advisor_blueprint

bp = advisor_blueprint("factors", __name__, "/portfolios/<int:portfolio_id>")

from webapp.factors import routes  # noqa: E402,F401

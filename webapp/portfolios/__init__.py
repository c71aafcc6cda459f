"""Portfolio list, positions, management pages and batch jobs."""

from webapp.pages import advisor_blueprint

bp = advisor_blueprint("portfolios", __name__, "/portfolios")

from webapp.portfolios import manage, routes  # noqa: E402,F401

"""Portfolio list, positions, management pages and batch jobs."""

from webapp.pages import advisor_blueprint, form_errors

bp = advisor_blueprint("portfolios", __name__, "/portfolios")
form_errors(bp)

from webapp.portfolios import manage, routes  # noqa: E402,F401

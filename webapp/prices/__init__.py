"""The Market data page: how old the prices are, where they come from, how to refresh them."""

from webapp.pages import advisor_blueprint

bp = advisor_blueprint("prices", __name__, "/market-data")

from webapp.prices import routes  # noqa: E402,F401

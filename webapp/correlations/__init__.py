from flask import Blueprint

bp = Blueprint("correlations", __name__, url_prefix="/portfolios/<int:portfolio_id>")

from webapp.correlations import routes  # noqa: E402,F401

from flask import Blueprint

bp = Blueprint("performance", __name__, url_prefix="/portfolios/<int:portfolio_id>")

from webapp.performance import routes  # noqa: E402,F401

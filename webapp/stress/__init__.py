from flask import Blueprint

bp = Blueprint("stress", __name__, url_prefix="/portfolios/<int:portfolio_id>")

from webapp.stress import routes  # noqa: E402,F401

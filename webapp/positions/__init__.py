from flask import Blueprint

bp = Blueprint("positions", __name__, url_prefix="/portfolios/<int:portfolio_id>/positions")

from webapp.positions import routes  # noqa: E402,F401

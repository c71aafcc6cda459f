from flask import Blueprint

bp = Blueprint("risk", __name__, url_prefix="/portfolios/<int:portfolio_id>")

from webapp.risk import routes  # noqa: E402,F401

from flask import Blueprint

bp = Blueprint("factors", __name__, url_prefix="/portfolios/<int:portfolio_id>")

from webapp.factors import routes  # noqa: E402,F401

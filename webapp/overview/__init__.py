from flask import Blueprint

bp = Blueprint("overview", __name__, url_prefix="/portfolios/<int:portfolio_id>")

from webapp.overview import routes  # noqa: E402,F401

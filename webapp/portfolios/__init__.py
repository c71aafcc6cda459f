from flask import Blueprint

bp = Blueprint("portfolios", __name__, url_prefix="/portfolios")

from webapp.portfolios import manage, routes  # noqa: E402,F401

"""CSV onboarding pages: upload, preview, confirm."""
from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/imports")

from webapp.onboarding import routes  # noqa: E402,F401

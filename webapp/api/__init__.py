"""The JSON API at /api/v1: one blueprint, a module per resource.

Auth: Bearer tokens (POST /auth/login); the browser session also authorises GET requests so
download links work from pages. Writes need a token, so a forged cross-site form can't use the
session cookie (the blueprint is CSRF-exempt for that reason).
"""

from flask import Blueprint

from webapp.api.common import api_rate_limit, rate_limit_key, validation_error_response
from webapp.extensions import csrf, limiter
from webapp.services.management import ValidationError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Token-authenticated writes carry no cookie-borne authority, so CSRF tokens don't apply; done
# once here (not in the factory) so building several apps doesn't stack the limit.
csrf.exempt(bp)
# One budget per user across the whole API (not per route).
limiter.shared_limit(api_rate_limit, scope="api", key_func=rate_limit_key)(bp)
# Services raise ValidationError; every API route answers it in one shape.
bp.register_error_handler(ValidationError, validation_error_response)

from webapp.api import (  # noqa: E402,F401
    alerts,
    analytics,
    apidoc,
    auth,
    clients,
    data,
    export,
    management,
    modelling,
    reports,
    system,
)

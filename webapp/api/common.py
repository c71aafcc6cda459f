"""Authentication, rate-limit key, parameter validation and the error shape for the API."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import TypeVar

from flask import current_app, g, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from webapp.errors import error_body
from webapp.extensions import db
from webapp.models import ApiToken, User
from webapp.models._time import utcnow
from webapp.schemas.params import ParamError, QueryParams
from webapp.services.management import Conflict, ValidationError
from webapp.services.portfolios import NotOwned, owned_portfolio

TOKEN_TTL = timedelta(hours=24)


class ApiError(Exception):
    """Raised anywhere under /api/v1; rendered as ``{"error": {code, message, details}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        details: dict | None = None,
        code: str | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.details, self.code = status, message, details, code
        self.headers = headers or {}


def api_error_response(exc: ApiError):
    """Render an ``ApiError`` in the API error shape with its headers (WWW-Authenticate on 401)."""
    response = jsonify(error_body(exc.status, exc.message, exc.details, exc.code))
    response.status_code = exc.status
    response.headers.update(exc.headers)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sigmasight"'
    return response


def digest(token: str) -> str:
    """Hex SHA-256 of a token: what the database stores instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    """A new random bearer token; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_digest=digest(token), expires_at=utcnow() + TOKEN_TTL)
    db.session.add(row)
    db.session.commit()
    return token, row


#: The reference contract's cookie (reference §4.0.1): the bearer token, HttpOnly, for clients that
#: cannot send headers (EventSource); writes with it need ``CSRF_HEADER``.
AUTH_COOKIE = "auth_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def csrf_for(token: str) -> str:
    """The CSRF value that goes with a cookie token: HMAC of its digest under the app secret.

    Returned in the login body (a script of the app's own origin can read it; another site
    cannot), so no server-side state is needed and it dies with the token.
    """
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, digest(token).encode(), hashlib.sha256).hexdigest()[:40]


def set_auth_cookie(response, token: str) -> None:
    """Put the token in the HttpOnly, SameSite=Lax ``auth_token`` cookie (Secure in production)."""
    response.set_cookie(
        AUTH_COOKIE,
        token,
        max_age=int(TOKEN_TTL.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        path="/api/",
    )


def clear_auth_cookie(response) -> None:
    """Expire the ``auth_token`` cookie (logout)."""
    response.delete_cookie(
        AUTH_COOKIE,
        path="/api/",
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )


def _request_token() -> tuple[str | None, str | None]:
    """(token, source): the bearer header first, else the ``auth_token`` cookie."""
    bearer = _bearer()
    if bearer:
        return bearer, "bearer"
    cookie = request.cookies.get(AUTH_COOKIE)
    return (cookie, "cookie") if cookie else (None, None)


def token_row() -> ApiToken | None:
    """The valid (unexpired, unrevoked) token row of this request, if any."""
    if "api_token" not in g:
        token, g.api_auth = _request_token()
        row = None
        if token:
            row = db.session.scalar(select(ApiToken).where(ApiToken.token_digest == digest(token)))
            if row is not None and (row.revoked_at is not None or row.expires_at <= utcnow()):
                row = None
        g.api_token = row
    return g.api_token


def _cookie_write_refused() -> bool:
    """A write authenticated by the cookie alone without the matching CSRF header."""
    if g.get("api_auth") != "cookie" or request.method in SAFE_METHODS:
        return False
    sent = request.headers.get(CSRF_HEADER, "")
    token = request.cookies.get(AUTH_COOKIE, "")
    return not hmac.compare_digest(sent, csrf_for(token))


def api_user() -> User | None:
    """The authenticated user: bearer token, the ``auth_token`` cookie (writes with the CSRF
    header), or (for safe methods) the browser session."""
    row = token_row()
    if row is not None and row.user.is_active:
        if _cookie_write_refused():
            return None
        return row.user
    if request.method in ("GET", "HEAD") and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def rate_limit_key() -> str:
    """Per user when authenticated, per address otherwise."""
    user = api_user()
    return f"user:{user.id}" if user is not None else f"ip:{request.remote_addr}"


def require_auth(view):
    """401 in the API error shape without valid credentials; sets ``g.user``."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        user = api_user()
        if user is None:
            if token_row() is not None and _cookie_write_refused():
                raise ApiError(
                    403,
                    f"A write authenticated by the auth_token cookie needs the {CSRF_HEADER} "
                    "header (the csrf_token of the login response).",
                    {"header": CSRF_HEADER},
                    "csrf_required",
                )
            message = (
                "Authentication required: send 'Authorization: Bearer <token>' "
                "or the auth_token cookie."
            )
            token, source = _request_token()
            if token:
                what = "bearer token" if source == "bearer" else "auth_token cookie"
                message = f"The {what} is invalid, expired or revoked."
            raise ApiError(401, message)
        g.user = user
        return view(*args, **kwargs)

    return wrapped


def json_body() -> dict:
    """The request's JSON object, or 400."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "Send a JSON object body.")
    return data


def body_portfolio(payload: dict):
    """The caller's portfolio named by the body's ``portfolio_id`` (422 if not an integer, 404
    if not the caller's)."""
    portfolio_id = payload.get("portfolio_id")
    if isinstance(portfolio_id, float) and portfolio_id.is_integer():
        portfolio_id = int(portfolio_id)  # JSON Schema's integer: 277.0 is 277
    if isinstance(portfolio_id, bool) or not isinstance(portfolio_id, int):
        raise ApiError(
            422,
            "Validation failed: portfolio_id: an integer is required.",
            {"fields": {"portfolio_id": "An integer is required."}},
            "validation_error",
        )
    return owned_portfolio_or_404(portfolio_id)


M = TypeVar("M", bound=QueryParams)


def query_params(model: type[M]) -> M:
    """``request.args`` through the endpoint's parameter model; 400 naming field and range.

    The model must be the one the route declares (``@documented(query=...)``), so the OpenAPI
    document states exactly what is validated; a route that parses another is a bug (500).
    """
    view = current_app.view_functions.get(request.endpoint)
    declared = getattr(view, "declared", None)
    if declared is not None and declared.query is not model:
        raise TypeError(f"{request.endpoint} parses {model.__name__}, documents {declared.query}")
    try:
        return model.parse(request.args)
    except ParamError as exc:
        raise ApiError(400, exc.message, exc.details, "invalid_parameter") from None


def owned_portfolio_or_404(portfolio_id: int):
    """The caller's portfolio, or 404 in the API error shape (never another user's data)."""
    try:
        return owned_portfolio(portfolio_id, g.user.id)
    except NotOwned:
        raise ApiError(404, "Portfolio not found.", {"portfolio_id": portfolio_id}) from None


def api_rate_limit() -> str:
    """The API's rate limit, the API_RATE_LIMIT setting (read per request)."""
    return current_app.config["API_RATE_LIMIT"]


def validation_error_response(exc: ValidationError):
    """A service validation error in the API's error shape: 422, or 409 for a state clash.

    Registered once on the API blueprint, so no API route carries a try/except of its own.
    """
    if isinstance(exc, Conflict):
        error = ApiError(409, str(exc), {"fields": exc.errors}, "conflict")
    else:
        error = ApiError(
            422, "Validation failed: " + str(exc), {"fields": exc.errors}, "validation_error"
        )
    return api_error_response(error)

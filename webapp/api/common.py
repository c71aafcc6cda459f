"""Authentication, rate-limit key, parameter validation and the error shape for the API."""

from __future__ import annotations

import functools
import hashlib
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


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_row() -> ApiToken | None:
    """The valid (unexpired, unrevoked) token row of this request, if any."""
    if "api_token" not in g:
        token = _bearer()
        row = None
        if token:
            row = db.session.scalar(select(ApiToken).where(ApiToken.token_digest == digest(token)))
            if row is not None and (row.revoked_at is not None or row.expires_at <= utcnow()):
                row = None
        g.api_token = row
    return g.api_token


def api_user() -> User | None:
    """The authenticated user: bearer token, or (for safe methods) the browser session."""
    row = token_row()
    if row is not None and row.user.is_active:
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
            message = "Authentication required: send 'Authorization: Bearer <token>'."
            if _bearer():
                message = "The bearer token is invalid, expired or revoked."
            raise ApiError(401, message)
        g.user = user
        return view(*args, **kwargs)

    return wrapped


M = TypeVar("M", bound=QueryParams)


def query_params(model: type[M]) -> M:
    """``request.args`` through the endpoint's parameter model; 400 naming field and range."""
    try:
        return model.parse(request.args)
    except ParamError as exc:
        raise ApiError(400, exc.message, exc.details, "invalid_parameter") from None


def int_param(name: str, default: int | None, lo: int, hi: int) -> int | None:
    """An integer query parameter within [lo, hi]; 400 naming the field and the range otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400,
            f"'{name}' must be an integer between {lo} and {hi}",
            {"field": name, "value": raw, "min": lo, "max": hi},
            "invalid_parameter",
        ) from None
    if not lo <= value <= hi:
        raise ApiError(
            400,
            f"'{name}' must be between {lo} and {hi}",
            {"field": name, "value": value, "min": lo, "max": hi},
            "invalid_parameter",
        )
    return value


def choice_param(name: str, default: str, choices: tuple[str, ...]) -> str:
    """A query parameter from ``choices``; 400 naming the field and the allowed values otherwise."""
    raw = request.args.get(name, default)
    if raw not in choices:
        raise ApiError(
            400,
            f"'{name}' must be one of: {', '.join(choices)}",
            {"field": name, "value": raw, "allowed": list(choices)},
            "invalid_parameter",
        )
    return raw


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

"""POST /auth/login, /auth/refresh, /auth/logout."""

from __future__ import annotations

from flask import g, jsonify, request

from webapp.api import bp
from webapp.api.apidoc import documented
from webapp.api.common import (
    ApiError,
    clear_auth_cookie,
    csrf_for,
    issue_token,
    require_auth,
    set_auth_cookie,
    token_row,
)
from webapp.auth.limits import login_budget
from webapp.extensions import db
from webapp.models._time import isoformat_z, utcnow
from webapp.schemas.api.auth import LoginBody, LogoutResponse
from webapp.schemas.api.common import Token
from webapp.services.login_guard import AccountLocked, authenticate_guarded


def _token_response(token: str, row, status: int = 200):
    """The token in the body and in the HttpOnly ``auth_token`` cookie, with the CSRF value
    cookie-authenticated writes must send back."""
    body = {
        "access_token": token,
        "token_type": "bearer",
        "expires_at": isoformat_z(row.expires_at),
        "expires_in": int((row.expires_at - utcnow()).total_seconds()),
        "csrf_token": csrf_for(token),
    }
    response = jsonify(body)
    set_auth_cookie(response, token)
    return response, status


@bp.post("/auth/login")
@login_budget
@documented(
    "auth_login",
    "Log in: email and password for a bearer token",
    Token,
    ok_text="A bearer token",
    body=LoginBody,
    errors=(401,),
    public=True,
)
def login():
    """Exchange e-mail and password for a bearer token (429 while the account is locked)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, 'Send a JSON body: {"email": …, "password": …}.')
    missing = [
        f for f in ("email", "password") if not isinstance(data.get(f), str) or not data.get(f)
    ]
    if missing:
        raise ApiError(
            422,
            "Missing or empty field(s): " + ", ".join(missing),
            {"fields": missing},
            "validation_error",
        )
    try:
        user = authenticate_guarded(data["email"], data["password"])
    except AccountLocked as exc:
        raise ApiError(
            429,
            exc.message,
            {"retry_after": exc.seconds},
            "account_locked",
            headers={"Retry-After": str(exc.seconds)},
        ) from None
    if user is None:
        raise ApiError(401, "Invalid email or password.")
    token, row = issue_token(user)
    return _token_response(token, row)


@bp.post("/auth/refresh")
@require_auth
@documented(
    "auth_refresh",
    "Swap a token for a new one (the old one is revoked)",
    Token,
    ok_text="A bearer token",
)
def refresh():
    """Swap a valid token for a new one; the old one is revoked."""
    old = token_row()
    if old is None:
        raise ApiError(401, "Refreshing needs a token (bearer or the auth_token cookie).")
    old.revoked_at = utcnow()
    token, row = issue_token(g.user)
    return _token_response(token, row)


@bp.post("/auth/logout")
@require_auth
@documented(
    "auth_logout",
    "Revoke the token",
    LogoutResponse,
    ok_text="Revoked",
)
def logout():
    """Revoke this request's token (bearer or cookie), clear the cookie, say whether one was."""
    row = token_row()
    if row is not None:
        row.revoked_at = utcnow()
        db.session.commit()
    response = jsonify({"revoked": row is not None})
    clear_auth_cookie(response)
    return response

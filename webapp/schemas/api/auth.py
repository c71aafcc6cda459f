"""/auth: the login body and the token."""

from __future__ import annotations

from webapp.schemas.api.base import ApiModel


class LoginBody(ApiModel):
    """Credentials to log in with: the user's e-mail and password."""

    email: str
    password: str


class LogoutResponse(ApiModel):
    """Whether the token was revoked."""

    revoked: bool

"""Browser sessions stored server-side, so logging out really ends them.

The session cookie and the remember-me cookie carry a random token (Flask-Login's "alternative
id"); the database keeps only its SHA-256 digest, an expiry and a revocation time. A stolen or
replayed cookie stops working the moment its session is revoked or expires, however validly it
is signed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import ApiToken, User, UserSession
from webapp.models._time import utcnow
from webapp.services.transactions import run_write

# Writing last_seen_at on every request would turn each page view into a write.
TOUCH_EVERY = timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, remember: bool, user_agent: str = "") -> str:
    """A new session for ``user``; returns the token for the cookie (never stored as is).

    A short write unit of its own: a login must wait out an import's lock, not fail on it.
    """
    token = secrets.token_urlsafe(32)
    lifetime = (
        current_app.config["REMEMBER_COOKIE_DURATION"]
        if remember
        else current_app.config["SESSION_LIFETIME"]
    )
    now = utcnow()
    user_id = user.id
    run_write(
        lambda: db.session.add(
            UserSession(
                user_id=user_id,
                token_digest=_digest(token),
                remember=remember,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(seconds=lifetime),
                user_agent=(user_agent or "")[:255],
            )
        )
    )
    user.session_token = token
    return token


def session_user(token: str | None) -> User | None:
    """The active user of a live (unrevoked, unexpired) session, else None."""
    if not token or len(token) > 128:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.token_digest == _digest(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = row.user
    if not user.is_active:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    user.session_token = token
    return user


def end_session(token: str | None) -> None:
    """Revoke one session (logout)."""
    if token:
        run_write(
            lambda: db.session.execute(
                update(UserSession)
                .where(UserSession.token_digest == _digest(token), UserSession.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        )


def end_all_sessions(user_id: int) -> tuple[int, int]:
    """Revoke every browser session and API token of a user; returns (sessions, tokens)."""
    now = utcnow()
    sessions = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    tokens = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    db.session.commit()
    return sessions or 0, tokens or 0

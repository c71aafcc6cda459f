"""Advisors and their API tokens."""

from __future__ import annotations

from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models._ids import NEVER_REUSE_IDS
from webapp.models._owned import RevocableToken
from webapp.models._time import utcnow


class User(UserMixin, db.Model):
    """One advisor account: e-mail, name, password hash and whether it may log in."""

    __tablename__ = "users"
    __table_args__ = (NEVER_REUSE_IDS,)

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(255), nullable=False, unique=True, index=True)
    full_name = db.Column(db.String(255), nullable=False, default="")
    password_hash = db.Column(db.String(255), nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    portfolios = db.relationship(
        "Portfolio", back_populates="owner", cascade="all, delete-orphan", lazy="select"
    )

    # The browser session this object was loaded for (set by services.sessions, not stored).
    session_token = None

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        """Whether the account may log in."""
        return bool(self.active)

    def get_id(self) -> str | None:
        """Flask-Login's alternative id: the session token, so cookies name a revocable session
        rather than the user (a cookie holding only a user id would outlive logout)."""
        return self.session_token

    def set_password(self, password: str) -> None:
        """Store a salted scrypt hash, never the password."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """True when ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class ApiToken(RevocableToken, db.Model):
    """Bearer tokens for the JSON API; stored as a SHA-256 digest so a DB leak yields no token."""

    __tablename__ = "api_tokens"

    id = db.Column(db.Integer, primary_key=True)


class UserSession(RevocableToken, db.Model):
    """One browser login. The cookie holds a random token; only its SHA-256 digest is stored.

    Logging out revokes the row, so neither the old session cookie nor a remember-me cookie made
    from it works afterwards, even though both are still validly signed.
    """

    __tablename__ = "user_sessions"

    id = db.Column(db.Integer, primary_key=True)
    remember = db.Column(db.Boolean, nullable=False, default=False)
    last_seen_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    user_agent = db.Column(db.String(255), nullable=False, default="")

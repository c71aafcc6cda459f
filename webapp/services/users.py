"""Advisor accounts."""

from __future__ import annotations

from functools import cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import User
from webapp.services.passwords import check_password


@cache
def _dummy_hash() -> str:
    """Checked when the email is unknown, so a failed login costs the same time either way."""
    return generate_password_hash("no-such-user")


def find_user(email: str) -> User | None:
    """Case-insensitive lookup by email."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, else None (callers show a generic error)."""
    user = find_user(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def create_user(email: str, password: str, full_name: str = "") -> User:
    """Add an advisor; ValueError when the e-mail is invalid or taken, or the password is weak."""
    try:
        # No DNS look-up: the embedded default runs offline, and the address is only a login name.
        email = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"{email.strip()!r} is not a valid e-mail address: {exc}") from None
    if find_user(email) is not None:
        raise ValueError(f"a user with email {email} already exists")
    check_password(password, email)  # WeakPassword is a ValueError with the reason in words
    user = User(email=email, full_name=full_name)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user

"""Advisor accounts."""
from __future__ import annotations

from functools import cache

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import User


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
    """Add an advisor; raises ValueError when the email is taken or the password too short."""
    email = email.strip().lower()
    if find_user(email) is not None:
        raise ValueError(f"a user with email {email} already exists")
    if len(password) < 8:
        raise ValueError("password must be at least 8 characters")
    user = User(email=email, full_name=full_name)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user

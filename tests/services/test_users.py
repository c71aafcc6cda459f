"""services.users called directly: look-up, authentication, account creation."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, UserFactory
from webapp.extensions import db
from webapp.models import User
from webapp.services import users
from webapp.services.passwords import WeakPassword


def test_find_user_ignores_case_and_surrounding_spaces(ctx):
    user = UserFactory()
    assert users.find_user(f"  {user.email.upper()}  ").id == user.id
    assert users.find_user("nobody-" + user.email) is None


def test_authenticate_needs_the_right_password_and_an_active_account(ctx):
    user = UserFactory()
    assert users.authenticate(user.email.upper(), PASSWORD).id == user.id
    assert users.authenticate(user.email, PASSWORD + "x") is None
    assert users.authenticate("nobody-" + user.email, PASSWORD) is None
    user.active = False
    db.session.commit()
    assert users.authenticate(user.email, PASSWORD) is None


def test_unknown_email_still_checks_a_hash(ctx, monkeypatch):
    """Same work whether or not the account exists: timing does not reveal it."""
    checked = []
    monkeypatch.setattr(users, "check_password_hash", lambda h, p: checked.append((h, p)))
    assert users.authenticate("no-such-advisor@example.com", "guess-1") is None
    assert checked == [(users._dummy_hash(), "guess-1")]


def test_create_user_normalises_the_email_and_stores_a_hash(ctx):
    user = users.create_user("  Created.One@Example.COM ", "Kestrel-Orbit-42", "Created One")
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert stored.email == "created.one@example.com" and stored.full_name == "Created One"
    assert stored.active is True
    assert "Kestrel-Orbit-42" not in stored.password_hash
    assert stored.check_password("Kestrel-Orbit-42")


def test_create_user_refuses_a_taken_email_in_any_case(ctx):
    user = UserFactory()
    with pytest.raises(ValueError, match=f"a user with email {user.email} already exists"):
        users.create_user(user.email.upper(), "Kestrel-Orbit-42")
    count = db.session.scalar(
        select(func.count()).select_from(User).where(func.lower(User.email) == user.email)
    )
    assert count == 1


def test_create_user_refuses_a_password_holding_the_email_name(ctx):
    with pytest.raises(WeakPassword, match="e-mail name"):
        users.create_user("Orbit.Kestrel@example.com", "xx-orbit.kestrel-42-Zq")
    assert users.find_user("orbit.kestrel@example.com") is None


def test_create_user_quotes_the_refused_address(ctx):
    with pytest.raises(ValueError, match=r"^'not-an-email' is not a valid e-mail address: "):
        users.create_user("  not-an-email ", "Kestrel-Orbit-42")

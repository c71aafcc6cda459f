"""services.sessions called directly: server-side browser sessions and their revocation."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from tests.factories import UserFactory
from webapp.extensions import db
from webapp.models import ApiToken, UserSession
from webapp.models._time import utcnow
from webapp.services import sessions


def _row(token: str) -> UserSession:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return db.session.scalar(select(UserSession).where(UserSession.token_digest == digest))


def test_start_session_stores_only_the_digest_with_the_configured_lifetime(ctx):
    user = UserFactory()
    short = sessions.start_session(user, remember=False, user_agent="pytest/1 " + "x" * 300)
    assert user.session_token == short
    row = _row(short)
    assert row.user_id == user.id and row.revoked_at is None and row.remember is False
    assert short not in row.token_digest
    assert row.expires_at - row.created_at == timedelta(seconds=ctx.config["SESSION_LIFETIME"])
    assert len(row.user_agent) == 255 and row.user_agent.startswith("pytest/1 ")

    long = sessions.start_session(user, remember=True)
    assert long != short
    row = _row(long)
    assert row.remember is True
    lifetime = timedelta(seconds=ctx.config["REMEMBER_COOKIE_DURATION"])
    assert row.expires_at - row.created_at == lifetime


def test_session_user_accepts_a_live_token_only(ctx):
    user = UserFactory()
    token = sessions.start_session(user, remember=False)
    found = sessions.session_user(token)
    assert found is not None and found.id == user.id and found.session_token == token
    for bad in (None, "", "not-a-session-token", "x" * 129):
        assert sessions.session_user(bad) is None


def test_session_user_refuses_expired_revoked_and_inactive(ctx):
    expired, revoked, inactive = UserFactory(), UserFactory(), UserFactory()
    t_expired = sessions.start_session(expired, remember=False)
    t_revoked = sessions.start_session(revoked, remember=False)
    t_inactive = sessions.start_session(inactive, remember=False)
    _row(t_expired).expires_at = utcnow() - timedelta(seconds=1)
    _row(t_revoked).revoked_at = utcnow()
    inactive.active = False
    db.session.commit()
    assert sessions.session_user(t_expired) is None
    assert sessions.session_user(t_revoked) is None
    assert sessions.session_user(t_inactive) is None


def test_session_user_touches_last_seen_only_after_the_interval(ctx):
    user = UserFactory()
    token = sessions.start_session(user, remember=False)
    row = _row(token)
    recent = utcnow() - sessions.TOUCH_EVERY / 2
    row.last_seen_at = recent
    db.session.commit()
    sessions.session_user(token)
    db.session.expire_all()
    assert _row(token).last_seen_at == recent  # within the interval: no write

    stale = utcnow() - sessions.TOUCH_EVERY - timedelta(seconds=5)
    _row(token).last_seen_at = stale
    db.session.commit()
    sessions.session_user(token)
    db.session.expire_all()
    assert _row(token).last_seen_at > stale + sessions.TOUCH_EVERY


def test_end_session_revokes_that_session_only(ctx):
    user = UserFactory()
    ended = sessions.start_session(user, remember=False)
    kept = sessions.start_session(user, remember=True)
    sessions.end_session(ended)
    sessions.end_session(None)  # no cookie: nothing to do, no error
    db.session.expire_all()
    assert _row(ended).revoked_at is not None and sessions.session_user(ended) is None
    assert _row(kept).revoked_at is None and sessions.session_user(kept).id == user.id


def test_end_all_sessions_counts_what_it_revoked_and_spares_other_users(ctx):
    user, other = UserFactory(), UserFactory()
    mine = [sessions.start_session(user, remember=flag) for flag in (False, True)]
    theirs = sessions.start_session(other, remember=False)
    now = utcnow()
    for n in range(3):
        db.session.add(
            ApiToken(user_id=user.id, token_digest=f"{user.id:032d}{n:032d}", expires_at=now)
        )
    db.session.commit()

    assert sessions.end_all_sessions(user.id) == (2, 3)
    assert sessions.end_all_sessions(user.id) == (0, 0)  # nothing left to revoke
    assert all(sessions.session_user(token) is None for token in mine)
    assert sessions.session_user(theirs).id == other.id

"""Per-account login lockout: a progressive delay after repeated failures, kept in Redis.

The per-address budget (Flask-Limiter, shared by the form and the API) stops one client guessing
fast; this stops many addresses guessing one advisor's password. After ``LOGIN_MAX_FAILURES``
failures within the window, the account refuses logins for ``LOGIN_LOCKOUT_SECONDS``, doubling
with every further failure up to ``LOGIN_LOCKOUT_MAX_SECONDS``; a success clears the count.
The lock never reveals whether the account exists (unknown e-mails are counted the same way).
If Redis is down the guard fails open with a logged warning: logins keep working.
"""

from __future__ import annotations

import hashlib
import logging
import math

from flask import current_app
from redis.exceptions import RedisError

from webapp.services.queueing import get_redis
from webapp.services.users import authenticate

log = logging.getLogger(__name__)

FAILURE_WINDOW = 15 * 60  # seconds over which failures are counted


class AccountLocked(Exception):
    """Logins for this e-mail are paused; ``seconds`` until the next attempt is accepted."""

    def __init__(self, seconds: int):
        self.seconds = max(1, int(seconds))
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """What the advisor is told: logins are paused, and for how long."""
        wait = (
            f"{math.ceil(self.seconds / 60)} minute{'s' if self.seconds > 60 else ''}"
            if self.seconds >= 60
            else f"{self.seconds} second{'s' if self.seconds != 1 else ''}"
        )
        return (
            "Too many failed logins for this account. For its protection, logins are paused: "
            f"try again in {wait}."
        )


def _keys(email: str) -> tuple[str, str]:
    h = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"sigmasight:login:fail:{h}", f"sigmasight:login:lock:{h}"


def check(email: str) -> None:
    """Raise ``AccountLocked`` while the account's lockout lasts."""
    _, lock = _keys(email)
    try:
        ttl = get_redis().ttl(lock)
    except RedisError as exc:
        log.warning("login guard unavailable (failing open): %s", exc)
        return
    if ttl and ttl > 0:
        raise AccountLocked(ttl)


def record_failure(email: str) -> int | None:
    """Count a failed login; returns the lockout in seconds it triggered, if any."""
    fail, lock = _keys(email)
    cfg = current_app.config
    try:
        redis = get_redis()
        with redis.pipeline() as pipe:
            pipe.incr(fail)
            pipe.expire(fail, FAILURE_WINDOW)
            count = pipe.execute()[0]
        over = count - cfg["LOGIN_MAX_FAILURES"]
        if over < 0:
            return None
        seconds = min(cfg["LOGIN_LOCKOUT_SECONDS"] * 2**over, cfg["LOGIN_LOCKOUT_MAX_SECONDS"])
        redis.set(lock, 1, ex=int(seconds))
        # The count must outlive the lock, or the next failure would start over at one.
        redis.expire(fail, max(FAILURE_WINDOW, int(seconds) + FAILURE_WINDOW))
        log.warning("login lockout for %s s after %s failures", seconds, count)
        return int(seconds)
    except RedisError as exc:
        log.warning("login guard unavailable (failing open): %s", exc)
        return None


def record_success(email: str) -> None:
    """Forget the account's failures and lockout after a good login."""
    try:
        get_redis().delete(*_keys(email))
    except RedisError as exc:
        log.warning("login guard unavailable: %s", exc)


def authenticate_guarded(email: str, password: str):
    """``users.authenticate`` behind the lockout: the user, or None (failure counted).

    Raises ``AccountLocked`` without checking the password while the account is paused, and
    when this failure is the one that pauses it.
    """
    check(email)
    user = authenticate(email, password)
    if user is None:
        seconds = record_failure(email)
        if seconds:
            raise AccountLocked(seconds)
        return None
    record_success(email)
    return user

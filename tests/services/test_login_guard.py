"""services.login_guard called directly: per-account lockout counted in the real Redis."""

from __future__ import annotations

import itertools
import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.factories import PASSWORD, UserFactory
from webapp.services import login_guard
from webapp.services.login_guard import AccountLocked

_n = itertools.count()


@pytest.fixture()
def email(ctx):
    """An e-mail with no failures recorded; its keys are removed afterwards."""
    address = f"guarded-{next(_n)}-{id(ctx)}@example.com"
    login_guard.get_redis().delete(*login_guard._keys(address))
    yield address
    login_guard.get_redis().delete(*login_guard._keys(address))


def _ttl(email: str) -> int:
    return login_guard.get_redis().ttl(login_guard._keys(email)[1])


def test_failures_below_the_limit_lock_nothing(ctx, email):
    for _ in range(ctx.config["LOGIN_MAX_FAILURES"] - 1):
        assert login_guard.record_failure(email) is None
    login_guard.check(email)  # does not raise
    assert _ttl(email) == -2  # no lock key


def test_the_limit_locks_and_each_further_failure_doubles_up_to_the_cap(ctx, email, monkeypatch):
    cfg = ctx.config
    for _ in range(cfg["LOGIN_MAX_FAILURES"] - 1):
        login_guard.record_failure(email)
    base = cfg["LOGIN_LOCKOUT_SECONDS"]
    assert login_guard.record_failure(email) == base
    assert base - 1 <= _ttl(email) <= base
    with pytest.raises(AccountLocked) as locked:
        login_guard.check(email)
    assert base - 1 <= locked.value.seconds <= base
    assert login_guard.record_failure(email) == 2 * base
    assert login_guard.record_failure(email) == 4 * base
    # The failure count outlives the lock, or the next failure would start over at one.
    fail_ttl = login_guard.get_redis().ttl(login_guard._keys(email)[0])
    assert fail_ttl > 4 * base

    monkeypatch.setitem(cfg, "LOGIN_LOCKOUT_MAX_SECONDS", 5 * base)
    assert login_guard.record_failure(email) == 5 * base  # 8 x base, capped


def test_keys_ignore_case_and_surrounding_spaces(ctx, email):
    assert login_guard._keys(email) == login_guard._keys(f"  {email.upper()} ")
    assert login_guard._keys(email) != login_guard._keys("x" + email)


def test_record_success_clears_the_count_and_the_lock(ctx, email):
    for _ in range(ctx.config["LOGIN_MAX_FAILURES"]):
        login_guard.record_failure(email)
    login_guard.record_success(email)
    login_guard.check(email)
    assert login_guard.get_redis().exists(*login_guard._keys(email)) == 0


def test_authenticate_guarded_counts_failures_and_locks_even_the_right_password(ctx):
    user = UserFactory()
    redis = login_guard.get_redis()
    redis.delete(*login_guard._keys(user.email))
    try:
        limit = ctx.config["LOGIN_MAX_FAILURES"]
        for _ in range(limit - 1):
            assert login_guard.authenticate_guarded(user.email, "wrong-password-1") is None
        with pytest.raises(AccountLocked, match="logins are paused"):
            login_guard.authenticate_guarded(user.email, "wrong-password-1")  # the one that locks
        with pytest.raises(AccountLocked):
            login_guard.authenticate_guarded(user.email, PASSWORD)
        assert int(redis.get(login_guard._keys(user.email)[0])) == limit  # not counted again

        redis.delete(login_guard._keys(user.email)[1])  # the pause has run out
        assert login_guard.authenticate_guarded(user.email, PASSWORD).id == user.id
        assert redis.exists(*login_guard._keys(user.email)) == 0
    finally:
        redis.delete(*login_guard._keys(user.email))


@pytest.mark.parametrize(
    ("seconds", "wait"),
    [
        (1, "try again in 1 second."),
        (30, "try again in 30 seconds."),
        (60, "try again in 1 minute."),
        (61, "try again in 2 minutes."),
        (900, "try again in 15 minutes."),
    ],
)
def test_account_locked_says_how_long_in_words(seconds, wait):
    exc = AccountLocked(seconds)
    assert exc.seconds == seconds
    assert str(exc).startswith("Too many failed logins for this account.")
    assert str(exc).endswith(wait)


def test_account_locked_never_says_zero_seconds():
    assert AccountLocked(0).seconds == 1 and AccountLocked(-5).seconds == 1


class _DownRedis:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise RedisConnectionError("Redis is down")

        return fail


def test_redis_down_fails_open_with_a_warning(ctx, email, monkeypatch, caplog):
    monkeypatch.setattr(login_guard, "get_redis", _DownRedis)
    with caplog.at_level(logging.WARNING, logger=login_guard.__name__):
        login_guard.check(email)
        for _ in range(ctx.config["LOGIN_MAX_FAILURES"] + 1):
            assert login_guard.record_failure(email) is None
        login_guard.record_success(email)
    assert "login guard unavailable" in caplog.text

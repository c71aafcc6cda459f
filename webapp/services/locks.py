"""Per-portfolio batch locks: two batches of one book never interleave, on any worker or machine.

The lock is a Redis key per portfolio, taken and kept with redis-py's ``Lock``: ``SET NX PX``
to take it, a random token so that only its holder can renew or release it (atomic Lua
scripts). Redis, because every worker needs it already (it is the queue) and it is the same
whatever the database: a PostgreSQL advisory lock would have no SQLite counterpart, and a
session-level one would have to pin a connection for the whole batch, which commits step by step
on the pooled session.

A holder renews its lock every ``RQ_HEARTBEAT_INTERVAL`` seconds from a thread, for
``RQ_HEARTBEAT_INTERVAL + RQ_WORKER_TTL`` seconds each time: the worker heartbeat's TTL. A worker
that dies stops renewing, so its book is free again once RQ would call its job abandoned (70 s
by default) instead of staying locked for ever or for the whole job timeout. A holder that could
not renew in time (Redis unreachable for a whole TTL) is told at its next ``check()``, before it
writes anything more.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import current_app
from redis import Redis
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from webapp.services.queueing import QueueUnavailable, get_redis

log = logging.getLogger(__name__)

KEY_PREFIX = "sigmasight:book-lock:"
POLL_SECONDS = 0.2  # how often a waiting batch tries the lock again
_SEPARATOR = "|"  # the stored token is "<owner>|<random hex>": a waiter can say who holds it


class BookLockLost(Exception):
    """The lock expired (or was taken over) while its holder was still running."""


def lock_key(portfolio_id: int) -> str:
    """The Redis key of the portfolio's batch lock."""
    return f"{KEY_PREFIX}{portfolio_id}"


class BookLock:
    """The batch lock of one portfolio, as taken by one holder (``owner`` names it to waiters).

    ``ttl`` and ``renew_every`` default to the worker heartbeat's TTL and interval.
    """

    def __init__(
        self,
        portfolio_id: int,
        owner: str,
        *,
        redis: Redis | None = None,
        ttl: float | None = None,
        renew_every: float | None = None,
    ):
        config = current_app.config
        self.portfolio_id = portfolio_id
        self.owner = owner
        self.redis = redis or get_redis()
        self.renew_every = renew_every or config["RQ_HEARTBEAT_INTERVAL"]
        self.ttl = ttl or config["RQ_HEARTBEAT_INTERVAL"] + config["RQ_WORKER_TTL"]
        # thread_local=False: the renewing thread must see the token the job thread took.
        self._lock = Lock(self.redis, lock_key(portfolio_id), timeout=self.ttl, thread_local=False)
        self._renewed_at = 0.0
        self._lost: str | None = None

    def holder(self) -> str | None:
        """Who holds the lock now (their ``owner``), or None when it is free."""
        value = self.redis.get(self._lock.name)
        if value is None:
            return None
        return value.decode(errors="replace").rsplit(_SEPARATOR, 1)[0]

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        token = f"{self.owner}{_SEPARATOR}{secrets.token_hex(8)}"
        if not self._lock.acquire(blocking=False, token=token):
            return False
        self._renewed_at, self._lost = time.monotonic(), None
        return True

    def acquire(self, wait: float, *, waiting: Callable[[str | None], bool] | None = None) -> bool:
        """Take the lock, waiting up to ``wait`` seconds for its holder to let go.

        While it waits, ``waiting(holder)`` is called with each holder it meets (once each, and
        about every 2 s): returning False stops the wait (e.g. the run was cancelled meanwhile).
        Raises ``QueueUnavailable`` when Redis cannot be reached.
        """
        deadline = time.monotonic() + wait
        seen, asked_at = object(), 0.0
        try:
            while not self.try_acquire():
                holder, now = self.holder(), time.monotonic()
                if waiting is not None and (holder != seen or now - asked_at >= 2.0):
                    seen, asked_at = holder, now
                    if not waiting(holder):
                        return False
                if now + POLL_SECONDS > deadline:
                    return False
                time.sleep(POLL_SECONDS)
        except RedisError as exc:
            log.warning(
                "Redis unreachable taking the lock of portfolio %s: %s", self.portfolio_id, exc
            )
            raise QueueUnavailable() from exc
        return True

    def release(self) -> bool:
        """Let go; False (logged) when it had expired already or Redis could not be reached."""
        try:
            self._lock.release()
        except LockError:
            log.warning("lock of portfolio %s had expired before its release", self.portfolio_id)
            return False
        except RedisError:
            log.warning(
                "could not release the lock of portfolio %s (it expires)", self.portfolio_id
            )
            return False
        return True

    def check(self) -> None:
        """Raise ``BookLockLost`` unless this holder still owns the lock."""
        if self._lost is None:
            try:
                owned = self._lock.owned()
            except RedisError:
                # Unreachable: the key cannot have expired before a TTL after the last renewal.
                owned = time.monotonic() - self._renewed_at < self.ttl
            if not owned:
                self._lost = "expired or taken over"
        if self._lost is not None:
            raise BookLockLost(
                f"the batch lock of portfolio {self.portfolio_id} was lost mid-batch "
                f"({self._lost}); stopped before writing more"
            )

    def _renew(self) -> None:
        try:
            self._lock.reacquire()
        except LockError:  # LockNotOwnedError: it expired and may belong to someone else now
            self._lost = "expired before it could be renewed"
            return
        except RedisError as exc:
            log.warning("could not renew the lock of portfolio %s: %s", self.portfolio_id, exc)
            if time.monotonic() - self._renewed_at >= self.ttl:
                self._lost = "Redis unreachable for longer than its TTL"
            return
        self._renewed_at = time.monotonic()

    @contextmanager
    def kept(self) -> Iterator[BookLock]:
        """Renew the (acquired) lock from a thread until the block ends; does not release it."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.renew_every) and self._lost is None:
                self._renew()

        thread = threading.Thread(target=renew, name=f"book-lock-{self.portfolio_id}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()

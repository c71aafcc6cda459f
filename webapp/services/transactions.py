"""Write units of work that wait for SQLite's single writer instead of failing with "locked".

SQLite lets one connection write at a time; the others wait up to the busy timeout
(``SQLITE_BUSY_TIMEOUT_MS``). Three things still turned concurrent imports into
"database is locked" errors, and each has its answer here:

- A deferred transaction that has read and then writes may be refused at once (SQLITE_BUSY on
  upgrading a stale read snapshot; the busy timeout does not apply). ``write_transaction`` starts
  with BEGIN IMMEDIATE instead: it takes the write lock first, waiting its turn, and everything
  after runs on a snapshot no one else can change.
- A writer holding the lock longer than the others' busy timeout. Keep a unit of work short:
  validate and build rows before it, bulk-insert inside it.
- A wait that ran out anyway: ``run_write`` re-runs the whole unit a bounded number of times.

On PostgreSQL ``write_transaction`` is a plain transaction (commit, or roll back on error), and
``run_write`` never retries: its row locks make writers wait already.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from webapp.extensions import db

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITE_ATTEMPTS = 3  # a unit that found the database locked this often gives up (and raises)
RETRY_PAUSE_S = 0.2  # doubled after each attempt, with jitter so retries do not collide
_DEPTH = "sigmasight.write_depth"  # key in Session.info: how many write units are open
# SQLITE_BUSY and SQLITE_LOCKED; the extended codes (e.g. BUSY_SNAPSHOT 517) share the low byte.
_LOCK_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


@contextmanager
def write_transaction(session: Session | None = None) -> Iterator[Session]:
    """One write unit of work: BEGIN IMMEDIATE on SQLite, commit at the end, roll back on error.

    Nested units join the outermost one (only it commits). When the session already has
    uncommitted writes, the transaction they opened is used as it is: it holds the lock already.
    """
    session = session or db.session()
    depth = session.info.get(_DEPTH, 0)
    if depth:
        session.info[_DEPTH] = depth + 1
        try:
            yield session
        finally:
            session.info[_DEPTH] = depth
        return
    if _is_sqlite(session):
        connection = session.connection()
        if not connection.connection.dbapi_connection.in_transaction:
            # pysqlite would send a deferred BEGIN before the first write; take the lock now.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    session.info[_DEPTH] = 1
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info[_DEPTH] = 0


def is_lock_error(exc: BaseException) -> bool:
    """True for SQLite's "database is locked".

    Either the wait ran out or a snapshot upgrade was refused.
    """
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _LOCK_CODES
    return "locked" in str(orig)


def run_write(
    unit: Callable[[], T], *, session: Session | None = None, attempts: int = WRITE_ATTEMPTS
) -> T:
    """``unit()`` inside ``write_transaction``, re-run from the start when SQLite was locked.

    ``unit`` must be safe to run again: it builds its ORM objects itself (a rollback discards
    them) and may reuse plain data prepared beforehand. Inside another write unit it simply runs
    (a retry there would repeat only half of the outer unit).
    """
    session = session or db.session()
    if session.info.get(_DEPTH, 0):
        return unit()
    for attempt in range(1, attempts + 1):
        try:
            with write_transaction(session):
                return unit()
        except OperationalError as exc:
            if attempt == attempts or not is_lock_error(exc):
                raise
            pause = RETRY_PAUSE_S * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
            log.warning(
                "database locked (attempt %d of %d); retrying in %.2f s", attempt, attempts, pause
            )
            time.sleep(pause)
    raise AssertionError("unreachable")  # the loop returns or raises

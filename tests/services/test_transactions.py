"""services.transactions called directly: write units, lock detection, bounded re-runs.

The concurrency behaviour against a second real SQLite connection (a stale snapshot refused, a
unit waiting its turn) is in tests/security/test_sqlite_concurrency.py; these pin the unit's own
contract on whichever database the suite runs.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.factories import TagFactory, UserFactory
from webapp.extensions import db
from webapp.models import Tag
from webapp.services import transactions
from webapp.services.transactions import is_lock_error, run_write, write_transaction


def _names(user_id: int) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(select(Tag.name).where(Tag.user_id == user_id)))


def _locked(message: str = "database is locked", code: int | None = None) -> OperationalError:
    orig = sqlite3.OperationalError(message)
    if code is not None:
        orig.sqlite_errorcode = code
    return OperationalError("INSERT ...", {}, orig)


def test_write_transaction_commits_at_the_end(ctx):
    user_id = UserFactory().id
    with write_transaction() as session:
        assert session is db.session()
        session.add(Tag(user_id=user_id, name="kept"))
    db.session.rollback()  # nothing left to roll back: it was committed
    assert _names(user_id) == {"kept"}


def test_write_transaction_rolls_back_and_reraises(ctx):
    user_id = UserFactory().id
    with pytest.raises(ZeroDivisionError):
        with write_transaction():
            db.session.add(Tag(user_id=user_id, name="lost"))
            db.session.flush()
            1 / 0
    assert _names(user_id) == set()
    assert db.session.info[transactions._DEPTH] == 0  # the next unit starts afresh


def test_an_integrity_error_inside_the_unit_leaves_nothing(ctx):
    tag = TagFactory()
    with pytest.raises(IntegrityError):
        with write_transaction():
            db.session.add(Tag(user_id=tag.user_id, name="fresh"))
            db.session.add(Tag(user_id=tag.user_id, name=tag.name))  # unique per advisor
    assert _names(tag.user_id) == {tag.name}


def test_nested_units_join_the_outer_one_and_commit_with_it(ctx):
    user_id = UserFactory().id
    with write_transaction():
        with write_transaction():
            db.session.add(Tag(user_id=user_id, name="inner"))
        assert db.session.info[transactions._DEPTH] == 1  # back to the outer unit
        db.session.add(Tag(user_id=user_id, name="outer"))
    assert _names(user_id) == {"inner", "outer"}


def test_run_write_returns_the_units_value_and_commits(ctx):
    user_id = UserFactory().id

    def unit() -> int:
        tag = Tag(user_id=user_id, name="returned")
        db.session.add(tag)
        db.session.flush()
        return tag.id

    tag_id = run_write(unit)
    db.session.expire_all()
    assert db.session.get(Tag, tag_id).name == "returned"


def test_run_write_inside_a_unit_runs_once_without_retrying(ctx, monkeypatch):
    """A retry there would repeat only half of the outer unit: the lock error goes up."""
    monkeypatch.setattr(transactions, "RETRY_PAUSE_S", 0.0)
    calls = []

    def locked() -> None:
        calls.append(1)
        raise _locked()

    with pytest.raises(OperationalError, match="locked"):
        with write_transaction():
            run_write(locked)
    assert calls == [1]


def test_run_write_honours_its_attempts_argument(ctx, monkeypatch):
    monkeypatch.setattr(transactions, "RETRY_PAUSE_S", 0.0)
    calls = []

    def locked_twice() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _locked()
        return "third time"

    with pytest.raises(OperationalError):
        run_write(locked_twice, attempts=2)
    assert len(calls) == 2
    calls.clear()
    assert run_write(locked_twice, attempts=3) == "third time" and len(calls) == 3


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_locked(), True),
        (_locked("database table is locked"), True),
        (_locked("anything", code=sqlite3.SQLITE_BUSY), True),
        (_locked("anything", code=517), True),  # SQLITE_BUSY_SNAPSHOT: BUSY in the low byte
        (_locked("anything", code=262), True),  # SQLITE_LOCKED_SHAREDCACHE
        (_locked("locked, says the text", code=1), False),  # the code wins over the words
        (_locked("no such table: nope"), False),
        (sqlite3.OperationalError("database is locked"), True),  # the driver's own error
        (OperationalError("SELECT", {}, RuntimeError("database is locked")), False),
        (ValueError("database is locked"), False),
    ],
)
def test_is_lock_error(exc, expected):
    assert is_lock_error(exc) is expected


def test_write_transaction_on_sqlite_takes_the_write_lock_first(ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("BEGIN IMMEDIATE is SQLite's; PostgreSQL runs a plain transaction")
    with write_transaction() as session:
        raw = session.connection().connection.dbapi_connection
        assert raw.in_transaction  # begun before any write was sent

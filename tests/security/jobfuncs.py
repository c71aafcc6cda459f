"""Job functions the worker tests enqueue by dotted name (importable from the project root)."""

from __future__ import annotations

import time


def poison_session() -> None:
    """Fail as a careless job would: a flush error left in the worker's own session, no rollback."""
    from webapp.extensions import db
    from webapp.models import Portfolio

    db.session.add(Portfolio(user_id=None, name="no owner"))  # NOT NULL violation
    db.session.flush()


def hang(seconds: float = 120.0) -> None:
    """A job that is still running when the test kills its worker."""
    time.sleep(seconds)

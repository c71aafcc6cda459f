"""Run job bodies inside a Flask app context of their own."""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, has_app_context

from webapp.extensions import db


@contextmanager
def app_context():
    """A fresh app context per job, so every job gets its own database session.

    Jobs run in `flask worker` (or a test), which has built the app: the jobs package never
    builds one itself, so imports point one way (the app's CLI registers the jobs, not the
    reverse). The worker runs every job in one process; sharing a session would let one job's
    failed transaction poison every later job (PendingRollbackError for everyone). On any
    exception the session is rolled back before the error reaches RQ, and leaving the context
    removes the session.
    """
    if not has_app_context():
        raise RuntimeError("jobs run inside the app: start workers with `flask worker`")
    app = current_app._get_current_object()
    with app.app_context():
        try:
            yield app
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()

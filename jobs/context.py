"""Run job bodies inside a Flask app context, whichever worker executes them."""

from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, current_app, has_app_context

_app: Flask | None = None


@contextmanager
def app_context():
    """A fresh app context per job, so every job gets its own database session.

    The worker (`flask worker`) runs every job in one process; sharing a session would let one
    job's failed transaction poison every later job (PendingRollbackError for everyone). On any
    exception the session is rolled back before the error reaches RQ, and leaving the context
    removes the session.
    """
    global _app
    if has_app_context():
        app = current_app._get_current_object()
    else:
        if _app is None:
            from webapp import create_app

            _app = create_app()
        app = _app
    from webapp.extensions import db

    with app.app_context():
        try:
            yield app
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()

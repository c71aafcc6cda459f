"""Run job bodies inside a Flask app context, whichever worker executes them."""
from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, current_app, has_app_context

_app: Flask | None = None


@contextmanager
def app_context():
    """Reuse the worker's context (`flask worker`); a bare `rq worker` gets one app, built once."""
    global _app
    if has_app_context():
        yield current_app
        return
    if _app is None:
        from webapp import create_app

        _app = create_app()
    with _app.app_context():
        yield _app

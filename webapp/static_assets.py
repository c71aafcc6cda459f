"""Fingerprinted static files: ``url_for('static', ...)`` names each file by its content.

``app.css`` is linked as ``app.<12 hex of its SHA-256>.css`` and that name is served with
``Cache-Control: public, max-age=1 year, immutable``, so a browser fetches plotly.js once per
version and never revalidates it; a changed file gets a new name. A request for the plain
name, or for a digest that is no longer current (a page cached across a deploy), gets the
current file with the default revalidation, never a 404.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

from flask import Flask, current_app, send_from_directory

FINGERPRINT = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<ext>\.[A-Za-z0-9]+)$")
IMMUTABLE_SECONDS = 365 * 24 * 3600

_digests: dict[tuple[str, float], str] = {}
_lock = threading.Lock()


def digest(path: Path) -> str:
    """The first 12 hex digits of the file's SHA-256, cached per (path, mtime)."""
    key = (str(path), path.stat().st_mtime)
    with _lock:
        known = _digests.get(key)
    if known is None:
        known = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        with _lock:
            _digests[key] = known
    return known


def fingerprinted(filename: str) -> str:
    """``css/app.css`` -> ``css/app.<digest>.css`` (unchanged if there is no such file)."""
    path = Path(current_app.static_folder) / filename
    if not path.is_file() or FINGERPRINT.match(filename):
        return filename
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        return filename
    return f"{stem}.{digest(path)}.{ext}"


def _url_defaults(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values:
        values["filename"] = fingerprinted(values["filename"])


def _serve(filename: str):
    match = FINGERPRINT.match(filename)
    if match:
        real = match["stem"] + match["ext"]
        path = Path(current_app.static_folder) / real
        if path.is_file():
            if digest(path) != match["digest"]:
                return current_app.send_static_file(real)  # stale name: revalidate
            response = send_from_directory(
                current_app.static_folder, real, max_age=IMMUTABLE_SECONDS
            )
            response.cache_control.public = True
            response.cache_control.immutable = True
            return response
    return current_app.send_static_file(filename)


class _NoCookieVary:
    """WSGI middleware: drop ``Cookie`` from ``Vary`` on static responses.

    Flask adds ``Vary: Cookie`` whenever the session was read, and Flask-Login reads it after
    every request; the signed session cookie changes with each response, so a browser would
    treat every page's plotly.js as a different resource. Static files never depend on it.
    """

    def __init__(self, wsgi_app, prefix: str) -> None:
        self.wsgi_app, self.prefix = wsgi_app, prefix.rstrip("/") + "/"

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(self.prefix):
            return self.wsgi_app(environ, start_response)

        def start(status, headers, exc_info=None):
            kept = []
            for name, value in headers:
                if name.lower() == "vary":
                    value = ", ".join(
                        v for v in (x.strip() for x in value.split(",")) if v.lower() != "cookie"
                    )
                    if not value:
                        continue
                kept.append((name, value))
            return start_response(status, kept, exc_info)

        return self.wsgi_app(environ, start)


def init_app(app: Flask) -> None:
    """Fingerprint static URLs and serve fingerprinted names as immutable."""
    app.url_defaults(_url_defaults)
    app.view_functions["static"] = _serve
    app.wsgi_app = _NoCookieVary(app.wsgi_app, app.static_url_path or "/static")

"""What the bench scripts share: a migrated throwaway database, a gunicorn to measure and the
load average every figure is printed with."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def load_average() -> str:
    """The 1, 5 and 15-minute load averages: how busy the shared box was during a timing."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def migrated_app(db_url: str, **overrides):
    """A development app on a fresh migrated database at ``db_url`` with the bundled prices."""
    import flask_migrate

    from webapp import create_app
    from webapp.marketdata.bundled import BundledProvider
    from webapp.marketdata.sync import sync_prices

    app = create_app("development", SQLALCHEMY_DATABASE_URI=db_url, **overrides)
    if app.config["SQLALCHEMY_DATABASE_URI"] != db_url:  # never touch instance/sigmasight.db
        raise RuntimeError(f"refusing to build into {app.config['SQLALCHEMY_DATABASE_URI']}")
    with app.app_context():
        flask_migrate.upgrade()
        sync_prices(BundledProvider())
    return app


def start_gunicorn(
    cwd: Path,
    port: int,
    env: dict,
    log_path: Path,
    *,
    workers: int,
    threads: int,
    timeout: int = 60,
) -> subprocess.Popen:
    """gunicorn serving ``wsgi:app`` from ``cwd`` on 127.0.0.1:``port``, once /health answers."""
    import requests

    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            str(timeout),
            "wsgi:app",
        ],
        cwd=cwd,
        env=env,
        stdout=open(log_path, "wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
            )
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /health in 60 s:\n{log_path.read_text()[-3000:]}")


def csrf_token(html: str) -> str:
    """The value of the page's csrf_token input."""
    import re

    field = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html)
    value = re.search(r'value="([^"]+)"', field.group(0)) if field else None
    if value is None:
        raise RuntimeError("no csrf_token input in the page")
    return value.group(1)


def browser_login(base: str, email: str, password: str, *, timeout: float = 30):
    """A requests session logged in through the form, as a browser would (CSRF token included)."""
    import requests

    session = requests.Session()
    token = csrf_token(session.get(f"{base}/login", timeout=timeout).text)
    response = session.post(
        f"{base}/login",
        timeout=timeout,
        data={"email": email, "password": password, "csrf_token": token},
    )
    if response.status_code != 200 or not response.url.rstrip("/").endswith("/portfolios"):
        raise RuntimeError(
            f"login as {email} failed: HTTP {response.status_code} at {response.url}"
        )
    return session

"""Browser fixtures: the demo books' batch results, the app under gunicorn, one headless Chromium.

The server is a real gunicorn on a free loopback port, built from the session app's config
(SIGMASIGHT_ENV=testing with TEST_DATABASE_URL / TEST_REDIS_URL), so it reads the same migrated
database and Redis as the rest of the suite. Chromium is Debian's (/usr/bin/chromium): the tests
skip, saying so, only where no Chromium binary exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "demo12345"


def chromium_path() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def testing_env(app) -> dict:
    """The environment a subprocess needs to run this session's app (server or worker)."""
    return dict(
        os.environ,
        SIGMASIGHT_ENV="testing",
        TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        TEST_REDIS_URL=app.config["REDIS_URL"],
        PYTHONUNBUFFERED="1",
    )


@pytest.fixture(scope="session")
def demo_books(app) -> dict[str, int]:
    """email -> portfolio id of each demo book, after a successful batch for each."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Portfolio, User
    from webapp.services.batch import run_portfolio_batch
    from webapp.services.demo import DEMO_BOOKS

    books = {}
    with app.app_context():
        for book in DEMO_BOOKS:
            user = db.session.scalar(select(User).where(User.email == book.email))
            portfolio = db.session.scalar(
                select(Portfolio).where(
                    Portfolio.user_id == user.id, Portfolio.name == book.portfolio
                )
            )
            run = run_portfolio_batch(portfolio.id, trigger="test")
            assert run.status == "succeeded", (book.email, run.steps)
            books[book.email] = portfolio.id
        db.session.remove()
    return books


@pytest.fixture(scope="session")
def live_server(app, demo_books, tmp_path_factory):
    """Base URL of gunicorn serving the session app (2 workers × 4 threads, loopback only)."""
    from webapp.embedded_redis import free_port, stop

    port = free_port()
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "60",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=testing_env(app),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"gunicorn did not answer /health in 60 s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.2)
        yield base
    finally:
        stop(proc)
        log.close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    executable = chromium_path()
    if executable is None:
        missing = "browser tests need Chromium: no /usr/bin/chromium and no `chromium` on PATH"
        # CI sets REQUIRE_CHROMIUM: there a missing browser fails the run instead of skipping.
        if os.environ.get("REQUIRE_CHROMIUM"):
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def login(context, base: str, email: str, password: str = DEMO_PASSWORD):
    """Log in through the form in a new page of ``context``; returns the page (on the list)."""
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form.form [type=submit]")
    return page


@pytest.fixture(scope="session")
def account(browser, live_server):
    """account(email) -> a page logged in as that advisor; one browser context per account."""
    contexts: dict[str, object] = {}
    pages: dict[str, object] = {}

    def get(email: str):
        if email not in pages:
            contexts[email] = browser.new_context(viewport={"width": 1366, "height": 900})
            contexts[email].set_default_timeout(20_000)
            pages[email] = login(contexts[email], live_server, email)
        return pages[email]

    yield get
    for context in contexts.values():
        context.close()


@pytest.fixture()
def fresh_login(browser, live_server):
    """fresh_login(email, **context_options) -> a page in a new, test-owned, logged-in context."""
    contexts = []

    def make(email: str, **options):
        options.setdefault("viewport", {"width": 1366, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return login(context, live_server, email)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture()
def run_worker(app):
    """run_worker() -> CompletedProcess of `flask worker --burst` on this session's DB and Redis."""

    def run() -> subprocess.CompletedProcess:
        flask = Path(sys.executable).parent / "flask"
        return subprocess.run(
            [str(flask), "--app", "wsgi", "worker", "--burst"],
            cwd=ROOT,
            env=testing_env(app),
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run

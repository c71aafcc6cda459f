"""The Content-Security-Policy in real headless Chromium: no page of a demo account reports a
violation, the charts still render, HTMX still swaps, and the behaviour that used to be inline
handlers (portfolio switcher, tag delete confirmation) works from static/js/app.js.

Fixtures are in tests/browser/conftest.py (gunicorn on the session database, one Chromium).
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from webapp.services.demo import DEMO_BOOKS, DEMO_PASSWORD

pytestmark = pytest.mark.browser

HEDGE = DEMO_BOOKS[2].email  # the richest book: longs, shorts, calls and puts
STRONG_PASSWORD = "Kestrel-Orbit-42"

# Runs in every document before the page's own scripts (Playwright injects it past the CSP).
COLLECT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', e => window.reportCspViolation({
  page: location.pathname, directive: e.violatedDirective, blocked: e.blockedURI,
  source: e.sourceFile, line: e.lineNumber, sample: e.sample}));
"""
# Chart pages and how many Plotly charts each draws for the hedge-fund-style book.
CHART_PAGES = {
    "overview": 2,
    "correlations": 1,
    "factors": 1,
    "risk": 3,
    "stress": 1,
    "performance": 1,
    "positions/{position}": 1,
}
CHARTS_READY = """
() => [...document.querySelectorAll('[data-figure]')].every(el =>
  el.dataset.rendered === '1' && el.classList.contains('js-plotly-plot')
  && Array.isArray(el.data) && el.data.length > 0)
"""


class Watch:
    """CSP violations, console errors and uncaught exceptions of one browser context."""

    def __init__(self, context):
        self.violations: list[dict] = []
        self.console: list[str] = []
        self.errors: list[str] = []
        context.expose_function("reportCspViolation", lambda v: self.violations.append(v))
        context.add_init_script(COLLECT_VIOLATIONS)

    def page(self, context):
        page = context.new_page()
        page.on("console", lambda m: self._console(m, page))
        page.on("pageerror", lambda exc: self.errors.append(f"{exc} ({page.url})"))
        return page

    def _console(self, message, page) -> None:
        # Chromium asks for /favicon.ico on its own; the app has none (a 404 in the console).
        if message.location.get("url", "").endswith("/favicon.ico"):
            return
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            self.console.append(f"{message.type}: {message.text} ({page.url})")

    def assert_clean(self) -> None:
        assert not self.violations, self.violations
        assert not self.console, self.console
        assert not self.errors, self.errors


@pytest.fixture()
def watched(browser):
    """watched() -> (context, Watch, page): a fresh context watched from its first document."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        watch = Watch(context)
        return context, watch, watch.page(context)

    yield make
    for context in contexts:
        context.close()


def log_in(page, base: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """The login form, itself a page under the policy."""
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form.form [type=submit]")
    assert page.url.endswith("/portfolios/"), page.url


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, f"{url}: HTTP {response.status}"
    page.wait_for_load_state("load")
    page.wait_for_function(CHARTS_READY, timeout=20_000)


def demo_pages(app, portfolio_id: int) -> tuple[list[str], int]:
    """Every page an advisor can open for one portfolio, plus the account-wide ones; and the
    position id the position pages use."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Position

    with app.app_context():
        position = db.session.scalar(
            select(Position.id).where(Position.portfolio_id == portfolio_id).order_by(Position.id)
        )
        db.session.remove()
    p = f"/portfolios/{portfolio_id}"
    return [
        "/portfolios/",
        "/portfolios/new",
        "/portfolios/tags",
        "/imports/new",
        "/methodology/validation",
        p,
        f"{p}/overview",
        f"{p}/correlations",
        f"{p}/factors",
        f"{p}/risk",
        f"{p}/stress",
        f"{p}/performance",
        f"{p}/jobs",
        f"{p}/positions/{position}",
        f"{p}/edit",
        f"{p}/delete",
        f"{p}/positions/new",
        f"{p}/positions/{position}/edit",
        f"{p}/positions/{position}/close",
        f"{p}/positions/{position}/delete",
    ], position


def test_no_csp_violation_on_any_page_of_a_demo_account(app, watched, live_server, demo_books):
    context, watch, page = watched()
    log_in(page, live_server, HEDGE)
    pid = demo_books[HEDGE]
    pages, position = demo_pages(app, pid)
    charts = {}
    for path in pages:
        visit(page, live_server + path)
        charts[path] = page.locator(".js-plotly-plot").count()
    for name, least in CHART_PAGES.items():
        path = f"/portfolios/{pid}/" + name.format(position=position)
        assert charts[path] >= least, (path, charts)
    response = page.goto(live_server + "/no-such-page")  # the error page is a page too
    assert response.status == 404 and page.locator("main h1").count() == 1
    watch.console = [m for m in watch.console if "/no-such-page" not in m]  # its own 404 only
    watch.assert_clean()


def test_htmx_swaps_under_the_policy(watched, live_server, demo_books):
    context, watch, page = watched()
    log_in(page, live_server, HEDGE)
    pid = demo_books[HEDGE]
    visit(page, f"{live_server}/portfolios/{pid}/correlations")
    page.evaluate("window.__marker = 1")
    with page.expect_response(lambda r: "lookback_days=30" in r.url) as swap:
        page.select_option("#lookback", "30")
    assert swap.value.request.headers.get("hx-request") == "true"
    page.wait_for_selector('#heatmap[data-lookback="30"]')
    page.wait_for_function(CHARTS_READY)
    assert page.evaluate("window.__marker") == 1, "the page reloaded instead of swapping"
    z = page.evaluate("document.getElementById('correlation-heatmap').data[0].z")
    assert len(z) >= 2

    visit(page, f"{live_server}/portfolios/{pid}/stress")
    page.evaluate("window.__marker = 1")
    page.locator("table.scenarios tbody tr a", has_text="positions").first.click()
    page.wait_for_selector("#scenario-detail #scenario-positions")
    assert page.evaluate("window.__marker") == 1
    watch.assert_clean()


def test_the_policy_is_enforced_and_reported(watched, live_server):
    """A control: an injected inline script is blocked, and the collector sees the violation."""
    context, watch, page = watched()
    page.goto(live_server + "/login")
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.__ran = 1'; document.body.appendChild(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran") is None
    assert [v["directive"] for v in watch.violations][:1] in (["script-src-elem"], ["script-src"])


@pytest.fixture()
def two_books(app):
    """A new advisor with two small portfolios and a tag (the switcher needs a second book)."""
    from webapp.extensions import db
    from webapp.models import Portfolio, Position, Tag, User

    with app.app_context():
        user = User(email=f"csp-{os.getpid()}-{id(app)}@example.com")
        user.set_password(STRONG_PASSWORD)
        db.session.add(user)
        db.session.flush()
        books = []
        for name in ("Alpha book", "Beta book"):
            portfolio = Portfolio(user_id=user.id, name=name, cash=1000.0)
            portfolio.positions.append(
                Position(
                    symbol="AAPL",
                    quantity=5.0,
                    entry_price=150.0,
                    entry_date=dt.date(2025, 1, 2),
                    position_type="LONG",
                )
            )
            db.session.add(portfolio)
            books.append(portfolio)
        db.session.add(Tag(user_id=user.id, name="to-delete", color="#4c78a8"))
        db.session.commit()
        result = (user.email, [b.id for b in books])
        db.session.remove()
    return result


def test_switcher_and_delete_confirmation_work_without_inline_handlers(
    watched, live_server, two_books
):
    email, (alpha, beta) = two_books
    context, watch, page = watched()
    log_in(page, live_server, email, STRONG_PASSWORD)

    page.goto(f"{live_server}/portfolios/{alpha}")
    assert page.get_attribute("#portfolio-switcher", "onchange") is None
    with page.expect_navigation():
        page.select_option("#portfolio-switcher", str(beta))
    assert page.url.endswith(f"/portfolios/{beta}"), page.url

    page.goto(f"{live_server}/portfolios/tags")
    tag = page.locator('li[data-tag="to-delete"]')
    messages = []

    def answer(accept: bool):
        def handle(dialog):
            messages.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    page.once("dialog", answer(False))
    tag.locator("button[type=submit]").click()
    page.wait_for_timeout(300)
    assert tag.count() == 1, "Cancel must keep the tag"
    page.once("dialog", answer(True))
    with page.expect_navigation():
        tag.locator("button[type=submit]").click()
    assert page.locator('li[data-tag="to-delete"]').count() == 0
    assert messages == ["Delete the tag to-delete? Its positions stay, untagged."] * 2
    watch.assert_clean()

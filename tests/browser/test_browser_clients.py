"""Issue 16 in real headless Chromium: the book list sorts through HTMX and compares books; a
client is created, takes the questionnaire and gets accounts; a household combines them; a rule
raises an alert that is acknowledged with a note; the forward range draws its fan chart."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import login
from tests.browser.test_browser_dashboard import marker, navigate, set_marker, wait_for_charts

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"


@pytest.fixture(scope="module")
def advisor(app):
    """A new advisor with two calculated accounts (names, ids)."""
    from tests.factories import PortfolioFactory, PositionFactory, UserFactory
    from webapp.extensions import db
    from webapp.services.batch import run_portfolio_batch

    with app.app_context():
        user = UserFactory(password=PASSWORD)
        books = {}
        for name, holdings in (
            ("Maria taxable", (("AAPL", 200), ("MSFT", 100))),
            ("Maria IRA", (("JNJ", 50), ("PG", 60), ("XOM", 40))),
        ):
            book = PortfolioFactory(owner=user, name=name, cash=2_000.0)
            for symbol, qty in holdings:
                PositionFactory(portfolio=book, symbol=symbol, quantity=qty, entry_price=100.0)
            assert run_portfolio_batch(book.id).status == "succeeded"
            books[name] = book.id
        email = user.email
        db.session.remove()
    return email, books


@pytest.fixture()
def page(browser, live_server, advisor):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(20_000)
    yield login(context, live_server, advisor[0], PASSWORD)
    context.close()


def _book_order(page) -> list[str]:
    return page.locator("#book-table tbody tr").evaluate_all("trs => trs.map(t => t.dataset.book)")


def test_the_book_list_sorts_in_place_and_compares(page, live_server, advisor):
    _, books = advisor
    assert page.url == live_server + "/portfolios/"
    set_marker(page)
    page.click("#book-table th a[data-sort-key=equity]")
    page.wait_for_selector("#book-list[data-sort=equity][data-order=asc]")
    ascending = _book_order(page)
    page.click("#book-table th a[data-sort-key=equity]")
    page.wait_for_selector("#book-list[data-sort=equity][data-order=desc]")
    assert _book_order(page) == ascending[::-1]
    assert marker(page) == 1, "the sort reloaded the page instead of swapping the table"
    assert "sort=equity" in page.url
    for book_id in books.values():
        page.check(f"#book-table input[name=ids][value='{book_id}']")
    navigate(page, lambda: page.click("#compare-button"))
    assert "/portfolios/compare" in page.url
    assert page.locator("#compare-table thead th[data-book]").count() == 2
    equity = page.locator("#compare-table tr[data-row=equity] td.num").all_inner_texts()
    assert all(text.startswith("$") for text in equity), equity


def test_client_questionnaire_household_and_alert_lifecycle(page, live_server, advisor):
    _, books = advisor
    navigate(page, lambda: page.locator("nav.mainnav a", has_text="Clients").click())
    navigate(
        page, lambda: page.locator("#client-actions").get_by_role("link", name="New client").click()
    )
    page.fill("#name", "Maria Garcia")
    navigate(page, lambda: page.click("form.form [type=submit]"))
    assert "Maria Garcia" in page.locator("main h1").inner_text()
    client_url = page.url

    navigate(
        page,
        lambda: (
            page.locator("#tolerance")
            .get_by_role("link", name="Take the risk questionnaire")
            .click()
        ),
    )
    for fieldset in page.locator("#questionnaire fieldset").all():
        fieldset.locator("input[type=radio]").first.check()  # the most cautious answer each time
    navigate(page, lambda: page.click("#questionnaire [type=submit]"))
    assert page.url == client_url
    assert "Conservative" in page.locator("main").inner_text()

    for book_id in books.values():
        page.check(f"input[name=portfolio_ids][value='{book_id}']")
    navigate(page, lambda: page.get_by_role("button", name="Save accounts").click())
    for name in books:
        assert page.locator("#client-accounts", has_text=name).count() == 1

    navigate(page, lambda: page.goto(live_server + "/clients/households/new"))
    page.fill("#name", "Garcia household")
    for book_id in books.values():
        page.check(f"input[name=account_ids][value='{book_id}']")
    navigate(page, lambda: page.click("form.form [type=submit]"))
    main = page.locator("main").inner_text()
    assert "Garcia household" in main and all(name in main for name in books)

    taxable = books["Maria taxable"]
    navigate(page, lambda: page.goto(f"{live_server}/alerts/rules/{taxable}"))
    page.select_option("#kind", "single_name_pct")
    page.fill("#threshold", "20")
    navigate(page, lambda: page.click("form.form [type=submit]"))
    navigate(page, lambda: page.goto(f"{live_server}/portfolios/{taxable}/overview"))
    # One alert per name above the limit: AAPL (about 57%) and MSFT (about 43%).
    assert page.locator("#alerts-panel li[data-alert]").count() == 2
    alert = page.locator("#alerts-panel li[data-alert] a", has_text="AAPL")
    assert re.search(r"AAPL is [\d.]+% of equity", alert.inner_text()), alert.inner_text()
    navigate(page, alert.click)
    page.fill("#note", "Trimming AAPL next week")
    navigate(page, lambda: page.get_by_role("button", name="Acknowledge").click())
    trail = page.locator("tr[data-event]").evaluate_all("trs => trs.map(t => t.dataset.event)")
    assert trail == ["new", "seen", "acknowledged"], trail
    assert "Trimming AAPL next week" in page.locator("main").inner_text()


def test_the_forward_range_draws_its_fan_chart(page, live_server, advisor):
    _, books = advisor
    navigate(
        page, lambda: page.goto(f"{live_server}/portfolios/{books['Maria IRA']}/forward-range")
    )
    wait_for_charts(page, ["fan-chart"])
    assert page.locator("#band-table tbody tr").count() == 10
    set_marker(page)
    page.select_option("#method", "parametric")
    page.wait_for_selector("#forward-range[data-method=parametric]")
    assert marker(page) == 1
    wait_for_charts(page, ["fan-chart"])

"""The dashboard in real headless Chromium against gunicorn: every page of every demo book,
the HTMX partials (look-back, sort/filter, stress category and scenario detail), a recalculation
through a real RQ worker, logging out, and the tablet layout.

Fixtures are in tests/browser/conftest.py. Screenshots:
test-artifacts/screenshots/{account}-{page}.png.
"""

from __future__ import annotations

import re

import pytest

from webapp.services.demo import DEMO_BOOKS

pytestmark = pytest.mark.browser

DEMO_EMAILS = tuple(book.email for book in DEMO_BOOKS)  # the accounts of tests/conftest.py
AS_OF = "2026-08-03"
INDIVIDUAL, HNW, HEDGE = DEMO_EMAILS

# key, sub-navigation label, charts that must hold data, elements that must be on the page
PAGES = [
    ("positions", "Positions", [], ["positions"]),  # where the portfolio list links to
    (
        "overview",
        "Overview",
        ["exposure-chart", "sector-chart"],
        ["overview-kpis", "positions-table"],
    ),
    (
        "correlations",
        "Correlations",
        ["correlation-heatmap"],
        ["lookback", "heatmap", "diversification-reading"],
    ),
    ("factors", "Factors", ["factor-chart"], ["factor-table", "factor-positions"]),
    (
        "risk",
        "Risk",
        ["drawdown-chart", "return-histogram", "contribution-chart"],
        ["risk-lookback", "risk-metrics", "var-table", "risk-contributions"],
    ),
    ("stress", "Stress tests", ["stress-chart"], ["category-filter", "scenario-detail"]),
    ("forward_range", "Forward range", ["fan-chart"], ["risk-score-card", "band-table"]),
    (
        "performance",
        "Performance",
        ["growth-chart", "value-chart"],
        ["period-returns", "risk-adjusted"],
    ),
    ("jobs", "Jobs", [], []),
]

# Chart ids -> "ok" / what is wrong, for every id asked plus every [data-figure] on the page.
CHART_STATE_JS = """
(ids) => {
  const all = new Set(ids);
  document.querySelectorAll('[data-figure]').forEach(el => all.add(el.id || '(no id)'));
  const state = {};
  for (const id of all) {
    const el = document.getElementById(id);
    if (!el) { state[id] = 'missing'; continue; }
    if (!el.classList.contains('js-plotly-plot')) { state[id] = 'not rendered by plotly'; continue; }
    const data = el.data;
    if (!Array.isArray(data) || data.length === 0) { state[id] = 'no traces'; continue; }
    const filled = data.some(t => ['x', 'y', 'z'].some(k => t[k] && t[k].length > 0));
    state[id] = filled ? 'ok' : 'traces without x/y/z data';
  }
  return state;
}
"""  # noqa: E501 (JavaScript kept verbatim)
CHARTS_RENDERED_JS = """
(ids) => ids.every(id => { const el = document.getElementById(id);
  return el && el.classList.contains('js-plotly-plot') && Array.isArray(el.data); })
  && [...document.querySelectorAll('[data-figure]')].every(el => el.dataset.rendered === '1')
"""


def account_name(email: str) -> str:
    return email.split("@")[0].removeprefix("demo_")


def wait_for_charts(page, ids: list[str]) -> None:
    page.wait_for_function(CHARTS_RENDERED_JS, arg=ids, timeout=20_000)
    state = page.evaluate(CHART_STATE_JS, ids)
    bad = {k: v for k, v in state.items() if v != "ok"}
    assert not bad, f"{page.url}: charts without data: {bad}"
    assert set(ids) <= set(state)


def assert_dashboard_page(page, status: int, charts: list[str], elements: list[str]) -> None:
    """Not an error page, the as-of date shown, the expected elements present, charts hold data."""
    title = page.title()
    heading = page.locator("main h1").first.inner_text()
    assert status == 200, f"{page.url}: HTTP {status} ({title})"
    assert not heading[:3].isdigit(), f"{page.url}: error page {heading!r}"
    assert page.locator(".missing").count() == 0, (
        f"{page.url}: 'no results' card: {page.locator('.missing').first.inner_text()}"
    )
    assert AS_OF in page.locator(".asof").first.inner_text(), page.url
    for element in elements:
        assert page.locator(f"#{element}").count() == 1, f"{page.url}: no #{element}"
    wait_for_charts(page, charts)


def navigate(page, action) -> int:
    """Run ``action`` (a click) and return the HTTP status of the page it loads."""
    with page.expect_navigation() as navigation:
        action()
    page.wait_for_load_state("load")
    return navigation.value.status


def subnav(page, label: str):
    return page.locator("nav.subnav").get_by_role("link", name=label, exact=True)


def rows(page, selector: str = "#positions-table tbody tr[data-symbol]") -> list[str]:
    # Position rows only: an option's facts sit in a row of their own under it.
    return page.locator(selector).evaluate_all("trs => trs.map(tr => tr.dataset.symbol)")


def total_rows(page) -> int:
    """The overview pager's "· N positions"."""
    text = page.locator("#positions-table .pager").inner_text()
    return int(re.search(r"(\d+) positions", text).group(1))


def set_marker(page) -> None:
    page.evaluate("window.__marker = 1")


def marker(page):
    return page.evaluate("window.__marker")


# 1. Every page of every demo book --------------------------------------------------------------


@pytest.mark.parametrize("email", DEMO_EMAILS, ids=account_name)
def test_every_page_of_each_demo_book(account, live_server, demo_books, screenshots, email):
    page = account(email)  # logged in through the form: it lands on the portfolio list
    name = account_name(email)
    pid = demo_books[email]
    assert page.url == live_server + "/portfolios/", page.url
    assert page.locator("main h1").inner_text() == "Your portfolios and households"
    assert AS_OF in page.locator(".asof").inner_text()
    page.screenshot(path=str(screenshots / f"{name}-list.png"), full_page=True)
    book = next(b for b in DEMO_BOOKS if b.email == email)
    link = page.locator("main table tbody td.book a", has_text=book.portfolio)
    assert link.count() == 1, f"{book.portfolio!r} is not on {email}'s portfolio list"

    visited = []
    status = navigate(page, link.click)  # the list links to the positions page
    assert page.url.endswith(f"/portfolios/{pid}"), page.url
    for key, label, charts, elements in PAGES:
        if key != "positions":
            status = navigate(page, subnav(page, label).click)
        assert subnav(page, label).get_attribute("class") == "active", f"{key}: {page.url}"
        assert_dashboard_page(page, status, charts, elements)
        page.screenshot(path=str(screenshots / f"{name}-{key}.png"), full_page=True)
        visited.append(key)
        if key == "overview":  # a position's detail, reached from the overview table
            symbol = page.locator("#positions-table tbody tr td.sym a").first
            expected = symbol.inner_text()
            status = navigate(page, symbol.click)
            assert f"/portfolios/{pid}/positions/" in page.url
            assert_dashboard_page(page, status, ["price-chart"], ["position-kpis"])
            assert expected in page.locator("main h1").inner_text()
            page.screenshot(path=str(screenshots / f"{name}-position.png"), full_page=True)
            visited.append("position")
        if key == "jobs":
            assert page.locator("main table .status-succeeded").count() >= 1
    assert visited == [
        "positions",
        "overview",
        "position",
        "correlations",
        "factors",
        "risk",
        "stress",
        "forward_range",
        "performance",
        "jobs",
    ]


# 2. Correlations look-back swaps only the heatmap -----------------------------------------------


def test_correlation_lookback_swaps_the_heatmap_partial(account, live_server, demo_books):
    page = account(HNW)
    pid = demo_books[HNW]
    page.goto(f"{live_server}/portfolios/{pid}/correlations")
    wait_for_charts(page, ["correlation-heatmap"])
    assert page.get_attribute("#heatmap", "data-lookback") == "90"
    set_marker(page)
    with page.expect_response(
        lambda r: "/correlations?" in r.url and "lookback_days=30" in r.url
    ) as resp:
        page.select_option("#lookback", "30")
    assert resp.value.request.headers.get("hx-request") == "true"
    page.wait_for_selector('#heatmap[data-lookback="30"]')
    wait_for_charts(page, ["correlation-heatmap"])
    assert marker(page) == 1, "the page reloaded instead of swapping the partial"
    assert "lookback_days=30" in page.url
    title = page.evaluate("document.getElementById('correlation-heatmap').layout.title.text")
    assert "last 30 trading days" in title
    z = page.evaluate("document.getElementById('correlation-heatmap').data[0].z")
    assert len(z) >= 2 and all(len(row) == len(z) for row in z)
    assert page.locator("#diversification-reading").count() == 1
    assert page.input_value("#lookback") == "30"


# 3. Overview sort + filter, stress category + scenario detail ----------------------------------


def test_overview_sort_and_type_filter_swap_the_table(account, live_server, demo_books):
    page = account(HEDGE)
    pid = demo_books[HEDGE]
    page.goto(f"{live_server}/portfolios/{pid}/overview")
    wait_for_charts(page, ["exposure-chart", "sector-chart"])
    before = rows(page)
    total_before = total_rows(page)
    set_marker(page)

    # Text columns sort A→Z on the first click, Z→A on the second.
    page.locator("#positions-table thead a", has_text="Symbol").click()
    page.wait_for_selector("#positions-table thead a:has-text('Symbol ▲')")
    ascending = rows(page)
    assert ascending == sorted(ascending) and ascending != before
    assert "sort=symbol" in page.url and "dir=asc" in page.url and marker(page) == 1

    page.locator("#positions-table thead a", has_text="Symbol").click()
    page.wait_for_selector("#positions-table thead a:has-text('Symbol ▼')")
    by_symbol = rows(page)
    assert by_symbol == sorted(by_symbol, reverse=True) and by_symbol != ascending
    page.locator("#positions-table thead a", has_text="Symbol").click()
    page.wait_for_selector("#positions-table thead a:has-text('Symbol ▲')")

    types = page.locator("#positions-table select[name=type] option").evaluate_all(
        "os => os.map(o => o.value).filter(Boolean)"
    )
    assert "SHORT" in types and "LONG" in types
    page.select_option("#positions-table select[name=type]", "SHORT")
    page.wait_for_function("""() => {
        const b = [...document.querySelectorAll('#positions-table tbody .badge')].map(x => x.textContent);
        return b.length > 0 && b.every(t => t === 'Short'); }""")  # noqa: E501 (JavaScript kept verbatim)
    shorts = rows(page)
    assert shorts and shorts == sorted(shorts), "the sort survives the filter"
    assert "type=SHORT" in page.url and marker(page) == 1
    assert total_rows(page) == len(shorts) < total_before


def test_stress_category_filter_and_scenario_detail(account, live_server, demo_books):
    page = account(INDIVIDUAL)
    pid = demo_books[INDIVIDUAL]
    page.goto(f"{live_server}/portfolios/{pid}/stress")
    wait_for_charts(page, ["stress-chart"])
    categories = page.locator("table.scenarios").evaluate_all(
        "ts => ts.map(t => t.dataset.category)"
    )
    assert "historical" in categories and len(categories) > 1
    set_marker(page)

    page.select_option("#category-filter", "historical")
    page.wait_for_function("""() => {
        const c = [...document.querySelectorAll('table.scenarios')].map(t => t.dataset.category);
        return c.length > 0 && c.every(x => x === 'historical'); }""")
    wait_for_charts(page, ["stress-chart"])
    assert marker(page) == 1 and "category=historical" in page.url
    scenario_rows = page.locator("table.scenarios tbody tr")
    assert scenario_rows.count() >= 1
    chart_names = page.evaluate("document.getElementById('stress-chart').data[0].y")
    assert len(chart_names) == scenario_rows.count(), "the chart shows only the filtered scenarios"

    row = scenario_rows.first
    scenario_id = row.get_attribute("data-scenario")
    scenario_name = row.locator("td").first.inner_text().split(" (")[0].strip()
    row.get_by_role("link", name="positions").click()
    page.wait_for_selector("#scenario-detail #scenario-positions")
    detail = page.locator("#scenario-detail")
    assert scenario_name in detail.locator("h2").inner_text(), scenario_id
    assert detail.locator("#scenario-positions tbody tr").count() >= 1
    assert marker(page) == 1
    # The address names the scenario (and keeps the filter): a reload or a shared link shows it.
    assert f"scenario={scenario_id}" in page.url and "category=historical" in page.url
    page.reload()
    assert scenario_name in page.locator("#scenario-detail h2").inner_text()


def test_factor_pagination_and_risk_lookback_swap_their_partials(account, live_server, demo_books):
    page = account(HEDGE)
    pid = demo_books[HEDGE]
    page.goto(f"{live_server}/portfolios/{pid}/factors")
    wait_for_charts(page, ["factor-chart"])
    first = page.locator("#position-betas tbody td.sym").all_inner_texts()
    set_marker(page)
    page.click("#factor-next")
    page.wait_for_function(
        "() => document.querySelector('#factor-positions .pager').textContent.includes('11–20 of')"
    )
    second = page.locator("#position-betas tbody td.sym").all_inner_texts()
    assert second and not set(second) & set(first)
    assert marker(page) == 1

    page.goto(f"{live_server}/portfolios/{pid}/risk")
    wait_for_charts(page, ["drawdown-chart", "return-histogram", "contribution-chart"])
    set_marker(page)
    page.select_option("#risk-lookback", "180")
    page.wait_for_selector('#risk-metrics[data-lookback="180"]')
    wait_for_charts(page, ["drawdown-chart", "return-histogram", "contribution-chart"])
    assert marker(page) == 1 and "lookback_days=180" in page.url
    assert "(180-day look-back)" in page.locator("#risk-metrics details.math").text_content()


def test_position_detail_shows_the_factor_betas_the_factors_page_has(
    account, live_server, demo_books
):
    page = account(INDIVIDUAL)
    pid = demo_books[INDIVIDUAL]
    page.goto(f"{live_server}/portfolios/{pid}/overview")
    navigate(page, page.locator("#positions-table tbody td.sym a", has_text="AAPL").click)
    assert page.locator("#position-factors table").count() == 1, page.locator(
        "#position-factors"
    ).inner_text()


# 4. Recalculate through a real RQ worker --------------------------------------------------------

RECORD_PROGRESS_JS = """
() => document.body.addEventListener('htmx:beforeOnLoad', (e) => {
  const x = e.detail.xhr;
  if (!x.responseURL.includes('/progress')) return;
  const m = x.responseText.match(/data-status="(\\w+)"/);
  const log = JSON.parse(sessionStorage.getItem('progressLog') || '[]');
  log.push({status: m && m[1], refresh: x.getResponseHeader('HX-Refresh')});
  sessionStorage.setItem('progressLog', JSON.stringify(log));
})
"""


@pytest.mark.worker
def test_recalculate_runs_through_a_real_worker_and_refreshes(
    account, live_server, demo_books, run_worker
):
    page = account(INDIVIDUAL)
    pid = demo_books[INDIVIDUAL]
    page.goto(f"{live_server}/portfolios/{pid}/risk")
    wait_for_charts(page, ["drawdown-chart"])
    assert page.locator("#job-progress .progress-card").count() == 0
    page.evaluate("sessionStorage.removeItem('progressLog')")
    page.evaluate(RECORD_PROGRESS_JS)
    set_marker(page)

    page.click("#recalculate")
    card = page.locator("#job-progress .progress-card")
    card.wait_for()
    assert card.get_attribute("data-status") in ("queued", "running")
    run_id = card.get_attribute("id").removeprefix("run-")
    assert marker(page) == 1

    with page.expect_event("load", timeout=90_000):  # HX-Refresh reloads the page
        worker = run_worker()
    assert worker.returncode == 0, worker.stderr[-3000:]
    log = page.evaluate("JSON.parse(sessionStorage.getItem('progressLog') || '[]')")
    assert log, "the progress card was never polled"
    assert log[-1] == {"status": "succeeded", "refresh": "true"}, log
    assert all(e["status"] in ("queued", "running") and e["refresh"] is None for e in log[:-1]), log
    assert marker(page) is None, "HX-Refresh should have reloaded the page"
    wait_for_charts(page, ["drawdown-chart", "return-histogram", "contribution-chart"])
    assert page.locator("#job-progress .progress-card").count() == 0  # the run succeeded

    navigate(page, subnav(page, "Jobs").click)
    newest = page.locator("main table tbody tr").first
    assert newest.locator("td").first.inner_text() == run_id
    assert newest.locator(".status").inner_text() == "succeeded"
    assert "manual" in newest.inner_text()


# 5. Log out ------------------------------------------------------------------------------------


def test_log_out_then_portfolio_pages_redirect_to_login(fresh_login, live_server, demo_books):
    page = fresh_login(HNW)
    pid = demo_books[HNW]
    page.goto(f"{live_server}/portfolios/{pid}/overview")
    assert page.url.endswith(f"/portfolios/{pid}/overview")
    navigate(page, page.get_by_role("button", name="Log out").click)
    assert "/login" in page.url
    assert "logged out" in page.locator(".flashes").inner_text()
    page.goto(f"{live_server}/portfolios/{pid}/overview")
    assert "/login" in page.url, page.url
    assert page.locator("#email").count() == 1


# 6. Tablet width -------------------------------------------------------------------------------

OVERFLOW_JS = """
() => {
  const w = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > w + 1)
    .filter(el => !el.parentElement || el.parentElement.getBoundingClientRect().right <= w + 1)
    .map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : ''} right=${Math.round(el.getBoundingClientRect().right)}`);
  return {scrollWidth: document.body.scrollWidth, innerWidth: w, culprits: wide.slice(0, 10)};
}
"""  # noqa: E501 (JavaScript kept verbatim)


def test_tablet_width_has_no_horizontal_overflow(fresh_login, live_server, demo_books, screenshots):
    page = fresh_login(HEDGE, viewport={"width": 820, "height": 1180})
    pid = demo_books[HEDGE]
    page.goto(f"{live_server}/portfolios/{pid}/overview")
    wait_for_charts(page, ["exposure-chart", "sector-chart"])
    page.screenshot(path=str(screenshots / "tablet-overview.png"), full_page=True)
    result = page.evaluate(OVERFLOW_JS)
    assert result["scrollWidth"] <= result["innerWidth"] + 1, (
        f"body is {result['scrollWidth']} px wide in an {result['innerWidth']} px viewport; "
        f"outermost overflowing elements: {result['culprits']}"
    )


# Model validation: the episode picker swaps the scatter ------------------------------------------


def test_model_validation_episode_picker_swaps_the_scatter(account, live_server, screenshots):
    page = account(HNW)
    page.goto(f"{live_server}/methodology/validation")
    wait_for_charts(page, ["validation-chart"])
    assert page.locator("#validation-table tbody tr").count() == 9
    assert page.locator("#validation-table tr.highlight").count() == 2
    first = page.evaluate("document.getElementById('validation-chart').layout.title.text")
    assert first.startswith("Q4 2018 sell-off"), first
    set_marker(page)
    with page.expect_response(lambda r: "episode=covid_crash" in r.url) as resp:
        page.select_option("#episode-picker", "covid_crash")
    assert resp.value.request.headers.get("hx-request") == "true"
    page.wait_for_selector("#validation-episode-reading:has-text('COVID')")
    wait_for_charts(page, ["validation-chart"])
    title = page.evaluate("document.getElementById('validation-chart').layout.title.text")
    assert title.startswith("COVID-19 crash"), title
    assert marker(page) == 1, "the page reloaded instead of swapping the scatter"
    assert "episode=covid_crash" in page.url
    traces = page.evaluate("document.getElementById('validation-chart').data.length")
    assert traces == 4
    page.screenshot(path=str(screenshots / "model-validation.png"), full_page=True)


# Static assets: the second page load fetches no plotly.js ----------------------------------------


def test_second_page_load_transfers_no_plotly(fresh_login, live_server, demo_books):
    page = fresh_login(HNW)
    pid = demo_books[HNW]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    loads: dict[str, dict] = {}

    def sent(event):
        if "/static/" in event["request"]["url"]:
            loads[event["requestId"]] = {"url": event["request"]["url"], "network": None}

    def from_cache(event):
        if event["requestId"] in loads:
            loads[event["requestId"]]["network"] = False

    def received(event):
        # A response served from the cache is also reported here (fromDiskCache false for the
        # memory cache): only a response not already known to be cached came over the network.
        load = loads.get(event["requestId"])
        if load is not None and load["network"] is None:
            r = event["response"]
            load["network"] = not (r.get("fromDiskCache") or r.get("fromMemoryCache"))

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.requestServedFromCache", from_cache)
    cdp.on("Network.responseReceived", received)
    page.goto(f"{live_server}/portfolios/{pid}/risk")
    wait_for_charts(page, ["drawdown-chart"])
    plotly = [x for x in loads.values() if "plotly" in x["url"]]
    assert [x["network"] for x in plotly] == [True], plotly  # the first page fetches it
    assert re.search(r"plotly-3\.7\.0\.min\.[0-9a-f]{12}\.js$", plotly[0]["url"])
    loads.clear()
    page.goto(f"{live_server}/portfolios/{pid}/stress")
    wait_for_charts(page, ["stress-chart"])
    # The page's own assets; the icons are fetched by the browser's favicon loader whenever it
    # gets to them (a first page's fetch cut short by the navigation is redone), so their
    # caching is a header check (tests/platform: immutable, fingerprinted), not timed here.
    assets = {k: x for k, x in loads.items() if "/static/icons/" not in x["url"]}
    assert assets and all(x["network"] is False for x in assets.values()), loads

"""Plain-language readings beside every figure, computed from the numbers the API returns, and no
code identifiers (snake_case keys, reason codes, "ddof", "numpy") anywhere on the pages."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from tests.api.conftest import demo_books
from webapp.formatting import number, pct
from webapp.readings import about_money, reason_words
from webapp.services.demo import DEMO_PASSWORD

PAGES = ("risk", "correlations", "performance", "stress")
CODE_WORDS = ("ddof", "numpy", "Sigma_F", "Σ_{", "_{", "cumprod", "sqrt(", "OLS", "std(")
SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, styles, tags or attributes; the e-mail in the header out."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
    text = re.sub(r"\S+@\S+", " ", text)  # the signed-in advisor's address (a name, not code)
    return re.sub(r"\s+", " ", text)


def reading(page: str, key: str) -> str:
    """The text of the reading ``data-reading=key`` (the first one)."""
    m = re.search(rf'<li data-reading="{key}">(.*?)</li>', page, re.S)
    assert m, f"no {key} reading"
    return visible_text(m.group(1)).strip()


def dollars(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


@pytest.fixture(scope="module")
def books(app):
    return demo_books(app, run_batch=True)


def page_of(client, book, path: str) -> str:
    client.post("/login", data={"email": book.email, "password": DEMO_PASSWORD})
    resp = client.get(path)
    assert resp.status_code == 200, path
    return resp.get_data(as_text=True)


def api(client, book, segment: str) -> dict:
    resp = client.get(
        f"/api/v1/analytics/portfolio/{book.portfolio_id}/{segment}", headers=book.headers
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


# No code on the pages ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["individual", "hnw", "hedgefundstyle"])
@pytest.mark.parametrize("page", PAGES)
def test_no_code_identifiers_on_the_analytics_pages(client, books, who, page):
    book = books[who]
    for query in ("", "?lookback_days=45") if page in ("risk", "correlations") else ("",):
        text = visible_text(page_of(client, book, f"/portfolios/{book.portfolio_id}/{page}{query}"))
        assert "Show the math" in text
        assert SNAKE.findall(text) == [], (page, query)
        for word in CODE_WORDS:
            assert word not in text, (page, query, word)


def test_no_code_identifiers_on_model_validation(client, books):
    text = visible_text(page_of(client, books["hnw"], "/methodology/validation"))
    assert "In plain words" in text and "Show the math" in text
    assert SNAKE.findall(text) == []
    for word in CODE_WORDS:
        assert word not in text, word


def test_a_refused_parameter_is_named_in_words(client, books):
    book = books["hedgefundstyle"]
    page = page_of(
        client, book, f"/portfolios/{book.portfolio_id}/correlations?min_overlap=5&max_symbols=0"
    )
    text = visible_text(page)
    assert "Minimum overlapping days must be a whole number from 10 to 365." in text
    assert SNAKE.findall(text) == []


# Readings computed from the numbers ----------------------------------------------------------


def test_risk_readings_are_the_api_numbers_in_words(client, books):
    book = books["hedgefundstyle"]
    data = api(client, book, "risk-metrics?lookback_days=90")["data"]
    page = page_of(client, book, f"/portfolios/{book.portfolio_id}/risk")

    beta = number(data["portfolio_beta"], 2)
    assert reading(page, "beta").startswith(
        f"A beta of {beta} means when SPY moves 1% the book tends to move {beta}%"
    )
    swing = re.search(r"swings by about ±(\$[\d,]+)", reading(page, "volatility"))
    assert swing and swing.group(1) == about_money(data["annualized_volatility_dollars"])
    assert abs(dollars(swing.group(1)) - data["annualized_volatility_dollars"]) < (
        0.01 * data["annualized_volatility_dollars"]
    )

    dd = reading(page, "drawdown")
    assert f"was {pct(-data['max_drawdown'])}" in dd
    assert f"to {data['max_drawdown_trough_date']}" in dd
    assert (data["max_drawdown_peak_date"] or "the start of the window") in dd

    v95 = next(v for v in data["var"] if v["confidence"] == 0.95)
    loss = re.search(r"On a typical bad day \(1 in 20\) this book loses about (\$[\d,]+)", page)
    assert loss, "no VaR reading"
    assert (
        abs(dollars(loss.group(1)) - v95["historical"]["dollars"])
        < 0.01 * (v95["historical"]["dollars"])
    )
    tracking = reading(page, "tracking")
    b = data["benchmark"]
    assert f"by about {pct(b['tracking_error'])} a year" in tracking
    assert f"information ratio of {number(b['information_ratio'], 2)}" in tracking
    gap = float(re.search(r"(?:beat|trailed) it by about ([\d.]+)%", tracking).group(1)) / 100
    assert gap == pytest.approx(abs(b["information_ratio"]) * b["tracking_error"], abs=6e-4)


def test_risk_reconciles_beta_vs_spy_with_the_market_factor_beta(client, books):
    book = books["hedgefundstyle"]
    risk = api(client, book, "risk-metrics?lookback_days=90")["data"]
    factors = api(client, book, "factor-exposures")
    market = next(f["beta"] for f in factors["factors"] if f["name"] == "Market")
    long_window = api(client, book, "risk-metrics?lookback_days=252")["data"]["portfolio_beta"]
    page = page_of(client, book, f"/portfolios/{book.portfolio_id}/risk")
    m = re.search(r'<p class="small" id="beta-reconciliation">(.*?)</p>', page, re.S)
    assert m, "no reconciliation"
    text = visible_text(m.group(1))
    assert f"({number(risk['portfolio_beta'], 2)})" in text
    assert f"Market beta ({number(market, 2)})" in text
    assert "alone (one regressor), over the last 90 trading days" in text
    assert "all 8 factors at once over the last 252 trading days" in text
    assert f"beta vs SPY alone is {number(long_window, 2)}" in text
    window_part, factor_part = (
        float(x)
        for x in re.search(
            r"accounts for (-?\d+\.\d+) of the gap and holding the other factors fixed for "
            r"(-?\d+\.\d+)",
            text,
        ).groups()
    )
    assert window_part == pytest.approx(risk["portfolio_beta"] - long_window, abs=0.006)
    assert factor_part == pytest.approx(long_window - market, abs=0.006)


def test_risk_says_it_is_a_backcast_and_performance_that_it_is_the_history(client, books):
    book = books["hnw"]
    pid = book.portfolio_id
    risk = visible_text(page_of(client, book, f"/portfolios/{pid}/risk"))
    assert "A backcast, not the account's record:" in risk
    assert "Performance page's returns against SPY are the account's actual" in risk
    perf_page = page_of(client, book, f"/portfolios/{pid}/performance")
    perf = visible_text(perf_page)
    assert "The account's actual history:" in perf
    assert "information ratio are a backcast instead" in perf
    data = api(client, book, "performance")["data"]
    compared = [p for p in data["periods"] if p["available"] and p["excess_return"] is not None]
    last = compared[-1]
    m = re.search(r'id="period-reading">(.*?)</p>', perf_page, re.S)
    text = visible_text(m.group(1))
    assert f"the account returned {pct(last['return'], 2)}" in text
    assert f"{number(abs(last['excess_return']) * 100, 2)} percentage points" in text
    assert ("ahead" if last["excess_return"] >= 0 else "behind") in text


def test_performance_readings_are_the_statistics_in_words(client, books):
    book = books["individual"]
    stats = api(client, book, "performance")["data"]["risk_adjusted"]["statistics"]
    page = page_of(client, book, f"/portfolios/{book.portfolio_id}/performance")
    rows = dict(re.findall(r'<tr data-stat="([a-z_]+)">(.*?)</tr>', page, re.S))
    daily = stats["hit_rate_daily"]
    assert (
        f"{daily['details']['positive']} of {daily['observations']} trading days"
        in visible_text(rows["hit_rate_daily"])
    )
    worst = stats["worst_month"]
    assert f"The worst complete month, {worst['details']['month']}" in visible_text(
        rows["worst_month"]
    )
    beta = stats["beta"]
    assert f"tended to move {number(beta['value'], 2)}%" in visible_text(rows["beta"])
    assert "not a backcast of today's holdings" in visible_text(rows["beta"])


def test_the_diversification_score_states_its_direction(client, books):
    book = books["individual"]
    score = api(client, book, "diversification-score?lookback_days=90&min_overlap=30")
    value = score["data"]["diversification_score"] if "data" in score else score["portfolio"]
    page = page_of(client, book, f"/portfolios/{book.portfolio_id}/correlations")
    m = re.search(r'<p id="diversification-direction">(.*?)</p>', page, re.S)
    text = visible_text(m.group(1))
    assert "Higher means less diversified." in text
    assert f"A score of {number(value, 2)} on a scale from 0" in text
    assert "higher means less diversified, because the holdings move together" in text


def test_stress_readings_name_the_worst_scenario(client, books):
    book = books["individual"]
    scenarios = api(client, book, "stress-test")["data"]["scenarios"]
    worst = min(scenarios, key=lambda s: s["pnl"])
    page = page_of(client, book, f"/portfolios/{book.portfolio_id}/stress")
    text = reading(page, "worst")
    assert f"The worst scenario, {worst['name']}, would cost the book about" in text
    assert about_money(-worst["pnl"]) in text
    losing = sum(1 for s in scenarios if s["pnl"] < 0)
    assert reading(page, "count") == f"{losing} of {len(scenarios)} scenarios shown lose money."


def test_formulas_are_typeset_not_code(client, books):
    book = books["hedgefundstyle"]
    page = page_of(client, book, f"/portfolios/{book.portfolio_id}/risk")
    math = page[page.index('<details class="math">') :]
    assert "σ<sub>year</sub> = s × √252" in math
    assert "sample standard deviation (n − 1)" in math
    assert "P&amp;L<sub>t</sub> = Σ<sub>i</sub> E<sub>i</sub> × r<sub>i,t</sub>" in math
    corr = page_of(client, book, f"/portfolios/{book.portfolio_id}/correlations")
    assert "Σ<sub>i&lt;j</sub> w<sub>i</sub> w<sub>j</sub> |ρ<sub>ij</sub>|" in corr


# The helpers ---------------------------------------------------------------------------------


def test_about_money_rounds_as_a_sentence_says_it():
    assert about_money(93_484) == "$93,000"
    assert about_money(119_032) == "$119,000"
    assert about_money(-65_244) == "-$65,000"
    assert about_money(None) == "—"


def test_reason_codes_are_words():
    assert reason_words("insufficient_history") == "not enough price history"
    assert reason_words("some_new_code") == "some new code"
    sentence = "3 days lack a return for X; only days with every return are used"
    assert reason_words(sentence) == sentence

"""Analytics pages: content from the same service calls as the JSON twins, HTMX partials, states."""

from __future__ import annotations

import json
import re

import pytest

from webapp.extensions import db
from webapp.formatting import money, pct
from webapp.models import Portfolio
from webapp.readings import reason_words
from webapp.services import correlations as correlations_svc
from webapp.services import factor_exposures as factors_svc
from webapp.services import overview as overview_svc
from webapp.services import results as results_svc
from webapp.services import risk_metrics as risk_svc
from webapp.services import stress_tests as stress_svc
from webapp.services.batch import run_portfolio_batch

HF = "demo_hedgefundstyle@sigmasight.com"
PAGES = ("overview", "correlations", "factors", "risk", "stress", "performance")


@pytest.fixture()
def hf_client(client, hf_book):
    client.post("/login", data={"email": HF, "password": "demo12345"})
    return client


def figures(html: str) -> dict[str, dict]:
    """Chart specs embedded in the page, by element id."""
    out = {}
    for el_id, spec in re.findall(
        r'<div class="chart" id="([^"]+)" data-figure=\'([^\']*)\'', html
    ):
        out[el_id] = json.loads(
            spec.replace("&#34;", '"')
            .replace("&#39;", "'")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
        )
    return out


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_as_of_and_charts_with_data(hf_client, hf_book, page):
    resp = hf_client.get(f"/portfolios/{hf_book}/{page}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "As of 2026-08-03" in html
    assert "Show the math" in html
    figs = figures(html)
    assert figs, "no chart on the page"
    for el_id, fig in figs.items():
        trace = fig["data"][0]
        assert any(trace.get(k) for k in ("x", "y", "z")), el_id
        assert fig["layout"]["title"]["text"], el_id


def test_overview_numbers_equal_the_service(ctx, hf_client, hf_book):
    portfolio = db.session.get(Portfolio, hf_book)
    s = overview_svc.overview(portfolio).data["summary"]
    html = hf_client.get(f"/portfolios/{hf_book}/overview").get_data(as_text=True)
    for value in (
        s["equity"],
        s["gross_exposure"],
        s["net_exposure"],
        s["delta_net_exposure"],
        s["unrealized_pnl"],
    ):
        assert money(value) in html
    assert s["counts_by_type"] == {"LC": 3, "LONG": 12, "LP": 2, "SC": 2, "SHORT": 8, "SP": 3}


def test_risk_page_shows_var_from_the_service(ctx, hf_client, hf_book):
    portfolio = db.session.get(Portfolio, hf_book)
    data = risk_svc.risk_metrics(portfolio, lookback_days=90).data
    html = hf_client.get(f"/portfolios/{hf_book}/risk").get_data(as_text=True)
    for v in data["var"]:
        assert money(v["historical"]["dollars"]) in html
        assert money(v["expected_shortfall"]["dollars"]) in html
    assert pct(data["annualized_volatility"]) in html
    hist = figures(html)["return-histogram"]
    assert len(hist["layout"]["shapes"]) == 2  # VaR 95 and 99 marked


def test_heatmap_partial_swaps_with_lookback(ctx, hf_client, hf_book):
    resp = hf_client.get(
        f"/portfolios/{hf_book}/correlations?lookback_days=30&max_symbols=6",
        headers={"HX-Request": "true", "HX-Target": "heatmap"},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "HX-Request" in resp.headers["Vary"]
    assert html.lstrip().startswith('<div id="heatmap" data-lookback="30"')
    assert "<html" not in html
    fig = figures(html)["correlation-heatmap"]
    portfolio = db.session.get(Portfolio, hf_book)
    expected = correlations_svc.correlation_matrix(portfolio, lookback_days=30, max_symbols=6).data
    assert fig["data"][0]["x"] == expected["symbols"] and len(expected["symbols"]) == 6
    assert fig["data"][0]["zmid"] == 0


def test_positions_partial_sorts_filters_and_pages(hf_client, hf_book):
    base = f"/portfolios/{hf_book}/overview"
    hx = {"HX-Request": "true", "HX-Target": "positions-table"}
    html = hf_client.get(f"{base}?type=SHORT&sort=symbol&dir=asc", headers=hx).get_data(
        as_text=True
    )
    symbols = re.findall(r'<tr data-symbol="([^"]+)"', html)
    assert symbols == sorted(symbols) and len(symbols) == 8
    assert "<html" not in html
    page2 = hf_client.get(f"{base}?per_page=5&page=2&sort=symbol&dir=asc", headers=hx).get_data(
        as_text=True
    )
    assert "Page 2 of 6" in page2
    tagged = hf_client.get(f"{base}?tag=hedge", headers=hx).get_data(as_text=True)
    assert set(re.findall(r'<tr data-symbol="([^"]+)"', tagged)) >= {"XLU"}


def test_stress_category_filter_and_scenario_detail(ctx, hf_client, hf_book):
    base = f"/portfolios/{hf_book}/stress"
    html = hf_client.get(
        f"{base}?category=historical",
        headers={"HX-Request": "true", "HX-Target": "stress-scenarios"},
    ).get_data(as_text=True)
    assert set(re.findall(r'data-category="([^"]+)"', html)) == {"historical"}
    assert len(re.findall(r"<tr data-scenario=", html)) == 5
    detail = hf_client.get(
        f"{base}?scenario=covid_crash",
        headers={"HX-Request": "true", "HX-Target": "scenario-detail"},
    ).get_data(as_text=True)
    portfolio = db.session.get(Portfolio, hf_book)
    covid = next(
        s
        for s in stress_svc.stress_test(portfolio, positions=True).data["scenarios"]
        if s["scenario_id"] == "covid_crash"
    )
    assert detail.lstrip().startswith('<section class="card" id="scenario-detail">')
    assert money(max(covid["positions"], key=lambda p: p["pnl"])["pnl"]) in detail


def test_position_detail_shows_greeks_for_an_option(ctx, hf_client, hf_book):
    portfolio = db.session.get(Portfolio, hf_book)
    option = next(p for p in portfolio.positions if p.position_type == "SC")
    html = hf_client.get(f"/portfolios/{hf_book}/positions/{option.id}").get_data(as_text=True)
    assert "Greeks" in html and "Black–Scholes" in html and "Factor betas" in html
    assert figures(html)["price-chart"]["data"][0]["y"]


@pytest.mark.parametrize("page", PAGES)
def test_another_advisors_pages_are_404(client, auth, factory, hf_book, page):
    intruder = factory.user()
    auth.login(intruder.email)
    resp = client.get(f"/portfolios/{hf_book}/{page}")
    assert resp.status_code == 404
    assert "NVDA" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("page", PAGES)
def test_empty_portfolio_pages_say_what_is_missing(client, auth, factory, page):
    user = factory.user()
    portfolio = factory.portfolio(user)
    auth.login(user.email)
    html = client.get(f"/portfolios/{portfolio.id}/{page}").get_data(as_text=True)
    assert "No results yet" in html and "Recalculate" in html
    run_portfolio_batch(portfolio.id)
    html = client.get(f"/portfolios/{portfolio.id}/{page}").get_data(as_text=True)
    if page == "overview":
        assert "No open positions" in html
    else:
        assert "No positions." in html and "Import a holdings file" in html


def test_short_history_is_explained(client, auth, factory):
    """A book whose only holding has no stored prices: pages name the reason, never a 500."""
    user = factory.user()
    portfolio = factory.portfolio(
        user, positions=[dict(symbol="ZZZZ", quantity=10, entry_price=5.0)]
    )
    run = run_portfolio_batch(portfolio.id)
    assert run.status == "partial"
    auth.login(user.email)
    overview = client.get(f"/portfolios/{portfolio.id}/overview").get_data(as_text=True)
    assert f"ZZZZ ({reason_words('no_prices')}: no stored price for ZZZZ)" in overview
    assert "no_prices" not in overview  # the reason in words, not its code
    risk = client.get(f"/portfolios/{portfolio.id}/risk")
    assert risk.status_code == 200 and "No positions." in risk.get_data(as_text=True)


def test_position_detail_shows_the_stored_factor_betas(ctx, hf_client, hf_book):
    portfolio = db.session.get(Portfolio, hf_book)
    nvda = next(p for p in portfolio.positions if p.symbol == "NVDA")
    stored = next(
        p
        for p in factors_svc.position_factor_exposures(portfolio, limit=100).data["positions"]
        if p["position_id"] == nvda.id
    )
    html = hf_client.get(f"/portfolios/{hf_book}/positions/{nvda.id}").get_data(as_text=True)
    assert f"{stored['betas']['Market']:,.3f}" in html
    assert money(stored["dollar_exposures"]["Market"]) in html


def test_other_lookbacks_run_the_batch_steps_on_request(ctx, hf_book):
    """A non-standard window is computed live by the same steps.

    On a standard window the live result equals the stored one.
    """
    from webapp.services.correlations import correlations_now as live_correlations
    from webapp.services.risk_metrics import risk_metrics_now as live_risk_metrics

    portfolio = db.session.get(Portfolio, hf_book)
    live = live_risk_metrics(portfolio, 90).data
    stored = risk_svc.risk_metrics(portfolio, lookback_days=90).data
    for key in ("annualized_volatility", "portfolio_beta", "max_drawdown", "var", "contributions"):
        assert live[key] == stored[key], key  # same steps, same inputs: identical numbers
    custom = risk_svc.risk_metrics(portfolio, lookback_days=120)
    assert custom.available and custom.metadata["computed"] == "on_request"
    assert custom.data["nobs"] == 120
    assert (
        live_correlations(portfolio, 90).data["matrix"]
        == results_svc.stored(portfolio, "correlations", {"lookback_days": 90}).data["matrix"]
    )

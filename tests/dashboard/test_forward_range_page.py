"""The Forward range page and its JSON twins: the same stored numbers, a fan chart, the
risk score beside the client's tolerance."""

from __future__ import annotations

import pytest
from markupsafe import escape

from tests.dashboard.test_dashboard_pages import figures
from webapp.extensions import db
from webapp.formatting import money
from webapp.models import Portfolio
from webapp.services.risk_profile import forward_range, risk_score

HF = "demo_hedgefundstyle@sigmasight.com"


@pytest.fixture()
def hf_client(client, hf_book):
    client.post("/login", data={"email": HF, "password": "demo12345"})
    return client


def test_the_page_shows_the_stored_bands_and_a_fan_chart(hf_client, hf_book, ctx):
    book = db.session.get(Portfolio, hf_book)
    stored = forward_range(book).data
    html = hf_client.get(f"/portfolios/{hf_book}/forward-range").get_data(as_text=True)
    six = stored["bands"][0]
    assert "As of 2026-08-03" in html and "Show the math" in html
    assert money(six["dollars"]["p5"]) in html and money(six["dollars"]["p95"]) in html
    assert "In 6 months, 9 of 10 simulated outcomes" in html
    fan = figures(html)["fan-chart"]
    median = next(t for t in fan["data"] if t["name"] == "Median")
    assert median["x"][0] == 0 and median["x"][-1] == 252
    assert median["y"][-1] == pytest.approx(stored["path"][-1]["pct"]["p50"] / 100)
    score = risk_score(book).data
    assert f"{score['score']} / 99" in html
    assert str(escape(score["gap"]["words"])) in html


def test_the_method_switch_is_a_partial_and_a_bad_method_is_refused_inline(hf_client, hf_book):
    resp = hf_client.get(
        f"/portfolios/{hf_book}/forward-range?method=parametric", headers={"HX-Request": "true"}
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in html
    assert 'data-method="parametric"' in html and "HX-Request" in resp.headers["Vary"]
    bad = hf_client.get(f"/portfolios/{hf_book}/forward-range?method=garch").get_data(as_text=True)
    assert 'id="param-error"' in bad and 'data-method="bootstrap"' in bad


def test_the_api_returns_what_the_page_shows(hf_client, hf_book, ctx):
    book = db.session.get(Portfolio, hf_book)
    body = hf_client.get(f"/api/v1/analytics/portfolio/{hf_book}/forward-range").get_json()
    assert body["available"] and body["data"] == forward_range(book).data
    para = hf_client.get(
        f"/api/v1/analytics/portfolio/{hf_book}/forward-range?method=parametric"
    ).get_json()
    assert para["data"]["method"] == "parametric"
    bad = hf_client.get(f"/api/v1/analytics/portfolio/{hf_book}/forward-range?method=x")
    assert bad.status_code == 400
    score = hf_client.get(f"/api/v1/analytics/portfolio/{hf_book}/risk-score").get_json()
    assert score["data"] == risk_score(book).data


def test_another_advisors_book_is_404(client, factory, hf_book):
    user = factory.user()
    client.post("/login", data={"email": user.email, "password": factory.password})
    assert client.get(f"/portfolios/{hf_book}/forward-range").status_code == 404
    assert client.get(f"/api/v1/analytics/portfolio/{hf_book}/risk-score").status_code == 404

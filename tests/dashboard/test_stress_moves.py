"""Stress scenarios explain each underlying's move: factor terms, shrinkage, covariance used."""

from __future__ import annotations

import re

import pytest

from webapp.extensions import db
from webapp.formatting import pct
from webapp.models import Portfolio
from webapp.services import factor_exposures as factors_svc
from webapp.services import stress_tests as stress_svc

HF = "demo_hedgefundstyle@sigmasight.com"


@pytest.fixture()
def scenario(ctx, hf_book):
    portfolio = db.session.get(Portfolio, hf_book)
    (s,) = stress_svc.stress_test(portfolio, scenario_ids=["market_down_30"], positions=True).data[
        "scenarios"
    ]
    return s


def test_market_shock_uses_the_stressed_covariance_and_blume(scenario):
    cov = scenario["covariance"]
    # Every stored bar up to the as-of date: stress days of 2018-2025 sell-offs count.
    assert cov["method"] == "blend" and cov["blend"] == 0.25
    assert cov["history_start"] <= "2018-01-05" and cov["history_end"] == "2026-08-03"
    assert cov["stress_days"] > 50 and cov["calm_days"] == 252
    assert scenario["shrinkage"]["method"] == "blume"
    assert "stress days" in scenario["method"] and "Blume" in scenario["method"]


def test_the_method_text_states_the_configured_shrinkage(ctx, hf_book):
    data = stress_svc.stress_test(db.session.get(Portfolio, hf_book)).data
    assert data["shrinkage"]["rule"] in data["method"]
    assert "{shrinkage}" not in data["method"]


def test_each_move_is_its_terms_plus_shrinkage_and_is_what_positions_use(ctx, hf_book, scenario):
    portfolio = db.session.get(Portfolio, hf_book)
    betas = {
        r["symbol"]: r["betas"]
        for r in factors_svc.position_factor_exposures(portfolio, limit=1000).data["positions"]
        if r["available"]
    }
    moves = scenario["factor_moves"]
    explained = {e["underlying"]: e for e in scenario["move_explained"]}
    assert explained
    for u, e in explained.items():
        assert sum(e["terms"].values()) == pytest.approx(e["raw_move"], abs=1e-12)
        assert e["move"] == pytest.approx(moves["Market"] / 3 + 2 / 3 * e["raw_move"], abs=1e-12)
        assert e["shrinkage"] == pytest.approx(e["move"] - e["raw_move"], abs=1e-12)
        if u in betas:  # a stock of the book: its stored betas give the terms
            for f, t in e["terms"].items():
                assert t == pytest.approx(betas[u][f] * moves[f], abs=1e-12)
    for p in scenario["positions"]:
        if not p["capped"]:
            assert p["move"] == pytest.approx(explained[p["underlying"]]["move"], abs=1e-12)
    # No position is moved like a raw beta of 3 on -30% any more: shrinkage caps the tail.
    worst = min(e["move"] for e in explained.values())
    raw_worst = min(e["raw_move"] for e in explained.values())
    assert worst > raw_worst


def test_scenario_detail_shows_the_move_table(client, hf_book, scenario):
    client.post("/login", data={"email": HF, "password": "demo12345"})
    html = client.get(
        f"/portfolios/{hf_book}/stress?scenario=market_down_30",
        headers={"HX-Request": "true", "HX-Target": "scenario-detail"},
    ).get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-underlying="([^"]+)">(.*?)</tr>', html, re.S))
    assert set(rows) == {e["underlying"] for e in scenario["move_explained"]}
    for e in scenario["move_explained"]:
        cells = rows[e["underlying"]]
        for value in (e["terms"]["Market"], e["raw_move"], e["shrinkage"], e["move"]):
            assert pct(value, 2) in cells
    assert "Blume shrinkage" in html and "stress days" in html

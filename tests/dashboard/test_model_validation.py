"""The model-validation page and JSON: the harness's numbers on the stored prices."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import bearer, login_token
from tests.dashboard.test_dashboard_pages import figures
from webapp.formatting import pct
from webapp.services import model_validation as validation_svc

HF = "demo_hedgefundstyle@sigmasight.com"


@pytest.fixture()
def hf_client(client, hf_book):
    client.post("/login", data={"email": HF, "password": "demo12345"})
    return client


@pytest.fixture()
def result(ctx):
    return validation_svc.model_validation()


def test_page_shows_the_table_from_the_service(hf_client, result):
    html = hf_client.get("/methodology/validation").get_data(as_text=True)
    assert result["available"]
    assert "Prices as of 2026-08-03" in html and "In plain words" in html
    rows = dict(re.findall(r'<tr data-model="([^"]+)"[^>]*>(.*?)</tr>', html, re.S))
    assert set(rows) == set(result["models"])
    for m in result["models"]:
        assert pct(result["average_rmse"][m], 2) in rows[m], m
        assert pct(result["rmse_improvement_vs_raw_capm"][m], 1) in rows[m], m
    # The shipped model, given the factor moves, is >= 10% better than raw CAPM; the page says so.
    assert result["shipped"]["improvement_all_factors"] >= 0.10
    assert pct(result["shipped"]["improvement_all_factors"], 1) in html
    fig = figures(html)["validation-chart"]
    assert [t["name"] for t in fig["data"]][:3] == [
        result["labels"][m] for m in ("raw_capm", "shipped", "shipped_all_factors")
    ]
    first = result["episodes"][0]
    assert fig["data"][0]["x"] == [p["realized"] for p in first["pairs"]]


def test_episode_picker_swaps_the_scatter(hf_client, result):
    covid = next(e for e in result["episodes"] if e["id"] == "covid_crash")
    html = hf_client.get(
        "/methodology/validation?episode=covid_crash",
        headers={"HX-Request": "true", "HX-Target": "validation-scatter"},
    ).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="validation-scatter">')
    fig = figures(html)["validation-chart"]
    shipped = next(t for t in fig["data"] if t["name"] == result["labels"]["shipped"])
    assert shipped["y"] == [p["predicted"]["shipped"] for p in covid["pairs"]]
    assert pct(covid["rmse"]["shipped"], 2) in html


def test_page_needs_a_login(client):
    resp = client.get("/methodology/validation")
    assert resp.status_code in (302, 401) and "/login" in resp.headers.get("Location", "")


def test_json_twin_equals_the_page_service(client, hf_book, result):
    token = login_token(client, HF, "demo12345")
    resp = client.get("/api/v1/analytics/model-validation", headers=bearer(token))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["average_rmse"] == pytest.approx(result["average_rmse"])
    assert body["shipped"]["all_factors"] == "shipped_all_factors"
    assert body["as_of"] == "2026-08-03"

"""One parameter model per endpoint: page, HTMX partial and API give the same answer."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import bearer, login_token
from webapp.schemas.params import (
    CorrelationMatrixParams,
    ParamError,
    RiskParams,
    query_parameters,
)

HF = "demo_hedgefundstyle@sigmasight.com"

CASES = [
    # (page, api segment, query, field, min, max)
    ("risk", "risk-metrics", "lookback_days=300", "lookback_days", 30, 252),
    ("risk", "risk-metrics", "lookback_days=abc", "lookback_days", 30, 252),
    (
        "correlations",
        "correlation-matrix",
        "lookback_days=30&min_overlap=200",
        "min_overlap",
        10,
        30,
    ),
    ("correlations", "correlation-matrix", "max_symbols=0", "max_symbols", 1, 50),
    ("correlations", "correlation-matrix", "lookback_days=29", "lookback_days", 30, 365),
]


def test_stress_category_is_refused_alike(client, hf_book, api_headers):
    api = client.get(
        f"/api/v1/analytics/portfolio/{hf_book}/stress-test?category=weather", headers=api_headers
    )
    assert api.status_code == 400
    details = api.get_json()["error"]["details"]
    assert details["field"] == "category" and "historical" in details["allowed"]
    client.post("/login", data={"email": HF, "password": "demo12345"})
    for headers in ({}, {"HX-Request": "true", "HX-Target": "stress-scenarios"}):
        html = client.get(f"/portfolios/{hf_book}/stress?category=weather", headers=headers)
        text = html.get_data(as_text=True)
        assert html.status_code == 200
        assert 'id="param-error" role="alert" data-field="category"' in text
        assert "Category must be one of: market, factor rotation, rates, historical." in text
        assert len(re.findall(r"<tr data-scenario=", text)) == 21  # the defaults: every scenario


@pytest.fixture()
def api_headers(client, hf_book):
    return bearer(login_token(client, HF, "demo12345"))


@pytest.mark.parametrize(("page", "segment", "query", "field", "lo", "hi"), CASES)
def test_invalid_input_is_refused_alike(
    client, hf_book, api_headers, page, segment, query, field, lo, hi
):
    api = client.get(
        f"/api/v1/analytics/portfolio/{hf_book}/{segment}?{query}", headers=api_headers
    )
    assert api.status_code == 400
    err = api.get_json()["error"]
    assert err["code"] == "invalid_parameter"
    assert (err["details"]["field"], err["details"]["min"], err["details"]["max"]) == (
        field,
        lo,
        hi,
    )

    client.post("/login", data={"email": HF, "password": "demo12345"})
    target = {"risk": "risk-metrics", "correlations": "heatmap"}[page]
    for headers in ({}, {"HX-Request": "true", "HX-Target": target}):
        resp = client.get(f"/portfolios/{hf_book}/{page}?{query}", headers=headers)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200  # the page itself renders, with the defaults and the error
        notice = re.search(
            r'<div class="notice" id="param-error"[^>]*data-field="([^"]+)">(.*?)</div>', html, re.S
        )
        assert notice, (page, query, headers)
        assert notice.group(1) == field
        assert f"{hi}" in notice.group(2) and "instead." in notice.group(2)
        # ...and beside the control itself, with the range the API states.
        inline = re.search(
            rf'<div class="field-error" id="[a-z-]+-error" data-field="{field}">(.*?)</div>', html
        )
        assert inline and f"from {lo} to {hi}" in inline.group(1), (page, query, headers)


@pytest.mark.parametrize(
    ("page", "segment", "query"),
    [
        ("risk", "risk-metrics", "lookback_days=180"),
        ("correlations", "correlation-matrix", "lookback_days=60&min_overlap=40&max_symbols=5"),
    ],
)
def test_valid_input_is_accepted_alike(client, hf_book, api_headers, page, segment, query):
    api = client.get(
        f"/api/v1/analytics/portfolio/{hf_book}/{segment}?{query}", headers=api_headers
    )
    assert api.status_code == 200 and api.get_json()["available"]
    client.post("/login", data={"email": HF, "password": "demo12345"})
    html = client.get(f"/portfolios/{hf_book}/{page}?{query}").get_data(as_text=True)
    assert 'id="param-error"' not in html
    lookback = re.search(r"lookback_days=(\d+)", query).group(1)
    assert f'data-lookback="{lookback}"' in html


def test_models_state_the_contract_ranges_and_the_cross_field_rule():
    assert RiskParams.bounds("lookback_days") == (30, 252)
    assert CorrelationMatrixParams.bounds("max_symbols") == (1, 50)
    with pytest.raises(ParamError) as exc:
        CorrelationMatrixParams.parse({"lookback_days": "60", "min_overlap": "61"})
    assert exc.value.details == {"field": "min_overlap", "value": 61, "min": 10, "max": 60}
    params = {p["name"]: p for p in query_parameters(CorrelationMatrixParams)}
    assert params["min_overlap"]["schema"] == {
        "default": 30,
        "maximum": 365,
        "minimum": 10,
        "type": "integer",
    }
    assert "above lookback_days" in params["min_overlap"]["description"]
    assert CorrelationMatrixParams.parse({}) == CorrelationMatrixParams.defaults()


def test_openapi_takes_the_parameters_from_the_models(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/analytics/portfolio/{portfolio_id}/risk-metrics"]["get"]
    lookback = next(p for p in op["parameters"] if p["name"] == "lookback_days")
    assert lookback["schema"]["maximum"] == 252 == RiskParams.bounds("lookback_days")[1]

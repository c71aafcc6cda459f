"""GET /api/v1/analytics/*: auth, ownership, parameters and missing data.

The values returned equal the service's.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from sqlalchemy import select

from webapp.analytics.factors import FACTOR_NAMES
from webapp.api.contract import shaped
from webapp.extensions import db
from webapp.models import Portfolio, PriceBar
from webapp.services import correlations as correlations_svc
from webapp.services import factor_exposures as factors_svc
from webapp.services import overview as overview_svc
from webapp.services import performance as performance_svc
from webapp.services import risk_metrics as risk_svc
from webapp.services import stress_tests as stress_svc

BASE = "/api/v1/analytics/portfolio/{id}/"
# (path suffix with query, service call producing the same Result)
ENDPOINTS = [
    ("overview", lambda p: overview_svc.overview(p)),
    ("correlation-matrix", lambda p: correlations_svc.correlation_matrix(p)),
    (
        "correlation-matrix?lookback_days=60&min_overlap=20&max_symbols=5",
        lambda p: correlations_svc.correlation_matrix(
            p, lookback_days=60, min_overlap=20, max_symbols=5
        ),
    ),
    ("diversification-score", lambda p: correlations_svc.diversification_score(p)),
    (
        "diversification-score?lookback_days=180&min_overlap=60",
        lambda p: correlations_svc.diversification_score(p, lookback_days=180, min_overlap=60),
    ),
    ("factor-exposures", lambda p: factors_svc.factor_exposures(p)),
    ("positions/factor-exposures", lambda p: factors_svc.position_factor_exposures(p)),
    (
        "positions/factor-exposures?limit=5&offset=5",
        lambda p: factors_svc.position_factor_exposures(p, limit=5, offset=5),
    ),
    (
        "positions/factor-exposures?symbols=nvda,MSFT",
        lambda p: factors_svc.position_factor_exposures(p, symbols=["NVDA", "MSFT"]),
    ),
    ("risk-metrics", lambda p: risk_svc.risk_metrics(p)),
    ("risk-metrics?lookback_days=252", lambda p: risk_svc.risk_metrics(p, lookback_days=252)),
    ("stress-test", lambda p: stress_svc.stress_test(p)),
    (
        "stress-test?scenarios=market_down_10,rates_up",
        lambda p: stress_svc.stress_test(
            p, scenario_ids=["market_down_10", "rates_up"], positions=True
        ),
    ),
    ("stress-test?category=historical", lambda p: stress_svc.stress_test(p, category="historical")),
    ("greeks", lambda p: overview_svc.greeks(p)),
    ("performance", lambda p: performance_svc.performance(p)),
]
PLAIN = [
    "overview",
    "correlation-matrix",
    "diversification-score",
    "factor-exposures",
    "positions/factor-exposures",
    "risk-metrics",
    "stress-test",
    "greeks",
    "performance",
]


# The spec's reason code for "never calculated", per endpoint (TODO3 3.0.3.10-3.0.3.15).
SPEC_NO_RESULTS = {
    "correlation-matrix": "no_calculation_available",
    "diversification-score": "no_calculation_available",
    "factor-exposures": "no_calculation_available",
    "positions/factor-exposures": "no_calculation_available",
    "risk-metrics": "no_snapshots",
    "performance": "no_snapshots",
}


def url(portfolio_id: int, suffix: str) -> str:
    return BASE.format(id=portfolio_id) + suffix


def assert_error(resp, status: int, code: str | None = None) -> dict:
    """The one error shape: {"error": {code, message, details}}."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize("suffix", PLAIN)
def test_requires_credentials(client, books, suffix):
    resp = client.get(url(books["individual"].portfolio_id, suffix))
    assert_error(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_factor_definitions_require_credentials(client):
    resp = client.get("/api/v1/analytics/factors/definitions")
    assert_error(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("suffix", PLAIN)
def test_another_advisors_portfolio_is_404_without_its_data(client, books, stranger, suffix):
    book = books["hedgefundstyle"]
    resp = client.get(url(book.portfolio_id, suffix), headers=stranger.headers)
    error = assert_error(resp, 404, "not_found")
    assert error["details"] == {"portfolio_id": book.portfolio_id}
    assert "Long/Short" not in resp.get_data(as_text=True)


@pytest.mark.parametrize(("suffix", "call"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
@pytest.mark.parametrize("who", ["individual", "hedgefundstyle"])
def test_response_is_the_services_to_dict_plus_the_contract(client, ctx, books, who, suffix, call):
    book = books[who]
    resp = client.get(url(book.portfolio_id, suffix), headers=book.headers)
    assert resp.status_code == 200
    body = resp.get_json()
    result = call(db.session.get(Portfolio, book.portfolio_id))
    endpoint = suffix.split("?")[0].replace("/", "_").replace("-", "_")
    endpoint = {"positions_factor_exposures": "position_factor_exposures"}.get(endpoint, endpoint)
    assert body == json.loads(json.dumps(shaped(endpoint, result)))
    expected = result.to_dict()
    # The envelope is the service's, untouched except where the contract moved a field: the
    # correlation matrix (now {symbol: {symbol: r}}, our rows in matrix_rows) and the stress
    # scenarios (each with id and impact added).
    for key in ("available", "metadata"):
        for k, v in expected[key].items() if key == "metadata" else [(None, expected[key])]:
            assert (body[key][k] if k else body[key]) == json.loads(json.dumps(v))
    for k, v in expected["data"].items():
        if k == "matrix":
            assert body["data"]["matrix_rows"] == v
        elif k == "scenarios":
            assert [
                {kk: vv for kk, vv in s.items() if kk not in ("id", "impact")}
                for s in body["data"]["scenarios"]
            ] == json.loads(json.dumps(v))
        else:
            assert body["data"][k] == json.loads(json.dumps(v)), k
    assert body["available"] is True
    meta = body["metadata"]
    assert meta["portfolio_id"] == book.portfolio_id
    assert meta["calculated_at"].endswith("Z") and len(meta["as_of"]) == 10


@pytest.mark.parametrize("suffix", PLAIN)
def test_fresh_portfolio_without_a_batch_is_available_false(client, stranger, suffix):
    resp = client.get(url(stranger.portfolio_id, suffix), headers=stranger.headers)
    assert resp.status_code == 200
    body = resp.get_json()
    # The spec's reason code, ours (the batch never ran) in detail.
    assert body["available"] is False and body["detail"] == "no_results"
    assert body["reason"] == SPEC_NO_RESULTS.get(suffix, "no_results")
    assert "data" not in body and body["message"]
    assert body["metadata"]["portfolio_id"] == stranger.portfolio_id


def test_overview_equity_is_quantities_times_last_prices_plus_cash(client, ctx, books):
    """Independent check from the DB: the individual book holds stocks and ETFs only."""
    book = books["individual"]
    portfolio = db.session.get(Portfolio, book.portfolio_id)
    body = client.get(url(book.portfolio_id, "overview"), headers=book.headers).get_json()
    data, as_of = body["data"], dt.date.fromisoformat(body["metadata"]["as_of"])
    expected = portfolio.cash
    for p in portfolio.positions:
        price = db.session.scalar(
            select(PriceBar.adj_close)
            .where(PriceBar.symbol == p.symbol, PriceBar.date <= as_of)
            .order_by(PriceBar.date.desc())
            .limit(1)
        )
        expected += p.quantity * price * p.multiplier
    assert data["summary"]["equity"] == pytest.approx(expected, rel=1e-12)
    assert data["summary"]["position_count"] == len(portfolio.positions)
    longs = sum(p["market_value"] for p in data["positions"] if p["market_value"] > 0)
    assert data["summary"]["long_exposure"] == pytest.approx(longs)


def test_correlation_matrix_is_symmetric_with_unit_diagonal_and_truncates(client, books):
    book = books["hedgefundstyle"]
    body = client.get(
        url(book.portfolio_id, "correlation-matrix?max_symbols=4"), headers=book.headers
    ).get_json()
    symbols = body["data"]["symbols"]
    # The spec's {symbol: {symbol: r}}; the same numbers as our row form.
    as_spec = body["data"]["matrix"]
    # (JSON objects are unordered: the largest-first order is data.symbols.)
    assert set(as_spec) == set(symbols) and all(
        set(row) == set(symbols) for row in as_spec.values()
    )
    matrix = np.array([[as_spec[a][b] for b in symbols] for a in symbols], dtype=float)
    assert np.array_equal(
        matrix, np.array(body["data"]["matrix_rows"], dtype=float), equal_nan=True
    )
    assert matrix.shape == (4, 4) and len(symbols) == 4
    assert np.allclose(np.diag(matrix), 1.0) and np.allclose(matrix, matrix.T, equal_nan=True)
    meta = body["metadata"]
    assert meta["truncated"] is True and meta["total_symbols"] > 4 and meta["symbols_included"] == 4
    full = client.get(
        url(book.portfolio_id, "correlation-matrix?max_symbols=50"), headers=book.headers
    ).get_json()
    assert full["metadata"]["truncated"] is False
    assert full["data"]["symbols"][:4] == body["data"]["symbols"]  # largest first


def test_diversification_score_is_the_weighted_mean_absolute_correlation(client, books):
    book = books["individual"]
    matrix = client.get(
        url(book.portfolio_id, "correlation-matrix?max_symbols=50"), headers=book.headers
    ).get_json()["data"]
    score = client.get(
        url(book.portfolio_id, "diversification-score"), headers=book.headers
    ).get_json()["data"]["portfolio_correlation"]
    symbols, c = matrix["symbols"], matrix["matrix"]
    total = sum(abs(w) for w in matrix["weights"].values())
    w = [abs(matrix["weights"][s]) / total for s in symbols]
    num = den = 0.0
    for i in range(len(symbols)):
        for j in range(i + 1, len(symbols)):
            r = c[symbols[i]][symbols[j]]
            if r is not None:
                num += w[i] * w[j] * abs(r)
                den += w[i] * w[j]
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(num / den, rel=1e-9)


def test_factor_betas_are_dollar_exposure_over_equity(client, books):
    book = books["hnw"]
    data = client.get(url(book.portfolio_id, "factor-exposures"), headers=book.headers).get_json()[
        "data"
    ]
    assert [f["name"] for f in data["factors"]] == list(FACTOR_NAMES)
    for f in data["factors"]:
        assert f["beta"] == pytest.approx(f["exposure_dollar"] / data["equity"], rel=1e-9)


def test_position_factor_exposures_paginate_and_filter(client, ctx, books):
    book = books["hedgefundstyle"]
    first = client.get(
        url(book.portfolio_id, "positions/factor-exposures?limit=7"), headers=book.headers
    ).get_json()
    second = client.get(
        url(book.portfolio_id, "positions/factor-exposures?limit=7&offset=7"), headers=book.headers
    ).get_json()
    total = len(db.session.get(Portfolio, book.portfolio_id).positions)
    assert first["metadata"]["total"] == total and first["metadata"]["has_more"] is True
    ids = [r["position_id"] for r in first["data"]["positions"] + second["data"]["positions"]]
    assert len(ids) == 14 == len(set(ids))
    nvda = client.get(
        url(book.portfolio_id, "positions/factor-exposures?symbols=NVDA"), headers=book.headers
    ).get_json()["data"]["positions"]
    assert {r["underlying"] for r in nvda} == {"NVDA"} and len(nvda) == 2  # the stock and the call


def test_risk_metrics_volatility_matches_its_return_series(client, books):
    book = books["individual"]
    body = client.get(
        url(book.portfolio_id, "risk-metrics?lookback_days=60"), headers=book.headers
    ).get_json()
    data = body["data"]
    returns = np.array(data["series"]["returns"])
    assert len(returns) == data["nobs"] == 60
    assert data["annualized_volatility"] == pytest.approx(returns.std(ddof=1) * math.sqrt(252))
    assert data["max_drawdown"] <= 0
    assert body["metadata"]["parameters"] == {"lookback_days": 60}


def test_stress_test_filters_and_rejects_unknown_scenarios(client, books):
    book = books["hedgefundstyle"]
    body = client.get(
        url(book.portfolio_id, "stress-test?scenarios=market_down_10,rates_up"),
        headers=book.headers,
    ).get_json()
    scenarios = body["data"]["scenarios"]
    assert {s["scenario_id"] for s in scenarios} == {"market_down_10", "rates_up"}
    for s in scenarios:
        assert s["new_value"] == pytest.approx(s["equity"] + s["pnl"])
        # A named scenario carries its position detail, which adds up to its P&L.
        assert s["positions"] and s["move_explained"]
        assert sum(p["pnl"] for p in s["positions"]) == pytest.approx(s["pnl"], rel=1e-9)
    market = client.get(
        url(book.portfolio_id, "stress-test?category=market"), headers=book.headers
    ).get_json()["data"]["scenarios"]
    assert market and {s["category"] for s in market} == {"market"}
    # The library list is the contract's aggregate: no per-position rows.
    assert not any("positions" in s or "move_explained" in s for s in market)
    resp = client.get(
        url(book.portfolio_id, "stress-test?scenarios=market_down_10,martian_invasion"),
        headers=book.headers,
    )
    error = assert_error(resp, 400, "invalid_parameter")
    assert error["details"] == {"field": "scenarios", "unknown": ["martian_invasion"]}
    bad_category = client.get(
        url(book.portfolio_id, "stress-test?category=weather"), headers=book.headers
    )
    assert assert_error(bad_category, 400)["details"]["field"] == "category"


def test_greeks_totals_are_the_sum_of_positions(client, books):
    book = books["hedgefundstyle"]
    data = client.get(url(book.portfolio_id, "greeks"), headers=book.headers).get_json()["data"]
    assert data["count"] == len(data["options"]) == 10
    for greek in ("delta", "gamma", "theta", "vega", "rho"):
        assert data["totals"][greek] == pytest.approx(
            sum(o["position"][greek] for o in data["options"])
        )


def test_factor_definitions(client, ctx, books):
    book = books["individual"]
    body = client.get("/api/v1/analytics/factors/definitions", headers=book.headers).get_json()
    assert body == {"factors": factors_svc.factor_definitions(), "count": 8}
    assert [f["name"] for f in body["factors"]] == list(FACTOR_NAMES)


@pytest.mark.parametrize(
    ("suffix", "field", "lo", "hi"),
    [
        ("correlation-matrix?lookback_days=29", "lookback_days", 30, 365),
        ("correlation-matrix?lookback_days=366", "lookback_days", 30, 365),
        ("correlation-matrix?lookback_days=ninety", "lookback_days", 30, 365),
        ("correlation-matrix?min_overlap=9", "min_overlap", 10, 365),
        ("correlation-matrix?max_symbols=0", "max_symbols", 1, 50),
        ("correlation-matrix?max_symbols=51", "max_symbols", 1, 50),
        ("correlation-matrix?lookback_days=60&min_overlap=61", "min_overlap", 10, 60),
        ("diversification-score?lookback_days=400", "lookback_days", 30, 365),
        ("diversification-score?lookback_days=30&min_overlap=31", "min_overlap", 10, 30),
        ("risk-metrics?lookback_days=29", "lookback_days", 30, 252),
        ("risk-metrics?lookback_days=253", "lookback_days", 30, 252),
        ("positions/factor-exposures?limit=0", "limit", 1, 200),
        ("positions/factor-exposures?limit=201", "limit", 1, 200),
        ("positions/factor-exposures?offset=-1", "offset", 0, 1_000_000),
    ],
)
def test_parameter_errors_name_the_field_and_range(client, books, suffix, field, lo, hi):
    book = books["individual"]
    error = assert_error(
        client.get(url(book.portfolio_id, suffix), headers=book.headers), 400, "invalid_parameter"
    )
    assert error["details"]["field"] == field
    assert (error["details"]["min"], error["details"]["max"]) == (lo, hi)
    assert field in error["message"] and str(hi) in error["message"]


@pytest.mark.parametrize(
    "query", ["symbols=", "symbols=AAPL,,MSFT", "symbols=AAPL,", "symbols=%3DCMD()"]
)
def test_malformed_symbol_lists_are_400(client, books, query):
    book = books["individual"]
    resp = client.get(
        url(book.portfolio_id, f"positions/factor-exposures?{query}"), headers=book.headers
    )
    assert assert_error(resp, 400, "invalid_parameter")["details"]["field"] == "symbols"

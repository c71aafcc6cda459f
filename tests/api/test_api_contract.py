"""The reference contract, read as a client written against shared/reference/TODO3.md would.

Each test reads field paths from TODO3's response examples (3.0.3.1, 3.0.3.10-3.0.3.15) and
checks them against an independent reading of the same response or the database, for the
three demo books, and the ``available: false`` answers of an empty portfolio.
"""

from __future__ import annotations

import math

import pytest

from webapp.extensions import db
from webapp.models import Portfolio
from webapp.services.batch import run_portfolio_batch

BASE = "/api/v1/analytics/portfolio/{id}/"
WHO = ["individual", "hnw", "hedgefundstyle"]


def get(client, book, suffix: str) -> dict:
    resp = client.get(BASE.format(id=book.portfolio_id) + suffix, headers=book.headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@pytest.mark.parametrize("who", WHO)
def test_overview_as_the_spec_reads_it(client, ctx, books, who):
    book = books[who]
    body = get(client, book, "overview")
    portfolio = db.session.get(Portfolio, book.portfolio_id)
    assert body["portfolio_id"] == book.portfolio_id
    assert body["cash_balance"] == pytest.approx(float(portfolio.cash))
    total = body["total_value"]
    ex = body["exposures"]
    assert set(ex) >= {
        "long_exposure",
        "short_exposure",
        "gross_exposure",
        "net_exposure",
        "long_percentage",
        "short_percentage",
    }
    assert ex["gross_exposure"] == pytest.approx(ex["long_exposure"] - ex["short_exposure"])
    assert ex["net_exposure"] == pytest.approx(ex["long_exposure"] + ex["short_exposure"])
    # Percentages in percentage points of the portfolio's value (95.0 = 95%).
    assert ex["long_percentage"] == pytest.approx(100 * ex["long_exposure"] / total)
    assert ex["short_percentage"] == pytest.approx(100 * abs(ex["short_exposure"]) / total)
    pnl = body["pnl"]
    assert pnl["total_pnl"] == pytest.approx(pnl["unrealized_pnl"] + pnl["realized_pnl"])
    counts = body["position_count"]
    assert counts["total_positions"] == len(portfolio.positions)
    assert counts["long_count"] + counts["short_count"] == counts["total_positions"]
    options = [p for p in portfolio.positions if p.position_type in ("LC", "LP", "SC", "SP")]
    assert counts["option_count"] == len(options)
    assert body["last_updated"].endswith("Z")


@pytest.mark.parametrize("who", WHO)
def test_risk_metrics_as_the_spec_reads_it(client, books, who):
    body = get(client, books[who], "risk-metrics?lookback_days=60")
    rm, meta = body["risk_metrics"], body["metadata"]
    assert all(number(rm[k]) for k in ("portfolio_beta", "annualized_volatility", "max_drawdown"))
    assert 0 < rm["annualized_volatility"] < 2 and -1 <= rm["max_drawdown"] <= 0  # fractions
    assert meta["lookback_days"] == 60 and meta["observations"] == 60
    assert meta["date_range"]["start"] < meta["date_range"]["end"] == "2026-08-03"
    assert rm["portfolio_beta"] == body["data"]["portfolio_beta"]


@pytest.mark.parametrize("who", WHO)
def test_factor_exposures_as_the_spec_reads_it(client, books, who):
    body = get(client, books[who], "factor-exposures")
    assert body["calculation_date"] == "2026-08-03"
    factors = {f["name"]: f for f in body["factors"]}
    assert "Market" in factors and len(factors) == 8
    equity = body["data"]["equity"]
    for f in factors.values():
        assert set(f) == {"name", "beta", "exposure_dollar"}
        assert f["exposure_dollar"] == pytest.approx(f["beta"] * equity)
    assert body["metadata"]["factor_model"] == "8-factor"


def test_position_factor_exposures_page_as_the_spec_reads_it(client, books):
    book = books["hedgefundstyle"]
    first = get(client, book, "positions/factor-exposures?limit=3&offset=0")
    second = get(client, book, "positions/factor-exposures?limit=3&offset=3")
    assert (first["limit"], first["offset"], second["offset"]) == (3, 0, 3)
    assert first["total"] == second["total"] >= 6
    ids = [p["position_id"] for p in first["positions"] + second["positions"]]
    assert len(set(ids)) == 6  # pages do not overlap
    for p in first["positions"]:
        assert isinstance(p["symbol"], str) and all(number(b) for b in p["exposures"].values())


@pytest.mark.parametrize("who", WHO)
def test_correlation_matrix_and_diversification_as_the_spec_reads_them(client, books, who):
    book = books[who]
    body = get(client, book, "correlation-matrix?lookback_days=90&min_overlap=30&max_symbols=5")
    matrix = body["data"]["matrix"]
    symbols = list(matrix)
    assert 2 <= len(symbols) <= 5
    for a in symbols:
        assert matrix[a][a] == pytest.approx(1.0)
        for b in symbols:
            assert matrix[a][b] == matrix[b][a]
            assert matrix[a][b] is None or -1 <= matrix[a][b] <= 1
    assert number(body["data"]["average_correlation"])
    assert body["metadata"]["duration_days"] == 90

    div = get(client, book, "diversification-score?lookback_days=90&min_overlap=30")
    assert div["duration_days"] == 90 and div["calculation_date"] == "2026-08-03"
    assert 0 <= div["portfolio_correlation"] <= 1
    assert div["symbols_included"] >= len(symbols)


@pytest.mark.parametrize("who", WHO)
def test_stress_test_as_the_spec_reads_it(client, books, who):
    body = get(client, books[who], "stress-test?scenarios=market_down_10,market_up_10")
    data = body["data"]
    assert data["calculation_date"] == "2026-08-03"
    value = data["portfolio_value"]
    assert {s["id"] for s in data["scenarios"]} == {"market_down_10", "market_up_10"}
    for s in data["scenarios"]:
        impact = s["impact"]
        # percentage_impact is in percentage points: -10.0 means -10%.
        assert impact["percentage_impact"] == pytest.approx(100 * impact["dollar_impact"] / value)
        assert impact["new_portfolio_value"] == pytest.approx(value + impact["dollar_impact"])
        assert s["impact_type"] == "correlated" and s["severity"] and s["category"] == "market"
    down = next(s for s in data["scenarios"] if s["id"] == "market_down_10")
    assert -40 < down["impact"]["percentage_impact"] < 0  # points, not a fraction
    assert body["metadata"]["scenarios_requested"] == ["market_down_10", "market_up_10"]


# ----------------------------------------------------------------- available: false answers

SPEC_REASON = {
    "correlation-matrix": "no_calculation_available",
    "diversification-score": "no_calculation_available",
    "factor-exposures": "no_calculation_available",
    "positions/factor-exposures": "no_calculation_available",
    "risk-metrics": "no_snapshots",
    "stress-test": "no_snapshot",
    "performance": "no_snapshots",
}


@pytest.fixture()
def empty_book(factory, client):
    """An advisor's portfolio with cash only, after a batch ran on it."""
    from tests.api.conftest import Book, bearer, login_token

    user = factory.user()
    portfolio = factory.portfolio(user, positions=[])
    run_portfolio_batch(portfolio.id)
    return Book(
        user.email, user.id, portfolio.id, bearer(login_token(client, user.email, factory.password))
    )


@pytest.mark.parametrize("suffix", sorted(SPEC_REASON))
def test_empty_portfolio_answers_with_the_spec_reason_and_ours(client, empty_book, suffix):
    body = get(client, empty_book, suffix)
    assert body["available"] is False
    assert body["reason"] == SPEC_REASON[suffix]
    assert body["detail"] == "no_positions"  # ours: the valuation found nothing to value
    assert body["message"] and "data" not in body


def test_windowed_unavailable_answers_say_the_window(client, empty_book):
    body = get(client, empty_book, "correlation-matrix?lookback_days=60&min_overlap=30")
    assert body["metadata"]["duration_days"] == 60


# ----------------------------------------------------- the page shows the JSON's numbers


@pytest.mark.parametrize("who", WHO)
def test_pages_show_the_numbers_a_spec_client_reads(client, books, who):
    from webapp.formatting import money, number, pct

    book = books[who]
    overview = get(client, book, "overview")
    risk = get(client, book, "risk-metrics?lookback_days=90")
    stress = get(client, book, "stress-test")
    client.post("/login", data={"email": book.email, "password": "demo12345"})
    base = f"/portfolios/{book.portfolio_id}"
    page = client.get(f"{base}/overview").get_data(as_text=True)
    for value in (
        overview["total_value"],
        overview["cash_balance"],
        overview["exposures"]["long_exposure"],
        overview["exposures"]["gross_exposure"],
        overview["pnl"]["total_pnl"],
    ):
        assert money(value) in page, value
    page = client.get(f"{base}/risk?lookback_days=90").get_data(as_text=True)
    assert number(risk["risk_metrics"]["portfolio_beta"], 2) in page
    assert pct(risk["risk_metrics"]["annualized_volatility"]) in page
    page = client.get(f"{base}/stress").get_data(as_text=True)
    for s in stress["data"]["scenarios"]:
        row = page.split(f'data-scenario="{s["id"]}"', 1)[1].split("</tr>", 1)[0]
        # The page's "% of equity" is the contract's percentage_impact in points.
        assert pct(s["impact"]["percentage_impact"] / 100) in row, s["id"]
        assert money(s["impact"]["dollar_impact"]) in row
        assert money(s["impact"]["new_portfolio_value"]) in row


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(
    ("suffix", "model_name"),
    [
        ("overview", "OverviewContract"),
        ("risk-metrics", "RiskContract"),
        ("factor-exposures", "FactorExposuresContract"),
        ("positions/factor-exposures?limit=5", "PositionFactorContract"),
        ("diversification-score", "DiversificationContract"),
    ],
)
def test_responses_validate_against_the_declared_contract_models(
    client, books, who, suffix, model_name
):
    from webapp.schemas import contract

    model = getattr(contract, model_name)
    body = get(client, books[who], suffix)
    block = model.model_validate({k: body[k] for k in model.model_fields})  # strict: no extras
    assert block.portfolio_id == books[who].portfolio_id
    for s in get(client, books[who], "stress-test")["data"]["scenarios"]:
        contract.StressImpact.model_validate(s["impact"])


def _plain_gets() -> list[tuple[str, str]]:
    """(operation id, path) of every GET whose only parameter is a portfolio id in the path."""
    from tests.api.test_api_openapi import DOCUMENT

    out = []
    for path, item in DOCUMENT["paths"].items():
        op = item.get("get")
        if not op or "portfolio_id" not in path or path.startswith("/api/v1/management/households"):
            continue  # (a household's id is a book of its own kind)
        names = {p["name"] for p in op["parameters"] if p["in"] == "path" or p["required"]}
        if names == {"portfolio_id"}:
            out.append((op["operationId"], path))
    return sorted(out)


PLAIN_GETS = _plain_gets()


def test_the_plain_gets_cover_the_analytics():
    ids = {op for op, _ in PLAIN_GETS}
    assert {"analytics_overview", "analytics_risk_metrics", "analytics_stress_test"} <= ids
    assert len(PLAIN_GETS) >= 15


@pytest.mark.parametrize("who", [*WHO, "empty"])
def test_every_answer_is_an_instance_of_its_declared_response_model(client, books, empty_book, who):
    """The model each route declares (and the document is generated from) parses what the
    route sends: for the three demo books and a portfolio with nothing to value."""
    from webapp.api.apidoc import declared

    book = empty_book if who == "empty" else books[who]
    for operation_id, path in PLAIN_GETS:
        url = path.replace("{portfolio_id}", str(book.portfolio_id))
        resp = client.get(url, headers={**book.headers, "Accept-Encoding": "identity"})
        assert resp.status_code == 200, (operation_id, resp.status_code)
        model = declared(operation_id).ok
        if resp.is_json:
            model.model_validate(resp.get_json())
        else:  # a download: the JSON format is the declared one
            body = client.get(url + "?format=json", headers=book.headers).get_json()
            model.model_validate(body)

"""GET /analytics/*: the stored calculation results, exactly as the pages show them.

Each route validates its parameters, checks ownership and returns the service ``Result``'s
``to_dict()`` with the reference contract's fields added (``contract.shaped``): ``available:
true`` with data, or ``available: false`` with the spec's reason and ours in ``detail`` (200).
"""

from __future__ import annotations

import re

from flask import jsonify, request

from webapp.api import bp
from webapp.api.common import (
    ApiError,
    int_param,
    owned_portfolio_or_404,
    query_params,
    require_auth,
)
from webapp.api.contract import shaped
from webapp.schemas.params import (
    CorrelationMatrixParams,
    DiversificationParams,
    ForwardRangeParams,
    RiskParams,
    StressParams,
)
from webapp.services.correlations import correlation_matrix, diversification_score
from webapp.services.factor_exposures import (
    factor_definitions,
    factor_exposures,
    position_factor_exposures,
)
from webapp.services.jsonable import jsonable
from webapp.services.model_validation import model_validation
from webapp.services.overview import greeks, overview
from webapp.services.performance import performance
from webapp.services.risk_metrics import risk_metrics
from webapp.services.risk_profile import forward_range, risk_score
from webapp.services.stress_tests import stress_test

# Parameter ranges (the reference backlog 3.0.3.10-3.0.3.15): (default, minimum, maximum); the
# analytics windows are declared in webapp/schemas/params.py.
LIMIT = (50, 1, 200)
OFFSET = (0, 0, 1_000_000)
MAX_LIST_ITEMS = 100  # symbols / scenario ids in one comma-separated parameter
# A ticker, class share (BRK-B, BRK.B) or OSI option symbol; spaces around it are ignored.
SYMBOL_RE = re.compile(r" *([A-Za-z0-9][A-Za-z0-9.\-]{0,31}) *")


def csv_param(
    name: str,
    *,
    pattern: re.Pattern[str] | None = None,
    upper: bool = False,
    required: bool = False,
    max_items: int = MAX_LIST_ITEMS,
) -> list[str] | None:
    """A comma-separated list parameter (order kept, duplicates dropped); 400 for a bad entry.

    With ``pattern`` each entry must match it (group 1 is the value); without, entries are taken
    as written. An empty entry ("a,,b", "a,") is an error, not silently skipped.
    """
    raw = request.args.get(name)
    if raw is None:
        if required:
            raise ApiError(
                400,
                f"'{name}' is required: a comma-separated list",
                {"field": name},
                "invalid_parameter",
            )
        return None
    parts = raw.split(",")
    if len(parts) > max_items:
        raise ApiError(
            400,
            f"'{name}' lists at most {max_items} values",
            {"field": name, "max_items": max_items},
            "invalid_parameter",
        )
    items, invalid = [], []
    for part in parts:
        match = pattern.fullmatch(part) if pattern else None
        value = match.group(1) if match else ("" if pattern else part)
        if not value:
            invalid.append(part)
        elif (value := value.upper() if upper else value) not in items:
            items.append(value)
    if invalid:
        raise ApiError(
            400,
            f"'{name}' has empty or malformed entries",
            {"field": name, "invalid": invalid[:10]},
            "invalid_parameter",
        )
    return items


def _portfolio_route(rule: str):
    """Register an authenticated GET under /analytics/portfolio/<id>/<rule>."""

    def register(view):
        return bp.get(f"/analytics/portfolio/<int:portfolio_id>/{rule}")(require_auth(view))

    return register


def _stored_result_route(rule: str, read, doc: str) -> None:
    """Register ``analytics_<rule>``: the stored result ``read(portfolio)``, no parameters."""

    name = rule.replace("-", "_")

    def view(portfolio_id: int):
        return jsonify(shaped(name, read(owned_portfolio_or_404(portfolio_id))))

    view.__name__ = "analytics_" + name
    view.__doc__ = doc
    _portfolio_route(rule)(view)


for _rule, _read, _doc in (
    ("overview", overview, "Equity, exposures, P&L, sectors and valued positions."),
    ("factor-exposures", factor_exposures, "Portfolio betas and dollar exposures per factor."),
    ("greeks", greeks, "Per-option and total Greeks."),
    ("performance", performance, "Value history against SPY and period returns."),
    ("risk-score", risk_score, "Risk score 1-99 beside the client's tolerance, gap in words."),
):
    _stored_result_route(_rule, _read, _doc)


@_portfolio_route("correlation-matrix")
def analytics_correlation_matrix(portfolio_id: int):
    """Pairwise correlations of the largest holdings."""
    params = query_params(CorrelationMatrixParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify(
        shaped("correlation_matrix", correlation_matrix(portfolio, **params.model_dump()))
    )


@_portfolio_route("diversification-score")
def analytics_diversification_score(portfolio_id: int):
    """Weighted mean absolute correlation over every modelled holding."""
    params = query_params(DiversificationParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    result = diversification_score(portfolio, **params.model_dump())
    return jsonify(shaped("diversification_score", result))


@_portfolio_route("positions/factor-exposures")
def analytics_position_factor_exposures(portfolio_id: int):
    """Per-position factor betas, paginated, optionally for some symbols only."""
    limit = int_param("limit", *LIMIT)
    offset = int_param("offset", *OFFSET)
    symbols = csv_param("symbols", pattern=SYMBOL_RE, upper=True)
    portfolio = owned_portfolio_or_404(portfolio_id)
    result = position_factor_exposures(portfolio, limit=limit, offset=offset, symbols=symbols)
    return jsonify(shaped("position_factor_exposures", result))


@_portfolio_route("risk-metrics")
def analytics_risk_metrics(portfolio_id: int):
    """Beta, volatility, drawdown, VaR/ES and risk contributions over the window."""
    params = query_params(RiskParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify(shaped("risk_metrics", risk_metrics(portfolio, **params.model_dump())))


@_portfolio_route("forward-range")
def analytics_forward_range(portfolio_id: int):
    """Monte Carlo bands at 6 months and 1 year, fan-chart checkpoints, loss-limit breach odds."""
    params = query_params(ForwardRangeParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify(shaped("forward_range", forward_range(portfolio, params.method)))


@_portfolio_route("stress-test")
def analytics_stress_test(portfolio_id: int):
    """Scenario P&L, optionally some scenario ids or one category; unknown ids are a 400."""
    params = query_params(StressParams)
    category, scenario_ids = params.category, params.scenario_ids
    portfolio = owned_portfolio_or_404(portfolio_id)
    # Named scenarios come with their position detail (the page's drill-down); the whole
    # library is the contract's aggregate list.
    result = stress_test(
        portfolio, category=category, scenario_ids=scenario_ids, positions=bool(scenario_ids)
    )
    unknown = result.metadata.get("unknown_scenarios")
    if unknown:
        raise ApiError(
            400,
            "Unknown scenario id(s): " + ", ".join(unknown),
            {"field": "scenarios", "unknown": unknown},
            "invalid_parameter",
        )
    return jsonify(shaped("stress_test", result))


@bp.get("/analytics/factors/definitions")
@require_auth
def analytics_factor_definitions():
    """The factor model's factors: name, ETF proxy, construction and description."""
    factors = factor_definitions()
    return jsonify({"factors": factors, "count": len(factors)})


@bp.get("/analytics/model-validation")
@require_auth
def analytics_model_validation():
    """The stress models' out-of-sample errors per historical episode (the validation page's)."""
    return jsonify(jsonable(model_validation()))

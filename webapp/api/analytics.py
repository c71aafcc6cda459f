"""GET /analytics/*: the stored calculation results, exactly as the pages show them.

Each route validates its parameters, checks ownership and returns the service ``Result``'s
``to_dict()`` with the reference contract's fields added (``contract.shaped``): ``available:
true`` with data, or ``available: false`` with the spec's reason and ours in ``detail`` (200).
"""

from __future__ import annotations

from flask import jsonify

from webapp.api import bp
from webapp.api.apidoc import documented
from webapp.api.common import (
    ApiError,
    owned_portfolio_or_404,
    query_params,
    require_auth,
)
from webapp.api.contract import shaped
from webapp.schemas.api.analytics import (
    CorrelationResult,
    DiversificationResult,
    FactorDefinitionsResponse,
    FactorExposuresResult,
    ForwardRangeResult,
    GreeksResult,
    ModelValidationResponse,
    OverviewResult,
    PerformanceResult,
    PositionFactorResult,
    RiskResult,
    RiskScoreResult,
    StressResult,
)
from webapp.schemas.params import (
    CorrelationMatrixParams,
    DiversificationParams,
    ForwardRangeParams,
    PositionFactorParams,
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


def _portfolio_route(rule: str):
    """Register an authenticated GET under /analytics/portfolio/<id>/<rule>."""

    def register(view):
        return bp.get(f"/analytics/portfolio/<int:portfolio_id>/{rule}")(require_auth(view))

    return register


def _stored_result_route(rule: str, read, summary: str, result, doc: str) -> None:
    """Register ``analytics_<rule>``: the stored result ``read(portfolio)``, no parameters."""

    name = rule.replace("-", "_")

    def view(portfolio_id: int):
        return jsonify(shaped(name, read(owned_portfolio_or_404(portfolio_id))))

    view.__name__ = "analytics_" + name
    view.__doc__ = doc
    _portfolio_route(rule)(documented(view.__name__, summary, result, ok_text=summary)(view))


for _rule, _read, _summary, _result, _doc in (
    (
        "overview",
        overview,
        "Portfolio overview",
        OverviewResult,
        "Equity, exposures, P&L, sectors and valued positions.",
    ),
    (
        "factor-exposures",
        factor_exposures,
        "Portfolio factor exposures",
        FactorExposuresResult,
        "Portfolio betas and dollar exposures per factor.",
    ),
    ("greeks", greeks, "Option Greeks", GreeksResult, "Per-option and total Greeks."),
    (
        "performance",
        performance,
        "Performance vs SPY",
        PerformanceResult,
        "Value history against SPY and period returns.",
    ),
    (
        "risk-score",
        risk_score,
        "Risk score against the client's tolerance",
        RiskScoreResult,
        "Risk score 1-99 beside the client's tolerance, gap in words.",
    ),
):
    _stored_result_route(_rule, _read, _summary, _result, _doc)


@_portfolio_route("correlation-matrix")
@documented(
    "analytics_correlation_matrix",
    "Correlation matrix of the largest holdings",
    CorrelationResult,
    ok_text="Correlation matrix of the largest holdings",
    query=CorrelationMatrixParams,
)
def analytics_correlation_matrix(portfolio_id: int):
    """Pairwise correlations of the largest holdings."""
    params = query_params(CorrelationMatrixParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify(
        shaped("correlation_matrix", correlation_matrix(portfolio, **params.model_dump()))
    )


@_portfolio_route("diversification-score")
@documented(
    "analytics_diversification_score",
    "Diversification score",
    DiversificationResult,
    ok_text="Diversification score",
    query=DiversificationParams,
)
def analytics_diversification_score(portfolio_id: int):
    """Weighted mean absolute correlation over every modelled holding."""
    params = query_params(DiversificationParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    result = diversification_score(portfolio, **params.model_dump())
    return jsonify(shaped("diversification_score", result))


@_portfolio_route("positions/factor-exposures")
@documented(
    "analytics_position_factor_exposures",
    "Per-position factor exposures (paginated)",
    PositionFactorResult,
    ok_text="Per-position factor exposures (paginated)",
    query=PositionFactorParams,
)
def analytics_position_factor_exposures(portfolio_id: int):
    """Per-position factor betas, paginated, optionally for some symbols only."""
    params = query_params(PositionFactorParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    result = position_factor_exposures(
        portfolio, limit=params.limit, offset=params.offset, symbols=params.symbol_list
    )
    return jsonify(shaped("position_factor_exposures", result))


@_portfolio_route("risk-metrics")
@documented(
    "analytics_risk_metrics",
    "Risk metrics",
    RiskResult,
    ok_text="Risk metrics",
    query=RiskParams,
)
def analytics_risk_metrics(portfolio_id: int):
    """Beta, volatility, drawdown, VaR/ES and risk contributions over the window."""
    params = query_params(RiskParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify(shaped("risk_metrics", risk_metrics(portfolio, **params.model_dump())))


@_portfolio_route("forward-range")
@documented(
    "analytics_forward_range",
    "Forward range: Monte Carlo bands at 6 months and 1 year",
    ForwardRangeResult,
    ok_text="Forward range: Monte Carlo bands at 6 months and 1 year",
    query=ForwardRangeParams,
)
def analytics_forward_range(portfolio_id: int):
    """Monte Carlo bands at 6 months and 1 year, fan-chart checkpoints, loss-limit breach odds."""
    params = query_params(ForwardRangeParams)
    portfolio = owned_portfolio_or_404(portfolio_id)
    return jsonify(shaped("forward_range", forward_range(portfolio, params.method)))


@_portfolio_route("stress-test")
@documented(
    "analytics_stress_test",
    "Stress test results",
    StressResult,
    ok_text="Stress test results",
    query=StressParams,
)
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
@documented(
    "analytics_factor_definitions",
    "Factor definitions",
    FactorDefinitionsResponse,
    ok_text="The factors",
)
def analytics_factor_definitions():
    """The factor model's factors: name, ETF proxy, construction and description."""
    factors = factor_definitions()
    return jsonify({"factors": factors, "count": len(factors)})


@bp.get("/analytics/model-validation")
@require_auth
@documented(
    "analytics_model_validation",
    "Out-of-sample validation of the stress models on the stored prices",
    ModelValidationResponse,
    ok_text="Every model's errors per historical episode",
)
def analytics_model_validation():
    """The stress models' out-of-sample errors per historical episode (the validation page's)."""
    return jsonify(jsonable(model_validation()))

"""Stress tests: the step running every scenario of the library, and the read model."""

from __future__ import annotations

import datetime as dt

from webapp.analytics import stress as stress_engine
from webapp.analytics.constants import BENCHMARK_SYMBOL, DEFAULT_FACTOR_WINDOW
from webapp.models import Portfolio
from webapp.services import queries
from webapp.services.pipeline import Step, StepContext
from webapp.services.results import Result, stored

METHOD = (
    "Factor scenarios shock some factors; the others move by their conditional "
    "expectation Σ_us Σ_ss⁻¹ s over the factor window. Underlying move r = Σ_f β_f × "
    "factor move; stock P&L = market value × r. Options: full Black–Scholes revaluation "
    "at the moved underlying S(1 + r), with implied vol moved by the scenario's vol rule "
    "(its vol_shock in vol points, else +1.35 × the market's fall when the market falls, "
    "else unchanged; never below 1%) and the same days to expiry (instantaneous); "
    "expired options at intrinsic value. A long option loses at most its value; "
    "delta–gamma P&L is shown beside it for comparison only. Historical replays apply "
    "each symbol's actual return over the episode to today's holdings, with options "
    "repriced at the underlying's realized vol over the episode and their days to "
    "expiry reduced by the episode's length."
)


def _run(ctx: StepContext) -> None:
    """Every scenario of the library: correlated factor shocks and historical replays."""
    valuation = ctx.valuation
    valued = valuation.priced()
    model = ctx.factor_model
    equity = valuation.equity
    scenarios = stress_engine.load_scenarios()
    factor_cov = model.factor_returns.iloc[-DEFAULT_FACTOR_WINDOW:].cov()
    underlyings = set(valued["underlying"]) | {BENCHMARK_SYMBOL}
    replays = [s for s in scenarios if s.kind == "historical"]
    # Every episode from 10 days before its start (the staleness check's slack) to its end,
    # in one query.
    prices = (
        queries.load_prices(
            underlyings,
            windows=[(s.replay_start - dt.timedelta(days=10), s.replay_end) for s in replays],
        )
        if replays
        else None
    )
    # The options are revalued at the rate the valuation priced them with, so an unmoved
    # scenario gives each option its market value back.
    results = stress_engine.run_all_scenarios(
        scenarios,
        valued.assign(rate_pct=valuation.rate),
        model.betas.betas,
        factor_cov,
        prices,
        equity,
    )
    ctx.store(
        "stress_test",
        {
            "scenarios": [r.to_dict() for r in results],
            "equity": equity,
            "factor_window": DEFAULT_FACTOR_WINDOW,
            "method": METHOD,
        },
    )


STEP = Step("stress", _run, needs=("valuation", "factor_model"), kinds=("stress_test",))


def stress_test(
    portfolio: Portfolio, *, category: str | None = None, scenario_ids: list[str] | None = None
) -> Result:
    """Stored scenario results, optionally one category or a list of scenario ids.

    Unknown scenario ids are reported in ``metadata.unknown_scenarios`` (the API answers 400).
    """
    result = stored(portfolio, "stress_test")
    if not result.available:
        return result
    scenarios = result.data["scenarios"]
    known = {s["scenario_id"] for s in scenarios}
    result.metadata["categories"] = sorted({s["category"] for s in scenarios})
    if scenario_ids:
        result.metadata["unknown_scenarios"] = [i for i in scenario_ids if i not in known]
        scenarios = [s for s in scenarios if s["scenario_id"] in scenario_ids]
    if category:
        scenarios = [s for s in scenarios if s["category"] == category]
    result.data = {**result.data, "scenarios": scenarios}
    result.parameters = {**result.parameters, "category": category, "scenarios": scenario_ids}
    return result

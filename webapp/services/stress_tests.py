"""Stress tests: the step running every scenario of the library, and the read model."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from flask import current_app

from webapp.analytics import factors as factors_engine
from webapp.analytics import stress as stress_engine
from webapp.analytics.constants import BENCHMARK_SYMBOL, DEFAULT_FACTOR_WINDOW
from webapp.analytics.returns import simple_returns
from webapp.analytics.shrinkage import MoveShrinkage, ScenarioCovariance, scenario_covariance
from webapp.models import Portfolio
from webapp.services import columnar, queries
from webapp.services.pipeline import Step, StepContext
from webapp.services.results import Result, stored
from webapp.services.valuation import memo

# Each scenario's per-position rows and per-underlying move terms are stored apart from the
# scenario list, one row per scenario, column-wise: the list page reads none of them and a
# scenario's detail reads only its own (at 10,000 positions the list was 49 MB stored as rows).
DETAIL_KIND = "stress_positions"
DETAIL_FIELDS = ("positions", "move_explained")

METHOD = (
    "Factor scenarios shock some factors; the others move by their conditional "
    "expectation Σ_us Σ_ss⁻¹ s, with the factor covariance a blend of the stress days' "
    "(market down 2% or more, over the whole price history) and the last 252 days'. "
    "Raw underlying move r = Σ_f β_f × factor move, then {shrinkage} (the configured "
    "shrinkage; Blume's is the one validated out of sample on the dataset's episodes); "
    "stock P&L = market value × move. Options: full Black–Scholes revaluation "
    "at the moved underlying S(1 + r), with implied vol moved by the scenario's vol rule "
    "(its vol_shock in vol points, else +1.35 × the market's fall when the market falls, "
    "else unchanged; never below 1%) and the same days to expiry (instantaneous); "
    "expired options at intrinsic value. A long option loses at most its value; "
    "delta–gamma P&L is shown beside it for comparison only. Historical replays apply "
    "each symbol's actual return over the episode to today's holdings, with options "
    "repriced at the underlying's realized vol over the episode and their days to "
    "expiry reduced by the episode's length."
)


def stress_shrinkage() -> MoveShrinkage:
    """The configured move shrinkage (``STRESS_SHRINKAGE``: blume or none)."""
    return MoveShrinkage(method=current_app.config.get("STRESS_SHRINKAGE", "blume"))


def factor_covariance(as_of: dt.date) -> ScenarioCovariance:
    """The scenario factor covariance from every factor-ETF close up to ``as_of``.

    The factors are built as the factor model builds them (hedge ratios on the last 252
    complete dates), over the whole history so the stress days of past sell-offs count.
    """
    blend = float(current_app.config.get("STRESS_COVARIANCE_BLEND", 0.25))
    # It depends on the market data only, not on the book, yet every batch reloaded ~9 years of
    # factor-ETF closes (0.3-0.4 s of a demo book's batch): kept in the valuation's LRU, keyed by
    # the price version (bars are insert-only), so a new close gives a new entry.
    key = ("scenario_covariance", as_of, blend, queries.price_version())
    return memo(key, lambda: _factor_covariance(as_of, blend))


def _factor_covariance(as_of: dt.date, blend: float) -> ScenarioCovariance:
    closes = queries.load_prices(factors_engine.FACTOR_ETFS, end=as_of)
    construction = factors_engine.factor_construction(
        simple_returns(closes).reindex(columns=sorted(factors_engine.FACTOR_ETFS)),
        window=DEFAULT_FACTOR_WINDOW,
    )
    return scenario_covariance(construction.returns, blend=blend, calm_window=DEFAULT_FACTOR_WINDOW)


def _run(ctx: StepContext) -> None:
    """Every scenario of the library: correlated factor shocks and historical replays."""
    valuation = ctx.valuation
    valued = valuation.priced()
    model = ctx.factor_model
    equity = valuation.equity
    scenarios = stress_engine.load_scenarios()
    covariance = factor_covariance(ctx.as_of)
    shrinkage = stress_shrinkage()
    factor_cov = covariance.matrix.loc[model.betas.betas.columns, model.betas.betas.columns]
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
        shrinkage=shrinkage,
        covariance=covariance.to_dict(),
    )
    scenarios = []
    for r in results:
        # Packed from the engine's rows directly: to_dict would copy 10,000 dicts first.
        detail = {name: columnar.pack(getattr(r, name)) for name in DETAIL_FIELDS}
        ctx.store(DETAIL_KIND, detail, params={"scenario": r.scenario_id})
        scenarios.append(replace(r, **{name: () for name in DETAIL_FIELDS}).to_dict())
        for name in DETAIL_FIELDS:
            del scenarios[-1][name]
    ctx.store(
        "stress_test",
        {
            "scenarios": scenarios,
            "equity": equity,
            "factor_window": DEFAULT_FACTOR_WINDOW,
            "covariance": covariance.to_dict(),
            "shrinkage": shrinkage.to_dict(),
            "method": METHOD.format(shrinkage=shrinkage.describe()),
        },
    )


STEP = Step("stress", _run, needs=("valuation", "factor_model"), kinds=("stress_test", DETAIL_KIND))


def with_detail(portfolio: Portfolio, result: Result, scenario: dict) -> dict:
    """``scenario`` (from ``result``) with its ``positions`` and ``move_explained`` rows.

    The detail is read from the same day's stored row; a result stored before the detail was
    split off already carries it.
    """
    if all(name in scenario for name in DETAIL_FIELDS):
        return scenario
    detail = stored(portfolio, DETAIL_KIND, {"scenario": scenario["scenario_id"]})
    if not detail.available or detail.as_of != result.as_of:
        return {**scenario, **{name: [] for name in DETAIL_FIELDS}}
    return {**scenario, **{name: columnar.unpack(detail.data[name]) for name in DETAIL_FIELDS}}


def stress_test(
    portfolio: Portfolio,
    *,
    category: str | None = None,
    scenario_ids: list[str] | None = None,
    positions: bool = False,
) -> Result:
    """Stored scenario results, optionally one category or a list of scenario ids.

    ``positions`` adds each returned scenario's position rows and move terms (``with_detail``).
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
    if positions:
        scenarios = [with_detail(portfolio, result, s) for s in scenarios]
    result.data = {**result.data, "scenarios": scenarios}
    result.parameters = {**result.parameters, "category": category, "scenarios": scenario_ids}
    return result


# Rows of each detail table a page shows: the largest by |P&L| (|move| for the move terms).
PAGE_DETAIL_ROWS = 50


def page_detail(scenario: dict, limit: int = PAGE_DETAIL_ROWS) -> dict:
    """``scenario`` (with its detail) as the page shows it: the ``limit`` largest rows of each
    table, sorted by P&L (move), and how many there are in all.

    ``positions`` and ``options`` keep the rows of largest |P&L|, ``move_explained`` those of
    largest |move|; ``*_total`` count every row (the JSON API and the exports carry them all).
    """

    def largest(rows: list[dict], key: str) -> list[dict]:
        top = sorted(rows, key=lambda r: abs(r[key] or 0.0), reverse=True)[:limit]
        return sorted(top, key=lambda r: r[key] if r[key] is not None else 0.0)

    positions = scenario.get("positions", [])
    options = [p for p in positions if "strike" in p]
    moves = scenario.get("move_explained", [])
    return {
        **scenario,
        "positions": largest(positions, "pnl"),
        "options": largest(options, "pnl"),
        "move_explained": largest(moves, "move"),
        "positions_total": len(positions),
        "options_total": len(options),
        "moves_total": len(moves),
    }

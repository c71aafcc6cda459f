"""Risk metrics: the risk step (backcast metrics, Euler contributions per window) and read model.

Risk needs only the valuation: a failed factor regression no longer takes beta vs SPY with it.
"""

from __future__ import annotations

import pandas as pd

from webapp.analytics import benchmarks
from webapp.analytics import risk as risk_engine
from webapp.analytics import var as var_engine
from webapp.analytics.constants import BENCHMARK_SYMBOL, MIN_RISK_OBSERVATIONS, STANDARD_WINDOWS
from webapp.analytics.errors import InsufficientHistory, NoPositions, NoPrices
from webapp.analytics.returns import returns_window
from webapp.models import Portfolio
from webapp.services import queries
from webapp.services.factor_exposures import factor_exposures, risk_split_for
from webapp.services.pipeline import Step, StepContext, on_request_cached
from webapp.services.results import Result, stored
from webapp.services.valuation import book_key, memo


def _run(ctx: StepContext) -> None:
    """Risk metrics, Euler contributions and benchmark statistics for every window of the run.

    ``left_out`` lists every position or symbol the result does not model: positions the
    valuation could not price (stale or unknown prices) and symbols with too few returns in the
    window; ``coverage`` is the share of gross exposure modelled (`risk.exposure_coverage`).
    """
    valuation = ctx.valuation
    valuation.priced()
    returns = valuation.returns
    exposures = valuation.exposures
    equity = valuation.equity
    unvalued = valuation.left_out()
    unvalued_gross = sum(x["gross_exposure"] for x in unvalued)
    spec = benchmarks.parse_benchmark(ctx.portfolio.benchmark or BENCHMARK_SYMBOL)
    bench = _benchmark_returns(spec, valuation)
    for window in ctx.windows:
        window_rets = returns_window(returns, ctx.as_of, window)
        modelled, thin = risk_engine.modelled_exposures(exposures, window_rets)
        coverage = risk_engine.backcast_coverage(modelled, window_rets)
        port = risk_engine.backcast_returns(modelled, window_rets, equity=equity)
        full_returns, full = _full_revaluation(valuation, window_rets)
        metrics = risk_engine.risk_metrics(port, bench, equity=equity, full_returns=full_returns)
        contributions = risk_engine.risk_contributions(modelled, window_rets)
        ctx.store(
            "risk_metrics",
            {
                **metrics.to_dict(),
                "lookback_days": window,
                "observations": metrics.nobs,
                "observations_reason": risk_engine.observations_reason(
                    window_rets, coverage, window
                ),
                "benchmark_symbol": spec.to_spec(),
                "full_revaluation": full,
                "coverage": risk_engine.exposure_coverage(modelled, exposures, unvalued_gross),
                "coverage_method": COVERAGE_METHOD,
                "date_coverage": coverage.to_dict(),
                "left_out": [*unvalued, *_symbol_entries(thin)],
                "contributions": [
                    {"symbol": s, **{k: float(v) for k, v in r.items()}}
                    for s, r in contributions.iterrows()
                ],
            },
            params={"lookback_days": window},
        )


def _full_revaluation(valuation, window_rets: pd.DataFrame) -> tuple[pd.Series | None, dict]:
    """Full-revaluation daily returns (P&L / equity) and their summary for the result.

    A book the repricing cannot handle (no revaluable position, too few complete days) keeps
    its delta-only and parametric figures: the returns are None and the summary says why.
    """
    try:
        full = var_engine.full_revaluation_pnl(
            _revalued_positions(valuation, window_rets), window_rets, rate_pct=valuation.rate
        )
    except (NoPositions, NoPrices, InsufficientHistory) as exc:
        return None, {"available": False, "reason": str(exc)}
    if len(full.pnl) < MIN_RISK_OBSERVATIONS:
        reason = f"{len(full.pnl)} complete days, fewer than {MIN_RISK_OBSERVATIONS}"
        return None, {**full.to_dict(), "available": False, "reason": reason}
    return full.pnl / valuation.equity, {**full.to_dict(), "available": True}


def _revalued_positions(valuation, window_rets: pd.DataFrame) -> pd.DataFrame:
    """The priced positions the full revaluation reprices: those whose underlying has enough
    returns in the window (the rule `risk.modelled_exposures` applies to the delta-only
    backcast).

    Unlike the backcast, an underlying whose positions net to zero delta stays in: a
    delta-hedged option still has gamma risk, which only the repricing sees.
    """
    valued = valuation.valued
    counts = window_rets.reindex(columns=valued["underlying"].unique()).notna().sum()
    enough = counts.index[counts.to_numpy() >= MIN_RISK_OBSERVATIONS]
    return valued[(valued["status"] == "ok") & valued["underlying"].isin(enough)]


COVERAGE_METHOD = (
    "modelled share of gross exposure: sum |delta-adjusted exposure| of the modelled symbols / "
    "(sum |delta-adjusted exposure| of every valued symbol + |cost basis| of the positions "
    "without a current price)"
)


def _symbol_entries(thin: tuple[dict, ...]) -> list[dict]:
    """Engine left-out symbols as result entries: gross exposure = |their exposure| ($)."""
    return [{**x, "gross_exposure": abs(x["exposure"])} for x in thin]


def _benchmark_returns(spec: benchmarks.BenchmarkSpec, valuation) -> pd.Series:
    """The portfolio's benchmark's daily returns over the valuation's history.

    The valuation loads SPY; a blend's other symbols are loaded here over the same dates.
    """
    prices = valuation.prices
    missing = [s for s in spec.symbols if s not in prices.columns]
    if missing:
        start, end = prices.index[0].date(), prices.index[-1].date()
        prices = prices.join(queries.load_prices(missing, start, end), how="outer")
    return benchmarks.benchmark_returns(spec, prices)


STEP = Step("risk", _run, needs=("valuation",), kinds=("risk_metrics",))


def risk_metrics_now(portfolio: Portfolio, lookback_days: int, book: tuple | None = None) -> Result:
    """Risk metrics computed now, from the cached valuation (no factor model is fitted).

    Remembered per book version (``book``, default `valuation.book_key`: positions, cash,
    benchmark, prices) and look-back, so the next click on the same window reads the numbers
    instead of re-valuing the book; callers get their own ``Result`` (the values inside its
    payload are shared, read-only).
    """
    return on_request_cached(portfolio, STEP, "risk_metrics", lookback_days, book)


def risk_metrics(portfolio: Portfolio, *, lookback_days: int = 90) -> Result:
    """Beta, volatility, drawdown, VaR/ES, benchmark statistics and risk contributions.

    Standard windows are read from the batch's results, any other is computed now (and
    remembered per book version). The factor model's systematic/idiosyncratic split on the same
    look-back is attached from the factor service (stored per standard window), so the Risk page
    shows it without risk depending on factors; so is the factor model's Market beta
    (``factor_market_beta``), which the page reconciles with beta vs SPY.
    """
    if lookback_days in STANDARD_WINDOWS:
        result = stored(portfolio, "risk_metrics", {"lookback_days": lookback_days})
        split = lambda: risk_split_for(portfolio, lookback_days)  # noqa: E731
    else:
        book = book_key(portfolio)
        result = risk_metrics_now(portfolio, lookback_days, book)
        split = lambda: _risk_split(portfolio, lookback_days, book)  # noqa: E731
    if result.available:
        result.data = {
            **result.data,
            "risk_split": split(),
            "factor_market_beta": _factor_market_beta(portfolio),
        }
    return result


def _factor_market_beta(portfolio: Portfolio) -> dict | None:
    """The Factors page's Market beta and its fit window, to reconcile with beta vs SPY.

    That beta is Σ E_i β_i,Market / equity from each holding's regression on every factor at
    once (over the factor model's own window), not the slope of the book's backcast on SPY alone.
    None without a stored factor result.
    """
    fit = factor_exposures(portfolio)
    if not fit.available:
        return None
    beta = next((f["beta"] for f in fit.data.get("factors", []) if f["name"] == "Market"), None)
    model = fit.data.get("model") or {}
    window = model.get("window")
    same = stored(portfolio, "risk_metrics", {"lookback_days": window}) if window else None
    return {
        "beta": beta,
        "window": window,
        "start": model.get("start"),
        "end": model.get("end"),
        "factors": len(model.get("factors") or []),
        # Beta vs SPY over the factor model's window: the window's share of the difference.
        "spy_beta_same_window": same.data.get("portfolio_beta")
        if same is not None and same.available
        else None,
    }


def _risk_split(portfolio: Portfolio, lookback_days: int, book: tuple) -> dict | None:
    """The factor split of a look-back the batch does not store, remembered like its metrics.

    It is computed from the book's valuation and the stored factor fit, so it is keyed by the
    book version and the stored fit's calculation time: a new batch run gives a new key.
    """
    fit = factor_exposures(portfolio)
    key = ("risk_split", lookback_days, fit.calculated_at, fit.as_of, *book)
    return memo(key, lambda: risk_split_for(portfolio, lookback_days))

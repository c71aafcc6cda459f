"""Factor exposures: the factor step (betas, exposures, VIF, risk split) and its read models."""

from __future__ import annotations

import math

import pandas as pd
from sqlalchemy import select

from webapp.analytics import factors as factors_engine
from webapp.analytics.constants import (
    DEFAULT_FACTOR_WINDOW,
    DEFAULT_RISK_WINDOW,
    STANDARD_WINDOWS,
)
from webapp.analytics.errors import AnalyticsError
from webapp.analytics.returns import returns_window
from webapp.extensions import db
from webapp.models import FactorDefinition, Portfolio
from webapp.services._frames import records
from webapp.services.pipeline import FactorModel, Step, StepContext
from webapp.services.results import Result, stored
from webapp.services.valuation import value_portfolio

PARAMS = {"window": DEFAULT_FACTOR_WINDOW}
COVERAGE_METHOD = (
    "modelled share of gross exposure: sum |exposure| of the symbols with factor betas / "
    "(sum |exposure| of every priced symbol + |cost basis| of the positions without a current "
    "price)"
)


def _fit(valuation) -> tuple[factors_engine.FactorConstruction, factors_engine.FactorBetas]:
    """The factor returns (hedged on the regression window) and every exposed symbol's betas."""
    returns = valuation.returns
    construction = factors_engine.factor_construction(
        returns.reindex(columns=sorted(factors_engine.FACTOR_ETFS)), window=DEFAULT_FACTOR_WINDOW
    )
    fb = factors_engine.factor_betas(
        returns.reindex(columns=valuation.exposures.index),
        construction.returns,
        window=DEFAULT_FACTOR_WINDOW,
    )
    return construction, fb


def _split(valuation, betas: pd.DataFrame, factor_rets, as_of, lookback_days: int) -> dict:
    """The risk split on one look-back (the risk page's window), or why there is none."""
    try:
        split = factors_engine.risk_split(
            valuation.exposures,
            betas,
            returns_window(valuation.returns, as_of, lookback_days),
            factor_rets,
            valuation.equity,
            lookback_days=lookback_days,
        )
    except AnalyticsError as exc:
        return {"available": False, "reason": exc.reason, "message": exc.message}
    return {"available": True, **split.to_dict()}


def _cost_basis(quantity, entry_price, multiplier) -> float:
    """|quantity × entry price × multiplier| ($): the only dollar size of an unpriced position."""
    try:
        basis = abs(float(quantity) * float(entry_price) * float(multiplier or 1.0))
    except (TypeError, ValueError):
        return 0.0
    return basis if math.isfinite(basis) else 0.0


def _unpriced(valued: pd.DataFrame) -> list[dict]:
    """Positions the valuation could not price (stale or unknown prices), with the reason."""
    cols = ["symbol", "underlying", "status", "reason_detail", "quantity", "entry_price"]
    return [
        {
            "position_id": pid,
            "symbol": r["symbol"],
            "underlying": r["underlying"],
            "reason": r["status"],
            "detail": r["reason_detail"],
            "gross_exposure": _cost_basis(r["quantity"], r["entry_price"], r.get("multiplier")),
        }
        for pid, r in records(valued, [*cols, "multiplier"])
        if r["status"] != "ok"
    ]


def _coverage(portfolio_fx, unpriced: list[dict]) -> float:
    """Modelled gross exposure over all gross exposure, unpriced positions at |cost basis|."""
    gross = portfolio_fx.gross_exposure + sum(x["gross_exposure"] for x in unpriced)
    return portfolio_fx.modelled_gross_exposure / gross if gross > 0 else float("nan")


def _run(ctx: StepContext) -> FactorModel:
    """Per-symbol factor betas, the portfolio's factor exposures, VIFs and the risk splits.

    ``left_out`` lists every position the model does not cover: unpriced positions (reason from
    the valuation) and symbols without betas (too few observations, no prices); ``coverage`` is
    below 1 whenever one is left out. The risk split is stored for every window of the run so
    the Risk page shows the split of its own look-back.
    """
    valuation = ctx.valuation
    valued = valuation.priced()
    construction, fb = _fit(valuation)
    factor_rets = construction.returns
    portfolio_fx = factors_engine.portfolio_factor_exposures(
        valuation.exposures, fb, valuation.equity
    )
    unpriced = _unpriced(valued)
    splits = {
        str(w): _split(valuation, fb.betas, factor_rets, ctx.as_of, w)
        for w in sorted({*ctx.windows, DEFAULT_FACTOR_WINDOW})
    }
    model = fb.to_dict()
    ctx.store(
        "factor_exposures",
        {
            **portfolio_fx.to_dict(),
            "coverage": _coverage(portfolio_fx, unpriced),
            "exposure_coverage": portfolio_fx.coverage,
            "coverage_method": COVERAGE_METHOD,
            "left_out": [*unpriced, *portfolio_fx.to_dict()["left_out"]],
            "risk_split": splits[str(DEFAULT_FACTOR_WINDOW)],
            "risk_splits": splits,
            "vif": factors_engine.vif(factor_rets.iloc[-DEFAULT_FACTOR_WINDOW:]),
            "construction": construction.to_dict(),
            "model": {k: v for k, v in model.items() if k != "symbols"},
            "r_squared": {row["symbol"]: row["r_squared"] for row in model["symbols"]},
        },
        params=PARAMS,
    )
    ctx.store(
        "position_factor_exposures",
        {
            "positions": _position_rows(valued, model),
            "factors": list(fb.factors),
            "window": DEFAULT_FACTOR_WINDOW,
        },
        params=PARAMS,
    )
    return FactorModel(betas=fb, factor_returns=factor_rets)


def _position_rows(valued, model: dict) -> list[dict]:
    """Each position's betas and dollar exposures, or why it has none."""
    by_symbol = {row["symbol"]: row for row in model["symbols"]}
    skipped = {row["symbol"]: row for row in model["skipped"]}
    rows = []
    for pid, r in records(valued, ["underlying", "exposure", "status", "symbol", "position_type"]):
        fit = by_symbol.get(r["underlying"])
        exposure = float(r["exposure"]) if r["status"] == "ok" else None
        row = {
            "position_id": pid,
            "symbol": r["symbol"],
            "underlying": r["underlying"],
            "position_type": r["position_type"],
            "exposure": exposure,
        }
        if fit is None or exposure is None:
            reason = (
                r["status"]
                if r["status"] != "ok"
                else skipped.get(r["underlying"], {}).get("reason", "no_factor_betas")
            )
            rows.append({**row, "available": False, "reason": reason})
            continue
        rows.append(
            {
                **row,
                "available": True,
                "betas": fit["betas"],
                "alpha": fit["alpha"],
                "t_stats": fit["t_stats"],
                "std_errors": fit["std_errors"],
                "r_squared": fit["r_squared"],
                "nobs": fit["nobs"],
                "dollar_exposures": {f: exposure * b for f, b in fit["betas"].items()},
            }
        )
    return rows


STEP = Step(
    "factors",
    _run,
    needs=("valuation",),
    produces="factor_model",
    kinds=("factor_exposures", "position_factor_exposures"),
)


def factor_exposures(portfolio: Portfolio) -> Result:
    """Portfolio betas and dollar exposures per factor, diagnostics and the risk split."""
    return stored(portfolio, "factor_exposures", PARAMS)


def _benchmark_words(spec: str | None) -> str:
    """``SPY`` as is; a blend ``SPY:0.6,TLT:0.4`` as "60% SPY + 40% TLT"."""
    if not spec or ":" not in spec:
        return spec or "SPY"
    parts = (p.split(":") for p in spec.split(","))
    return " + ".join(f"{float(w):.0%} {sym}" for sym, w in parts)


def market_beta_comparison(portfolio: Portfolio, fit: Result) -> dict | None:
    """The Market factor beta of ``fit`` beside the Risk page's beta vs the benchmark.

    The factor beta is Σ E_i β_i,Market / equity, each β_i,Market the coefficient of a
    holding's regression on all factors at once (holding the others fixed) over the factor
    window; the Risk page's beta is the OLS slope of the book's backcast return on the
    benchmark alone over its look-back (default 90 days). Both stored results are read: the
    risk beta on the default look-back and on the factor window itself (when stored), so the
    page can show how much of the gap is the window. None without a Market factor.
    """
    if not fit.available:
        return None
    market = next((f for f in fit.data.get("factors", []) if f["name"] == "Market"), None)
    if market is None:
        return None
    model = fit.data.get("model") or {}
    window = model.get("window")

    def risk_beta(days) -> dict | None:
        risk = stored(portfolio, "risk_metrics", {"lookback_days": days}) if days else None
        if risk is None or not risk.available or risk.data.get("portfolio_beta") is None:
            return None
        return {
            "beta": risk.data["portfolio_beta"],
            "lookback_days": days,
            "benchmark": _benchmark_words(risk.data.get("benchmark_symbol")),
            "start": risk.data.get("start"),
            "end": risk.data.get("end"),
        }

    return {
        "market_beta": market["beta"],
        "factor_count": len(fit.data.get("factors", [])),
        "window": window,
        "start": model.get("start"),
        "end": model.get("end"),
        "risk_page": risk_beta(DEFAULT_RISK_WINDOW),
        "same_window": risk_beta(window) if window in STANDARD_WINDOWS else None,
    }


def risk_split_for(portfolio: Portfolio, lookback_days: int) -> dict | None:
    """The factor risk split on the risk page's look-back, or None without a factor result.

    Standard windows are read from the stored factor result; any other look-back is computed now
    from the cached valuation with the stored 252-day betas: only the factor construction (seven
    hedge regressions of ETF returns) is redone, no per-symbol regression. A window the data
    cannot split gives ``{"available": False, "reason", ...}``.
    """
    result = factor_exposures(portfolio)
    if not result.available:
        return None
    splits = result.data.get("risk_splits") or {}
    if str(lookback_days) in splits:
        return splits[str(lookback_days)]
    if lookback_days in STANDARD_WINDOWS:
        return result.data.get("risk_split")  # stored before per-window splits existed
    valuation = value_portfolio(portfolio, result.as_of)
    if valuation is None:
        return None
    fits = stored(portfolio, "position_factor_exposures", PARAMS)
    rows = fits.data.get("positions", []) if fits.available else []
    betas = pd.DataFrame(
        {r["underlying"]: r["betas"] for r in rows if r.get("available")}, dtype=float
    ).T
    try:
        construction = factors_engine.factor_construction(
            valuation.returns.reindex(columns=sorted(factors_engine.FACTOR_ETFS)),
            window=DEFAULT_FACTOR_WINDOW,
        )
    except AnalyticsError as exc:
        return {"available": False, "reason": exc.reason, "message": exc.message}
    return _split(valuation, betas, construction.returns, result.as_of, lookback_days)


def position_factor_exposures(
    portfolio: Portfolio, *, limit: int = 50, offset: int = 0, symbols: list[str] | None = None
) -> Result:
    """Per-position betas, paginated (``limit``/``offset``) and optionally filtered by symbol."""
    result = stored(portfolio, "position_factor_exposures", PARAMS)
    if not result.available:
        return result
    rows = result.data["positions"]
    if symbols:
        wanted = {s.upper() for s in symbols}
        rows = [
            r for r in rows if r["symbol"].upper() in wanted or r["underlying"].upper() in wanted
        ]
    result.data = {**result.data, "positions": rows[offset : offset + limit]}
    result.metadata.update(
        total=len(rows), limit=limit, offset=offset, has_more=offset + limit < len(rows)
    )
    result.parameters = {**result.parameters, "limit": limit, "offset": offset, "symbols": symbols}
    return result


def position_factors(portfolio: Portfolio, position_id: int) -> dict | None:
    """One position's stored betas, or None when there are none."""
    result = stored(portfolio, "position_factor_exposures", PARAMS)
    if not result.available:
        return None
    return next(
        (p for p in result.data.get("positions", []) if p.get("position_id") == position_id),
        None,
    )


def factor_definitions() -> list[dict]:
    """The factor definitions: the stored rows' names and order, the engine's construction.

    The engine's ``FACTORS`` is what the numbers are computed with, so ETFs, construction,
    formula and description come from it (the v2 styles are hedged; rows inserted by an older
    sync still say ``spread``); a stored row the engine does not know keeps its own fields.
    """
    specs = {spec.name: spec.to_dict() for spec in factors_engine.FACTORS}
    rows = db.session.scalars(select(FactorDefinition).order_by(FactorDefinition.sort_order))
    out = []
    for r in rows:
        spec = specs.get(r.name, {})
        out.append(
            {
                "name": r.name,
                "etf_symbol": spec.get("etf_symbol", r.etf_symbol),
                "short_symbol": spec.get("short_symbol"),
                "construction": spec.get("construction", r.construction),
                "hedged_against": spec.get("hedged_against", []),
                "formula": spec.get("formula"),
                "description": spec.get("description", r.description),
            }
        )
    return out

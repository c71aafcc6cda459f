"""Results for non-standard parameters, computed on request by the batch's own steps.

The batch stores the standard windows (30/60/90/180/252 days); any other look-back asked for by a
page or the API runs the same step functions with a context that captures instead of storing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from webapp.analytics.errors import AnalyticsError
from webapp.models import Portfolio
from webapp.models._time import utcnow
from webapp.services import batch_steps, queries
from webapp.services.analytics import Result
from webapp.services.batch import BatchContext
from webapp.services.results import jsonable


@dataclass
class CaptureContext(BatchContext):
    """The batch's context without a run: results are kept in memory instead of stored."""

    results: dict[str, tuple[dict, dict | None]] = field(default_factory=dict)

    def store(self, kind: str, payload: dict, params: dict | None = None) -> None:
        """Keep the result in memory, JSON-ready, instead of storing it."""
        self.results[kind] = (jsonable(payload), params)


def _run(portfolio: Portfolio, kind: str, window: int, steps: list) -> Result:
    ctx = CaptureContext(
        portfolio=portfolio, run=None, as_of=queries.latest_price_date(), windows=(window,)
    )
    params = {"lookback_days": window}
    try:
        if ctx.as_of is None:
            raise AnalyticsError("no market data stored")
        for step in steps:
            step(ctx)
    except AnalyticsError as exc:
        return Result(
            kind,
            portfolio.id,
            False,
            parameters=params,
            reason=exc.reason,
            message=exc.message,
            as_of=ctx.as_of,
        )
    payload, _ = ctx.results[kind]
    return Result(
        kind,
        portfolio.id,
        True,
        data=payload,
        as_of=ctx.as_of,
        calculated_at=utcnow(),
        parameters=params,
        metadata={"computed": "on_request"},
    )


def live_correlations(portfolio: Portfolio, lookback_days: int) -> Result:
    """The full correlation matrix for a look-back the batch does not store."""
    return _run(
        portfolio,
        "correlations",
        lookback_days,
        [batch_steps.step_valuation, batch_steps.step_correlations],
    )


def live_risk_metrics(portfolio: Portfolio, lookback_days: int) -> Result:
    """Risk metrics for a look-back the batch does not store."""
    return _run(
        portfolio,
        "risk_metrics",
        lookback_days,
        [batch_steps.step_valuation, batch_steps.step_factors, batch_steps.step_risk],
    )

"""Stored results: persist engine outputs, read back the latest complete ones as ``Result``s.

Every read returns a ``Result``: either ``available`` with the payload, its as-of date,
calculation time and parameters, or not available with the reason (``no_results`` before any
batch ran, or the failing step's reason such as ``no_positions`` or ``insufficient_history``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import aliased

from webapp.extensions import db
from webapp.models import AnalyticsResult, BatchRun, Portfolio
from webapp.models._time import isoformat_z
from webapp.services.jsonable import jsonable
from webapp.services.runs import ACTIVE_RUN_STATUSES, recent_runs

READABLE_RUN_STATUSES = ("succeeded", "partial")

# Which batch step produces which stored result kind (to explain a missing result).
STEP_OF_KIND = {
    "overview": "valuation",
    "greeks": "valuation",
    "performance": "snapshots",
    "factor_exposures": "factors",
    "position_factor_exposures": "factors",
    "correlations": "correlations",
    "risk_metrics": "risk",
    "stress_test": "stress",
    "stress_positions": "stress",
    "forward_range": "forward_range",
    "risk_score": "forward_range",
}


@dataclass
class Result:
    """One analytics result as pages and the API see it."""

    kind: str
    portfolio_id: int
    available: bool
    data: dict[str, Any] = field(default_factory=dict)
    as_of: dt.date | None = None
    calculated_at: dt.datetime | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    message: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def refused(
        cls,
        kind: str,
        portfolio_id: int,
        reason: str,
        message: str | None,
        **details: Any,
    ) -> Result:
        """A result that is not available, with the reason code and a plain message."""
        return cls(kind, portfolio_id, False, reason=reason, message=message, **details)

    def to_dict(self) -> dict:
        """The API shape of the result.

        ``available`` + ``data`` + ``metadata``, or ``available: false`` + reason.
        """
        meta = {
            "portfolio_id": self.portfolio_id,
            "as_of": jsonable(self.as_of),
            "calculated_at": isoformat_z(self.calculated_at),
            "parameters": self.parameters,
            **self.metadata,
        }
        if not self.available:
            return {
                "available": False,
                "reason": self.reason,
                "message": self.message,
                "metadata": meta,
            }
        return {"available": True, "data": self.data, "metadata": meta}


def missing(portfolio: Portfolio, kind: str, parameters: dict | None = None) -> Result:
    """Why ``kind`` has no stored result: never calculated, or its step failed (with the reason)."""
    runs = [r for r in recent_runs(portfolio.id, limit=5) if r.status not in ACTIVE_RUN_STATUSES]
    step_name = STEP_OF_KIND.get(kind)
    for run in runs:
        steps = run.steps or []
        for step in steps:
            if step["name"] == step_name and step["status"] != "succeeded":
                # A skipped step reports the failure that caused it (e.g. no_positions).
                cause = (
                    step
                    if step["status"] == "failed"
                    else next((s for s in steps if s["status"] == "failed"), step)
                )
                reason = cause.get("reason") or "calculation_failed"
                return Result.refused(
                    kind,
                    portfolio.id,
                    reason,
                    cause.get("error"),
                    as_of=run.as_of_date,
                    parameters=parameters or {},
                )
    message = "No calculation has run for this portfolio yet; press Recalculate."
    return Result.refused(kind, portfolio.id, "no_results", message, parameters=parameters or {})


def stored(portfolio: Portfolio, kind: str, params: dict | None = None) -> Result:
    """The latest stored result of ``kind`` with exactly these parameters."""
    row = latest_result(portfolio.id, kind, params)
    if row is None:
        return missing(portfolio, kind, params)
    return Result(
        kind,
        portfolio.id,
        True,
        data=row.payload,
        as_of=row.as_of_date,
        calculated_at=row.calculated_at,
        parameters=row.params or {},
    )


def params_key(params: dict[str, Any] | None) -> str:
    """Canonical text of a parameter set: sorted keys, compact JSON."""
    return json.dumps(params or {}, sort_keys=True, separators=(",", ":"))


def store_result(
    portfolio_id: int,
    kind: str,
    payload: dict,
    *,
    as_of: dt.date,
    params: dict | None = None,
    batch_run_id: int | None = None,
) -> AnalyticsResult:
    """Add a result row (committed with the batch step).

    ``payload`` is stored as the engines return it: the JSON column's encoder
    (``webapp.json_codec``) writes NaN as null, dates as ISO strings and numpy values as numbers.
    """
    row = AnalyticsResult(
        portfolio_id=portfolio_id,
        batch_run_id=batch_run_id,
        kind=kind,
        params=params or {},
        params_key=params_key(params),
        as_of_date=as_of,
        payload=payload,
    )
    db.session.add(row)
    return row


def prune_superseded(portfolio_id: int, batch_run_id: int) -> int:
    """Drop older rows that this run's rows replace (same kind, params and as-of date).

    Re-running a batch for the same day therefore leaves one row per result, not one per run.
    """
    newer = aliased(AnalyticsResult)
    # One statement, not one per result kind: each DELETE was a round trip and a plan.
    replaced = (
        select(newer.id)
        .where(
            newer.batch_run_id == batch_run_id,
            newer.kind == AnalyticsResult.kind,
            newer.params_key == AnalyticsResult.params_key,
            newer.as_of_date == AnalyticsResult.as_of_date,
        )
        .exists()
    )
    result = db.session.execute(
        delete(AnalyticsResult).where(
            AnalyticsResult.portfolio_id == portfolio_id,
            (AnalyticsResult.batch_run_id != batch_run_id) | AnalyticsResult.batch_run_id.is_(None),
            replaced,
        )
    )
    return result.rowcount or 0


def latest_result(
    portfolio_id: int, kind: str, params: dict | None = None
) -> AnalyticsResult | None:
    """The newest stored result of ``kind`` with these parameters from a finished batch run."""
    query = (
        select(AnalyticsResult)
        # Joined on the portfolio too: a result is only ever read through its own portfolio's run.
        .outerjoin(
            BatchRun,
            (AnalyticsResult.batch_run_id == BatchRun.id)
            & (BatchRun.portfolio_id == AnalyticsResult.portfolio_id),
        )
        .where(
            AnalyticsResult.portfolio_id == portfolio_id,
            AnalyticsResult.kind == kind,
            AnalyticsResult.params_key == params_key(params),
            BatchRun.status.in_(READABLE_RUN_STATUSES) | AnalyticsResult.batch_run_id.is_(None),
        )
        .order_by(
            AnalyticsResult.as_of_date.desc(),
            AnalyticsResult.calculated_at.desc(),
            AnalyticsResult.id.desc(),
        )
        .limit(1)
    )
    return db.session.scalar(query)

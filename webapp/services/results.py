"""Persist engine outputs and read back the latest complete ones."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from sqlalchemy import delete, select

from webapp.extensions import db
from webapp.models import AnalyticsResult, BatchRun

READABLE_RUN_STATUSES = ("succeeded", "partial")


def params_key(params: dict[str, Any] | None) -> str:
    """Canonical text of a parameter set: sorted keys, compact JSON."""
    return json.dumps(params or {}, sort_keys=True, separators=(",", ":"))


def jsonable(value: Any) -> Any:
    """Plain JSON types: NaN/inf -> None, dates -> ISO strings, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return jsonable(value.item())
    return value


def store_result(
    portfolio_id: int,
    kind: str,
    payload: dict,
    *,
    as_of: dt.date,
    params: dict | None = None,
    batch_run_id: int | None = None,
) -> AnalyticsResult:
    """Add a result row (committed with the batch step). Payload must be JSON-ready."""
    row = AnalyticsResult(
        portfolio_id=portfolio_id,
        batch_run_id=batch_run_id,
        kind=kind,
        params=params or {},
        params_key=params_key(params),
        as_of_date=as_of,
        payload=jsonable(payload),
    )
    db.session.add(row)
    return row


def prune_superseded(portfolio_id: int, batch_run_id: int) -> int:
    """Drop older rows that this run's rows replace (same kind, params and as-of date).

    Re-running a batch for the same day therefore leaves one row per result, not one per run.
    """
    newer = db.session.execute(
        select(AnalyticsResult.kind, AnalyticsResult.params_key, AnalyticsResult.as_of_date).where(
            AnalyticsResult.batch_run_id == batch_run_id
        )
    ).all()
    removed = 0
    for kind, key, as_of in newer:
        result = db.session.execute(
            delete(AnalyticsResult).where(
                AnalyticsResult.portfolio_id == portfolio_id,
                AnalyticsResult.kind == kind,
                AnalyticsResult.params_key == key,
                AnalyticsResult.as_of_date == as_of,
                (AnalyticsResult.batch_run_id != batch_run_id)
                | AnalyticsResult.batch_run_id.is_(None),
            )
        )
        removed += result.rowcount or 0
    return removed


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

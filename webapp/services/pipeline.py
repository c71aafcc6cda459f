"""Batch steps: their name, the inputs they need, what they produce and the results they store.

Steps hand each other typed values through a ``StepContext`` (the valuation, the factor model),
never an untyped bag: a step runs only when every input it declares was produced, so a failed
factor regression skips stress (which needs the factor model) but not risk (which needs only the
valuation). The same step functions serve the batch (results stored) and on-request results for
parameters the batch does not store (results captured), so both paths compute alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from webapp import json_codec
from webapp.analytics.constants import STANDARD_WINDOWS
from webapp.analytics.errors import AnalyticsError
from webapp.analytics.factors import FactorBetas
from webapp.models import Portfolio
from webapp.models._time import utcnow
from webapp.services import queries
from webapp.services.results import Result
from webapp.services.valuation import Valuation, book_key, memo, value_portfolio

Sink = Callable[[str, dict, "dict | None"], None]


@dataclass(frozen=True)
class FactorModel:
    """What the factor step hands on: per-symbol betas and the factor returns they came from."""

    betas: FactorBetas
    factor_returns: Any  # pandas.DataFrame of daily factor returns (decimal)


@dataclass
class StepContext:
    """A run's shared state: the portfolio, as-of date, windows and the typed step outputs."""

    portfolio: Portfolio
    as_of: dt.date
    sink: Sink
    windows: tuple[int, ...] = STANDARD_WINDOWS
    valuation: Valuation | None = None
    factor_model: FactorModel | None = None

    def store(self, kind: str, payload: dict, params: dict | None = None) -> None:
        """Hand a result to the sink (the batch stores it, an on-request run keeps it)."""
        self.sink(kind, payload, params)


@dataclass(frozen=True)
class Step:
    """One batch step.

    Attributes
    ----------
    name : str
        Recorded in the run's step list.
    run : callable
        ``run(ctx)`` computes and stores; returns the value named by ``produces`` (or None).
    needs : tuple of str
        ``StepContext`` fields that must be set before the step may run.
    produces : str or None
        The ``StepContext`` field the return value is put in.
    kinds : tuple of str
        The result kinds the step stores.
    """

    name: str
    run: Callable[[StepContext], Any]
    needs: tuple[str, ...] = ()
    produces: str | None = None
    kinds: tuple[str, ...] = ()

    def missing_input(self, ctx: StepContext) -> str | None:
        """The first declared input the context lacks, or None when the step can run."""
        return next((n for n in self.needs if getattr(ctx, n) is None), None)

    def __call__(self, ctx: StepContext) -> None:
        """Run the step and put its output into the context."""
        output = self.run(ctx)
        if self.produces:
            setattr(ctx, self.produces, output)


def _as_stored(payload: dict) -> dict:
    """``payload`` exactly as storing and reading it back would give it."""
    return json_codec.loads(json_codec.dumps_bytes(payload))


def on_request(portfolio: Portfolio, step: Step, kind: str, window: int) -> Result:
    """Run ``step`` alone for a look-back the batch does not store, on the cached valuation.

    Only the valuation and the requested step run (a 300-day risk request does not fit the
    factor model); the step's result is returned, not stored.
    """
    params = {"lookback_days": window}
    captured: dict[str, dict] = {}
    as_of = queries.latest_price_date()
    try:
        if as_of is None:
            raise AnalyticsError("no market data stored")
        ctx = StepContext(
            portfolio=portfolio,
            as_of=as_of,
            sink=lambda k, payload, _params: captured.__setitem__(k, _as_stored(payload)),
            windows=(window,),
            valuation=value_portfolio(portfolio, as_of),
        )
        step(ctx)
    except AnalyticsError as exc:
        return Result.refused(
            kind, portfolio.id, exc.reason, exc.message, parameters=params, as_of=as_of
        )
    return Result(
        kind,
        portfolio.id,
        True,
        data=captured[kind],
        as_of=as_of,
        calculated_at=utcnow(),
        parameters=params,
        metadata={"computed": "on_request"},
    )


def on_request_cached(
    portfolio: Portfolio, step: Step, kind: str, window: int, book: tuple | None = None
) -> Result:
    """``on_request``, remembered per book version (``book``, default ``valuation.book_key``:
    positions, cash, benchmark, prices) and window in the valuation's bounded LRU.

    The next click on the same window reads the numbers instead of re-valuing the book. Callers
    get their own ``Result`` with its own top-level dicts (they set parameters and replace data
    keys); the values inside its payload are shared, read-only.
    """
    key = (kind, window, *(book or book_key(portfolio)))
    result = memo(key, lambda: on_request(portfolio, step, kind, window))
    return dataclasses.replace(
        result,
        data=dict(result.data),
        parameters=dict(result.parameters),
        metadata=dict(result.metadata),
    )

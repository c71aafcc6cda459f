"""Forward range and risk score: the batch step, and the client tolerance they are read against.

The step simulates today's book forward (``analytics.forward_range``) by both methods, stores
each as ``forward_range`` (params ``{"method": ...}``), and stores the ``risk_score`` of the
bootstrap range with the client's stated tolerance and the gap in words. The client's loss limit
(from the latest questionnaire) is the breach threshold, so re-running after a new
questionnaire updates the probabilities.
"""

from __future__ import annotations

from sqlalchemy import select

from webapp.analytics import forward_range as fr_engine
from webapp.analytics import risk_score as score_engine
from webapp.analytics.returns import returns_window
from webapp.extensions import db
from webapp.models import Client, Portfolio, RiskProfile
from webapp.services.pipeline import Step, StepContext
from webapp.services.results import Result, stored
from webapp.services.valuation import MAX_LOOKBACK_DAYS

#: Simulated paths per method; the 5th percentile's sampling error is then ~0.3 percentile.
PATHS = 5000
#: One fixed seed: the same book and prices give the same bands on every run.
SEED = 20_261_204
#: History drawn from: every return the valuation holds (about 17 months of trading days).
HISTORY_DAYS = MAX_LOOKBACK_DAYS
PRIMARY_METHOD = "bootstrap"


def tolerance_for(portfolio: Portfolio) -> RiskProfile | None:
    """The latest questionnaire of the book's client, or None (no client, or none taken)."""
    if portfolio.client_id is None:
        return None
    return db.session.scalar(
        select(RiskProfile)
        .where(RiskProfile.client_id == portfolio.client_id)
        .order_by(RiskProfile.answered_at.desc(), RiskProfile.id.desc())
        .limit(1)
    )


def _tolerance_dict(profile: RiskProfile | None) -> dict | None:
    if profile is None:
        return None
    client = db.session.get(Client, profile.client_id)
    return {
        "client_id": profile.client_id,
        "client_name": client.name,
        "score": profile.score,
        "category": profile.category,
        "loss_limit_pct": profile.loss_limit_pct,
        "answered_at": profile.answered_at.date().isoformat(),
        "version": profile.version,
    }


def _run(ctx: StepContext) -> None:
    valuation = ctx.valuation
    positions = valuation.priced()
    history = returns_window(valuation.returns, ctx.as_of, HISTORY_DAYS)
    profile = tolerance_for(ctx.portfolio)
    ranges = {}
    for method in fr_engine.METHODS:
        ranges[method] = fr_engine.simulate(
            positions,
            history,
            valuation.equity,
            method=method,
            paths=PATHS,
            seed=SEED,
            rate_pct=valuation.rate,
            loss_limit_pct=profile.loss_limit_pct if profile else None,
        )
        ctx.store("forward_range", ranges[method].to_dict(), params={"method": method})
    score = score_engine.from_forward_range(ranges[PRIMARY_METHOD])
    tolerance = _tolerance_dict(profile)
    gap = score_engine.gap_words(
        score.score,
        profile.score if profile else None,
        tolerance["client_name"] if tolerance else None,
    )
    ctx.store(
        "risk_score",
        {
            **score.to_dict(),
            "tolerance": tolerance,
            "gap": gap.to_dict(),
            "parametric_score": score_engine.from_forward_range(ranges["parametric"]).score,
        },
    )


STEP = Step("forward_range", _run, needs=("valuation",), kinds=("forward_range", "risk_score"))


def forward_range(portfolio: Portfolio, method: str = PRIMARY_METHOD) -> Result:
    """The stored forward range of ``method`` (``bootstrap`` or ``parametric``)."""
    if method not in fr_engine.METHODS:
        raise ValueError(f"unknown method {method!r}")
    return stored(portfolio, "forward_range", {"method": method})


def risk_score(portfolio: Portfolio) -> Result:
    """The stored risk score with the client's tolerance and the gap in words."""
    return stored(portfolio, "risk_score")

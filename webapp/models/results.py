"""Stored calculation results and daily portfolio snapshots."""

from __future__ import annotations

from webapp.extensions import db
from webapp.models._ids import NEVER_REUSE_IDS
from webapp.models._time import utcnow


class AnalyticsResult(db.Model):
    """One engine output for one portfolio, parameter set and as-of date (payload is JSON)."""

    __tablename__ = "analytics_results"
    __table_args__ = (
        db.Index("ix_analytics_results_lookup", "portfolio_id", "kind", "params_key", "as_of_date"),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    portfolio_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False
    )
    batch_run_id = db.Column(
        db.Integer, db.ForeignKey("batch_runs.id", ondelete="SET NULL"), index=True
    )
    kind = db.Column(db.String(48), nullable=False)
    params_key = db.Column(db.String(255), nullable=False, default="")
    params = db.Column(db.JSON, nullable=False, default=dict)
    as_of_date = db.Column(db.Date, nullable=False)
    calculated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    payload = db.Column(db.JSON, nullable=False)


class PortfolioSnapshot(db.Model):
    """End-of-day portfolio state; one row per portfolio and date.

    Re-runs replace the day's row.
    """

    __tablename__ = "portfolio_snapshots"
    __table_args__ = (
        db.UniqueConstraint(
            "portfolio_id", "snapshot_date", name="uq_portfolio_snapshots_portfolio_date"
        ),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    portfolio_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False
    )
    snapshot_date = db.Column(db.Date, nullable=False)
    equity = db.Column(db.Double, nullable=False)
    cash = db.Column(db.Double, nullable=False)
    long_exposure = db.Column(db.Double, nullable=False)
    short_exposure = db.Column(db.Double, nullable=False)
    gross_exposure = db.Column(db.Double, nullable=False)
    net_exposure = db.Column(db.Double, nullable=False)
    unrealized_pnl = db.Column(db.Double, nullable=False)
    daily_pnl = db.Column(db.Double)
    daily_return = db.Column(db.Double)
    position_count = db.Column(db.Integer, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

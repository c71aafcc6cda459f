"""Alert rules per book, the alerts a batch raises from them, and each alert's audit trail."""

from __future__ import annotations

from webapp.extensions import db
from webapp.models._ids import NEVER_REUSE_IDS
from webapp.models._owned import OwnedByUser
from webapp.models._time import utcnow

# new -> seen -> acknowledged (with a note); a condition that no longer holds is 'cleared'.
ALERT_STATUSES = ("new", "seen", "acknowledged", "cleared")
OPEN_STATUSES = ("new", "seen")
COMPARISONS = ("above", "below")


def _sql_list(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


class AlertRule(OwnedByUser, db.Model):
    """A limit on one book (portfolio or household): kind, optional parameter and threshold."""

    __tablename__ = "alert_rules"
    __table_args__ = (
        db.CheckConstraint(f"comparison IN ({_sql_list(COMPARISONS)})", name="comparison"),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    portfolio_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind = db.Column(db.String(40), nullable=False)
    param = db.Column(db.String(64))
    threshold = db.Column(db.Double)
    comparison = db.Column(db.String(8), nullable=False, default="above")
    enabled = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # The last evaluation: why the rule could not be checked (None when it was).
    last_checked_at = db.Column(db.DateTime)
    last_unavailable = db.Column(db.String(200))

    portfolio = db.relationship("Portfolio")
    alerts = db.relationship(
        "Alert", back_populates="rule", cascade="all, delete-orphan", passive_deletes=True
    )


class Alert(db.Model):
    """One condition a rule found: raised by a batch, updated while it holds, cleared after."""

    __tablename__ = "alerts"
    __table_args__ = (
        db.CheckConstraint(f"status IN ({_sql_list(ALERT_STATUSES)})", name="status"),
        db.Index("ix_alerts_portfolio_status", "portfolio_id", "status"),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    rule_id = db.Column(
        db.Integer, db.ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False, index=True
    )
    portfolio_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False
    )
    # What fired ("var_pct", "single_name_pct:NVDA"): one live alert per rule and key.
    key = db.Column(db.String(120), nullable=False)
    status = db.Column(db.String(16), nullable=False, default="new")
    subject = db.Column(db.String(120))
    value = db.Column(db.Double)
    threshold = db.Column(db.Double)
    message = db.Column(db.Text, nullable=False)
    as_of_date = db.Column(db.Date)
    batch_run_id = db.Column(db.Integer, db.ForeignKey("batch_runs.id", ondelete="SET NULL"))
    raised_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_seen_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    cleared_at = db.Column(db.DateTime)

    rule = db.relationship("AlertRule", back_populates="alerts")
    events = db.relationship(
        "AlertEvent",
        back_populates="alert",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="AlertEvent.id",
    )


class AlertEvent(db.Model):
    """One step of an alert's lifecycle, kept as the audit trail (who, when, which note)."""

    __tablename__ = "alert_events"
    __table_args__ = (
        db.CheckConstraint(f"status IN ({_sql_list(ALERT_STATUSES)})", name="status"),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    alert_id = db.Column(
        db.Integer, db.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status = db.Column(db.String(16), nullable=False)
    note = db.Column(db.Text, nullable=False, default="")
    # None for the batch's own events (raised, cleared).
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    at = db.Column(db.DateTime, nullable=False, default=utcnow)

    alert = db.relationship("Alert", back_populates="events")

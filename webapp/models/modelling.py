"""Modelling sessions: proposed trades on a portfolio, analysed on a proposed book of their own."""

from __future__ import annotations

from webapp.extensions import db
from webapp.models._ids import NEVER_REUSE_IDS
from webapp.models._owned import OwnedByUser
from webapp.models._time import utcnow

SESSION_STATUSES = ("open", "applied", "saved")


class ModellingSession(OwnedByUser, db.Model):
    """One advisor's what-if on a portfolio: the trades proposed and the book they give.

    The proposed book is a ``Portfolio`` of kind 'proposal' (never listed): a copy of the base
    portfolio's lots and ledger with the trades booked through the ledger, so the batch and every
    engine compute its analytics exactly as for the real book.
    """

    __tablename__ = "modelling_sessions"
    __table_args__ = (
        db.CheckConstraint("status IN ('open','applied','saved')", name="status"),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    portfolio_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False, index=True
    )
    proposal_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="SET NULL"), unique=True
    )
    name = db.Column(db.String(120), nullable=False)
    status = db.Column(db.String(16), nullable=False, default="open")
    # The base book's fingerprint the proposed book was built from (rebuilt when it changes).
    base_stamp = db.Column(db.String(64), nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    closed_at = db.Column(db.DateTime)
    saved_portfolio_id = db.Column(db.Integer, db.ForeignKey("portfolios.id", ondelete="SET NULL"))

    portfolio = db.relationship("Portfolio", foreign_keys=[portfolio_id])
    proposal = db.relationship("Portfolio", foreign_keys=[proposal_id])
    trades = db.relationship(
        "ProposedTrade",
        back_populates="session",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ProposedTrade.position",
    )


class ProposedTrade(db.Model):
    """One proposed ledger entry, kept as the fields ``management.record_entry`` takes."""

    __tablename__ = "proposed_trades"
    __table_args__ = (NEVER_REUSE_IDS,)

    id = db.Column(db.Integer, primary_key=True)
    session_id = db.Column(
        db.Integer,
        db.ForeignKey("modelling_sessions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    position = db.Column(db.Integer, nullable=False)  # order of booking within the session
    kind = db.Column(db.String(16), nullable=False)
    fields = db.Column(db.JSON, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    session = db.relationship("ModellingSession", back_populates="trades")

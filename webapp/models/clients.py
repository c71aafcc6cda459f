"""Clients, their risk questionnaires, and households (accounts grouped into one combined book)."""

from __future__ import annotations

from webapp.extensions import db
from webapp.models._ids import NEVER_REUSE_IDS
from webapp.models._owned import NamedPerUser
from webapp.models._time import utcnow


class Client(NamedPerUser, db.Model):
    """One advisor's client: the person whose accounts the portfolios are."""

    __tablename__ = "clients"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False)
    email = db.Column(db.String(254), nullable=False, default="")
    notes = db.Column(db.Text, nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    portfolios = db.relationship("Portfolio", back_populates="client", order_by="Portfolio.name")
    profiles = db.relationship(
        "RiskProfile",
        back_populates="client",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(RiskProfile.answered_at.desc(), RiskProfile.id.desc())",
    )

    @property
    def profile(self) -> RiskProfile | None:
        """The latest questionnaire on file, or None."""
        return self.profiles[0] if self.profiles else None

    def __repr__(self) -> str:
        return f"<Client {self.id} {self.name!r}>"


class RiskProfile(db.Model):
    """One completed risk questionnaire: the answers as given, their version and the score.

    Never edited: a new questionnaire is a new row, so the history stays an audit trail.
    """

    __tablename__ = "risk_profiles"
    __table_args__ = (
        db.CheckConstraint("score BETWEEN 1 AND 99", name="score_range"),
        db.CheckConstraint("loss_limit_pct > 0", name="loss_limit_positive"),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(
        db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    version = db.Column(db.String(16), nullable=False)
    answers = db.Column(db.JSON, nullable=False)
    score = db.Column(db.Integer, nullable=False)
    willingness = db.Column(db.Double, nullable=False)
    capacity = db.Column(db.Double, nullable=False)
    capped = db.Column(db.Boolean, nullable=False, default=False)
    category = db.Column(db.String(40), nullable=False)
    loss_limit_pct = db.Column(db.Double, nullable=False)
    answered_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    client = db.relationship("Client", back_populates="profiles")


class Household(db.Model):
    """A group of accounts analysed as one: its book is a ``Portfolio`` of kind 'household'.

    The book holds copies of the members' positions and transactions (``services.households``
    refreshes them before every batch), so every page and engine reads a household exactly as a
    portfolio: risk on the combined book, never an average of the accounts'.
    """

    __tablename__ = "households"

    portfolio_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="CASCADE"), primary_key=True
    )
    # What the copy was made from (members' ids and last changes); unchanged means no copy.
    synced_stamp = db.Column(db.String(64), nullable=False, default="")
    synced_at = db.Column(db.DateTime)

    book = db.relationship("Portfolio", foreign_keys=[portfolio_id], back_populates="household")
    members = db.relationship(
        "HouseholdAccount",
        back_populates="household",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class HouseholdAccount(db.Model):
    """One account of a household; an account belongs to at most one household."""

    __tablename__ = "household_accounts"

    household_id = db.Column(
        db.Integer,
        db.ForeignKey("households.portfolio_id", ondelete="CASCADE"),
        primary_key=True,
    )
    portfolio_id = db.Column(
        db.Integer,
        db.ForeignKey("portfolios.id", ondelete="CASCADE"),
        primary_key=True,
        unique=True,
    )

    household = db.relationship("Household", back_populates="members")
    account = db.relationship("Portfolio", foreign_keys=[portfolio_id])

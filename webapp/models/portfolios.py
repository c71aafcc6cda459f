"""Portfolios, positions, tags (the ledger of transactions is in ``models.ledger``)."""

from __future__ import annotations

from webapp.analytics.constants import OPTION_TYPES
from webapp.extensions import db
from webapp.models._ids import NEVER_REUSE_IDS
from webapp.models._owned import NamedPerUser
from webapp.models._time import utcnow

position_tags = db.Table(
    "position_tags",
    db.Column(
        "position_id",
        db.Integer,
        db.ForeignKey("positions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    db.Column("tag_id", db.Integer, db.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


PORTFOLIO_KINDS = ("account", "household")


class Portfolio(NamedPerUser, db.Model):
    """One advisor's book: an account (name, description, cash, positions), or a household's
    combined book (``kind`` 'household'), whose positions are copies of its accounts'."""

    __tablename__ = "portfolios"

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(16), nullable=False, default="account", server_default="account")
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="SET NULL"), index=True)
    name = db.Column(db.String(120), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    cash = db.Column(db.Double, nullable=False, default=0.0)
    # A symbol or a fixed-weight blend "SPY:0.6,AGG:0.4" (services.management checks the format).
    benchmark = db.Column(db.String(200), nullable=False, default="SPY", server_default="SPY")
    inception_date = db.Column(db.Date)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    owner = db.relationship("User", back_populates="portfolios")
    client = db.relationship("Client", back_populates="portfolios")
    household = db.relationship(
        "Household", foreign_keys="Household.portfolio_id", back_populates="book", uselist=False
    )
    positions = db.relationship(
        "Position",
        back_populates="portfolio",
        cascade="all, delete-orphan",
        order_by="Position.id",
    )
    transactions = db.relationship(
        "Transaction",
        back_populates="portfolio",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(Transaction.trade_date, Transaction.id)",
    )

    @property
    def is_household(self) -> bool:
        """True for a household's combined book (read-only: edits go to its accounts)."""
        return self.kind == "household"

    def __repr__(self) -> str:
        return f"<Portfolio {self.id} {self.name!r}>"


class Position(db.Model):
    """One holding. ``quantity`` is signed: negative for SHORT, SC and SP (DB check enforces it)."""

    __tablename__ = "positions"
    __table_args__ = (
        db.CheckConstraint(
            "position_type IN ('LONG','SHORT','LC','LP','SC','SP')", name="position_type"
        ),
        db.CheckConstraint(
            "(position_type IN ('LONG','LC','LP') AND quantity > 0)"
            " OR (position_type IN ('SHORT','SC','SP') AND quantity < 0)",
            name="quantity_sign",
        ),
        db.CheckConstraint(
            "position_type IN ('LONG','SHORT')"
            " OR (strike_price > 0 AND expiration_date IS NOT NULL"
            " AND underlying_symbol IS NOT NULL)",
            name="option_fields",
        ),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    portfolio_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False, index=True
    )
    symbol = db.Column(db.String(32), nullable=False, index=True)
    position_type = db.Column(db.String(5), nullable=False)
    quantity = db.Column(db.Double, nullable=False)
    entry_price = db.Column(db.Double, nullable=False)
    entry_date = db.Column(db.Date, nullable=False)
    exit_date = db.Column(db.Date)
    exit_price = db.Column(db.Double)
    underlying_symbol = db.Column(db.String(16))
    strike_price = db.Column(db.Double)
    expiration_date = db.Column(db.Date)
    multiplier = db.Column(db.Double, nullable=False, default=1.0)
    implied_vol = db.Column(db.Double)
    strategy = db.Column(db.String(120), index=True)
    notes = db.Column(db.Text, nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    portfolio = db.relationship("Portfolio", back_populates="positions")
    tags = db.relationship("Tag", secondary=position_tags, back_populates="positions")

    @property
    def is_option(self) -> bool:
        """True for the option types LC, LP, SC and SP."""
        return self.position_type in OPTION_TYPES

    @property
    def is_open(self) -> bool:
        """True until the position has an exit date."""
        return self.exit_date is None

    @property
    def price_symbol(self) -> str:
        """Symbol whose price series drives this position (the underlying for options)."""
        return self.underlying_symbol if self.is_option else self.symbol

    def __repr__(self) -> str:
        return f"<Position {self.id} {self.position_type} {self.quantity} {self.symbol}>"


DEFAULT_TAG_COLOR = "#4c78a8"


class Tag(NamedPerUser, db.Model):
    """One label an advisor puts on positions, with its display colour."""

    __tablename__ = "tags"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(60), nullable=False)
    color = db.Column(db.String(7), nullable=False, default=DEFAULT_TAG_COLOR)

    positions = db.relationship("Position", secondary=position_tags, back_populates="tags")

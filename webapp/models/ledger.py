"""The transactions ledger: every cash movement of a portfolio; positions are its running state.

Sign convention: ``amount`` is the signed cash effect in dollars (money in positive), ``quantity``
a positive magnitude (the position type says long or short), ``fees`` a non-negative dollar cost
already included in ``amount``. ``services.ledger`` is the only writer.
"""

from __future__ import annotations

from webapp.analytics.constants import POSITION_TYPES
from webapp.extensions import db
from webapp.models._ids import NEVER_REUSE_IDS
from webapp.models._time import utcnow

# Opening and closing kinds per position type (options share one pair).
TRADE_KINDS = ("buy", "sell", "short", "cover", "option_open", "option_close")
OPTION_EVENT_KINDS = ("option_expire", "option_assign")
CASH_KINDS = ("deposit", "withdrawal", "dividend", "fee")
TRANSACTION_KINDS = (*TRADE_KINDS, *OPTION_EVENT_KINDS, *CASH_KINDS)
# External flows: money the client moved in or out. The performance engine excludes them from
# returns; dividends and fees are the portfolio's own income and cost.
FLOW_KINDS = ("deposit", "withdrawal")
OPENING_KINDS = ("buy", "short", "option_open")
CLOSING_KINDS = ("sell", "cover", "option_close", "option_expire", "option_assign")
SOURCES = ("manual", "api", "import", "migration")


def _sql_list(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


class Transaction(db.Model):
    """One ledger entry: a trade, an option event or a cash entry, with its signed cash effect."""

    __tablename__ = "transactions"
    __table_args__ = (
        db.CheckConstraint(f"kind IN ({_sql_list(TRANSACTION_KINDS)})", name="kind"),
        db.CheckConstraint(f"source IN ({_sql_list(SOURCES)})", name="source"),
        db.CheckConstraint(
            f"position_type IS NULL OR position_type IN ({_sql_list(POSITION_TYPES)})",
            name="position_type",
        ),
        db.CheckConstraint("quantity IS NULL OR quantity > 0", name="quantity_positive"),
        db.CheckConstraint("fees >= 0", name="fees_non_negative"),
        db.Index("ix_transactions_portfolio_id_trade_date", "portfolio_id", "trade_date"),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    portfolio_id = db.Column(
        db.Integer, db.ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False
    )
    trade_date = db.Column(db.Date, nullable=False)
    kind = db.Column(db.String(16), nullable=False)
    symbol = db.Column(db.String(32))
    position_type = db.Column(db.String(5))
    quantity = db.Column(db.Double)
    price = db.Column(db.Double)
    multiplier = db.Column(db.Double)
    underlying_symbol = db.Column(db.String(16))
    strike_price = db.Column(db.Double)
    expiration_date = db.Column(db.Date)
    amount = db.Column(db.Double, nullable=False)
    fees = db.Column(db.Double, nullable=False, default=0.0)
    realized_pnl = db.Column(db.Double)
    position_id = db.Column(
        db.Integer, db.ForeignKey("positions.id", ondelete="SET NULL"), index=True
    )
    is_flow = db.Column(db.Boolean, nullable=False, default=False)
    source = db.Column(db.String(16), nullable=False, default="manual")
    notes = db.Column(db.Text, nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    portfolio = db.relationship("Portfolio", back_populates="transactions")

    def __repr__(self) -> str:
        return f"<Transaction {self.id} {self.trade_date} {self.kind} {self.amount:+.2f}>"

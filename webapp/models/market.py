"""Reference and market data: securities, daily bars, risk-free rate, factor definitions."""

from __future__ import annotations

from webapp.extensions import db
from webapp.models._ids import NEVER_REUSE_IDS
from webapp.models._time import utcnow


class Security(db.Model):
    """One tradable symbol: name, asset class, sector and industry."""

    __tablename__ = "securities"

    symbol = db.Column(db.String(16), primary_key=True)
    name = db.Column(db.String(255), nullable=False)
    asset_class = db.Column(db.String(32), nullable=False)
    sector = db.Column(db.String(64))
    industry = db.Column(db.String(128))


class PriceBar(db.Model):
    """One daily bar. Insert-only: a stored (symbol, date) is never overwritten.

    ``adj_close`` (split- and dividend-adjusted) drives valuation and returns; ``open``..``close``
    and ``volume`` are present only where the source has them.
    """

    __tablename__ = "price_bars"
    __table_args__ = (
        db.UniqueConstraint("symbol", "date", name="uq_price_bars_symbol_date"),
        NEVER_REUSE_IDS,
    )

    id = db.Column(db.Integer, primary_key=True)
    symbol = db.Column(db.String(16), nullable=False)
    date = db.Column(db.Date, nullable=False, index=True)
    open = db.Column(db.Double)
    high = db.Column(db.Double)
    low = db.Column(db.Double)
    close = db.Column(db.Double)
    adj_close = db.Column(db.Double, nullable=False)
    volume = db.Column(db.BigInteger)
    source = db.Column(db.String(32), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class RiskFreeRate(db.Model):
    """13-week T-bill yield, percent per year (daily return = rate / 100 / 252)."""

    __tablename__ = "risk_free_rates"

    date = db.Column(db.Date, primary_key=True)
    rate_annual_pct = db.Column(db.Double, nullable=False)
    source = db.Column(db.String(32), nullable=False)


class FactorDefinition(db.Model):
    """One risk factor: its ETF proxy (raw or hedged), description and display order."""

    __tablename__ = "factor_definitions"
    __table_args__ = (NEVER_REUSE_IDS,)

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64), nullable=False, unique=True)
    etf_symbol = db.Column(db.String(16), nullable=False)
    construction = db.Column(db.String(16), nullable=False)  # raw | hedged (the engine's FACTORS)
    description = db.Column(db.Text, nullable=False)
    sort_order = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

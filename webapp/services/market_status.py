"""What the Market data page shows: the prices' age, the provider, each held symbol's coverage."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from webapp.analytics.constants import OPTION_TYPES
from webapp.extensions import db
from webapp.marketdata.coverage import SymbolCoverage, coverage_report
from webapp.models import Portfolio
from webapp.models.portfolios import Position
from webapp.services.freshness import Freshness, price_freshness

#: Provider name -> the config key its API key comes from (the bundled dataset needs none).
PROVIDER_KEYS = {"fmp": "FMP_API_KEY", "polygon": "POLYGON_API_KEY"}
PROVIDER_NAMES = {
    "bundled": "the bundled dataset",
    "fmp": "Financial Modeling Prep",
    "polygon": "Polygon.io",
}


@dataclass(frozen=True)
class HeldSymbol:
    """One priced symbol an advisor holds (directly or as an option's underlying)."""

    symbol: str
    coverage: SymbolCoverage | None  # None: no bar stored at all

    @property
    def behind(self) -> int:
        """Trading days its last bar is behind the newest stored date (0 without bars)."""
        return self.coverage.stale_days if self.coverage else 0


@dataclass(frozen=True)
class MarketStatus:
    """The page's content."""

    freshness: Freshness
    provider: str
    provider_name: str
    keys_configured: dict[str, bool]  # provider -> its API key is set (never the key itself)
    held: list[HeldSymbol]


def held_symbols(user_id: int) -> list[str]:
    """The price symbols of the advisor's open positions (underlyings for options), sorted."""
    rows = db.session.execute(
        select(Position.symbol, Position.underlying_symbol, Position.position_type)
        .join(Portfolio, Portfolio.id == Position.portfolio_id)
        .where(Portfolio.user_id == user_id, Position.exit_date.is_(None))
    )
    return sorted(
        {(underlying if kind in OPTION_TYPES else symbol) for symbol, underlying, kind in rows}
    )


def market_status(user_id: int) -> MarketStatus:
    """Freshness, provider configuration and the coverage of every symbol ``user_id`` holds."""
    symbols = held_symbols(user_id)
    report = {c.symbol: c for c in coverage_report(symbols)} if symbols else {}
    held = [HeldSymbol(symbol=s, coverage=report.get(s)) for s in symbols]
    provider = (current_app.config.get("MARKETDATA_PROVIDER") or "bundled").lower()
    return MarketStatus(
        freshness=price_freshness(),
        provider=provider,
        provider_name=PROVIDER_NAMES.get(provider, provider),
        keys_configured={p: bool(current_app.config.get(k)) for p, k in PROVIDER_KEYS.items()},
        held=held,
    )

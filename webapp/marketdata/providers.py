"""Choose a provider by name (config MARKETDATA_PROVIDER by default)."""

from __future__ import annotations

from flask import current_app

from webapp.marketdata.base import PriceProvider
from webapp.marketdata.bundled import BundledProvider
from webapp.marketdata.fmp import FMPProvider
from webapp.marketdata.polygon import PolygonProvider


def get_provider(name: str | None = None) -> PriceProvider:
    """The named provider, built from app config (API keys come from the environment)."""
    name = (name or current_app.config.get("MARKETDATA_PROVIDER") or "bundled").lower()
    if name == "bundled":
        return BundledProvider()
    if name == "fmp":
        return FMPProvider(api_key=current_app.config.get("FMP_API_KEY"))
    if name == "polygon":
        return PolygonProvider(api_key=current_app.config.get("POLYGON_API_KEY"))
    raise ValueError(f"unknown market-data provider {name!r} (bundled, fmp, polygon)")

"""/data: raw data for agents and charts (positions, prices, quotes, quality)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from webapp.schemas.api.base import ApiModel, IsoDate, Timestamp
from webapp.schemas.api.common import PortfolioSummary, PriceSeries, Quote, Totals, ValuedPosition


class PortfoliosResponse(ApiModel):
    """The caller's portfolios with their value and position count, and how many there are."""

    portfolios: list[PortfolioSummary]
    count: int


class PortfolioCompleteResponse(ApiModel):
    """A portfolio's raw data as of the last price date: valued positions, the prices used,
    totals in dollars and a data-quality summary."""

    portfolio: PortfolioSummary
    as_of: IsoDate | None
    summary: Totals
    positions: list[ValuedPosition]
    prices: dict[str, Quote]
    left_out: list[dict[str, Any]] = None
    data_quality: dict[str, Any]
    generated_at: Timestamp


class PortfolioDataQualityResponseSymbol(ApiModel):
    """One symbol's stored prices over the look-back: first and last dates, gaps and
    completeness (a fraction of the expected trading days)."""

    symbol: str
    history_start: IsoDate | None = None
    first_date: IsoDate | None = None
    last_date: IsoDate | None = None
    trading_days: int
    expected_days: int
    gap_days: int
    gap_ranges: list[list[IsoDate]] = None
    completeness: float
    stale_days: int = None


class PortfolioDataQualityResponse(ApiModel):
    """Price coverage of the portfolio's symbols over the look-back (trading days), and which
    calculations it allows."""

    portfolio_id: int
    as_of: IsoDate | None
    lookback_days: int
    window: dict[str, Any] = None
    symbols: list[PortfolioDataQualityResponseSymbol]
    missing_symbols: list[str]
    summary: dict[str, Any]
    feasibility: dict[str, Any] = None
    generated_at: Timestamp = None


class PricesHistoricalResponseMetadata(ApiModel):
    """How the price page was cut: symbols returned of the total, those omitted or without
    prices, the date format and the date range."""

    truncated: bool
    total_symbols: int
    symbols_returned: int
    max_symbols: int | None = None
    lookback_days: int = None
    date_format: Literal["iso", "unix"]
    omitted_symbols: list[str] = None
    missing_symbols: list[str] = None
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None


class PricesHistoricalResponse(ApiModel):
    """Daily prices of the portfolio's symbols, largest first, on one trading-day axis."""

    portfolio_id: int
    as_of: IsoDate | None
    dates: list[IsoDate | int] = Field(
        description="YYYY-MM-DD, or Unix seconds at 00:00 UTC with date_format=unix"
    )
    symbols: PriceSeries
    factor_etfs: PriceSeries = None
    metadata: PricesHistoricalResponseMetadata


class PricesQuotesResponse(ApiModel):
    """The last stored price and one-day change of each symbol asked for, and the unknown ones."""

    as_of: IsoDate | None
    quotes: list[Quote]
    unknown_symbols: list[str]
    metadata: dict[str, Any] = None


class FactorEtfPricesResponseFactor(ApiModel):
    """One factor's ETF proxy: its latest quote and adjusted closes on the response's dates."""

    factor: str
    etf_symbol: str
    construction: str = None
    quote: Quote | None
    adj_close: list[float | None]


class FactorEtfPricesResponse(ApiModel):
    """The factor ETFs' latest quotes and recent adjusted closes on one date axis."""

    as_of: IsoDate | None
    lookback_days: int = None
    dates: list[IsoDate]
    metadata: dict[str, Any] = None
    factors: list[FactorEtfPricesResponseFactor]

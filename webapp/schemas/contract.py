"""The reference contract's response fields as declared models (reference §3.0.3, its drafts).

``api.contract`` fills these from the service results and adds them beside the envelope; the
OpenAPI document takes their JSON Schema. Units are the contract's: ``*_percentage`` and
``percentage_impact`` in percentage points (-10.0 = -10%), volatility and drawdown fractions.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Contract(BaseModel):
    """A contract block: strict about the fields it declares."""

    model_config = ConfigDict(extra="forbid")


class Exposures(Contract):
    """The overview's exposures ($) and their shares of total value."""

    long_exposure: float
    short_exposure: float
    gross_exposure: float
    net_exposure: float
    long_percentage: float | None = Field(description="long / total value, percentage points")
    short_percentage: float | None = Field(description="|short| / total value, percentage points")


class PnL(Contract):
    """The overview's P&L ($): realized from the ledger, unrealized on open lots."""

    total_pnl: float
    unrealized_pnl: float
    realized_pnl: float


class PositionCount(Contract):
    """How many positions, long and short (options by their side), and options."""

    total_positions: int
    long_count: int
    short_count: int
    option_count: int


class OverviewContract(Contract):
    """GET /analytics/portfolio/{id}/overview (reference §3.0.3.1)."""

    portfolio_id: int
    total_value: float
    cash_balance: float
    exposures: Exposures
    pnl: PnL
    position_count: PositionCount
    last_updated: str | None


class RiskMetrics(Contract):
    """The headline risk numbers of the window."""

    portfolio_beta: float | None
    annualized_volatility: float | None = Field(description="decimal fraction per year")
    max_drawdown: float | None = Field(description="decimal fraction, <= 0")


class RiskContract(Contract):
    """GET /analytics/portfolio/{id}/risk-metrics (reference §3.0.3.13); window in metadata."""

    portfolio_id: int
    risk_metrics: RiskMetrics


class FactorItem(Contract):
    """One factor: portfolio beta and dollar exposure (beta x equity)."""

    name: str
    beta: float | None
    exposure_dollar: float | None


class FactorExposuresContract(Contract):
    """GET /analytics/portfolio/{id}/factor-exposures (reference §3.0.3.12)."""

    portfolio_id: int
    calculation_date: str | None
    factors: list[FactorItem]


class PositionFactorItem(Contract):
    """One position's factor betas."""

    position_id: int
    symbol: str
    exposures: dict[str, float | None]


class PositionFactorContract(Contract):
    """GET /analytics/portfolio/{id}/positions/factor-exposures (reference §3.0.3.15)."""

    portfolio_id: int
    calculation_date: str | None
    total: int
    limit: int
    offset: int
    positions: list[PositionFactorItem]


class DiversificationContract(Contract):
    """GET /analytics/portfolio/{id}/diversification-score (reference §3.0.3.11)."""

    portfolio_id: int
    portfolio_correlation: float | None
    duration_days: int | None
    calculation_date: str | None
    symbols_included: int


class StressImpact(Contract):
    """A scenario's impact (reference §3.0.3.14's StressImpact draft)."""

    dollar_impact: float
    percentage_impact: float | None = Field(
        description="impact / portfolio value in percentage points (-10.0 = -10%)"
    )
    new_portfolio_value: float

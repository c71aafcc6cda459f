"""Shapes shared across the API: the error, the analytics envelope's metadata and unavailable
answer, positions, portfolios, ledger rows, batch runs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, RootModel

from webapp.schemas.api.base import ApiModel, IsoDate, Timestamp


class ErrorDetail(ApiModel):
    """An error's code, a message for people and details (422: details.fields, field -> message)."""

    code: str
    message: str
    details: dict[str, Any]


class Error(ApiModel):
    """An error response: the error's code, message and details under error."""

    error: ErrorDetail


class ResultMetadata(ApiModel):
    """A stored result's portfolio, price date (as_of), calculation time and the parameters used."""

    portfolio_id: int
    as_of: IsoDate | None
    calculated_at: Timestamp | None
    parameters: dict[str, Any]


class Unavailable(ApiModel):
    """Why there is no analytics result: the contract's reason code, our finer detail, a message."""

    available: Literal[False]
    reason: str = Field(
        description=(
            "the reference contract's code where it names one "
            "(no_calculation_available, no_snapshots, insufficient_overlap, "
            "no_benchmark_data, no_snapshot, no_results, insufficient_symbols); "
            "otherwise ours. detail: our own, more specific code (no_results before "
            "any batch ran, or the failing step's reason: no_positions, "
            "insufficient_history, …)"
        )
    )
    detail: str | None = None
    message: str | None = None
    metadata: ResultMetadata


class Token(ApiModel):
    """A bearer token, its expiry (UTC time, seconds left) and the CSRF value for cookie writes."""

    access_token: str
    token_type: Literal["bearer"]
    expires_at: Timestamp
    expires_in: int
    csrf_token: str


class Totals(ApiModel):
    """Book totals in dollars: cash, equity (positions' market value + cash), exposures, P&L."""

    cash: float
    equity: float
    long_exposure: float = None
    short_exposure: float = None
    gross_exposure: float = None
    net_exposure: float = None
    unrealized_pnl: float = None
    position_count: int = None


class ValuedPosition(ApiModel):
    """An open position valued at the last price: dollar values, P&L (pct as a fraction of cost)
    and weight (a signed fraction of gross market value, shorts negative)."""

    id: int
    symbol: str
    underlying: str | None = None
    position_type: str
    quantity: float
    multiplier: float | None = None
    entry_price: float = None
    entry_date: IsoDate | None = None
    price: float | None = None
    market_value: float | None = None
    cost_basis: float | None = None
    unrealized_pnl: float | None = None
    unrealized_pnl_pct: float | None = None
    exposure: float | None = None
    weight: float | None = None
    status: str
    name: str | None = None
    sector: str | None = None
    strategy: str | None = None
    tags: list[str] = None


class PositionsView(ApiModel):
    """A portfolio's open positions valued at the last price date, with its totals, strategy
    subtotals and the positions left out (unpriced)."""

    portfolio_id: int
    as_of: IsoDate | None
    positions: list[ValuedPosition]
    totals: Totals
    strategies: list[dict[str, Any]] = None
    left_out: list[dict[str, Any]]


class Portfolio(ApiModel):
    """A portfolio's stored details: name, description, cash balance ($), benchmark and dates."""

    id: int
    name: str
    description: str | None = None
    cash_balance: float
    benchmark: str
    inception_date: IsoDate | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None


class PortfolioSummary(Portfolio):
    """A portfolio with its cash and total value in dollars, open-position count and price date."""

    total_value: float | None
    position_count: int
    as_of: IsoDate | None = None
    created_at: Timestamp


class Quote(ApiModel):
    """A symbol's last stored price and date, and the change from the prior close ($, fraction)."""

    symbol: str
    name: str | None = None
    price: float
    date: IsoDate
    previous_close: float | None = None
    previous_date: IsoDate | None = None
    change: float | None
    change_pct: float | None = Field(description="decimal fraction (0.0123 = 1.23%)")
    stale: bool


class PriceSeriesValueValue(ApiModel):
    """One symbol's daily prices on the response's dates (null where no bar); OHLCV where stored."""

    adj_close: list[float | None]
    open: list[float | None] = None
    high: list[float | None] = None
    low: list[float | None] = None
    close: list[float | None] = None
    volume: list[int | None] = None


class PriceSeries(RootModel[dict[str, PriceSeriesValueValue]]):
    """Daily price series by symbol."""


class Position(ApiModel):
    """A position as stored (not valued): symbol, type, quantity, entry price and date, and tags."""

    id: int
    portfolio_id: int
    symbol: str
    position_type: str
    quantity: float
    entry_price: float = None
    entry_date: IsoDate | None = None
    tags: list[str] = None


class Transaction(ApiModel):
    """One ledger row: amount is its signed cash effect in dollars (money in positive, fees
    included); running_cash the cash after it."""

    id: int
    portfolio_id: int
    trade_date: IsoDate
    kind: str
    symbol: str | None = None
    position_type: str | None = None
    quantity: float | None = None
    price: float | None = None
    multiplier: float | None = None
    underlying_symbol: str | None = None
    strike_price: float | None = None
    expiration_date: IsoDate | None = None
    amount: float
    fees: float
    realized_pnl: float | None = None
    position_id: int | None = None
    is_flow: bool
    source: str
    notes: str = None
    running_cash: float | None = None


class BatchRun(ApiModel):
    """A calculation batch run of a portfolio: its status, trigger, price date, times and steps."""

    batch_run_id: int
    portfolio_id: int | None = None
    job_id: str | None = None
    trigger: str = None
    status: str
    as_of: IsoDate | None = None
    created_at: Timestamp | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    steps: list[dict[str, Any]] | None = None
    error: str | None = None


class ImportReport(ApiModel):
    """A holdings file's validation report: its layout, the rows accepted and rejected, warnings."""

    detected_format: str
    file_error: dict[str, Any] | None = None
    accepted: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    skipped_lines: list[int] = None
    warnings: list[dict[str, Any]] = None

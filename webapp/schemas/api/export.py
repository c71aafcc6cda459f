"""/export: portfolio and trade exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, RootModel

from webapp.schemas.api.base import ApiModel, Id, IsoDate
from webapp.schemas.api.common import PortfolioSummary, ValuedPosition


class PortfolioResponse(ApiModel):
    """The JSON export of a portfolio: its details, valued positions, prices and every stored
    analytics result."""

    format: str
    portfolio: PortfolioSummary
    positions: list[ValuedPosition]
    prices: dict[str, Any]
    analytics: dict[str, Any]
    factor_definitions: list[dict[str, Any]] = None


class TradesResponseTrade(ApiModel):
    """One broker-style order: action, symbol, quantity, and the estimated price and value ($)."""

    Action: Literal["BUY", "SELL", "SELL_SHORT", "BUY_TO_COVER"]
    Symbol: str
    Quantity: float
    order_type: Literal["MARKET"] = Field(alias="Order Type")
    est_price: float | None = Field(alias="Est. Price")
    est_value: float | None = Field(alias="Est. Value")


class TradesResponse(ApiModel):
    """The trades as broker-style orders, estimated at the latest prices, and how many there are."""

    portfolio_id: int
    as_of: IsoDate | None
    columns: list[str] = None
    trades: list[TradesResponseTrade]
    count: int


class TargetLine(ApiModel):
    """One symbol of a target book: its signed quantity (negative = short)."""

    symbol: str
    quantity: float = Field(description="Signed target (negative = short).")


class TargetTradesBody(ApiModel):
    """The trades that turn the portfolio into a target book."""

    portfolio_id: Id
    close_unlisted: bool = Field(True, description="Close open positions the target omits.")
    target: Annotated[list[TargetLine], Field(min_length=1)]


class ListedTrade(ApiModel):
    """One order as the caller lists it."""

    symbol: str
    side: Literal["BUY", "SELL", "SELL_SHORT", "BUY_TO_COVER"]
    quantity: float = Field(gt=0)


class ListedTradesBody(ApiModel):
    """Orders listed by the caller, priced and checked against the portfolio."""

    portfolio_id: Id
    trades: Annotated[list[ListedTrade], Field(min_length=1)]


class TradesBody(RootModel[TargetTradesBody | ListedTradesBody]):
    """A target book, or a list of orders."""

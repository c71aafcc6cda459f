"""/management: portfolios, positions, strategies, tags and the ledger."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from webapp.schemas.api.base import ApiModel, Id
from webapp.schemas.api.common import Portfolio, Position, Transaction
from webapp.services import imports as import_svc
from webapp.services import management as mgmt

PortfolioName = Annotated[str, Field(pattern=r"\S", max_length=mgmt.MAX_NAME)]
#: A write's amount: a number, or a decimal string (exact cents, "1,234.50").
Amount = float | str


class PortfolioBody(ApiModel):
    """A new portfolio, or PUT: its name, description, cash and benchmark (fields not sent keep
    their value on PUT, as on PATCH)."""

    name: PortfolioName
    description: str = None
    cash: Amount = None
    benchmark: str = Field(None, description="The performance benchmark's symbol (SPY).")


class PatchPortfolioBody(PortfolioBody):
    """PATCH a portfolio: only the fields sent change."""

    name: PortfolioName = None


class PositionBody(ApiModel):
    """A position: a new one, or PUT (every field; what is not sent takes its default)."""

    symbol: str
    quantity: Amount
    entry_price: Amount
    entry_date: str = Field(None, description="YYYY-MM-DD (default: today).")
    position_type: str = Field(None, description="LONG, SHORT, LC, LP, SC or SP.")
    tags: Any = Field(None, description="Tag names: a list, or a comma-separated string.")
    strategy: str = None
    notes: str = None
    funding: Literal["transfer", "cash"] = Field(None, description=mgmt.FUNDING_NOTE)
    fees: Amount = None


class PatchPositionBody(PositionBody):
    """PATCH a position: only the fields sent change."""

    symbol: str = None
    quantity: Amount = None
    entry_price: Amount = None


class AnyPositionBody(PositionBody):
    """POST /management/positions: a position and the caller's portfolio it goes in."""

    portfolio_id: Id


class ListPortfoliosResponse(ApiModel):
    """A page of the caller's portfolios, with the total count and the paging used."""

    portfolios: list[Portfolio]
    total: int
    limit: int
    offset: int


class ListAllPositionsResponseGroup(ApiModel):
    """One group of the page's positions (a type, strategy or tag): its key and ids."""

    key: str
    position_ids: list[int]
    count: int


class ListAllPositionsResponse(ApiModel):
    """A page of the caller's positions across portfolios, grouped when group_by is set."""

    positions: list[Position]
    total: int
    limit: int
    offset: int
    group_by: str = None
    groups: list[ListAllPositionsResponseGroup] = None


class TagsBody(ApiModel):
    """The position's new tags by name (unknown names become new tags)."""

    tags: list[str]


class Strategy(ApiModel):
    """The open positions of one strategy: count, symbols, ids, portfolios, cost basis ($)."""

    strategy: str
    position_count: int
    symbols: list[str]
    position_ids: list[int]
    portfolio_ids: list[int]
    cost_basis: float


class ListStrategiesResponse(ApiModel):
    """The caller's open positions grouped by strategy, and how many strategies."""

    strategies: list[Strategy]
    count: int


class UploadBody(ApiModel):
    """A holdings CSV upload (multipart): the file, validate or commit, and the new portfolio's
    name, description and cash."""

    file: str
    mode: Literal[import_svc.UPLOAD_MODES] = None
    name: str = None
    description: str = None
    cash: str = None


class ListPositionsResponse(ApiModel):
    """A portfolio's positions as stored (not valued)."""

    positions: list[Position]


class ClosePositionBody(ApiModel):
    """How to close a position: exit price and date, a quantity for a partial close, fees ($)."""

    exit_price: float | str
    exit_date: str = None
    quantity: float | str = None
    fees: float | str = None


class ListTransactionsResponse(ApiModel):
    """A page of the portfolio's ledger, newest first, and its cash balance in dollars."""

    transactions: list[Transaction]
    count: int
    total: int
    limit: int
    offset: int
    cash_balance: float


class CreateTransactionResponse(ApiModel):
    """The ledger rows one entry booked and the portfolio's new cash balance in dollars."""

    transactions: list[Transaction]
    cash_balance: float


class EntryFields(ApiModel):
    """The fields of a ledger entry beside its kind: a cash amount, or a trade's or option's
    details (money in dollars); each kind reads the ones it needs."""

    trade_date: str = None
    amount: Amount = None
    symbol: str = None
    quantity: Amount = None
    price: Amount = None
    fees: Amount = None
    position_type: str = None
    underlying_symbol: str = None
    strike_price: Amount = None
    expiration_date: str = None
    notes: str = None


class CreateTransactionBody(EntryFields):
    """A ledger entry to book: its kind, the fields it needs and, to close, the position."""

    kind: Literal[mgmt.ENTRY_KINDS]
    position_id: int = None


class ListTagsResponseTag(ApiModel):
    """One of the caller's tags: its name, colour and open-position count."""

    id: int
    name: str
    color: str = None
    position_count: int = None


class ListTagsResponse(ApiModel):
    """The caller's tags and how many there are."""

    tags: list[ListTagsResponseTag]
    count: int = None


class CreateTagResponse(ApiModel):
    """The new tag: its id, name and colour."""

    id: int
    name: str
    color: str = None


class CreateTagBody(ApiModel):
    """A tag to create: its name and optional colour (#rrggbb)."""

    name: Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f,;]*\S", max_length=mgmt.MAX_TAG)]
    color: Annotated[str, Field(pattern=mgmt.COLOR_RE.pattern)] = None

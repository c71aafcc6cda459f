"""/modeling/sessions: proposals (the ProForma paths)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from webapp.schemas.api.base import ApiModel, Id, IsoDate, Timestamp
from webapp.schemas.api.management import EntryFields
from webapp.services import modelling as svc


class ProposedTrade(ApiModel):
    """One proposed entry of a session: its id, booking order and kind, with its fields."""

    id: int
    position: int
    kind: str


class Session(ApiModel):
    """A modelling session: the account it models, its proposed and saved books, status, trades
    and the proposed book's cash in dollars."""

    id: int
    name: str
    status: Literal["open", "applied", "saved"]
    portfolio_id: int
    proposal_portfolio_id: int | None
    saved_portfolio_id: int | None
    created_at: Timestamp | None
    updated_at: Timestamp | None
    trades: list[ProposedTrade]
    proposed_cash: float | None


class SessionList(ApiModel):
    """A page of the caller's modelling sessions, newest first."""

    sessions: list[Session]
    total: int
    limit: int
    offset: int


class StartSessionBody(ApiModel):
    """The account to model and an optional session name."""

    portfolio_id: Id
    name: str | None = None


class TradeChange(ApiModel):
    """The proposed trade added or changed, and the session after it."""

    trade: ProposedTrade
    session: Session


class TradeBody(EntryFields):
    """A trade or cash entry to propose: its kind and the fields it needs (money in dollars)."""

    kind: Literal[svc.TRADE_KINDS]


class BrokerOrderLine(ApiModel):
    """One broker-style order: action, symbol, quantity, estimated price and value ($)."""

    Action: Literal[
        "BUY",
        "SELL",
        "SELL_SHORT",
        "BUY_TO_COVER",
        "BUY_TO_OPEN",
        "SELL_TO_OPEN",
        "SELL_TO_CLOSE",
        "BUY_TO_CLOSE",
    ]
    Symbol: str
    Quantity: float | None
    order_type: Literal["MARKET"] = Field(alias="Order Type")
    est_price: float | None = Field(alias="Est. Price")
    est_value: float | None = Field(alias="Est. Value")


class SessionTradesResponse(ApiModel):
    """The session's trades as broker-style orders (cash entries are not orders)."""

    session_id: int
    portfolio_id: int
    as_of: IsoDate | None
    columns: list[str]
    trades: list[BrokerOrderLine]
    count: int


class ImpactsResponseGroupsValueItem(ApiModel):
    """One figure: its unit, the account's and the proposed book's values, the difference."""

    key: str
    label: str
    unit: Literal["$", "fraction", "number", "score"]
    current: float | None
    proposed: float | None
    difference: float | None


class ImpactsResponse(ApiModel):
    """Every figure of the account beside the proposed book's, in groups; units: $, fraction
    (0.05 = 5%), number or score."""

    session_id: int
    calculated: bool
    up_to_date: bool
    as_of: IsoDate | None
    groups: dict[str, list[ImpactsResponseGroupsValueItem]]


class SaveResponse(ApiModel):
    """The new account's id and the session, once saved."""

    portfolio_id: int
    session: Session


class SaveBody(ApiModel):
    """The name of the new account to save the proposed book as."""

    name: str


class SuggestResponse(ApiModel):
    """The suggested trade (null when the target is met), the trade booked (null when not added)
    and the session."""

    suggestion: dict[str, Any] | None
    trade: dict[str, Any] | None
    session: Session


class SuggestBody(ApiModel):
    """A target for the proposed book (a beta, else a fraction of equity: -0.10 = a 10% loss)
    and how to reach it; add=false only previews the trade."""

    target: Literal["beta", "net_exposure", "weight", "scenario_loss", "var"]
    value: float
    symbol: str = None
    scenario_id: str = None
    hedge: Literal["index", "put"] = None
    add: bool = None


class ApplyResponse(ApiModel):
    """How many ledger rows were booked on the real account, and the session."""

    rows: int
    session: Session

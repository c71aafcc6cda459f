"""Modelling sessions: "what happens to my client's risk if I make these trades?"

A session proposes ledger entries (buy, sell, short, cover, option open/close, deposit,
withdrawal) on one of the advisor's accounts. Its proposed book — a ``Portfolio`` of kind
'proposal', never listed — is the account's lots and ledger copied (``book_copy``) with the
trades booked through the real ledger (``management.record_entry``), so the batch computes every
analytic of the proposed book with the same engines as the real one: there is no second
calculation path. Every change rebuilds the proposed book in one write unit; a trade the ledger
refuses (selling more than is held, an unknown symbol, a date after the last price) is refused
with its field errors and nothing changes.

A session can be saved as a new account (a copy of the proposed book) or applied to the real
account (the same entries booked on it, all or none).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select

from webapp.extensions import db
from webapp.models import ModellingSession, Portfolio, PriceBar, ProposedTrade
from webapp.models._time import utcnow
from webapp.services import ledger
from webapp.services import management as mgmt
from webapp.services.book_copy import copy_book
from webapp.services.ledger import Conflict, ValidationError
from webapp.services.portfolios import NotOwned
from webapp.services.queries import latest_price_date
from webapp.services.transactions import run_write

#: The entries a session may propose (option expiry/assignment name lots of the real book).
TRADE_KINDS = (
    "buy",
    "sell",
    "short",
    "cover",
    "option_open",
    "option_close",
    "deposit",
    "withdrawal",
)
#: The fields of a proposed entry kept (what ``management.record_entry`` reads).
TRADE_FIELDS = (
    "kind",
    "symbol",
    "position_type",
    "quantity",
    "price",
    "amount",
    "trade_date",
    "fees",
    "underlying_symbol",
    "strike_price",
    "expiration_date",
    "notes",
)
STOCK_KINDS = ("buy", "sell", "short", "cover")
MAX_TRADES = 200
MAX_NAME = 120


def proposal_name(session_id: int, base: Portfolio) -> str:
    """The proposed book's name: unique per advisor (the session id) and never listed."""
    return f"[proposal {session_id}] {base.name}"[:MAX_NAME]


def last_close(symbol: str) -> float | None:
    """The symbol's last stored adjusted close ($), or None."""
    return db.session.scalar(
        select(PriceBar.adj_close)
        .where(PriceBar.symbol == symbol)
        .order_by(PriceBar.date.desc())
        .limit(1)
    )


def user_sessions(user_id: int, *, status: str | None = None) -> list[ModellingSession]:
    """The advisor's sessions, newest first."""
    query = select(ModellingSession).where(ModellingSession.user_id == user_id)
    if status:
        query = query.where(ModellingSession.status == status)
    return list(db.session.scalars(query.order_by(ModellingSession.id.desc())))


def owned_session(session_id: int, user_id: int) -> ModellingSession:
    """The session if ``user_id`` started it; otherwise 404 (``NotOwned``)."""
    session = db.session.get(ModellingSession, session_id) if 0 < session_id < 2**31 else None
    if session is None or session.user_id != user_id:
        raise NotOwned("No such modelling session.")
    return session


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """The entry's known fields, with a kind a session may propose; the date defaults to the
    last price date (the ledger's "today")."""
    if not isinstance(data, dict):
        raise ValidationError({"kind": "Send the trade's fields."})
    kind = str(data.get("kind") or "").strip().lower()
    if kind not in TRADE_KINDS:
        raise ValidationError({"kind": f"Choose one of: {', '.join(TRADE_KINDS)}."})
    clean = {k: data[k] for k in TRADE_FIELDS if data.get(k) not in (None, "")}
    clean["kind"] = kind
    clean.setdefault("trade_date", (latest_price_date() or dt.date.today()).isoformat())
    if kind in STOCK_KINDS and "price" not in clean and isinstance(clean.get("symbol"), str):
        # A stock trade without a price is proposed at the last close (the page's estimate).
        close = last_close(clean["symbol"].strip().upper())
        if close is not None:
            clean["price"] = close
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in clean.items()}


def start_session(portfolio: Portfolio, name: str | None = None) -> ModellingSession:
    """A new session on one of the advisor's accounts, its proposed book equal to the account."""
    if portfolio.kind != "account":
        raise ValidationError(
            {"portfolio_id": "Model trades on an account (a household's trades are its accounts')."}
        )
    title = (name or "").strip() or f"What-if on {portfolio.name}"
    if len(title) > MAX_NAME:
        raise ValidationError({"name": f"At most {MAX_NAME} characters."})

    def unit() -> ModellingSession:
        session = ModellingSession(user_id=portfolio.user_id, portfolio_id=portfolio.id, name=title)
        db.session.add(session)
        db.session.flush()
        book = Portfolio(
            user_id=portfolio.user_id,
            kind="proposal",
            name=proposal_name(session.id, portfolio),
            description=f"Proposed book of modelling session {session.id}",
            benchmark=portfolio.benchmark,
            client_id=portfolio.client_id,
            cash=0.0,
        )
        db.session.add(book)
        db.session.flush()
        session.proposal_id = book.id
        _rebuild(session)
        return session

    return run_write(unit)


def _rebuild(session: ModellingSession) -> None:
    """The proposed book = the account now + every proposed entry, booked in order (one unit:
    a refused entry raises ValidationError naming it, and the caller's unit rolls back)."""
    base, book = session.portfolio, session.proposal
    # Lots entered around the ledger join it first, as the batch would do.
    ledger.adopt(base)
    db.session.flush()
    copy_book(book, [base])
    db.session.info[ledger.PROPOSAL_BOOKING] = True
    try:
        _book_trades(session, book)
    finally:
        db.session.info.pop(ledger.PROPOSAL_BOOKING, None)
    session.updated_at = utcnow()
    db.session.flush()


def _book_trades(session: ModellingSession, book: Portfolio) -> int:
    """Book every proposed entry on ``book`` in order; the ledger rows written. A refusal names
    the trade (its number in the session) in each field message."""
    rows = 0
    for index, trade in enumerate(session.trades, start=1):
        try:
            rows += len(mgmt.record_entry(book, dict(trade.fields), source="manual"))
        except ValidationError as exc:
            errors = {k: f"Trade {index} ({trade.kind}): {v}" for k, v in exc.errors.items()}
            raise type(exc)(errors) from None
    return rows


def _open(session: ModellingSession) -> None:
    if session.status != "open":
        raise Conflict({"session": f"This session was {session.status}; start a new one."})


def add_trade(session: ModellingSession, data: dict[str, Any]) -> ProposedTrade:
    """Propose one more entry; the proposed book is rebuilt with it or nothing changes."""
    _open(session)
    clean = _clean(data)
    if len(session.trades) >= MAX_TRADES:
        raise ValidationError({"kind": f"At most {MAX_TRADES} trades in a session."})

    def unit() -> ProposedTrade:
        trade = ProposedTrade(
            session_id=session.id,
            position=max((t.position for t in session.trades), default=0) + 1,
            kind=clean["kind"],
            fields=clean,
        )
        session.trades.append(trade)
        db.session.flush()
        _rebuild(session)
        return trade

    return _with_session_restored(session, unit)


def update_trade(session: ModellingSession, trade_id: int, data: dict[str, Any]) -> ProposedTrade:
    """Replace one proposed entry's fields (the book is rebuilt, or nothing changes)."""
    _open(session)
    trade = _trade(session, trade_id)
    clean = _clean(data)

    def unit() -> ProposedTrade:
        trade.kind, trade.fields = clean["kind"], clean
        db.session.flush()
        _rebuild(session)
        return trade

    return _with_session_restored(session, unit)


def remove_trade(session: ModellingSession, trade_id: int) -> None:
    """Withdraw one proposed entry (refused if a later one depends on it, e.g. its sale)."""
    _open(session)
    trade = _trade(session, trade_id)

    def unit() -> None:
        session.trades.remove(trade)
        db.session.flush()
        _rebuild(session)

    _with_session_restored(session, unit)


def _trade(session: ModellingSession, trade_id: int) -> ProposedTrade:
    trade = next((t for t in session.trades if t.id == trade_id), None)
    if trade is None:
        raise NotOwned("No such proposed trade.")
    return trade


def _with_session_restored(session: ModellingSession, unit):
    """Run ``unit`` in one write unit; on a refusal the rolled-back ORM state is reloaded."""
    try:
        return run_write(unit)
    except ValidationError:
        db.session.expire_all()
        raise


def refresh(session: ModellingSession) -> None:
    """Rebuild the proposed book from the account as it is now (after trades on the account)."""
    _open(session)
    _with_session_restored(session, lambda: _rebuild(session))


def save_as_portfolio(session: ModellingSession, name: str) -> Portfolio:
    """A new account holding the proposed book (its lots and ledger); the session is 'saved'."""
    _open(session)
    clean = mgmt.validate_portfolio(
        {"name": name, "description": f"Saved from modelling session '{session.name}'",
         "benchmark": session.portfolio.benchmark},
        session.user_id,
    )  # fmt: skip

    def unit() -> Portfolio:
        clean.pop("cash")
        saved = Portfolio(user_id=session.user_id, client_id=session.portfolio.client_id, **clean)
        db.session.add(saved)
        db.session.flush()
        copy_book(saved, [session.proposal])
        session.status, session.closed_at = "saved", utcnow()
        session.saved_portfolio_id = saved.id
        return saved

    return run_write(unit)


def apply_to_portfolio(session: ModellingSession) -> int:
    """Book the session's entries on the real account, all or none (ledger rows added)."""
    _open(session)
    base = session.portfolio

    def unit() -> int:
        rows = _book_trades(session, base)
        session.status, session.closed_at = "applied", utcnow()
        return rows

    return _with_session_restored(session, unit)


def delete_session(session: ModellingSession) -> None:
    """Discard the session and its proposed book (the account is untouched)."""
    book_id = session.proposal_id
    session_id = session.id

    def unit() -> None:
        db.session.execute(delete(ProposedTrade).where(ProposedTrade.session_id == session_id))
        db.session.execute(delete(ModellingSession).where(ModellingSession.id == session_id))

    run_write(unit)
    if book_id is not None:
        book = db.session.get(Portfolio, book_id)
        if book is not None:
            mgmt.delete_book(book)


@dataclass(frozen=True)
class TradeRow:
    """A proposed entry as the trade list and its export show it."""

    id: int
    position: int
    kind: str
    fields: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The entry with its id and order."""
        return {"id": self.id, "position": self.position, "kind": self.kind, **self.fields}


def trade_rows(session: ModellingSession) -> list[TradeRow]:
    """The session's proposed entries in booking order."""
    return [TradeRow(t.id, t.position, t.kind, dict(t.fields)) for t in session.trades]


def session_dict(session: ModellingSession) -> dict:
    """The session's state for the API: base, proposed book, status and trades."""
    return {
        "id": session.id,
        "name": session.name,
        "status": session.status,
        "portfolio_id": session.portfolio_id,
        "proposal_portfolio_id": session.proposal_id,
        "saved_portfolio_id": session.saved_portfolio_id,
        "created_at": session.created_at.isoformat() if session.created_at else None,
        "updated_at": session.updated_at.isoformat() if session.updated_at else None,
        "trades": [t.to_dict() for t in trade_rows(session)],
        "proposed_cash": session.proposal.cash if session.proposal else None,
    }

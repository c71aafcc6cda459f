"""The transactions ledger: the only writer of transactions, of position quantities and of cash.

Positions are the ledger's running state: every write here changes ``transactions``, the lots
(``Position`` rows) and ``portfolios.cash`` together, in one unit of work (``run_write``: all or
nothing), so that at every commit

    Σ transactions.amount == portfolios.cash

and, per instrument (symbol, type, strike, expiry), the opened minus the closed quantities of the
ledger equal the open lots' quantities (``rebuild_check`` proves both).

Amounts
-------
``amount`` is the signed cash effect in dollars, money in positive. With q > 0 the quantity,
p the price per share (per share of the contract for options), m the multiplier, s = +1 for the
long types (LONG, LC, LP) and -1 for the short ones (SHORT, SC, SP) and f the fees:

    opening (buy, short, option_open)    amount = -s · q · p · m - f
    closing (sell, cover, option_close)  amount = +s · q · p · m - f
    option_expire, option_assign         amount = 0 (the option leaves at 0; an assignment's
                                         stock trade at the strike is its own buy/sell/short row)
    deposit, dividend                    amount = +a          withdrawal, fee    amount = -a

Realized P&L, on each closing row, is s · (exit - entry) · q · m - f: a short gains when the price
falls. Opening fees are paid on the opening row (they are in cash, not in a lot's basis).

Closing: FIFO
-------------
A trade that names an instrument (``record_trade`` with sell, cover or option_close) closes the
open lots of that instrument first-in, first-out: oldest ``entry_date`` first, then lowest id,
only lots entered on or before the trade date. The advisor's "Close" on one position
(``reduce_position`` / ``close_position``) names its lot: that lot is closed (specific
identification). Either way a partially closed lot is split: the closed part becomes a new,
closed ``Position`` row (exit date and price, the lot's tags) and the remainder stays open in the
original row; the lot's opening transaction and its funding flow are split in the same
proportion, so every lot has its own opening row with its own quantity. Fees of a trade that
closes several lots are shared pro rata to the quantity each lot gives.

Funding
-------
A position added as an existing holding moved in (``funding="transfer"``, the default of the
position form, the CSV import and the 0003 backfill) is funded by an external flow of its cost
on the same date (a deposit; a withdrawal of the proceeds for shorts and written options), so
cash is unchanged. ``funding="cash"`` buys it with the portfolio's cash.

Rows written before the ledger existed (or by a writer that went around it, e.g. a fixture) are
adopted by ``adopt`` at the start of every ledger write, by the 0003 migration's rule: each lot's
opening (and closing) transaction with zero-sum flows, then one deposit of the cash the ledger
does not explain.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, exists, func, select

from webapp.analytics.constants import SHORT_TYPES
from webapp.extensions import db
from webapp.models import Portfolio, Position, Transaction
from webapp.models._time import utcnow
from webapp.models.ledger import (
    CASH_KINDS,
    CLOSING_KINDS,
    FLOW_KINDS,
    OPENING_KINDS,
)
from webapp.services.queries import latest_price_date
from webapp.services.transactions import run_write

FUNDINGS = ("transfer", "cash")
# Dollar tolerance of the invariants (floating-point sums of cents over thousands of rows).
TOLERANCE = 1e-6
# Quantities closer than this are equal (a float quantity closed in pieces).
QTY_EPS = 1e-9
_CASH_SIGN = {"deposit": 1.0, "dividend": 1.0, "withdrawal": -1.0, "fee": -1.0}
# What a lot is, apart from its quantity: copied when a lot is split, set when one is edited.
LOT_FIELDS = (
    "symbol",
    "position_type",
    "entry_price",
    "entry_date",
    "underlying_symbol",
    "strike_price",
    "expiration_date",
    "multiplier",
    "implied_vol",
    "strategy",
    "notes",
)


class ValidationError(Exception):
    """Field-level problems: ``errors`` maps field name -> message.

    Defined here, the lowest service that refuses input, so the ledger and
    ``services.management`` (which re-exports it under the name every caller uses) share it
    without importing each other.
    """

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Conflict(ValidationError):
    """The request is valid but clashes with the record's state (e.g. closing a closed position)."""


# ---------------------------------------------------------------- instruments and amounts


def sign(position_type: str) -> float:
    """+1 for the long types (LONG, LC, LP), -1 for the short ones (SHORT, SC, SP)."""
    return -1.0 if position_type in SHORT_TYPES else 1.0


def opening_kind(position_type: str) -> str:
    """buy (LONG), short (SHORT) or option_open."""
    return {"LONG": "buy", "SHORT": "short"}.get(position_type, "option_open")


def closing_kind(position_type: str) -> str:
    """sell (LONG), cover (SHORT) or option_close."""
    return {"LONG": "sell", "SHORT": "cover"}.get(position_type, "option_close")


def trade_amount(
    position_type: str,
    quantity: float,
    price: float,
    multiplier: float,
    fees: float = 0.0,
    *,
    opening: bool,
) -> float:
    """Cash effect of a trade: ``-s·q·p·m - f`` opening, ``+s·q·p·m - f`` closing (dollars)."""
    gross = sign(position_type) * abs(quantity) * price * multiplier
    return (-gross if opening else gross) - fees


def realized(
    position_type: str, quantity: float, entry: float, exit_price: float, multiplier: float, fees
) -> float:
    """Realized P&L of closing ``quantity`` of a lot: ``s · (exit - entry) · q · m - f``."""
    return sign(position_type) * (exit_price - entry) * abs(quantity) * multiplier - fees


@dataclass(frozen=True)
class Instrument:
    """What a trade is in: the lots of one instrument are those with the same key."""

    symbol: str
    position_type: str
    multiplier: float = 1.0
    underlying_symbol: str | None = None
    strike_price: float | None = None
    expiration_date: dt.date | None = None

    @classmethod
    def of(cls, position: Position | Transaction) -> Instrument:
        """The instrument a lot or a trade row is in."""
        return cls(
            position.symbol,
            position.position_type,
            position.multiplier or 1.0,
            position.underlying_symbol,
            position.strike_price,
            position.expiration_date,
        )

    @property
    def key(self) -> tuple:
        """(symbol, type, strike, expiry): the FIFO pool."""
        return (self.symbol, self.position_type, self.strike_price, self.expiration_date)


# ---------------------------------------------------------------- checks


def _as_of() -> dt.date:
    """The last price date (trades cannot be dated later); today before any price is stored."""
    return latest_price_date() or dt.date.today()


def _check_date(trade_date: dt.date, errors: dict[str, str], field_name: str = "trade_date"):
    as_of = _as_of()
    if trade_date > as_of:
        errors[field_name] = f"The date cannot be after the last price date ({as_of})."


def _check_trade(quantity: float, price: float, fees: float, errors: dict[str, str]) -> None:
    if not quantity > 0:
        errors["quantity"] = "The quantity must be greater than zero."
    if not price >= 0:
        errors["price"] = "The price cannot be negative."
    if not fees >= 0:
        errors["fees"] = "Fees cannot be negative."


def _refuse(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


# ---------------------------------------------------------------- row builders


def _trade_row(*args: Any, **extra: Any) -> Transaction:
    return Transaction(**_trade_values(*args, **extra))


def _trade_values(
    portfolio_id: int,
    inst: Instrument,
    kind: str,
    trade_date: dt.date,
    quantity: float,
    price: float,
    amount: float,
    **extra: Any,
) -> dict[str, Any]:
    return dict(
        portfolio_id=portfolio_id,
        trade_date=trade_date,
        kind=kind,
        symbol=inst.symbol,
        position_type=inst.position_type,
        quantity=abs(quantity),
        price=price,
        multiplier=inst.multiplier,
        underlying_symbol=inst.underlying_symbol,
        strike_price=inst.strike_price,
        expiration_date=inst.expiration_date,
        amount=amount,
        **extra,
    )


def _flow_row(*args: Any, **extra: Any) -> Transaction:
    return Transaction(**_flow_values(*args, **extra))


def _flow_values(
    portfolio_id: int, trade_date: dt.date, amount: float, source: str, **extra: Any
) -> dict[str, Any]:
    return dict(
        portfolio_id=portfolio_id,
        trade_date=trade_date,
        kind="deposit" if amount >= 0 else "withdrawal",
        amount=amount,
        is_flow=True,
        source=source,
        **extra,
    )


def opening_values(
    portfolio_id: int,
    lot: Any,
    *,
    fees: float = 0.0,
    funding: str = "transfer",
    source: str = "manual",
    notes: str = "",
) -> list[dict[str, Any]]:
    """A lot's opening transaction, plus its funding flow when it was transferred in (values)."""
    inst = Instrument.of(lot)
    amount = trade_amount(
        lot.position_type, lot.quantity, lot.entry_price, inst.multiplier, fees, opening=True
    )
    rows = [
        _trade_values(
            portfolio_id,
            inst,
            opening_kind(lot.position_type),
            lot.entry_date,
            lot.quantity,
            lot.entry_price,
            amount,
            fees=fees,
            position_id=lot.id,
            source=source,
            notes=notes,
        )
    ]
    if funding == "transfer":
        rows.append(
            _flow_values(
                portfolio_id,
                lot.entry_date,
                -amount,
                source,
                position_id=lot.id,
                notes="funding: holding transferred in",
            )
        )
    return rows


def opening_rows(portfolio_id: int, lot: Position, **kwargs: Any) -> list[Transaction]:
    """``opening_values`` as Transaction rows."""
    return [Transaction(**values) for values in opening_values(portfolio_id, lot, **kwargs)]


def _closing_values_of_closed(portfolio_id: int, lot: Any, source: str) -> list[dict[str, Any]]:
    """The closing transaction of a lot closed before the ledger, with its paid-out proceeds."""
    inst = Instrument.of(lot)
    amount = trade_amount(
        lot.position_type, lot.quantity, lot.exit_price or 0.0, inst.multiplier, opening=False
    )
    pnl = realized(
        lot.position_type, lot.quantity, lot.entry_price, lot.exit_price or 0.0, inst.multiplier, 0
    )
    return [
        _trade_values(
            portfolio_id,
            inst,
            closing_kind(lot.position_type),
            lot.exit_date,
            lot.quantity,
            lot.exit_price or 0.0,
            amount,
            realized_pnl=pnl,
            position_id=lot.id,
            source=source,
        ),
        _flow_values(
            portfolio_id,
            lot.exit_date,
            -amount,
            source,
            position_id=lot.id,
            notes="proceeds paid out",
        ),
    ]


def backfill_rows(
    portfolio_id: int, lots: Iterable[Position], cash: float, start: dt.date, source: str
) -> list[Transaction]:
    """The 0003 migration's rule for lots without transactions (see the module docstring)."""
    values = _backfill_values(portfolio_id, lots, cash, start, source)
    return [Transaction(**row) for row in values]


def _backfill_values(
    portfolio_id: int, lots: Iterable[Any], cash: float, start: dt.date, source: str
) -> list[dict[str, Any]]:
    rows = []
    if abs(cash) > TOLERANCE:
        rows.append(_flow_values(portfolio_id, start, cash, source, notes="opening cash"))
    for lot in lots:
        rows.extend(opening_values(portfolio_id, lot, source=source))
        if lot.exit_date is not None:
            rows.extend(_closing_values_of_closed(portfolio_id, lot, source))
    return rows


def backfill_values(portfolio_id: int, lots: list[dict], cash: float, source: str) -> list[dict]:
    """``backfill_rows`` for lots given as ``positions`` column dicts with their ids, as column
    dicts for one Core insert (a 20,000-row import builds no ORM objects)."""
    start = min((lot["entry_date"] for lot in lots), default=None) or _as_of()
    closed = {"exit_date": None, "exit_price": None}  # columns a dict may leave out
    plain = [SimpleNamespace(**(closed | lot)) for lot in lots]  # read like Position rows
    now = utcnow()
    defaults = {"fees": 0.0, "is_flow": False, "notes": "", "created_at": now}
    empty = dict.fromkeys(c.name for c in Transaction.__table__.columns if c.name != "id")
    # Every dict has every column: an executemany takes its parameter names from the first row.
    return [
        empty | row | {k: v for k, v in defaults.items() if row.get(k) is None}
        for row in _backfill_values(portfolio_id, plain, cash, start, source)
    ]


def _ledger_cash(portfolio_id: int) -> float:
    return float(
        db.session.scalar(
            select(func.coalesce(func.sum(Transaction.amount), 0.0)).where(
                Transaction.portfolio_id == portfolio_id
            )
        )
    )


def adopt(portfolio: Portfolio) -> int:
    """Bring lots without transactions and unexplained cash into the ledger (rows added).

    Zero-sum: cash is unchanged. The cash the ledger does not explain becomes a deposit (a
    withdrawal if negative) dated the earliest entry, or the last price date when the ledger
    already had entries.
    """
    had_entries = db.session.scalar(
        select(exists().where(Transaction.portfolio_id == portfolio.id))
    )
    legacy = list(
        db.session.scalars(
            select(Position)
            .where(
                Position.portfolio_id == portfolio.id,
                ~exists().where(Transaction.position_id == Position.id),
            )
            .order_by(Position.entry_date, Position.id)
        )
    )
    unexplained = portfolio.cash - _ledger_cash(portfolio.id)  # legacy lots' rows net to zero
    if not legacy and abs(unexplained) <= TOLERANCE:
        return 0
    if had_entries:
        start = _as_of()
    else:
        start = (
            min((p.entry_date for p in legacy), default=None)
            or (portfolio.created_at or dt.datetime.now()).date()
        )
    rows = backfill_rows(portfolio.id, legacy, unexplained, start, "migration")
    db.session.add_all(rows)  # flushed by the unit's next query (a lot being built waits)
    return len(rows)


def _book(portfolio: Portfolio, rows: list[Transaction]) -> list[Transaction]:
    """Add the rows and move their cash; flushed so ids and sums see them."""
    db.session.add_all(rows)
    portfolio.cash = portfolio.cash + sum(r.amount for r in rows)
    db.session.flush()
    return rows


HOUSEHOLD_READ_ONLY = (
    "This is a household's combined book: it mirrors its accounts. Make the change in the "
    "account it belongs to."
)


PROPOSAL_READ_ONLY = (
    "This is a modelling session's proposed book: change it through the session's trades."
)
#: Set in ``Session.info`` while ``services.modelling`` books a session's trades.
PROPOSAL_BOOKING = "sigmasight.proposal_booking"


def refuse_household(portfolio: Portfolio) -> None:
    """Conflict for a book that mirrors others: a household's combined book (copies of its
    accounts) or a proposed book outside its session's own booking."""
    if portfolio.kind == "household":
        raise Conflict({"portfolio": HOUSEHOLD_READ_ONLY})
    if portfolio.kind == "proposal" and not db.session.info.get(PROPOSAL_BOOKING):
        raise Conflict({"portfolio": PROPOSAL_READ_ONLY})


def _write(portfolio: Portfolio, unit: Callable[[], Any]) -> Any:
    """``unit`` in one write unit, after adopting what predates the ledger."""
    refuse_household(portfolio)

    def whole() -> Any:
        # Without autoflush: a lot the caller is still building (tags set, not added yet) is
        # not the ledger's to adopt.
        with db.session.no_autoflush:
            adopt(portfolio)
        return unit()

    return run_write(whole)


# ---------------------------------------------------------------- opening


def _check_opening(lot: Position, fees: float, funding: str) -> None:
    errors: dict[str, str] = {}
    _check_date(lot.entry_date, errors, "entry_date")
    if funding not in FUNDINGS:
        errors["funding"] = "Choose transfer (a holding moved in) or cash (bought with cash)."
    if not fees >= 0:
        errors["fees"] = "Fees cannot be negative."
    _refuse(errors)


def _open(
    portfolio: Portfolio, lot: Position, fees: float, funding: str, source: str, notes: str
) -> list[Transaction]:
    lot.portfolio = portfolio
    db.session.add(lot)
    db.session.flush()
    return _book(
        portfolio,
        opening_rows(portfolio.id, lot, fees=fees, funding=funding, source=source, notes=notes),
    )


def open_position(
    portfolio: Portfolio,
    lot: Position,
    *,
    fees: float = 0.0,
    funding: str = "cash",
    source: str = "manual",
    notes: str = "",
) -> Position:
    """Add the (unsaved) lot with its opening transaction; ``funding`` as the module says.

    Refused: an entry after the last price date, an unknown funding, negative fees.
    """
    with db.session.no_autoflush:  # the lot is not in the session yet (its tags are)
        _check_opening(lot, fees, funding)
    _write(portfolio, lambda: _open(portfolio, lot, fees, funding, source, notes))
    return lot


# ---------------------------------------------------------------- closing


def _split(lot: Position, take: float) -> Position:
    """Split ``take`` (a magnitude below the lot's) off ``lot`` as a new row; the rest stays."""
    s = sign(lot.position_type)
    with db.session.no_autoflush:  # loading the tags must not flush a half-copied row
        part = Position(portfolio=lot.portfolio, quantity=s * take)
        for name in LOT_FIELDS:
            setattr(part, name, getattr(lot, name))
        part.tags = list(lot.tags)
    fraction = take / abs(lot.quantity)
    lot.quantity = s * (abs(lot.quantity) - take)
    db.session.add(part)
    db.session.flush()
    # The lot's opening row and its funding flow split in the same proportion: each lot keeps
    # its own opening entry, so a later edit or delete of either touches only its own rows.
    for row in db.session.scalars(
        select(Transaction).where(
            Transaction.position_id == lot.id,
            Transaction.kind.in_((*OPENING_KINDS, *FLOW_KINDS)),
        )
    ):
        copy = Transaction(
            **{
                c.name: getattr(row, c.name)
                for c in Transaction.__table__.columns
                if c.name not in ("id", "created_at")
            }
        )
        copy.position_id = part.id
        copy.amount = row.amount * fraction
        copy.fees = row.fees * fraction
        row.amount, row.fees = row.amount - copy.amount, row.fees - copy.fees
        if row.quantity is not None:
            copy.quantity = row.quantity * fraction
            row.quantity = row.quantity - copy.quantity
        db.session.add(copy)
    return part


def _close_lot(
    lot: Position,
    take: float,
    price: float,
    trade_date: dt.date,
    fees: float,
    *,
    kind: str | None = None,
    source: str,
    notes: str = "",
) -> Transaction:
    """Close ``take`` of the lot at ``price``: the closing row, realized P&L, proceeds to cash."""
    closed = lot if abs(abs(lot.quantity) - take) <= QTY_EPS else _split(lot, take)
    closed.exit_date, closed.exit_price = trade_date, price
    inst = Instrument.of(closed)
    kind = kind or closing_kind(lot.position_type)
    # An expiry or an assignment ends the option at 0 with no cash; the stock leg is its own row.
    amount = (
        -fees
        if kind in ("option_expire", "option_assign")
        else trade_amount(lot.position_type, take, price, inst.multiplier, fees, opening=False)
    )
    row = _trade_row(
        lot.portfolio_id,
        inst,
        kind,
        trade_date,
        take,
        price,
        amount,
        fees=fees,
        realized_pnl=realized(
            lot.position_type, take, lot.entry_price, price, inst.multiplier, fees
        ),
        position_id=closed.id,
        source=source,
        notes=notes,
    )
    _book(lot.portfolio, [row])
    return row


def _check_lot(
    lot: Position, quantity: float, price: float, trade_date: dt.date, fees: float
) -> None:
    if not lot.is_open:
        raise Conflict({"exit_date": f"This position was already closed on {lot.exit_date}."})
    errors: dict[str, str] = {}
    _check_trade(quantity, price, fees, errors)
    held = abs(lot.quantity)
    if "quantity" not in errors and quantity > held + QTY_EPS:
        errors["quantity"] = f"Only {held:g} held; cannot close {quantity:g}."
    if trade_date < lot.entry_date:
        errors["trade_date"] = f"The date cannot be before the entry date ({lot.entry_date})."
    else:
        _check_date(trade_date, errors)
    _refuse(errors)


def reduce_position(
    position: Position,
    quantity: float,
    price: float,
    trade_date: dt.date,
    fees: float = 0.0,
    *,
    source: str = "manual",
    notes: str = "",
) -> Transaction:
    """Close ``quantity`` (a magnitude) of this lot at ``price``; proceeds and P&L booked.

    The named lot is closed (specific identification); a partial close splits it (module
    docstring). Refused: a closed lot, a quantity above the lot's, a date before its entry or
    after the last price date, a negative price or fees.
    """
    _check_lot(position, quantity, price, trade_date, fees)
    return _write(
        position.portfolio,
        lambda: _close_lot(position, quantity, price, trade_date, fees, source=source, notes=notes),
    )


def close_position(
    position: Position,
    price: float,
    trade_date: dt.date,
    fees: float = 0.0,
    *,
    source: str = "manual",
    notes: str = "",
) -> Transaction:
    """Close the whole lot (``reduce_position`` with its full quantity)."""
    return reduce_position(
        position, abs(position.quantity), price, trade_date, fees, source=source, notes=notes
    )


def open_lots(portfolio: Portfolio, inst: Instrument | None = None) -> list[Position]:
    """The portfolio's open lots (of one instrument), in FIFO order: entry date, then id."""
    query = select(Position).where(
        Position.portfolio_id == portfolio.id, Position.exit_date.is_(None)
    )
    if inst is not None:
        query = query.where(
            Position.symbol == inst.symbol, Position.position_type == inst.position_type
        )
    lots = db.session.scalars(query.order_by(Position.entry_date, Position.id))
    return [lot for lot in lots if inst is None or Instrument.of(lot).key == inst.key]


def _close_fifo(
    portfolio: Portfolio,
    inst: Instrument,
    quantity: float,
    price: float,
    trade_date: dt.date,
    fees: float,
    *,
    source: str,
    notes: str,
) -> list[Transaction]:
    """Close ``quantity`` of the instrument's lots first-in, first-out (the module docstring)."""
    lots = [lot for lot in open_lots(portfolio, inst) if lot.entry_date <= trade_date]
    held = sum(abs(lot.quantity) for lot in lots)
    if quantity > held + QTY_EPS:
        raise ValidationError(
            {
                "quantity": f"Only {held:g} {inst.symbol} held on {trade_date}; "
                f"cannot close {quantity:g}."
            }
        )
    rows, left = [], quantity
    for lot in lots:
        if left <= QTY_EPS:
            break
        take = min(left, abs(lot.quantity))
        share = fees * take / quantity
        rows.append(_close_lot(lot, take, price, trade_date, share, source=source, notes=notes))
        left -= take
    return rows


def record_trade(
    portfolio: Portfolio,
    kind: str,
    inst: Instrument,
    quantity: float,
    price: float,
    trade_date: dt.date,
    fees: float = 0.0,
    *,
    source: str = "manual",
    notes: str = "",
) -> list[Transaction]:
    """Book a trade: an opening kind adds a lot bought or sold with cash, a closing kind
    (sell, cover, option_close) closes the instrument's lots FIFO."""
    errors: dict[str, str] = {}
    _check_trade(quantity, price, fees, errors)
    _check_date(trade_date, errors)
    expected = (
        {opening_kind(inst.position_type), closing_kind(inst.position_type)}
        if inst.position_type
        else set()
    )
    if kind not in expected:
        errors["kind"] = f"{kind} does not trade a {inst.position_type} position."
    _refuse(errors)
    if kind in OPENING_KINDS:

        def opening() -> list[Transaction]:
            lot = Position(
                symbol=inst.symbol,
                position_type=inst.position_type,
                quantity=sign(inst.position_type) * quantity,
                entry_price=price,
                entry_date=trade_date,
                underlying_symbol=inst.underlying_symbol,
                strike_price=inst.strike_price,
                expiration_date=inst.expiration_date,
                multiplier=inst.multiplier,
                notes="",
            )
            return _open(portfolio, lot, fees, "cash", source, notes)

        return _write(portfolio, opening)
    return _write(
        portfolio,
        lambda: _close_fifo(
            portfolio, inst, quantity, price, trade_date, fees, source=source, notes=notes
        ),
    )


# ---------------------------------------------------------------- option events


def _check_option(position: Position, trade_date: dt.date) -> None:
    if not position.is_option:
        raise ValidationError({"position_id": "Only an option expires or is assigned."})
    _check_lot(position, abs(position.quantity), 0.0, trade_date, 0.0)


def expire_option(
    position: Position, trade_date: dt.date | None = None, *, source: str = "manual"
) -> Transaction:
    """The option expires worthless: it leaves at 0 (amount 0); a long loses its premium, a
    written one keeps it (realized = s · (0 - entry) · q · m)."""
    when = trade_date or position.expiration_date
    _check_option(position, when)
    return _write(
        position.portfolio,
        lambda: _close_lot(
            position, abs(position.quantity), 0.0, when, 0.0, kind="option_expire", source=source
        ),
    )


def assign_option(
    position: Position, trade_date: dt.date | None = None, *, source: str = "manual"
) -> list[Transaction]:
    """Exercise (long) or assignment (written): the option leaves at 0 and q·m shares of the
    underlying trade at the strike as their own row.

    Shares come in for LC and SP (a buy: a new LONG lot); they go out for LP and SC: a sell of
    the long shares held FIFO when they cover the delivery, else a short sale (a new SHORT lot).
    """
    when = trade_date or position.expiration_date
    _check_option(position, when)
    portfolio = position.portfolio
    shares = abs(position.quantity) * (position.multiplier or 100.0)
    strike = position.strike_price
    underlying = position.underlying_symbol

    def unit() -> list[Transaction]:
        rows = [
            _close_lot(
                position,
                abs(position.quantity),
                0.0,
                when,
                0.0,
                kind="option_assign",
                source=source,
            )
        ]
        long_stock = Instrument(underlying, "LONG")
        if position.position_type in ("LC", "SP"):
            rows.extend(_open_stock(portfolio, long_stock, shares, strike, when, source))
        elif sum(abs(lot.quantity) for lot in open_lots(portfolio, long_stock)) >= shares - QTY_EPS:
            rows.extend(
                _close_fifo(
                    portfolio, long_stock, shares, strike, when, 0.0, source=source, notes=""
                )
            )
        else:
            rows.extend(
                _open_stock(
                    portfolio, Instrument(underlying, "SHORT"), shares, strike, when, source
                )
            )
        return rows

    return _write(portfolio, unit)


def _open_stock(
    portfolio: Portfolio,
    inst: Instrument,
    shares: float,
    price: float,
    when: dt.date,
    source: str,
) -> list[Transaction]:
    lot = Position(
        symbol=inst.symbol,
        position_type=inst.position_type,
        quantity=sign(inst.position_type) * shares,
        entry_price=price,
        entry_date=when,
        multiplier=1.0,
        notes="",
    )
    return _open(portfolio, lot, 0.0, "cash", source, "option assignment")


# ---------------------------------------------------------------- cash


def record_cash(
    portfolio: Portfolio,
    kind: str,
    amount: float,
    trade_date: dt.date,
    *,
    symbol: str | None = None,
    source: str = "manual",
    notes: str = "",
) -> Transaction:
    """A deposit, withdrawal, dividend or fee of ``amount`` dollars (a positive magnitude).

    Deposits and withdrawals are external flows (``is_flow``); dividends and fees are the
    portfolio's own income and cost. A withdrawal cannot exceed the cash held.
    """
    errors: dict[str, str] = {}
    if kind not in CASH_KINDS:
        errors["kind"] = f"Choose one of {', '.join(CASH_KINDS)}."
    if not amount > 0:
        errors["amount"] = "The amount must be greater than zero."
    _check_date(trade_date, errors)
    _refuse(errors)

    def unit() -> Transaction:
        if kind == "withdrawal" and amount > portfolio.cash + TOLERANCE:
            raise ValidationError(
                {"amount": f"Only ${portfolio.cash:,.2f} cash; cannot withdraw ${amount:,.2f}."}
            )
        row = Transaction(
            portfolio_id=portfolio.id,
            trade_date=trade_date,
            kind=kind,
            symbol=symbol,
            amount=_CASH_SIGN[kind] * amount,
            is_flow=kind in FLOW_KINDS,
            source=source,
            notes=notes,
        )
        return _book(portfolio, [row])[0]

    return _write(portfolio, unit)


def set_cash(portfolio: Portfolio, cash: float, *, source: str = "manual") -> Transaction | None:
    """Set the cash balance by an external flow of the difference, dated the last price date."""
    difference = cash - portfolio.cash
    if abs(difference) <= TOLERANCE and portfolio.kind == "household":
        return None  # renaming a household: its cash is its accounts'

    def unit() -> Transaction | None:
        if abs(difference) <= TOLERANCE:
            return None
        row = _flow_row(portfolio.id, _as_of(), difference, source, notes="cash balance set")
        return _book(portfolio, [row])[0]

    return _write(portfolio, unit)


# ---------------------------------------------------------------- corrections


def delete_position(position: Position) -> None:
    """Delete a lot entered by mistake with all its transactions; cash is recomputed from the
    remaining ledger (a lot bought with cash gives it back; one transferred in changes nothing)."""
    portfolio = position.portfolio

    def unit() -> None:
        db.session.execute(delete(Transaction).where(Transaction.position_id == position.id))
        db.session.delete(position)
        db.session.flush()
        portfolio.cash = _ledger_cash(portfolio.id)

    _write(portfolio, unit)


_ECONOMICS = (
    "symbol",
    "position_type",
    "quantity",
    "entry_price",
    "entry_date",
    "strike_price",
    "expiration_date",
    "multiplier",
)


def rewrite_opening(position: Position, apply: Callable[[], None]) -> None:
    """Edit a lot: ``apply()`` sets its fields, then its opening row and funding flow are
    rewritten to match (cash moves by the change of a cash-funded opening only).

    A closed lot's economics are in its closing row too: changing them is a Conflict (delete
    the position and enter it again). Refused: an entry after the last price date.
    """
    portfolio = position.portfolio

    def unit() -> None:
        before = tuple(getattr(position, name) for name in _ECONOMICS)
        rows = list(
            db.session.scalars(select(Transaction).where(Transaction.position_id == position.id))
        )
        apply()
        if tuple(getattr(position, name) for name in _ECONOMICS) == before:
            return
        if any(r.kind in CLOSING_KINDS for r in rows):
            raise Conflict(
                {
                    "quantity": "A closed position's quantity, price and dates are in its "
                    "ledger: delete it and enter it again to change them."
                }
            )
        errors: dict[str, str] = {}
        _check_date(position.entry_date, errors, "entry_date")
        _refuse(errors)
        _rewrite_rows(portfolio, position, rows)

    _write(portfolio, unit)


def _rewrite_rows(portfolio: Portfolio, position: Position, rows: list[Transaction]) -> None:
    opening = next((r for r in rows if r.kind in OPENING_KINDS), None)
    flow = next((r for r in rows if r.is_flow), None)
    if opening is None:
        return
    old = opening.amount + (flow.amount if flow is not None else 0.0)
    inst = Instrument.of(position)
    for name in ("symbol", "position_type", "multiplier", "underlying_symbol", "strike_price"):
        setattr(opening, name, getattr(inst, name))
    opening.expiration_date = inst.expiration_date
    opening.kind = opening_kind(position.position_type)
    opening.trade_date, opening.price = position.entry_date, position.entry_price
    opening.quantity = abs(position.quantity)
    opening.amount = trade_amount(
        position.position_type,
        position.quantity,
        position.entry_price,
        inst.multiplier,
        opening.fees,
        opening=True,
    )
    if flow is not None:
        flow.amount, flow.trade_date = -opening.amount, position.entry_date
        flow.kind = "deposit" if flow.amount >= 0 else "withdrawal"
    new = opening.amount + (flow.amount if flow is not None else 0.0)
    portfolio.cash = portfolio.cash + new - old
    db.session.flush()


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class LedgerState:
    """Cash, realized P&L and the open lots, as the ledger has them."""

    portfolio_id: int
    cash: float
    ledger_cash: float
    realized_pnl: float
    external_flows: float
    open_lots: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready: every field, as declared."""
        return dataclasses.asdict(self)


def ledger_state(portfolio: Portfolio) -> LedgerState:
    """The ledger's totals and the open lots (FIFO order)."""
    sums = db.session.execute(
        select(
            func.coalesce(func.sum(Transaction.amount), 0.0),
            func.coalesce(func.sum(Transaction.realized_pnl), 0.0),
            func.coalesce(func.sum(Transaction.amount).filter(Transaction.is_flow.is_(True)), 0.0),
        ).where(Transaction.portfolio_id == portfolio.id)
    ).one()
    lots = [
        {
            "position_id": lot.id,
            "symbol": lot.symbol,
            "position_type": lot.position_type,
            "quantity": lot.quantity,
            "entry_price": lot.entry_price,
            "entry_date": lot.entry_date.isoformat(),
            "multiplier": lot.multiplier,
        }
        for lot in open_lots(portfolio)
    ]
    return LedgerState(
        portfolio.id, portfolio.cash, float(sums[0]), float(sums[1]), float(sums[2]), lots
    )


@dataclass(frozen=True)
class RebuildCheck:
    """Whether the stored state is the ledger's: ``problems`` says what differs."""

    ok: bool
    cash: float
    ledger_cash: float
    problems: tuple[str, ...]


def running_quantities(portfolio: Portfolio) -> dict[tuple, float]:
    """Per instrument key, opened minus closed quantity over the ledger."""
    running: dict[tuple, float] = defaultdict(float)
    for row in db.session.scalars(
        select(Transaction).where(
            Transaction.portfolio_id == portfolio.id,
            Transaction.kind.in_((*OPENING_KINDS, *CLOSING_KINDS)),
        )
    ):
        step = row.quantity if row.kind in OPENING_KINDS else -row.quantity
        running[Instrument.of(row).key] += step
    return {key: qty for key, qty in running.items() if abs(qty) > QTY_EPS}


def rebuild_check(portfolio: Portfolio) -> RebuildCheck:
    """Prove Σ amounts == cash and the open lots' quantities == the ledger's running ones."""
    ledger_cash = _ledger_cash(portfolio.id)
    problems = []
    if abs(ledger_cash - portfolio.cash) > TOLERANCE * max(1.0, abs(portfolio.cash)):
        problems.append(f"cash {portfolio.cash!r} but the ledger sums to {ledger_cash!r}")
    held: dict[tuple, float] = defaultdict(float)
    for lot in open_lots(portfolio):
        held[Instrument.of(lot).key] += abs(lot.quantity)
    running = running_quantities(portfolio)
    for key in sorted(set(held) | set(running), key=repr):
        if abs(held.get(key, 0.0) - running.get(key, 0.0)) > 1e-6:
            problems.append(
                f"{key[0]} {key[1]}: lots hold {held.get(key, 0.0):g}, "
                f"the ledger {running.get(key, 0.0):g}"
            )
    return RebuildCheck(not problems, portfolio.cash, ledger_cash, tuple(problems))


@dataclass(frozen=True)
class TransactionPage:
    """One page of the ledger, newest first, each row with the cash after it."""

    rows: list[dict]
    total: int
    limit: int
    offset: int

    def to_dict(self) -> dict:
        """JSON-ready (the API's shape)."""
        paging = {k: getattr(self, k) for k in ("total", "limit", "offset")}
        return {"transactions": self.rows, "count": len(self.rows), **paging}


def transaction_dict(t: Transaction, running_cash: float | None = None) -> dict:
    """One ledger row as the API and the page show it."""
    return {
        "id": t.id,
        "portfolio_id": t.portfolio_id,
        "trade_date": t.trade_date.isoformat(),
        "kind": t.kind,
        "symbol": t.symbol,
        "position_type": t.position_type,
        "quantity": t.quantity,
        "price": t.price,
        "multiplier": t.multiplier,
        "underlying_symbol": t.underlying_symbol,
        "strike_price": t.strike_price,
        "expiration_date": t.expiration_date.isoformat() if t.expiration_date else None,
        "amount": t.amount,
        "fees": t.fees,
        "realized_pnl": t.realized_pnl,
        "position_id": t.position_id,
        "is_flow": t.is_flow,
        "source": t.source,
        "notes": t.notes,
        "running_cash": running_cash,
    }


def list_transactions(
    portfolio: Portfolio, *, kind: str | None = None, limit: int = 100, offset: int = 0
) -> TransactionPage:
    """The ledger newest first (date, then id), optionally one kind; running cash per row is
    the cash after that row over the whole ledger (a window sum, computed before filtering)."""
    running = (
        func.sum(Transaction.amount)
        .over(order_by=(Transaction.trade_date, Transaction.id))
        .label("running_cash")
    )
    ledger = (
        select(Transaction.id, Transaction.kind, running)
        .where(Transaction.portfolio_id == portfolio.id)
        .subquery()
    )
    query = select(Transaction, ledger.c.running_cash).join(ledger, ledger.c.id == Transaction.id)
    count = select(func.count()).select_from(ledger)
    if kind:
        query = query.where(ledger.c.kind == kind)
        count = count.where(ledger.c.kind == kind)
    rows = db.session.execute(
        query.order_by(Transaction.trade_date.desc(), Transaction.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return TransactionPage(
        [transaction_dict(t, float(cash)) for t, cash in rows],
        int(db.session.scalar(count)),
        limit,
        offset,
    )

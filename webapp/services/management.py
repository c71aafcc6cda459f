"""Create, edit and delete portfolios, positions and tags — one validation for forms and API.

Validation errors carry a field -> message map so a form shows them next to the field and the API
answers 422 with the same map in ``details``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from webapp.analytics import benchmarks
from webapp.analytics.constants import (
    BENCHMARK_SYMBOL,
    OPTION_TYPES,
    POSITION_TYPES,
    SHORT_TYPES,
)
from webapp.extensions import db
from webapp.imports import ParsedOption, neutralize, parse_option_symbol
from webapp.imports.symbols import stock_symbol
from webapp.models import (
    Alert,
    AlertEvent,
    AlertRule,
    AnalyticsResult,
    BatchRun,
    Household,
    HouseholdAccount,
    ModellingSession,
    Portfolio,
    PortfolioSnapshot,
    Position,
    ProposedTrade,
    Report,
    ReportSchedule,
    Tag,
    Transaction,
)
from webapp.models.ledger import CASH_KINDS, OPENING_KINDS, TRANSACTION_KINDS
from webapp.models.portfolios import DEFAULT_TAG_COLOR, position_tags
from webapp.services import ledger
from webapp.services.ledger import Conflict, ValidationError
from webapp.services.queries import known_symbols, latest_price_date
from webapp.services.queueing import cancel_portfolio_runs
from webapp.services.transactions import run_write

MAX_NAME = 120  # Portfolio.name column
MAX_DESCRIPTION = 2000
MAX_STRATEGY = 120  # Position.strategy column
MAX_TAG = 60  # Tag.name column
MAX_IV = 5.0
MAX_STRIKE = 100_000  # the OSI strike field holds 8 digits of thousandths
# Any printable text except the separators a tag list is split on.
TAG_RE = re.compile(r"^[^\x00-\x1f\x7f,;]+$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
OPTION_ROOT_RE = re.compile(r"^[A-Z][A-Z0-9]{0,5}$")
OPTION_KINDS = ("call", "put")
# (option_type or "", long?) -> position type: the form's call/put choice plus the quantity's sign.
_TYPE_FOR = {
    ("", True): "LONG",
    ("", False): "SHORT",
    ("call", True): "LC",
    ("call", False): "SC",
    ("put", True): "LP",
    ("put", False): "SP",
}
POSITION_STATUSES = ("open", "closed", "all")
MAX_BENCHMARK = 200  # Portfolio.benchmark column
# Weights of a blend add up to 1 within this (0.6 + 0.4 in floating point).


def osi_symbol(underlying: str, expiry: dt.date, kind: str, strike: float) -> str:
    """Unpadded OSI option symbol: root + YYMMDD + C|P + strike×1000 in 8 digits."""
    option_type = "call" if kind.upper().startswith("C") else "put"
    return ParsedOption(underlying, expiry, option_type, Decimal(str(strike))).osi


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _number(
    data: dict,
    field: str,
    errors: dict,
    *,
    required: bool = True,
    positive: bool = False,
    minimum: float | None = None,
) -> float | None:
    raw = data.get(field)
    if _blank(raw):
        if required:
            errors[field] = "This field is required."
        return None
    if isinstance(raw, bool):  # JSON true/false would otherwise pass as 1/0
        errors[field] = f"'{raw}' is not a number."
        return None
    try:
        value = float(str(raw).replace(",", "").replace("$", "").strip())
    except ValueError:
        errors[field] = f"'{raw}' is not a number."
        return None
    if not math.isfinite(value):
        errors[field] = "Must be a finite number."
    elif positive and value <= 0:
        errors[field] = "Must be greater than zero."
    elif minimum is not None and value < minimum:
        errors[field] = f"Must be at least {minimum:g}."
    else:
        return value
    return None


def _date(data: dict, field: str, errors: dict, *, required: bool = True) -> dt.date | None:
    raw = data.get(field)
    if _blank(raw):
        if required:
            errors[field] = "This field is required."
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        errors[field] = f"'{raw}' is not a date (YYYY-MM-DD)."
        return None


def _text(
    data: dict, field: str, errors: dict, limit: int | None = None, *, neutral: bool = True
) -> str:
    """Trimmed free text ("" when absent), neutralized so a spreadsheet never runs it as a
    formula (CWE-1236) unless ``neutral`` is False. A list, number or object is an error."""
    value = data.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[field] = "Must be text."
        return ""
    text = neutralize(value.strip()) if neutral else value.strip()
    if limit is not None and len(text) > limit:
        errors[field] = f"At most {limit} characters."
    return text


# ---------------------------------------------------------------- portfolios


def parse_benchmark(raw: Any) -> tuple[str | None, str | None]:
    """(normalized spec, None) or (None, message): a symbol ("SPY") or a fixed-weight blend
    ("SPY:0.6,AGG:0.4"), parsed by the engine that prices it, every symbol in the dataset."""
    if raw is not None and not isinstance(raw, str):
        return None, "Must be text: a symbol or a blend like SPY:0.6,AGG:0.4."
    spec = re.sub(r"\s+", "", raw or "").upper() or BENCHMARK_SYMBOL
    if len(spec) > MAX_BENCHMARK:
        return None, f"At most {MAX_BENCHMARK} characters."
    try:
        parsed = benchmarks.parse_benchmark(spec)
    except benchmarks.BenchmarkSpecError as exc:
        return None, str(exc)
    unknown = [s for s in parsed.symbols if s not in known_symbols()]
    if unknown:
        return None, f"No prices for {', '.join(unknown)} in the dataset."
    return parsed.to_spec(), None


def validate_portfolio(data: dict, user_id: int, *, existing: Portfolio | None = None) -> dict:
    """Clean name/description/cash/benchmark, or ValidationError (names are unique per advisor)."""
    errors: dict[str, str] = {}
    name = _text(data, "name", errors, neutral=False)
    if "name" in errors:
        name = ""
    elif not name:
        errors["name"] = "Give the portfolio a name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"At most {MAX_NAME} characters."
    else:
        clash = db.session.scalar(
            select(Portfolio.id).where(Portfolio.user_id == user_id, Portfolio.name == name)
        )
        if clash is not None and (existing is None or clash != existing.id):
            errors["name"] = f"You already have a portfolio called '{name}'."
    cash = _number(data, "cash", errors, required=False, minimum=0.0)
    description = _text(data, "description", errors, neutral=False)
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = f"At most {MAX_DESCRIPTION} characters."
    benchmark, message = parse_benchmark(data.get("benchmark"))
    if message is not None:
        errors["benchmark"] = message
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "description": description,
        "cash": cash if cash is not None else 0.0,
        "benchmark": benchmark,
    }


def portfolio_errors(data: dict, user_id: int) -> dict[str, str]:
    """The field errors ``validate_portfolio`` finds (empty when valid), for forms that merge
    them with their own (the upload form's file field)."""
    try:
        validate_portfolio(data, user_id)
    except ValidationError as exc:
        return dict(exc.errors)
    return {}


def create_portfolio(user_id: int, data: dict) -> Portfolio:
    """A new, empty portfolio; its starting cash is the ledger's first deposit."""
    clean = validate_portfolio(data, user_id)
    cash = clean.pop("cash")

    def unit() -> Portfolio:
        portfolio = Portfolio(user_id=user_id, cash=0.0, **clean)
        db.session.add(portfolio)
        db.session.flush()
        ledger.set_cash(portfolio, cash)
        return portfolio

    return run_write(unit)


def update_portfolio(portfolio: Portfolio, data: dict, *, source: str = "manual") -> Portfolio:
    """Rename / re-describe / set cash or benchmark; fields absent from ``data`` keep their value.

    A new cash balance is booked as an external flow of the difference (``ledger.set_cash``).
    """
    merged = {
        "name": portfolio.name,
        "description": portfolio.description,
        "cash": portfolio.cash,
        "benchmark": portfolio.benchmark,
    }
    merged.update({k: v for k, v in data.items() if k in merged})
    clean = validate_portfolio(merged, portfolio.user_id, existing=portfolio)
    cash = clean.pop("cash")

    def unit() -> None:
        for key, value in clean.items():
            setattr(portfolio, key, value)
        ledger.set_cash(portfolio, cash, source=source)

    run_write(unit)
    return portfolio


def delete_portfolio(portfolio: Portfolio) -> None:
    """Delete the portfolio, its positions and everything calculated for it, with its modelling
    sessions and their proposed books.

    Its queued or running batch is cancelled first, so no job writes for it after the delete.
    A proposed book goes with its session only (``modelling.delete_session``): Conflict here.
    """
    if portfolio.kind == "proposal":
        raise Conflict(
            {"portfolio": "This is a modelling session's proposed book: discard the session."}
        )
    sessions = db.session.execute(
        select(ModellingSession.id, ModellingSession.proposal_id).where(
            ModellingSession.portfolio_id == portfolio.id
        )
    ).all()
    books = [portfolio.id, *(book for _, book in sessions if book is not None)]
    for book_id in books:
        cancel_portfolio_runs(book_id)

    def unit() -> None:
        # Explicit as well as ON DELETE CASCADE: the rows go in this transaction whatever the
        # database's foreign-key settings. Set-based: the ORM cascade sent a tag lookup and a
        # DELETE per position (20,000 statements, 8 s holding SQLite's write lock, for a big book).
        session_ids = [sid for sid, _ in sessions]
        db.session.execute(delete(ProposedTrade).where(ProposedTrade.session_id.in_(session_ids)))
        db.session.execute(delete(ModellingSession).where(ModellingSession.id.in_(session_ids)))
        for book_id in books:
            _delete_book_rows(book_id)

    run_write(unit)


def delete_book(book: Portfolio) -> None:
    """Delete one book's rows (a proposed book, once its session is gone)."""
    cancel_portfolio_runs(book.id)
    book_id = book.id
    run_write(lambda: _delete_book_rows(book_id))


def _delete_book_rows(portfolio_id: int) -> None:
    positions = select(Position.id).where(Position.portfolio_id == portfolio_id)
    db.session.execute(delete(position_tags).where(position_tags.c.position_id.in_(positions)))
    alerts = select(Alert.id).where(Alert.portfolio_id == portfolio_id)
    db.session.execute(delete(AlertEvent).where(AlertEvent.alert_id.in_(alerts)))
    db.session.execute(
        delete(HouseholdAccount).where(
            (HouseholdAccount.portfolio_id == portfolio_id)
            | (HouseholdAccount.household_id == portfolio_id)
        )
    )
    for model in (
        ReportSchedule,
        Report,
        Alert,
        AlertRule,
        Household,
        AnalyticsResult,
        PortfolioSnapshot,
        BatchRun,
        Transaction,
        Position,
    ):
        db.session.execute(delete(model).where(model.portfolio_id == portfolio_id))
    db.session.execute(delete(Portfolio).where(Portfolio.id == portfolio_id))


# ---------------------------------------------------------------- positions


@dataclass(frozen=True)
class PositionInput:
    """A validated position: the quantity is signed (negative for SHORT, SC and SP)."""

    symbol: str
    position_type: str
    quantity: float
    entry_price: float
    entry_date: dt.date
    underlying_symbol: str | None
    strike_price: float | None
    expiration_date: dt.date | None
    multiplier: float
    implied_vol: float | None
    strategy: str | None
    notes: str
    tags: tuple[str, ...]

    @property
    def price_symbol(self) -> str:
        """The symbol whose prices value the position (the underlying for options)."""
        return self.underlying_symbol or self.symbol


@dataclass(frozen=True)
class _Instrument:
    position_type: str
    symbol: str
    underlying: str | None = None
    strike: float | None = None
    expiry: dt.date | None = None


def parse_tags(raw: Any) -> tuple[str, ...]:
    """Tag names from a list or a ';'/','-separated string: trimmed, de-duplicated, order kept."""
    if raw is None:
        return ()
    items = raw if isinstance(raw, (list, tuple)) else re.split(r"[;,]", str(raw))
    seen: list[str] = []
    for item in items:
        name = neutralize(str(item).strip())
        if name and name not in seen:
            seen.append(name)
    return tuple(seen)


def _tag_errors(names: tuple[str, ...]) -> str | None:
    bad = [n for n in names if len(n) > MAX_TAG or not TAG_RE.match(n)]
    if bad:
        return f"Invalid tag(s): {', '.join(bad)} (1–{MAX_TAG} characters, no ',' or ';')."
    return None


def _position_type(data: dict, quantity: float | None, errors: dict) -> str | None:
    """Explicit ``position_type``, else call/put (``option_type``) plus the quantity's sign."""
    explicit = str(data.get("position_type") or "").strip().upper()
    if explicit:
        if explicit not in POSITION_TYPES:
            errors["position_type"] = f"Choose one of {', '.join(POSITION_TYPES)}."
            return None
        if quantity is not None and quantity < 0 and explicit not in SHORT_TYPES:
            errors["quantity"] = (
                "A long position needs a positive quantity; a negative quantity "
                "means short (SHORT, SC or SP)."
            )
        return explicit
    kind = str(data.get("option_type") or "").strip().lower()
    if kind not in ("", *OPTION_KINDS):
        errors["option_type"] = "Choose stock, call or put."
        return None
    if kind == "" and (parsed := parse_option_symbol(str(data.get("symbol") or ""))) is not None:
        kind = parsed.option_type  # an OSI symbol typed as the ticker, as the CSV import allows
    # Without a usable quantity, check the instrument as if long so every field error shows at once.
    return _TYPE_FOR[(kind, quantity is None or quantity > 0)]


def _option(data: dict, ptype: str, errors: dict) -> _Instrument | None:
    """Underlying, strike and expiry from their fields, or from an OSI symbol in ``symbol``."""
    underlying = str(data.get("underlying_symbol") or "").strip().upper()
    parsed = None if underlying else parse_option_symbol(str(data.get("symbol") or ""))
    if parsed is not None:
        fields = {
            "underlying_symbol": parsed.underlying,
            "strike_price": str(parsed.strike),
            "expiration_date": parsed.expiry,
        }
        if parsed.option_type != ("call" if ptype[1] == "C" else "put"):
            errors["symbol"] = f"{parsed.osi} is a {parsed.option_type}, not a {ptype}."
    else:
        fields = data
    underlying = str(fields.get("underlying_symbol") or "").strip().upper()
    if not OPTION_ROOT_RE.match(underlying):
        errors["underlying_symbol"] = (
            "Enter the underlying's ticker (1–6 letters or digits), e.g. AAPL."
        )
    strike = _number(fields, "strike_price", errors, positive=True)
    thousandths = Decimal(str(strike)) * 1000 if strike is not None else None
    if thousandths is not None and (
        strike >= MAX_STRIKE or thousandths != thousandths.to_integral_value()
    ):
        errors["strike_price"] = f"A strike below {MAX_STRIKE:,} in whole tenths of a cent."
        strike = None
    expiry = _date(fields, "expiration_date", errors)
    if errors:
        return None
    kind = ptype[1]
    return _Instrument(
        ptype, osi_symbol(underlying, expiry, kind, strike), underlying, strike, expiry
    )


def _instrument(data: dict, quantity: float | None, errors: dict) -> _Instrument | None:
    ptype = _position_type(data, quantity, errors)
    if ptype is None:
        return None
    if ptype in OPTION_TYPES:
        return _option(data, ptype, errors)
    raw = str(data.get("symbol") or "")
    symbol = stock_symbol(raw)
    if symbol is None:
        hint = " That is an option symbol: choose call or put." if parse_option_symbol(raw) else ""
        errors["symbol"] = "Enter a ticker like AAPL or BRK-B." + hint
        return None
    return _Instrument(ptype, symbol)


def _check_market_data(inst: _Instrument, errors: dict, allowed: str | None) -> None:
    price_symbol = inst.underlying or inst.symbol
    if price_symbol == allowed or price_symbol in known_symbols():
        return
    as_of = latest_price_date()
    field = "underlying_symbol" if inst.underlying else "symbol"
    errors[field] = (
        f"No market data for {price_symbol}"
        + (f" (prices end {as_of})" if as_of else "")
        + "; run a price sync or choose a covered symbol."
    )


def validate_position(data: dict, *, unpriced_ok: str | None = None) -> PositionInput:
    """Check a position's fields (all errors at once); the quantity's sign follows the type.

    ``unpriced_ok`` is a price symbol accepted without market data (an existing position's own,
    e.g. one imported before its prices arrived, must stay editable).
    """
    errors: dict[str, str] = {}
    quantity = _number(data, "quantity", errors)
    if quantity == 0:
        errors["quantity"] = "Quantity cannot be zero."
        quantity = None
    inst = _instrument(data, quantity, errors)
    if (
        quantity is not None
        and inst is not None
        and inst.position_type in OPTION_TYPES
        and not float(quantity).is_integer()
    ):
        errors["quantity"] = "An option quantity is a whole number of contracts."
    entry_price = _number(data, "entry_price", errors, minimum=0.0)
    entry_date = _date(data, "entry_date", errors)
    if entry_date and entry_date > dt.date.today():
        errors["entry_date"] = "The entry date cannot be in the future."
    if inst and inst.expiry and entry_date and inst.expiry < entry_date:
        errors["expiration_date"] = "The option cannot expire before its entry date."
    implied_vol = _number(data, "implied_vol", errors, required=False, positive=True)
    if implied_vol is not None and implied_vol > MAX_IV:
        errors["implied_vol"] = "Give implied volatility as a decimal (0.25 = 25%), at most 5."
    strategy = _text(data, "strategy", errors, MAX_STRATEGY) or None
    notes = _text(data, "notes", errors)
    tags = parse_tags(data.get("tags"))
    if (tag_error := _tag_errors(tags)) is not None:
        errors["tags"] = tag_error
    if inst is not None and not ({"symbol", "underlying_symbol"} & errors.keys()):
        _check_market_data(inst, errors, unpriced_ok)
    if errors or inst is None:
        raise ValidationError(errors or {"position_type": "Choose the kind of position."})
    signed = -abs(quantity) if inst.position_type in SHORT_TYPES else abs(quantity)
    return PositionInput(
        symbol=inst.symbol,
        position_type=inst.position_type,
        quantity=signed,
        entry_price=entry_price,
        entry_date=entry_date,
        underlying_symbol=inst.underlying,
        strike_price=inst.strike,
        expiration_date=inst.expiry,
        multiplier=100.0 if inst.underlying else 1.0,
        implied_vol=implied_vol,
        strategy=strategy,
        notes=notes,
        tags=tags,
    )


def position_fields(position: Position) -> dict[str, Any]:
    """A stored position as the input fields ``validate_position`` takes (form prefill, PATCH)."""
    kind = (
        {"C": "call", "P": "put"}.get(position.position_type[1:2], "") if position.is_option else ""
    )
    return {
        "option_type": kind,
        "symbol": position.symbol,
        "quantity": position.quantity,
        "entry_price": position.entry_price,
        "entry_date": position.entry_date,
        "underlying_symbol": position.underlying_symbol or "",
        "strike_price": position.strike_price,
        "expiration_date": position.expiration_date,
        "implied_vol": position.implied_vol,
        "strategy": position.strategy or "",
        "notes": position.notes or "",
        "tags": [t.name for t in position.tags],
    }


def tags_by_name(user_id: int, names: tuple[str, ...] | list[str]) -> list[Tag]:
    """The user's tags with these names, creating missing ones (not committed)."""
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.user_id == user_id))}
    out = []
    for name in names:
        if name not in existing:
            existing[name] = Tag(user_id=user_id, name=name)
            db.session.add(existing[name])
        out.append(existing[name])
    return out


def _apply(position: Position, clean: PositionInput, user_id: int) -> None:
    for key in ("quantity", *ledger.LOT_FIELDS):
        setattr(position, key, getattr(clean, key))
    position.tags = tags_by_name(user_id, clean.tags)


FUNDING_NOTE = (
    "transfer: an existing holding moved in (funded by a deposit of its cost; cash unchanged), "
    "cash: bought with the portfolio's cash"
)


@contextmanager
def _fields(**names: str) -> Iterator[None]:
    """Name the ledger's refusals after this caller's fields (``trade_date`` -> ``exit_date``)."""
    try:
        yield
    except ValidationError as exc:
        exc.errors = {names.get(k, k): v for k, v in exc.errors.items()}
        raise


def _funding(data: dict, errors: dict) -> str:
    funding = str(data.get("funding") or "transfer").strip().lower()
    if funding not in ledger.FUNDINGS:
        errors["funding"] = "Choose transfer (a holding moved in) or cash (bought with cash)."
    return funding


def add_position(portfolio: Portfolio, data: dict, *, source: str = "manual") -> Position:
    """Validate and add one position with its opening transaction (tags are created as needed).

    ``funding`` (default "transfer") and optional ``fees`` say how the ledger pays for it; see
    ``FUNDING_NOTE``.
    """
    errors: dict[str, str] = {}
    funding = _funding(data, errors)
    fees = _number(data, "fees", errors, required=False, minimum=0.0) or 0.0
    try:
        clean = validate_position(data)
    except ValidationError as exc:
        raise ValidationError(errors | exc.errors) from None
    if errors:
        raise ValidationError(errors)
    position = Position()
    with db.session.no_autoflush:  # the tag lookup must not flush a half-filled position
        _apply(position, clean, portfolio.user_id)
    return ledger.open_position(portfolio, position, fees=fees, funding=funding, source=source)


def update_position(position: Position, data: dict, *, partial: bool = False) -> Position:
    """Replace the position's fields (``partial``: only those in ``data``; PATCH semantics).

    Its opening transaction and funding flow are rewritten to match (``ledger.rewrite_opening``).
    """
    if partial:
        merged = position_fields(position)
        if "position_type" in data and "quantity" not in data:
            # The stored sign belongs to the old type; the new type decides it.
            merged["quantity"] = abs(position.quantity)
        data = merged | data
    clean = validate_position(data, unpriced_ok=position.price_symbol)

    def apply() -> None:
        with db.session.no_autoflush:
            _apply(position, clean, position.portfolio.user_id)

    ledger.rewrite_opening(position, apply)
    return position


def close_position(position: Position, data: dict, *, source: str = "manual") -> Position:
    """Close all (or ``quantity`` of) the position at ``exit_price`` on ``exit_date``.

    The proceeds go to cash and the realized P&L is booked (``ledger.reduce_position``); a
    partial close leaves the rest open in this position and returns the closed part.
    """
    if position.exit_date is not None:
        raise Conflict({"exit_date": f"This position was already closed on {position.exit_date}."})
    errors: dict[str, str] = {}
    exit_date = _date(data, "exit_date", errors)
    exit_price = _number(data, "exit_price", errors, minimum=0.0)
    quantity = _number(data, "quantity", errors, required=False, positive=True)
    fees = _number(data, "fees", errors, required=False, minimum=0.0) or 0.0
    if exit_date and exit_date < position.entry_date:
        errors["exit_date"] = (
            f"The exit date cannot be before the entry date ({position.entry_date})."
        )
    elif exit_date and exit_date > dt.date.today():
        errors["exit_date"] = "The exit date cannot be in the future."
    if errors:
        raise ValidationError(errors)
    with _fields(trade_date="exit_date", price="exit_price"):
        row = ledger.reduce_position(
            position,
            abs(position.quantity) if quantity is None else quantity,
            exit_price,
            exit_date,
            fees,
            source=source,
        )
    return db.session.get(Position, row.position_id)


def delete_position(position: Position) -> None:
    """Remove a position entered by mistake with its transactions; cash is recomputed from the
    remaining ledger (its tag links go; the tags stay)."""
    ledger.delete_position(position)


# ---------------------------------------------------------------- ledger entries

ENTRY_KINDS = TRANSACTION_KINDS
_OPTION_EVENTS = {"option_expire": ledger.expire_option, "option_assign": ledger.assign_option}


def _cash_entry(portfolio: Portfolio, kind: str, data: dict, source: str) -> list[Transaction]:
    errors: dict[str, str] = {}
    amount = _number(data, "amount", errors, positive=True)
    trade_date = _date(data, "trade_date", errors)
    symbol = str(data.get("symbol") or "").strip().upper() or None
    if symbol is not None and stock_symbol(symbol) is None:
        errors["symbol"] = "Enter a ticker like AAPL (or leave it empty)."
    notes = _text(data, "notes", errors, MAX_DESCRIPTION)
    if errors:
        raise ValidationError(errors)
    return [
        ledger.record_cash(
            portfolio, kind, amount, trade_date, symbol=symbol, source=source, notes=notes
        )
    ]


def _trade_entry(portfolio: Portfolio, kind: str, data: dict, source: str) -> list[Transaction]:
    """buy/short/option_open open a lot with cash; sell/cover/option_close close lots FIFO."""
    errors: dict[str, str] = {}
    quantity = _number(data, "quantity", errors, positive=True)
    price = _number(data, "price", errors, minimum=0.0)
    trade_date = _date(data, "trade_date", errors)
    fees = _number(data, "fees", errors, required=False, minimum=0.0) or 0.0
    notes = _text(data, "notes", errors, MAX_DESCRIPTION)
    stock_type = {"buy": "LONG", "sell": "LONG", "short": "SHORT", "cover": "SHORT"}.get(kind)
    ptype = stock_type or str(data.get("position_type") or "").strip().upper()
    if ptype not in POSITION_TYPES or (stock_type is None and ptype not in OPTION_TYPES):
        errors["position_type"] = "An option trade names its type: LC, LP, SC or SP."
        ptype = None
    inst = _instrument(data | {"position_type": ptype}, None, errors) if ptype else None
    if errors or inst is None:
        raise ValidationError(errors or {"symbol": "Enter the instrument."})
    instrument = ledger.Instrument(
        inst.symbol,
        ptype,
        100.0 if inst.underlying else 1.0,
        inst.underlying,
        inst.strike,
        inst.expiry,
    )
    if kind in OPENING_KINDS:
        _check_market_data(inst, errors, None)
        if errors:
            raise ValidationError(errors)
    return ledger.record_trade(
        portfolio, kind, instrument, quantity, price, trade_date, fees, source=source, notes=notes
    )


def _option_event(portfolio: Portfolio, kind: str, data: dict, source: str) -> list[Transaction]:
    errors: dict[str, str] = {}
    position_id = _number(data, "position_id", errors)
    trade_date = _date(data, "trade_date", errors, required=False)
    position = (
        owned_position(portfolio, int(position_id))
        if position_id is not None and position_id.is_integer()
        else None
    )
    if position is None and "position_id" not in errors:
        errors["position_id"] = "Name one of this portfolio's option positions."
    if errors:
        raise ValidationError(errors)
    rows = _OPTION_EVENTS[kind](position, trade_date, source=source)
    return rows if isinstance(rows, list) else [rows]


def record_entry(portfolio: Portfolio, data: dict, *, source: str = "api") -> list[Transaction]:
    """One ledger entry from form or JSON fields: ``kind`` decides which fields it takes.

    deposit/withdrawal/dividend/fee: amount, trade_date, symbol (dividends), notes;
    buy/sell/short/cover and option_open/option_close: symbol (or the option's underlying,
    strike, expiry), position_type for options, quantity, price, trade_date, fees, notes;
    option_expire/option_assign: position_id, trade_date (default: the expiry).
    """
    kind = str(data.get("kind") or "").strip().lower()
    if kind in CASH_KINDS:
        return _cash_entry(portfolio, kind, data, source)
    if kind in _OPTION_EVENTS:
        return _option_event(portfolio, kind, data, source)
    if kind in ENTRY_KINDS:
        return _trade_entry(portfolio, kind, data, source)
    raise ValidationError({"kind": f"Choose one of {', '.join(ENTRY_KINDS)}."})


def user_position(user_id: int, position_id: int) -> Position | None:
    """The position if it is in one of ``user_id``'s portfolios, else None."""
    position = db.session.get(Position, position_id)
    if position is None or db.session.get(Portfolio, position.portfolio_id).user_id != user_id:
        return None
    return position


def owned_position(portfolio: Portfolio, position_id: int) -> Position | None:
    """The position if it belongs to ``portfolio``, else None."""
    position = db.session.get(Position, position_id)
    if position is None or position.portfolio_id != portfolio.id:
        return None
    return position


def list_positions(
    portfolio: Portfolio,
    *,
    status: str = "open",
    tag: str | None = None,
    strategy: str | None = None,
) -> list[Position]:
    """The portfolio's positions by status (open, closed, all), optionally one tag or strategy."""
    return find_positions([portfolio.id], status=status, tag=tag, strategy=strategy)


def find_positions(
    portfolio_ids: list[int],
    *,
    status: str = "open",
    tag: str | None = None,
    strategy: str | None = None,
    position_type: str | None = None,
    symbol: str | None = None,
) -> list[Position]:
    """Positions of these portfolios by status, optionally one tag, strategy, type or symbol
    (a symbol matches the position's own or its underlying), ordered by portfolio then id."""
    query = (
        select(Position)
        .where(Position.portfolio_id.in_(portfolio_ids))
        .order_by(Position.portfolio_id, Position.id)
    )
    if position_type:
        query = query.where(Position.position_type == position_type)
    if symbol:
        query = query.where((Position.symbol == symbol) | (Position.underlying_symbol == symbol))
    if status == "open":
        query = query.where(Position.exit_date.is_(None))
    elif status == "closed":
        query = query.where(Position.exit_date.is_not(None))
    if tag:
        query = query.where(Position.tags.any(Tag.name == tag))
    if strategy:
        query = query.where(Position.strategy == strategy)
    return list(db.session.scalars(query))


# ---------------------------------------------------------------- tags


def user_tags(user_id: int) -> list[Tag]:
    """The advisor's tags, by name."""
    return list(db.session.scalars(select(Tag).where(Tag.user_id == user_id).order_by(Tag.name)))


def owned_tag(user_id: int, tag_id: int) -> Tag | None:
    """The tag if ``user_id`` owns it, else None."""
    tag = db.session.get(Tag, tag_id)
    return tag if tag is not None and tag.user_id == user_id else None


def create_tag(user_id: int, data: dict) -> Tag:
    """A new tag; the name is unique per advisor."""
    errors: dict[str, str] = {}
    name = _text(data, "name", errors)
    # Only a missing colour takes the default; an empty one is a mistake to point out.
    color = _text(data, "color", errors, neutral=False) if "color" in data else DEFAULT_TAG_COLOR
    if "name" in errors:
        name = ""
    elif not name:
        errors["name"] = "Give the tag a name."
    elif (message := _tag_errors((name,))) is not None:
        errors["name"] = message
    elif db.session.scalar(select(Tag.id).where(Tag.user_id == user_id, Tag.name == name)):
        errors["name"] = f"The tag '{name}' already exists."
    if not COLOR_RE.match(color):
        errors["color"] = "A colour like #4c78a8."
    if errors:
        raise ValidationError(errors)
    tag = Tag(user_id=user_id, name=name, color=color)
    db.session.add(tag)
    db.session.commit()
    return tag


def set_position_tags(position: Position, raw: Any) -> Position:
    """Replace the position's tags with the named ones (missing tags are created)."""
    ledger.refuse_household(position.portfolio)
    names = parse_tags(raw)
    if (message := _tag_errors(names)) is not None:
        raise ValidationError({"tags": message})
    with db.session.no_autoflush:
        position.tags = tags_by_name(position.portfolio.user_id, names)
    db.session.commit()
    return position


def delete_tag(tag: Tag) -> None:
    """Delete the tag; its positions stay, untagged."""
    tag_id = tag.id

    def unit() -> None:
        # Set-based: through the ORM, removing the links first loads every tagged position.
        db.session.execute(delete(position_tags).where(position_tags.c.tag_id == tag_id))
        db.session.execute(delete(Tag).where(Tag.id == tag_id))

    run_write(unit)

"""Create, edit and delete portfolios, positions and tags — one validation for forms and API.

Validation errors carry a field -> message map so a form shows them next to the field and the API
answers 422 with the same map in ``details``.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import OPTION_TYPES, POSITION_TYPES, SHORT_TYPES, Portfolio, Position, Tag
from webapp.services.queries import known_symbols, latest_price_date

SYMBOL_RE = re.compile(r"^[A-Z][A-Z0-9]{0,5}([.\-][A-Z0-9]{1,2})?$")
TAG_RE = re.compile(r"^[\w .&/+-]{1,60}$")


class ValidationError(Exception):
    """Field-level problems: ``errors`` maps field name -> message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def osi_symbol(underlying: str, expiry: dt.date, kind: str, strike: float) -> str:
    """Unpadded OSI option symbol: root + YYMMDD + C|P + strike×1000 in 8 digits."""
    return f"{underlying}{expiry:%y%m%d}{kind}{round(strike * 1000):08d}"


def _number(data: dict, field: str, errors: dict, *, required=True, positive=False, minimum=None):
    raw = data.get(field)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors[field] = "This field is required."
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
    return value


def _date(data: dict, field: str, errors: dict, *, required=True) -> dt.date | None:
    raw = data.get(field)
    if raw in (None, ""):
        if required:
            errors[field] = "This field is required."
        return None
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        errors[field] = f"'{raw}' is not a date (YYYY-MM-DD)."
        return None


# ---------------------------------------------------------------- portfolios


def validate_portfolio(data: dict, user_id: int, *, existing: Portfolio | None = None) -> dict:
    errors: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the portfolio a name."
    elif len(name) > 120:
        errors["name"] = "At most 120 characters."
    else:
        clash = db.session.scalar(
            select(Portfolio.id).where(Portfolio.user_id == user_id, Portfolio.name == name)
        )
        if clash is not None and (existing is None or clash != existing.id):
            errors["name"] = f"You already have a portfolio called '{name}'."
    cash = _number(data, "cash", errors, required=False, minimum=0.0)
    description = str(data.get("description") or "").strip()
    if len(description) > 2000:
        errors["description"] = "At most 2000 characters."
    if errors:
        raise ValidationError(errors)
    return {"name": name, "description": description, "cash": cash if cash is not None else 0.0}


def create_portfolio(user_id: int, data: dict) -> Portfolio:
    clean = validate_portfolio(data, user_id)
    portfolio = Portfolio(user_id=user_id, **clean)
    db.session.add(portfolio)
    db.session.commit()
    return portfolio


def update_portfolio(portfolio: Portfolio, data: dict) -> Portfolio:
    merged = {"name": portfolio.name, "description": portfolio.description, "cash": portfolio.cash}
    merged.update({k: v for k, v in data.items() if k in merged})
    clean = validate_portfolio(merged, portfolio.user_id, existing=portfolio)
    for key, value in clean.items():
        setattr(portfolio, key, value)
    db.session.commit()
    return portfolio


def delete_portfolio(portfolio: Portfolio) -> None:
    db.session.delete(portfolio)
    db.session.commit()


# ---------------------------------------------------------------- positions


@dataclass(frozen=True)
class PositionInput:
    symbol: str
    position_type: str
    quantity: float  # signed
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


def parse_tags(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, (list, tuple)) else re.split(r"[;,]", str(raw))
    seen: list[str] = []
    for item in items:
        name = str(item).strip()
        if name and name not in seen:
            seen.append(name)
    return tuple(seen)


def validate_position(data: dict, *, require_market_data: bool = True) -> PositionInput:
    """Check a position's fields; the quantity's sign follows the position type."""
    errors: dict[str, str] = {}
    ptype = str(data.get("position_type") or "").strip().upper()
    if ptype not in POSITION_TYPES:
        errors["position_type"] = f"Choose one of {', '.join(POSITION_TYPES)}."
    quantity = _number(data, "quantity", errors)
    if quantity is not None and "quantity" not in errors and quantity == 0:
        errors["quantity"] = "Quantity cannot be zero."
    entry_price = _number(data, "entry_price", errors, minimum=0.0)
    entry_date = _date(data, "entry_date", errors)
    as_of = latest_price_date()
    if entry_date and entry_date > dt.date.today():
        errors["entry_date"] = "The entry date cannot be in the future."
    implied_vol = _number(data, "implied_vol", errors, required=False, positive=True)
    if implied_vol is not None and "implied_vol" not in errors and implied_vol > 5:
        errors["implied_vol"] = "Give implied volatility as a decimal (0.25 = 25%), at most 5."
    strategy = str(data.get("strategy") or "").strip() or None
    notes = str(data.get("notes") or "").strip()
    tags = parse_tags(data.get("tags"))
    bad_tags = [t for t in tags if not TAG_RE.match(t)]
    if bad_tags:
        errors["tags"] = f"Invalid tag(s): {', '.join(bad_tags)} (letters, digits, spaces, . & / + -)."
    underlying = strike = expiry = None
    multiplier = 1.0
    symbol = str(data.get("symbol") or "").strip().upper()
    if ptype in OPTION_TYPES:
        underlying = str(data.get("underlying_symbol") or "").strip().upper()
        if not SYMBOL_RE.match(underlying):
            errors["underlying_symbol"] = "Enter the underlying's ticker, e.g. AAPL."
        strike = _number(data, "strike_price", errors, positive=True)
        expiry = _date(data, "expiration_date", errors)
        multiplier = 100.0
        if not errors:
            symbol = osi_symbol(underlying, expiry, ptype[1], strike)
        price_symbol = underlying
    else:
        if not SYMBOL_RE.match(symbol):
            errors["symbol"] = "Enter a ticker like AAPL or BRK-B."
        price_symbol = symbol
    if require_market_data and "symbol" not in errors and "underlying_symbol" not in errors:
        if price_symbol and price_symbol not in known_symbols():
            field = "underlying_symbol" if ptype in OPTION_TYPES else "symbol"
            errors[field] = (
                f"No market data for {price_symbol}"
                + (f" (prices end {as_of})" if as_of else "")
                + "; run a price sync or choose a covered symbol."
            )
    if errors:
        raise ValidationError(errors)
    signed = -abs(quantity) if ptype in SHORT_TYPES else abs(quantity)
    return PositionInput(
        symbol=symbol, position_type=ptype, quantity=signed, entry_price=entry_price,
        entry_date=entry_date, underlying_symbol=underlying, strike_price=strike,
        expiration_date=expiry, multiplier=multiplier, implied_vol=implied_vol,
        strategy=strategy, notes=notes, tags=tags,
    )


def tags_by_name(user_id: int, names: tuple[str, ...]) -> list[Tag]:
    """The user's tags with these names, creating missing ones."""
    existing = {
        t.name: t for t in db.session.scalars(select(Tag).where(Tag.user_id == user_id))
    }
    out = []
    for name in names:
        if name not in existing:
            existing[name] = Tag(user_id=user_id, name=name)
            db.session.add(existing[name])
        out.append(existing[name])
    return out


def _apply(position: Position, clean: PositionInput, user_id: int) -> None:
    for key in ("symbol", "position_type", "quantity", "entry_price", "entry_date",
                "underlying_symbol", "strike_price", "expiration_date", "multiplier",
                "implied_vol", "strategy", "notes"):
        setattr(position, key, getattr(clean, key))
    position.tags = tags_by_name(user_id, clean.tags)


def add_position(portfolio: Portfolio, data: dict) -> Position:
    clean = validate_position(data)
    position = Position(portfolio_id=portfolio.id)
    _apply(position, clean, portfolio.user_id)
    db.session.add(position)
    db.session.commit()
    return position


def update_position(position: Position, data: dict) -> Position:
    clean = validate_position(data)
    _apply(position, clean, position.portfolio.user_id)
    db.session.commit()
    return position


def close_position(position: Position, data: dict) -> Position:
    """Record the exit: the position leaves the open book but keeps its history."""
    errors: dict[str, str] = {}
    exit_date = _date(data, "exit_date", errors)
    exit_price = _number(data, "exit_price", errors, minimum=0.0)
    if exit_date and exit_date < position.entry_date:
        errors["exit_date"] = "The exit date cannot be before the entry date."
    if exit_date and exit_date > dt.date.today():
        errors["exit_date"] = "The exit date cannot be in the future."
    if position.exit_date is not None:
        errors["exit_date"] = f"This position was already closed on {position.exit_date}."
    if errors:
        raise ValidationError(errors)
    position.exit_date, position.exit_price = exit_date, exit_price
    db.session.commit()
    return position


def delete_position(position: Position) -> None:
    db.session.delete(position)
    db.session.commit()


def owned_position(portfolio: Portfolio, position_id: int) -> Position | None:
    position = db.session.get(Position, position_id)
    if position is None or position.portfolio_id != portfolio.id:
        return None
    return position


# ---------------------------------------------------------------- tags


def user_tags(user_id: int) -> list[Tag]:
    return list(db.session.scalars(select(Tag).where(Tag.user_id == user_id).order_by(Tag.name)))


def create_tag(user_id: int, data: dict) -> Tag:
    name = str(data.get("name") or "").strip()
    color = str(data.get("color") or "#4c78a8").strip()
    errors = {}
    if not TAG_RE.match(name):
        errors["name"] = "1–60 characters: letters, digits, spaces, . & / + -"
    elif db.session.scalar(select(Tag.id).where(Tag.user_id == user_id, Tag.name == name)):
        errors["name"] = f"The tag '{name}' already exists."
    if not re.match(r"^#[0-9a-fA-F]{6}$", color):
        errors["color"] = "A colour like #4c78a8."
    if errors:
        raise ValidationError(errors)
    tag = Tag(user_id=user_id, name=name, color=color)
    db.session.add(tag)
    db.session.commit()
    return tag


def delete_tag(tag: Tag) -> None:
    db.session.delete(tag)
    db.session.commit()

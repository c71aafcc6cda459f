"""One candidate line to an accepted position or to the list of everything wrong with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from webapp.imports.asof import AsOf
from webapp.imports.cells import CellError, clean, is_missing, neutralize, parse_date, parse_decimal
from webapp.imports.layouts import Candidate
from webapp.imports.options import ParsedOption, parse_option_symbol, parse_tos_option
from webapp.imports.report import AcceptedRow, warning
from webapp.imports.symbols import looks_like_fixed_income, stock_symbol

MAX_TAG = 60  # Tag.name column
MAX_STRATEGY = 120  # Position.strategy column
MAX_IV = Decimal(5)  # same bound as the position form
_OPTION_TYPES = {
    ("call", True): "LC",
    ("put", True): "LP",
    ("call", False): "SC",
    ("put", False): "SP",
}

_PRICE_STEP = Decimal("0.000001")

DuplicateKey = tuple[Any, ...]
_T = TypeVar("_T")


class _Errors(list[dict[str, Any]]):
    def add(self, field: str, code: str, message: str, value: str | None) -> None:
        # Values are echoed for the preview; long cells (a swallowed disclaimer) are cut.
        self.append({"field": field, "code": code, "message": message, "value": clean(value)[:100]})

    def parsed(
        self, field: str, parse: Callable[[str | None], _T | None], raw: str | None, missing: str
    ) -> _T | None:
        """``parse(raw)``; on None the field's error is recorded (the parser's, or ``missing``)."""
        try:
            value = parse(raw)
        except CellError as exc:
            self.add(field, exc.code, exc.message, raw)
            return None
        if value is None:
            self.add(field, "missing_value", missing, raw)
        return value


def _instrument(c: Candidate, errors: _Errors) -> tuple[str | None, ParsedOption | None]:
    raw = clean(c.ticker)
    if c.unsupported:
        errors.add("ticker", "unsupported_security", c.unsupported, raw)
        return None, None
    if c.option is not None:
        return c.option.osi, c.option
    if is_missing(raw):
        errors.add("ticker", "missing_value", "The ticker is empty.", raw)
        return None, None
    stock = stock_symbol(raw)
    if stock:
        return stock, None
    option = parse_option_symbol(raw)
    if option is not None:
        return option.osi, option
    if parse_tos_option(raw):
        errors.add(
            "ticker",
            "invalid_symbol",
            f"'{raw}' is a thinkorswim option without its underlying; write it as an OSI symbol "
            "such as AAPL270115C00250000.",
            raw,
        )
    elif looks_like_fixed_income(raw):
        errors.add(
            "ticker",
            "unsupported_security",
            f"'{raw}' looks like a bond, bill or CD; fixed income cannot be held in SigmaSight.",
            raw,
        )
    else:
        errors.add(
            "ticker",
            "invalid_symbol",
            f"'{raw}' is neither a ticker (e.g. AAPL, BRK.B) nor an option symbol "
            "(e.g. AAPL270115C00250000).",
            raw,
        )
    return None, None


def _quantity(c: Candidate, option: ParsedOption | None, errors: _Errors) -> Decimal | None:
    value = errors.parsed("quantity", parse_decimal, c.quantity, "The quantity is empty.")
    if value is None:
        return None
    if value == 0:
        errors.add(
            "quantity",
            "zero_quantity",
            "The quantity is zero; only open positions can be imported.",
            c.quantity,
        )
        return None
    if option is not None and value != value.to_integral_value():
        errors.add(
            "quantity",
            "invalid_number",
            "An option quantity is a whole number of contracts.",
            c.quantity,
        )
        return None
    return value


def _price(
    c: Candidate, quantity: Decimal | None, option: ParsedOption | None, errors: _Errors
) -> Decimal | None:
    missing = f"{c.price_label} is empty or N/A; an entry price is never guessed."
    value = errors.parsed("entry_price", parse_decimal, c.price, missing)
    if value is None:
        return None
    if c.price_is_total:
        # Schwab's Cost Basis is the position's total (signed like the quantity for shorts).
        if quantity is None:
            return None
        per_share = abs(value) / abs(quantity) / (100 if option is not None else 1)
        return per_share.quantize(_PRICE_STEP)  # a derived price: six decimals, not float noise
    if value < 0:
        errors.add("entry_price", "negative_price", "The entry price cannot be negative.", c.price)
        return None
    return value


def _future_date_message(value: dt.date, as_of: AsOf) -> str:
    if not as_of.from_prices:
        return f"The entry date {value.isoformat()} is after today."
    # Both dates named: the advisor sees a date that may be in the past by the calendar.
    return (
        f"The entry date {value.isoformat()} is after {as_of.date.isoformat()}, the last day "
        "with stored prices: a position cannot be valued before its prices exist. Correct the "
        "date, or import the file once prices have been updated."
    )


def _entry_date(
    c: Candidate, as_of: AsOf, errors: _Errors, notes: list[dict[str, str]]
) -> dt.date | None:
    if c.date is None:  # the layout has no acquisition date: statement or as-of date, warned
        if c.default_date_warning:
            notes.append(c.default_date_warning)
        value = c.default_date
        if value is None:
            errors.add("entry_date", "missing_value", "The entry date is empty.", "")
            return None
    else:
        value = errors.parsed("entry_date", parse_date, c.date, "The entry date is empty.")
        if value is None:
            return None
    if value is not None and value > as_of.date:
        errors.add(
            "entry_date",
            "future_date",
            _future_date_message(value, as_of),
            c.date if c.date is not None else value.isoformat(),
        )
        return None
    return value


def _implied_vol(c: Candidate, errors: _Errors) -> float | None:
    raw = clean(c.implied_vol)
    if is_missing(raw):
        return None
    message = "Give implied volatility as a decimal (0.25 = 25%) above 0 and at most 5."
    try:
        value = parse_decimal(raw[:-1] if raw.endswith("%") else raw)
    except CellError:
        errors.add("implied_vol", "invalid_number", message, raw)
        return None
    if value is not None and raw.endswith("%"):
        value /= 100
    if value is None or not 0 < value <= MAX_IV:
        errors.add("implied_vol", "invalid_number", message, raw)
        return None
    return float(value)


def _text(raw: str, limit: int | None, label: str, notes: list[dict[str, str]]) -> str:
    text = neutralize(clean(raw))
    if limit is not None and len(text) > limit:
        notes.append(warning("value_truncated", f"The {label} was cut to {limit} characters."))
        text = text[:limit]
    return text


def _tags(raw: str, notes: list[dict[str, str]]) -> list[str]:
    tags: list[str] = []
    for part in raw.split(";"):
        if clean(part):
            tag = _text(part, MAX_TAG, f"tag '{clean(part)[:20]}'", notes)
            if tag not in tags:  # a position links each tag once
                tags.append(tag)
    return tags


def check_candidate(
    c: Candidate, as_of: AsOf
) -> tuple[AcceptedRow | None, list[dict[str, Any]], DuplicateKey | None]:
    """The accepted row, or every field error of the line; plus the row's duplicate key.

    Dates are judged by ``as_of`` (the last stored price date, or today without prices): an
    entry after it is rejected, an option expiring before it is accepted as expired.
    """
    errors = _Errors()
    notes: list[dict[str, str]] = list(c.warnings)
    symbol, option = _instrument(c, errors)
    quantity = _quantity(c, option, errors)
    price = _price(c, quantity, option, errors)
    entry_date = _entry_date(c, as_of, errors, notes)
    iv = _implied_vol(c, errors)
    if c.price_warning:
        notes.append(c.price_warning)
    if errors or symbol is None or quantity is None or price is None or entry_date is None:
        return None, errors, None
    if option is not None and option.expiry < as_of.date:
        notes.append(
            warning("option_expired", f"This option expired on {option.expiry.isoformat()}.")
        )
    long = quantity > 0
    row = AcceptedRow(
        line=c.line,
        symbol=symbol,
        asset_type="option" if option else "stock",
        position_type=_OPTION_TYPES[(option.option_type, long)]
        if option
        else ("LONG" if long else "SHORT"),
        quantity=float(quantity),
        entry_price=float(price),
        entry_date=entry_date,
        tags=_tags(c.tags, notes),
        underlying=option.underlying if option else None,
        expiry=option.expiry if option else None,
        option_type=option.option_type if option else None,
        strike=float(option.strike) if option else None,
        strategy=_text(c.strategy, MAX_STRATEGY, "strategy", notes) or None,
        notes=_text(c.notes, None, "notes", notes),
        iv=iv,
        warnings=notes,
        market_value=float(c.market_value) if c.market_value is not None else None,
    )
    return row, errors, (c.account, symbol, quantity, price, entry_date)

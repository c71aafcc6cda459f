"""One candidate line to an accepted position or to the list of everything wrong with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from functools import cache
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


Instrument = tuple[str | None, ParsedOption | None]


def _instrument(c: Candidate, errors: _Errors) -> Instrument:
    if c.unsupported:
        errors.add("ticker", "unsupported_security", c.unsupported, clean(c.ticker))
        return None, None
    if c.option is not None:
        return c.option.osi, c.option
    return _ticker(c.ticker, errors)


def _ticker(text: str, errors: _Errors) -> Instrument:
    """The symbol (and option) a ticker cell names, or its error."""
    raw = clean(text)
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


def _quantity(text: str, is_option: bool, errors: _Errors) -> Decimal | None:
    value = errors.parsed("quantity", parse_decimal, text, "The quantity is empty.")
    if value is None:
        return None
    if value == 0:
        errors.add(
            "quantity",
            "zero_quantity",
            "The quantity is zero; only open positions can be imported.",
            text,
        )
        return None
    if is_option and value != value.to_integral_value():
        errors.add(
            "quantity",
            "invalid_number",
            "An option quantity is a whole number of contracts.",
            text,
        )
        return None
    return value


@cache
def _missing_price(label: str) -> str:
    return f"{label} is empty or N/A; an entry price is never guessed."


def _price_cell(text: str | None, label: str, errors: _Errors) -> Decimal | None:
    return errors.parsed("entry_price", parse_decimal, text, _missing_price(label))


def _per_share_price(text: str | None, label: str, errors: _Errors) -> Decimal | None:
    value = _price_cell(text, label, errors)
    if value is not None and value < 0:
        errors.add("entry_price", "negative_price", "The entry price cannot be negative.", text)
        return None
    return value


def _total_price(
    c: Candidate, quantity: Decimal | None, option: ParsedOption | None, errors: _Errors
) -> Decimal | None:
    # Schwab's Cost Basis is the position's total (signed like the quantity for shorts).
    value = _price_cell(c.price, c.price_label, errors)
    if value is None or quantity is None:
        return None
    per_share = abs(value) / abs(quantity) / (100 if option is not None else 1)
    return per_share.quantize(_PRICE_STEP)  # a derived price: six decimals, not float noise


def _future_date_message(value: dt.date, as_of: AsOf) -> str:
    if not as_of.from_prices:
        return f"The entry date {value.isoformat()} is after today."
    # Both dates named: the advisor sees a date that may be in the past by the calendar.
    return (
        f"The entry date {value.isoformat()} is after {as_of.date.isoformat()}, the last day "
        "with stored prices: a position cannot be valued before its prices exist. Correct the "
        "date, or import the file once prices have been updated."
    )


def _default_date(
    c: Candidate, as_of: AsOf, errors: _Errors, notes: list[dict[str, str]]
) -> dt.date | None:
    """The entry date of a layout without acquisition dates: statement or as-of date, warned."""
    if c.default_date_warning:
        notes.append(c.default_date_warning)
    value = c.default_date
    if value is None:
        errors.add("entry_date", "missing_value", "The entry date is empty.", "")
        return None
    if value > as_of.date:
        errors.add(
            "entry_date", "future_date", _future_date_message(value, as_of), value.isoformat()
        )
        return None
    return value


def _entry_date(text: str, as_of: AsOf, errors: _Errors) -> dt.date | None:
    """A row's own entry date cell."""
    value = errors.parsed("entry_date", parse_date, text, "The entry date is empty.")
    if value is not None and value > as_of.date:
        errors.add("entry_date", "future_date", _future_date_message(value, as_of), text)
        return None
    return value


def _implied_vol(text: str, errors: _Errors) -> float | None:
    raw = clean(text)
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


_Found = tuple[dict[str, Any], ...]  # the errors or warnings a field check added


class _Memo(dict[Any, tuple[Any, _Found]]):
    """Cell text -> (value, errors or warnings found) of one field check, run once per text."""

    def __init__(self, check: Callable[[Any, list[dict[str, Any]]], Any]):
        super().__init__()
        self.check = check

    def __missing__(self, key: Any) -> tuple[Any, _Found]:
        found = _Errors()
        hit = self[key] = (self.check(key, found), tuple(found))
        return hit


def _take(hit: tuple[_T, _Found], out: list[dict[str, Any]]) -> _T:
    """A memoised field's value; copies of what its check found are added to ``out``."""
    value, found = hit
    if found:
        out.extend([dict(entry) for entry in found])
    return value


class RowChecker:
    """``check`` for the candidates of one file, in order.

    A holdings file repeats its cells: a few dozen tickers, dates and tag lists over thousands of
    lines. Each distinct ticker, date, implied vol, tag list and strategy text is checked once per
    file and its outcome (the value and the field's errors or warnings) reused, so a repeated cell
    costs a lookup instead of a parse. The memos live as long as the checker (one validation);
    the errors and warnings a row gets from them are its own copies.
    """

    def __init__(self, as_of: AsOf):
        self.as_of = as_of
        self._tickers = _Memo(_ticker)
        self._dates = _Memo(lambda text, found: _entry_date(text, as_of, found))
        self._ivs = _Memo(_implied_vol)
        self._tags = _Memo(_tags)
        self._strategies = _Memo(lambda text, found: _text(text, MAX_STRATEGY, "strategy", found))

    def check(
        self, c: Candidate
    ) -> tuple[AcceptedRow | None, list[dict[str, Any]], DuplicateKey | None]:
        """The accepted row, or every field error of the line; plus the row's duplicate key.

        Dates are judged by ``as_of`` (the last stored price date, or today without prices): an
        entry after it is rejected, an option expiring before it is accepted as expired.
        """
        as_of = self.as_of
        errors = _Errors()
        notes: list[dict[str, str]] = list(c.warnings)
        if c.unsupported or c.option is not None:
            symbol, option = _instrument(c, errors)
        else:
            symbol, option = _take(self._tickers[c.ticker], errors)
        # Quantities and prices are rarely repeated: parsed per row (parse_decimal's fast path).
        quantity = _quantity(c.quantity, option is not None, errors)
        if c.price_is_total:
            price = _total_price(c, quantity, option, errors)
        else:
            price = _per_share_price(c.price, c.price_label, errors)
        if c.date is None:
            entry_date = _default_date(c, as_of, errors, notes)
        else:
            entry_date = _take(self._dates[c.date], errors)
        iv = _take(self._ivs[c.implied_vol], errors)
        if c.price_warning:
            notes.append(c.price_warning)
        if errors or symbol is None or quantity is None or price is None or entry_date is None:
            return None, errors, None
        long = quantity > 0
        if option is None:
            position_type = "LONG" if long else "SHORT"
            underlying = expiry = option_type = strike = None
        else:
            if option.expiry < as_of.date:
                notes.append(
                    warning(
                        "option_expired", f"This option expired on {option.expiry.isoformat()}."
                    )
                )
            position_type = _OPTION_TYPES[(option.option_type, long)]
            underlying, expiry, option_type = option.underlying, option.expiry, option.option_type
            strike = float(option.strike)
        row = AcceptedRow(
            line=c.line,
            symbol=symbol,
            asset_type="option" if option else "stock",
            position_type=position_type,
            quantity=float(quantity),
            entry_price=float(price),
            entry_date=entry_date,
            # tags, strategy, then notes: their warnings (cut to length) come in this order
            tags=list(_take(self._tags[c.tags], notes)),
            underlying=underlying,
            expiry=expiry,
            option_type=option_type,
            strike=strike,
            strategy=_take(self._strategies[c.strategy], notes) or None,
            notes=_text(c.notes, None, "notes", notes),  # free text: rarely repeated
            iv=iv,
            warnings=notes,
            market_value=float(c.market_value) if c.market_value is not None else None,
        )
        return row, errors, (c.account, symbol, quantity, price, entry_date)

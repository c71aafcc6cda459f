"""Trade lists: target-vs-current comparison or explicit trades, as broker-style orders."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from webapp.imports import neutralize, parse_option_symbol
from webapp.imports.symbols import stock_symbol
from webapp.models import Portfolio
from webapp.services import queries
from webapp.services.exports import _number
from webapp.services.management import ValidationError
from webapp.services.market_views import last_bars
from webapp.services.positions import positions_view

# ------------------------------------------------------------------------------------------------
# Trade lists
# ------------------------------------------------------------------------------------------------
ACTIONS = ("BUY", "SELL", "SELL_SHORT", "BUY_TO_COVER")
TRADE_COLUMNS = ("Action", "Symbol", "Quantity", "Order Type", "Est. Price", "Est. Value")
_ACTION_ORDER = {"SELL": 0, "BUY_TO_COVER": 1, "SELL_SHORT": 2, "BUY": 3}
MAX_TRADE_ROWS = 1000


def _symbol(raw: Any, field: str, errors: dict[str, str]) -> str | None:
    """Normalised stock ticker (BRK.B -> BRK-B) or unpadded OSI option symbol."""
    if not isinstance(raw, str) or not raw.strip():
        errors[field] = "A symbol (text) is required."
        return None
    option = parse_option_symbol(raw)
    if option is not None:
        return option.osi
    symbol = stock_symbol(raw)
    if symbol is None:
        errors[field] = f"'{raw[:40]}' is neither a ticker nor an OSI option symbol."
    return symbol


def _quantity(
    raw: Any, field: str, errors: dict[str, str], *, allow_negative: bool
) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        errors[field] = "A number is required."
        return None
    if raw == 0 and not allow_negative:
        errors[field] = "The quantity must be greater than zero."
        return None
    if raw < 0 and not allow_negative:
        errors[field] = "The quantity must be positive; the side says buy or sell."
        return None
    return float(raw)


def _rows(payload: dict, key: str, errors: dict[str, str]) -> list[dict]:
    rows = payload.get(key)
    if not isinstance(rows, list) or not rows:
        errors[key] = "A non-empty list is required."
        return []
    if len(rows) > MAX_TRADE_ROWS:
        errors[key] = f"At most {MAX_TRADE_ROWS} rows."
        return []
    bad = [i for i, r in enumerate(rows) if not isinstance(r, dict)]
    for i in bad:
        errors[f"{key}[{i}]"] = "Each row is an object."
    return [r for r in rows if isinstance(r, dict)] if not bad else []


def _targets(payload: dict, errors: dict[str, str]) -> dict[str, float]:
    targets: dict[str, float] = {}
    for i, row in enumerate(_rows(payload, "target", errors)):
        symbol = _symbol(row.get("symbol"), f"target[{i}].symbol", errors)
        quantity = _quantity(
            row.get("quantity"), f"target[{i}].quantity", errors, allow_negative=True
        )
        if symbol in targets:
            errors[f"target[{i}].symbol"] = f"{symbol} is listed twice."
        elif symbol is not None and quantity is not None:
            targets[symbol] = quantity
    return targets


def _orders_from_target(current: dict[str, float], targets: dict[str, float], close_unlisted: bool):
    """(action, symbol, quantity) legs taking each position from current to target."""
    symbols = set(targets) | (set(current) if close_unlisted else set())
    legs = []
    for s in symbols:
        have, want = current.get(s, 0.0), targets.get(s, 0.0)
        if want == have:
            continue
        if want > have:
            if have < 0:  # cover the short first, then go long with the rest
                legs.append(("BUY_TO_COVER", s, min(want, 0.0) - have))
            if want > 0:
                legs.append(("BUY", s, want - max(have, 0.0)))
        else:
            if have > 0:
                legs.append(("SELL", s, have - max(want, 0.0)))
            if want < 0:
                legs.append(("SELL_SHORT", s, min(have, 0.0) - want))
    return [leg for leg in legs if leg[2] > 0]


def _explicit_orders(payload: dict, errors: dict[str, str]):
    legs = []
    for i, row in enumerate(_rows(payload, "trades", errors)):
        symbol = _symbol(row.get("symbol"), f"trades[{i}].symbol", errors)
        side = row.get("side")
        if not isinstance(side, str) or side.upper() not in ACTIONS:
            errors[f"trades[{i}].side"] = f"The side must be one of {', '.join(ACTIONS)}."
        quantity = _quantity(
            row.get("quantity"), f"trades[{i}].quantity", errors, allow_negative=False
        )
        if symbol and isinstance(side, str) and side.upper() in ACTIONS and quantity:
            legs.append((side.upper(), symbol, quantity))
    return legs


def _check_symbols(
    legs: list[tuple[str, str, float]], held: set[str], errors: dict[str, str]
) -> None:
    """Stocks need stored prices; options must be whole contracts."""
    known = queries.known_symbols()
    for _, symbol, quantity in legs:
        option = parse_option_symbol(symbol) if symbol not in known else None
        if option is None and symbol not in known and symbol not in held:
            errors.setdefault(
                f"symbol:{symbol}", f"No stored prices for {symbol}; it cannot be priced."
            )
        if option is not None and quantity != int(quantity):
            errors.setdefault(f"symbol:{symbol}", "Options trade in whole contracts.")


def trade_list(portfolio: Portfolio, payload: dict) -> list[dict]:
    """Broker-style orders: from ``target`` quantities (vs current holdings) or explicit ``trades``.

    ``target`` is the complete desired book: open positions it does not list are closed, unless
    ``close_unlisted`` is false. Raises ``ValidationError`` (field -> message) for bad input.
    """
    errors: dict[str, str] = {}
    has_target, has_trades = "target" in payload, "trades" in payload
    if has_target == has_trades:
        raise ValidationError({"body": "Send exactly one of 'target' or 'trades'."})
    view = positions_view(portfolio)
    current: dict[str, float] = {}
    prices: dict[str, tuple[float | None, float]] = {}
    for r in view.rows:
        current[r["symbol"]] = current.get(r["symbol"], 0.0) + float(r["quantity"])
        prices[r["symbol"]] = (r["price"], float(r["multiplier"] or 1.0))
    if has_target:
        close_unlisted = payload.get("close_unlisted", True)
        if not isinstance(close_unlisted, bool):
            errors["close_unlisted"] = "true or false."
        targets = _targets(payload, errors)
        legs = _orders_from_target(current, targets, close_unlisted is not False)
    else:
        legs = _explicit_orders(payload, errors)
    _check_symbols(legs, set(current), errors)
    if errors:
        raise ValidationError(errors)
    last = last_bars({s for _, s, _ in legs if s not in prices}, view.as_of)
    out = []
    for action, symbol, quantity in sorted(legs, key=lambda leg: (_ACTION_ORDER[leg[0]], leg[1])):
        price, multiplier = prices.get(
            symbol, (last[symbol][0][1] if symbol in last else None, 1.0)
        )
        if symbol not in prices and parse_option_symbol(symbol) is not None:
            price, multiplier = None, 100.0  # an option not held has no model price here
        out.append(
            {
                "Action": action,
                "Symbol": symbol,
                "Quantity": quantity,
                "Order Type": "MARKET",
                "Est. Price": price,
                "Est. Value": quantity * price * multiplier if price is not None else None,
            }
        )
    return out


def trades_csv(rows: list[dict]) -> str:
    """The trade list as CSV with broker-style columns; text cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TRADE_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                neutralize(r["Action"]),
                neutralize(r["Symbol"]),
                _number(r["Quantity"]),
                r["Order Type"],
                "" if r["Est. Price"] is None else f"{r['Est. Price']:.4f}",
                "" if r["Est. Value"] is None else f"{r['Est. Value']:.2f}",
            ]
        )
    return buffer.getvalue()

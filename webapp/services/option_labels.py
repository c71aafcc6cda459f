"""Positions and options in words: "AAPL Oct 16 '26 320 Call", "Short put", "realized 60-day
volatility of AAPL", "expired" — derived from the stored option fields (underlying, expiry,
strike, type) or, where a row carries only its symbol, from the OSI symbol itself.

Pure functions (no app, no database): the positions service writes them into its rows and the
Jinja filters (``webapp.formatting``) use them on rows of other results (the stress detail).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from decimal import Decimal

from webapp.analytics.constants import CALL_TYPES, OPTION_TYPES
from webapp.imports.options import parse_option_symbol

TYPE_WORDS = {
    "LONG": "Long",
    "SHORT": "Short",
    "LC": "Long call",
    "LP": "Long put",
    "SC": "Short call",
    "SP": "Short put",
}
# The valuation's vol source codes (analytics.exposures._option_vols): "implied" or
# "realized_<N>d".
_REALIZED = re.compile(r"realized_(\d+)d")
# VIF thresholds the Factors page flags a factor row at (VIF = 1 / (1 - R²) of the factor on
# the others): above 5 most of its variance is explained by the others; above 10 its beta is
# unreliable (the usual rule of thumb).
VIF_ELEVATED = 5.0
VIF_COLLINEAR = 10.0


def type_words(position_type: str | None) -> str:
    """'Long call' for LC, 'Short put' for SP, 'Long' / 'Short' for shares; unknown codes as is."""
    if not position_type:
        return "—"
    return TYPE_WORDS.get(str(position_type).upper(), str(position_type))


def _strike_text(strike) -> str:
    """320 for 320.0, 322.5 for 322.5 (no trailing zeros, no dollar sign: a strike)."""
    value = Decimal(repr(float(strike))).normalize()
    return f"{value:f}"


def _as_date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def option_name(underlying: str, expiry, strike, position_type: str) -> str:
    """The contract in words: ``AAPL Oct 16 '26 320 Call`` (underlying, expiry, strike, right)."""
    day = _as_date(expiry)
    right = "Call" if str(position_type).upper() in CALL_TYPES else "Put"
    when = f"{day:%b} {day.day} '{day:%y}" if day else "no expiry"
    return f"{underlying} {when} {_strike_text(strike)} {right}"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def position_name(row: Mapping) -> str:
    """A position's readable name: the symbol for shares, the contract in words for an option.

    Uses the row's ``underlying``, ``expiry`` and ``strike`` when it has them, else parses the
    OSI symbol (as stored by the imports and the position form); an option whose symbol cannot
    be read keeps its symbol.
    """
    symbol = row.get("symbol") or ""
    ptype = str(row.get("position_type") or "").upper()
    if ptype not in OPTION_TYPES:
        return symbol
    underlying, expiry, strike = row.get("underlying"), row.get("expiry"), row.get("strike")
    if not underlying or _as_date(expiry) is None or _missing(strike):
        parsed = parse_option_symbol(symbol)
        if parsed is None:
            return symbol
        underlying = underlying or parsed.underlying
        expiry = expiry if _as_date(expiry) else parsed.expiry
        strike = parsed.strike if _missing(strike) else strike
    return option_name(underlying, expiry, strike, ptype)


def vol_source_words(code: str | None, underlying: str | None = None) -> str:
    """The vol an option was priced at, in words.

    ``implied`` → "implied volatility entered with the position"; ``realized_60d`` → "realized
    60-day volatility of AAPL".
    """
    if not code:
        return "—"
    if code == "implied":
        return "implied volatility entered with the position"
    match = _REALIZED.fullmatch(code)
    if match:
        of = f" of {underlying}" if underlying else ""
        return f"realized {match.group(1)}-day volatility{of}"
    return code.replace("_", " ")


def days_left_words(days) -> str:
    """'74 days', '1 day'; 'expired' at or past expiry (the valuation's rule: days ≤ 0)."""
    if _missing(days):
        return "—"
    days = int(days)
    if days <= 0:
        return "expired"
    return f"{days:,} day" + ("" if days == 1 else "s")


def vif_flag(vif) -> tuple[str, str] | None:
    """(row class, badge text) for a factor's VIF above the thresholds, else None.

    ``("vif-collinear", "VIF 14 — collinear")`` above ``VIF_COLLINEAR``, ``("vif-elevated",
    "VIF 6.2 — elevated")`` above ``VIF_ELEVATED``.
    """
    if _missing(vif):
        return None
    value = float(vif)
    if math.isinf(value):
        shown = "∞"  # an exact combination of the other factors
    else:
        shown = f"{value:,.0f}" if value >= 10 else f"{value:,.1f}"
    if value > VIF_COLLINEAR:
        return "vif-collinear", f"VIF {shown} — collinear"
    if value > VIF_ELEVATED:
        return "vif-elevated", f"VIF {shown} — elevated"
    return None

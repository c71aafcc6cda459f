"""Ticker rules: stock symbols, CUSIPs, fixed income.

Also the rows brokers add that are not positions (cash, totals).
"""

from __future__ import annotations

import re

from webapp.imports.cells import clean

# CSV_IMPORT.md §3 allows BRK.B and BRK/B; the app and its price data spell class shares BRK-B
# (management.SYMBOL_RE, securities.csv), so '-' is accepted too and all three are stored as BRK-B.
_STOCK_RE = re.compile(r"^([A-Z][A-Z0-9]{0,5})(?:[./-]([A-Z0-9]{1,2}))?$")
_CUSIP_RE = re.compile(r"^[0-9A-Z]{8}[0-9]$")
_FIXED_INCOME_RE = re.compile(
    r"\b(?:BONDS?|NOTES?|TREAS\w*|T-?BILLS?|BILLS?|CD|CPN|MUNI\w*|DEBENTURES?|COUPON)\b|\d%"
)
_TOTAL_RE = re.compile(r"^(?:sub)?-?totals?\b|^overall totals?\b|^account total\b|^grand total\b")
_CASH_MARKERS = frozenset(
    {
        "cash",
        "cash & cash investments",
        "cash & money market",
        "cash and money market",
        "cash & sweep vehicle",
        "cash and sweep vehicle",
        "core account",
        "pending activity",
        "pending activities",
        "futures cash",
        "futures positions market value",
    }
)


def stock_symbol(text: str) -> str | None:
    """The normalised stock ticker (upper case, class shares as BRK-B) or None."""
    m = _STOCK_RE.match(clean(text).upper())
    if m is None:
        return None
    return f"{m[1]}-{m[2]}" if m[2] else m[1]


def looks_like_cusip(text: str) -> bool:
    """True for a CUSIP-shaped identifier (9 characters, mostly digits): bonds, CDs, bills."""
    s = clean(text).upper()
    # The check digit is not verified: exports (and test fixtures) carry masked or synthetic CUSIPs,
    # and a ticker can never be 9 plain characters, so the shape alone is unambiguous.
    return bool(_CUSIP_RE.match(s)) and sum(c.isdigit() for c in s) >= 5


def looks_like_fixed_income(text: str) -> bool:
    """True when a symbol/description cell names a bond, bill, note or CD rather than a ticker."""
    s = clean(text).upper()
    return looks_like_cusip(s) or bool(_FIXED_INCOME_RE.search(s))


def is_total_row(text: str) -> bool:
    """True for the brokers' total/subtotal rows (Account Total, TOTAL, Overall Totals...)."""
    return bool(_TOTAL_RE.match(clean(text).lower()))


def is_cash_row(text: str) -> bool:
    """True for explicit cash markers.

    Cash & Cash Investments, CASH, SPAXX** core funds (any name ending "**"), Pending Activity.
    """
    s = clean(text)
    return s.endswith("**") or s.lower() in _CASH_MARKERS

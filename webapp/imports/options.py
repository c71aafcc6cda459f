"""Option symbols: OCC/OSI (padded or not) and the brokers' notations of CSV_IMPORT.md §1."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from webapp.imports.cells import clean, month_number

_ROOT = r"(?P<root>[A-Z0-9]{1,6})"
_MONEY = r"(?P<strike>\d[\d,]*(?:\.\d+)?|\.\d+)"
_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        # OSI, parsed from the right: strike x1000 in exactly 8 digits, C/P, YYMMDD, root
        # (padding optional).
        _ROOT + r" *(?P<yy>\d{2})(?P<mm>\d{2})(?P<dd>\d{2})(?P<cp>[CP])(?P<osi>\d{8})",
        # Fidelity "-AAPL270115C250" (the '-' marks an option, it is NOT a short) and
        # thinkorswim ".AAPL270115C250".
        r"[-.]" + _ROOT + r"(?P<yy>\d{2})(?P<mm>\d{2})(?P<dd>\d{2})(?P<cp>[CP])" + _MONEY,
        # Schwab "AAPL 01/15/2027 250.00 C"
        _ROOT + r" (?P<mm>\d{1,2})/(?P<dd>\d{1,2})/(?P<yyyy>\d{4}) \$?" + _MONEY + r" (?P<cp>[CP])",
        # IBKR "SPY 31MAR25 570 C"
        _ROOT + r" (?P<dd>\d{1,2})(?P<mon>[A-Z]{3})(?P<yy>\d{2}) " + _MONEY + r" (?P<cp>[CP])",
        # E*TRADE "AAPL Jan 17 '30 $150 Put"
        _ROOT
        + r" (?P<mon>[A-Z]{3}) (?P<dd>\d{1,2}) ['\u2019](?P<yy>\d{2}) \$?"
        + _MONEY
        + r" (?P<cp>CALL|PUT)",
        # Robinhood "RTX 3/20/2026 Call $185.00"
        _ROOT + r" (?P<mm>\d{1,2})/(?P<dd>\d{1,2})/(?P<yyyy>\d{4}) (?P<cp>CALL|PUT) \$?" + _MONEY,
        # legacy TD Ameritrade API "SPY_081718C290" (MMDDYY)
        _ROOT + r"_(?P<mm>\d{2})(?P<dd>\d{2})(?P<yy>\d{2})(?P<cp>[CP])" + _MONEY,
    )
)
# thinkorswim "100 21 JAN 22 4795 PUT", "100 (Weeklys) 2 JUL 26 460 CALL": no underlying on the row.
_TOS_RE = re.compile(
    r"(?P<mult>\d+) (?:\([^)]*\) )?(?P<dd>\d{1,2}) (?P<mon>[A-Z]{3}) (?P<yy>\d{2}) "
    + _MONEY
    + r" (?P<cp>CALL|PUT)"
)
_MAX_STRIKE_THOUSANDTHS = 10**8  # the OSI strike field is 8 digits of thousandths


@dataclass(frozen=True)
class ParsedOption:
    """An equity option contract: underlying root, expiry, "call"/"put", strike in dollars."""

    underlying: str
    expiry: dt.date
    option_type: str
    strike: Decimal

    @property
    def osi(self) -> str:
        """Unpadded OSI symbol, e.g. AAPL270115C00250000."""
        kind = "C" if self.option_type == "call" else "P"
        return f"{self.underlying}{self.expiry:%y%m%d}{kind}{int(self.strike * 1000):08d}"


class TosOption(NamedTuple):
    """A thinkorswim option row: its underlying comes from the preceding group row."""

    multiplier: int
    expiry: dt.date
    option_type: str
    strike: Decimal


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", clean(text).upper())


def _strike(groups: dict[str, str | None]) -> Decimal | None:
    try:
        if groups.get("osi"):
            value = Decimal(groups["osi"]) / 1000
        else:
            value = Decimal((groups["strike"] or "").replace(",", ""))
    except InvalidOperation:
        return None
    thousandths = value * 1000
    # A strike must be positive and representable in the OSI field (whole thousandths, 8 digits).
    if (
        value <= 0
        or thousandths != thousandths.to_integral_value()
        or thousandths >= _MAX_STRIKE_THOUSANDTHS
    ):
        return None
    # Plain form for messages and equality: 250 not 250.00000 (normalize() alone would give 2.5E+2).
    return Decimal(int(value)) if value == value.to_integral_value() else value.normalize()


def _expiry(groups: dict[str, str | None]) -> dt.date | None:
    if groups.get("yyyy"):
        year = int(groups["yyyy"])
    else:
        year = 2000 + int(groups["yy"] or "")  # OSI years are 2000-2099
    month = month_number(groups["mon"]) if groups.get("mon") else int(groups["mm"] or "0")
    if not month or not 2000 <= year <= 2099:
        return None
    try:
        return dt.date(year, month, int(groups["dd"] or "0"))
    except ValueError:
        return None


def _kind(cp: str) -> str:
    return "call" if cp.startswith("C") else "put"


def parse_option_symbol(text: str) -> ParsedOption | None:
    """The option an OSI symbol or a broker notation names, or None if it is not one."""
    s = _normal(text)
    if not s or len(s) > 60:
        return None
    for pattern in _PATTERNS:
        m = pattern.fullmatch(s)
        if m is None:
            continue
        groups = m.groupdict()
        root = groups["root"] or ""
        expiry, strike = _expiry(groups), _strike(groups)
        if expiry is None or strike is None or not any(c.isalpha() for c in root):
            return None
        return ParsedOption(root, expiry, _kind(groups["cp"] or ""), strike)
    return None


def parse_tos_option(text: str) -> TosOption | None:
    """A thinkorswim option description (multiplier, expiry, type, strike), or None."""
    m = _TOS_RE.fullmatch(_normal(text))
    if m is None:
        return None
    groups = m.groupdict()
    expiry, strike = _expiry(groups), _strike(groups)
    if expiry is None or strike is None:
        return None
    return TosOption(int(groups["mult"] or "0"), expiry, _kind(groups["cp"] or ""), strike)

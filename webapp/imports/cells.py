"""Cell-level parsing: numbers, dates, header names and CSV-injection neutralising."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

# Zero-width and BOM characters survive Excel round-trips inside cells; str.strip() keeps them.
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
_MISSING = frozenset({"", "-", "--", "\u2013", "\u2014", "n/a", "na"})
# Sanity bound: anything this large is a paste error, and float() would lose it anyway.
_MAX_ABS = Decimal("1e15")
_NUMBER_RE = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$")
_SIGNS_RE = re.compile(r"^([+-]?)\$?([+-]?)(.*)$")
_GROUPED_RE = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
# The common cell, matched on the raw text: an optional minus and plain digits. Such a cell has
# nothing to clean, no placeholder, currency, grouping or exponent: the general path of
# parse_decimal would only confirm it (same Decimal, same sign handling).
_PLAIN_NUMBER_RE = re.compile(r"(-?)((?:\d+(?:\.\d*)?|\.\d+))")
# The brokers' money and grouped cells ("$1,234.50", "-$6,070.00", "12,000"), read without the
# general path's clean/replace chain; the same values the general path gives (tested).
_PLAIN_MONEY_RE = re.compile(r"(-?)\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d*)?")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_ISO_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
# The template's own date, matched on the raw text (so nothing to clean and no time suffix).
_PLAIN_ISO_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_US_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})$")
_MON_D_Y_RE = re.compile(r"^([A-Za-z]{3})-(\d{1,2})-(\d{4})$")
_D_MON_Y_RE = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{4}|\d{2})$")
# Excel and pandas often append a midnight time to dates; the time carries no meaning here.
_TIME_SUFFIX_RE = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp][Mm])?$")

# What norm_header drops: everything str.isalnum() rejects (\W is "neither alphanumeric nor _",
# by the same Unicode test), and "_".
_NOT_ALNUM_RE = re.compile(r"[\W_]+")


class CellError(ValueError):
    """A cell that cannot be read: ``code`` is a report error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def clean(text: str | None) -> str:
    """The cell trimmed of whitespace and invisible characters."""
    if not text:
        return ""
    return text.strip().strip(_INVISIBLE).strip()


def is_missing(text: str | None) -> bool:
    """True for empty cells and the brokers' placeholders (``--``, ``N/A``)."""
    return clean(text).lower() in _MISSING


def _not_a_number(raw: str) -> str:
    if raw[:1] in "=@" or (raw[:1] in "+-" and not any(c.isdigit() for c in raw)):
        return f"'{raw}' looks like a formula; formulas are never evaluated."
    return f"'{raw}' is not a number."


def parse_decimal(text: str | None) -> Decimal | None:
    """A number cell as Decimal; None when missing; CellError('invalid_number') otherwise."""
    plain = _PLAIN_NUMBER_RE.fullmatch(text) if text else None
    if plain is not None:  # "100", "-25", "185.25": most cells of most files
        return _signed(plain[2], text, negative=bool(plain[1]))
    money = _PLAIN_MONEY_RE.fullmatch(text) if text else None
    if money is not None:  # "$1,234.50", "-$6,070.00", "12,000": broker exports
        literal = money[2].replace(",", "") + (money[3] or "")
        return _signed(literal, text, negative=bool(money[1]))
    raw = clean(text)
    if raw.lower() in _MISSING:
        return None
    s = (
        raw.replace("\u2212", "-").replace(" ", "").replace("\xa0", "")
    )  # Unicode minus from web pages
    paren = s.startswith("(") and s.endswith(")")  # accounting negative: (123.45), ($180.00)
    if paren:
        s = s[1:-1]
    m = _SIGNS_RE.match(s)  # "-$6,070.00", "$-6,070.00", "+$0.16"
    if m is None or (m[1] and m[2]) or (paren and (m[1] or m[2])):
        raise CellError("invalid_number", _not_a_number(raw))
    negative = paren or "-" in (m[1], m[2])
    s = m[3]
    if "," in s:
        # Only US thousands grouping: "1,5" is a European decimal and must not become 15.
        if not _GROUPED_RE.match(s):
            raise CellError("invalid_number", f"'{raw}' is not a number (use 1,234.56 or 1234.56).")
        s = s.replace(",", "")
    if not _NUMBER_RE.match(s):
        raise CellError("invalid_number", _not_a_number(raw))
    return _signed(s, raw, negative=negative)


def _signed(literal: str, raw: str, *, negative: bool) -> Decimal:
    """The unsigned number ``literal`` (already checked) with its sign, within the sanity bound."""
    try:
        value = Decimal(literal)
    except InvalidOperation:  # pragma: no cover - the regexes admit only valid literals
        raise CellError("invalid_number", _not_a_number(raw)) from None
    if abs(value) > _MAX_ABS:
        raise CellError("invalid_number", f"'{raw}' is out of range.")
    return -value if negative else value


def _make_date(raw: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        hint = (
            " Slash dates are read month-first (MM/DD/YYYY)." if "/" in raw and month > 12 else ""
        )
        raise CellError("invalid_date", f"'{raw}' is not a real date.{hint}") from None


def _two_digit_year(yy: int) -> int:
    # POSIX/strptime pivot: 69-99 -> 1900s, 00-68 -> 2000s.
    return 1900 + yy if yy >= 69 else 2000 + yy


def parse_date(text: str | None) -> dt.date | None:
    """A date cell; None when missing; CellError('invalid_date') when unreadable."""
    plain = _PLAIN_ISO_RE.fullmatch(text) if text else None
    if plain is not None:
        return _make_date(text, int(plain[1]), int(plain[2]), int(plain[3]))
    raw = clean(text)
    if raw.lower() in _MISSING:
        return None
    s = _TIME_SUFFIX_RE.sub("", raw)
    m = _ISO_RE.match(s)
    if m:
        return _make_date(raw, int(m[1]), int(m[2]), int(m[3]))
    m = _US_RE.match(s)
    if m:  # always US month-first, never DD/MM
        year = int(m[3]) if len(m[3]) == 4 else _two_digit_year(int(m[3]))
        return _make_date(raw, year, int(m[1]), int(m[2]))
    m = _MON_D_Y_RE.match(s)
    if m and m[1].lower() in _MONTHS:
        return _make_date(raw, int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
    m = _D_MON_Y_RE.match(s)  # Excel's d-mmm-yy display format, unambiguous
    if m and m[2].lower() in _MONTHS:
        year = int(m[3]) if len(m[3]) == 4 else _two_digit_year(int(m[3]))
        return _make_date(raw, year, _MONTHS[m[2].lower()], int(m[1]))
    raise CellError(
        "invalid_date",
        f"'{raw}' is not a date (use YYYY-MM-DD; MM/DD/YYYY is also read, month first).",
    )


def lenient_date(text: str | None) -> dt.date | None:
    """A date read from a statement's title or footer: None when missing or unreadable.

    Such dates only supply a default entry date (with a warning), so a garbled one means "no
    statement date", not an error.
    """
    try:
        return parse_date(text)
    except CellError:
        return None


def month_number(name: str) -> int | None:
    """1-12 for a three-letter (or longer) English month name, else None."""
    return _MONTHS.get(name[:3].lower()) if len(name) >= 3 else None


def norm_header(text: str) -> str:
    """Header key: lower case with everything but letters and digits removed."""
    low = text.lower()
    if low.isalnum():  # "Symbol", "AAPL": nothing to trim or remove
        return low
    return _NOT_ALNUM_RE.sub("", clean(text).lower())


_FORMULA_START = frozenset("=+-@")
# What a spreadsheet may skip before it decides that a cell is a formula: leading whitespace
# (Unicode-aware \s: blanks, tabs, line breaks) and the invisible zero-width and BOM characters.
_LEAD_RE = re.compile(f"[\\s{_INVISIBLE}]*")


def neutralize(text: str) -> str:
    """Free text made safe for spreadsheets (CWE-1236): a risky start gets a leading '.

    Risky: a first character that is a tab, CR or LF, or a first visible character (after
    whitespace and zero-width characters) that is ``= + - @`` or a look-alike that folds to one
    under NFKC: full-width ＝＋－＠ (U+FF1D, U+FF0B, U+FF0D, U+FF20), small and superscript forms.
    A text that already starts with ' is left as it is, so neutralising twice changes nothing.
    """
    if not text:
        return text
    if text[0] in "\t\r\n":
        return "'" + text
    start = _LEAD_RE.match(text).end()
    first = text[start : start + 1]
    if not first.isascii():  # NFKC leaves ASCII as it is
        first = unicodedata.normalize("NFKC", first)[:1]
    if first and first in _FORMULA_START:
        return "'" + text
    return text

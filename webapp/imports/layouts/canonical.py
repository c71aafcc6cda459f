"""The SigmaSight template (CSV_IMPORT.md §3): a header row, then one position per line."""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

from webapp.imports.asof import AsOf
from webapp.imports.cells import clean, norm_header
from webapp.imports.layouts.base import Candidate, Columns, Parsed, header_keys, recognisable
from webapp.imports.reader import FileRefused, Record
from webapp.imports.report import warning
from webapp.imports.symbols import is_cash_row, is_total_row

FORMAT = "canonical"
# Canonical name first, then the aliases of §3 in priority order.
FIELDS: dict[str, tuple[str, ...]] = {
    "ticker": ("ticker", "symbol"),
    "quantity": ("quantity", "qty", "shares"),
    "entry_price": (
        "entry_price",
        "price",
        "cost per share",
        "cost basis per share",
        "avg cost",
        "average cost",
        "price paid",
    ),
    "entry_date": (
        "entry_date",
        "date",
        "purchase date",
        "open date",
        "trade date",
        "date acquired",
    ),
    "tags": ("tags", "tag"),
    "strategy": ("strategy",),
    "notes": ("notes", "note"),
    "implied_vol": ("implied_vol", "iv", "implied volatility"),
}
REQUIRED = ("ticker", "quantity", "entry_price", "entry_date")
_ROW_FIELDS = (*REQUIRED, "tags", "strategy", "notes", "implied_vol")  # a row's cells, in order
_TICKER_KEYS = frozenset(norm_header(a) for a in FIELDS["ticker"])


def is_header(keys: set[str]) -> bool:
    """True for a row that names a ticker column (the template's header)."""
    return bool(keys & _TICKER_KEYS)


def _columns(header: Record) -> tuple[dict[str, int], list[dict[str, str]]]:
    columns = Columns(header.cells)
    index: dict[str, int] = {}
    notes: list[dict[str, str]] = []
    for name, aliases in FIELDS.items():
        hits = [a for a in aliases if columns.find(a) is not None]
        if hits:
            index[name] = columns.find(hits[0])  # type: ignore[assignment]
            if len({columns.find(a) for a in hits}) > 1:
                notes.append(
                    warning(
                        "ambiguous_column",
                        (
                            f"Several columns could be {name} ({', '.join(hits)}); "
                            f"'{hits[0]}' was used."
                        ),
                    )
                )
    missing = [name for name in REQUIRED if name not in index]
    if missing:
        hints = "; ".join(f"{name} (or {', '.join(FIELDS[name][1:])})" for name in missing)
        raise FileRefused(
            "missing_required_column",
            f"Missing required column(s): {hints}. The header must name ticker, quantity, "
            "entry_price and entry_date; download the template for an example.",
            columns.names,
        )
    return index, notes


def _is_note(record: Record) -> bool:
    # A lone first cell of free text ("Prepared for J. Smith", a disclaimer) is not a position.
    if not record.cells or " " not in record.cells[0]:  # cheap: most rows have no such cell
        return False
    filled = [c for c in record.cells if clean(c)]
    return (
        len(filled) == 1
        and bool(clean(record.cells[0]))
        and " " in clean(record.cells[0])
        and not recognisable(record.cells[0])
    )


@dataclass(frozen=True, slots=True)
class _Ticker:
    """What a ticker cell alone says about its row (the same for every row that repeats it)."""

    filled: bool  # not empty: the row is not blank
    total: bool  # a total/subtotal label
    header: bool  # names the ticker column: the row may be a repeated header
    cash: bool  # an explicit cash marker

    @classmethod
    def of(cls, text: str) -> _Ticker:
        return cls(
            bool(clean(text)),
            is_total_row(text),
            norm_header(text) in _TICKER_KEYS,
            is_cash_row(text),
        )


def parse(records: list[Record], header_at: int, as_of: AsOf) -> Parsed:
    """Candidates from a canonical file whose header is ``records[header_at]``.

    Every row carries its own entry date, so ``as_of`` is not needed here; CASH rows are
    skipped, never read as the portfolio's cash (the template has no cash, CSV_IMPORT.md §3).
    """
    del as_of  # the same signature as the broker layouts
    out = Parsed(FORMAT)
    header = records[header_at]
    index, notes = _columns(header)
    out.warnings.extend(notes)
    header_set = header_keys(header)
    width = len(header.cells)
    # A row's cells in _ROW_FIELDS order: an absent optional column reads the "" appended to
    # every row (index -1); a row too short for the getter falls back to Record.cell ("").
    at = [index.get(name) for name in _ROW_FIELDS]
    fields = itemgetter(*(-1 if i is None else i for i in at))
    tickers: dict[str, _Ticker] = {}  # a file repeats its tickers: each is classified once
    for record in records[: header_at + 1]:
        out.skip(record)  # preamble lines and the header itself
    for record in records[header_at + 1 :]:
        try:
            ticker, quantity, price, date, tags, strategy, note, iv = fields([*record.cells, ""])
        except IndexError:
            ticker, quantity, price, date, tags, strategy, note, iv = map(record.cell, at)
        kind = tickers.get(ticker)
        if kind is None:
            kind = tickers[ticker] = _Ticker.of(ticker)
        # Only rows that are plainly not positions are skipped; a broken position row is rejected
        # (so the broker layouts' "no quantity and no ticker" rule does not apply here).
        if (
            (not kind.filled and record.blank)
            or kind.total
            or _is_note(record)
            or (kind.header and header_keys(record) == header_set)
        ):
            out.skip(record)
            continue
        if kind.cash:
            out.skip(record)
            out.cash_lines.append(record.line)
            continue
        candidate = Candidate(
            line=record.line,
            ticker=ticker,
            quantity=quantity,
            price=price,
            date=date,
            tags=tags,
            strategy=strategy,
            notes=note,
            implied_vol=iv,
        )
        if len(record.cells) > width and any(clean(c) for c in record.cells[width:]):
            candidate.warnings += (
                warning(
                    "extra_cells_ignored",
                    "This line has more cells than the header; the extra cells were ignored "
                    "(an unquoted comma inside a value, e.g. 1,000, shifts the columns).",
                ),
            )
        out.candidates.append(candidate)
    return out

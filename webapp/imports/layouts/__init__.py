"""Layout detection: broker exports first (their columns mean other things), then the template."""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from webapp.imports.asof import AsOf
from webapp.imports.cells import clean
from webapp.imports.layouts import canonical, etrade, fidelity, ibkr, schwab, thinkorswim, vanguard
from webapp.imports.layouts.base import Candidate, Parsed, header_keys
from webapp.imports.reader import FileRefused, Record

__all__ = ["Candidate", "Parsed", "parse_layout"]

# Detect layouts before generic aliasing: e.g. Schwab's "Price" is today's price, not a cost.
_BROKERS = (thinkorswim, ibkr, schwab, fidelity, etrade, vanguard)
_SCAN = 60  # non-blank rows searched for a signature or header (E*TRADE's header is ~line 12)
_TRANSACTION_KEYS = frozenset({"transcode", "action", "transactiontype"})
_HEADER_WORDS = frozenset(
    {
        "symbol",
        "quantity",
        "date",
        "activitydate",
        "rundate",
        "tradedate",
        "description",
        "amount",
        "price",
        "instrument",
        "ticker",
    }
)


def _unsupported(keys: set[str]) -> FileRefused:
    column = next(k for k in ("transcode", "transactiontype", "action") if k in keys)
    label = {"transcode": "Trans Code", "transactiontype": "Transaction Type", "action": "Action"}[
        column
    ]
    who = (
        " (e.g. Robinhood account activity, which has no positions export)"
        if column == "transcode"
        else ""
    )
    return FileRefused(
        "unsupported_format",
        f"This is a transaction/activity export{who}: it has a '{label}' column. "
        "SigmaSight imports current holdings: export your broker's Positions page as CSV, "
        "or fill in the SigmaSight template (ticker, quantity, entry_price, entry_date).",
    )


def parse_layout(records: list[Record], as_of: AsOf) -> Parsed:
    """Detect the file's layout and map its rows to candidates.

    Raises ``FileRefused`` when nothing can be imported; its ``detected_format`` names the layout
    when one was recognised ("unknown" otherwise).
    """
    head = list(islice(((i, r) for i, r in enumerate(records) if not r.blank), _SCAN))
    for _, record in head:
        keys = header_keys(record)
        if keys & _TRANSACTION_KEYS:
            continue  # an activity header is never a positions signature (checked below)
        for layout in _BROKERS:
            if layout.signature(record, keys):
                return _run(layout.FORMAT, lambda: layout.parse(records, as_of))
    for _, record in head:
        keys = header_keys(record)
        # Checked before any column check: an activity file has Symbol/Quantity/Price columns too.
        if keys & _TRANSACTION_KEYS and keys & _HEADER_WORDS:
            raise _unsupported(keys)
    for i, record in head:
        if canonical.is_header(header_keys(record)):
            return _run(canonical.FORMAT, lambda: canonical.parse(records, i, as_of))
    columns = [clean(c) for c in head[0][1].cells] if head else []
    raise FileRefused(
        "missing_required_column",
        "No ticker column and no known broker layout was found. The first line must be a "
        "header naming ticker, quantity, entry_price and entry_date (download the template), "
        "or upload a positions export from Schwab, Fidelity, Vanguard, Interactive Brokers, "
        "E*TRADE or thinkorswim.",
        columns,
    )


def _run(fmt: str, parse: Callable[[], Parsed]) -> Parsed:
    try:
        return parse()
    except FileRefused as exc:
        exc.detected_format = fmt
        raise

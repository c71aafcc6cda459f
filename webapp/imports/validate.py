"""validate_holdings_file: bytes in, the §5 report out. Nothing is stored here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from webapp.imports.layouts import Parsed, parse_layout
from webapp.imports.reader import FileRefused, check_bytes, decode, quote_warning, read_records
from webapp.imports.report import ImportReport, RejectedRow, file_error, warning
from webapp.imports.rows import DuplicateKey, check_candidate

_LABELS = {
    "canonical": "file",
    "schwab_positions": "Schwab positions export",
    "fidelity_positions": "Fidelity positions export",
    "vanguard_positions": "Vanguard holdings export",
    "ibkr_activity": "Interactive Brokers statement (Open Positions section)",
    "etrade_positions": "E*TRADE portfolio export",
    "thinkorswim_positions": "thinkorswim position statement",
}
_LIST_AT_MOST = 20


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_AT_MOST])
    return shown + (f" and {len(items) - _LIST_AT_MOST} more" if len(items) > _LIST_AT_MOST else "")


def validate_holdings_file(
    data: bytes,
    *,
    filename: str,
    known_symbols: Collection[str],
    max_bytes: int,
    max_rows: int,
    today: dt.date | None = None,
) -> ImportReport:
    """Validate an uploaded holdings CSV and report accepted, rejected and skipped lines."""
    today = today or dt.date.today()
    report = ImportReport()
    try:
        check_bytes(data, max_bytes)
        text, notes = decode(data)
        report.warnings.extend(notes)
        records = read_records(text)
        if all(record.blank for record in records):
            raise FileRefused("empty_file", "The file has no content (only empty lines or cells).")
        report.warnings.extend(quote_warning(text, records))
        parsed = parse_layout(records, today)
    except FileRefused as exc:
        report.detected_format = exc.detected_format
        report.file_error = file_error(exc.code, exc.message, exc.columns)
        return report
    report.detected_format = parsed.detected_format
    report.warnings.extend(parsed.warnings)
    count = len(parsed.candidates)
    if count > max_rows:
        report.file_error = file_error(
            "too_many_rows",
            (
                f"'{filename}' has {count:,} position rows; the limit is {max_rows:,}. "
                "Split it into smaller files."
            ),
        )
        return report
    report.skipped_lines = sorted(set(parsed.skipped))
    if count == 0:
        label = _LABELS.get(parsed.detected_format, "file")
        report.file_error = file_error(
            "no_data_rows",
            f"No position rows were found in '{filename}' ({label}): only headers, "
            "cash, totals or notes.",
        )
        return report
    _check_rows(report, parsed, today)
    _flag_market_data(report, frozenset(known_symbols))
    report.warnings.extend(_summaries(report, parsed))
    return report


def _check_rows(report: ImportReport, parsed: Parsed, today: dt.date) -> None:
    first_seen: dict[DuplicateKey, int] = {}
    for candidate in parsed.candidates:
        row, errors, key = check_candidate(candidate, today)
        if row is None:
            report.rejected.append(RejectedRow(candidate.line, errors))
        elif key in first_seen:
            # Same symbol, quantity, price and date (within one account): a copy-paste repeat.
            report.rejected.append(
                RejectedRow(
                    candidate.line,
                    [
                        {
                            "field": "row",
                            "code": "duplicate_row",
                            "message": (
                                f"Same position as line {first_seen[key]} "
                                "(symbol, quantity, price and date)."
                            ),
                            "value": row.symbol,
                        }
                    ],
                    duplicate_of_line=first_seen[key],
                )
            )
        else:
            first_seen[key] = candidate.line  # type: ignore[index]
            report.accepted.append(row)


def _flag_market_data(report: ImportReport, known: frozenset[str]) -> None:
    # Rows without stored prices are kept (prices may arrive with the next sync), but flagged.
    missing: list[str] = []
    for row in report.accepted:
        row.has_market_data = row.price_symbol in known
        if not row.has_market_data and row.price_symbol not in missing:
            missing.append(row.price_symbol)
    if missing:
        report.warnings.append(
            warning(
                "no_market_data",
                f"No stored prices for {_listing(missing)}: "
                "these rows will be imported but not valued until prices are synced.",
            )
        )


def _summaries(report: ImportReport, parsed: Parsed) -> list[dict[str, str]]:
    notes: list[dict[str, str]] = []
    seen: set[str] = set()
    for row in report.accepted:  # one file-level line per defaulting rule, not one per row
        for note in row.warnings:
            if (
                note["code"].startswith(("entry_date_defaulted", "entry_price_defaulted"))
                and note["code"] not in seen
            ):
                seen.add(note["code"])
                notes.append(dict(note))
    if parsed.cash_lines:
        lines = [str(n) for n in parsed.cash_lines]
        notes.append(
            warning(
                "cash_rows_skipped",
                "Cash lines were skipped "
                f"({'line' if len(lines) == 1 else 'lines'} {_listing(lines)}): "
                "cash, money-market sweeps and pending activity are not positions; "
                "enter cash as the portfolio's cash.",
            )
        )
    return notes

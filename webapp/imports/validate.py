"""validate_holdings_file: bytes in, the §5 report out. Nothing is stored here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from webapp.imports.asof import AsOf, dollars
from webapp.imports.layouts import Parsed, parse_layout
from webapp.imports.reader import FileRefused, check_bytes, decode, quote_warning, read_records
from webapp.imports.report import ImportReport, RejectedRow, file_error, format_name, warning
from webapp.imports.rows import DuplicateKey, RowChecker

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
    as_of: dt.date | None = None,
) -> ImportReport:
    """Validate an uploaded holdings CSV and report accepted, rejected and skipped lines.

    ``as_of`` is the latest stored price date: entry dates after it are rejected, dateless
    statements enter on it (or on their own earlier date) and options are expired only before
    it. Without it (no prices stored) the file is judged by ``today``, the wall clock unless a
    test fixes it. ``report.as_of`` says which date was used.
    """
    judge = AsOf.resolve(as_of, today or dt.date.today())
    report = ImportReport(as_of=judge.date, as_of_source=judge.source)
    try:
        parsed = _parse(data, max_bytes, judge, report)
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
        label = (
            "file" if parsed.detected_format == "canonical" else format_name(parsed.detected_format)
        )
        report.file_error = file_error(
            "no_data_rows",
            f"No position rows were found in '{filename}' ({label}): only headers, "
            "cash, totals or notes.",
        )
        return report
    _check_rows(report, parsed, judge)
    _flag_market_data(report, frozenset(known_symbols))
    report.warnings.extend(_summaries(report, parsed))
    report.warnings.extend(_cash_and_equity(report, parsed))
    return report


def _parse(data: bytes, max_bytes: int, judge: AsOf, report: ImportReport) -> Parsed:
    """The file's layout and candidate rows (its records are dropped once read: less to hold)."""
    check_bytes(data, max_bytes)
    text, notes = decode(data)
    report.warnings.extend(notes)
    records = read_records(text)
    if all(record.blank for record in records):
        raise FileRefused("empty_file", "The file has no content (only empty lines or cells).")
    report.warnings.extend(quote_warning(text, records))
    return parse_layout(records, judge)


def _check_rows(report: ImportReport, parsed: Parsed, as_of: AsOf) -> None:
    first_seen: dict[DuplicateKey, int] = {}
    check = RowChecker(as_of).check
    for candidate in parsed.candidates:
        row, errors, key = check(candidate)
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
    missing: dict[str, None] = {}  # in the order first seen
    for row in report.accepted:
        row.has_market_data = row.price_symbol in known
        if not row.has_market_data:
            missing.setdefault(row.price_symbol)
    if missing:
        report.warnings.append(
            warning(
                "no_market_data",
                f"No stored prices for {_listing(list(missing))}: "
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
        todo = (
            "the statement's cash is taken as the portfolio's cash (see below)."
            if parsed.statement_cash is not None
            else "enter cash as the portfolio's cash."
        )
        notes.append(
            warning(
                "cash_rows_skipped",
                "Cash lines were skipped "
                f"({'line' if len(lines) == 1 else 'lines'} {_listing(lines)}): "
                f"cash, money-market sweeps and pending activity are not positions; {todo}",
            )
        )
    return notes


def _cash_and_equity(report: ImportReport, parsed: Parsed) -> list[dict[str, str]]:
    """The statement's cash, the book's estimated equity, and a warning when it is not positive.

    A book worth zero or less (a statement's short options without the cash that backs them)
    has no returns or weights: the risk and performance pages refuse it, so the advisor is told
    now, while the file can still be completed.
    """
    notes: list[dict[str, str]] = []
    cash = parsed.statement_cash
    if cash is not None:
        report.statement_cash = float(cash.amount)
        report.statement_cash_lines = list(cash.lines)
        notes.append(warning("statement_cash", cash.message))
    if not report.accepted:
        return notes
    positions = sum(row.book_value for row in report.accepted)
    equity = round(positions + (report.statement_cash or 0.0), 2)
    report.estimated_equity = equity
    if equity <= 0:
        notes.append(warning("non_positive_equity", _equity_message(report, positions, equity)))
    return notes


def _equity_message(report: ImportReport, positions: float, equity: float) -> str:
    stated = sum(1 for row in report.accepted if row.market_value is not None)
    if stated == len(report.accepted):
        basis = "the statement's market values"
    elif stated:
        basis = "the statement's market values where given, else entry price x quantity"
    else:
        basis = "entry price x quantity (x100 for options)"
    cash = (
        f"plus the statement's cash {dollars(report.statement_cash)}"
        if report.statement_cash is not None
        else "and no cash (none was read from the file)"
    )
    return (
        f"This book would be worth {dollars(equity)}: positions {dollars(positions)} at {basis}, "
        f"{cash}. Risk and performance cannot be calculated for a book worth zero or less "
        "(returns and weights are shares of its value), so they will refuse it. Add the "
        "account's cash (the statement's cash line, or the Cash field of the import) or the "
        "long positions missing from the file."
    )

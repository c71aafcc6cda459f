"""Downloads: the complete JSON package, positions CSV in the import format, the XLSX workbook.

Read-only. Stored results come from the feature services (never recomputed here).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import xlsxwriter

from webapp.imports import neutralize
from webapp.models import Portfolio, Position
from webapp.services import queries
from webapp.services.correlations import correlation_matrix, diversification_score
from webapp.services.factor_exposures import (
    factor_definitions,
    factor_exposures,
    position_factor_exposures,
)
from webapp.services.jsonable import jsonable
from webapp.services.management import osi_symbol
from webapp.services.market_views import portfolio_complete
from webapp.services.overview import greeks, overview
from webapp.services.performance import performance
from webapp.services.positions import positions_view
from webapp.services.risk_metrics import risk_metrics
from webapp.services.stress_tests import stress_test

CANONICAL_HEADER = ("ticker", "quantity", "entry_price", "entry_date", "tags", "strategy", "notes")


# ------------------------------------------------------------------------------------------------
# Exports
# ------------------------------------------------------------------------------------------------
def analytics_results(portfolio: Portfolio) -> dict[str, dict]:
    """Every stored analytics result at its default parameters, as the API returns it."""
    return {
        "overview": overview(portfolio).to_dict(),
        "correlation_matrix": correlation_matrix(portfolio).to_dict(),
        "diversification_score": diversification_score(portfolio).to_dict(),
        "factor_exposures": factor_exposures(portfolio).to_dict(),
        # An export wants every position, not one page of them.
        "position_factor_exposures": position_factor_exposures(
            portfolio, limit=len(portfolio.positions) or 1
        ).to_dict(),
        "risk_metrics": risk_metrics(portfolio).to_dict(),
        "stress_test": stress_test(portfolio, positions=True).to_dict(),
        "greeks": greeks(portfolio).to_dict(),
        "performance": performance(portfolio).to_dict(),
    }


def portfolio_package(portfolio: Portfolio) -> dict:
    """The complete JSON export: portfolio, valued positions, prices and every stored result."""
    complete = portfolio_complete(portfolio)
    return jsonable(
        {
            "format": "sigmasight.portfolio.v1",
            **complete,
            "analytics": analytics_results(portfolio),
            "factor_definitions": factor_definitions(),
        }
    )


def _number(value: float) -> str:
    """Plain decimal text, no exponent and no float noise: 38.0 -> '38', 185.25 -> '185.25'."""
    text = format(Decimal(repr(float(value))).normalize(), "f")
    return text.removesuffix(".0") if "." in text and text.endswith(".0") else text


def _ticker(p: Position) -> str:
    if p.is_option:  # rebuilt from the fields so the symbol is always unpadded OSI
        return osi_symbol(
            p.underlying_symbol, p.expiration_date, p.position_type[-1], p.strike_price
        )
    return p.symbol


def positions_csv(portfolio: Portfolio) -> str:
    """Open positions in the canonical import format (re-importable); text cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CANONICAL_HEADER)
    for p in queries.open_positions(portfolio.id):
        # Numbers are written as numbers: a short's leading '-' is data, not a formula.
        writer.writerow(
            [
                neutralize(_ticker(p)),
                _number(p.quantity),
                _number(p.entry_price),
                p.entry_date.isoformat(),
                ";".join(neutralize(t.name) for t in p.tags),
                neutralize(p.strategy or ""),
                neutralize(p.notes or ""),
            ]
        )
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------
# XLSX workbook
# ------------------------------------------------------------------------------------------------
DOLLARS = "$#,##0"
PRICE = "$#,##0.00"
PERCENT = "0.0%"
DECIMAL = "0.00"
QUANTITY = "#,##0.####"
DATE = "yyyy-mm-dd"

# (header, row key, number format or None for text) — the Positions sheet's columns.
POSITION_COLUMNS = (
    ("Symbol", "symbol", None),
    ("Name", "name", None),
    ("Type", "position_type", None),
    ("Quantity", "quantity", QUANTITY),
    ("Entry Price", "entry_price", PRICE),
    ("Entry Date", "entry_date", DATE),
    ("Price", "price", PRICE),
    ("Market Value", "market_value", DOLLARS),
    ("Cost Basis", "cost_basis", DOLLARS),
    ("Unrealized P&L", "unrealized_pnl", DOLLARS),
    ("Unrealized P&L %", "unrealized_pnl_pct", PERCENT),
    ("Exposure", "exposure", DOLLARS),
    ("Weight", "weight", PERCENT),
    ("Sector", "sector", None),
    ("Strategy", "strategy", None),
    ("Tags", "tags", None),
    ("Status", "status", None),
)
EXPOSURE_ROWS = (
    ("Equity", "equity"),
    ("Cash", "cash"),
    ("Long exposure", "long_exposure"),
    ("Short exposure", "short_exposure"),
    ("Gross exposure", "gross_exposure"),
    ("Net exposure", "net_exposure"),
    ("Delta-adjusted long", "delta_long_exposure"),
    ("Delta-adjusted short", "delta_short_exposure"),
    ("Delta-adjusted gross", "delta_gross_exposure"),
    ("Delta-adjusted net", "delta_net_exposure"),
    ("Unrealized P&L", "unrealized_pnl"),
    ("Cost basis", "cost_basis"),
)
STRESS_COLUMNS = (
    ("Scenario", "name", None),
    ("ID", "scenario_id", None),
    ("Category", "category", None),
    ("Severity", "severity", None),
    ("Impact type", "impact_type", None),
    ("P&L", "pnl", DOLLARS),
    ("P&L %", "pnl_pct", PERCENT),
    ("New Value", "new_value", DOLLARS),
)


def _cell_value(value: Any, fmt: str | None) -> Any:
    """Dates as real dates, text neutralised (CWE-1236), lists joined; numbers untouched."""
    if fmt == DATE and isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    if isinstance(value, str):
        return neutralize(value)
    return value


@dataclass
class _Sheet:
    """One worksheet's cells, collected before any is written.

    A streamed worksheet writes rows straight into the file, so its column widths and frozen
    header are decided before the first row: the whole sheet is known first, then written once.
    """

    title: str
    rows: list[list[tuple[Any, str | None]]] = field(default_factory=list)
    header: bool = False  # row 1 is a bold header frozen above the scrolling rows

    def row(self, values: Iterable[tuple[Any, str | None]]) -> None:
        """Append a row of (value, number format or None); values become cell values here."""
        self.rows.append([(_cell_value(v, f), f) for v, f in values])

    def blank(self) -> None:
        self.rows.append([])


def _header(sheet: _Sheet, titles: Iterable[str]) -> None:
    sheet.header = True
    sheet.row((t, None) for t in titles)


def _table(sheet: _Sheet, rows: list[dict], columns) -> None:
    _header(sheet, [c[0] for c in columns])
    for r in rows:
        sheet.row((r.get(key), fmt) for _, key, fmt in columns)


def _stamp(sheet: _Sheet, result: dict) -> None:
    """As-of date and calculation time under the table (the header row stays row 1)."""
    meta = result.get("metadata", {})
    sheet.blank()
    if meta.get("as_of"):
        sheet.row([("As of", None), (meta["as_of"], DATE)])
    if meta.get("calculated_at"):
        sheet.row([("Calculated at (UTC)", None), (meta["calculated_at"], None)])


def _unavailable(sheet: _Sheet, title: str, result: dict) -> bool:
    """Write why the result is missing into A1; True when it is."""
    if result.get("available"):
        return False
    reason = result.get("reason") or "unavailable"
    message = result.get("message") or ""
    sheet.row([(f"{title} not available ({reason}){': ' + message if message else ''}", None)])
    return True


def _widths(rows: list[list[tuple[Any, str | None]]]) -> list[float]:
    """Per column: the longest value's text + 2, between 10 and 60 characters."""
    longest: list[int] = []
    for row in rows:
        if len(row) > len(longest):
            longest.extend([0] * (len(row) - len(longest)))
        for i, (value, _) in enumerate(row):
            if value is not None:
                longest[i] = max(longest[i], len(str(value)))
    return [min(max(10, n + 2), 60) if n else 10 for n in longest]


def _positions_sheet(view) -> _Sheet:
    sheet = _Sheet("Positions")
    _table(sheet, view.rows, POSITION_COLUMNS)
    sheet.blank()
    if view.as_of:
        sheet.row([("As of", None), (view.as_of.isoformat(), DATE)])
    return sheet


def _exposures_sheet(result: dict) -> _Sheet:
    sheet = _Sheet("Exposures")
    if _unavailable(sheet, "Exposures", result):
        return sheet
    data = result["data"]
    summary = data.get("summary", {})
    equity = summary.get("equity") or 0.0
    _header(sheet, ["Metric", "Value", "% of Equity"])
    for label, key in EXPOSURE_ROWS:
        value = summary.get(key)
        share = value / equity if isinstance(value, (int, float)) and equity else None
        sheet.row([(label, None), (value, DOLLARS), (share, PERCENT)])
    sheet.blank()
    sheet.row([("Sector", None), ("Long", None), ("Short", None), ("Net", None), ("Gross", None)])
    for s in data.get("sectors", []):
        sheet.row(
            [
                (s.get("sector"), None),
                (s.get("long"), DOLLARS),
                (s.get("short"), DOLLARS),
                (s.get("net"), DOLLARS),
                (s.get("gross"), DOLLARS),
            ]
        )
    _stamp(sheet, result)
    return sheet


def _factors_sheet(result: dict, definitions: list[dict]) -> _Sheet:
    sheet = _Sheet("Factors")
    if _unavailable(sheet, "Factor exposures", result):
        return sheet
    etf = {d["name"]: d["etf_symbol"] for d in definitions}
    _header(sheet, ["Factor", "ETF Proxy", "Beta", "Dollar Exposure"])
    for f in result["data"].get("factors", []):
        sheet.row(
            [
                (f.get("name"), None),
                (etf.get(f.get("name")), None),
                (f.get("beta"), DECIMAL),
                (f.get("exposure_dollar"), DOLLARS),
            ]
        )
    _stamp(sheet, result)
    return sheet


def _risk_rows(data: dict) -> list[tuple[str, Any, str | None]]:
    rows = [
        (
            f"Portfolio beta (vs {data.get('benchmark_symbol') or 'SPY'})",
            data.get("portfolio_beta"),
            DECIMAL,
        ),
        ("Annualized volatility", data.get("annualized_volatility"), PERCENT),
        ("Annualized volatility ($)", data.get("annualized_volatility_dollars"), DOLLARS),
        ("Max drawdown", data.get("max_drawdown"), PERCENT),
        ("Window start", data.get("start"), DATE),
        ("Window end", data.get("end"), DATE),
        ("Observations", data.get("nobs"), None),
    ]
    for v in data.get("var", []):
        level = f"{float(v.get('confidence') or 0):.0%}"
        for label, key in (
            ("Historical VaR (delta-only)", "historical"),
            ("Expected shortfall (delta-only)", "expected_shortfall"),
            ("Historical VaR (full revaluation)", "historical_full"),
            ("Expected shortfall (full revaluation)", "expected_shortfall_full"),
            ("Parametric VaR (delta-normal)", "parametric"),
        ):
            if key not in v:  # full revaluation only where it ran
                continue
            rows.append((f"{label} {level}, 1-day", (v.get(key) or {}).get("return"), PERCENT))
            rows.append((f"{label} {level}, 1-day ($)", (v.get(key) or {}).get("dollars"), DOLLARS))
    return rows


def _risk_sheet(result: dict) -> _Sheet:
    sheet = _Sheet("Risk")
    if _unavailable(sheet, "Risk metrics", result):
        return sheet
    _header(sheet, ["Metric", "Value"])
    for label, value, fmt in _risk_rows(result["data"]):
        sheet.row([(label, None), (value, fmt if value is not None else None)])
    _stamp(sheet, result)
    return sheet


def _stress_sheet(result: dict) -> _Sheet:
    sheet = _Sheet("Stress")
    if _unavailable(sheet, "Stress tests", result):
        return sheet
    _table(sheet, result["data"].get("scenarios", []), STRESS_COLUMNS)
    _stamp(sheet, result)
    return sheet


class _Writer:
    """Writes collected sheets into one xlsxwriter workbook: one shared format per style."""

    def __init__(self, workbook):
        self.workbook = workbook
        self._formats: dict[tuple[str | None, bool], Any] = {}

    def format(self, number_format: str | None, bold: bool = False):
        """The workbook's format object for this number format / weight, made once."""
        key = (number_format, bold)
        if key not in self._formats:
            props = {"bold": True} if bold else {}
            if number_format:
                props["num_format"] = number_format
            self._formats[key] = self.workbook.add_format(props) if props else None
        return self._formats[key]

    def cell(self, ws, row: int, col: int, value: Any, fmt) -> None:
        """One typed write: text is never parsed as a formula or a number."""
        if isinstance(value, str):
            ws.write_string(row, col, value, fmt)
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
        elif isinstance(value, (int, float)):
            if math.isfinite(value):
                ws.write_number(row, col, value, fmt)
        elif isinstance(value, (dt.date, dt.datetime)):
            ws.write_datetime(row, col, value, fmt)
        else:
            ws.write(row, col, value, fmt)

    def sheet(self, sheet: _Sheet) -> None:
        """Stream one collected sheet.

        Widths and the frozen header first, then the rows in order.
        """
        ws = self.workbook.add_worksheet(sheet.title)
        for col, width in enumerate(_widths(sheet.rows)):
            ws.set_column(col, col, width)
        if sheet.header:
            ws.freeze_panes(1, 0)
        for index, row in enumerate(sheet.rows):
            bold = sheet.header and index == 0
            for col, (value, number_format) in enumerate(row):
                if value is not None:
                    self.cell(ws, index, col, value, self.format(number_format, bold))


def portfolio_xlsx(portfolio: Portfolio) -> bytes:
    """The workbook: Positions, Exposures, Factors, Risk, Stress.

    A missing result says why in A1.
    """
    sheets = [
        _positions_sheet(positions_view(portfolio)),
        _exposures_sheet(overview(portfolio).to_dict()),
        _factors_sheet(factor_exposures(portfolio).to_dict(), factor_definitions()),
        _risk_sheet(risk_metrics(portfolio).to_dict()),
        _stress_sheet(stress_test(portfolio).to_dict()),
    ]
    buffer = io.BytesIO()
    # constant_memory: each row goes to the file as it is written (no cell grid in memory, and no
    # search for the last row per append — that made the old openpyxl export quadratic).
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    workbook.set_properties({"title": f"SigmaSight — {portfolio.name}"})
    writer = _Writer(workbook)
    for sheet in sheets:
        writer.sheet(sheet)
    workbook.close()
    return buffer.getvalue()

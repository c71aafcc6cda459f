"""Downloads: the complete JSON package, positions CSV in the import format, the XLSX workbook.

Read-only. Stored analytics come from ``services.analytics`` (never recomputed here).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from webapp.imports import neutralize
from webapp.models import Portfolio, Position
from webapp.services import analytics, queries
from webapp.services import portfolios as portfolio_svc
from webapp.services.management import osi_symbol
from webapp.services.market_views import portfolio_complete
from webapp.services.results import jsonable

CANONICAL_HEADER = ("ticker", "quantity", "entry_price", "entry_date", "tags", "strategy", "notes")


# ------------------------------------------------------------------------------------------------
# Exports
# ------------------------------------------------------------------------------------------------
def analytics_results(portfolio: Portfolio) -> dict[str, dict]:
    """Every stored analytics result at its default parameters, as the API returns it."""
    return {
        "overview": analytics.overview(portfolio).to_dict(),
        "correlation_matrix": analytics.correlation_matrix(portfolio).to_dict(),
        "diversification_score": analytics.diversification_score(portfolio).to_dict(),
        "factor_exposures": analytics.factor_exposures(portfolio).to_dict(),
        # An export wants every position, not one page of them.
        "position_factor_exposures": analytics.position_factor_exposures(
            portfolio, limit=len(portfolio.positions) or 1).to_dict(),
        "risk_metrics": analytics.risk_metrics(portfolio).to_dict(),
        "stress_test": analytics.stress_test(portfolio).to_dict(),
        "greeks": analytics.greeks(portfolio).to_dict(),
        "performance": analytics.performance(portfolio).to_dict(),
    }


def portfolio_package(portfolio: Portfolio) -> dict:
    """The complete JSON export: portfolio, valued positions, prices and every stored result."""
    complete = portfolio_complete(portfolio)
    return jsonable({
        "format": "sigmasight.portfolio.v1",
        **complete,
        "analytics": analytics_results(portfolio),
        "factor_definitions": analytics.factor_definitions(),
    })


def _number(value: float) -> str:
    """Plain decimal text, no exponent and no float noise: 38.0 -> '38', 185.25 -> '185.25'."""
    text = format(Decimal(repr(float(value))).normalize(), "f")
    return text.removesuffix(".0") if "." in text and text.endswith(".0") else text


def _ticker(p: Position) -> str:
    if p.is_option:  # rebuilt from the fields so the symbol is always unpadded OSI
        return osi_symbol(p.underlying_symbol, p.expiration_date, p.position_type[-1], p.strike_price)
    return p.symbol


def positions_csv(portfolio: Portfolio) -> str:
    """Open positions in the canonical import format (re-importable); text cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CANONICAL_HEADER)
    for p in queries.open_positions(portfolio.id):
        # Numbers are written as numbers: a short's leading '-' is data, not a formula.
        writer.writerow([
            neutralize(_ticker(p)),
            _number(p.quantity),
            _number(p.entry_price),
            p.entry_date.isoformat(),
            ";".join(neutralize(t.name) for t in p.tags),
            neutralize(p.strategy or ""),
            neutralize(p.notes or ""),
        ])
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
SHEETS = ("Positions", "Exposures", "Factors", "Risk", "Stress")

# (header, row key, number format or None for text) — the Positions sheet's columns.
POSITION_COLUMNS = (
    ("Symbol", "symbol", None), ("Name", "name", None), ("Type", "position_type", None),
    ("Quantity", "quantity", QUANTITY), ("Entry Price", "entry_price", PRICE),
    ("Entry Date", "entry_date", DATE), ("Price", "price", PRICE),
    ("Market Value", "market_value", DOLLARS), ("Cost Basis", "cost_basis", DOLLARS),
    ("Unrealized P&L", "unrealized_pnl", DOLLARS), ("Unrealized P&L %", "unrealized_pnl_pct", PERCENT),
    ("Exposure", "exposure", DOLLARS), ("Weight", "weight", PERCENT), ("Sector", "sector", None),
    ("Strategy", "strategy", None), ("Tags", "tags", None), ("Status", "status", None),
)
EXPOSURE_ROWS = (
    ("Equity", "equity"), ("Cash", "cash"), ("Long exposure", "long_exposure"),
    ("Short exposure", "short_exposure"), ("Gross exposure", "gross_exposure"),
    ("Net exposure", "net_exposure"), ("Delta-adjusted long", "delta_long_exposure"),
    ("Delta-adjusted short", "delta_short_exposure"), ("Delta-adjusted gross", "delta_gross_exposure"),
    ("Delta-adjusted net", "delta_net_exposure"), ("Unrealized P&L", "unrealized_pnl"),
    ("Cost basis", "cost_basis"),
)
STRESS_COLUMNS = (
    ("Scenario", "name", None), ("ID", "scenario_id", None), ("Category", "category", None),
    ("Severity", "severity", None), ("Impact type", "impact_type", None), ("P&L", "pnl", DOLLARS),
    ("P&L %", "pnl_pct", PERCENT), ("New Value", "new_value", DOLLARS),
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


def _header(ws, titles: Iterable[str]) -> None:
    from openpyxl.styles import Font

    ws.append(list(titles))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"


def _row(ws, values: list[tuple[Any, str | None]]) -> None:
    ws.append([_cell_value(v, f) for v, f in values])
    row = ws[ws.max_row]  # as wide as the sheet's widest row
    for cell, (_, fmt) in zip(row[: len(values)], values, strict=True):
        if fmt:
            cell.number_format = fmt


def _table(ws, rows: list[dict], columns) -> None:
    _header(ws, [c[0] for c in columns])
    for r in rows:
        _row(ws, [(r.get(key), fmt) for _, key, fmt in columns])


def _stamp(ws, result: dict) -> None:
    """As-of date and calculation time under the table (the header row stays row 1)."""
    meta = result.get("metadata", {})
    ws.append([])
    if meta.get("as_of"):
        _row(ws, [("As of", None), (meta["as_of"], DATE)])
    if meta.get("calculated_at"):
        _row(ws, [("Calculated at (UTC)", None), (meta["calculated_at"], None)])


def _unavailable(ws, title: str, result: dict) -> bool:
    """Write why the result is missing into A1; True when it is."""
    if result.get("available"):
        return False
    reason = result.get("reason") or "unavailable"
    message = result.get("message") or ""
    ws["A1"] = f"{title} not available ({reason}){': ' + message if message else ''}"
    return True


def _widths(ws) -> None:
    for column in ws.columns:
        longest = max((len(str(c.value)) for c in column if c.value is not None), default=8)
        ws.column_dimensions[column[0].column_letter].width = min(max(10, longest + 2), 60)


def _positions_sheet(ws, view) -> None:
    _table(ws, view.rows, POSITION_COLUMNS)
    ws.append([])
    if view.as_of:
        _row(ws, [("As of", None), (view.as_of.isoformat(), DATE)])


def _exposures_sheet(ws, result: dict) -> None:
    if _unavailable(ws, "Exposures", result):
        return
    data = result["data"]
    summary = data.get("summary", {})
    equity = summary.get("equity") or 0.0
    _header(ws, ["Metric", "Value", "% of Equity"])
    for label, key in EXPOSURE_ROWS:
        value = summary.get(key)
        share = value / equity if isinstance(value, (int, float)) and equity else None
        _row(ws, [(label, None), (value, DOLLARS), (share, PERCENT)])
    ws.append([])
    _row(ws, [("Sector", None), ("Long", None), ("Short", None), ("Net", None), ("Gross", None)])
    for s in data.get("sectors", []):
        _row(ws, [(s.get("sector"), None), (s.get("long"), DOLLARS), (s.get("short"), DOLLARS),
                  (s.get("net"), DOLLARS), (s.get("gross"), DOLLARS)])
    _stamp(ws, result)


def _factors_sheet(ws, result: dict, definitions: list[dict]) -> None:
    if _unavailable(ws, "Factor exposures", result):
        return
    etf = {d["name"]: d["etf_symbol"] for d in definitions}
    _header(ws, ["Factor", "ETF Proxy", "Beta", "Dollar Exposure"])
    for f in result["data"].get("factors", []):
        _row(ws, [(f.get("name"), None), (etf.get(f.get("name")), None), (f.get("beta"), DECIMAL),
                  (f.get("exposure_dollar"), DOLLARS)])
    _stamp(ws, result)


def _risk_rows(data: dict) -> list[tuple[str, Any, str | None]]:
    rows = [
        ("Portfolio beta (vs SPY)", data.get("portfolio_beta"), DECIMAL),
        ("Annualized volatility", data.get("annualized_volatility"), PERCENT),
        ("Annualized volatility ($)", data.get("annualized_volatility_dollars"), DOLLARS),
        ("Max drawdown", data.get("max_drawdown"), PERCENT),
        ("Window start", data.get("start"), DATE),
        ("Window end", data.get("end"), DATE),
        ("Observations", data.get("nobs"), None),
    ]
    for v in data.get("var", []):
        level = f"{float(v.get('confidence') or 0):.0%}"
        for label, key in (("Historical VaR", "historical"), ("Expected shortfall", "expected_shortfall"),
                           ("Parametric VaR", "parametric")):
            rows.append((f"{label} {level}, 1-day", (v.get(key) or {}).get("return"), PERCENT))
            rows.append((f"{label} {level}, 1-day ($)", (v.get(key) or {}).get("dollars"), DOLLARS))
    return rows


def _risk_sheet(ws, result: dict) -> None:
    if _unavailable(ws, "Risk metrics", result):
        return
    _header(ws, ["Metric", "Value"])
    for label, value, fmt in _risk_rows(result["data"]):
        _row(ws, [(label, None), (value, fmt if value is not None else None)])
    _stamp(ws, result)


def _stress_sheet(ws, result: dict) -> None:
    if _unavailable(ws, "Stress tests", result):
        return
    _table(ws, result["data"].get("scenarios", []), STRESS_COLUMNS)
    _stamp(ws, result)


def portfolio_xlsx(portfolio: Portfolio) -> bytes:
    """The workbook: Positions, Exposures, Factors, Risk, Stress (a missing result says why in A1)."""
    from openpyxl import Workbook

    wb = Workbook()
    sheets = {name: (wb.active if i == 0 else wb.create_sheet()) for i, name in enumerate(SHEETS)}
    for name, ws in sheets.items():
        ws.title = name
    _positions_sheet(sheets["Positions"], portfolio_svc.positions_view(portfolio))
    _exposures_sheet(sheets["Exposures"], analytics.overview(portfolio).to_dict())
    _factors_sheet(sheets["Factors"], analytics.factor_exposures(portfolio).to_dict(),
                   analytics.factor_definitions())
    _risk_sheet(sheets["Risk"], analytics.risk_metrics(portfolio).to_dict())
    _stress_sheet(sheets["Stress"], analytics.stress_test(portfolio).to_dict())
    for ws in sheets.values():
        _widths(ws)
    wb.properties.title = f"SigmaSight — {portfolio.name}"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()

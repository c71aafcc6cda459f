"""What leaves SigmaSight: raw data packages (/data API), JSON/CSV/XLSX exports and trade lists.

Read-only. Stored analytics come from ``services.analytics`` (never recomputed here); prices and
positions come from ``services.queries`` and the positions read model.
"""
from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from webapp.analytics.constants import DEFAULT_FACTOR_WINDOW, DEFAULT_RISK_WINDOW, MIN_FACTOR_OBSERVATIONS
from webapp.analytics.correlations import DEFAULT_MIN_OVERLAP
from webapp.analytics.exposures import MAX_PRICE_AGE_DAYS
from webapp.analytics.factors import FACTORS
from webapp.analytics.risk import MIN_RISK_OBSERVATIONS
from webapp.extensions import db
from webapp.imports import neutralize, parse_option_symbol
from webapp.imports.symbols import stock_symbol
from webapp.marketdata.sync import CALENDAR_SYMBOL
from webapp.models import Portfolio, Position, PriceBar
from webapp.models._time import isoformat_z, utcnow
from webapp.services import analytics, queries
from webapp.services import portfolios as portfolio_svc
from webapp.services.management import ValidationError, osi_symbol
from webapp.services.results import jsonable

CANONICAL_HEADER = ("ticker", "quantity", "entry_price", "entry_date", "tags", "strategy", "notes")
OHLCV = ("open", "high", "low", "close", "volume")
# Default windows of the engines, for the data-quality feasibility check: (window, minimum returns).
FEASIBILITY = {
    "factor_exposures": (DEFAULT_FACTOR_WINDOW, MIN_FACTOR_OBSERVATIONS),
    "correlations": (DEFAULT_RISK_WINDOW, DEFAULT_MIN_OVERLAP),
    "risk_metrics": (DEFAULT_RISK_WINDOW, MIN_RISK_OBSERVATIONS),
}


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------
def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def unix_seconds(day: dt.date) -> int:
    """Midnight UTC of ``day`` as Unix seconds (dates have no time: never the local zone)."""
    return calendar.timegm(day.timetuple())


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by '-' (for download file names)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60].strip("-") or "portfolio"


def export_filename(portfolio: Portfolio, suffix: str, ext: str) -> str:
    """``<name-slug>[-suffix]-<as-of>.<ext>``; the as-of is the last price date."""
    as_of = queries.latest_price_date()
    parts = [slugify(portfolio.name), suffix, as_of.isoformat() if as_of else "no-prices"]
    return "-".join(p for p in parts if p) + "." + ext


def trading_calendar(as_of: dt.date | None, days: int) -> list[dt.date]:
    """The last ``days`` trading dates up to ``as_of`` (the calendar symbol's stored dates)."""
    if as_of is None:
        return []
    rows = db.session.scalars(
        select(PriceBar.date)
        .where(PriceBar.symbol == CALENDAR_SYMBOL, PriceBar.date <= as_of)
        .order_by(PriceBar.date.desc())
        .limit(days)
    )
    return sorted(rows)


def last_bars(symbols: Iterable[str], as_of: dt.date | None) -> dict[str, list[tuple[dt.date, float]]]:
    """The last two (date, adj_close) bars on or before ``as_of`` per symbol, newest first."""
    symbols = sorted(set(symbols))
    if not symbols or as_of is None:
        return {}
    rank = func.row_number().over(partition_by=PriceBar.symbol, order_by=PriceBar.date.desc())
    sub = (
        select(PriceBar.symbol, PriceBar.date, PriceBar.adj_close, rank.label("rn"))
        .where(PriceBar.symbol.in_(symbols), PriceBar.date <= as_of)
        .subquery()
    )
    out: dict[str, list[tuple[dt.date, float]]] = {}
    query = select(sub.c.symbol, sub.c.date, sub.c.adj_close).where(sub.c.rn <= 2).order_by(
        sub.c.symbol, sub.c.date.desc())
    for symbol, day, close in db.session.execute(query):
        out.setdefault(symbol, []).append((day, float(close)))
    return out


def _quote(symbol: str, bars: list[tuple[dt.date, float]], as_of: dt.date) -> dict:
    """Last price, its date and the change from the bar before (decimal fraction for pct)."""
    (day, price), prev = bars[0], (bars[1] if len(bars) > 1 else None)
    change = price - prev[1] if prev else None
    return {
        "symbol": symbol,
        "price": price,
        "date": day.isoformat(),
        "previous_close": prev[1] if prev else None,
        "previous_date": prev[0].isoformat() if prev else None,
        "change": change,
        "change_pct": (change / prev[1]) if prev and prev[1] else None,
        "stale": (as_of - day).days > MAX_PRICE_AGE_DAYS,
    }


def _portfolio_dict(portfolio: Portfolio, view) -> dict:
    return {
        "id": portfolio.id,
        "name": portfolio.name,
        "description": portfolio.description,
        "cash_balance": portfolio.cash,
        "total_value": view.totals.get("equity"),
        "position_count": len(view.rows),
        "created_at": isoformat_z(portfolio.created_at),
        "updated_at": isoformat_z(portfolio.updated_at),
    }


# ------------------------------------------------------------------------------------------------
# Raw data: the /data endpoints
# ------------------------------------------------------------------------------------------------
def portfolio_complete(portfolio: Portfolio) -> dict:
    """Positions valued as of the last price date, the prices used and the book's totals."""
    view = portfolio_svc.positions_view(portfolio)
    symbols = sorted({r["underlying"] or r["symbol"] for r in view.rows})
    bars = last_bars(symbols, view.as_of)
    prices = {s: _quote(s, bars[s], view.as_of) for s in symbols if s in bars}
    missing = [s for s in symbols if s not in bars]
    stale = [s for s, q in prices.items() if q["stale"]]
    return {
        "portfolio": _portfolio_dict(portfolio, view),
        "as_of": _iso(view.as_of),
        "summary": view.totals,
        "positions": view.rows,
        "prices": prices,
        "left_out": view.left_out,
        "data_quality": {
            "symbols": len(symbols),
            "symbols_priced": len(symbols) - len(missing) - len(stale),
            "missing_prices": missing,
            "stale_prices": stale,
            "positions_valued": len(view.rows) - len(view.left_out),
            "positions_left_out": len(view.left_out),
        },
        "generated_at": isoformat_z(utcnow()),
    }


def _gap_ranges(window: list[dt.date], have: set[dt.date]) -> list[list[str]]:
    """Runs of consecutive calendar dates in ``window`` with no stored bar."""
    ranges, run = [], []
    for day in window:
        if day in have:
            if run:
                ranges.append([run[0].isoformat(), run[-1].isoformat()])
                run = []
        else:
            run.append(day)
    if run:
        ranges.append([run[0].isoformat(), run[-1].isoformat()])
    return ranges


def _symbol_dates(symbols: list[str], start: dt.date, end: dt.date) -> dict[str, set[dt.date]]:
    have: dict[str, set[dt.date]] = {s: set() for s in symbols}
    rows = db.session.execute(
        select(PriceBar.symbol, PriceBar.date).where(
            PriceBar.symbol.in_(symbols), PriceBar.date >= start, PriceBar.date <= end)
    )
    for symbol, day in rows:
        have[symbol].add(day)
    return have


def _feasibility(symbols: list[str], have: dict[str, set[dt.date]], calendar_days: list[dt.date]) -> dict:
    """Which symbols have enough returns for each engine's default window."""
    out = {}
    for name, (window, minimum) in FEASIBILITY.items():
        # N returns need N+1 closes; a return exists only between two consecutive stored closes.
        days = calendar_days[-(window + 1):]
        eligible, ineligible = [], []
        for s in symbols:
            held = [d in have[s] for d in days]
            returns = sum(1 for a, b in zip(held, held[1:], strict=False) if a and b)
            (eligible if returns >= minimum else ineligible).append(
                {"symbol": s, "returns": returns})
        out[name] = {"window": window, "min_returns": minimum,
                     "eligible": [e["symbol"] for e in eligible], "ineligible": ineligible}
    return out


def data_quality(portfolio: Portfolio, *, lookback_days: int = 252) -> dict:
    """Per-symbol price coverage over the last ``lookback_days`` trading days, and what it permits."""
    as_of = queries.latest_price_date()
    symbols = sorted({p.price_symbol for p in queries.open_positions(portfolio.id)})
    longest = max(lookback_days, *(w for w, _ in FEASIBILITY.values())) + 1
    calendar_days = trading_calendar(as_of, longest)
    window = calendar_days[-lookback_days:]
    have = _symbol_dates(symbols, calendar_days[0], as_of) if calendar_days else {s: set() for s in symbols}
    history = dict(db.session.execute(
        select(PriceBar.symbol, func.min(PriceBar.date)).where(PriceBar.symbol.in_(symbols))
        .group_by(PriceBar.symbol)).all()) if symbols else {}
    rows, missing = [], []
    for s in symbols:
        in_window = sorted(d for d in have[s] if window and d >= window[0])
        if s not in history:
            missing.append(s)
        last = in_window[-1] if in_window else None
        rows.append({
            "symbol": s,
            "history_start": _iso(history.get(s)),
            "first_date": _iso(in_window[0]) if in_window else None,
            "last_date": _iso(last),
            "trading_days": len(in_window),
            "expected_days": len(window),
            "gap_days": len(window) - len(set(in_window) & set(window)),
            "gap_ranges": _gap_ranges(window, have[s]),
            "completeness": (len(set(in_window) & set(window)) / len(window)) if window else 0.0,
            "stale_days": sum(1 for d in window if last is None or d > last),
        })
    complete = [r["symbol"] for r in rows if r["gap_days"] == 0 and r["trading_days"]]
    return {
        "portfolio_id": portfolio.id,
        "as_of": _iso(as_of),
        "lookback_days": lookback_days,
        "window": {"start": _iso(window[0]) if window else None, "end": _iso(window[-1]) if window else None,
                   "trading_days": len(window), "calendar_symbol": CALENDAR_SYMBOL},
        "symbols": rows,
        "missing_symbols": missing,
        "summary": {
            "symbols": len(symbols),
            "complete": len(complete),
            "partial": len(symbols) - len(complete) - len(missing),
            "missing": len(missing),
            "average_completeness": (sum(r["completeness"] for r in rows) / len(rows)) if rows else None,
        },
        "feasibility": _feasibility(symbols, have, calendar_days) if calendar_days else {},
        "generated_at": isoformat_z(utcnow()),
    }


def _ranked_symbols(view) -> list[str]:
    """Underlying symbols, largest |market value| first (unvalued ones last, by name)."""
    size: dict[str, float] = {}
    for r in view.rows:
        s = r["underlying"] or r["symbol"]
        size[s] = size.get(s, 0.0) + abs(r["market_value"] or 0.0)
    return sorted(size, key=lambda s: (-size[s], s))


def _series(symbols: list[str], dates: list[dt.date]) -> dict[str, dict[str, list]]:
    """Aligned price arrays per symbol on ``dates`` (null where no bar); OHLCV only where stored."""
    if not symbols or not dates:
        return {s: {"adj_close": []} for s in symbols}
    position = {d: i for i, d in enumerate(dates)}
    cols = (PriceBar.symbol, PriceBar.date, PriceBar.adj_close, *(getattr(PriceBar, c) for c in OHLCV))
    out = {s: {k: [None] * len(dates) for k in ("adj_close", *OHLCV)} for s in symbols}
    rows = db.session.execute(select(*cols).where(
        PriceBar.symbol.in_(symbols), PriceBar.date >= dates[0], PriceBar.date <= dates[-1]))
    for symbol, day, adj, *ohlcv in rows:
        i = position.get(day)
        if i is None:
            continue
        out[symbol]["adj_close"][i] = float(adj)
        for key, value in zip(OHLCV, ohlcv, strict=True):
            out[symbol][key][i] = value
    for s in symbols:  # the bundled recent history has only adjusted closes: drop all-null columns
        for key in OHLCV:
            if all(v is None for v in out[s][key]):
                del out[s][key]
    return out


def historical_prices(portfolio: Portfolio, *, lookback_days: int = 90, max_symbols: int | None = None,
                      date_format: str = "iso", include_factor_etfs: bool = False) -> dict:
    """Daily prices of the portfolio's symbols on one aligned date axis (the trading calendar)."""
    view = portfolio_svc.positions_view(portfolio)
    ranked = _ranked_symbols(view)
    chosen = ranked[:max_symbols] if max_symbols else ranked
    dates = trading_calendar(view.as_of, lookback_days)
    series = _series(chosen, dates)
    missing = [s for s in chosen if all(v is None for v in series[s]["adj_close"])]
    body = {
        "portfolio_id": portfolio.id,
        "as_of": _iso(view.as_of),
        "dates": [unix_seconds(d) for d in dates] if date_format == "unix" else [d.isoformat() for d in dates],
        "symbols": series,
        "metadata": {
            "lookback_days": lookback_days,
            "date_format": date_format,
            "start_date": _iso(dates[0]) if dates else None,
            "end_date": _iso(dates[-1]) if dates else None,
            "trading_days": len(dates),
            "price_field": "adj_close",
            "selection": "largest |market value| first; options as their underlying",
            "max_symbols": max_symbols,
            "total_symbols": len(ranked),
            "symbols_returned": len(chosen),
            "truncated": len(chosen) < len(ranked),
            "omitted_symbols": ranked[len(chosen):],
            "missing_symbols": missing,
        },
    }
    if include_factor_etfs:
        body["factor_etfs"] = _series(sorted({f.etf_symbol for f in FACTORS}), dates)
    return body


def quotes(symbols: list[str]) -> dict:
    """Last stored price, its date and the one-day change per symbol; unknown symbols listed."""
    as_of = queries.latest_price_date()
    bars = last_bars(symbols, as_of)
    info = queries.security_info(bars)
    out = []
    for s in symbols:
        if s in bars:
            security = info.get(s)
            out.append({**_quote(s, bars[s], as_of), "name": security.name if security else None})
    return {
        "as_of": _iso(as_of),
        "quotes": out,
        "unknown_symbols": [s for s in symbols if s not in bars],
        "metadata": {"price_field": "adj_close", "change": "vs the previous stored close",
                     "change_pct": "decimal fraction (0.0123 = 1.23%)"},
    }


def factor_etf_prices(*, lookback_days: int = 30) -> dict:
    """The factor proxies' last prices and one-day changes, with their recent aligned series."""
    as_of = queries.latest_price_date()
    dates = trading_calendar(as_of, lookback_days)
    etfs = [f.etf_symbol for f in FACTORS]
    bars = last_bars(etfs, as_of)
    series = _series(sorted(set(etfs)), dates)
    rows = []
    for spec in FACTORS:
        quote = _quote(spec.etf_symbol, bars[spec.etf_symbol], as_of) if spec.etf_symbol in bars else None
        rows.append({"factor": spec.name, "etf_symbol": spec.etf_symbol,
                     "construction": spec.construction, "quote": quote,
                     "adj_close": series[spec.etf_symbol]["adj_close"]})
    return {"as_of": _iso(as_of), "lookback_days": lookback_days,
            "dates": [d.isoformat() for d in dates], "factors": rows,
            "metadata": {"price_field": "adj_close", "factor_count": len(rows)}}


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


# ------------------------------------------------------------------------------------------------
# Trade lists
# ------------------------------------------------------------------------------------------------
ACTIONS = ("BUY", "SELL", "SELL_SHORT", "BUY_TO_COVER")
TRADE_COLUMNS = ("Action", "Symbol", "Quantity", "Order Type", "Est. Price", "Est. Value")
_ACTION_ORDER = {"SELL": 0, "BUY_TO_COVER": 1, "SELL_SHORT": 2, "BUY": 3}
MAX_TRADE_ROWS = 1000


def _symbol(raw: Any, field: str, errors: dict[str, str]) -> str | None:
    """Normalised stock ticker (BRK.B -> BRK-B) or unpadded OSI option symbol."""
    if not isinstance(raw, str) or not raw.strip():
        errors[field] = "A symbol (text) is required."
        return None
    option = parse_option_symbol(raw)
    if option is not None:
        return option.osi
    symbol = stock_symbol(raw)
    if symbol is None:
        errors[field] = f"'{raw[:40]}' is neither a ticker nor an OSI option symbol."
    return symbol


def _quantity(raw: Any, field: str, errors: dict[str, str], *, allow_negative: bool) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        errors[field] = "A number is required."
        return None
    if raw == 0 and not allow_negative:
        errors[field] = "The quantity must be greater than zero."
        return None
    if raw < 0 and not allow_negative:
        errors[field] = "The quantity must be positive; the side says buy or sell."
        return None
    return float(raw)


def _rows(payload: dict, key: str, errors: dict[str, str]) -> list[dict]:
    rows = payload.get(key)
    if not isinstance(rows, list) or not rows:
        errors[key] = "A non-empty list is required."
        return []
    if len(rows) > MAX_TRADE_ROWS:
        errors[key] = f"At most {MAX_TRADE_ROWS} rows."
        return []
    bad = [i for i, r in enumerate(rows) if not isinstance(r, dict)]
    for i in bad:
        errors[f"{key}[{i}]"] = "Each row is an object."
    return [r for r in rows if isinstance(r, dict)] if not bad else []


def _targets(payload: dict, errors: dict[str, str]) -> dict[str, float]:
    targets: dict[str, float] = {}
    for i, row in enumerate(_rows(payload, "target", errors)):
        symbol = _symbol(row.get("symbol"), f"target[{i}].symbol", errors)
        quantity = _quantity(row.get("quantity"), f"target[{i}].quantity", errors, allow_negative=True)
        if symbol in targets:
            errors[f"target[{i}].symbol"] = f"{symbol} is listed twice."
        elif symbol is not None and quantity is not None:
            targets[symbol] = quantity
    return targets


def _orders_from_target(current: dict[str, float], targets: dict[str, float], close_unlisted: bool):
    """(action, symbol, quantity) legs taking each position from current to target."""
    symbols = set(targets) | (set(current) if close_unlisted else set())
    legs = []
    for s in symbols:
        have, want = current.get(s, 0.0), targets.get(s, 0.0)
        if want == have:
            continue
        if want > have:
            if have < 0:  # cover the short first, then go long with the rest
                legs.append(("BUY_TO_COVER", s, min(want, 0.0) - have))
            if want > 0:
                legs.append(("BUY", s, want - max(have, 0.0)))
        else:
            if have > 0:
                legs.append(("SELL", s, have - max(want, 0.0)))
            if want < 0:
                legs.append(("SELL_SHORT", s, min(have, 0.0) - want))
    return [leg for leg in legs if leg[2] > 0]


def _explicit_orders(payload: dict, errors: dict[str, str]):
    legs = []
    for i, row in enumerate(_rows(payload, "trades", errors)):
        symbol = _symbol(row.get("symbol"), f"trades[{i}].symbol", errors)
        side = row.get("side")
        if not isinstance(side, str) or side.upper() not in ACTIONS:
            errors[f"trades[{i}].side"] = f"The side must be one of {', '.join(ACTIONS)}."
        quantity = _quantity(row.get("quantity"), f"trades[{i}].quantity", errors, allow_negative=False)
        if symbol and isinstance(side, str) and side.upper() in ACTIONS and quantity:
            legs.append((side.upper(), symbol, quantity))
    return legs


def _check_symbols(legs: list[tuple[str, str, float]], held: set[str], errors: dict[str, str]) -> None:
    """Stocks need stored prices; options must be whole contracts."""
    known = queries.known_symbols()
    for _, symbol, quantity in legs:
        option = parse_option_symbol(symbol) if symbol not in known else None
        if option is None and symbol not in known and symbol not in held:
            errors.setdefault(f"symbol:{symbol}", f"No stored prices for {symbol}; it cannot be priced.")
        if option is not None and quantity != int(quantity):
            errors.setdefault(f"symbol:{symbol}", "Options trade in whole contracts.")


def trade_list(portfolio: Portfolio, payload: dict) -> list[dict]:
    """Broker-style orders: from ``target`` quantities (vs current holdings) or explicit ``trades``.

    ``target`` is the complete desired book: open positions it does not list are closed, unless
    ``close_unlisted`` is false. Raises ``ValidationError`` (field -> message) for bad input.
    """
    errors: dict[str, str] = {}
    has_target, has_trades = "target" in payload, "trades" in payload
    if has_target == has_trades:
        raise ValidationError({"body": "Send exactly one of 'target' or 'trades'."})
    view = portfolio_svc.positions_view(portfolio)
    current: dict[str, float] = {}
    prices: dict[str, tuple[float | None, float]] = {}
    for r in view.rows:
        current[r["symbol"]] = current.get(r["symbol"], 0.0) + float(r["quantity"])
        prices[r["symbol"]] = (r["price"], float(r["multiplier"] or 1.0))
    if has_target:
        close_unlisted = payload.get("close_unlisted", True)
        if not isinstance(close_unlisted, bool):
            errors["close_unlisted"] = "true or false."
        targets = _targets(payload, errors)
        legs = _orders_from_target(current, targets, close_unlisted is not False)
    else:
        legs = _explicit_orders(payload, errors)
    _check_symbols(legs, set(current), errors)
    if errors:
        raise ValidationError(errors)
    last = last_bars({s for _, s, _ in legs if s not in prices}, view.as_of)
    out = []
    for action, symbol, quantity in sorted(legs, key=lambda leg: (_ACTION_ORDER[leg[0]], leg[1])):
        price, multiplier = prices.get(symbol, (last[symbol][0][1] if symbol in last else None, 1.0))
        if symbol not in prices and parse_option_symbol(symbol) is not None:
            price, multiplier = None, 100.0  # an option not held has no model price here
        out.append({
            "Action": action,
            "Symbol": symbol,
            "Quantity": quantity,
            "Order Type": "MARKET",
            "Est. Price": price,
            "Est. Value": quantity * price * multiplier if price is not None else None,
        })
    return out


def trades_csv(rows: list[dict]) -> str:
    """The trade list as CSV with broker-style columns; text cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TRADE_COLUMNS)
    for r in rows:
        writer.writerow([
            neutralize(r["Action"]), neutralize(r["Symbol"]), _number(r["Quantity"]), r["Order Type"],
            "" if r["Est. Price"] is None else f"{r['Est. Price']:.4f}",
            "" if r["Est. Value"] is None else f"{r['Est. Value']:.2f}",
        ])
    return buffer.getvalue()

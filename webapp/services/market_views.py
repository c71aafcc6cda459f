"""Raw data read models behind the /data endpoints: complete package, data quality, prices, quotes.

Read-only. Prices and positions come from ``services.queries`` and the positions read model.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from collections.abc import Iterable

from sqlalchemy import func, select

from webapp.analytics.constants import (
    DEFAULT_FACTOR_WINDOW,
    DEFAULT_RISK_WINDOW,
    MIN_FACTOR_OBSERVATIONS,
)
from webapp.analytics.correlations import DEFAULT_MIN_OVERLAP
from webapp.analytics.exposures import MAX_PRICE_AGE_DAYS
from webapp.analytics.factors import FACTORS
from webapp.analytics.risk import MIN_RISK_OBSERVATIONS
from webapp.extensions import db
from webapp.marketdata.sync import CALENDAR_SYMBOL
from webapp.models import Portfolio, PriceBar
from webapp.models._time import isoformat_z, utcnow
from webapp.services import queries
from webapp.services.jsonable import jsonable
from webapp.services.positions import portfolio_dict, positions_view

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


def last_bars(
    symbols: Iterable[str], as_of: dt.date | None
) -> dict[str, list[tuple[dt.date, float]]]:
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
    query = (
        select(sub.c.symbol, sub.c.date, sub.c.adj_close)
        .where(sub.c.rn <= 2)
        .order_by(sub.c.symbol, sub.c.date.desc())
    )
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


# ------------------------------------------------------------------------------------------------
# Raw data: the /data endpoints
# ------------------------------------------------------------------------------------------------
def portfolio_complete(portfolio: Portfolio) -> dict:
    """Positions valued as of the last price date, the prices used and the book's totals."""
    view = positions_view(portfolio)
    symbols = sorted({r["underlying"] or r["symbol"] for r in view.rows})
    bars = last_bars(symbols, view.as_of)
    prices = {s: _quote(s, bars[s], view.as_of) for s in symbols if s in bars}
    missing = [s for s in symbols if s not in bars]
    stale = [s for s, q in prices.items() if q["stale"]]
    return {
        "portfolio": portfolio_dict(portfolio, view),
        "as_of": jsonable(view.as_of),
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
            PriceBar.symbol.in_(symbols), PriceBar.date >= start, PriceBar.date <= end
        )
    )
    for symbol, day in rows:
        have[symbol].add(day)
    return have


def _feasibility(
    symbols: list[str], have: dict[str, set[dt.date]], calendar_days: list[dt.date]
) -> dict:
    """Which symbols have enough returns for each engine's default window."""
    out = {}
    for name, (window, minimum) in FEASIBILITY.items():
        # N returns need N+1 closes; a return exists only between two consecutive stored closes.
        days = calendar_days[-(window + 1) :]
        eligible, ineligible = [], []
        for s in symbols:
            held = [d in have[s] for d in days]
            returns = sum(1 for a, b in zip(held, held[1:], strict=False) if a and b)
            (eligible if returns >= minimum else ineligible).append(
                {"symbol": s, "returns": returns}
            )
        out[name] = {
            "window": window,
            "min_returns": minimum,
            "eligible": [e["symbol"] for e in eligible],
            "ineligible": ineligible,
        }
    return out


def data_quality(portfolio: Portfolio, *, lookback_days: int = 252) -> dict:
    """Per-symbol price coverage over the last ``lookback_days`` trading days.

    Also what that coverage permits: which symbols have enough returns for each calculation.
    """
    as_of = queries.latest_price_date()
    symbols = sorted({p.price_symbol for p in queries.open_positions(portfolio.id)})
    longest = max(lookback_days, *(w for w, _ in FEASIBILITY.values())) + 1
    calendar_days = trading_calendar(as_of, longest)
    window = calendar_days[-lookback_days:]
    have = (
        _symbol_dates(symbols, calendar_days[0], as_of)
        if calendar_days
        else {s: set() for s in symbols}
    )
    history = (
        dict(
            db.session.execute(
                select(PriceBar.symbol, func.min(PriceBar.date))
                .where(PriceBar.symbol.in_(symbols))
                .group_by(PriceBar.symbol)
            ).all()
        )
        if symbols
        else {}
    )
    rows, missing = [], []
    for s in symbols:
        in_window = sorted(d for d in have[s] if window and d >= window[0])
        if s not in history:
            missing.append(s)
        last = in_window[-1] if in_window else None
        rows.append(
            {
                "symbol": s,
                "history_start": jsonable(history.get(s)),
                "first_date": jsonable(in_window[0]) if in_window else None,
                "last_date": jsonable(last),
                "trading_days": len(in_window),
                "expected_days": len(window),
                "gap_days": len(window) - len(set(in_window) & set(window)),
                "gap_ranges": _gap_ranges(window, have[s]),
                "completeness": (len(set(in_window) & set(window)) / len(window))
                if window
                else 0.0,
                "stale_days": sum(1 for d in window if last is None or d > last),
            }
        )
    complete = [r["symbol"] for r in rows if r["gap_days"] == 0 and r["trading_days"]]
    return {
        "portfolio_id": portfolio.id,
        "as_of": jsonable(as_of),
        "lookback_days": lookback_days,
        "window": {
            "start": jsonable(window[0]) if window else None,
            "end": jsonable(window[-1]) if window else None,
            "trading_days": len(window),
            "calendar_symbol": CALENDAR_SYMBOL,
        },
        "symbols": rows,
        "missing_symbols": missing,
        "summary": {
            "symbols": len(symbols),
            "complete": len(complete),
            "partial": len(symbols) - len(complete) - len(missing),
            "missing": len(missing),
            "average_completeness": (sum(r["completeness"] for r in rows) / len(rows))
            if rows
            else None,
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
    cols = (
        PriceBar.symbol,
        PriceBar.date,
        PriceBar.adj_close,
        *(getattr(PriceBar, c) for c in OHLCV),
    )
    out = {s: {k: [None] * len(dates) for k in ("adj_close", *OHLCV)} for s in symbols}
    rows = db.session.execute(
        select(*cols).where(
            PriceBar.symbol.in_(symbols), PriceBar.date >= dates[0], PriceBar.date <= dates[-1]
        )
    )
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


#: The most a /data payload carries, in bytes of compact JSON: about 150k tokens for an LLM
#: client (4 bytes a token), the reference contract's bound. Larger answers are cut between
#: symbols, say so in metadata, and give the cursor of the next page.
MAX_PAYLOAD_BYTES = 600_000


def _json_size(value) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def historical_prices(
    portfolio: Portfolio,
    *,
    lookback_days: int = 90,
    max_symbols: int | None = None,
    date_format: str = "iso",
    include_factor_etfs: bool = False,
    cursor: int = 0,
    max_bytes: int = MAX_PAYLOAD_BYTES,
) -> dict:
    """Daily prices of the portfolio's symbols on one aligned date axis (the trading calendar).

    Symbols come largest first from ``cursor`` (their index in that order), at most
    ``max_symbols``, and no more than fit ``max_bytes`` of JSON (always at least one):
    ``metadata.next_cursor`` is where the next page starts (None on the last page).
    """
    view = positions_view(portfolio)
    ranked = _ranked_symbols(view)
    window = ranked[cursor:]
    wanted = window[:max_symbols] if max_symbols else window
    dates = trading_calendar(view.as_of, lookback_days)
    series = _series(wanted, dates)
    # The factor ETFs come with the first page only (they are the same on every page).
    with_etfs = include_factor_etfs and cursor == 0
    etfs = _series(sorted({f.etf_symbol for f in FACTORS}), dates) if with_etfs else {}
    # What is not symbol series: the dates, the ETFs and ~2 KB of metadata (omitted symbols).
    used = _json_size([d.isoformat() for d in dates]) + _json_size(etfs) + 2_000
    used += _json_size(ranked)
    chosen = []
    for symbol in wanted:
        size = _json_size(series[symbol]) + len(symbol) + 4
        if chosen and used + size > max_bytes:
            break
        chosen.append(symbol)
        used += size
    series = {s: series[s] for s in chosen}
    following = cursor + len(chosen)
    missing = [s for s in chosen if all(v is None for v in series[s]["adj_close"])]
    body = {
        "portfolio_id": portfolio.id,
        "as_of": jsonable(view.as_of),
        "dates": [unix_seconds(d) for d in dates]
        if date_format == "unix"
        else [d.isoformat() for d in dates],
        "symbols": series,
        "metadata": {
            "lookback_days": lookback_days,
            "date_format": date_format,
            "start_date": jsonable(dates[0]) if dates else None,
            "end_date": jsonable(dates[-1]) if dates else None,
            "trading_days": len(dates),
            "price_field": "adj_close",
            "selection": "largest |market value| first; options as their underlying",
            "max_symbols": max_symbols,
            "total_symbols": len(ranked),
            "symbols_returned": len(chosen),
            "truncated": len(chosen) < len(ranked),
            "omitted_symbols": [s for s in ranked if s not in series],
            "missing_symbols": missing,
            "cursor": cursor,
            "max_bytes": max_bytes,
            "truncated_by_size": len(chosen) < len(wanted),
            "next_cursor": following if following < len(ranked) else None,
        },
    }
    if with_etfs:
        body["factor_etfs"] = etfs
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
        "as_of": jsonable(as_of),
        "quotes": out,
        "unknown_symbols": [s for s in symbols if s not in bars],
        "metadata": {
            "price_field": "adj_close",
            "change": "vs the previous stored close",
            "change_pct": "decimal fraction (0.0123 = 1.23%)",
        },
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
        quote = (
            _quote(spec.etf_symbol, bars[spec.etf_symbol], as_of)
            if spec.etf_symbol in bars
            else None
        )
        rows.append(
            {
                "factor": spec.name,
                "etf_symbol": spec.etf_symbol,
                "construction": spec.construction,
                "quote": quote,
                "adj_close": series[spec.etf_symbol]["adj_close"],
            }
        )
    return {
        "as_of": jsonable(as_of),
        "lookback_days": lookback_days,
        "dates": [d.isoformat() for d in dates],
        "factors": rows,
        "metadata": {"price_field": "adj_close", "factor_count": len(rows)},
    }

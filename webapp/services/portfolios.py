"""Portfolio read models: the advisor's list and the valued positions table."""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select

from webapp.analytics.constants import DEFAULT_FACTOR_WINDOW, REALIZED_VOL_WINDOW
from webapp.analytics.exposures import exposure_summary, value_holdings
from webapp.extensions import db
from webapp.models import Portfolio
from webapp.services import queries

MAX_ID = 2**31 - 1

# Enough history for the 60-day realized vol of option underlyings.
VALUATION_HISTORY_DAYS = 140


class NotOwned(LookupError):
    """No such record for this advisor: missing, or another advisor's (both read as 404).

    A service exception, not werkzeug's: the app maps it once to the 404 page or the API's
    error shape, so services do not decide HTTP.
    """


def owned_portfolio(portfolio_id: int, user_id: int) -> Portfolio:
    """The portfolio if ``user_id`` owns it; otherwise 404 (never reveal another advisor's data)."""
    # Ids beyond the INTEGER column cannot exist; asking the database would overflow (500).
    portfolio = db.session.get(Portfolio, portfolio_id) if 0 < portfolio_id <= MAX_ID else None
    if portfolio is None or portfolio.user_id != user_id:
        raise NotOwned("No such portfolio.")
    return portfolio


def user_portfolios(user_id: int) -> list[Portfolio]:
    """The user's portfolios, by name."""
    return list(
        db.session.scalars(
            select(Portfolio).where(Portfolio.user_id == user_id).order_by(Portfolio.name)
        )
    )


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


@dataclass
class PositionsView:
    """The valued positions table of one portfolio as of the last price date."""

    portfolio_id: int
    as_of: dt.date | None
    rows: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    left_out: list[dict] = field(default_factory=list)

    @property
    def strategies(self) -> list[dict]:
        """Subtotals per strategy (positions without one grouped as "Unassigned"), largest first."""
        groups: dict[str, dict] = {}
        for r in self.rows:
            name = r.get("strategy") or "Unassigned"
            g = groups.setdefault(
                name,
                {
                    "strategy": name,
                    "positions": 0,
                    "market_value": 0.0,
                    "unrealized_pnl": 0.0,
                    "exposure": 0.0,
                },
            )
            g["positions"] += 1
            if r.get("status") == "ok":
                for key in ("market_value", "unrealized_pnl", "exposure"):
                    g[key] += r.get(key) or 0.0
        return sorted(groups.values(), key=lambda g: -abs(g["market_value"]))

    def to_dict(self) -> dict:
        """The API shape: positions, totals, strategy subtotals and the holdings left out."""
        return {
            "portfolio_id": self.portfolio_id,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "positions": self.rows,
            "totals": self.totals,
            "strategies": self.strategies,
            "left_out": self.left_out,
        }


ROW_FIELDS = (
    "symbol",
    "underlying",
    "position_type",
    "quantity",
    "multiplier",
    "entry_price",
    "entry_date",
    "price",
    "underlying_price",
    "market_value",
    "cost_basis",
    "unrealized_pnl",
    "unrealized_pnl_pct",
    "exposure",
    "strike",
    "expiry",
    "status",
    "reason_detail",
)


# Recent valuations by their exact inputs: pages and partials revalue the same book on every
# click, and the inputs (holdings, as-of date, rate, stored bars) rarely change between clicks.
# gunicorn serves requests from several threads: every read and write of the cache holds the
# lock (a check-then-read could otherwise meet another thread's eviction). Per process, and safe
# across processes because the key includes the price version.
_VALUATIONS: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
_VALUATIONS_SIZE = 64
_VALUATIONS_LOCK = threading.Lock()


def _valuation_key(holdings: pd.DataFrame, as_of: dt.date, rate: float) -> tuple:
    """Everything value_holdings reads: the holdings, the date, the rate and the stored bars.

    Bars are insert-only, so the highest bar id changes whenever any price is added.
    """
    digest = int(pd.util.hash_pandas_object(holdings.astype(str), index=True).sum())
    return digest, tuple(holdings.index), as_of, rate, queries.price_version()


def valued_holdings(portfolio: Portfolio, as_of: dt.date | None = None):
    """(as_of, positions, valued holdings frame) for the portfolio's open positions."""
    as_of = as_of or queries.latest_price_date()
    positions = queries.open_positions(portfolio.id)
    holdings = queries.holdings_frame(positions)
    if as_of is None or holdings.empty:
        return as_of, positions, None
    rate = queries.risk_free_on(as_of) or 0.0
    key = _valuation_key(holdings, as_of, rate)
    with _VALUATIONS_LOCK:
        cached = _VALUATIONS.get(key)
        if cached is not None:
            _VALUATIONS.move_to_end(key)
    if cached is not None:
        return as_of, positions, cached.copy()
    start = as_of - dt.timedelta(days=VALUATION_HISTORY_DAYS * 7 // 5 + 10)
    prices = queries.load_prices(holdings["underlying"].unique(), start, as_of)
    valued = value_holdings(holdings, prices, as_of, rate, realized_vol_window=REALIZED_VOL_WINDOW)
    with _VALUATIONS_LOCK:
        _VALUATIONS[key] = valued.copy()
        while len(_VALUATIONS) > _VALUATIONS_SIZE:
            _VALUATIONS.popitem(last=False)
    return as_of, positions, valued


def positions_view(portfolio: Portfolio) -> PositionsView:
    """Every open position with name, last price, market value, P&L and weight, plus totals."""
    as_of, positions, valued = valued_holdings(portfolio)
    view = PositionsView(portfolio_id=portfolio.id, as_of=as_of)
    if valued is None:
        view.totals = {"cash": portfolio.cash, "equity": portfolio.cash, "position_count": 0}
        return view
    info = queries.security_info(valued["underlying"].unique())
    by_id = {p.id: p for p in positions}
    summary = exposure_summary(valued, portfolio.cash)
    gross = float(valued["market_value"].abs().sum(skipna=True))
    # Plain dicts, not iterrows(): a Series per row and a pandas lookup per field cost ~1 s for a
    # 20,000-position book (the XLSX export and every page of it build this view).
    for pid, rec in valued.to_dict("index").items():
        row = {k: _clean(rec.get(k)) for k in ROW_FIELDS}
        security = info.get(rec["underlying"])
        row["id"] = int(pid)
        row["name"] = security.name if security else None
        row["sector"] = security.sector if security else None
        row["strategy"] = by_id[pid].strategy
        row["tags"] = [t.name for t in by_id[pid].tags]
        mv = row["market_value"]
        # Signed share of gross market value: shorts negative, the |weights| sum to 1.
        row["weight"] = (mv / gross) if (mv is not None and gross) else None
        view.rows.append(row)
        if rec["status"] != "ok":
            view.left_out.append(
                {
                    "id": int(pid),
                    "symbol": rec["symbol"],
                    "reason": rec["status"],
                    "detail": _clean(rec.get("reason_detail")),
                }
            )
    view.totals = summary.to_dict()
    return view


SORTABLE = (
    "symbol",
    "name",
    "position_type",
    "quantity",
    "market_value",
    "unrealized_pnl",
    "unrealized_pnl_pct",
    "weight",
    "exposure",
)


@dataclass
class PositionsPage:
    """One page of the positions table after filtering and sorting.

    Also carries the choices to filter by.
    """

    portfolio_id: int
    as_of: dt.date | None
    rows: list[dict]
    total_rows: int
    page: int
    per_page: int
    sort: str
    direction: str
    filters: dict
    choices: dict
    totals: dict

    @property
    def pages(self) -> int:
        """Number of pages, at least one."""
        return max(1, math.ceil(self.total_rows / self.per_page))

    def to_dict(self) -> dict:
        """The API shape: the page's rows, pagination, sort, filters and totals."""
        return {
            "portfolio_id": self.portfolio_id,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "positions": self.rows,
            "pagination": {
                "page": self.page,
                "per_page": self.per_page,
                "total": self.total_rows,
                "pages": self.pages,
            },
            "sort": {"by": self.sort, "direction": self.direction},
            "filters": self.filters,
            "totals": self.totals,
        }


def positions_page(
    portfolio: Portfolio,
    *,
    sort: str = "weight",
    direction: str = "desc",
    position_type: str | None = None,
    tag: str | None = None,
    strategy: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> PositionsPage:
    """Filter (type, tag, strategy), sort (missing values last) and paginate the positions table."""
    view = positions_view(portfolio)
    rows = view.rows
    choices = {
        "position_type": sorted({r["position_type"] for r in rows}),
        "tag": sorted({t for r in rows for t in r["tags"]}),
        "strategy": sorted({r["strategy"] for r in rows if r["strategy"]}),
    }
    if position_type:
        rows = [r for r in rows if r["position_type"] == position_type]
    if tag:
        rows = [r for r in rows if tag in r["tags"]]
    if strategy:
        rows = [r for r in rows if r["strategy"] == strategy]
    sort = sort if sort in SORTABLE else "weight"
    reverse = direction != "asc"
    present = [r for r in rows if r.get(sort) is not None]
    absent = [r for r in rows if r.get(sort) is None]
    key = (lambda r: abs(r[sort])) if sort == "weight" else (lambda r: r[sort])
    rows = sorted(present, key=key, reverse=reverse) + absent
    total = len(rows)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    return PositionsPage(
        portfolio_id=portfolio.id,
        as_of=view.as_of,
        rows=rows[(page - 1) * per_page : page * per_page],
        total_rows=total,
        page=page,
        per_page=per_page,
        sort=sort,
        direction="desc" if reverse else "asc",
        filters={"position_type": position_type, "tag": tag, "strategy": strategy},
        choices=choices,
        totals=view.totals,
    )


@dataclass
class PositionDetail:
    """One position: its valued row, a year of underlying prices, factor betas and Greeks."""

    portfolio_id: int
    as_of: dt.date | None
    position: dict
    prices: dict
    factors: dict | None
    greeks: dict | None

    def to_dict(self) -> dict:
        """The API shape of the position detail."""
        return {
            "portfolio_id": self.portfolio_id,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "position": self.position,
            "prices": self.prices,
            "factors": self.factors,
            "greeks": self.greeks,
        }


def position_detail(portfolio: Portfolio, position_id: int) -> PositionDetail:
    """The position's detail, read from the valuation and the latest stored factor/Greek results."""
    from webapp.services.analytics import stored

    view = positions_view(portfolio)
    row = next((r for r in view.rows if r["id"] == position_id), None)
    if row is None:
        raise NotOwned("No such open position in this portfolio.")
    symbol = row["underlying"] or row["symbol"]
    start = view.as_of - dt.timedelta(days=365) if view.as_of else None
    series = queries.load_prices([symbol], start, view.as_of)
    prices = {"symbol": symbol, "dates": [], "adj_close": []}
    if symbol in series.columns:
        clean = series[symbol].dropna()
        prices = {
            "symbol": symbol,
            "dates": [d.date().isoformat() for d in clean.index],
            "adj_close": [round(float(v), 4) for v in clean],
        }
    factor_result = stored(
        portfolio, "position_factor_exposures", {"window": DEFAULT_FACTOR_WINDOW}
    )
    factors = None
    if factor_result.available:
        factors = next(
            (
                p
                for p in factor_result.data.get("positions", [])
                if p.get("position_id") == position_id
            ),
            None,
        )
    greeks = None
    if row["position_type"] in ("LC", "LP", "SC", "SP"):
        greek_result = stored(portfolio, "greeks")
        if greek_result.available:
            greeks = next(
                (g for g in greek_result.data["options"] if g["position_id"] == position_id), None
            )
    return PositionDetail(portfolio.id, view.as_of, row, prices, factors, greeks)

"""Positions: the valued positions table, its filtered/sorted pages and one position's detail.

All three read the one valuation (``services.valuation``) the batch uses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field

from webapp.analytics.constants import OPTION_TYPES
from webapp.models import Portfolio
from webapp.models._time import isoformat_z
from webapp.services import queries
from webapp.services._frames import HOLDING_FIELDS, VALUE_FIELDS
from webapp.services.factor_exposures import position_factors
from webapp.services.jsonable import jsonable
from webapp.services.overview import option_greeks
from webapp.services.portfolios import NotOwned
from webapp.services.valuation import value_positions


def portfolio_dict(portfolio: Portfolio, view: PositionsView | None = None) -> dict:
    """A portfolio as every API response shows it (``PortfolioSummary``).

    With its positions view, also its value, position count and as-of date.
    """
    out = {
        "id": portfolio.id,
        "name": portfolio.name,
        "description": portfolio.description,
        "cash_balance": portfolio.cash,
        "benchmark": portfolio.benchmark,
        "inception_date": jsonable(portfolio.inception_date),
        "created_at": isoformat_z(portfolio.created_at),
        "updated_at": isoformat_z(portfolio.updated_at),
    }
    if view is not None:
        out["total_value"] = view.totals.get("equity")
        out["position_count"] = len(view.rows)
        out["as_of"] = jsonable(view.as_of)
    return out


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
            "as_of": jsonable(self.as_of),
            "positions": self.rows,
            "totals": self.totals,
            "strategies": self.strategies,
            "left_out": self.left_out,
        }


ROW_FIELDS = (*HOLDING_FIELDS, *VALUE_FIELDS, "strike", "expiry", "status", "reason_detail")


def positions_view(portfolio: Portfolio) -> PositionsView:
    """Every open position with name, last price, market value, P&L and weight, plus totals."""
    positions = queries.open_positions(portfolio.id)
    valuation = value_positions(positions, portfolio.cash) if positions else None
    view = PositionsView(
        portfolio_id=portfolio.id,
        as_of=valuation.as_of if valuation else queries.latest_price_date(),
    )
    if valuation is None:
        view.totals = {"cash": portfolio.cash, "equity": portfolio.cash, "position_count": 0}
        return view
    valued = valuation.valued
    info = queries.security_info(valued["underlying"].unique())
    by_id = {p.id: p for p in positions}
    gross = float(valued["market_value"].abs().sum(skipna=True))
    # Plain dicts, not iterrows(): a Series per row and a pandas lookup per field cost ~1 s for a
    # 20,000-position book (the XLSX export and every page of it build this view).
    for pid, rec in valued.to_dict("index").items():
        row = {k: jsonable(rec.get(k)) for k in ROW_FIELDS}
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
                    "detail": jsonable(rec.get("reason_detail")),
                }
            )
    view.totals = valuation.summary.to_dict()
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
            "as_of": jsonable(self.as_of),
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
        """The API shape of the position detail: its fields, the date as ISO text."""
        return jsonable(dataclasses.asdict(self))


def position_detail(portfolio: Portfolio, position_id: int) -> PositionDetail:
    """The position's detail, read from the valuation and the latest stored factor/Greek results."""
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
    factors = position_factors(portfolio, position_id)
    greeks = option_greeks(portfolio, position_id) if row["position_type"] in OPTION_TYPES else None
    return PositionDetail(portfolio.id, view.as_of, row, prices, factors, greeks)

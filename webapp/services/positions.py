"""Positions: the valued positions table, its filtered/sorted pages and one position's detail.

All three read the one valuation (``services.valuation``) the batch uses. The table's rows are
built from the valued frame column by column, once per book version (`valuation.book_key`), and
kept in the valuation's cache; a page is then a numpy filter, sort and slice, so a request for
15 rows of a 2,000-position book copies 15 rows, not 2,000.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from webapp.analytics.constants import OPTION_TYPES
from webapp.extensions import db
from webapp.models import Portfolio, Position
from webapp.models._time import isoformat_z
from webapp.services import option_labels, queries
from webapp.services._frames import HOLDING_FIELDS, VALUE_FIELDS
from webapp.services.factor_exposures import position_factors
from webapp.services.jsonable import jsonable
from webapp.services.overview import option_greeks
from webapp.services.portfolios import NotOwned
from webapp.services.valuation import book_key, memo, value_positions


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


def open_position_counts(portfolio_ids: list[int]) -> dict[int, int]:
    """Open positions per portfolio, in one query (portfolios without any are absent)."""
    if not portfolio_ids:
        return {}
    rows = db.session.execute(
        select(Position.portfolio_id, func.count())
        .where(Position.portfolio_id.in_(portfolio_ids), Position.exit_date.is_(None))
        .group_by(Position.portfolio_id)
    )
    return {pid: count for pid, count in rows}


@dataclass
class PositionsView:
    """The valued positions table of one portfolio as of the last price date."""

    portfolio_id: int
    as_of: dt.date | None
    rows: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    left_out: list[dict] = field(default_factory=list)
    # Subtotals per strategy (positions without one grouped as "Unassigned"), largest first.
    strategies: list[dict] = field(default_factory=list)
    # Option Greeks summed per underlying (``greeks_by_underlying``).
    greeks_by_underlying: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The API shape: positions, totals, strategy subtotals and the holdings left out."""
        return {
            "portfolio_id": self.portfolio_id,
            "as_of": jsonable(self.as_of),
            "positions": self.rows,
            "totals": self.totals,
            "strategies": self.strategies,
            "left_out": self.left_out,
            "greeks_by_underlying": self.greeks_by_underlying,
        }


ROW_FIELDS = (*HOLDING_FIELDS, *VALUE_FIELDS, "strike", "expiry", "status", "reason_detail")
# What the valuation says about an option beyond its value: days to expiry as of the price date,
# the vol it was priced at (decimal per year) and that vol's source code.
OPTION_VALUE_FIELDS = ("days_to_expiry", "vol", "vol_source")
# Position Greeks in the units the pages show (per-share Greek × quantity × multiplier, signed):
# delta in share-equivalents and in $ per 1% move of the underlying, gamma in share-equivalents
# of delta per $1 move, theta in $ per calendar day, vega in $ per vol point. Shares: delta =
# quantity, the others 0.
GREEK_KEYS = (
    "delta_shares",
    "delta_dollars_per_pct",
    "gamma_per_dollar",
    "theta_per_day",
    "vega_per_vol_point",
)
# A row's keys in the order the API has always written them, then the later additions.
ROW_KEYS = (
    *ROW_FIELDS,
    "id",
    "name",
    "sector",
    "strategy",
    "tags",
    "weight",
    *OPTION_VALUE_FIELDS,
    "display_name",
    "type_label",
    "vol_source_label",
    "price_basis",
    *GREEK_KEYS,
    "price_date",
)
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
_TEXT_SORTS = ("symbol", "name", "position_type")


@dataclass(frozen=True)
class _Table:
    """Every row of a book's positions table, built once per `valuation.book_key`.

    ``rows`` are JSON-ready dicts in position-id order, shared by every request for the same
    key (readers copy the ones they hand out). ``sort_keys`` hold one float per row and
    sortable column (text as its rank; NaN where the row has no value), ``position_type`` and
    ``strategy`` the filter columns and ``tagged`` each tag's rows, so a page is a numpy mask,
    a stable argsort and a slice.
    """

    portfolio_id: int
    as_of: dt.date | None
    rows: tuple[dict, ...]
    totals: dict
    left_out: tuple[dict, ...] = ()
    strategies: tuple[dict, ...] = ()
    choices: dict = field(default_factory=dict)
    sort_keys: dict = field(default_factory=dict)
    position_type: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    strategy: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    tagged: dict = field(default_factory=dict)
    index_of: dict = field(default_factory=dict)
    # Option Greeks summed per underlying (``greeks_by_underlying``).
    by_underlying: tuple[dict, ...] = ()

    def row(self, i: int) -> dict:
        """A caller's own copy of row ``i`` (its tag list included)."""
        r = self.rows[i]
        return {**r, "tags": list(r["tags"])}

    def mask(self, position_type: str | None, tag: str | None, strategy: str | None):
        """Rows passing the filters (a boolean array)."""
        keep = np.ones(len(self.rows), dtype=bool)
        if position_type:
            keep &= self.position_type == position_type
        if tag:
            keep &= self.tagged.get(tag, np.zeros(len(self.rows), dtype=bool))
        if strategy:
            keep &= self.strategy == strategy
        return keep

    def order(self, keep: np.ndarray, sort: str, descending: bool) -> np.ndarray:
        """Row indices of ``keep`` sorted by ``sort``: missing values last, ties in id order."""
        idx = np.flatnonzero(keep)
        key = self.sort_keys[sort][idx]
        present = ~np.isnan(key)
        ranked = idx[present]
        # Stable on the negated key: equal values keep id order, as sorted(reverse=True) does.
        ranked = ranked[np.argsort(-key[present] if descending else key[present], kind="stable")]
        return np.concatenate([ranked, idx[~present]])


def _table(portfolio: Portfolio) -> _Table:
    """The book's table, from the cache while its positions, cash and prices are unchanged."""
    return memo(("positions_table", *book_key(portfolio)), lambda: _build_table(portfolio))


def _build_table(portfolio: Portfolio) -> _Table:
    positions = queries.open_positions(portfolio.id)
    valuation = value_positions(positions, portfolio.cash) if positions else None
    if valuation is None:
        totals = {"cash": portfolio.cash, "equity": portfolio.cash, "position_count": 0}
        return _Table(portfolio.id, queries.latest_price_date(), (), totals)
    valued = valuation.valued
    rows = _rows(valued, {p.id: p for p in positions})
    left_out = tuple(
        {"id": r["id"], "symbol": r["symbol"], "reason": r["status"], "detail": r["reason_detail"]}
        for r in rows
        if r["status"] != "ok"
    )
    tags = sorted({t for r in rows for t in r["tags"]})
    types = np.array([r["position_type"] for r in rows], dtype=object)
    strategies = np.array([r["strategy"] for r in rows], dtype=object)
    return _Table(
        portfolio_id=portfolio.id,
        as_of=valuation.as_of,
        rows=tuple(rows),
        totals=valuation.summary.to_dict(),
        left_out=left_out,
        strategies=tuple(_strategy_totals(rows)),
        choices={
            "position_type": sorted(set(types)),
            "tag": tags,
            "strategy": sorted({s for s in strategies if s}),
        },
        sort_keys={name: _sort_key(rows, name) for name in SORTABLE},
        position_type=types,
        strategy=strategies,
        tagged={t: np.array([t in r["tags"] for r in rows], dtype=bool) for t in tags},
        index_of={r["id"]: i for i, r in enumerate(rows)},
        by_underlying=tuple(greeks_by_underlying(rows)),
    )


def _json_column(values: np.ndarray) -> list:
    """A frame column as JSON-ready Python values (what ``jsonable`` makes of each)."""
    if values.dtype.kind == "f":
        out = values.astype(object)  # Python floats
        out[~np.isfinite(values)] = None
        return out.tolist()
    if values.dtype.kind in "iub":
        return values.tolist()
    return [jsonable(v) for v in values.tolist()]


def _rows(valued, by_id: dict) -> list[dict]:
    """The table's rows from the valued frame, column by column (no pandas access per row)."""
    n = len(valued)
    columns = {
        k: _json_column(valued[k].to_numpy()) if k in valued.columns else [None] * n
        for k in (*ROW_FIELDS, *OPTION_VALUE_FIELDS, "price_date")
    }
    info = queries.security_info(valued["underlying"].unique())
    securities = [info.get(u) for u in valued["underlying"].tolist()]
    positions = [by_id[pid] for pid in valued.index.tolist()]
    market_value = valued["market_value"].to_numpy(dtype=float)
    gross = float(np.nansum(np.abs(market_value)))
    # Signed share of gross market value: shorts negative, the |weights| sum to 1.
    weight = _json_column(market_value / gross) if gross else [None] * n
    columns.update(
        id=[int(pid) for pid in valued.index],
        name=[s.name if s else None for s in securities],
        sector=[s.sector if s else None for s in securities],
        strategy=[p.strategy for p in positions],
        tags=[tuple(t.name for t in p.tags) for p in positions],
        weight=weight,
        **_words(columns, n),
        **_position_greeks(valued),
    )
    return [dict(zip(ROW_KEYS, values)) for values in zip(*(columns[k] for k in ROW_KEYS))]


def _words(columns: dict, n: int) -> dict[str, list]:
    """Each row's readable name, type and vol source, and what its last price is.

    Options: "AAPL Oct 16 '26 320 Call", "Long call", "realized 60-day volatility of AAPL" and
    the price basis "model" (a Black–Scholes value: the dataset has no option quotes); shares
    keep their symbol and are priced at the "close".
    """
    rows = [{k: columns[k][i] for k in columns} for i in range(n)]
    is_option = [r["position_type"] in OPTION_TYPES for r in rows]
    return {
        "display_name": [option_labels.position_name(r) for r in rows],
        "type_label": [option_labels.type_words(r["position_type"]) for r in rows],
        "vol_source_label": [
            option_labels.vol_source_words(r["vol_source"], r["underlying"]) if o else None
            for r, o in zip(rows, is_option)
        ],
        "price_basis": ["model" if o else "close" for o in is_option],
        "days_to_expiry": [
            int(d) if o and d is not None else None
            for d, o in zip(columns["days_to_expiry"], is_option)
        ],
    }


def _position_greeks(valued) -> dict[str, list]:
    """``GREEK_KEYS`` per row: per-share Greeks × quantity × multiplier (None if unvalued)."""

    def col(name: str) -> np.ndarray:
        if name not in valued.columns:
            return np.full(len(valued), np.nan)
        return pd.to_numeric(valued[name], errors="coerce").to_numpy(dtype=float)

    mult = col("multiplier")
    scale = col("quantity") * np.where(np.isfinite(mult) & (mult != 0), mult, 1.0)
    delta = col("delta") * scale
    return {
        "delta_shares": _json_column(delta),
        "delta_dollars_per_pct": _json_column(delta * col("underlying_price") * 0.01),
        "gamma_per_dollar": _json_column(col("gamma") * scale),
        "theta_per_day": _json_column(col("theta") * scale),
        "vega_per_vol_point": _json_column(col("vega") * scale),
    }


def greeks_by_underlying(rows) -> list[dict]:
    """Book totals per underlying that has valued options, largest |$ delta| first.

    Each: the underlying, its price, how many option positions, the options' summed
    ``GREEK_KEYS`` (share-equivalents, $ per 1%, per $1, $/day, $/vol point), the shares held
    directly and the net delta with them (options' delta + shares).
    """
    groups: dict[str, dict] = {}
    for r in rows:
        if r.get("status") != "ok" or r.get("delta_shares") is None:
            continue
        u = r.get("underlying") or r["symbol"]
        g = groups.setdefault(
            u,
            {
                "underlying": u,
                "underlying_price": r.get("underlying_price"),
                "options": 0,
                **dict.fromkeys(GREEK_KEYS, 0.0),
                "shares": 0.0,
            },
        )
        if r["position_type"] in OPTION_TYPES:
            g["options"] += 1
            for k in GREEK_KEYS:
                g[k] += r[k] or 0.0
        else:
            g["shares"] += r["delta_shares"]
    out = [g for g in groups.values() if g["options"]]
    for g in out:
        g["net_delta_shares"] = g["delta_shares"] + g["shares"]
    return sorted(out, key=lambda g: -abs(g["delta_dollars_per_pct"]))


def _sort_key(rows: list[dict], name: str) -> np.ndarray:
    """One float per row to sort ``name`` by: text as its rank, |weight|, NaN when missing."""
    values = [r[name] for r in rows]
    has = np.array([v is not None for v in values], dtype=bool)
    key = np.full(len(values), np.nan)
    if not has.any():
        return key
    present = np.array([v for v in values if v is not None], dtype=object)
    if name in _TEXT_SORTS:
        key[has] = np.unique(present, return_inverse=True)[1]
    else:
        key[has] = present.astype(float)
    return np.abs(key) if name == "weight" else key


def _strategy_totals(rows: list[dict]) -> list[dict]:
    """Subtotals per strategy (positions without one grouped as "Unassigned"), largest first."""
    groups: dict[str, dict] = {}
    for r in rows:
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


def positions_view(portfolio: Portfolio) -> PositionsView:
    """Every open position with name, last price, market value, P&L and weight, plus totals."""
    table = _table(portfolio)
    return PositionsView(
        portfolio_id=portfolio.id,
        as_of=table.as_of,
        rows=[table.row(i) for i in range(len(table.rows))],
        totals=copy.deepcopy(table.totals),
        left_out=[dict(x) for x in table.left_out],
        strategies=[dict(g) for g in table.strategies],
        greeks_by_underlying=[dict(g) for g in table.by_underlying],
    )


@dataclass
class PositionsPage:
    """One page of the positions table after filtering and sorting.

    Also carries the choices to filter by, the book's totals, its strategy subtotals and the
    positions left out of the valuation (those of the whole book, not only of this page).
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
    left_out: list[dict] = field(default_factory=list)
    strategies: list[dict] = field(default_factory=list)
    position_count: int = 0
    # Option Greeks summed per underlying over the whole book (``greeks_by_underlying``).
    greeks_by_underlying: list[dict] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """Number of pages, at least one."""
        return max(1, math.ceil(self.total_rows / self.per_page))

    @property
    def first_row(self) -> int:
        """1-based number of the page's first row (0 when the page is empty)."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

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
            "greeks_by_underlying": self.greeks_by_underlying,
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
    """Filter (type, tag, strategy), sort (missing values last, ties in id order) and paginate.

    Only the page's rows are copied out of the cached table; a page past the end shows the last.
    """
    table = _table(portfolio)
    sort = sort if sort in SORTABLE else "weight"
    descending = direction != "asc"
    per_page = max(1, per_page)
    order = (
        table.order(table.mask(position_type, tag, strategy), sort, descending)
        if table.rows
        else np.array([], dtype=int)
    )
    total = len(order)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    return PositionsPage(
        portfolio_id=portfolio.id,
        as_of=table.as_of,
        rows=[table.row(i) for i in order[(page - 1) * per_page : page * per_page].tolist()],
        total_rows=total,
        page=page,
        per_page=per_page,
        sort=sort,
        direction="desc" if descending else "asc",
        filters={"position_type": position_type, "tag": tag, "strategy": strategy},
        choices=copy.deepcopy(table.choices),
        totals=copy.deepcopy(table.totals),
        left_out=[dict(x) for x in table.left_out],
        strategies=[dict(g) for g in table.strategies],
        position_count=len(table.rows),
        greeks_by_underlying=[dict(g) for g in table.by_underlying],
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
    # The book's option Greeks on this position's underlying (``greeks_by_underlying``).
    underlying_greeks: dict | None = None

    def to_dict(self) -> dict:
        """The API shape of the position detail: its fields, the date as ISO text."""
        return jsonable(dataclasses.asdict(self))


def position_detail(portfolio: Portfolio, position_id: int) -> PositionDetail:
    """The position's detail, read from the valuation and the latest stored factor/Greek results."""
    table = _table(portfolio)
    index = table.index_of.get(position_id)
    if index is None:
        raise NotOwned("No such open position in this portfolio.")
    row = table.row(index)
    as_of = table.as_of
    symbol = row["underlying"] or row["symbol"]
    start = as_of - dt.timedelta(days=365) if as_of else None
    series = queries.load_prices([symbol], start, as_of)
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
    underlying = next((dict(g) for g in table.by_underlying if g["underlying"] == symbol), None)
    return PositionDetail(portfolio.id, as_of, row, prices, factors, greeks, underlying)

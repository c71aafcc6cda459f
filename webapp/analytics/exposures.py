"""Valuation, P&L and exposures of a book of stocks, ETFs and options as of one date.

Market value = quantity × price × multiplier (shorts negative). Exposure is the dollar amount that
moves with the underlying: the market value for stocks, delta × multiplier × quantity ×
underlying price for options (delta-adjusted). Every position gets a ``status``: ``ok`` or the
reason it could not be valued (``no_prices``, ``stale_price``, ``insufficient_history``), and
positions not ``ok`` are excluded from totals and listed, never counted as zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from webapp.analytics.constants import (
    CALL_TYPES,
    MAX_PRICE_AGE_DAYS,
    OPTION_TYPES,
    REALIZED_VOL_WINDOW,
)
from webapp.analytics.errors import InsufficientHistory
from webapp.analytics.options import black_scholes_greeks, realized_vol

VALUED_COLUMNS = [
    "price",
    "underlying_price",
    "price_date",
    "market_value",
    "cost_basis",
    "unrealized_pnl",
    "unrealized_pnl_pct",
    "exposure",
    "delta",
    "gamma",
    "theta",
    "vega",
    "rho",
    "vol",
    "vol_source",
    "days_to_expiry",
    "status",
    "reason_detail",
]
# The valued columns held as float arrays (NaN until a position is valued); the rest are objects.
_OBJECT_COLUMNS = ("price_date", "vol_source", "days_to_expiry", "status", "reason_detail")
_FLOAT_COLUMNS = tuple(c for c in VALUED_COLUMNS if c not in _OBJECT_COLUMNS)


def _last_closes(prices: pd.DataFrame, symbols, as_of: pd.Timestamp) -> dict:
    """symbol -> (last non-NaN close on or before ``as_of``, its date) for symbols with one.

    One array pass over the columns the book uses; symbols without such a close are absent.
    """
    columns = [s for s in dict.fromkeys(symbols) if s in prices.columns]
    if not columns:
        return {}
    block = prices.loc[prices.index <= as_of, columns]
    values = block.to_numpy(dtype=float, na_value=np.nan)
    if not len(values):
        return {}
    valid = ~np.isnan(values)
    has = valid.any(axis=0)
    # The last valid row per column: the first valid one when reading the rows backwards.
    last = len(values) - 1 - np.argmax(valid[::-1], axis=0)
    dates = block.index
    return {
        sym: (float(values[last[j], j]), dates[last[j]]) for j, sym in enumerate(columns) if has[j]
    }


def _option_vols(
    implied: np.ndarray,
    underlying: np.ndarray,
    prices: pd.DataFrame,
    as_of: pd.Timestamp,
    vol_window: int,
) -> tuple[np.ndarray, list, list]:
    """Each option's vol (decimal per year), its source, and the history error where there is
    none: the implied vol when given (> 0), else the underlying's realized vol over
    ``vol_window`` returns, computed once per underlying."""
    with np.errstate(invalid="ignore"):
        given = np.isfinite(implied) & (implied > 0)
    vol = np.where(given, implied, np.nan)
    source: list = ["implied" if g else f"realized_{vol_window}d" for g in given.tolist()]
    errors: list = [None] * len(vol)
    realized: dict = {}
    for i in np.flatnonzero(~given).tolist():
        sym = underlying[i]
        if sym not in realized:
            try:
                realized[sym] = realized_vol(prices[sym].loc[:as_of], vol_window)
            except InsufficientHistory as exc:
                realized[sym] = exc
        got = realized[sym]
        if isinstance(got, InsufficientHistory):
            errors[i] = got
        else:
            vol[i] = got
    return vol, source, errors


def _current_prices(
    underlying: np.ndarray, closes: dict, as_of: pd.Timestamp, spot_out: np.ndarray
) -> tuple[np.ndarray, list, list, list]:
    """Fill ``spot_out`` with each underlying's last close where it is recent enough.

    Returns the mask of positions that have a current price, and per position its status
    (``ok``, ``no_prices``, ``stale_price``), the reason in words and the price date.
    """
    n = len(underlying)
    reached = np.zeros(n, dtype=bool)
    status, detail, price_date = ["ok"] * n, [None] * n, [None] * n
    for i, sym in enumerate(underlying):
        last = closes.get(sym)
        if last is None:
            status[i], detail[i] = "no_prices", f"no stored price for {sym}"
            continue
        spot, when = last
        price_date[i] = when.date()
        if (as_of - when).days > MAX_PRICE_AGE_DAYS:
            status[i] = "stale_price"
            detail[i] = f"last price for {sym} is from {when.date().isoformat()}"
            continue
        spot_out[i] = spot
        reached[i] = True
    return reached, status, detail, price_date


def value_holdings(
    holdings: pd.DataFrame,
    prices: pd.DataFrame,
    as_of: dt.date | pd.Timestamp,
    rate_pct: float,
    *,
    realized_vol_window: int = REALIZED_VOL_WINDOW,
) -> pd.DataFrame:
    """Value every holding at its last price on or before ``as_of``.

    Market value = quantity × price × multiplier; cost basis = quantity × entry price ×
    multiplier; unrealized P&L = market value − cost basis, and as a fraction of |cost basis|;
    exposure = delta × multiplier × quantity × underlying price (stock delta = 1). Stocks are
    valued as arrays over all positions, options too (``options.black_scholes_greeks``, tested
    equal to mibian).

    Parameters
    ----------
    holdings : DataFrame indexed by position id with ``symbol, underlying, position_type,
        quantity`` (signed), ``multiplier, entry_price`` ($/share), ``strike, expiry,
        implied_vol`` (options; vol as a decimal, NaN = use realized vol).
    prices : wide adjusted closes (DatetimeIndex × symbol), $ per share.
    rate_pct : risk-free rate, % per year, for option values.

    Returns
    -------
    ``holdings`` joined with ``VALUED_COLUMNS``: market value and cost basis in $ (signed),
    unrealized P&L in $ and as a fraction of |cost basis|, exposure in $ (delta-adjusted),
    per-share Greeks (stock delta = 1), the vol used and its source, and the status.
    """
    as_of = pd.Timestamp(as_of)
    n = len(holdings)
    underlying = holdings["underlying"].to_numpy(dtype=object)
    ptype = holdings["position_type"].to_numpy(dtype=object)
    closes = _last_closes(prices, underlying, as_of)

    floats = {c: np.full(n, np.nan) for c in _FLOAT_COLUMNS}
    vol_source: list = [None] * n
    days: list = [np.nan] * n
    # reached: a current price, so valued unless an option then lacks a vol
    reached, status, detail, price_date = _current_prices(
        underlying, closes, as_of, floats["underlying_price"]
    )

    is_option = np.isin(ptype, OPTION_TYPES)
    stock = reached & ~is_option
    floats["price"][stock] = floats["underlying_price"][stock]
    floats["delta"][stock] = 1.0
    for greek in ("gamma", "theta", "vega", "rho"):
        floats[greek][stock] = 0.0

    rows = np.flatnonzero(reached & is_option)
    if len(rows):
        implied = (
            pd.to_numeric(holdings["implied_vol"].iloc[rows], errors="coerce").to_numpy(float)
            if "implied_vol" in holdings
            else np.full(len(rows), np.nan)
        )
        expiry = pd.to_datetime(holdings["expiry"].iloc[rows])
        left = (expiry - as_of).dt.days.to_numpy()
        vol, source, errors = _option_vols(
            implied, underlying[rows], prices, as_of, realized_vol_window
        )
        for j, i in enumerate(rows.tolist()):
            days[i], vol_source[i] = int(left[j]), source[j]
            if errors[j] is not None:
                status[i], reached[i] = errors[j].reason, False
                detail[i] = f"{underlying[i]}: {errors[j].message}"
            elif left[j] <= 0:
                when = expiry.iloc[j].date().isoformat()
                detail[i] = f"expired on {when}; valued at intrinsic value"
        greeks = black_scholes_greeks(
            floats["underlying_price"][rows],
            pd.to_numeric(holdings["strike"].iloc[rows]).to_numpy(float),
            rate_pct / 100.0,
            vol,
            left.astype(float),
            np.isin(ptype[rows], CALL_TYPES),
        )
        valued = reached[rows]
        for key in ("price", "delta", "gamma", "theta", "vega", "rho"):
            floats[key][rows[valued]] = getattr(greeks, key)[valued]
        floats["vol"][rows[valued]] = vol[valued]

    ok = np.flatnonzero(reached)
    if len(ok):
        # Python's float() per value, as a scalar valuation would convert (a missing or zero
        # multiplier means 1).
        def column(name: str) -> np.ndarray:
            return holdings[name].to_numpy(dtype=object)[ok]

        qty = np.array([float(v) for v in column("quantity")])
        mult = np.array([float(v or 1.0) for v in column("multiplier")])
        entry = np.array([float(v) for v in column("entry_price")])
        price, delta = floats["price"][ok], floats["delta"][ok]
        spot = floats["underlying_price"][ok]
        cost = qty * entry * mult
        market_value = qty * price * mult
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(cost != 0, (market_value - cost) / np.abs(cost), np.nan)
        floats["cost_basis"][ok] = cost
        floats["market_value"][ok] = market_value
        floats["unrealized_pnl"][ok] = market_value - cost
        floats["unrealized_pnl_pct"][ok] = pct
        floats["exposure"][ok] = delta * mult * qty * spot

    frame = pd.DataFrame(
        {
            **floats,
            "price_date": price_date,
            "vol_source": vol_source,
            "days_to_expiry": days,
            "status": status,
            "reason_detail": detail,
        },
        index=holdings.index,
        columns=VALUED_COLUMNS,
    )
    return holdings.join(frame)


@dataclass(frozen=True)
class ExposureSummary:
    """Book totals in dollars; only positions with status ``ok`` are counted.

    long/short/gross/net are market-value based (gross = long + |short|, net = long + short);
    the ``delta_*`` figures use delta-adjusted exposure, so a long put counts as short exposure.
    """

    cash: float
    equity: float
    net_market_value: float
    long_exposure: float
    short_exposure: float
    gross_exposure: float
    net_exposure: float
    delta_long_exposure: float
    delta_short_exposure: float
    delta_gross_exposure: float
    delta_net_exposure: float
    unrealized_pnl: float
    cost_basis: float
    position_count: int
    valued_count: int
    left_out_count: int
    counts_by_type: dict

    def to_dict(self) -> dict:
        """The fields as a plain dict (dollars as floats, counts as ints)."""
        return asdict(self)


def exposure_summary(valued: pd.DataFrame, cash: float) -> ExposureSummary:
    """Totals of a ``value_holdings`` frame: equity = Σ signed market value (ok rows) + cash."""
    ok = valued[valued["status"] == "ok"]
    mv = ok["market_value"].astype(float)
    exposure = ok["exposure"].astype(float)
    long_mv, short_mv = float(mv[mv > 0].sum()), float(mv[mv < 0].sum())
    long_ex, short_ex = float(exposure[exposure > 0].sum()), float(exposure[exposure < 0].sum())
    counts = {t: int(n) for t, n in valued["position_type"].value_counts().sort_index().items()}
    return ExposureSummary(
        cash=float(cash),
        equity=float(mv.sum()) + float(cash),
        net_market_value=float(mv.sum()),
        long_exposure=long_mv,
        short_exposure=short_mv,
        gross_exposure=long_mv - short_mv,
        net_exposure=long_mv + short_mv,
        delta_long_exposure=long_ex,
        delta_short_exposure=short_ex,
        delta_gross_exposure=long_ex - short_ex,
        delta_net_exposure=long_ex + short_ex,
        unrealized_pnl=float(ok["unrealized_pnl"].sum()),
        cost_basis=float(ok["cost_basis"].sum()),
        position_count=len(valued),
        valued_count=len(ok),
        left_out_count=len(valued) - len(ok),
        counts_by_type=counts,
    )


def exposures_by_underlying(valued: pd.DataFrame) -> pd.Series:
    """Σ delta-adjusted exposure per underlying symbol ($), over positions with status ``ok``."""
    ok = valued[valued["status"] == "ok"]
    return ok.groupby("underlying")["exposure"].sum().astype(float)


def sector_breakdown(valued: pd.DataFrame, sectors: dict[str, str | None]) -> pd.DataFrame:
    """Long, short, net and gross exposure ($) per sector of the underlying.

    An underlying with no known sector is counted under "Unclassified".
    """
    ok = valued[valued["status"] == "ok"]
    sector = ok["underlying"].map(lambda s: sectors.get(s) or "Unclassified")
    ex = ok["exposure"].astype(float)
    frame = pd.DataFrame(
        {
            "sector": sector,
            "long": ex.clip(lower=0),
            "short": ex.clip(upper=0),
        }
    )
    out = frame.groupby("sector").sum()
    out["net"] = out["long"] + out["short"]
    out["gross"] = out["long"] - out["short"]
    return out.sort_values("gross", ascending=False)

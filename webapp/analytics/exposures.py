"""Valuation, P&L and exposures of a book of stocks, ETFs and options as of one date.

Market value = quantity × price × multiplier (shorts negative). Exposure is the dollar amount that
moves with the underlying: the market value for stocks, delta × multiplier × quantity ×
underlying price for options (delta-adjusted). Every position gets a ``status``: ``ok`` or the
reason it could not be valued (``no_prices``, ``stale_price``, ``insufficient_history``), and
positions not ``ok`` are excluded from totals and listed, never counted as zero.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from webapp.analytics.constants import REALIZED_VOL_WINDOW
from webapp.analytics.errors import InsufficientHistory
from webapp.analytics.options import days_to_expiry, option_greeks, realized_vol

OPTION_TYPES = ("LC", "LP", "SC", "SP")
CALL_TYPES = ("LC", "SC")
# A last price older than this (calendar days before the as-of date) is not a current value.
MAX_PRICE_AGE_DAYS = 7

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


def _last_price(series: pd.Series | None, as_of: pd.Timestamp) -> tuple[float, pd.Timestamp] | None:
    if series is None:
        return None
    upto = series.loc[series.index <= as_of].dropna()
    if upto.empty:
        return None
    return float(upto.iloc[-1]), upto.index[-1]


def _value_one(row: pd.Series, prices: pd.DataFrame, as_of: pd.Timestamp, rate_pct: float,
               vol_window: int) -> dict:
    out: dict = {c: np.nan for c in VALUED_COLUMNS}
    out.update(status="ok", reason_detail=None, vol_source=None, price_date=None)
    underlying = row["underlying"]
    last = _last_price(prices[underlying] if underlying in prices.columns else None, as_of)
    if last is None:
        out.update(status="no_prices", reason_detail=f"no stored price for {underlying}")
        return out
    spot, when = last
    out["price_date"] = when.date()
    if (as_of - when).days > MAX_PRICE_AGE_DAYS:
        out.update(status="stale_price",
                   reason_detail=f"last price for {underlying} is from {when.date().isoformat()}")
        return out
    quantity, multiplier = float(row["quantity"]), float(row["multiplier"] or 1.0)
    out["underlying_price"] = spot
    if row["position_type"] in OPTION_TYPES:
        days = days_to_expiry(row["expiry"], as_of)
        out["days_to_expiry"] = days
        vol = row.get("implied_vol")
        if vol is not None and not (isinstance(vol, float) and math.isnan(vol)) and vol > 0:
            out["vol_source"] = "implied"
        else:
            try:
                vol = realized_vol(prices[underlying].loc[:as_of], vol_window)
            except InsufficientHistory as exc:
                out.update(status=exc.reason, reason_detail=f"{underlying}: {exc.message}")
                return out
            out["vol_source"] = f"realized_{vol_window}d"
        out["vol"] = float(vol)
        greeks = option_greeks(spot, float(row["strike"]), rate_pct, float(vol), days,
                               call=row["position_type"] in CALL_TYPES)
        price, delta = greeks.price, greeks.delta
        out.update(gamma=greeks.gamma, theta=greeks.theta, vega=greeks.vega, rho=greeks.rho)
        if days <= 0:
            out["reason_detail"] = f"expired on {pd.Timestamp(row['expiry']).date().isoformat()}; valued at intrinsic value"
    else:
        price, delta = spot, 1.0
        out.update(gamma=0.0, theta=0.0, vega=0.0, rho=0.0)
    entry = float(row["entry_price"])
    cost = quantity * entry * multiplier
    market_value = quantity * price * multiplier
    out.update(
        price=price,
        delta=delta,
        market_value=market_value,
        cost_basis=cost,
        unrealized_pnl=market_value - cost,
        unrealized_pnl_pct=(market_value - cost) / abs(cost) if cost else np.nan,
        exposure=delta * multiplier * quantity * spot,
    )
    return out


def value_holdings(
    holdings: pd.DataFrame,
    prices: pd.DataFrame,
    as_of: dt.date | pd.Timestamp,
    rate_pct: float,
    *,
    realized_vol_window: int = REALIZED_VOL_WINDOW,
) -> pd.DataFrame:
    """Value every holding at its last price on or before ``as_of``.

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
    valued = [
        _value_one(row, prices, as_of, rate_pct, realized_vol_window)
        for _, row in holdings.iterrows()
    ]
    frame = pd.DataFrame(valued, index=holdings.index, columns=VALUED_COLUMNS)
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
    """Long, short, net and gross exposure ($) per sector of the underlying ("Unclassified" if unknown)."""
    ok = valued[valued["status"] == "ok"]
    sector = ok["underlying"].map(lambda s: sectors.get(s) or "Unclassified")
    ex = ok["exposure"].astype(float)
    frame = pd.DataFrame({
        "sector": sector,
        "long": ex.clip(lower=0),
        "short": ex.clip(upper=0),
    })
    out = frame.groupby("sector").sum()
    out["net"] = out["long"] + out["short"]
    out["gross"] = out["long"] - out["short"]
    return out.sort_values("gross", ascending=False)

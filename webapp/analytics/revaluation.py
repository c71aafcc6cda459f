"""Revaluation of a book of positions under a decimal move of each underlying.

Shared by every kind of stress scenario: a factor shock (``factor_shocks``) and a historical
replay (``replay``) differ only in how each underlying's move is found; the move is then applied
here the same way. The move is instantaneous: no time decay, no change of implied volatility, no
rebalancing. Stocks move one-for-one; options by a delta-gamma expansion whose implied delta is
kept within an option's bounds; no instrument's value falls below zero. Positions that cannot be
revalued are returned with a reason, never as a zero P&L.

Units: moves are decimals (``-0.10`` = -10%), prices $ per share, values and P&L in dollars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from webapp.analytics._common import take_or_nan
from webapp.analytics.constants import (
    CALL_TYPES,
    LONG_TYPES,
    OPTION_TYPES,
    SHORT_TYPES,
    STOCK_TYPES,
)

#: The revaluation rule in words, the tail of every scenario result's ``method``.
REVALUATION_METHOD = (
    "stock P&L = MV * r; option P&L = qty * mult * (delta dS + 0.5 gamma dS^2), dS = S r, "
    "with the implied delta kept within [0, 1] for calls and [-1, 0] for puts; no value below zero."
)


def position_pnl(
    positions: pd.DataFrame,
    underlying_move: pd.Series,
    *,
    missing_reason: str = "no_factor_betas",
) -> pd.DataFrame:
    """Revalue each position for a decimal move of its underlying.

    Stocks (LONG/SHORT):    P&L = MV * r
    Options (LC/LP/SC/SP):  dS = S * r;  P&L = qty * mult * (delta * dS + 0.5 * gamma * dS^2)

    while the implied delta (delta + gamma * dS) stays within an option's bounds, [0, 1] for
    calls and [-1, 0] for puts; past the bound the P&L continues at the bound's slope (flat at
    delta 0, one-for-one with the stock at delta +-1), so the quadratic can neither turn back
    (a long call gaining in a crash) nor outrun the stock (a put gaining more than it falls).

    with MV the signed market value ($), S the underlying price ($/share), ``delta``
    (per share) and ``gamma`` (per share per $) the option's per-share Greeks, ``qty`` signed.
    Limits, because no instrument's value can go below zero:

    * the underlying's move is floored at -100% (a price cannot turn negative);
    * a long position (LONG, LC, LP) loses at most its market value: P&L >= -MV;
    * a short position (SHORT, SC, SP) gains at most what it is short: P&L <= -MV = |MV|.

    Evaluated over all positions at once (numpy arrays); the per-position arithmetic is the
    scalar formula above in the same operand order.

    Parameters
    ----------
    positions : DataFrame
        Indexed by position_id; columns ``symbol, underlying, position_type, quantity,
        multiplier, price, underlying_price, market_value, exposure, delta, gamma`` and
        optionally ``status`` (``"ok"`` or a reason string).
    underlying_move : Series
        Decimal move per underlying symbol (NaN or absent = unknown).
    missing_reason : str
        Reason recorded when a position's underlying has no move (``"no_factor_betas"`` for
        factor scenarios, ``"no_prices_in_episode"`` for replays).

    Returns
    -------
    DataFrame
        One row per input position (same index) with ``symbol, underlying, position_type,
        market_value, exposure, move, pnl, capped, reason``. Modelled rows have ``reason`` None;
        left-out rows have ``pnl`` NaN and a ``reason``: the row's own ``status`` when not
        ``"ok"``, ``missing_reason``, ``"unknown_position_type"``, ``"no_market_value"``,
        ``"no_underlying_price"`` or ``"no_greeks"``. ``capped`` marks rows hit by a limit.
    """
    cols = [
        "symbol",
        "underlying",
        "position_type",
        "market_value",
        "exposure",
        "move",
        "pnl",
        "capped",
        "reason",
    ]
    name = positions.index.name or "position_id"
    if len(positions) == 0:
        empty = pd.DataFrame([], columns=["position_id", *cols]).set_index("position_id")
        return empty.rename_axis(name)
    book = Book(positions)
    rev = book.revalue(book.moves_from(underlying_move), missing_reason)
    data = {
        "symbol": book.symbols,
        "underlying": book.underlyings,
        "position_type": book.ptypes,
        "market_value": book.mv,
        "exposure": book.exposure,
        "move": rev.move,
        "pnl": rev.pnl,
        "capped": rev.capped,
        "reason": rev.reason,
    }
    return pd.DataFrame(data, index=pd.Index(book.ids, name=name), columns=cols)


@dataclass(frozen=True)
class Revalued:
    """One scenario's revaluation, arrays aligned with the book's positions."""

    move: np.ndarray  # decimal move of the underlying; NaN when unknown
    pnl: np.ndarray  # $; NaN on left-out rows
    capped: np.ndarray  # bool
    reason: np.ndarray  # object: None on modelled rows, else why the row is left out
    ok: np.ndarray  # bool: modelled


class Book:
    """The positions ``position_pnl`` takes, as column arrays read once.

    A stress run revalues the same book for every scenario: the types, market values, Greeks
    and the reasons that do not depend on the move are worked out here, so a scenario costs a
    few array operations instead of a pass of per-row Python.
    """

    def __init__(self, positions: pd.DataFrame) -> None:
        n = len(positions)
        self.ids = [_py(v) for v in positions.index]
        self.symbols = _column(positions, "symbol")
        underlying = _column(positions, "underlying")
        absent = np.fromiter((_missing(u) for u in underlying), bool, n)
        self.underlyings = np.where(absent, self.symbols, underlying)
        self.ptypes = np.fromiter(
            (str(t).upper() for t in _column(positions, "position_type", "")), object, n
        )
        status = np.fromiter(
            ("ok" if _missing(s) else s for s in _column(positions, "status", "ok")), object, n
        )
        self.mv = _numbers(positions, "market_value")
        self.exposure = _numbers(positions, "exposure")
        qty, mult = _numbers(positions, "quantity"), _numbers(positions, "multiplier")
        self.spot = _numbers(positions, "underlying_price")
        self.delta, self.gamma = _numbers(positions, "delta"), _numbers(positions, "gamma")
        self.qm = qty * mult
        self.is_stock = np.isin(self.ptypes, STOCK_TYPES)
        self.is_call = np.isin(self.ptypes, CALL_TYPES)
        is_option = np.isin(self.ptypes, OPTION_TYPES)
        self.is_long = np.isin(self.ptypes, LONG_TYPES)
        self.is_short = np.isin(self.ptypes, SHORT_TYPES)

        # Reasons are checked in this order: the row's status, its type, its market value (all
        # before the move), the move itself, then for options the underlying price and Greeks.
        before = np.full(n, None, dtype=object)
        bad_status = status != "ok"
        before[bad_status] = [str(s) for s in status[bad_status]]
        unknown_type = ~bad_status & ~(self.is_stock | is_option)
        before[unknown_type] = "unknown_position_type"
        before[~bad_status & ~unknown_type & ~np.isfinite(self.mv)] = "no_market_value"
        self.before, self.before_ok = before, np.equal(before, None)
        after = np.full(n, None, dtype=object)
        no_spot = is_option & ~(np.isfinite(self.spot) & (self.spot > 0))
        after[no_spot] = "no_underlying_price"
        greeks = (
            np.isfinite(self.delta) & np.isfinite(self.gamma) & np.isfinite(qty) & np.isfinite(mult)
        )
        after[is_option & ~no_spot & ~greeks] = "no_greeks"
        self.after, self.after_ok = after, np.equal(after, None)
        # Python scalars for the result dicts, converted once rather than per scenario.
        self.symbol_list, self.underlying_list = self.symbols.tolist(), self.underlyings.tolist()
        self.ptype_list, self.mv_list = self.ptypes.tolist(), self.mv.tolist()

    def moves_from(self, moves: pd.Series) -> np.ndarray:
        """Each position's underlying move looked up in a per-symbol Series (NaN if absent)."""
        moves = moves.astype(float)
        # A label listed twice has no single move: unknown, as a scalar lookup would find.
        moves = moves[~moves.index.duplicated(keep=False)]
        return take_or_nan(moves.to_numpy(dtype=float), moves.index.get_indexer(self.underlyings))

    def revalue(self, move: np.ndarray, missing_reason: str) -> Revalued:
        """P&L per position for a decimal ``move`` per position (see ``position_pnl``)."""
        no_move = self.before_ok & ~np.isfinite(move)
        ok = self.before_ok & ~no_move & self.after_ok
        reason = np.where(
            self.before_ok, np.where(no_move, missing_reason, self.after), self.before
        )
        with np.errstate(invalid="ignore", over="ignore"):
            r = np.maximum(move, -1.0)
            ds = self.spot * r
            # Delta-gamma lets the delta drift to delta + gamma*dS; a real option's delta stays in
            # [0, 1] (calls) or [-1, 0] (puts). Follow the parabola while it does, then continue
            # with the bound's slope: flat once the delta reaches 0 (no long call gaining in a
            # crash), one-for-one once it reaches +-1 (no put gaining more than the stock falls).
            lo = np.where(self.is_call, 0.0, -1.0)
            hi = np.where(self.is_call, 1.0, 0.0)
            safe_gamma = np.where(self.gamma > 0, self.gamma, np.inf)  # gamma 0: pure delta
            ds_opt = np.clip(ds, (lo - self.delta) / safe_gamma, (hi - self.delta) / safe_gamma)
            beyond = ds - ds_opt
            slope = np.where(beyond > 0, hi, lo)
            option = self.qm * (
                self.delta * ds_opt + 0.5 * self.gamma * ds_opt * ds_opt + slope * beyond
            )
            pnl = np.where(self.is_stock, self.mv * r, option)
            floor = -self.mv
            hit = (self.is_long & (pnl < floor)) | (self.is_short & (pnl > floor))
        capped = ok & ((r != move) | hit | (~self.is_stock & (ds_opt != ds)))
        pnl = np.where(ok, np.where(hit, floor, pnl), np.nan)
        return Revalued(move=move, pnl=pnl, capped=capped, reason=reason, ok=ok)

    @staticmethod
    def total(rev: Revalued) -> float:
        """Sum of the modelled rows' P&L ($)."""
        return float(rev.pnl[rev.ok].sum())

    def split(self, rev: Revalued) -> tuple[float, tuple[dict, ...], tuple[dict, ...]]:
        """Total P&L ($), the modelled rows and the left-out rows as result dicts."""
        good = np.flatnonzero(rev.ok)
        modelled = tuple(
            {
                "position_id": self.ids[i],
                "symbol": self.symbol_list[i],
                "underlying": self.underlying_list[i],
                "position_type": self.ptype_list[i],
                "market_value": self.mv_list[i],
                "move": m,
                "pnl": p,
                "capped": c,
            }
            for i, m, p, c in zip(
                good.tolist(),
                rev.move[good].tolist(),
                rev.pnl[good].tolist(),
                rev.capped[good].tolist(),
            )
        )
        left_out = tuple(
            {
                "position_id": self.ids[i],
                "symbol": self.symbol_list[i],
                "reason": str(rev.reason[i]),
            }
            for i in np.flatnonzero(~rev.ok).tolist()
        )
        return float(rev.pnl[good].sum()), modelled, left_out


def _column(frame: pd.DataFrame, name: str, default: Any = None) -> np.ndarray:
    """A column as an object array of its values; ``default`` throughout when it is absent."""
    if name not in frame.columns:
        return np.full(len(frame), default, dtype=object)
    return frame[name].to_numpy(dtype=object)


def _numbers(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as floats: NaN where absent or not a number (``float(value)`` decides)."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    col = frame[name]
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=float, na_value=np.nan)
    return np.fromiter((_float_or_nan(v) for v in col.to_numpy(dtype=object)), float, len(col))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _float_or_nan(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _py(value: Any) -> Any:
    """numpy scalars -> Python scalars for JSON."""
    return value.item() if isinstance(value, np.generic) else value

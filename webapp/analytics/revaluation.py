"""Revaluation of a book of positions under a scenario: the underlying's move, and for options
the vol and the time the scenario implies.

Shared by every kind of stress scenario: a factor shock (``factor_shocks``) and a historical
replay (``replay``) differ only in how each underlying's move, each option's vol after the move
and the horizon are found; they are then applied here the same way. Stocks move one-for-one;
options are fully revalued by Black-Scholes (``options.black_scholes_vector``, the closed form
tested equal to mibian) at the moved spot, the scenario's vol and the days left at the horizon,
so a long option loses at most its value and a short option loses what repricing says. A
delta-gamma P&L is kept on option rows only as a labelled comparison. Positions that cannot be
revalued are returned with a reason, never as a zero P&L.

Units: moves are decimals (``-0.10`` = -10%), prices $ per share, vols decimals per year
(0.25 = 25%), days calendar days, values and P&L in dollars.
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
    MIN_STRESSED_VOL,
    OPTION_TYPES,
    SHORT_TYPES,
    STOCK_TYPES,
)
from webapp.analytics.options import black_scholes_vector

#: The revaluation rule in words, the tail of every scenario result's ``method``.
REVALUATION_METHOD = (
    "stock P&L = MV * r (move floored at -100%); options: full Black-Scholes revaluation, "
    "P&L = qty * mult * (BS(S (1 + r), K, r_f, sigma_after, days_after) - BS(S, K, r_f, sigma, "
    "days)), intrinsic value at or past expiry; a long option loses at most its value. "
    "pnl_delta_gamma = qty * mult * (delta dS + 0.5 gamma dS^2) is shown for comparison only."
)


#: Keys an option row of a scenario result adds to the stock rows' keys (see ``Book.split``).
OPTION_FIELDS: tuple[str, ...] = (
    "strike",
    "rate",
    "spot_before",
    "spot_after",
    "vol_before",
    "vol_after",
    "days_before",
    "days_after",
    "value_before",
    "value_after",
    "position_value_before",
    "position_value_after",
    "pnl_delta_gamma",
)


def position_pnl(
    positions: pd.DataFrame,
    underlying_move: pd.Series,
    *,
    missing_reason: str = "no_factor_betas",
    vol_shock: float = 0.0,
    vol_after: pd.Series | None = None,
    elapsed_days: int = 0,
    rate_pct: float | None = None,
) -> pd.DataFrame:
    """Revalue each position for a decimal move of its underlying (and, for options, of vol and
    time).

    Stocks (LONG/SHORT), with r floored at -1 (a price cannot turn negative)::

        P&L = MV * max(r, -1)

    Options (LC/LP/SC/SP), fully revalued by Black-Scholes (no dividends, t = days / 365)::

        S1 = S * (1 + max(r, -1))                 spot after, $/share
        sigma1 = sigma + vol_shock                (or ``vol_after`` per underlying)
        days1 = days - elapsed_days
        V0 = BS(S, K, r_f, sigma, days),  V1 = BS(S1, K, r_f, sigma1, days1)   $/share
        P&L = qty * mult * (V1 - V0)

    BS is intrinsic value, max(S - K, 0) for a call and max(K - S, 0) for a put, where the days
    are <= 0 (expired before, or expiring within the horizon). A negative ``vol_shock`` stops at
    ``MIN_STRESSED_VOL`` (or at the option's own vol when that is already lower). Because
    V1 >= 0, a long option loses at most qty * mult * V0, its value; a short option loses what
    repricing says, without a bound. The comparison field is plain delta-gamma::

        pnl_delta_gamma = qty * mult * (delta * dS + 0.5 * gamma * dS^2),  dS = S1 - S

    with MV the signed market value ($), S the underlying price ($/share), K the strike
    ($/share), r_f the risk-free rate (decimal; ``rate_pct`` / 100), sigma the option's vol
    (decimal per year: the ``vol`` the valuation used), days its calendar days to expiry, and
    ``delta`` (per share), ``gamma`` (per share per $) its Greeks. ``capped`` is True only where
    the floor of the move at -100% changed the number (a move below -100%).

    Evaluated over all positions at once (numpy arrays; Black-Scholes on whole arrays).

    Parameters
    ----------
    positions : DataFrame
        Indexed by position_id; columns ``symbol, underlying, position_type, quantity,
        multiplier, price, underlying_price, market_value, exposure, delta, gamma``, for
        options ``strike`` ($/share), ``vol`` (decimal per year), ``days_to_expiry`` (calendar
        days) and optionally ``rate_pct`` (percent per year) and ``status`` (``"ok"`` or a
        reason string).
    underlying_move : Series
        Decimal move per underlying symbol (NaN or absent = unknown).
    missing_reason : str
        Reason recorded when a position's underlying has no move (``"no_factor_betas"`` for
        factor scenarios, ``"no_prices_in_episode"`` for replays).
    vol_shock : float
        Additive change of every option's vol (decimal vol points); ignored with ``vol_after``.
    vol_after : Series, optional
        Vol after the scenario per underlying symbol (decimal per year), e.g. the realized vol
        over a replay's episode; a live option without one is left out as ``no_scenario_vol``.
    elapsed_days : int
        Calendar days the options age in the scenario (0 = instantaneous).
    rate_pct : float, optional
        Risk-free rate, percent per year; default the ``rate_pct`` column, else 0.

    Returns
    -------
    DataFrame
        One row per input position (same index) with ``symbol, underlying, position_type,
        market_value, exposure, move, pnl, capped, reason`` and the option columns
        ``OPTION_FIELDS`` (NaN on stock rows). Modelled rows have ``reason`` None; left-out
        rows have ``pnl`` NaN and a ``reason``: the row's own ``status`` when not ``"ok"``,
        ``missing_reason``, ``"unknown_position_type"``, ``"no_market_value"``,
        ``"no_underlying_price"``, ``"no_greeks"``, ``"no_option_inputs"`` (strike, days or,
        before expiry, vol missing) or ``"no_scenario_vol"``.
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
        *OPTION_FIELDS,
    ]
    name = positions.index.name or "position_id"
    if len(positions) == 0:
        empty = pd.DataFrame([], columns=["position_id", *cols]).set_index("position_id")
        return empty.rename_axis(name)
    book = Book(positions, rate_pct=rate_pct)
    after = book.moves_from(vol_after) if vol_after is not None else None
    rev = book.revalue(
        book.moves_from(underlying_move),
        missing_reason,
        vol_shock=vol_shock,
        vol_after=after,
        elapsed_days=elapsed_days,
    )
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
        **_option_columns(book, rev),
    }
    return pd.DataFrame(data, index=pd.Index(book.ids, name=name), columns=cols)


@dataclass(frozen=True)
class Revalued:
    """One scenario's revaluation, arrays aligned with the book's positions.

    The option arrays are NaN on stock rows and on left-out rows.
    """

    move: np.ndarray  # decimal move of the underlying; NaN when unknown
    pnl: np.ndarray  # $; NaN on left-out rows
    capped: np.ndarray  # bool: the -100% floor of the move changed the number
    reason: np.ndarray  # object: None on modelled rows, else why the row is left out
    ok: np.ndarray  # bool: modelled
    spot_after: np.ndarray  # $/share
    vol_after: np.ndarray  # decimal per year
    days_after: np.ndarray  # calendar days
    value_before: np.ndarray  # $/share, Black-Scholes at the inputs before
    value_after: np.ndarray  # $/share, Black-Scholes at the inputs after
    pnl_delta_gamma: np.ndarray  # $, comparison only


class Book:
    """The positions ``position_pnl`` takes, as column arrays read once.

    A stress run revalues the same book for every scenario: the types, market values, option
    inputs and the reasons that do not depend on the scenario are worked out here, so a
    scenario costs a few array operations instead of a pass of per-row Python.
    """

    def __init__(self, positions: pd.DataFrame, *, rate_pct: float | None = None) -> None:
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
        self.strike = _numbers(positions, "strike")
        self.vol = _numbers(positions, "vol")
        self.days = _numbers(positions, "days_to_expiry")
        self.rate_pct = _rate_pct(positions, rate_pct)
        self.qm = qty * mult
        self.is_stock = np.isin(self.ptypes, STOCK_TYPES)
        self.is_call = np.isin(self.ptypes, CALL_TYPES)
        self.is_option = is_option = np.isin(self.ptypes, OPTION_TYPES)
        self.is_long = np.isin(self.ptypes, LONG_TYPES)
        self.is_short = np.isin(self.ptypes, SHORT_TYPES)

        # Reasons are checked in this order: the row's status, its type, its market value (all
        # before the move), the move itself, then for options the underlying price, the Greeks
        # (for the delta-gamma comparison) and the Black-Scholes inputs.
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
        no_greeks = is_option & ~no_spot & ~greeks
        after[no_greeks] = "no_greeks"
        with np.errstate(invalid="ignore"):
            # A vol is needed only while the option lives; an expired one is worth intrinsic.
            live_vol = (self.days <= 0) | (np.isfinite(self.vol) & (self.vol > 0))
            inputs = np.isfinite(self.strike) & (self.strike > 0) & np.isfinite(self.days)
        after[is_option & ~no_spot & ~no_greeks & ~(inputs & live_vol)] = "no_option_inputs"
        self.after, self.after_ok = after, np.equal(after, None)
        # Python scalars for the result dicts, converted once rather than per scenario.
        self.symbol_list, self.underlying_list = self.symbols.tolist(), self.underlyings.tolist()
        self.ptype_list, self.mv_list = self.ptypes.tolist(), self.mv.tolist()
        # The option values before the scenario do not depend on it: priced once.
        self.value_before = np.full(n, np.nan)
        priced = is_option & self.before_ok & self.after_ok
        self.value_before[priced] = black_scholes_vector(
            self.spot[priced],
            self.strike[priced],
            self.rate_pct / 100.0,
            self.vol[priced],
            self.days[priced],
            self.is_call[priced],
        )

    def moves_from(self, moves: pd.Series) -> np.ndarray:
        """Each position's underlying value looked up in a per-symbol Series (NaN if absent).

        Used for the underlying's move, and for a per-underlying vol after the scenario.
        """
        moves = moves.astype(float)
        # A label listed twice has no single move: unknown, as a scalar lookup would find.
        moves = moves[~moves.index.duplicated(keep=False)]
        return take_or_nan(moves.to_numpy(dtype=float), moves.index.get_indexer(self.underlyings))

    def shocked_vol(self, vol_shock: float) -> np.ndarray:
        """Each option's vol after an additive shock: sigma + dsigma, a fall stopping at
        ``MIN_STRESSED_VOL`` (or at sigma itself when that is already lower)."""
        with np.errstate(invalid="ignore"):
            shifted = self.vol + vol_shock
            if vol_shock < 0:
                shifted = np.maximum(shifted, np.minimum(self.vol, MIN_STRESSED_VOL))
        return shifted

    def revalue(
        self,
        move: np.ndarray,
        missing_reason: str,
        *,
        vol_shock: float = 0.0,
        vol_after: np.ndarray | None = None,
        elapsed_days: int = 0,
    ) -> Revalued:
        """P&L per position for a decimal ``move`` per position (see ``position_pnl``).

        ``vol_after`` (per position, decimal per year) replaces ``sigma + vol_shock`` when
        given; ``elapsed_days`` ages every option by that many calendar days.
        """
        n = len(move)
        sigma1 = self.shocked_vol(vol_shock) if vol_after is None else np.asarray(vol_after)
        days1 = self.days - elapsed_days
        no_move = self.before_ok & ~np.isfinite(move)
        with np.errstate(invalid="ignore"):
            needs_vol = self.is_option & (days1 > 0)
            no_vol = needs_vol & ~(np.isfinite(sigma1) & (sigma1 > 0))
        good = self.before_ok & ~no_move & self.after_ok
        reason = np.where(
            self.before_ok,
            np.where(
                no_move,
                missing_reason,
                np.where(self.after_ok & no_vol, "no_scenario_vol", self.after),
            ),
            self.before,
        )
        ok = good & ~no_vol
        # divide: a move of -100% puts S1 at 0, where ln(S1 / K) = -inf gives the right limits
        # (call worth 0, put worth K e^(-r t)).
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            r = np.maximum(move, -1.0)
            spot1 = self.spot * (1.0 + r)
            opt = ok & self.is_option
            value1 = np.full(n, np.nan)
            value1[opt] = black_scholes_vector(
                spot1[opt],
                self.strike[opt],
                self.rate_pct / 100.0,
                sigma1[opt],
                days1[opt],
                self.is_call[opt],
            )
            option_pnl = self.qm * value1 - self.qm * self.value_before
            ds = spot1 - self.spot
            delta_gamma = self.qm * (self.delta * ds + 0.5 * self.gamma * ds * ds)
            pnl = np.where(self.is_stock, self.mv * r, option_pnl)
            capped = ok & (move < -1.0)
        nan = np.full(n, np.nan)
        return Revalued(
            move=move,
            pnl=np.where(ok, pnl, np.nan),
            capped=capped,
            reason=reason,
            ok=ok,
            spot_after=np.where(opt, spot1, nan),
            vol_after=np.where(opt, sigma1, nan),
            days_after=np.where(opt, days1, nan),
            value_before=np.where(opt, self.value_before, nan),
            value_after=value1,
            pnl_delta_gamma=np.where(opt, delta_gamma, nan),
        )

    @staticmethod
    def total(rev: Revalued) -> float:
        """Sum of the modelled rows' P&L ($)."""
        return float(rev.pnl[rev.ok].sum())

    def split(self, rev: Revalued) -> tuple[float, tuple[dict, ...], tuple[dict, ...]]:
        """Total P&L ($), the modelled rows and the left-out rows as result dicts.

        Every modelled row has ``position_id, symbol, underlying, position_type, market_value,
        move, pnl, capped``; an option row adds ``OPTION_FIELDS`` (``rate`` in percent per
        year, ``vol_before`` None for an option already expired), enough to recompute its P&L
        by hand: ``pnl = position_value_after - position_value_before``.
        """
        good = np.flatnonzero(rev.ok)
        # Column-wise: each column sliced and converted to Python scalars once, then one dict
        # per row (a dict per position and scenario is what this step costs).
        extras: list[dict] = [{}] * len(good)
        at = np.flatnonzero(self.is_option[good])
        if len(at):
            values = _option_values(self, rev)
            options = good[at]
            columns = [_json_list(key, values[key][options]) for key in OPTION_FIELDS]
            for pos, extra in zip(at.tolist(), zip(*columns)):
                extras[pos] = dict(zip(OPTION_FIELDS, extra))
        rows = [
            {
                "position_id": self.ids[i],
                "symbol": self.symbol_list[i],
                "underlying": self.underlying_list[i],
                "position_type": self.ptype_list[i],
                "market_value": self.mv_list[i],
                "move": m,
                "pnl": p,
                "capped": c,
                **x,
            }
            for i, m, p, c, x in zip(
                good.tolist(),
                rev.move[good].tolist(),
                rev.pnl[good].tolist(),
                rev.capped[good].tolist(),
                extras,
            )
        ]
        modelled = tuple(rows)
        left_out = tuple(
            {
                "position_id": self.ids[i],
                "symbol": self.symbol_list[i],
                "reason": str(rev.reason[i]),
            }
            for i in np.flatnonzero(~rev.ok).tolist()
        )
        return float(rev.pnl[good].sum()), modelled, left_out


def _option_values(book: Book, rev: Revalued) -> dict[str, np.ndarray]:
    """The full-length arrays behind ``OPTION_FIELDS`` (meaningful on modelled option rows)."""
    return {
        "strike": book.strike,
        "rate": np.full(len(book.ids), book.rate_pct),
        "spot_before": book.spot,
        "spot_after": rev.spot_after,
        # Past expiry no vol enters the value: None rather than a vol that was not used.
        "vol_before": np.where(book.days > 0, book.vol, np.nan),
        "vol_after": np.where(rev.days_after > 0, rev.vol_after, np.nan),
        "days_before": book.days,
        "days_after": rev.days_after,
        "value_before": rev.value_before,
        "value_after": rev.value_after,
        "position_value_before": book.qm * rev.value_before,
        "position_value_after": book.qm * rev.value_after,
        "pnl_delta_gamma": rev.pnl_delta_gamma,
    }


def _option_columns(book: Book, rev: Revalued) -> dict[str, np.ndarray]:
    """``OPTION_FIELDS`` for every position: NaN except on modelled option rows."""
    keep = rev.ok & book.is_option
    return {k: np.where(keep, v, np.nan) for k, v in _option_values(book, rev).items()}


def _rate_pct(positions: pd.DataFrame, rate_pct: float | None) -> float:
    """The risk-free rate (percent per year): the argument, else the column's one value, else 0."""
    if rate_pct is not None:
        return float(rate_pct)
    if "rate_pct" in positions.columns:
        rates = _numbers(positions, "rate_pct")
        rates = rates[np.isfinite(rates)]
        if len(rates):
            if not np.all(rates == rates[0]):
                raise ValueError("positions carry more than one rate_pct")
            return float(rates[0])
    return 0.0


def _json_list(key: str, values: np.ndarray) -> list:
    """An option field's values for JSON: None for NaN, whole calendar days as int."""
    if key.startswith("days_"):
        if np.isfinite(values).all() and (values == np.round(values)).all():
            return values.astype(np.int64).tolist()
        return [None if v != v else int(v) if v.is_integer() else v for v in values.tolist()]
    out = values.tolist()
    if np.isnan(values).any():
        return [None if v != v else v for v in out]
    return out


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

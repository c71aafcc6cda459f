"""Stress tests: hypothetical factor scenarios (correlated) and historical replays.

Two kinds of scenario come from the library in ``scenarios.json`` (data, not code):

* **Factor scenarios** shock one or more factors by a stated decimal move. Factors that are not
  shocked move by their conditional expectation given the shocks under the factor covariance
  (``correlated_shocks``), each underlying moves by ``r_i = sum_f beta_if m_f`` and each position
  is revalued (``position_pnl``).
* **Historical replays** apply each underlying's actual return over a past episode,
  ``P_end / P_start - 1`` between adjusted closes (``episode_returns``).

Every scenario is an instantaneous shock to today's book: the move happens at once, so there is
no time decay, no change of implied volatility and no rebalancing. Options are revalued by a
delta-gamma expansion in the underlying's move. No instrument's value can fall below zero: a long
position loses at most its market value, a short position gains at most the value it is short.
Positions that cannot be modelled are returned in ``left_out`` with a reason, never as zero.

Units: moves and returns are decimals (``-0.10`` = -10%); P&L and values in dollars;
``pnl_pct`` is a decimal fraction of equity.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from webapp.analytics.constants import (
    BENCHMARK_SYMBOL,
    LONG_TYPES,
    OPTION_TYPES,
    SHORT_TYPES,
    STOCK_TYPES,
)

SCENARIOS_PATH = Path(__file__).with_name("scenarios.json")

#: Factor names of the factor engine (webapp/analytics/factors.py), in its order.
KNOWN_FACTORS: tuple[str, ...] = (
    "Market",
    "Value",
    "Growth",
    "Momentum",
    "Quality",
    "Size",
    "Low Volatility",
    "Rates",
)
CATEGORIES: tuple[str, ...] = ("market", "factor_rotation", "rates", "historical")
SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe", "extreme")


#: Condition number of Sigma_ss above which the solve is treated as singular (least squares).
_SINGULAR_COND = 1e12
#: A replay price older than this many calendar days before the start/end date is stale.
DEFAULT_MAX_STALE_DAYS = 7

_SLUG = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
_REQUIRED = ("id", "name", "category", "severity", "description")
_ALLOWED_KEYS = frozenset(_REQUIRED) | {"shocks", "replay"}


# --------------------------------------------------------------------------------------------
# Scenario library
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """One scenario of the library.

    Attributes
    ----------
    id, name, category, severity, description : str
        ``category`` is one of ``CATEGORIES``; ``severity`` one of ``SEVERITIES``.
    shocks : dict[str, float] or None
        Factor scenarios: factor name -> decimal move of that factor's return.
    replay_start, replay_end : datetime.date or None
        Historical replays: the episode's first and last dates (peak and trough closes).
    """

    id: str
    name: str
    category: str
    severity: str
    description: str
    shocks: Mapping[str, float] | None = None
    replay_start: dt.date | None = None
    replay_end: dt.date | None = None

    @property
    def kind(self) -> str:
        """``"factor"`` for a shock scenario, ``"historical"`` for a replay."""
        return "historical" if self.replay_start is not None else "factor"

    def to_dict(self) -> dict:
        """JSON-ready: ``id, name, category, severity, description, kind, shocks, replay``."""
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "severity": self.severity,
            "description": self.description,
            "kind": self.kind,
            "shocks": dict(self.shocks) if self.shocks is not None else None,
            "replay": (
                {"start": self.replay_start.isoformat(), "end": self.replay_end.isoformat()}
                if self.replay_start is not None
                else None
            ),
        }


def _parse_date(value: Any, label: str, where: str) -> dt.date:
    if not isinstance(value, str):
        raise ValueError(f"{where}: replay {label} must be a 'YYYY-MM-DD' string, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{where}: replay {label} {value!r} is not a valid 'YYYY-MM-DD' date"
        ) from None


def _parse_scenario(raw: Any, index: int, factors: tuple[str, ...]) -> Scenario:
    if not isinstance(raw, dict):
        raise ValueError(f"scenario #{index}: must be an object, got {type(raw).__name__}")
    sid = raw.get("id")
    where = f"scenario {sid!r} (#{index})" if sid is not None else f"scenario #{index}"
    _check_fields(raw, where)
    common = dict(
        id=sid,
        name=raw["name"],
        category=raw["category"],
        severity=raw["severity"],
        description=raw["description"],
    )
    if "shocks" in raw:
        return Scenario(**common, shocks=_parse_shocks(raw["shocks"], where, factors))
    start, end = _parse_replay(raw["replay"], where)
    return Scenario(**common, replay_start=start, replay_end=end)


def _check_fields(raw: dict, where: str) -> None:
    """The fields every scenario needs, and exactly one of shocks/replay matching its category."""
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(raw) - _ALLOWED_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for key in _REQUIRED:
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise ValueError(f"{where}: {key} must be a non-empty string")
    if not _SLUG.match(raw["id"]):
        raise ValueError(f"{where}: id must be a lowercase slug (a-z, 0-9, '_' or '-')")
    if raw["category"] not in CATEGORIES:
        raise ValueError(
            f"{where}: category {raw['category']!r} is not one of {', '.join(CATEGORIES)}"
        )
    if raw["severity"] not in SEVERITIES:
        raise ValueError(
            f"{where}: severity {raw['severity']!r} is not one of {', '.join(SEVERITIES)}"
        )
    has_shocks, has_replay = "shocks" in raw, "replay" in raw
    if has_shocks == has_replay:
        raise ValueError(f"{where}: give exactly one of 'shocks' or 'replay'")
    if has_replay != (raw["category"] == "historical"):
        raise ValueError(
            f"{where}: category 'historical' goes with 'replay', other categories with 'shocks'"
        )


def _parse_shocks(shocks: Any, where: str, factors: tuple[str, ...]) -> dict[str, float]:
    if not isinstance(shocks, dict) or not shocks:
        raise ValueError(f"{where}: shocks must be a non-empty object factor -> move")
    clean: dict[str, float] = {}
    for factor, move in shocks.items():
        if factor not in factors:
            raise ValueError(f"{where}: unknown factor {factor!r} (known: {', '.join(factors)})")
        if isinstance(move, bool) or not isinstance(move, (int, float)):
            raise ValueError(f"{where}: shock for {factor!r} must be a number, got {move!r}")
        if not math.isfinite(move) or move <= -1.0:
            raise ValueError(
                f"{where}: shock for {factor!r} must be a finite decimal move above -1 "
                f"(-0.10 = -10%), got {move!r}"
            )
        clean[factor] = float(move)
    return clean


def _parse_replay(replay: Any, where: str) -> tuple[dt.date, dt.date]:
    if not isinstance(replay, dict) or set(replay) != {"start", "end"}:
        raise ValueError(f"{where}: replay must be an object with exactly 'start' and 'end'")
    start = _parse_date(replay["start"], "start", where)
    end = _parse_date(replay["end"], "end", where)
    if not start < end:
        raise ValueError(f"{where}: replay start {start} must be before end {end}")
    return start, end


def load_scenarios(
    path: str | Path | None = None,
    *,
    factors: Iterable[str] = KNOWN_FACTORS,
) -> list[Scenario]:
    """Read and validate the scenario library.

    Parameters
    ----------
    path : str or Path, optional
        JSON file; defaults to ``scenarios.json`` next to this module. The file holds either a
        list of scenario objects or an object with a ``"scenarios"`` list.
    factors : iterable of str
        Factor names a shock may name (default ``KNOWN_FACTORS``).

    Returns
    -------
    list of Scenario
        In file order.

    Raises
    ------
    ValueError
        The file is not valid JSON, or a scenario has a missing/unknown field, an unknown factor,
        a non-numeric or <= -100% shock, a bad or reversed replay date, an unknown category or
        severity, or a duplicate id. The message names the scenario (id and position).
    """
    path = Path(path) if path is not None else SCENARIOS_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path.name}: not valid JSON ({exc})") from None
    items = data.get("scenarios") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path.name}: expected a non-empty list of scenarios")
    factors = tuple(factors)
    scenarios = [_parse_scenario(raw, i, factors) for i, raw in enumerate(items)]
    seen: set[str] = set()
    for i, s in enumerate(scenarios):
        if s.id in seen:
            raise ValueError(f"scenario {s.id!r} (#{i}): duplicate id")
        seen.add(s.id)
    return scenarios


# --------------------------------------------------------------------------------------------
# Factor moves and underlying moves
# --------------------------------------------------------------------------------------------
def correlated_shocks(shocks: Mapping[str, float], factor_cov: pd.DataFrame) -> pd.Series:
    """All factors' moves given the shocked ones: the conditional expectation.

    With the factors split into shocked ``s`` and unshocked ``u``, and ``Sigma`` the factor
    covariance (daily, any consistent unit: the ratio below is scale free),

        m_s = s                                   (as given)
        m_u = Sigma_us  Sigma_ss^{-1}  s          (E[u | s] for zero-mean jointly normal factors)

    ``Sigma_ss^{-1} s`` is computed with ``numpy.linalg.solve``. When ``Sigma_ss`` is singular or
    numerically so (condition number above 1e12, e.g. two shocked factors that are exact linear
    combinations, or a constant factor), ``numpy.linalg.lstsq`` gives the minimum-norm solution,
    i.e. the Moore-Penrose pseudo-inverse ``Sigma_ss^+ s``: only the part of the shock that the
    covariance can explain propagates to the other factors.

    Parameters
    ----------
    shocks : mapping factor -> float
        Decimal moves of the shocked factors (``-0.10`` = -10%).
    factor_cov : DataFrame
        Square factor x factor covariance with identical index and columns; no NaN.

    Returns
    -------
    Series
        Decimal move per factor, index = ``factor_cov.index`` (shocked ones equal ``shocks``).

    Raises
    ------
    ValueError
        No shocks, a shocked factor missing from ``factor_cov``, a non-finite shock, or a
        covariance that is not square/aligned or contains NaN.
    """
    if not shocks:
        raise ValueError("correlated_shocks needs at least one shocked factor")
    return _FactorCov(factor_cov).moves(shocks)


class _FactorCov:
    """A checked factor covariance as an array, reused by every scenario of a run.

    ``moves`` is ``correlated_shocks`` without re-checking the covariance and without pandas
    indexing per scenario; the sub-matrices are laid out as ``DataFrame.loc(...).to_numpy()``
    lays them out (column-major), so the BLAS products, and their rounding, are the same.
    """

    def __init__(self, factor_cov: pd.DataFrame) -> None:
        cov = factor_cov
        if list(cov.index) != list(cov.columns):
            raise ValueError("factor_cov must be square with the same factor order on both axes")
        if cov.isna().to_numpy().any():
            raise ValueError("factor_cov contains NaN")
        self.index = cov.index
        self.values = cov.to_numpy(dtype=float)
        self.position = {f: i for i, f in enumerate(cov.index)}

    def moves(self, shocks: Mapping[str, float]) -> pd.Series:
        """Decimal move per factor: the shocks, and Sigma_us Sigma_ss^-1 s for the others."""
        if not shocks:
            raise ValueError("correlated_shocks needs at least one shocked factor")
        missing = [f for f in shocks if f not in self.index]
        if missing:
            raise ValueError(f"shocked factor(s) not in factor_cov: {', '.join(missing)}")
        s_names = list(shocks)
        s = np.array([float(shocks[f]) for f in s_names])
        if not np.isfinite(s).all():
            raise ValueError("shocks must be finite")
        shocked = [self.position[f] for f in s_names]
        others = [i for i, f in enumerate(self.index) if f not in shocks]
        moves = np.zeros(len(self.index))
        moves[shocked] = s
        if others:
            sigma_ss = np.asfortranarray(self.values[np.ix_(shocked, shocked)])
            sigma_us = np.asfortranarray(self.values[np.ix_(others, shocked)])
            moves[others] = sigma_us @ _solve_psd(sigma_ss, s)
        return pd.Series(moves, index=self.index, name="move")


def _solve_psd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x = a^{-1} b by ``solve``; minimum-norm least squares (pseudo-inverse) if a is singular."""
    try:
        if np.linalg.cond(a) < _SINGULAR_COND:
            return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(a, b, rcond=None)[0]


def underlying_moves(betas: pd.DataFrame, factor_moves: pd.Series) -> pd.Series:
    """Each underlying's move implied by its factor betas: r_i = sum_f beta_if * m_f.

    Parameters
    ----------
    betas : DataFrame
        Underlying symbol x factor name (dimensionless OLS slopes).
    factor_moves : Series
        Decimal move per factor (e.g. from ``correlated_shocks``).

    Returns
    -------
    Series
        Decimal move per underlying (index = ``betas.index``). A row with any NaN beta gives
        NaN (the position is left out as ``no_factor_betas``, never treated as zero).

    Raises
    ------
    ValueError
        ``betas`` has a factor column with no move in ``factor_moves`` (it would be ignored).
    """
    unknown = [f for f in betas.columns if f not in factor_moves.index]
    if unknown:
        raise ValueError(f"no move for beta factor(s): {', '.join(map(str, unknown))}")
    b = betas.astype(float)
    m = factor_moves.reindex(b.columns).astype(float)
    r = b.to_numpy() @ m.to_numpy() if len(b.columns) else np.zeros(len(b))
    out = pd.Series(r, index=b.index, name="move", dtype=float)
    out[b.isna().any(axis=1).to_numpy()] = np.nan
    return out


# --------------------------------------------------------------------------------------------
# Position revaluation
# --------------------------------------------------------------------------------------------
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
    book = _Book(positions)
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
class _Revalued:
    """One scenario's revaluation, arrays aligned with the book's positions."""

    move: np.ndarray  # decimal move of the underlying; NaN when unknown
    pnl: np.ndarray  # $; NaN on left-out rows
    capped: np.ndarray  # bool
    reason: np.ndarray  # object: None on modelled rows, else why the row is left out
    ok: np.ndarray  # bool: modelled


class _Book:
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
        self.is_call = np.isin(self.ptypes, ["LC", "SC"])
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
        return _take(moves.to_numpy(dtype=float), moves.index.get_indexer(self.underlyings))

    def revalue(self, move: np.ndarray, missing_reason: str) -> _Revalued:
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
        return _Revalued(move=move, pnl=pnl, capped=capped, reason=reason, ok=ok)

    @staticmethod
    def total(rev: _Revalued) -> float:
        """Sum of the modelled rows' P&L ($)."""
        return float(rev.pnl[rev.ok].sum())

    def split(self, rev: _Revalued) -> tuple[float, tuple[dict, ...], tuple[dict, ...]]:
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
    return np.fromiter((_num(v) for v in col.to_numpy(dtype=object)), float, len(col))


def _take(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``values[where]`` as floats, NaN where ``where`` is -1 (label not found)."""
    out = values[where] if len(values) else np.full(len(where), np.nan)
    out[where < 0] = np.nan
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _py(value: Any) -> Any:
    """numpy scalars -> Python scalars for JSON."""
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScenarioResult:
    """The outcome of one scenario for one book.

    Attributes
    ----------
    scenario_id, name, category, severity, description : str
        From the scenario.
    kind : str
        ``"factor"`` or ``"historical"``.
    impact_type : str
        ``"correlated"`` (factor scenarios: unshocked factors move by conditional expectation)
        or ``"historical"`` (actual episode returns).
    equity : float
        Baseline equity ($).
    pnl : float
        Scenario P&L ($) = sum of modelled positions' P&L.
    pnl_pct : float or None
        ``pnl / equity`` as a decimal; None when equity <= 0.
    new_value : float
        ``equity + pnl`` ($).
    direct_pnl : float or None
        Factor scenarios: P&L with only the shocked factors moving (others 0), for comparison.
    factor_moves : dict[str, float]
        Factor scenarios: every factor's decimal move (shocked as given, the rest implied).
    shocked_factors, implied_factors : tuple of str
        Which factors in ``factor_moves`` were shocked and which implied.
    episode_start, episode_end : str or None
        Replays: the scenario's dates (``YYYY-MM-DD``).
    benchmark_return : float or None
        Replays: SPY's return over the episode (decimal), if SPY is in the prices.
    positions : tuple of dict
        Modelled positions: ``position_id, symbol, underlying, position_type, market_value,
        move, pnl, capped``.
    left_out : tuple of dict
        ``position_id, symbol, reason`` for every position that could not be modelled.
    method : str
        One-line statement of the calculation ("show the math").
    """

    scenario_id: str
    name: str
    category: str
    severity: str
    description: str
    kind: str
    impact_type: str
    equity: float
    pnl: float
    pnl_pct: float | None
    new_value: float
    direct_pnl: float | None = None
    factor_moves: Mapping[str, float] = field(default_factory=dict)
    shocked_factors: tuple[str, ...] = ()
    implied_factors: tuple[str, ...] = ()
    episode_start: str | None = None
    episode_end: str | None = None
    benchmark_return: float | None = None
    positions: tuple[dict, ...] = ()
    left_out: tuple[dict, ...] = ()
    method: str = ""

    def to_dict(self) -> dict:
        """JSON-ready dict with the attribute names as keys (tuples become lists)."""
        return {
            "scenario_id": self.scenario_id,
            "name": self.name,
            "category": self.category,
            "severity": self.severity,
            "description": self.description,
            "kind": self.kind,
            "impact_type": self.impact_type,
            "equity": self.equity,
            "pnl": self.pnl,
            "pnl_pct": self.pnl_pct,
            "new_value": self.new_value,
            "direct_pnl": self.direct_pnl,
            "factor_moves": dict(self.factor_moves),
            "shocked_factors": list(self.shocked_factors),
            "implied_factors": list(self.implied_factors),
            "episode_start": self.episode_start,
            "episode_end": self.episode_end,
            "benchmark_return": self.benchmark_return,
            "positions": [dict(p) for p in self.positions],
            "left_out": [dict(p) for p in self.left_out],
            "method": self.method,
        }


def _check_equity(equity: float) -> float:
    equity = float(equity)
    if not math.isfinite(equity):
        raise ValueError("equity must be finite")
    return equity


def _pct(pnl: float, equity: float) -> float | None:
    return pnl / equity if equity > 0 else None


class _BetaMap:
    """Factor betas prepared once for a book: r = B m per scenario, then a lookup per position.

    Gives the same numbers as ``underlying_moves`` followed by the per-position lookup of
    ``position_pnl`` (same matrix, same product), without building a Series per scenario.
    """

    def __init__(self, betas: pd.DataFrame, book: _Book) -> None:
        self.columns = betas.columns
        b = betas.astype(float)
        self.matrix = b.to_numpy()
        self.nan_rows = b.isna().any(axis=1).to_numpy()
        labels = b.index
        # Row of B for each position's underlying; a label listed twice has no single row.
        single = ~labels.duplicated(keep=False)
        rows = np.flatnonzero(single)
        found = labels[single].get_indexer(book.underlyings)
        self.row_of = rows[found] if len(rows) else found
        self.row_of[found < 0] = -1

    def position_moves(self, factor_moves: pd.Series) -> np.ndarray:
        """Each position's underlying move r_i = sum_f beta_if m_f (NaN without betas)."""
        unknown = [f for f in self.columns if f not in factor_moves.index]
        if unknown:
            raise ValueError(f"no move for beta factor(s): {', '.join(map(str, unknown))}")
        m = factor_moves.reindex(self.columns).astype(float)
        if len(self.columns):
            r = self.matrix @ m.to_numpy()
        else:
            r = np.zeros(len(self.matrix))
        r[self.nan_rows] = np.nan
        return _take(r, self.row_of)


_REVALUATION = (
    "stock P&L = MV * r; option P&L = qty * mult * (delta dS + 0.5 gamma dS^2), dS = S r, "
    "with the implied delta kept within [0, 1] for calls and [-1, 0] for puts; no value below zero."
)


def _scenario_result(
    scenario: Scenario,
    *,
    kind: str,
    impact_type: str,
    equity: float,
    pnl: float,
    positions: tuple,
    left_out: tuple,
    method: str,
    **kind_fields: Any,
) -> ScenarioResult:
    """The result fields every scenario kind shares, plus that kind's own."""
    return ScenarioResult(
        scenario_id=scenario.id,
        name=scenario.name,
        category=scenario.category,
        severity=scenario.severity,
        description=scenario.description,
        kind=kind,
        impact_type=impact_type,
        equity=equity,
        pnl=pnl,
        pnl_pct=_pct(pnl, equity),
        new_value=equity + pnl,
        positions=positions,
        left_out=left_out,
        method=method,
        **kind_fields,
    )


def run_factor_scenario(
    scenario: Scenario,
    positions: pd.DataFrame,
    betas: pd.DataFrame,
    factor_cov: pd.DataFrame,
    equity: float,
) -> ScenarioResult:
    """Correlated P&L of a factor scenario.

    m = ``correlated_shocks(scenario.shocks, factor_cov)``; per underlying
    r_i = sum_f beta_if m_f; per position P&L by ``position_pnl`` (stocks MV * r, options
    delta-gamma, value floored at zero); portfolio P&L = sum over modelled positions.
    ``direct_pnl`` repeats the calculation with only the shocked factors moving.

    Parameters
    ----------
    scenario : Scenario
        A factor scenario (``scenario.shocks`` set).
    positions : DataFrame
        See ``position_pnl``.
    betas : DataFrame
        Underlying symbol x factor (from the factor engine); missing symbols are left out as
        ``no_factor_betas``.
    factor_cov : DataFrame
        Factor x factor daily covariance over the factor window.
    equity : float
        Baseline equity ($) for ``pnl_pct`` and ``new_value``.

    Returns
    -------
    ScenarioResult
    """
    book = _Book(positions)
    return _factor_result(
        scenario, book, lambda: _BetaMap(betas, book), lambda: _FactorCov(factor_cov), equity
    )


def _factor_result(
    scenario: Scenario,
    book: _Book,
    beta_map: Callable[[], _BetaMap],
    factor_cov: Callable[[], _FactorCov],
    equity: float,
) -> ScenarioResult:
    """``run_factor_scenario`` on a prepared book; ``beta_map()`` and ``factor_cov()`` give the
    prepared betas and covariance."""
    if scenario.shocks is None:
        raise ValueError(f"scenario {scenario.id!r} is a historical replay, not a factor shock")
    equity = _check_equity(equity)
    if not scenario.shocks:
        raise ValueError("correlated_shocks needs at least one shocked factor")
    moves = factor_cov().moves(scenario.shocks)
    betas = beta_map()
    pnl, modelled, left_out = book.split(
        book.revalue(betas.position_moves(moves), "no_factor_betas")
    )

    direct = moves.copy()
    direct.loc[[f for f in direct.index if f not in scenario.shocks]] = 0.0
    direct_pnl = book.total(book.revalue(betas.position_moves(direct), "no_factor_betas"))

    shocked = tuple(f for f in moves.index if f in scenario.shocks)
    implied = tuple(f for f in moves.index if f not in scenario.shocks)
    return _scenario_result(
        scenario,
        kind="factor",
        impact_type="correlated",
        equity=equity,
        pnl=pnl,
        positions=modelled,
        left_out=left_out,
        direct_pnl=direct_pnl,
        factor_moves={str(f): float(v) for f, v in moves.items()},
        shocked_factors=shocked,
        implied_factors=implied,
        method=(
            "Shocked factors move as given; the others by their conditional expectation "
            "Sigma_us Sigma_ss^-1 s (factor covariance over the factor window). Underlying move "
            "r_i = sum_f beta_if m_f; " + _REVALUATION
        ),
    )


def episode_returns(
    prices: pd.DataFrame,
    start: dt.date | str | pd.Timestamp,
    end: dt.date | str | pd.Timestamp,
    *,
    max_stale_days: int = DEFAULT_MAX_STALE_DAYS,
) -> pd.Series:
    """Each symbol's return over an episode: P_end / P_start - 1 (decimal).

    ``P_start`` (``P_end``) is the symbol's last non-NaN adjusted close dated on or before
    ``start`` (``end``). NaN when there is no such close, when it is more than
    ``max_stale_days`` calendar days before the date (a gap or history that ends early must not
    pass for a flat episode), or when both closes are the same observation.

    Parameters
    ----------
    prices : DataFrame
        Wide adjusted closes ($): DatetimeIndex ascending, one column per symbol.
    start, end : date-like
        Episode dates, ``start < end``.
    max_stale_days : int
        Largest accepted distance (calendar days) between a date and the close used for it.

    Returns
    -------
    Series
        Decimal return per symbol (index = ``prices.columns``), NaN where not available.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if not start < end:
        raise ValueError(f"episode start {start.date()} must be before end {end.date()}")
    return _Closes(prices).episode(start, end, max_stale_days)


class _Closes:
    """Wide closes with, per row and symbol, the row of the last non-NaN close so far.

    Finding "the last close on or before a date" for every symbol is then a binary search on
    the dates and one row read, instead of a filtered copy of each column.
    """

    def __init__(self, prices: pd.DataFrame) -> None:
        px = prices.sort_index()
        self.columns = px.columns
        self.dates = px.index
        self.values = px.to_numpy(dtype=float, na_value=np.nan)
        rows = np.arange(len(px)).reshape(-1, 1)
        self.last_valid = (
            np.maximum.accumulate(np.where(np.isnan(self.values), -1, rows), axis=0)
            if len(px)
            else np.empty(self.values.shape, dtype=int)
        )

    def episode(self, start: pd.Timestamp, end: pd.Timestamp, max_stale_days: int) -> pd.Series:
        """``episode_returns`` for one episode (dates already validated)."""
        out = np.full(len(self.columns), np.nan)
        k0 = int(self.dates.searchsorted(start, side="right")) - 1
        k1 = int(self.dates.searchsorted(end, side="right")) - 1
        if k0 >= 0 and k1 >= 0 and len(self.columns):
            i0, i1 = self.last_valid[k0], self.last_valid[k1]
            cols = np.arange(len(self.columns))
            have = (i0 >= 0) & (i1 >= 0)
            d0 = self.dates[np.maximum(i0, 0)]
            d1 = self.dates[np.maximum(i1, 0)]
            limit = pd.Timedelta(days=max_stale_days)
            fresh = (
                have
                & np.asarray(start - d0 <= limit)
                & np.asarray(end - d1 <= limit)
                & (np.asarray(d1 > d0))
            )
            p0 = self.values[np.maximum(i0, 0), cols]
            p1 = self.values[np.maximum(i1, 0), cols]
            with np.errstate(invalid="ignore"):
                good = fresh & (p0 > 0) & np.isfinite(p1)
            out[good] = p1[good] / p0[good] - 1.0
        return pd.Series(out, index=self.columns, name="move", dtype=float)


def run_historical_replay(
    scenario: Scenario,
    positions: pd.DataFrame,
    prices: pd.DataFrame,
    equity: float,
) -> ScenarioResult:
    """Replay a past episode on today's book.

    Each underlying's move is its actual return over the episode (``episode_returns``:
    P_end / P_start - 1 from the last closes on or before the scenario's start and end dates);
    positions are revalued by ``position_pnl`` (stocks MV * r, options delta-gamma on that move,
    value floored at zero). Underlyings without prices covering the episode are left out as
    ``no_prices_in_episode``. ``benchmark_return`` is SPY's return over the same episode.

    Parameters
    ----------
    scenario : Scenario
        A historical scenario (``replay_start``/``replay_end`` set).
    positions : DataFrame
        See ``position_pnl``.
    prices : DataFrame
        Wide adjusted closes covering the episode.
    equity : float
        Baseline equity ($).

    Returns
    -------
    ScenarioResult
    """
    return _replay_result(scenario, _Book(positions), lambda: _Closes(prices), equity)


def _replay_result(
    scenario: Scenario, book: _Book, closes: Callable[[], _Closes], equity: float
) -> ScenarioResult:
    """``run_historical_replay`` on a prepared book; ``closes()`` gives the prepared prices."""
    if scenario.replay_start is None or scenario.replay_end is None:
        raise ValueError(f"scenario {scenario.id!r} is a factor shock, not a historical replay")
    equity = _check_equity(equity)
    start, end = pd.Timestamp(scenario.replay_start), pd.Timestamp(scenario.replay_end)
    if not start < end:
        raise ValueError(f"episode start {start.date()} must be before end {end.date()}")
    rets = closes().episode(start, end, DEFAULT_MAX_STALE_DAYS)
    revalued = book.revalue(book.moves_from(rets), "no_prices_in_episode")
    pnl, modelled, left_out = book.split(revalued)
    bench = rets.get(BENCHMARK_SYMBOL, np.nan) if BENCHMARK_SYMBOL in rets.index else np.nan
    return _scenario_result(
        scenario,
        kind="historical",
        impact_type="historical",
        equity=equity,
        pnl=pnl,
        positions=modelled,
        left_out=left_out,
        episode_start=scenario.replay_start.isoformat(),
        episode_end=scenario.replay_end.isoformat(),
        benchmark_return=float(bench) if math.isfinite(bench) else None,
        method=(
            "Each underlying's actual return P_end / P_start - 1 between the last adjusted "
            "closes on or before the episode's start and end dates, applied at once to today's "
            "positions; " + _REVALUATION
        ),
    )


def run_all_scenarios(
    scenarios: Iterable[Scenario],
    positions: pd.DataFrame,
    betas: pd.DataFrame,
    factor_cov: pd.DataFrame,
    prices: pd.DataFrame | None,
    equity: float,
) -> list[ScenarioResult]:
    """Run every scenario (factor shocks and replays) in the given order.

    ``prices`` may be None only when no scenario is a replay. The book, the betas and the closes
    are prepared once and shared by every scenario; each result equals the single-scenario
    function's (``run_factor_scenario`` / ``run_historical_replay``).
    """
    book = _Book(positions)
    prepared: dict[str, Any] = {}

    def beta_map() -> _BetaMap:
        if "betas" not in prepared:
            prepared["betas"] = _BetaMap(betas, book)
        return prepared["betas"]

    def cov() -> _FactorCov:
        if "cov" not in prepared:
            prepared["cov"] = _FactorCov(factor_cov)
        return prepared["cov"]

    def closes() -> _Closes:
        if "closes" not in prepared:
            prepared["closes"] = _Closes(prices)
        return prepared["closes"]

    results = []
    for scenario in scenarios:
        if scenario.kind == "historical":
            if prices is None:
                raise ValueError(f"scenario {scenario.id!r} needs prices for the replay")
            results.append(_replay_result(scenario, book, closes, equity))
        else:
            results.append(_factor_result(scenario, book, beta_map, cov, equity))
    return results

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
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from webapp.analytics.constants import BENCHMARK_SYMBOL

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

LONG_TYPES = frozenset({"LONG", "LC", "LP"})
SHORT_TYPES = frozenset({"SHORT", "SC", "SP"})
STOCK_TYPES = frozenset({"LONG", "SHORT"})
OPTION_TYPES = frozenset({"LC", "LP", "SC", "SP"})

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
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(raw) - _ALLOWED_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for key in _REQUIRED:
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise ValueError(f"{where}: {key} must be a non-empty string")
    if not _SLUG.match(sid):
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

    common = dict(
        id=sid,
        name=raw["name"],
        category=raw["category"],
        severity=raw["severity"],
        description=raw["description"],
    )
    if has_shocks:
        shocks = raw["shocks"]
        if not isinstance(shocks, dict) or not shocks:
            raise ValueError(f"{where}: shocks must be a non-empty object factor -> move")
        clean: dict[str, float] = {}
        for factor, move in shocks.items():
            if factor not in factors:
                raise ValueError(
                    f"{where}: unknown factor {factor!r} (known: {', '.join(factors)})"
                )
            if isinstance(move, bool) or not isinstance(move, (int, float)):
                raise ValueError(f"{where}: shock for {factor!r} must be a number, got {move!r}")
            if not math.isfinite(move) or move <= -1.0:
                raise ValueError(
                    f"{where}: shock for {factor!r} must be a finite decimal move above -1 "
                    f"(-0.10 = -10%), got {move!r}"
                )
            clean[factor] = float(move)
        return Scenario(**common, shocks=clean)

    replay = raw["replay"]
    if not isinstance(replay, dict) or set(replay) != {"start", "end"}:
        raise ValueError(f"{where}: replay must be an object with exactly 'start' and 'end'")
    start = _parse_date(replay["start"], "start", where)
    end = _parse_date(replay["end"], "end", where)
    if not start < end:
        raise ValueError(f"{where}: replay start {start} must be before end {end}")
    return Scenario(**common, replay_start=start, replay_end=end)


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
    cov = factor_cov
    if list(cov.index) != list(cov.columns):
        raise ValueError("factor_cov must be square with the same factor order on both axes")
    if cov.isna().to_numpy().any():
        raise ValueError("factor_cov contains NaN")
    missing = [f for f in shocks if f not in cov.index]
    if missing:
        raise ValueError(f"shocked factor(s) not in factor_cov: {', '.join(missing)}")
    s_names = list(shocks)
    s = np.array([float(shocks[f]) for f in s_names])
    if not np.isfinite(s).all():
        raise ValueError("shocks must be finite")
    u_names = [f for f in cov.index if f not in shocks]

    moves = pd.Series(0.0, index=cov.index, name="move")
    moves.loc[s_names] = s
    if u_names:
        sigma_ss = cov.loc[s_names, s_names].to_numpy(dtype=float)
        sigma_us = cov.loc[u_names, s_names].to_numpy(dtype=float)
        moves.loc[u_names] = sigma_us @ _solve_psd(sigma_ss, s)
    return moves


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

    with MV the signed market value ($), S the underlying price ($/share), ``delta``
    (per share) and ``gamma`` (per share per $) the option's per-share Greeks, ``qty`` signed.
    Limits, because no instrument's value can go below zero:

    * the underlying's move is floored at -100% (a price cannot turn negative);
    * a long position (LONG, LC, LP) loses at most its market value: P&L >= -MV;
    * a short position (SHORT, SC, SP) gains at most what it is short: P&L <= -MV = |MV|.

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
    rows = []
    moves = underlying_move.astype(float)
    for pid, p in positions.iterrows():
        ptype = str(p.get("position_type", "")).upper()
        underlying = p.get("underlying")
        if _missing(underlying):
            underlying = p.get("symbol")
        status = p.get("status", "ok")
        status = "ok" if _missing(status) else status
        mv = _num(p.get("market_value"))
        move = _num(moves.get(underlying, np.nan)) if underlying in moves.index else math.nan
        row = {
            "position_id": pid,
            "symbol": p.get("symbol"),
            "underlying": underlying,
            "position_type": ptype,
            "market_value": mv,
            "exposure": _num(p.get("exposure")),
            "move": move,
            "pnl": math.nan,
            "capped": False,
            "reason": None,
        }
        reason = None
        if status != "ok":
            reason = str(status)
        elif ptype not in STOCK_TYPES and ptype not in OPTION_TYPES:
            reason = "unknown_position_type"
        elif not math.isfinite(mv):
            reason = "no_market_value"
        elif not math.isfinite(move):
            reason = missing_reason
        if reason is None:
            r = max(move, -1.0)
            capped = r != move
            if ptype in STOCK_TYPES:
                pnl = mv * r
            else:
                qty, mult = _num(p.get("quantity")), _num(p.get("multiplier"))
                s, delta, gamma = (
                    _num(p.get("underlying_price")),
                    _num(p.get("delta")),
                    _num(p.get("gamma")),
                )
                if not (math.isfinite(s) and s > 0):
                    reason = "no_underlying_price"
                elif not (math.isfinite(delta) and math.isfinite(gamma)
                          and math.isfinite(qty) and math.isfinite(mult)):
                    reason = "no_greeks"
                else:
                    ds = s * r
                    pnl = qty * mult * (delta * ds + 0.5 * gamma * ds * ds)
            if reason is None:
                if ptype in LONG_TYPES and pnl < -mv:
                    pnl, capped = -mv, True
                elif ptype in SHORT_TYPES and pnl > -mv:
                    pnl, capped = -mv, True
                row["pnl"], row["capped"] = float(pnl), bool(capped)
        row["reason"] = reason
        rows.append(row)
    cols = ["position_id", "symbol", "underlying", "position_type", "market_value", "exposure",
            "move", "pnl", "capped", "reason"]
    out = pd.DataFrame(rows, columns=cols).set_index("position_id")
    out.index.name = positions.index.name or "position_id"
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


def _split(revalued: pd.DataFrame) -> tuple[float, tuple[dict, ...], tuple[dict, ...]]:
    ok = revalued[revalued["reason"].isna()]
    bad = revalued[revalued["reason"].notna()]
    modelled = tuple(
        {
            "position_id": _py(pid),
            "symbol": r["symbol"],
            "underlying": r["underlying"],
            "position_type": r["position_type"],
            "market_value": float(r["market_value"]),
            "move": float(r["move"]),
            "pnl": float(r["pnl"]),
            "capped": bool(r["capped"]),
        }
        for pid, r in ok.iterrows()
    )
    left_out = tuple(
        {"position_id": _py(pid), "symbol": r["symbol"], "reason": str(r["reason"])}
        for pid, r in bad.iterrows()
    )
    return float(ok["pnl"].astype(float).sum()), modelled, left_out


def _check_equity(equity: float) -> float:
    equity = float(equity)
    if not math.isfinite(equity):
        raise ValueError("equity must be finite")
    return equity


def _pct(pnl: float, equity: float) -> float | None:
    return pnl / equity if equity > 0 else None


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
    if scenario.shocks is None:
        raise ValueError(f"scenario {scenario.id!r} is a historical replay, not a factor shock")
    equity = _check_equity(equity)
    moves = correlated_shocks(scenario.shocks, factor_cov)
    revalued = position_pnl(positions, underlying_moves(betas, moves))
    pnl, modelled, left_out = _split(revalued)

    direct = moves.copy()
    direct.loc[[f for f in direct.index if f not in scenario.shocks]] = 0.0
    direct_pnl, _, _ = _split(position_pnl(positions, underlying_moves(betas, direct)))

    shocked = tuple(f for f in moves.index if f in scenario.shocks)
    implied = tuple(f for f in moves.index if f not in scenario.shocks)
    return ScenarioResult(
        scenario_id=scenario.id,
        name=scenario.name,
        category=scenario.category,
        severity=scenario.severity,
        description=scenario.description,
        kind="factor",
        impact_type="correlated",
        equity=equity,
        pnl=pnl,
        pnl_pct=_pct(pnl, equity),
        new_value=equity + pnl,
        direct_pnl=direct_pnl,
        factor_moves={str(f): float(v) for f, v in moves.items()},
        shocked_factors=shocked,
        implied_factors=implied,
        positions=modelled,
        left_out=left_out,
        method=(
            "Shocked factors move as given; the others by their conditional expectation "
            "Sigma_us Sigma_ss^-1 s (factor covariance over the factor window). Underlying move "
            "r_i = sum_f beta_if m_f; stock P&L = MV * r; option P&L = qty * mult * "
            "(delta dS + 0.5 gamma dS^2), dS = S r; no value below zero."
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
    px = prices.sort_index()
    limit = pd.Timedelta(days=max_stale_days)
    out = pd.Series(np.nan, index=px.columns, name="move", dtype=float)
    for sym in px.columns:
        col = px[sym].dropna()
        before_start = col[col.index <= start]
        before_end = col[col.index <= end]
        if before_start.empty or before_end.empty:
            continue
        d0, d1 = before_start.index[-1], before_end.index[-1]
        if start - d0 > limit or end - d1 > limit or d1 <= d0:
            continue
        p0, p1 = float(before_start.iloc[-1]), float(before_end.iloc[-1])
        if p0 > 0 and math.isfinite(p1):
            out[sym] = p1 / p0 - 1.0
    return out


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
    if scenario.replay_start is None or scenario.replay_end is None:
        raise ValueError(f"scenario {scenario.id!r} is a factor shock, not a historical replay")
    equity = _check_equity(equity)
    rets = episode_returns(prices, scenario.replay_start, scenario.replay_end)
    revalued = position_pnl(positions, rets, missing_reason="no_prices_in_episode")
    pnl, modelled, left_out = _split(revalued)
    bench = rets.get(BENCHMARK_SYMBOL, np.nan) if BENCHMARK_SYMBOL in rets.index else np.nan
    return ScenarioResult(
        scenario_id=scenario.id,
        name=scenario.name,
        category=scenario.category,
        severity=scenario.severity,
        description=scenario.description,
        kind="historical",
        impact_type="historical",
        equity=equity,
        pnl=pnl,
        pnl_pct=_pct(pnl, equity),
        new_value=equity + pnl,
        episode_start=scenario.replay_start.isoformat(),
        episode_end=scenario.replay_end.isoformat(),
        benchmark_return=float(bench) if math.isfinite(bench) else None,
        positions=modelled,
        left_out=left_out,
        method=(
            "Each underlying's actual return P_end / P_start - 1 between the last adjusted "
            "closes on or before the episode's start and end dates, applied at once to today's "
            "positions; stock P&L = MV * r; option P&L = qty * mult * (delta dS + 0.5 gamma "
            "dS^2), dS = S r; no value below zero."
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

    ``prices`` may be None only when no scenario is a replay.
    """
    results = []
    for scenario in scenarios:
        if scenario.kind == "historical":
            if prices is None:
                raise ValueError(f"scenario {scenario.id!r} needs prices for the replay")
            results.append(run_historical_replay(scenario, positions, prices, equity))
        else:
            results.append(run_factor_scenario(scenario, positions, betas, factor_cov, equity))
    return results

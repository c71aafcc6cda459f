"""The stress scenario library: what a scenario is, how the JSON library is read and checked,
and the result every kind of scenario gives.

The library is data, not code (``scenarios.json`` next to this module): each scenario is either a
factor shock (``shocks``: factor -> decimal move, run by ``factor_shocks``) or a historical
replay (``replay``: an episode's start and end dates, run by ``replay``). A factor scenario may
also say how implied volatility moves (``vol_shock``, additive vol points); without it the
library's default vol rule applies (``scenario_vol_shock``). ``load_scenarios``
refuses a malformed file with a message that names the scenario, so a bad edit fails at load
time rather than as a wrong number in a report.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

from webapp.analytics.constants import FACTOR_NAMES, MAX_VOL_SHOCK, VOL_PER_MARKET_FALL

SCENARIOS_PATH = Path(__file__).with_name("scenarios.json")

#: Factor names a shock may name: the factor engine's, in its order.
KNOWN_FACTORS: tuple[str, ...] = FACTOR_NAMES
CATEGORIES: tuple[str, ...] = ("market", "factor_rotation", "rates", "historical")
SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe", "extreme")

_SLUG = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
_REQUIRED = ("id", "name", "category", "severity", "description")
_ALLOWED_KEYS = frozenset(_REQUIRED) | {"shocks", "replay", "vol_shock"}


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
    vol_shock : float or None
        Factor scenarios: additive change of every option's implied vol, decimal vol points
        (+0.10 = 20% -> 30%); None = the default rule (``scenario_vol_shock``). Replays have
        none: they use each underlying's realized vol over the episode.
    """

    id: str
    name: str
    category: str
    severity: str
    description: str
    shocks: Mapping[str, float] | None = None
    replay_start: dt.date | None = None
    replay_end: dt.date | None = None
    vol_shock: float | None = None

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
            "vol_shock": self.vol_shock,
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
        return Scenario(
            **common,
            shocks=_parse_shocks(raw["shocks"], where, factors),
            vol_shock=_parse_vol_shock(raw.get("vol_shock"), where),
        )
    if "vol_shock" in raw:
        raise ValueError(
            f"{where}: a replay takes no 'vol_shock' (it uses the episode's realized vol)"
        )
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


def _parse_vol_shock(value: Any, where: str) -> float | None:
    """The optional ``vol_shock``: a finite number of decimal vol points within +-1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: vol_shock must be a number, got {value!r}")
    if not math.isfinite(value) or abs(value) > MAX_VOL_SHOCK:
        raise ValueError(
            f"{where}: vol_shock must be a finite change of implied vol within "
            f"+-{MAX_VOL_SHOCK} (decimal vol points, +0.10 = +10 points), got {value!r}"
        )
    return float(value)


def scenario_vol_shock(scenario: Scenario, market_move: float) -> tuple[float, str]:
    """The additive implied-vol change of a factor scenario and the rule in words.

    ``dsigma = scenario.vol_shock`` when the scenario gives one; otherwise
    ``dsigma = -VOL_PER_MARKET_FALL * m`` when the scenario's Market factor move ``m`` (shocked
    or implied, decimal) is negative, and 0 when it is not (vol unchanged).

    Parameters
    ----------
    scenario : Scenario
        A factor scenario.
    market_move : float
        The scenario's Market factor move (decimal; NaN or absent factor: pass 0).

    Returns
    -------
    tuple of (float, str)
        ``dsigma`` in decimal vol points (+0.10 = +10 points) and a sentence stating the rule.
    """
    if scenario.vol_shock is not None:
        return scenario.vol_shock, f"implied vol {scenario.vol_shock:+.4g} (scenario's vol_shock)"
    if market_move < 0:
        dsigma = -VOL_PER_MARKET_FALL * market_move
        return dsigma, (
            f"implied vol {dsigma:+.4g} = -{VOL_PER_MARKET_FALL} x Market move "
            f"{market_move:+.4g} (default rule for a falling market)"
        )
    return 0.0, "implied vol unchanged (no vol_shock and the market does not fall)"


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
        a non-numeric or <= -100% shock, a non-numeric or out-of-range ``vol_shock`` (or one on
        a replay), a bad or reversed replay date, an unknown category or severity, or a
        duplicate id. The message names the scenario (id and position).
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
        move, pnl, capped``; option rows also carry their revaluation inputs and outputs
        (``revaluation.OPTION_FIELDS``: strike, rate, spot/vol/days/value before and after,
        position value before and after, and the comparison ``pnl_delta_gamma``).
    left_out : tuple of dict
        ``position_id, symbol, reason`` for every position that could not be modelled.
    method : str
        One-line statement of the calculation ("show the math").
    vol_shock : float or None
        Factor scenarios: the additive implied-vol change applied to every option (decimal vol
        points); None for replays (each underlying's realized vol over the episode instead).
    vol_rule : str
        The vol rule in words.
    horizon_days : int
        Calendar days options age in the scenario: 0 for factor scenarios (instantaneous), the
        episode's length for replays.
    move_explained : tuple of dict
        Factor scenarios: per underlying with betas, how its move was built:
        ``underlying, terms {factor: beta_f m_f}, raw_move = sum of terms, shrinkage
        (move - raw_move), move`` (decimals; ``factor_shocks.MoveShrinkage``).
    shrinkage : dict
        Factor scenarios: the shrinkage applied (``MoveShrinkage.to_dict``).
    covariance : dict
        Factor scenarios: how the factor covariance was estimated
        (``shrinkage.ScenarioCovariance.to_dict``).
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
    vol_shock: float | None = None
    vol_rule: str = ""
    horizon_days: int = 0
    move_explained: tuple[dict, ...] = ()
    shrinkage: Mapping[str, Any] = field(default_factory=dict)
    covariance: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict with the attribute names as keys, in field order.

        Every container is a copy the caller may change: mappings become dicts, tuples lists
        (of dict copies for ``positions`` and ``left_out``).
        """
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def for_scenario(
        cls,
        scenario: Scenario,
        *,
        kind: str,
        impact_type: str,
        equity: float,
        pnl: float,
        positions: tuple[dict, ...],
        left_out: tuple[dict, ...],
        method: str,
        **kind_fields: Any,
    ) -> ScenarioResult:
        """The result of ``scenario``: the fields every kind shares, plus that kind's own.

        ``pnl_pct = pnl / equity`` (a decimal; None when equity <= 0, where a fraction of equity
        means nothing) and ``new_value = equity + pnl`` ($). ``kind_fields`` are the attributes
        only one kind sets (``direct_pnl``, ``factor_moves``, ... or ``episode_start``, ...).
        """
        return cls(
            scenario_id=scenario.id,
            name=scenario.name,
            category=scenario.category,
            severity=scenario.severity,
            description=scenario.description,
            kind=kind,
            impact_type=impact_type,
            equity=equity,
            pnl=pnl,
            pnl_pct=pnl / equity if equity > 0 else None,
            new_value=equity + pnl,
            positions=positions,
            left_out=left_out,
            method=method,
            **kind_fields,
        )


def _plain(value: Any) -> Any:
    """A result attribute as JSON wants it: a new dict for a mapping, a list for a sequence."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, list)):
        return [dict(v) if isinstance(v, Mapping) else v for v in value]
    return value

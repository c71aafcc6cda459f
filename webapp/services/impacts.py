"""Impacts of a modelling session: every analytic of the account and of its proposed book side
by side with the difference.

Both sides are the batch's stored results (the proposed book is a portfolio of its own, run by
the same batch), read through the same services the pages use; nothing is recalculated here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from webapp.models import ModellingSession, Portfolio
from webapp.services.correlations import diversification_score
from webapp.services.factor_exposures import factor_exposures
from webapp.services.overview import overview
from webapp.services.results import Result
from webapp.services.risk_metrics import risk_metrics
from webapp.services.risk_profile import risk_score
from webapp.services.runs import recent_runs
from webapp.services.stress_tests import stress_test

WINDOW = 252  # the risk figures' look-back: one year, as the book list and the alerts read


@dataclass(frozen=True)
class Line:
    """One figure: current, proposed and the difference (proposed − current).

    ``unit`` says how to read the numbers: ``$``, ``fraction`` (of equity; 0.05 = 5%),
    ``number`` or ``score``.
    """

    key: str
    label: str
    unit: str
    current: float | None
    proposed: float | None

    @property
    def difference(self) -> float | None:
        """proposed − current (None when either is missing)."""
        if self.current is None or self.proposed is None:
            return None
        return self.proposed - self.current

    def to_dict(self) -> dict:
        """The figure with its difference."""
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "current": self.current,
            "proposed": self.proposed,
            "difference": self.difference,
        }


@dataclass(frozen=True)
class Impacts:
    """Grouped lines (exposures, risk, factors, contributions, sectors, stress) and whether the
    proposed book's results are of its latest trades (``current``)."""

    session_id: int
    calculated: bool
    up_to_date: bool
    as_of: str | None
    groups: dict[str, list[Line]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready: every group's lines with their differences."""
        return {
            "session_id": self.session_id,
            "calculated": self.calculated,
            "up_to_date": self.up_to_date,
            "as_of": self.as_of,
            "groups": {k: [line.to_dict() for line in v] for k, v in self.groups.items()},
        }


def _data(result: Result) -> dict:
    return result.data if result.available else {}


def _var95(risk: dict) -> dict:
    level = next((v for v in risk.get("var", []) if v["confidence"] == 0.95), None)
    if level is None:
        return {}
    return {
        "var": (level.get("historical_full") or level["historical"])["return"],
        "es": (level.get("expected_shortfall_full") or level["expected_shortfall"])["return"],
    }


def _figures(book: Portfolio) -> dict:
    """The figures of one book that the impacts compare, by group and key."""
    view, risk = _data(overview(book)), _data(risk_metrics(book, lookback_days=WINDOW))
    summary = view.get("summary", {})
    equity = summary.get("equity") or None
    var = _var95(risk)
    factors = {f["name"]: f.get("beta") for f in _data(factor_exposures(book)).get("factors", [])}
    contributions = {c["symbol"]: c.get("pct") for c in risk.get("contributions", [])}
    sectors = {
        s["sector"]: (s.get("net") / equity if equity and s.get("net") is not None else None)
        for s in view.get("sectors", [])
    }
    scenarios = {
        s["scenario_id"]: (s["name"], s.get("pnl"))
        for s in _data(stress_test(book)).get("scenarios", [])
    }
    score = _data(risk_score(book))
    diversification = _data(diversification_score(book, lookback_days=WINDOW))
    return {
        "summary": summary,
        "equity": equity,
        "beta": risk.get("portfolio_beta"),
        "volatility": risk.get("annualized_volatility"),
        "var": var.get("var"),
        "es": var.get("es"),
        "factors": factors,
        "contributions": contributions,
        "sectors": sectors,
        "scenarios": scenarios,
        "risk_score": score.get("score"),
        "diversification": diversification.get("portfolio_correlation"),
    }


def _share(summary: dict, key: str, equity: float | None) -> float | None:
    value = summary.get(key)
    return value / equity if value is not None and equity else None


def impacts(session: ModellingSession) -> Impacts:
    """Current (the account) against proposed (the session's book), every figure's difference."""
    now, then = _figures(session.portfolio), _figures(session.proposal)
    runs = [
        r for r in recent_runs(session.proposal_id, limit=5) if r.status in ("succeeded", "partial")
    ]
    last = runs[0] if runs else None
    up_to_date = bool(last and last.finished_at and last.finished_at >= session.updated_at)
    exposures = [
        Line("equity", "Equity", "$", now["equity"], then["equity"]),
        Line("cash", "Cash", "$", now["summary"].get("cash"), then["summary"].get("cash")),
    ]
    for key, label in (
        ("gross_exposure", "Gross exposure"),
        ("net_exposure", "Net exposure"),
        ("delta_net_exposure", "Net exposure, delta-adjusted"),
    ):
        exposures.append(
            Line(
                key,
                f"{label} (% of equity)",
                "fraction",
                _share(now["summary"], key, now["equity"]),
                _share(then["summary"], key, then["equity"]),
            )
        )
    risk = [
        Line(key, label, unit, now[key], then[key])
        for key, label, unit in (
            ("beta", "Beta vs benchmark (1 year)", "number"),
            ("volatility", "Annualised volatility", "fraction"),
            ("var", "1-day VaR 95%", "fraction"),
            ("es", "1-day expected shortfall 95%", "fraction"),
            ("diversification", "Average correlation (lower diversifies more)", "number"),
            ("risk_score", "Risk score (1-99)", "score"),
        )
    ]

    def keyed(group: str, unit: str) -> list[Line]:
        keys = sorted(set(now[group]) | set(then[group]))
        return [Line(k, k, unit, now[group].get(k), then[group].get(k)) for k in keys]

    names = {k: v[0] for k, v in {**now["scenarios"], **then["scenarios"]}.items()}
    stress = [
        Line(
            sid,
            names[sid],
            "$",
            (now["scenarios"].get(sid) or (None, None))[1],
            (then["scenarios"].get(sid) or (None, None))[1],
        )
        for sid in names
    ]
    return Impacts(
        session_id=session.id,
        calculated=last is not None,
        up_to_date=up_to_date,
        as_of=last.as_of_date.isoformat() if last and last.as_of_date else None,
        groups={
            "exposures": exposures,
            "risk": risk,
            "factors": keyed("factors", "number"),
            "contributions": keyed("contributions", "fraction"),
            "sectors": keyed("sectors", "fraction"),
            "stress": stress,
        },
    )

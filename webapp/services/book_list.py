"""The book list: every portfolio and household of an advisor with the figures that say which
needs attention, and the side-by-side comparison of up to four books.

Read from the stored results of each book's last batch (nothing is recalculated here); a figure
that was not calculated is None, and the row says when the book was last calculated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Alert, BatchRun, Client, HouseholdAccount, Portfolio
from webapp.models.alerts import OPEN_STATUSES
from webapp.services.correlations import diversification_score
from webapp.services.factor_exposures import factor_exposures
from webapp.services.ledger import ValidationError
from webapp.services.overview import overview
from webapp.services.performance import performance
from webapp.services.portfolios import owned_portfolio, user_portfolios
from webapp.services.positions import open_position_counts
from webapp.services.results import Result
from webapp.services.risk_metrics import risk_metrics
from webapp.services.risk_profile import risk_score
from webapp.services.stress_tests import stress_test
from webapp.services.valuation import memo

MAX_COMPARE = 4
SORT_KEYS = (
    "name",
    "kind",
    "client",
    "positions",
    "equity",
    "day_return",
    "ytd_return",
    "risk_score",
    "gap",
    "var_pct",
    "open_alerts",
    "calculated_at",
)  # the BookRow fields the list sorts by
VAR_WINDOW = 252  # the longest stored window: the book list's VaR is its 1-year 95% VaR


@dataclass(frozen=True)
class BookRow:
    """One line of the book list. Returns and VaR are decimal fractions of equity."""

    id: int
    name: str
    kind: str
    client: str | None
    positions: int
    equity: float | None
    day_return: float | None
    ytd_return: float | None
    risk_score: int | None
    tolerance: int | None
    gap: int | None
    gap_verdict: str | None
    var_pct: float | None
    open_alerts: int
    as_of: dt.date | None
    calculated_at: dt.datetime | None
    accounts: int = 0

    def to_dict(self) -> dict:
        """JSON-ready: dates and times as ISO strings."""
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat() if self.as_of else None
        out["calculated_at"] = self.calculated_at.isoformat() if self.calculated_at else None
        return out


def _period(perf: Result, name: str) -> float | None:
    if not perf.available:
        return None
    row = next((p for p in perf.data.get("periods", []) if p.get("period") == name), None)
    return row.get("return") if row and row.get("available", True) else None


def _var95(risk: Result) -> float | None:
    if not risk.available:
        return None
    level = next((v for v in risk.data.get("var", []) if v["confidence"] == 0.95), None)
    if level is None:
        return None
    full = level.get("historical_full") or level["historical"]
    return full["return"]


def open_alert_counts(portfolio_ids: list[int]) -> dict[int, int]:
    """Open (new or seen) alerts per book."""
    if not portfolio_ids:
        return {}
    rows = db.session.execute(
        select(Alert.portfolio_id, func.count(Alert.id))
        .where(Alert.portfolio_id.in_(portfolio_ids), Alert.status.in_(OPEN_STATUSES))
        .group_by(Alert.portfolio_id)
    )
    return dict(rows.all())


def _last_runs(portfolio_ids: list[int]) -> dict[int, dt.datetime]:
    if not portfolio_ids:
        return {}
    rows = db.session.execute(
        select(BatchRun.portfolio_id, func.max(BatchRun.finished_at))
        .where(
            BatchRun.portfolio_id.in_(portfolio_ids),
            BatchRun.status.in_(("succeeded", "partial")),
        )
        .group_by(BatchRun.portfolio_id)
    )
    return dict(rows.all())


def _figures(p: Portfolio) -> dict:
    """The stored numbers of a book's row: equity, returns, risk score and gap, VaR, as-of."""
    view, perf = overview(p), performance(p)
    score = risk_score(p)
    s = score.data if score.available else {}
    gap = s.get("gap") or {}
    summary = view.data["summary"] if view.available else {}
    return {
        "equity": summary.get("equity"),
        "day_return": view.data["pnl"].get("day_change_pct") if view.available else None,
        "ytd_return": _period(perf, "YTD"),
        "risk_score": s.get("score"),
        "tolerance": (s.get("tolerance") or {}).get("score"),
        "gap": gap.get("difference"),
        "gap_verdict": gap.get("verdict"),
        "var_pct": _var95(risk_metrics(p, lookback_days=VAR_WINDOW)),
        "as_of": view.as_of,
    }


def _row(
    p: Portfolio, clients: dict, counts: dict, alerts: dict, runs: dict, accounts: dict
) -> BookRow:
    # The figures change only with a finished batch (they are its stored results), so they are
    # read once per book and run: decoding a 2,000-position book's overview, performance and
    # risk payloads on every list request made it the slowest page of the app.
    key = ("book_row", str(db.engine.url), p.id, runs.get(p.id))
    figures = memo(key, lambda: _figures(p))
    return BookRow(
        id=p.id,
        name=p.name,
        kind=p.kind,
        client=clients.get(p.client_id),
        positions=counts.get(p.id, 0),
        open_alerts=alerts.get(p.id, 0),
        calculated_at=runs.get(p.id),
        accounts=accounts.get(p.id, 0),
        **figures,
    )


def book_rows(user_id: int, *, sort: str = "name", descending: bool = False) -> list[BookRow]:
    """Every book of the advisor, sorted by ``sort`` (a ``SORT_KEYS`` name; missing last)."""
    if sort not in SORT_KEYS:
        raise ValidationError({"sort": f"Sort by one of: {', '.join(SORT_KEYS)}."})
    books = user_portfolios(user_id)
    ids = [p.id for p in books]
    clients = dict(
        db.session.execute(select(Client.id, Client.name).where(Client.user_id == user_id)).all()
    )
    accounts = dict(
        db.session.execute(
            select(HouseholdAccount.household_id, func.count())
            .where(HouseholdAccount.household_id.in_(ids))
            .group_by(HouseholdAccount.household_id)
        ).all()
    )
    counts, alerts, runs = open_position_counts(ids), open_alert_counts(ids), _last_runs(ids)
    rows = [_row(p, clients, counts, alerts, runs, accounts) for p in books]
    present = [r for r in rows if getattr(r, sort) is not None]
    absent = [r for r in rows if getattr(r, sort) is None]

    def key(r: BookRow):
        value = getattr(r, sort)
        return value.lower() if isinstance(value, str) else value

    return sorted(present, key=key, reverse=descending) + absent


@dataclass(frozen=True)
class Comparison:
    """Up to four books side by side: one column per book, one row per figure."""

    books: list[dict]
    rows: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The columns and the rows as plain lists."""
        return {"books": self.books, "rows": self.rows}


def _worst_scenario(result: Result) -> tuple[str | None, float | None]:
    if not result.available or not result.data.get("scenarios"):
        return None, None
    worst = min(result.data["scenarios"], key=lambda s: s.get("pnl_pct") or 0.0)
    return worst["name"], worst.get("pnl_pct")


def compare(user_id: int, portfolio_ids: list[int]) -> Comparison:
    """The main analytics of up to ``MAX_COMPARE`` of the advisor's books, side by side."""
    ids = list(dict.fromkeys(portfolio_ids))
    if not 2 <= len(ids) <= MAX_COMPARE:
        raise ValidationError({"ids": f"Choose between 2 and {MAX_COMPARE} books to compare."})
    books = [owned_portfolio(i, user_id) for i in ids]
    columns: list[dict] = []
    for p in books:
        view, risk, score = overview(p), risk_metrics(p, lookback_days=VAR_WINDOW), risk_score(p)
        factors, div = factor_exposures(p), diversification_score(p)
        summary = view.data.get("summary", {}) if view.available else {}
        r = risk.data if risk.available else {}
        level = next((v for v in r.get("var", []) if v["confidence"] == 0.95), None)
        betas = (
            {f["name"]: f["beta"] for f in factors.data.get("factors", [])}
            if factors.available
            else {}
        )
        worst_name, worst_pct = _worst_scenario(stress_test(p))
        equity = summary.get("equity")

        def share(value, equity=equity):
            return value / equity if value is not None and equity else None

        columns.append(
            {
                "id": p.id,
                "name": p.name,
                "kind": p.kind,
                "as_of": view.as_of.isoformat() if view.as_of else None,
                "equity": equity,
                "gross_exposure": share(summary.get("gross_exposure")),
                "net_exposure": share(summary.get("net_exposure")),
                "delta_net_exposure": share(summary.get("delta_net_exposure")),
                "beta": r.get("portfolio_beta"),
                "volatility": r.get("annualized_volatility"),
                "max_drawdown": r.get("max_drawdown"),
                "var_95": _var95(risk),
                "es_95": (level.get("expected_shortfall_full") or level["expected_shortfall"])[
                    "return"
                ]
                if level
                else None,
                "diversification": div.data.get("portfolio_correlation") if div.available else None,
                "risk_score": score.data.get("score") if score.available else None,
                "ytd_return": _period(performance(p), "YTD"),
                "market_beta": betas.get("Market"),
                "worst_scenario": worst_name,
                "worst_scenario_pnl": worst_pct,
            }
        )
    labels = (
        ("equity", "Equity", "money"),
        ("gross_exposure", "Gross exposure (% of equity)", "pct"),
        ("net_exposure", "Net exposure (% of equity)", "pct"),
        ("delta_net_exposure", "Delta-adjusted net exposure (% of equity)", "pct"),
        ("beta", "Beta vs benchmark (1 year)", "number"),
        ("market_beta", "Factor model Market beta", "number"),
        ("volatility", "Annualised volatility (1 year)", "pct"),
        ("max_drawdown", "Maximum drawdown (1 year backcast)", "pct"),
        ("var_95", "1-day VaR 95%", "pct"),
        ("es_95", "1-day expected shortfall 95%", "pct"),
        ("diversification", "Average correlation (lower diversifies more)", "number"),
        ("risk_score", "Risk score (1-99)", "int"),
        ("ytd_return", "Year-to-date return", "pct"),
        ("worst_scenario_pnl", "Worst stress scenario", "pct"),
    )
    rows = [
        {"key": key, "label": label, "format": fmt, "values": [c[key] for c in columns]}
        for key, label, fmt in labels
    ]
    return Comparison(books=columns, rows=rows)

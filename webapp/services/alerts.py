"""Alerts: the figures a batch gives each rule, evaluation after every batch, the lifecycle.

``facts_for`` reads a book's stored results (and its client's latest questionnaire) into the
engine's ``Facts``; ``evaluate_portfolio`` runs every enabled rule of the book through
``alert_rules.evaluate_all`` and keeps one live alert per (rule, key): a condition that still
holds updates its alert (an acknowledged one stays acknowledged), a new one raises an alert, one
that no longer holds is cleared. Each step of an alert's life is an ``AlertEvent`` (who, when,
which note), so the trail stays an audit record.

Units: every percentage handed to the engine is percentage points of equity (a stored VaR of
0.021, a decimal fraction, is 2.1); betas and the diversification score are plain numbers.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp.analytics import alert_rules
from webapp.analytics import stress as stress_engine
from webapp.analytics.alert_rules import RULE_KINDS, Facts, Finding, InvalidRule, NotEvaluable
from webapp.analytics.constants import OPTION_TYPES
from webapp.extensions import db
from webapp.models import Alert, AlertEvent, AlertRule, Portfolio, Position, PriceBar, User
from webapp.models._time import isoformat_z, utcnow
from webapp.models.alerts import ALERT_STATUSES, OPEN_STATUSES
from webapp.services import correlations, freshness, queries
from webapp.services.ledger import Conflict, ValidationError
from webapp.services.portfolios import MAX_ID, NotOwned
from webapp.services.results import Result, stored
from webapp.services.transactions import run_write

log = logging.getLogger(__name__)

# One window for every windowed figure a rule reads: a year of returns, the factor model's own
# window, so VaR, beta, factor betas and the diversification score describe the same period.
WINDOW_DAYS = 252
VAR_CONFIDENCE = 0.95
MIN_OVERLAP = 30  # the correlation pages' default: pairs with fewer common days are left out
MAX_NOTE = 2000
MAX_RULES_PER_BOOK = 50
MAX_REASON = 200  # AlertRule.last_unavailable
#: What the list filters accept: a status, or "open" (new + seen) or "all".
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "open": OPEN_STATUSES,
    **{s: (s,) for s in ALERT_STATUSES},
    "all": ALERT_STATUSES,
}
ACKNOWLEDGED = "acknowledged"
CLEARED = "cleared"


# ---------------------------------------------------------------- facts


@dataclass
class _Gathered:
    """Facts fields read so far and the as-of date of the results each source read."""

    fields: dict[str, Any] = field(default_factory=dict)
    as_of: dict[str, dt.date | None] = field(default_factory=dict)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _pct(value: Any) -> float | None:
    """A decimal fraction as percentage points (0.021 -> 2.1); None when not a finite number."""
    return float(value) * 100.0 if _finite(value) else None


def _read(portfolio: Portfolio, got: _Gathered, source: str, kind: str, params=None) -> dict | None:
    """The stored payload of ``kind`` (None when not available), noting its as-of date."""
    result: Result = stored(portfolio, kind, params)
    got.as_of[source] = result.as_of
    return result.data if result.available else None


def _overview(portfolio: Portfolio, got: _Gathered) -> None:
    """Signed delta-adjusted exposure per underlying and per sector, % of equity."""
    data = _read(portfolio, got, "overview", "overview")
    equity = ((data or {}).get("summary") or {}).get("equity")
    if not data or not _finite(equity) or equity <= 0:
        return  # without a positive equity there is no "% of equity"
    by_symbol: dict[str, float] = defaultdict(float)
    for row in data.get("positions") or []:
        if _finite(row.get("exposure")):
            by_symbol[row.get("underlying") or row["symbol"]] += row["exposure"]
    got.fields["exposures_by_symbol"] = {s: 100.0 * e / equity for s, e in by_symbol.items()}
    got.fields["exposures_by_sector"] = {
        row["sector"]: 100.0 * row["net"] / equity
        for row in data.get("sectors") or []
        if _finite(row.get("net"))
    }


def _risk(portfolio: Portfolio, got: _Gathered) -> None:
    """1-day 95% historical VaR and ES (% of equity) and the market beta, one-year window."""
    data = _read(portfolio, got, "risk", "risk_metrics", {"lookback_days": WINDOW_DAYS})
    if not data:
        return
    row = next((v for v in data.get("var") or [] if v.get("confidence") == VAR_CONFIDENCE), {})
    got.fields["var_pct"] = _pct((row.get("historical") or {}).get("return"))
    got.fields["es_pct"] = _pct((row.get("expected_shortfall") or {}).get("return"))
    beta = data.get("portfolio_beta")
    got.fields["beta"] = float(beta) if _finite(beta) else None


def _factors(portfolio: Portfolio, got: _Gathered) -> None:
    """Portfolio beta per factor (name -> beta)."""
    data = _read(portfolio, got, "factors", "factor_exposures", {"window": WINDOW_DAYS})
    if data:
        got.fields["factor_betas"] = {
            f["name"]: float(f["beta"]) for f in data.get("factors") or [] if _finite(f.get("beta"))
        }


def _diversification(portfolio: Portfolio, got: _Gathered) -> None:
    """The diversification score (0..1) as the correlations page reads it, one-year window."""
    result = correlations.diversification_score(
        portfolio, lookback_days=WINDOW_DAYS, min_overlap=MIN_OVERLAP
    )
    got.as_of["correlations"] = result.as_of
    score = result.data.get("diversification_score") if result.available else None
    got.fields["diversification_score"] = float(score) if _finite(score) else None


def _stress(portfolio: Portfolio, got: _Gathered) -> None:
    """Scenario id -> (name, P&L % of equity; negative = loss)."""
    data = _read(portfolio, got, "stress", "stress_test")
    if data:
        got.fields["scenario_losses"] = {
            s["scenario_id"]: (s.get("name") or s["scenario_id"], _pct(s["pnl_pct"]))
            for s in data.get("scenarios") or []
            if _finite(s.get("pnl_pct"))
        }


def _risk_score(portfolio: Portfolio, got: _Gathered) -> None:
    """The book's 1-99 risk score (absent until the risk-score step has stored one)."""
    data = _read(portfolio, got, "risk_score", "risk_score")
    score = (data or {}).get("score")
    got.fields["risk_score"] = float(score) if _finite(score) else None


def _client(portfolio: Portfolio, got: _Gathered) -> None:
    """The client's latest questionnaire: loss limit (%) and tolerance score (1-99)."""
    profile = portfolio.client.profile if portfolio.client is not None else None
    if profile is not None:
        got.fields["loss_limit_pct"] = float(profile.loss_limit_pct)
        got.fields["tolerance_score"] = float(profile.score)


def _open_positions(portfolio: Portfolio) -> list[Position]:
    return list(
        db.session.scalars(
            select(Position).where(
                Position.portfolio_id == portfolio.id, Position.exit_date.is_(None)
            )
        )
    )


def _options(portfolio: Portfolio, got: _Gathered) -> None:
    """Calendar days to expiry of each open option, counted from the results' as-of date.

    From the positions, not the valuation: an option the valuation left out (expired, no price)
    is the one an advisor most needs to hear about.
    """
    as_of = stored(portfolio, "overview").as_of or queries.latest_price_date()
    got.as_of["options"] = as_of
    if as_of is None:
        return
    got.fields["option_expiries"] = [
        (p.symbol, (p.expiration_date - as_of).days)
        for p in _open_positions(portfolio)
        if p.position_type in OPTION_TYPES and p.expiration_date is not None
    ]


def _prices(portfolio: Portfolio, got: _Gathered) -> None:
    """Business days from each held symbol's last stored price to today.

    Counted as the freshness banner counts (``services.freshness``): weekdays after the last bar
    up to today's date. A symbol without any stored bar has no age and is not listed.
    """
    symbols = {p.price_symbol for p in _open_positions(portfolio) if p.price_symbol}
    got.as_of["prices"] = queries.latest_price_date()
    last = dict(
        db.session.execute(
            select(PriceBar.symbol, func.max(PriceBar.date))
            .where(PriceBar.symbol.in_(sorted(symbols)))
            .group_by(PriceBar.symbol)
        ).all()
        if symbols
        else []
    )
    today = freshness.today()
    got.fields["stale_symbols"] = {
        s: freshness.trading_days_between(day, today) for s, day in last.items()
    }


_SOURCES: dict[str, Callable[[Portfolio, _Gathered], None]] = {
    "overview": _overview,
    "risk": _risk,
    "factors": _factors,
    "correlations": _diversification,
    "stress": _stress,
    "risk_score": _risk_score,
    "client": _client,
    "options": _options,
    "prices": _prices,
}
#: What each rule kind reads; a batch with no rules of a kind never reads its results.
KIND_SOURCES: dict[str, tuple[str, ...]] = {
    "var_pct": ("risk",),
    "es_pct": ("risk",),
    "beta": ("risk",),
    "factor_beta": ("factors",),
    "single_name_pct": ("overview",),
    "sector_pct": ("overview",),
    "diversification_score": ("correlations",),
    "scenario_loss_vs_limit": ("stress", "client"),
    "risk_vs_tolerance": ("risk_score", "client"),
    "option_expiry_days": ("options",),
    "stale_prices": ("prices",),
}


def _gather(portfolio: Portfolio, kinds: Iterable[str] | None = None) -> _Gathered:
    """The Facts fields the given rule kinds need (every kind's when None)."""
    wanted = KIND_SOURCES if kinds is None else {k: KIND_SOURCES.get(k, ()) for k in kinds}
    sources = {s for needs in wanted.values() for s in needs}
    got = _Gathered()
    for name, read in _SOURCES.items():
        if name in sources:
            read(portfolio, got)
    return got


def _facts(got: _Gathered) -> Facts:
    # ``as_of`` dates the price ages in the stale-price message: the day they are counted to.
    return Facts(**got.fields, as_of=freshness.today().isoformat())


def facts_for(portfolio: Portfolio) -> Facts:
    """Every figure the rules compare, from the book's stored results and its client's profile.

    A result the batch did not store (or a client without a questionnaire) leaves its fields
    None, which the engine reports as ``NotEvaluable``. Percentages are percentage points of
    equity; ``as_of`` is today's date, to which the price ages are counted.
    """
    return _facts(_gather(portfolio))


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class EvaluationSummary:
    """What one evaluation did to a book's alerts."""

    portfolio_id: int
    batch_run_id: int | None
    rules_checked: int = 0
    raised: int = 0
    updated: int = 0
    cleared: int = 0
    unavailable: dict[int, str] = field(default_factory=dict)  # rule id -> reason

    def to_dict(self) -> dict:
        """The counts, and the reason per rule that could not be checked."""
        return {
            "portfolio_id": self.portfolio_id,
            "batch_run_id": self.batch_run_id,
            "rules_checked": self.rules_checked,
            "raised": self.raised,
            "updated": self.updated,
            "cleared": self.cleared,
            "unavailable": {str(k): v for k, v in self.unavailable.items()},
        }


def rule_spec(rule: AlertRule) -> alert_rules.RuleSpec:
    """The stored rule in the engine's canonical form (``InvalidRule`` if it no longer is one)."""
    return alert_rules.validate_rule(rule.kind, rule.threshold, rule.param, rule.comparison)


def _outcome(rule: AlertRule, got: _Gathered) -> list[Finding] | NotEvaluable:
    try:
        spec = rule_spec(rule)
    except InvalidRule as exc:  # a rule stored under older definitions: say so, raise nothing
        return NotEvaluable(rule.kind, f"the rule is no longer valid ({exc})")
    return alert_rules.evaluate_all(spec, _facts(got))


def _as_of(rule: AlertRule, got: _Gathered) -> dt.date | None:
    dates = [got.as_of.get(s) for s in KIND_SOURCES.get(rule.kind, ())]
    dates = [d for d in dates if d is not None]
    return max(dates) if dates else queries.latest_price_date()


@dataclass
class _Tally:
    raised: int = 0
    updated: int = 0
    cleared: int = 0
    unavailable: dict[int, str] = field(default_factory=dict)


def _apply(
    rule: AlertRule,
    outcome: list[Finding] | NotEvaluable,
    as_of: dt.date | None,
    batch_run_id: int | None,
    tally: _Tally,
) -> None:
    """Bring the rule's live alerts in line with what it found now."""
    now = utcnow()
    rule.last_checked_at = now
    if isinstance(outcome, NotEvaluable):
        rule.last_unavailable = outcome.reason[:MAX_REASON]
        tally.unavailable[rule.id] = rule.last_unavailable
        return  # nothing known either way: the alerts stay as they are
    rule.last_unavailable = None
    live = {a.key: a for a in rule.alerts if a.status != CLEARED}
    for finding in outcome:
        alert = live.pop(finding.key, None)
        if alert is None:
            alert = Alert(rule=rule, portfolio_id=rule.portfolio_id, key=finding.key, status="new")
            alert.events.append(AlertEvent(status="new", note="", at=now))
            db.session.add(alert)
            alert.raised_at = now
            tally.raised += 1
        else:
            tally.updated += 1
        alert.subject = finding.subject
        alert.value = finding.value
        alert.threshold = finding.threshold
        alert.message = finding.message
        alert.as_of_date = as_of
        alert.batch_run_id = batch_run_id
        alert.last_seen_at = now
    for alert in live.values():  # conditions that no longer hold
        alert.status = CLEARED
        alert.cleared_at = now
        alert.events.append(AlertEvent(status=CLEARED, note="", at=now))
        tally.cleared += 1


def _evaluate(
    portfolio: Portfolio, rules: list[AlertRule], batch_run_id: int | None
) -> EvaluationSummary:
    got = _gather(portfolio, {r.kind for r in rules})
    planned = [(r.id, _outcome(r, got), _as_of(r, got)) for r in rules]
    rule_ids = [rule_id for rule_id, _, _ in planned]

    def unit() -> _Tally:
        tally = _Tally()
        fresh = {
            r.id: r
            for r in db.session.scalars(
                select(AlertRule)
                .where(AlertRule.id.in_(rule_ids))
                .options(selectinload(AlertRule.alerts))
            )
        }
        for rule_id, outcome, as_of in planned:
            if rule_id in fresh:  # a rule deleted meanwhile is gone with its alerts
                _apply(fresh[rule_id], outcome, as_of, batch_run_id, tally)
        return tally

    tally = run_write(unit)
    return EvaluationSummary(
        portfolio.id,
        batch_run_id,
        rules_checked=len(rules),
        raised=tally.raised,
        updated=tally.updated,
        cleared=tally.cleared,
        unavailable=tally.unavailable,
    )


def evaluate_portfolio(portfolio_id: int, batch_run_id: int | None = None) -> EvaluationSummary:
    """Evaluate every enabled rule of the book against its stored results.

    What the session holds is committed first, so a failure here rolls back only the alerts'
    writes (the batch calling this after its steps keeps its own record). Running twice on the
    same results changes nothing but the alerts' ``last_seen_at`` and the rules'
    ``last_checked_at``.
    """
    try:
        db.session.commit()
        portfolio = db.session.get(Portfolio, portfolio_id)
        if portfolio is None:
            return EvaluationSummary(portfolio_id, batch_run_id)
        rules = list(
            db.session.scalars(
                select(AlertRule)
                .where(AlertRule.portfolio_id == portfolio_id, AlertRule.enabled.is_(True))
                .order_by(AlertRule.id)
            )
        )
        if not rules:
            return EvaluationSummary(portfolio_id, batch_run_id)
        return _evaluate(portfolio, rules, batch_run_id)
    except BaseException:
        db.session.rollback()
        raise


# ---------------------------------------------------------------- rules


def scenario_choices() -> list[tuple[str, str]]:
    """(id, name) of every scenario of the library, for the rule form's parameter."""
    return [(s.id, s.name) for s in stress_engine.load_scenarios()]


def _refuse_invalid(kind: Any, threshold: Any, param: Any, comparison: Any):
    try:
        spec = alert_rules.validate_rule(kind, threshold, param, comparison)
    except InvalidRule as exc:
        raise ValidationError(exc.errors) from None
    if spec.kind == "scenario_loss_vs_limit" and spec.param != alert_rules.ANY_SCENARIO:
        known = {sid for sid, _ in scenario_choices()}
        if spec.param not in known:
            raise ValidationError(
                {"param": f"Unknown scenario {spec.param!r}: use 'any' or a scenario id."}
            )
    return spec


def create_rule(
    user_id: int,
    portfolio: Portfolio,
    kind: Any,
    threshold: Any = None,
    param: Any = None,
    comparison: Any = None,
) -> AlertRule:
    """A new enabled rule on the book, checked at once against its stored results.

    ``ValidationError`` with field errors (kind, threshold, param, comparison) for a rule the
    engine refuses, an unknown scenario, a rule the book has already, or too many rules.
    """
    if portfolio.user_id != user_id:
        raise NotOwned("No such portfolio.")
    spec = _refuse_invalid(kind, threshold, param, comparison)
    existing = list(
        db.session.scalars(select(AlertRule).where(AlertRule.portfolio_id == portfolio.id))
    )
    if any(
        (r.kind, r.threshold, r.param, r.comparison)
        == (spec.kind, spec.threshold, spec.param, spec.comparison)
        for r in existing
    ):
        raise ValidationError({"kind": "This book has this rule already."})
    if len(existing) >= MAX_RULES_PER_BOOK:
        raise ValidationError({"kind": f"A book has at most {MAX_RULES_PER_BOOK} rules."})

    def unit() -> AlertRule:
        rule = AlertRule(
            user_id=user_id,
            portfolio_id=portfolio.id,
            kind=spec.kind,
            threshold=spec.threshold,
            param=spec.param,
            comparison=spec.comparison,
            enabled=True,
        )
        db.session.add(rule)
        return rule

    rule = run_write(unit)
    try:
        _evaluate(portfolio, [rule], None)
    except Exception:  # the rule is saved; the next batch checks it
        db.session.rollback()
        log.exception("could not check new alert rule %s of portfolio %s", rule.id, portfolio.id)
    return rule


def owned_rule(rule_id: int, user_id: int) -> AlertRule:
    """The rule if its book is ``user_id``'s; NotOwned (404) otherwise."""
    rule = db.session.get(AlertRule, rule_id) if 0 < rule_id <= MAX_ID else None
    if rule is None or rule.portfolio.user_id != user_id:
        raise NotOwned("No such alert rule.")
    return rule


def delete_rule(rule: AlertRule) -> None:
    """Delete the rule with its alerts and their trails (disable it to keep them)."""
    rule_id = rule.id

    def unit() -> None:
        row = db.session.get(AlertRule, rule_id)
        if row is not None:
            db.session.delete(row)  # the ORM cascade takes its alerts and their events

    run_write(unit)


def set_enabled(rule: AlertRule, enabled: Any) -> AlertRule:
    """Turn the rule on or off; a disabled rule is skipped by the batch, its alerts kept."""
    if not isinstance(enabled, bool):
        raise ValidationError({"enabled": "true or false."})

    def unit() -> None:
        rule.enabled = enabled

    run_write(unit)
    return rule


def book_rules(portfolio_id: int) -> list[AlertRule]:
    """The book's rules, oldest first, with their alerts loaded."""
    return list(
        db.session.scalars(
            select(AlertRule)
            .where(AlertRule.portfolio_id == portfolio_id)
            .options(selectinload(AlertRule.alerts))
            .order_by(AlertRule.id)
        )
    )


def user_rules(user_id: int, portfolio_id: int | None = None) -> list[AlertRule]:
    """The advisor's rules (one book's when ``portfolio_id``), by book then age."""
    query = (
        select(AlertRule)
        .join(Portfolio, Portfolio.id == AlertRule.portfolio_id)
        .where(Portfolio.user_id == user_id)
        .options(selectinload(AlertRule.alerts), selectinload(AlertRule.portfolio))
        .order_by(AlertRule.portfolio_id, AlertRule.id)
    )
    if portfolio_id is not None:
        query = query.where(AlertRule.portfolio_id == portfolio_id)
    return list(db.session.scalars(query))


def rule_summary(rule: AlertRule) -> str:
    """The rule in words, e.g. "Value at risk above 2.5% of equity"."""
    try:
        return rule_spec(rule).summary()
    except InvalidRule:
        return f"{rule.kind} {rule.comparison} {rule.threshold}"


def rule_state(rule: AlertRule) -> str:
    """The last evaluation in words: disabled, not checked yet, not evaluable, firing or holds."""
    if not rule.enabled:
        return "disabled"
    if rule.last_checked_at is None:
        return "not checked yet"
    if rule.last_unavailable:
        return f"could not be checked: {rule.last_unavailable}"
    firing = sum(a.status != CLEARED for a in rule.alerts)
    return f"firing ({firing} alert{'s' if firing != 1 else ''})" if firing else "holds"


def rule_dict(rule: AlertRule) -> dict:
    """A rule as the API returns it, with its last evaluation and open alert count."""
    spec = RULE_KINDS.get(rule.kind)
    return {
        "id": rule.id,
        "portfolio_id": rule.portfolio_id,
        "kind": rule.kind,
        "label": spec.label if spec else rule.kind,
        "unit": spec.unit if spec else None,
        "threshold": rule.threshold,
        "param": rule.param,
        "comparison": rule.comparison,
        "enabled": rule.enabled,
        "summary": rule_summary(rule),
        "created_at": isoformat_z(rule.created_at),
        "last_checked_at": isoformat_z(rule.last_checked_at),
        "last_unavailable": rule.last_unavailable,
        "state": rule_state(rule),
        "open_alerts": sum(a.status in OPEN_STATUSES for a in rule.alerts),
    }


# ---------------------------------------------------------------- alerts


def _status_filter(status: str | None) -> tuple[str, ...]:
    if status is None:
        return ALERT_STATUSES
    if status not in STATUS_FILTERS:
        raise ValidationError({"status": f"One of: {', '.join(STATUS_FILTERS)}."})
    return STATUS_FILTERS[status]


def user_alerts(
    user_id: int,
    status: str | None = None,
    portfolio_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Alert], int]:
    """The advisor's alerts, newest first: one page and the total that match.

    ``status``: a status, "open" (new or seen), "all" or None (all).
    """
    statuses = _status_filter(status)
    where = [Portfolio.user_id == user_id, Alert.status.in_(statuses)]
    if portfolio_id is not None:
        where.append(Alert.portfolio_id == portfolio_id)
    base = select(Alert).join(Portfolio, Portfolio.id == Alert.portfolio_id).where(*where)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    rows = db.session.scalars(
        base.options(selectinload(Alert.rule).selectinload(AlertRule.portfolio))
        .order_by(Alert.raised_at.desc(), Alert.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


def open_alerts(portfolio_id: int, limit: int = 10) -> list[Alert]:
    """The book's open (new or seen) alerts, newest first: what the overview's panel shows."""
    return list(
        db.session.scalars(
            select(Alert)
            .where(Alert.portfolio_id == portfolio_id, Alert.status.in_(OPEN_STATUSES))
            .options(selectinload(Alert.rule).selectinload(AlertRule.portfolio))
            .order_by(Alert.raised_at.desc(), Alert.id.desc())
            .limit(limit)
        )
    )


def open_alert_counts(portfolio_ids: Iterable[int]) -> dict[int, int]:
    """Open (new or seen) alerts per book; every id asked for is a key (0 when none)."""
    ids = list(portfolio_ids)
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    rows = db.session.execute(
        select(Alert.portfolio_id, func.count())
        .where(Alert.portfolio_id.in_(ids), Alert.status.in_(OPEN_STATUSES))
        .group_by(Alert.portfolio_id)
    )
    counts.update({pid: int(n) for pid, n in rows})
    return counts


def owned_alert(alert_id: int, user_id: int) -> Alert:
    """The alert if its book is ``user_id``'s; NotOwned (404) for a missing or another's id."""
    alert = db.session.get(Alert, alert_id) if 0 < alert_id <= MAX_ID else None
    if alert is None or alert.rule.portfolio.user_id != user_id:
        raise NotOwned("No such alert.")
    return alert


def acknowledged_event(alert: Alert) -> AlertEvent | None:
    """The acknowledgement of the alert, if it has one."""
    return next((e for e in alert.events if e.status == ACKNOWLEDGED), None)


def mark_seen(alert: Alert, user_id: int) -> bool:
    """A new alert becomes seen by ``user_id`` (an event); any other status is left alone."""
    if alert.status != "new":
        return False

    def unit() -> None:
        alert.status = "seen"
        alert.events.append(AlertEvent(status="seen", note="", user_id=user_id, at=utcnow()))

    run_write(unit)
    return True


def acknowledge(alert: Alert, user_id: int, note: Any) -> Alert:
    """Acknowledge the alert with a note (required, at most 2,000 characters).

    A cleared alert can still be acknowledged (its status stays cleared; the trail records it);
    acknowledging twice is a ``Conflict``.
    """
    text = note.strip() if isinstance(note, str) else None
    if note is not None and not isinstance(note, str):
        raise ValidationError({"note": "Must be text."})
    if not text:
        raise ValidationError({"note": "Say what was done about it (a note is required)."})
    if len(text) > MAX_NOTE:
        raise ValidationError({"note": f"At most {MAX_NOTE} characters."})
    done = acknowledged_event(alert)
    if done is not None:
        raise Conflict(
            {"status": f"This alert was acknowledged already, on {isoformat_z(done.at)}."}
        )

    def unit() -> None:
        if alert.status != CLEARED:
            alert.status = ACKNOWLEDGED
        alert.events.append(
            AlertEvent(status=ACKNOWLEDGED, note=text, user_id=user_id, at=utcnow())
        )

    run_write(unit)
    return alert


def event_authors(alert: Alert) -> dict[int, str]:
    """User id -> e-mail of the advisors on the alert's trail."""
    ids = sorted({e.user_id for e in alert.events if e.user_id is not None})
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())


def event_dicts(alert: Alert) -> list[dict]:
    """The alert's trail, oldest first: status, note, who (None = an automatic check), when."""
    emails = event_authors(alert)
    return [
        {
            "id": e.id,
            "status": e.status,
            "note": e.note,
            "user_id": e.user_id,
            "user_email": emails.get(e.user_id),
            "at": isoformat_z(e.at),
        }
        for e in alert.events
    ]


def alert_dict(alert: Alert, *, events: bool = False) -> dict:
    """An alert as the API returns it (with its trail when ``events``)."""
    rule = alert.rule
    spec = RULE_KINDS.get(rule.kind)
    out = {
        "id": alert.id,
        "portfolio_id": alert.portfolio_id,
        "portfolio_name": rule.portfolio.name,
        "rule_id": alert.rule_id,
        "rule_summary": rule_summary(rule),
        "kind": rule.kind,
        "label": spec.label if spec else rule.kind,
        "unit": spec.unit if spec else None,
        "key": alert.key,
        "subject": alert.subject,
        "status": alert.status,
        "acknowledged": acknowledged_event(alert) is not None,
        "value": alert.value,
        "threshold": alert.threshold,
        "comparison": rule.comparison,
        "message": alert.message,
        "as_of": alert.as_of_date.isoformat() if alert.as_of_date else None,
        "batch_run_id": alert.batch_run_id,
        "raised_at": isoformat_z(alert.raised_at),
        "last_seen_at": isoformat_z(alert.last_seen_at),
        "cleared_at": isoformat_z(alert.cleared_at),
    }
    if events:
        out["events"] = event_dicts(alert)
    return out

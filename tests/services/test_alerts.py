"""Alerts after real batches: rules fire on the books that break them and not on the others,
units are percentage points of equity, one live alert per condition across batches, clearing,
the new -> seen -> acknowledged trail, and an evaluation that fails never fails the batch."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.factories import OptionPositionFactory, PortfolioFactory, PositionFactory, UserFactory
from webapp.extensions import db
from webapp.models import (
    Alert,
    AlertEvent,
    AlertRule,
    BatchRun,
    Client,
    Portfolio,
    PriceBar,
    RiskProfile,
)
from webapp.services import alerts, freshness, households
from webapp.services import management as mgmt
from webapp.services.batch import run_portfolio_batch
from webapp.services.ledger import Conflict, ValidationError
from webapp.services.portfolios import NotOwned
from webapp.services.results import latest_result

AS_OF = dt.date(2026, 8, 3)  # the bundled dataset's last day
# NVDA and a token AAPL share: correlations need two names, the book is still one name.
ONE_NAME = [("NVDA", 100), ("AAPL", 1)]
DIVERSIFIED = ("AAPL", "MSFT", "JNJ", "XOM", "JPM", "PG", "KO", "WMT", "CAT", "NEE")


def _batch(book) -> int:
    run = run_portfolio_batch(book.id)
    assert run.status == "succeeded", [s for s in run.steps if s["status"] != "succeeded"]
    return run.id


def _book(owner, holdings, cash=1_000.0):
    book = PortfolioFactory(owner=owner, cash=cash)
    for symbol, qty in holdings:
        PositionFactory(portfolio=book, symbol=symbol, quantity=qty, entry_price=100.0)
    return book


def _equal_dollars(symbols, each=2_000.0):
    """(symbol, shares) worth about ``each`` dollars apiece at the as-of close."""
    closes = dict(
        db.session.execute(
            select(PriceBar.symbol, PriceBar.adj_close).where(
                PriceBar.symbol.in_(symbols), PriceBar.date == AS_OF
            )
        ).all()
    )
    return [(s, round(each / closes[s])) for s in symbols]


def _alerts(rule_id: int, *statuses: str) -> list[Alert]:
    db.session.expire_all()
    query = select(Alert).where(Alert.rule_id == rule_id).order_by(Alert.id)
    if statuses:
        query = query.where(Alert.status.in_(statuses))
    return list(db.session.scalars(query))


def _rule(rule_id: int) -> AlertRule:
    db.session.expire_all()
    return db.session.get(AlertRule, rule_id)


@pytest.fixture(scope="module")
def books(app):
    """A one-name book (NVDA, ~90%) and a ten-name book, each with a batch run; their ids."""
    with app.app_context():
        owner = UserFactory()
        single = _book(owner, ONE_NAME)
        spread = _book(owner, _equal_dollars(DIVERSIFIED))
        ids = {"owner": owner.id, "single": single.id, "spread": spread.id}
        for key in ("single", "spread"):
            _batch(db.session.get(Portfolio, ids[key]))
        db.session.remove()
    return ids


@pytest.fixture()
def owner(ctx):
    """A fresh advisor with a one-name NVDA book (no batch yet)."""
    user = UserFactory()
    return user, _book(user, ONE_NAME)


# ---------------------------------------------------------------- facts and units


def test_facts_are_percentage_points_of_equity(books, ctx):
    book = db.session.get(Portfolio, books["single"])
    facts = alerts.facts_for(book)
    risk = latest_result(book.id, "risk_metrics", {"lookback_days": 252}).payload
    var95 = next(v for v in risk["var"] if v["confidence"] == 0.95)
    # The stored VaR is a decimal fraction (0.03 = 3%); the rule compares percentage points.
    assert 0 < var95["historical"]["return"] < 1
    assert facts.var_pct == pytest.approx(100 * var95["historical"]["return"])
    assert facts.es_pct == pytest.approx(100 * var95["expected_shortfall"]["return"])
    assert facts.es_pct > facts.var_pct
    assert facts.beta == pytest.approx(risk["portfolio_beta"])
    overview = latest_result(book.id, "overview").payload
    equity = overview["summary"]["equity"]
    assert facts.exposures_by_symbol == {
        p["underlying"]: pytest.approx(100 * p["exposure"] / equity) for p in overview["positions"]
    }
    assert 85 < facts.exposures_by_symbol["NVDA"] < 100  # 100 shares beside $1,000 of cash
    stress = latest_result(book.id, "stress_test").payload["scenarios"][0]
    name, pnl = facts.scenario_losses[stress["scenario_id"]]
    assert name == stress["name"] and pnl == pytest.approx(100 * stress["pnl_pct"])
    assert set(facts.factor_betas) >= {"Market", "Growth", "Rates"}
    assert 0 <= (facts.diversification_score or 0) <= 1
    assert facts.option_expiries == [] and set(facts.stale_symbols) == {"NVDA", "AAPL"}
    assert facts.loss_limit_pct is None and facts.tolerance_score is None  # no client


def test_a_book_never_calculated_has_no_facts_and_rules_say_why(owner):
    user, book = owner
    facts = alerts.facts_for(book)
    assert facts.var_pct is None and facts.exposures_by_symbol is None
    assert facts.scenario_losses is None and facts.risk_score is None
    rule = alerts.create_rule(user.id, book, "var_pct", 2)
    assert _rule(rule.id).last_unavailable == "no VaR in this batch"
    assert _alerts(rule.id) == []


# ---------------------------------------------------------------- rules firing and not


def test_single_name_fires_on_the_concentrated_book_only(books, ctx):
    owner = books["owner"]
    fired = {}
    for key in ("single", "spread"):
        book = db.session.get(Portfolio, books[key])
        rule = alerts.create_rule(owner, book, "single_name_pct", 20)
        run_id = _batch(book)
        fired[key] = (_alerts(rule.id), run_id, rule.id)
    (alert,), run_id, rule_id = fired["single"]
    assert alert.key == "single_name_pct:NVDA" and alert.subject == "NVDA"
    assert alert.status == "new" and alert.threshold == 20
    assert 85 < alert.value < 100 and "NVDA is" in alert.message
    assert alert.batch_run_id == run_id and alert.as_of_date == AS_OF
    assert [e.status for e in alert.events] == ["new"]
    assert alerts.rule_state(_rule(rule_id)) == "firing (1 alert)"
    assert fired["spread"][0] == []
    assert alerts.rule_state(_rule(fired["spread"][2])) == "holds"


def test_var_rule_fires_below_the_books_var_and_not_above(books, ctx):
    book = db.session.get(Portfolio, books["spread"])
    var = alerts.facts_for(book).var_pct
    low = alerts.create_rule(books["owner"], book, "var_pct", round(var - 0.1, 2))
    high = alerts.create_rule(books["owner"], book, "var_pct", round(var + 0.1, 2))
    _batch(book)
    (alert,) = _alerts(low.id)
    assert alert.value == pytest.approx(var) and alert.key == "var_pct"
    assert f"{var:.1f}% of equity" in alert.message
    assert _alerts(high.id) == []
    assert _rule(high.id).last_unavailable is None and _rule(high.id).last_checked_at


def test_option_expiry_counts_calendar_days_from_the_as_of_date(owner):
    user, book = owner
    OptionPositionFactory(portfolio=book, expiration_date=dt.date(2026, 8, 14), strike_price=180)
    soon = alerts.create_rule(user.id, book, "option_expiry_days", 30)
    later = alerts.create_rule(user.id, book, "option_expiry_days", 5)
    _batch(book)
    (alert,) = _alerts(soon.id)
    assert alert.value == 11 and "expires in 11 days" in alert.message
    assert alert.subject.startswith("AAPL") and alert.subject.endswith("C00180000")
    assert _alerts(later.id) == []


def test_stale_prices_count_business_days_to_today(owner, monkeypatch):
    user, book = owner
    monkeypatch.setattr(freshness, "today", lambda: dt.date(2026, 8, 5))
    rule = alerts.create_rule(user.id, book, "stale_prices", 5)
    run_id = _batch(book)
    assert _alerts(rule.id) == []
    monkeypatch.setattr(freshness, "today", lambda: dt.date(2026, 8, 17))  # two weeks later
    alerts.evaluate_portfolio(book.id, run_id)
    found = _alerts(rule.id)
    assert sorted(a.subject for a in found) == ["AAPL", "NVDA"]
    assert {a.value for a in found} == {10}
    assert "10 business days old as of 2026-08-17" in found[0].message


def _client(user, book, *, score: int, loss_limit: float) -> None:
    client = Client(user_id=user.id, name=f"Client of {book.name}")
    db.session.add(client)
    db.session.flush()
    db.session.add(
        RiskProfile(
            client_id=client.id,
            version="test",
            answers={},
            score=score,
            willingness=0.2,
            capacity=0.2,
            capped=False,
            category="conservative",
            loss_limit_pct=loss_limit,
        )
    )
    book.client_id = client.id
    db.session.commit()


def test_stress_loss_against_the_clients_loss_limit(owner):
    user, book = owner
    _client(user, book, score=10, loss_limit=5.0)
    rule = alerts.create_rule(user.id, book, "scenario_loss_vs_limit", None, "market_down_20")
    strict = alerts.create_rule(user.id, book, "scenario_loss_vs_limit", 90, "market_down_20")
    _batch(book)
    facts = alerts.facts_for(book)
    _, pnl = facts.scenario_losses["market_down_20"]
    (alert,) = _alerts(rule.id)
    assert alert.threshold == 5.0 and alert.value == pytest.approx(-pnl)
    assert "client's 5% loss limit" in alert.message
    assert _alerts(strict.id) == []


def test_risk_score_against_the_clients_tolerance(owner):
    user, book = owner
    rule = alerts.create_rule(user.id, book, "risk_vs_tolerance")
    _batch(book)
    assert _rule(rule.id).last_unavailable == "client has no tolerance score"
    _client(user, book, score=10, loss_limit=5.0)
    _batch(book)
    score = latest_result(book.id, "risk_score").payload["score"]
    assert score > 15  # a one-stock book is far riskier than a tolerance of 10
    (alert,) = _alerts(rule.id)
    assert alert.value == pytest.approx(score - 10) and alert.threshold == 5


def test_a_household_has_rules_of_its_own(ctx):
    user = UserFactory()
    a = _book(user, [("NVDA", 50)])
    b = _book(user, [("AAPL", 5)])
    household = households.create_household(user.id, "The Lees", [a.id, b.id])
    rule = alerts.create_rule(user.id, household, "single_name_pct", 50)
    _batch(household)
    (alert,) = _alerts(rule.id)
    assert alert.portfolio_id == household.id and alert.subject == "NVDA"


# ---------------------------------------------------------------- lifecycle


def test_new_seen_acknowledged_with_note_is_the_audit_trail(owner):
    user, book = owner
    rule = alerts.create_rule(user.id, book, "single_name_pct", 20)
    _batch(book)
    (alert,) = _alerts(rule.id)
    assert alerts.mark_seen(alert, user.id) is True
    assert alerts.mark_seen(alert, user.id) is False  # only a new alert becomes seen
    with pytest.raises(ValidationError) as empty:
        alerts.acknowledge(alert, user.id, "   ")
    assert "note" in empty.value.errors
    with pytest.raises(ValidationError):
        alerts.acknowledge(alert, user.id, "x" * 2001)
    alerts.acknowledge(alert, user.id, "  Client asked to keep it; reviewed with her.  ")
    (alert,) = _alerts(rule.id)
    assert alert.status == "acknowledged"
    trail = [(e.status, e.user_id, e.note) for e in alert.events]
    assert trail == [
        ("new", None, ""),
        ("seen", user.id, ""),
        ("acknowledged", user.id, "Client asked to keep it; reviewed with her."),
    ]
    assert all(e.at for e in alert.events)
    with pytest.raises(Conflict):
        alerts.acknowledge(alert, user.id, "again")
    detail = alerts.alert_dict(alert, events=True)
    assert [e["status"] for e in detail["events"]] == ["new", "seen", "acknowledged"]
    assert detail["events"][1]["user_email"] == user.email and detail["acknowledged"] is True


def test_two_batches_keep_one_alert_and_acknowledged_stays(owner):
    user, book = owner
    rule = alerts.create_rule(user.id, book, "single_name_pct", 20)
    _batch(book)
    (first,) = _alerts(rule.id)
    alerts.acknowledge(first, user.id, "Known concentration.")
    seen_at = _alerts(rule.id)[0].last_seen_at
    second_run = _batch(book)
    (again,) = _alerts(rule.id)
    assert again.id == first.id and again.status == "acknowledged"
    assert again.batch_run_id == second_run and again.last_seen_at >= seen_at
    assert [e.status for e in again.events] == ["new", "acknowledged"]


def test_evaluating_twice_on_the_same_results_changes_nothing_but_last_seen(owner):
    user, book = owner
    rules = [
        alerts.create_rule(user.id, book, "single_name_pct", 20),
        alerts.create_rule(user.id, book, "var_pct", 0.5),
        alerts.create_rule(user.id, book, "risk_vs_tolerance"),
    ]
    run_id = _batch(book)

    def state():
        rows = db.session.scalars(
            select(Alert).where(Alert.portfolio_id == book.id).order_by(Alert.id)
        )
        return [
            (a.id, a.status, a.key, a.value, a.threshold, a.message, a.as_of_date, a.batch_run_id)
            for a in rows
        ], db.session.scalar(
            select(db.func.count())
            .select_from(AlertEvent)
            .join(Alert)
            .where(Alert.portfolio_id == book.id)
        )

    before = state()
    summary = alerts.evaluate_portfolio(book.id, run_id)
    assert state() == before and len(before[0]) == 2
    assert (summary.raised, summary.cleared, summary.updated) == (0, 0, 2)
    assert summary.rules_checked == 3
    assert summary.unavailable == {rules[2].id: "client has no tolerance score"}


def test_alerts_clear_when_the_condition_goes_away(owner):
    user, book = owner
    rule = alerts.create_rule(user.id, book, "single_name_pct", 20)
    var = alerts.create_rule(user.id, book, "var_pct", 0.5)
    _batch(book)
    (alert,) = _alerts(rule.id)
    alerts.mark_seen(alert, user.id)
    # A deposit ten times the book: NVDA falls below 20% of equity and the VaR with it.
    mgmt.update_portfolio(book, {"cash": 200_000})
    run_id = _batch(book)
    (cleared,) = _alerts(rule.id)
    assert cleared.id == alert.id and cleared.status == "cleared" and cleared.cleared_at
    assert [e.status for e in cleared.events] == ["new", "seen", "cleared"]
    assert _alerts(var.id, "new", "seen", "acknowledged") == []
    # A cleared alert can still be acknowledged: the trail records it, the status stays.
    alerts.acknowledge(cleared, user.id, "Resolved by the deposit.")
    (done,) = _alerts(rule.id)
    assert done.status == "cleared" and done.events[-1].status == "acknowledged"
    with pytest.raises(Conflict):
        alerts.acknowledge(done, user.id, "twice")
    # The condition returning raises a new alert beside the cleared one.
    mgmt.update_portfolio(book, {"cash": 1_000})
    _batch(book)
    old, new = _alerts(rule.id)
    assert (old.status, new.status) == ("cleared", "new") and new.batch_run_id != run_id


def test_raising_the_threshold_clears_the_alert(owner):
    user, book = owner
    rule = alerts.create_rule(user.id, book, "single_name_pct", 20)
    run_id = _batch(book)
    row = _rule(rule.id)
    row.threshold = 99.5
    db.session.commit()
    summary = alerts.evaluate_portfolio(book.id, run_id)
    assert summary.cleared == 1
    assert [a.status for a in _alerts(rule.id)] == ["cleared"]


def test_a_rule_that_cannot_be_checked_leaves_its_alerts_alone(owner, monkeypatch):
    user, book = owner
    rule = alerts.create_rule(user.id, book, "var_pct", 0.5)
    run_id = _batch(book)
    (alert,) = _alerts(rule.id)
    monkeypatch.setitem(alerts._SOURCES, "risk", lambda portfolio, got: None)
    summary = alerts.evaluate_portfolio(book.id, run_id)
    assert summary.unavailable == {rule.id: "no VaR in this batch"}
    assert _rule(rule.id).last_unavailable == "no VaR in this batch"
    (still,) = _alerts(rule.id)
    assert (still.id, still.status) == (alert.id, "new")


def test_a_disabled_rule_is_skipped(owner):
    user, book = owner
    rule = alerts.create_rule(user.id, book, "single_name_pct", 20)
    alerts.set_enabled(rule, False)
    _batch(book)
    assert _alerts(rule.id) == [] and alerts.rule_state(_rule(rule.id)) == "disabled"
    with pytest.raises(ValidationError):
        alerts.set_enabled(rule, "yes")


@pytest.mark.parametrize("where", ["_gather", "_apply"])  # reading the results, writing alerts
def test_a_failing_evaluation_never_fails_the_batch(owner, monkeypatch, where):
    user, book = owner
    rule = alerts.create_rule(user.id, book, "single_name_pct", 20)

    def broken(*args, **kwargs):
        raise RuntimeError("alert engine down")

    monkeypatch.setattr(alerts, where, broken)
    run = run_portfolio_batch(book.id)
    assert run.status == "succeeded" and run.error is None
    db.session.expire_all()
    stored_run = db.session.get(BatchRun, run.id)
    assert stored_run.status == "succeeded" and stored_run.finished_at is not None
    assert _alerts(rule.id) == [] and _rule(rule.id).last_checked_at is not None
    assert latest_result(book.id, "overview").batch_run_id == run.id


# ---------------------------------------------------------------- rules, lists, ownership


def test_rule_validation_is_field_errors(owner):
    user, book = owner
    with pytest.raises(ValidationError) as bad:
        alerts.create_rule(user.id, book, "var_pct", "lots", "x", "sideways")
    assert set(bad.value.errors) == {"threshold", "param", "comparison"}
    with pytest.raises(ValidationError) as kind:
        alerts.create_rule(user.id, book, "moon_phase", 1)
    assert "kind" in kind.value.errors
    with pytest.raises(ValidationError) as scenario:
        alerts.create_rule(user.id, book, "scenario_loss_vs_limit", 10, "no_such_scenario")
    assert "param" in scenario.value.errors
    alerts.create_rule(user.id, book, "factor_beta", 1.5, "growth")
    with pytest.raises(ValidationError) as twice:
        alerts.create_rule(user.id, book, "factor_beta", "1.5", "Growth")
    assert twice.value.errors == {"kind": "This book has this rule already."}
    with pytest.raises(NotOwned):
        alerts.create_rule(UserFactory().id, book, "var_pct", 2)


def test_lists_counts_and_ownership(owner):
    user, book = owner
    rule = alerts.create_rule(user.id, book, "single_name_pct", 20)
    alerts.create_rule(user.id, book, "var_pct", 0.5)
    _batch(book)
    rows, total = alerts.user_alerts(user.id, status="open")
    assert total == 2 and [r.raised_at for r in rows] == sorted(
        (r.raised_at for r in rows), reverse=True
    )
    assert alerts.open_alert_counts([book.id, 0]) == {book.id: 2, 0: 0}
    page, total = alerts.user_alerts(user.id, status="all", limit=1, offset=1)
    assert total == 2 and len(page) == 1
    (concentration,) = _alerts(rule.id)
    alerts.acknowledge(concentration, user.id, "ok")
    assert alerts.user_alerts(user.id, status="acknowledged")[1] == 1
    assert alerts.user_alerts(user.id, status="open")[1] == 1
    assert alerts.user_alerts(user.id, portfolio_id=book.id + 10_000)[1] == 0
    with pytest.raises(ValidationError):
        alerts.user_alerts(user.id, status="bogus")
    other = UserFactory()
    assert alerts.user_alerts(other.id)[1] == 0
    with pytest.raises(NotOwned):
        alerts.owned_alert(concentration.id, other.id)
    with pytest.raises(NotOwned):
        alerts.owned_rule(rule.id, other.id)
    assert alerts.owned_alert(concentration.id, user.id).id == concentration.id
    alert_id = concentration.id
    alerts.delete_rule(alerts.owned_rule(rule.id, user.id))
    assert _alerts(rule.id) == [] and _rule(rule.id) is None
    events = select(AlertEvent).where(AlertEvent.alert_id == alert_id)
    assert db.session.scalars(events).all() == []  # the trail goes with its alert

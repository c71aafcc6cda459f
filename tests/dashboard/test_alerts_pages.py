"""The alert pages: the list (filters, pagination, HTMX partial), the detail with its trail
(viewing marks seen, acknowledging needs a note), the rules page (inline 422 errors,
enable/disable/delete), the overview panel partial, and 404 for another advisor's records."""

from __future__ import annotations

import re

import pytest
from flask import render_template
from sqlalchemy import select

from webapp.analytics.alert_rules import RULE_KINDS
from webapp.extensions import db
from webapp.models import Alert, AlertRule, Portfolio
from webapp.services import alerts as svc
from webapp.services.batch import run_portfolio_batch


@pytest.fixture()
def advisor(factory, auth):
    """A logged-in advisor whose one-name book fires two rules after a batch; (user, book)."""
    user = factory.user()
    book = factory.portfolio(
        user,
        positions=[
            {"symbol": "NVDA", "quantity": 100.0, "entry_price": 100.0},
            {"symbol": "AAPL", "quantity": 1.0, "entry_price": 100.0},
        ],
        cash=1_000.0,
        name="Concentrated book",
    )
    svc.create_rule(user.id, book, "single_name_pct", 20)
    svc.create_rule(user.id, book, "var_pct", 0.5)
    assert run_portfolio_batch(book.id).status == "succeeded"
    assert auth.login(user.email).status_code == 302
    return user, book


def _alert(book_id: int, key: str) -> Alert:
    db.session.expire_all()
    return db.session.scalar(select(Alert).where(Alert.portfolio_id == book_id, Alert.key == key))


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-alert="(\d+)" data-status="(\w+)">', html)


def test_the_list_shows_each_alert_with_its_book_value_and_status(advisor, client):
    _, book = advisor
    resp = client.get("/alerts/")
    assert resp.status_code == 200 and "HX-Request" in resp.headers["Vary"]
    page = resp.get_data(as_text=True)
    assert "<h1>Alerts</h1>" in page and page.count('data-status="new"') >= 2
    assert len(_rows(page)) == 2
    concentration = _alert(book.id, "single_name_pct:NVDA")
    assert concentration.message in page
    assert f'href="/alerts/{concentration.id}"' in page
    assert f'href="/portfolios/{book.id}/overview">Concentrated book</a>' in page
    assert "vs limit 20.00%" in page and f"{concentration.value:.2f}%" in page
    assert "2026-08-03" in page  # as of
    assert 'id="alert-status"' in page and 'id="alert-book"' in page


def test_htmx_gets_the_table_only_and_filters_apply(advisor, client):
    user, book = advisor
    htmx = client.get("/alerts/?status=all", headers={"HX-Request": "true"})
    fragment = htmx.get_data(as_text=True)
    assert "HX-Request" in htmx.headers["Vary"]
    assert fragment.lstrip().startswith('<div id="alerts-table">') and "<html" not in fragment
    assert len(_rows(fragment)) == 2
    svc.acknowledge(_alert(book.id, "var_pct"), user.id, "Fine for now.")
    open_ = client.get("/alerts/?status=open").get_data(as_text=True)
    assert [s for _, s in _rows(open_)] == ["new"]
    acked = client.get("/alerts/?status=acknowledged").get_data(as_text=True)
    assert [s for _, s in _rows(acked)] == ["acknowledged"]
    assert len(_rows(client.get("/alerts/?status=cleared").get_data(as_text=True))) == 0
    assert len(_rows(client.get("/alerts/?status=junk").get_data(as_text=True))) == 1  # open
    mine = client.get(f"/alerts/?status=all&portfolio_id={book.id}").get_data(as_text=True)
    assert len(_rows(mine)) == 2


def test_the_list_pages_newest_first(advisor, client, monkeypatch):
    from webapp.alerts import routes

    monkeypatch.setattr(routes, "PAGE_SIZE", 1)
    first = client.get("/alerts/?status=all").get_data(as_text=True)
    second = client.get("/alerts/?status=all&offset=1").get_data(as_text=True)
    assert "1–1 of 2" in first and 'id="alerts-older"' in first
    assert "2–2 of 2" in second and 'id="alerts-newer"' in second
    assert _rows(first)[0][0] > _rows(second)[0][0]  # raised at the same time: higher id first


def test_viewing_marks_seen_and_acknowledging_needs_a_note(advisor, client):
    user, book = advisor
    alert = _alert(book.id, "single_name_pct:NVDA")
    page = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert alert.message in page and 'id="alert-trail"' in page
    assert _alert(book.id, "single_name_pct:NVDA").status == "seen"
    page = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert 'data-event="seen"' in page and user.email in page and "automatic check" in page
    refused = client.post(f"/alerts/{alert.id}/acknowledge", data={"note": "  "})
    assert refused.status_code == 422
    assert 'class="field-error" data-field="note"' in refused.get_data(as_text=True)
    done = client.post(f"/alerts/{alert.id}/acknowledge", data={"note": "Trimming next week."})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/alerts/{alert.id}")
    page = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "Trimming next week." in page and 'id="acknowledged-note"' in page
    assert 'id="acknowledge"' not in page
    assert [e.status for e in _alert(book.id, "single_name_pct:NVDA").events] == [
        "new",
        "seen",
        "acknowledged",
    ]
    again = client.post(
        f"/alerts/{alert.id}/acknowledge", data={"note": "again"}, follow_redirects=True
    )
    assert "acknowledged already" in again.get_data(as_text=True)


def test_the_rules_page_lists_rules_and_adds_one(advisor, client):
    _, book = advisor
    page = client.get(f"/alerts/rules/{book.id}").get_data(as_text=True)
    for kind in RULE_KINDS.values():
        assert f'<option value="{kind.kind}">{kind.label}</option>' in page
    assert "Single-name concentration above 20% of equity" in page
    assert "firing (1 alert)" in page and 'id="alerts-panel"' in page
    assert 'class="active">Alerts</a>' in page  # the book's sub-navigation
    refused = client.post(
        f"/alerts/rules/{book.id}", data={"kind": "var_pct", "threshold": "150", "param": ""}
    )
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'data-field="threshold"' in body and "up to 100" in body
    added = client.post(
        f"/alerts/rules/{book.id}",
        data={"kind": "beta", "threshold": "0.3", "param": "", "comparison": "below"},
        follow_redirects=True,
    )
    text = added.get_data(as_text=True)
    assert "Added the rule: Market beta below 0.3 beta." in text
    rule = db.session.scalar(
        select(AlertRule).where(AlertRule.portfolio_id == book.id, AlertRule.kind == "beta")
    )
    assert rule.comparison == "below" and rule.last_checked_at is not None


def test_disable_enable_and_delete_buttons(advisor, client):
    _, book = advisor
    rule = db.session.scalar(
        select(AlertRule).where(AlertRule.portfolio_id == book.id, AlertRule.kind == "var_pct")
    )
    rule_id = rule.id
    base = f"/alerts/rules/{book.id}/{rule_id}"
    assert client.post(f"{base}/enabled", data={"enabled": "0"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(AlertRule, rule_id).enabled is False
    page = client.get(f"/alerts/rules/{book.id}").get_data(as_text=True)
    assert "disabled" in page and ">enable</button>" in page
    client.post(f"{base}/enabled", data={"enabled": "1"})
    db.session.expire_all()
    assert db.session.get(AlertRule, rule_id).enabled is True
    assert client.post(f"{base}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(AlertRule, rule_id) is None
    assert client.post(f"{base}/delete").status_code == 404


def test_the_panel_partial_shows_a_books_open_alerts(advisor, app):
    _, book = advisor
    with app.test_request_context():
        rows = svc.open_alerts(book.id)
        html = render_template(
            "alerts/_panel.html", alerts=rows, portfolio=db.session.get(Portfolio, book.id)
        )
        empty = render_template("alerts/_panel.html", alerts=[])
    assert "2 open" in html and all(a.message in html for a in rows)
    assert f'href="/alerts/rules/{book.id}"' in html
    assert "No open alerts." in empty and "/alerts/rules/" not in empty


def test_another_advisor_gets_404_everywhere(advisor, client, auth, factory):
    _, book = advisor
    alert = _alert(book.id, "var_pct")
    rule_id = alert.rule_id
    other = factory.user()
    own = factory.portfolio(other)
    auth.logout()
    auth.login(other.email)
    assert _rows(client.get("/alerts/?status=all").get_data(as_text=True)) == []
    for method, url, data in (
        ("GET", f"/alerts/{alert.id}", None),
        ("POST", f"/alerts/{alert.id}/acknowledge", {"note": "mine"}),
        ("GET", f"/alerts/rules/{book.id}", None),
        ("POST", f"/alerts/rules/{book.id}", {"kind": "var_pct", "threshold": "1"}),
        ("POST", f"/alerts/rules/{book.id}/{rule_id}/delete", None),
        ("POST", f"/alerts/rules/{book.id}/{rule_id}/enabled", {"enabled": "0"}),
        ("POST", f"/alerts/rules/{own.id}/{rule_id}/delete", None),  # own book, other's rule
        ("GET", f"/alerts/?portfolio_id={book.id}", None),
    ):
        resp = client.open(url, method=method, data=data)
        assert resp.status_code == 404, (method, url, resp.status_code)
        assert "Concentrated book" not in resp.get_data(as_text=True)
    db.session.expire_all()
    assert _alert(book.id, "var_pct").status == "new"  # not even marked seen
    assert db.session.get(AlertRule, rule_id).enabled is True


def test_every_alert_form_carries_the_csrf_token_and_refuses_without_it(advisor, client, app):
    _, book = advisor
    alert = _alert(book.id, "var_pct")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        rules = client.get(f"/alerts/rules/{book.id}").get_data(as_text=True)
        detail = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
        forms = re.findall(r'<form method="post".*?</form>', rules + detail, re.S)
        assert len(forms) >= 6  # recalculate, add rule, 2 x (enable, delete), acknowledge
        assert all('name="csrf_token"' in f for f in forms)
        refused = client.post(f"/alerts/{alert.id}/acknowledge", data={"note": "no token"})
        assert refused.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _alert(book.id, "var_pct").status == "seen"  # opened, never acknowledged


def test_pages_need_a_login(client):
    resp = client.get("/alerts/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]

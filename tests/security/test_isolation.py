"""No advisor reaches another's portfolio, position, tag, run, job, client, alert or modelling
session; results never change owner."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from webapp.extensions import db
from webapp.models import AnalyticsResult, BatchRun, Portfolio, PortfolioSnapshot

INT_ARGS = {
    "portfolio_id",
    "position_id",
    "tag_id",
    "run_id",
    "client_id",
    "rule_id",
    "alert_id",
    "session_id",
    "trade_id",
    "report_id",
    "template_id",
    "schedule_id",
}


def _rules(app):
    for rule in app.url_map.iter_rules():
        if rule.arguments & INT_ARGS or rule.endpoint == "api.job":
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _url(rule, owner) -> str:
    values = {
        "portfolio_id": owner.portfolio_id,
        "position_id": owner.position_id,
        "tag_id": owner.tag_id,
        "run_id": owner.run_id,
        "job_id": owner.job_id,
        "client_id": owner.client_id,
        "rule_id": owner.rule_id,
        "alert_id": owner.alert_id,
        "session_id": owner.session_id,
        "trade_id": owner.trade_id,
        "report_id": owner.report_id,
        "template_id": owner.template_id,
        "schedule_id": owner.schedule_id,
    }
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), url)
    return url


def test_every_route_with_an_id_answers_404_for_another_advisors_id(
    app, client, auth, two_advisors
):
    alice, bob = two_advisors
    token = client.post(
        "/api/v1/auth/login", json={"email": bob.email, "password": "correct-horse-9"}
    ).get_json()["access_token"]
    assert auth.login(bob.email).status_code == 302
    checked = []
    for rule, method in _rules(app):
        url = _url(rule, alice)
        headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
        resp = client.open(
            url, method=method, headers=headers, json={} if method != "GET" else None
        )
        assert resp.status_code == 404, (
            method,
            url,
            resp.status_code,
            resp.get_data(as_text=True)[:300],
        )
        body = resp.get_data(as_text=True)
        assert alice.email not in body and "alice book" not in body
        checked.append((method, rule.rule))
    # Query-string ids too.
    for url in (
        f"/api/v1/data/positions/details?portfolio_id={alice.portfolio_id}",
        f"/api/v1/system/batch/history?portfolio_id={alice.portfolio_id}",
        f"/portfolios/switch?portfolio_id={alice.portfolio_id}",
    ):
        headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
        assert client.get(url, headers=headers).status_code == 404, url
    # The matrix grows with the app: every portfolio route is in it.
    assert len(checked) >= 40
    assert {
        "/portfolios/<int:portfolio_id>/factors",
        "/api/v1/system/jobs/<job_id>",
        "/modelling/<int:session_id>/trades/<int:trade_id>/remove",
        "/api/v1/modeling/sessions/<int:session_id>/trades/<int:trade_id>",
        "/reports/<int:report_id>/download",
        "/api/v1/export/reports/templates/<int:template_id>",
        "/reports/schedules/<int:schedule_id>/delete",
    } <= {r for _, r in checked}


def test_a_result_is_read_only_through_its_own_portfolios_run(ctx, two_advisors):
    """A result row whose run belongs to another portfolio is never served, however new."""
    from webapp.services.results import latest_result, store_result

    alice, bob = two_advisors
    own = latest_result(bob.portfolio_id, "factor_exposures", {"window": 252})
    assert own is not None
    stray = store_result(
        bob.portfolio_id,
        "factor_exposures",
        {"equity": 1.0, "leak": alice.email},
        as_of=own.as_of_date,
        params={"window": 252},
        batch_run_id=alice.run_id,
    )
    db.session.commit()
    got = latest_result(bob.portfolio_id, "factor_exposures", {"window": 252})
    assert got.id == own.id and got.id != stray.id


def test_delete_mid_batch_restart_and_a_new_portfolio_sees_nothing_of_the_first(
    app, ctx, factory, client, auth
):
    """The measured leak: delete during a batch, restart, another advisor's new portfolio gets the
    first one's id and shows its results. Now the batch stops, nothing is left, ids are not
    reused."""
    from webapp.services import management as mgmt
    from webapp.services.batch import BatchCancelled, run_portfolio_batch

    first = factory.user()
    portfolio = factory.portfolio(
        first, positions=[dict(symbol="NVDA", quantity=10, entry_price=100.0)], name="to be deleted"
    )
    pid = portfolio.id
    assert pid == db.session.scalar(select(func.max(Portfolio.id)))  # the id SQLite would re-use

    def delete_at_step(index, total, name):
        if index == 3:  # after valuation, snapshots and factors have written their rows
            with app.app_context():
                mgmt.delete_portfolio(db.session.get(Portfolio, pid))

    with pytest.raises(BatchCancelled):
        run_portfolio_batch(pid, progress=delete_at_step)
    for model in (AnalyticsResult, PortfolioSnapshot, BatchRun):
        assert (
            db.session.scalar(
                select(func.count()).select_from(model).where(model.portfolio_id == pid)
            )
            == 0
        )

    db.session.remove()
    db.engine.dispose()  # the restart

    second = factory.user()
    assert auth.login(second.email).status_code == 302
    resp = client.post(
        "/portfolios/new", data={"name": "Fresh book", "description": "", "cash": "1000"}
    )
    assert resp.status_code == 302
    new_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    assert new_id > pid
    page = client.get(f"/portfolios/{new_id}/factors").get_data(as_text=True)
    assert "NVDA" not in page
    body = client.get(f"/api/v1/analytics/portfolio/{new_id}/factor-exposures").get_json()
    assert body["available"] is False and "NVDA" not in str(body)


def test_sqlite_never_reuses_ids_and_enforces_foreign_keys(ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL sequences never re-use ids and always enforce foreign keys")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        for table in (
            "users",
            "portfolios",
            "positions",
            "batch_runs",
            "analytics_results",
            "portfolio_snapshots",
            "user_sessions",
            "api_tokens",
            "tags",
        ):
            sql = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}
            ).scalar()
            assert "AUTOINCREMENT" in sql, table

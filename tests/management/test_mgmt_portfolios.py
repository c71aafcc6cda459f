"""Portfolio pages: create, rename, delete (with confirmation and cascade), ownership, CSRF."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.management.conftest import csrf_token, exists, field_errors
from webapp.extensions import db
from webapp.models import AnalyticsResult, BatchRun, Portfolio, PortfolioSnapshot, Position


def _named(user, name: str) -> Portfolio | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Portfolio).where(Portfolio.user_id == user.id, Portfolio.name == name)
    )


def test_create_portfolio_lands_on_it(client, advisor):
    assert client.get("/portfolios/new").status_code == 200
    resp = client.post(
        "/portfolios/new",
        data={"name": "  Growth  ", "description": "Tech tilt", "cash": "2,500.50"},
    )
    portfolio = _named(advisor, "Growth")
    assert (
        portfolio is not None and portfolio.cash == 2500.5 and portfolio.description == "Tech tilt"
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/portfolios/{portfolio.id}"
    )
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Created portfolio &#39;Growth&#39;" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "cash": ""}, "name", "Give the portfolio a name."),
        ({"name": "x" * 121}, "name", "At most 120 characters."),
        ({"name": "Ok", "cash": "lots"}, "cash", "&#39;lots&#39; is not a number."),
        ({"name": "Ok", "cash": "-5"}, "cash", "Must be at least 0."),
        ({"name": "Ok", "cash": "nan"}, "cash", "Must be a finite number."),
    ],
)
def test_invalid_portfolio_shows_the_error_next_to_the_field(client, advisor, data, field, message):
    before = db.session.scalar(select(func.count()).select_from(Portfolio))
    resp = client.post("/portfolios/new", data=data)
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True)) == {field: [message]}
    assert db.session.scalar(select(func.count()).select_from(Portfolio)) == before


def test_duplicate_name_is_a_field_error_but_other_advisors_may_reuse_it(client, advisor, factory):
    factory.portfolio(advisor, name="Income")
    factory.portfolio(factory.user(), name="Taken elsewhere")
    resp = client.post("/portfolios/new", data={"name": "Income"})
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True)) == {
        "name": ["You already have a portfolio called &#39;Income&#39;."]
    }
    assert client.post("/portfolios/new", data={"name": "Taken elsewhere"}).status_code == 302


def test_rename_prefills_the_form_and_saves(client, advisor, factory):
    portfolio = factory.portfolio(advisor, name="Old name", cash=1234.5)
    factory.portfolio(advisor, name="Sibling")
    html = client.get(f"/portfolios/{portfolio.id}/edit").get_data(as_text=True)
    assert 'value="Old name"' in html and 'value="1234.5"' in html
    clash = client.post(f"/portfolios/{portfolio.id}/edit", data={"name": "Sibling", "cash": "1"})
    assert clash.status_code == 422 and "name" in field_errors(clash.get_data(as_text=True))
    same = client.post(f"/portfolios/{portfolio.id}/edit", data={"name": "Old name", "cash": "10"})
    assert same.status_code == 302  # keeping its own name is not a clash
    resp = client.post(
        f"/portfolios/{portfolio.id}/edit",
        data={"name": "New name", "description": "d", "cash": "99"},
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert (portfolio.name, portfolio.description, portfolio.cash) == ("New name", "d", 99.0)


def test_delete_asks_for_confirmation_then_cascades(client, advisor, factory):
    portfolio = factory.portfolio(
        advisor,
        positions=[
            dict(symbol="AAPL", quantity=10, entry_price=100.0),
            dict(symbol="MSFT", quantity=-5, entry_price=300.0),
        ],
    )
    run = BatchRun(portfolio_id=portfolio.id, trigger="manual", status="succeeded")
    db.session.add(run)
    db.session.flush()
    db.session.add(
        AnalyticsResult(
            portfolio_id=portfolio.id,
            batch_run_id=run.id,
            kind="overview",
            as_of_date=dt.date(2026, 8, 3),
            payload={},
        )
    )
    db.session.add(
        PortfolioSnapshot(
            portfolio_id=portfolio.id,
            snapshot_date=dt.date(2026, 8, 3),
            equity=1,
            cash=1,
            long_exposure=0,
            short_exposure=0,
            gross_exposure=0,
            net_exposure=0,
            unrealized_pnl=0,
            position_count=2,
        )
    )
    db.session.commit()
    pid = portfolio.id

    confirm = client.get(f"/portfolios/{pid}/delete")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "its 2 positions" in html and "Yes, delete" in html
    assert _named(advisor, portfolio.name) is not None  # GET deletes nothing

    resp = client.post(f"/portfolios/{pid}/delete")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/portfolios/")
    assert not exists(Portfolio, pid)
    for model in (Position, BatchRun, AnalyticsResult, PortfolioSnapshot):
        left = db.session.scalar(
            select(func.count()).select_from(model).where(model.portfolio_id == pid)
        )
        assert left == 0, model.__name__
    assert client.get(f"/portfolios/{pid}").status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", "/edit"),
        ("post", "/edit"),
        ("get", "/delete"),
        ("post", "/delete"),
        ("get", "/positions/new"),
        ("post", "/positions/new"),
    ],
)
def test_another_advisors_portfolio_is_404_and_untouched(client, advisor, factory, method, suffix):
    theirs = factory.portfolio(
        factory.user(),
        name="Not yours",
        positions=[dict(symbol="AAPL", quantity=1, entry_price=1.0)],
    )
    data = {
        "name": "Hijacked",
        "symbol": "MSFT",
        "quantity": "1",
        "entry_price": "1",
        "entry_date": "2025-01-02",
    }
    resp = getattr(client, method)(
        f"/portfolios/{theirs.id}{suffix}", data=data if method == "post" else None
    )
    assert resp.status_code == 404
    db.session.expire_all()
    assert theirs.name == "Not yours" and len(theirs.positions) == 1


def test_pages_need_login(client, factory):
    portfolio = factory.portfolio(factory.user())
    for path in (
        "/portfolios/new",
        f"/portfolios/{portfolio.id}/edit",
        f"/portfolios/{portfolio.id}/delete",
        "/portfolios/tags",
        "/imports/new",
    ):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path


def test_csrf_post_without_token_is_refused_and_with_the_pages_token_succeeds(
    app, client, advisor, factory
):
    portfolio = factory.portfolio(advisor, name="Guarded")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = [
            client.post("/portfolios/new", data={"name": "Forged"}),
            client.post(f"/portfolios/{portfolio.id}/delete"),
            client.post(f"/portfolios/{portfolio.id}/edit", data={"name": "Forged"}),
        ]
        token = csrf_token(client.get("/portfolios/new").get_data(as_text=True))
        created = client.post("/portfolios/new", data={"name": "With token", "csrf_token": token})
        delete_token = csrf_token(
            client.get(f"/portfolios/{portfolio.id}/delete").get_data(as_text=True)
        )
        deleted = client.post(
            f"/portfolios/{portfolio.id}/delete", data={"csrf_token": delete_token}
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert [r.status_code for r in refused] == [400, 400, 400]
    assert _named(advisor, "Forged") is None
    assert created.status_code == 302 and _named(advisor, "With token") is not None
    assert deleted.status_code == 302 and _named(advisor, "Guarded") is None


def test_index_links_every_management_action(client, advisor, factory):
    portfolio = factory.portfolio(advisor)
    html = client.get("/portfolios/").get_data(as_text=True)
    for href in (
        "/portfolios/new",
        "/imports/new",
        "/portfolios/tags",
        f"/portfolios/{portfolio.id}/edit",
        f"/portfolios/{portfolio.id}/delete",
        f"/portfolios/{portfolio.id}/positions/new",
    ):
        assert f'href="{href}"' in html, href

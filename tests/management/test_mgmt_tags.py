"""Tags: create on the tags page, assign on the position form, filter the overview, delete."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.management.conftest import csrf_token, field_errors
from webapp.extensions import db
from webapp.models import Position, Tag

STOCK = {"symbol": "AAPL", "quantity": "10", "entry_price": "150", "entry_date": "2025-03-14"}


def _tag(user, name: str) -> Tag | None:
    db.session.expire_all()
    return db.session.scalar(select(Tag).where(Tag.user_id == user.id, Tag.name == name))


def test_create_tag_and_list_it(client, advisor):
    assert "No tags yet" in client.get("/portfolios/tags").get_data(as_text=True)
    resp = client.post("/portfolios/tags", data={"name": "Core holdings", "color": "#aa3300"})
    assert resp.status_code == 302
    tag = _tag(advisor, "Core holdings")
    assert tag is not None and tag.color == "#aa3300"
    html = client.get("/portfolios/tags").get_data(as_text=True)
    assert 'data-tag="Core holdings"' in html and "0 open positions" in html


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": "", "color": "#4c78a8"}, {"name": ["Give the tag a name."]}),
        (
            {"name": "a,b", "color": "red"},
            {
                "name": ["Invalid tag(s): a,b (1–60 characters, no &#39;,&#39; or &#39;;&#39;)."],
                "color": ["A colour like #4c78a8."],
            },
        ),
        (
            {"name": "x" * 61, "color": "#4c78a8"},
            {
                "name": [
                    f"Invalid tag(s): {'x' * 61} (1–60 characters, no &#39;,&#39; or &#39;;&#39;)."
                ]
            },
        ),
    ],
)
def test_invalid_tag_shows_field_errors(client, advisor, data, expected):
    resp = client.post("/portfolios/tags", data=data)
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True)) == expected


def test_duplicate_tag_is_a_field_error_per_advisor(client, advisor, factory):
    other = factory.user()
    db.session.add(Tag(user_id=other.id, name="shared-name"))
    db.session.add(Tag(user_id=advisor.id, name="mine"))
    db.session.commit()
    dup = client.post("/portfolios/tags", data={"name": "mine", "color": "#4c78a8"})
    assert dup.status_code == 422
    assert field_errors(dup.get_data(as_text=True)) == {
        "name": ["The tag &#39;mine&#39; already exists."]
    }
    assert (
        client.post(
            "/portfolios/tags", data={"name": "shared-name", "color": "#4c78a8"}
        ).status_code
        == 302
    )
    assert "shared-name" in client.get("/portfolios/tags").get_data(as_text=True)


def test_assign_on_the_position_form_then_filter_the_overview(client, advisor, factory):
    portfolio = factory.portfolio(advisor)
    db.session.add(Tag(user_id=advisor.id, name="core", color="#112233"))
    db.session.commit()
    form = client.get(f"/portfolios/{portfolio.id}/positions/new").get_data(as_text=True)
    assert "Your tags:" in form and ">core</span>" in form  # existing tags are offered
    client.post(f"/portfolios/{portfolio.id}/positions/new", data=STOCK | {"tags": "core, growth"})
    client.post(
        f"/portfolios/{portfolio.id}/positions/new",
        data=STOCK | {"symbol": "MSFT", "entry_price": "300", "tags": "growth"},
    )
    client.post(
        f"/portfolios/{portfolio.id}/positions/new",
        data=STOCK | {"symbol": "NVDA", "entry_price": "100"},
    )
    db.session.expire_all()
    tagged = {p.symbol: sorted(t.name for t in p.tags) for p in portfolio.positions}
    assert tagged == {"AAPL": ["core", "growth"], "MSFT": ["growth"], "NVDA": []}
    assert _tag(advisor, "growth").color == "#4c78a8"  # created on the fly with the default colour

    page = client.get("/portfolios/tags").get_data(as_text=True)
    assert f'href="/portfolios/{portfolio.id}/overview?tag=growth"' in page
    assert f"{portfolio.name} (2)" in page

    filtered = client.get(f"/portfolios/{portfolio.id}/overview?tag=growth").get_data(as_text=True)
    assert 'data-symbol="AAPL"' in filtered and 'data-symbol="MSFT"' in filtered
    assert 'data-symbol="NVDA"' not in filtered


def test_delete_tag_untags_positions_and_checks_ownership(client, advisor, factory):
    portfolio = factory.portfolio(advisor)
    client.post(f"/portfolios/{portfolio.id}/positions/new", data=STOCK | {"tags": "temp"})
    tag = _tag(advisor, "temp")
    theirs = Tag(user_id=factory.user().id, name="theirs")
    db.session.add(theirs)
    db.session.commit()
    assert client.post(f"/portfolios/tags/{theirs.id}/delete").status_code == 404
    assert client.post("/portfolios/tags/999999/delete").status_code == 404
    assert client.post(f"/portfolios/tags/{tag.id}/delete").status_code == 302
    assert _tag(advisor, "temp") is None and db.session.get(Tag, theirs.id) is not None
    position = db.session.scalar(select(Position).where(Position.portfolio_id == portfolio.id))
    assert position is not None and position.tags == []


def test_other_advisors_tags_are_not_listed(client, advisor, factory):
    db.session.add(Tag(user_id=factory.user().id, name="secret-strategy"))
    db.session.commit()
    assert "secret-strategy" not in client.get("/portfolios/tags").get_data(as_text=True)


def test_tag_forms_need_the_csrf_token(app, client, advisor):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post("/portfolios/tags", data={"name": "forged", "color": "#4c78a8"})
        token = csrf_token(client.get("/portfolios/tags").get_data(as_text=True))
        accepted = client.post(
            "/portfolios/tags", data={"name": "real", "color": "#4c78a8", "csrf_token": token}
        )
        tag = _tag(advisor, "real")
        refused_delete = client.post(f"/portfolios/tags/{tag.id}/delete")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert (refused.status_code, accepted.status_code, refused_delete.status_code) == (
        400,
        302,
        400,
    )
    assert _tag(advisor, "forged") is None and _tag(advisor, "real") is not None

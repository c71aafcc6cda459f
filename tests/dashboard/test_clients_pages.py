"""Client and household pages: forms with inline errors (422), the questionnaire, assignments,
households whose combined book shows the members' positions, and 404 for another advisor."""

from __future__ import annotations

import html
import re

import pytest

from tests.factories import PortfolioFactory, PositionFactory, UserFactory
from webapp.analytics import questionnaire
from webapp.extensions import db
from webapp.models import Client, Portfolio
from webapp.services import clients as svc
from webapp.services import households
from webapp.services.batch import run_portfolio_batch


def answers(level: int) -> dict[str, str]:
    return {q.key: q.choices[min(level, len(q.choices) - 1)].value for q in questionnaire.QUESTIONS}


def field_errors(page: str) -> dict[str, list[str]]:
    """field name -> the messages shown next to it."""
    out: dict[str, list[str]] = {}
    for name, message in re.findall(
        r'<div class="field-error" data-field="([^"]+)">([^<]*)</div>', page
    ):
        out.setdefault(name, []).append(html.unescape(message))
    return out


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


@pytest.fixture()
def advisor(factory, auth):
    user = factory.user()
    assert auth.login(user.email).status_code == 302
    return user


def _account(owner, *holdings, cash=2_000.0):
    book = PortfolioFactory(owner=owner, cash=cash)
    for symbol, qty in holdings:
        PositionFactory(portfolio=book, symbol=symbol, quantity=qty, entry_price=100.0)
    return book


# ---------------------------------------------------------------- client CRUD


def test_index_lists_clients_and_households(client, advisor):
    page = text(client.get("/clients/"))
    assert "New client" in page and "New household" in page
    assert "You have no clients yet" in page and "No households yet" in page

    ada = svc.create_client(advisor.id, {"name": "Ada Lovelace"})
    a = _account(advisor, ("AAPL", 5))
    svc.assign_portfolios(ada, [a.id])
    book = households.create_household(advisor.id, "Lovelace household", [a.id])
    page = text(client.get("/clients/"))
    row = re.search(rf'<tr data-client="{ada.id}">(.*?)</tr>', page, re.S).group(1)
    assert "Ada Lovelace" in row and "no questionnaire" in row
    assert '<td class="num">1</td>' in row  # one account
    household_row = re.search(rf'<tr data-household="{book.id}">(.*?)</tr>', page, re.S).group(1)
    assert a.name in household_row and f"/portfolios/{book.id}/overview" in household_row

    profile = svc.record_questionnaire(ada, answers(2))
    row = re.search(rf'<tr data-client="{ada.id}">(.*?)</tr>', text(client.get("/clients/")), re.S)
    assert f"{profile.score} · {profile.category}" in row.group(1)
    assert profile.answered_at.date().isoformat() in row.group(1)


def test_create_edit_delete_through_the_forms(client, advisor):
    assert 'name="name"' in text(client.get("/clients/new"))
    resp = client.post("/clients/new", data={"name": "Grace Hopper", "email": "g@example.com"})
    assert resp.status_code == 302
    client_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    page = text(client.get(resp.headers["Location"]))
    assert "Added client 'Grace Hopper'" in page and "g@example.com" in page

    edit = text(client.get(f"/clients/{client_id}/edit"))
    assert 'value="Grace Hopper"' in edit
    resp = client.post(f"/clients/{client_id}/edit", data={"name": "Grace B. Hopper", "email": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Client, client_id).name == "Grace B. Hopper"

    confirm = text(client.get(f"/clients/{client_id}/delete"))
    assert "Yes, delete" in confirm and "Grace B. Hopper" in confirm
    assert db.session.get(Client, client_id) is not None  # GET only asks
    resp = client.post(f"/clients/{client_id}/delete")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/clients/")
    db.session.expire_all()
    assert db.session.get(Client, client_id) is None


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": ""}, "name", "Give the client a name."),
        ({"name": "x" * 121}, "name", "At most 120 characters."),
        ({"name": "Taken"}, "name", "You already have a client called 'Taken'."),
        ({"name": "Fine", "email": "nope"}, "email", "'nope' is not an e-mail address"),
    ],
)
def test_refused_forms_answer_422_with_the_error_inline(client, advisor, data, field, message):
    svc.create_client(advisor.id, {"name": "Taken"})
    resp = client.post("/clients/new", data=data)
    assert resp.status_code == 422
    errors = field_errors(resp.get_data(as_text=True))
    assert any(message in m for m in errors[field])
    other = svc.create_client(advisor.id, {"name": "Other"})
    resp = client.post(f"/clients/{other.id}/edit", data=data)
    assert resp.status_code == 422
    assert any(message in m for m in field_errors(resp.get_data(as_text=True))[field])
    db.session.expire_all()
    assert [c.name for c in svc.user_clients(advisor.id)] == ["Other", "Taken"]


# ---------------------------------------------------------------- client page


def test_client_page_shows_accounts_households_reading_and_history(client, advisor):
    ada = svc.create_client(advisor.id, {"name": "Ada", "notes": "Prefers dividends"})
    a = _account(advisor, ("AAPL", 5))
    book = households.create_household(advisor.id, f"Ada's household {a.id}", [a.id])
    svc.assign_portfolios(ada, [a.id, book.id])
    page = text(client.get(f"/clients/{ada.id}"))
    assert "No questionnaire on file." in page and "Prefers dividends" in page
    assert "Take the risk questionnaire" in page
    assert f'href="/portfolios/{a.id}"' in page
    assert f'href="/clients/households/{book.id}"' in page
    # Each book's risk score against the tolerance: not calculated until a batch runs.
    assert 'id="risk-vs-tolerance"' in page
    assert "No calculation has run for this portfolio yet" in page

    first = svc.record_questionnaire(ada, answers(1))
    second = svc.record_questionnaire(ada, answers(4))
    page = text(client.get(f"/clients/{ada.id}"))
    assert svc.describe_profile(second) in page
    history = re.search(r'<section class="card" id="history">(.*?)</section>', page, re.S).group(1)
    rows = re.findall(
        r'<tr data-profile="(\d+)"><td>([^<]+)</td><td>([^<]+)</td>'
        r'<td class="num">(\d+)</td>',
        history,
    )
    assert [(int(r[0]), r[2], int(r[3])) for r in rows] == [
        (second.id, questionnaire.VERSION, second.score),
        (first.id, questionnaire.VERSION, first.score),
    ]
    assert rows[0][1].startswith(second.answered_at.date().isoformat())


def test_assigning_accounts_from_the_client_page(client, advisor):
    ada = svc.create_client(advisor.id, {"name": "Ada"})
    bob = svc.create_client(advisor.id, {"name": "Bob"})
    a, b = _account(advisor), _account(advisor)
    svc.assign_portfolios(bob, [b.id])
    page = text(client.get(f"/clients/{ada.id}"))
    assert f'value="{a.id}"' in page and "now Bob's" in page
    resp = client.post(f"/clients/{ada.id}/accounts", data={"portfolio_ids": [a.id, b.id]})
    assert resp.status_code == 302
    db.session.expire_all()
    assert {p.id for p in db.session.get(Client, ada.id).portfolios} == {a.id, b.id}
    assert db.session.get(Client, bob.id).portfolios == []  # moved
    page = text(client.get(f"/clients/{ada.id}"))
    assert re.search(rf'value="{a.id}" checked', page)


def test_another_advisors_portfolio_cannot_be_assigned(client, advisor):
    ada = svc.create_client(advisor.id, {"name": "Ada"})
    own = _account(advisor)
    theirs = _account(UserFactory())
    resp = client.post(f"/clients/{ada.id}/accounts", data={"portfolio_ids": [own.id, theirs.id]})
    assert resp.status_code == 422
    errors = field_errors(resp.get_data(as_text=True))
    assert errors["portfolio_ids"] == ["One of the chosen portfolios does not exist."]
    assert theirs.name not in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Portfolio, theirs.id).client_id is None
    assert db.session.get(Portfolio, own.id).client_id is None


# ---------------------------------------------------------------- questionnaire


def test_questionnaire_page_has_the_ten_questions_as_radio_groups(client, advisor):
    ada = svc.create_client(advisor.id, {"name": "Ada"})
    page = text(client.get(f"/clients/{ada.id}/questionnaire"))
    for q in questionnaire.QUESTIONS:
        assert q.text in page
        radios = re.findall(rf'<input[^>]*name="{q.key}"[^>]*type="radio"[^>]*>', page)
        radios += re.findall(rf'<input[^>]*type="radio"[^>]*name="{q.key}"[^>]*>', page)
        assert len(radios) == len(q.choices), q.key
    assert questionnaire.VERSION in page


def test_invalid_answers_are_shown_per_question_with_422(client, advisor):
    ada = svc.create_client(advisor.id, {"name": "Ada"})
    partial = answers(2)
    del partial["horizon"], partial["max_loss"]
    partial["goal"] = "riches"
    resp = client.post(f"/clients/{ada.id}/questionnaire", data=partial)
    assert resp.status_code == 422
    errors = field_errors(resp.get_data(as_text=True))
    with pytest.raises(questionnaire.InvalidAnswers) as engine:
        questionnaire.score(partial)
    assert errors == {k: [v] for k, v in engine.value.errors.items()}
    # The answers given stay checked.
    experience = partial["experience"]
    assert re.search(
        rf'<input checked id="experience-\d" name="experience" type="radio" '
        rf'value="{experience}"',
        text(resp),
    )
    assert svc.profile_history(ada) == []


def test_a_completed_questionnaire_is_stored_and_flashed(client, advisor):
    ada = svc.create_client(advisor.id, {"name": "Ada"})
    given = answers(3)
    resp = client.post(f"/clients/{ada.id}/questionnaire", data=given)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/clients/{ada.id}")
    expected = questionnaire.score(given)
    (profile,) = svc.profile_history(ada)
    assert (profile.score, profile.version, profile.answers) == (
        expected.score,
        questionnaire.VERSION,
        given,
    )
    page = text(client.get(resp.headers["Location"]))
    flashed = re.search(r'<div class="flash flash-success"[^>]*>([^<]*)</div>', page)
    assert flashed, page
    assert f"Risk tolerance: {questionnaire.describe(expected)}" in html.unescape(flashed.group(1))
    assert f"(score {expected.score})" in flashed.group(1)
    # Retaking starts from the last answers, but an answer left out is not taken from them.
    again = text(client.get(f"/clients/{ada.id}/questionnaire"))
    assert len(re.findall(r"checked", again)) == len(questionnaire.QUESTIONS)
    partial = dict(given)
    del partial["horizon"]
    resp = client.post(f"/clients/{ada.id}/questionnaire", data=partial)
    assert resp.status_code == 422
    assert list(field_errors(resp.get_data(as_text=True))) == ["horizon"]
    assert len(svc.profile_history(ada)) == 1


# ---------------------------------------------------------------- households


def test_household_creation_page_builds_the_combined_book(client, advisor):
    ada = svc.create_client(advisor.id, {"name": "Ada"})
    a = _account(advisor, ("AAPL", 10), ("MSFT", 5))
    b = _account(advisor, ("XOM", 20))
    form = text(client.get("/clients/households/new"))
    assert f'value="{a.id}"' in form and f'value="{b.id}"' in form and "Ada" in form
    resp = client.post(
        "/clients/households/new",
        data={"name": "Lovelace family", "account_ids": [a.id, b.id], "client_id": ada.id},
    )
    assert resp.status_code == 302
    book_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    book = db.session.get(Portfolio, book_id)
    assert book.kind == "household" and book.client_id == ada.id

    positions = text(client.get(f"/portfolios/{book_id}"))
    for symbol in ("AAPL", "MSFT", "XOM"):
        assert symbol in positions

    page = text(client.get(resp.headers["Location"]))
    members = re.search(r'<table class="table" id="members">(.*?)</table>', page, re.S).group(1)
    assert a.name in members and b.name in members
    assert members.count("not calculated") == 3  # two accounts and the combined book
    assert f'href="/portfolios/{book_id}/overview"' in page
    assert f'href="/portfolios/{book_id}/risk"' in page
    assert f'href="/portfolios/{book_id}/delete"' in page


def test_household_page_shows_stored_equity(client, advisor):
    a = _account(advisor, ("AAPL", 10), ("MSFT", 5))
    b = _account(advisor, ("XOM", 20), ("JNJ", 4))
    book = households.create_household(advisor.id, f"Valued {a.id}", [a.id, b.id])
    for portfolio in (a, book):
        assert run_portfolio_batch(portfolio.id).status == "succeeded"
    summary = svc.household_summary(book)
    page = text(client.get(f"/clients/households/{book.id}"))
    row_a = re.search(rf'<tr data-account="{a.id}">(.*?)</tr>', page, re.S).group(1)
    row_b = re.search(rf'<tr data-account="{b.id}">(.*?)</tr>', page, re.S).group(1)
    assert (
        f"${summary.members[[m.portfolio.id for m in summary.members].index(a.id)].equity:,.0f}"
        in row_a
    )
    assert "not calculated" in row_b
    combined = re.search(r'<tr id="combined">(.*?)</tr>', page, re.S).group(1)
    assert f"${summary.book.equity:,.0f}" in combined


def test_household_edit_and_refusals(client, advisor):
    ada = svc.create_client(advisor.id, {"name": "Ada"})
    a, b = _account(advisor, ("AAPL", 1)), _account(advisor, ("XOM", 1))
    book = households.create_household(advisor.id, f"Edit me {a.id}", [a.id], client_id=ada.id)
    form = text(client.get(f"/clients/households/{book.id}/edit"))
    assert re.search(rf'value="{a.id}" checked', form)
    resp = client.post(
        f"/clients/households/{book.id}/edit",
        data={"name": "Edited", "account_ids": [b.id], "client_id": ""},
    )
    assert resp.status_code == 302
    db.session.expire_all()
    book = db.session.get(Portfolio, book.id)
    assert (book.name, book.client_id) == ("Edited", None)
    assert [m.id for m in households.members(book)] == [b.id]

    resp = client.post(f"/clients/households/{book.id}/edit", data={"name": "", "account_ids": []})
    assert resp.status_code == 422
    errors = field_errors(resp.get_data(as_text=True))
    assert "name" in errors
    resp = client.post("/clients/households/new", data={"name": "Empty"})
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True)) == {
        "account_ids": ["Choose at least one account."]
    }
    theirs = _account(UserFactory())
    resp = client.post(
        "/clients/households/new", data={"name": "Sneaky", "account_ids": [theirs.id]}
    )
    assert resp.status_code == 422
    assert "account_ids" in field_errors(resp.get_data(as_text=True))


# ---------------------------------------------------------------- isolation


def _client_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("clients.") and rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_another_advisor_gets_404_on_every_client_and_household_route(app, client, auth, factory):
    owner = factory.user()
    theirs = svc.create_client(owner.id, {"name": "Private person"})
    account = _account(owner, ("AAPL", 1))
    book = households.create_household(owner.id, "Private household", [account.id])
    svc.record_questionnaire(theirs, answers(2))
    intruder = factory.user()
    assert auth.login(intruder.email).status_code == 302
    values = {"client_id": theirs.id, "portfolio_id": book.id}
    checked = set()
    for rule, method in _client_routes(app):
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), url)
        data = {"name": "x", "portfolio_ids": [account.id], "account_ids": [account.id]}
        resp = client.open(url, method=method, data=data if method == "POST" else None)
        assert resp.status_code == 404, (method, url, resp.status_code)
        assert "Private" not in resp.get_data(as_text=True)
        checked.add(rule.endpoint)
    assert checked >= {
        "clients.detail",
        "clients.edit",
        "clients.delete",
        "clients.assign",
        "clients.take_questionnaire",
        "clients.household",
        "clients.edit_household",
    }
    # An account is not a household, even the advisor's own.
    own = _account(intruder)
    assert client.get(f"/clients/households/{own.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Client, theirs.id).name == "Private person"
    assert len(svc.profile_history(db.session.get(Client, theirs.id))) == 1
    # The intruder's pages do not list the other advisor's clients or households.
    page = text(client.get("/clients/"))
    assert "Private" not in page


def test_pages_need_a_login(client):
    assert client.get("/clients/").status_code == 302


@pytest.fixture()
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_forms_carry_csrf_and_refuse_a_post_without_it(client, advisor, csrf_on):
    page = client.get("/clients/new").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    assert client.post("/clients/new", data={"name": "No token"}).status_code == 400
    assert svc.user_clients(advisor.id) == []

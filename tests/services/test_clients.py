"""Clients: CRUD with one validation, portfolios assigned to at most one client, questionnaires
stored as the engine scores them and never edited, households linked to clients."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.factories import PortfolioFactory, PositionFactory, UserFactory
from webapp.analytics import questionnaire
from webapp.extensions import db
from webapp.models import Client, Portfolio, RiskProfile
from webapp.models._time import utcnow
from webapp.services import clients as svc
from webapp.services import households
from webapp.services.batch import run_portfolio_batch
from webapp.services.ledger import ValidationError
from webapp.services.portfolios import NotOwned


def answers(level: int) -> dict[str, str]:
    """Every question answered with its ``level``-th choice (the last one if it has fewer)."""
    return {q.key: q.choices[min(level, len(q.choices) - 1)].value for q in questionnaire.QUESTIONS}


@pytest.fixture()
def advisor(ctx):
    return UserFactory()


@pytest.fixture()
def person(advisor):
    return svc.create_client(advisor.id, {"name": "Ada Lovelace", "email": "ada@example.com"})


# ---------------------------------------------------------------- CRUD and validation


def test_create_update_delete(advisor):
    client = svc.create_client(advisor.id, {"name": "  Grace Hopper ", "notes": "Navy pension"})
    assert (client.name, client.email, client.notes) == ("Grace Hopper", "", "Navy pension")
    assert svc.owned_client(client.id, advisor.id) is client
    svc.update_client(client, {"email": "grace@example.org"})
    assert (client.name, client.email) == ("Grace Hopper", "grace@example.org")  # name kept
    assert [c.id for c in svc.user_clients(advisor.id)] == [client.id]
    client_id = client.id
    svc.delete_client(client)
    assert db.session.get(Client, client_id) is None
    with pytest.raises(NotOwned):
        svc.owned_client(client_id, advisor.id)


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({}, "name", "Give the client a name."),
        ({"name": "   "}, "name", "Give the client a name."),
        ({"name": "x" * 121}, "name", "At most 120 characters."),
        ({"name": 42}, "name", "Must be text."),
        ({"name": "Ok", "email": "not-an-address"}, "email", "is not an e-mail address"),
        ({"name": "Ok", "email": "a b@example.com"}, "email", "is not an e-mail address"),
        ({"name": "Ok", "email": ["a@example.com"]}, "email", "Must be text."),
        ({"name": "Ok", "notes": "n" * 2001}, "notes", "At most 2000 characters."),
        ({"name": "A\x00B"}, "name", "Must not contain NUL characters."),
    ],
)
def test_field_errors(advisor, data, field, message):
    with pytest.raises(ValidationError) as exc:
        svc.create_client(advisor.id, data)
    assert message in exc.value.errors[field]


def test_names_are_unique_per_advisor(advisor, person):
    with pytest.raises(ValidationError) as exc:
        svc.create_client(advisor.id, {"name": "Ada Lovelace"})
    assert exc.value.errors == {"name": "You already have a client called 'Ada Lovelace'."}
    other = svc.create_client(advisor.id, {"name": "Charles Babbage"})
    with pytest.raises(ValidationError, match="already have a client"):
        svc.update_client(other, {"name": "Ada Lovelace"})
    svc.update_client(person, {"name": "Ada Lovelace", "notes": "same name is fine"})
    # Another advisor may have a client of the same name.
    assert svc.create_client(UserFactory().id, {"name": "Ada Lovelace"}).name == "Ada Lovelace"


def test_another_advisors_or_a_missing_client_is_not_owned(person):
    stranger = UserFactory()
    for client_id in (person.id, 2**31 - 1, 2**63, 0):
        with pytest.raises(NotOwned):
            svc.owned_client(client_id, stranger.id)


# ---------------------------------------------------------------- assigning portfolios


def test_assign_sets_the_clients_portfolios_and_moves_them_from_another(advisor, person):
    a, b, c = (PortfolioFactory(owner=advisor) for _ in range(3))
    book = households.create_household(advisor.id, f"House {a.id}", [a.id])
    assert [p.id for p in svc.assign_portfolios(person, [a.id, str(b.id), book.id])] == sorted(
        [a.id, b.id, book.id], key=lambda i: db.session.get(Portfolio, i).name
    )
    assert {p.id for p in svc.client_accounts(person)} == {a.id, b.id}
    assert [p.id for p in svc.client_households(person)] == [book.id]

    other = svc.create_client(advisor.id, {"name": "Other client"})
    svc.assign_portfolios(other, [b.id, c.id])
    assert {p.id for p in other.portfolios} == {b.id, c.id}
    assert {p.id for p in person.portfolios} == {a.id, book.id}  # b moved: one client at most

    svc.assign_portfolios(person, [])  # unchecking everything unlinks
    assert person.portfolios == []
    assert db.session.get(Portfolio, a.id).client_id is None


@pytest.mark.parametrize("bad", ["12", [True], [1.5], ["x"], [2**63], [0], list(range(1, 300))])
def test_assign_refuses_what_is_not_a_list_of_ids(person, bad):
    with pytest.raises(ValidationError) as exc:
        svc.assign_portfolios(person, bad)
    assert set(exc.value.errors) == {"portfolio_ids"}


def test_another_advisors_portfolio_cannot_be_assigned(advisor, person):
    own = PortfolioFactory(owner=advisor)
    theirs = PortfolioFactory()
    with pytest.raises(ValidationError) as exc:
        svc.assign_portfolios(person, [own.id, theirs.id])
    assert exc.value.errors == {"portfolio_ids": "One of the chosen portfolios does not exist."}
    with pytest.raises(ValidationError):
        svc.create_client(advisor.id, {"name": "Sneaky", "portfolio_ids": [theirs.id]})
    db.session.expire_all()
    assert db.session.get(Portfolio, theirs.id).client_id is None
    assert db.session.get(Portfolio, own.id).client_id is None  # nothing half-done
    assert svc.user_clients(advisor.id) == [person]


def test_create_and_update_take_portfolio_ids(advisor):
    a, b = PortfolioFactory(owner=advisor), PortfolioFactory(owner=advisor)
    client = svc.create_client(advisor.id, {"name": "With books", "portfolio_ids": [a.id]})
    assert [p.id for p in client.portfolios] == [a.id]
    with pytest.raises(ValidationError) as exc:
        svc.update_client(client, {"name": "", "portfolio_ids": "nope"})
    assert set(exc.value.errors) == {"name", "portfolio_ids"}  # every field's error at once
    svc.update_client(client, {"portfolio_ids": [b.id]})
    assert [p.id for p in client.portfolios] == [b.id]


def test_deleting_a_client_keeps_their_portfolios_unlinked(advisor, person):
    account = PortfolioFactory(owner=advisor)
    svc.assign_portfolios(person, [account.id])
    svc.record_questionnaire(person, answers(2))
    client_id = person.id
    svc.delete_client(person)
    assert db.session.get(Portfolio, account.id).client_id is None
    assert (
        db.session.scalar(
            select(func.count(RiskProfile.id)).where(RiskProfile.client_id == client_id)
        )
        == 0
    )


# ---------------------------------------------------------------- questionnaires


@pytest.mark.parametrize("level", [0, 2, 4, 5])
def test_questionnaire_is_stored_as_the_engine_scores_it(person, level):
    given = answers(level)
    before = utcnow()
    profile = svc.record_questionnaire(person, given)
    expected = questionnaire.score(given)
    stored = db.session.get(RiskProfile, profile.id)
    assert stored.answers == given
    assert stored.version == questionnaire.VERSION == expected.version
    assert before - dt.timedelta(seconds=1) <= stored.answered_at <= utcnow()
    for key in ("score", "willingness", "capacity", "capped", "category", "loss_limit_pct"):
        assert getattr(stored, key) == getattr(expected, key), key
    assert svc.describe_profile(stored) == questionnaire.describe(expected)
    assert person.profile.id == profile.id


def test_invalid_answers_are_field_errors_and_store_nothing(person):
    bad = answers(1)
    del bad["horizon"]
    bad["goal"] = "riches"
    bad["favourite_colour"] = "blue"
    with pytest.raises(questionnaire.InvalidAnswers) as engine:
        questionnaire.score(bad)
    with pytest.raises(ValidationError) as exc:
        svc.record_questionnaire(person, bad)
    assert exc.value.errors == engine.value.errors
    assert set(exc.value.errors) == {"horizon", "goal", "favourite_colour"}
    with pytest.raises(ValidationError) as exc:
        svc.record_questionnaire(person, ["not", "a", "mapping"])
    assert set(exc.value.errors) == {"answers"}
    assert svc.profile_history(person) == []


def test_history_is_kept_and_old_profiles_never_change(person):
    first = svc.record_questionnaire(person, answers(0))
    first_row = (first.id, first.score, dict(first.answers), first.answered_at)
    second = svc.record_questionnaire(person, answers(4))
    history = svc.profile_history(person)
    assert [p.id for p in history] == [second.id, first.id]  # newest first
    db.session.expire_all()
    again = db.session.get(RiskProfile, first.id)
    assert (again.id, again.score, again.answers, again.answered_at) == first_row
    assert second.score > first.score
    assert person.profile.id == second.id
    dicts = svc.questionnaire_dict(person)
    assert [h["id"] for h in dicts["history"]] == [second.id, first.id]
    assert len(dicts["questions"]) == 10


def test_an_older_version_is_described_from_its_stored_fields(person):
    profile = RiskProfile(
        client_id=person.id,
        version="2019-01",
        answers={"old": "answer"},
        score=33,
        willingness=0.3,
        capacity=0.4,
        capped=True,
        category="Moderately conservative",
        loss_limit_pct=10.0,
    )
    db.session.add(profile)
    db.session.commit()
    assert svc.describe_profile(profile) == (
        "Moderately conservative (score 33): accepts a loss of up to 10% in a bad year; "
        "capacity limits the score."
    )


def test_profile_dict_is_json_ready(person):
    profile = svc.record_questionnaire(person, answers(3))
    out = svc.profile_dict(profile)
    assert out["answered_at"].endswith("Z")
    assert out["version"] == questionnaire.VERSION
    assert out["description"] == svc.describe_profile(profile)
    assert svc.client_dict(person)["profile"] == out


# ---------------------------------------------------------------- households


def _account(owner, symbol: str):
    book = PortfolioFactory(owner=owner, cash=1_000.0)
    PositionFactory(portfolio=book, symbol=symbol, quantity=10, entry_price=100.0)
    return book


def test_household_for_a_client_and_unlinking_it(advisor, person):
    a, b = _account(advisor, "AAPL"), _account(advisor, "MSFT")
    book = svc.create_household(
        advisor.id,
        {"name": "Lovelace family", "account_ids": [str(a.id), b.id], "client_id": str(person.id)},
    )
    assert book.kind == "household" and book.client_id == person.id
    view = svc.household_view(book)
    assert [m.id for m in view.members] == sorted(
        [a.id, b.id], key=lambda i: db.session.get(Portfolio, i).name
    )
    assert view.to_dict()["client"] == {"id": person.id, "name": person.name}
    assert [h.book.id for h in svc.user_households(advisor.id)] == [book.id]
    assert svc.owned_household(book.id, advisor.id) is book
    assert svc.household_memberships(advisor.id) == {a.id: book, b.id: book}

    svc.update_household(book, {"name": "Renamed", "account_ids": [a.id]})
    assert (book.name, book.client_id) == ("Renamed", person.id)  # client kept when not sent
    assert [m.id for m in households.members(book)] == [a.id]
    svc.update_household(book, {"client_id": ""})
    assert book.client_id is None


def test_household_errors_name_the_fields_sent(advisor, person):
    a = _account(advisor, "AAPL")
    theirs = _account(UserFactory(), "MSFT")
    cases = [
        ({"name": "H", "account_ids": []}, "account_ids"),
        ({"name": "H", "account_ids": [theirs.id]}, "account_ids"),
        ({"name": "H", "account_ids": "1,2"}, "account_ids"),
        ({"name": "", "account_ids": [a.id]}, "name"),
        ({"name": 7, "account_ids": [a.id]}, "name"),
        ({"name": "H", "account_ids": [a.id], "client_id": 2**40}, "client_id"),
        ({"name": "H", "account_ids": [a.id], "client_id": "me"}, "client_id"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as exc:
            svc.create_household(advisor.id, data)
        assert field in exc.value.errors, data
    other_client = svc.create_client(UserFactory().id, {"name": "Not yours"})
    with pytest.raises(ValidationError) as exc:
        svc.create_household(
            advisor.id, {"name": "H", "account_ids": [a.id], "client_id": other_client.id}
        )
    assert exc.value.errors == {"client_id": "No such client."}


def test_only_household_books_are_households(advisor):
    account = _account(advisor, "AAPL")
    with pytest.raises(NotOwned):
        svc.owned_household(account.id, advisor.id)
    book = households.create_household(advisor.id, f"H {account.id}", [account.id])
    with pytest.raises(NotOwned):
        svc.owned_household(book.id, UserFactory().id)


def test_household_summary_reads_stored_equity(advisor):
    a, b = _account(advisor, "AAPL"), _account(advisor, "XOM")
    book = households.create_household(advisor.id, f"Summed {a.id}", [a.id, b.id])
    summary = svc.household_summary(book)
    assert summary.book.equity is None and [m.equity for m in summary.members] == [None, None]
    for portfolio in (a, b, book):
        # One symbol each: correlations cannot run (partial), the overview is stored.
        assert run_portfolio_batch(portfolio.id).status in ("succeeded", "partial")
    summary = svc.household_summary(book)
    assert all(m.equity is not None for m in summary.members)
    assert summary.book.equity == pytest.approx(sum(m.equity for m in summary.members))
    assert summary.book.as_of is not None

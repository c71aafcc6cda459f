"""Clients, their risk questionnaires and their households: one validation for forms and API.

A client is a person whose accounts (portfolios) an advisor manages; each completed risk
questionnaire is stored as a new ``RiskProfile`` row (answers, version, the engine's score), never
edited, so the history stays an audit trail. Households are built by ``services.households``;
this module adds what the client and household pages and their API need: the advisor's list,
ownership, unlinking a household from its client, and the members' stored equity.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

from webapp.analytics import questionnaire
from webapp.extensions import db
from webapp.models import Client, HouseholdAccount, Portfolio, RiskProfile
from webapp.models._time import isoformat_z, utcnow
from webapp.services import households
from webapp.services.ledger import ValidationError
from webapp.services.portfolios import MAX_ID, NotOwned
from webapp.services.results import stored
from webapp.services.transactions import run_write

MAX_NAME = 120  # Client.name column
MAX_EMAIL = 254  # Client.email column
MAX_NOTES = 2000
MAX_PORTFOLIOS = 200  # ids accepted in one assignment
# Basic shape only (something@domain.tld, no spaces): the address is for the advisor's records.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
CLIENT_FIELDS = ("name", "email", "notes")


# ---------------------------------------------------------------- clients


def user_clients(user_id: int) -> list[Client]:
    """The advisor's clients by name, with their portfolios and questionnaires loaded."""
    return list(
        db.session.scalars(
            select(Client)
            .where(Client.user_id == user_id)
            .options(selectinload(Client.portfolios), selectinload(Client.profiles))
            .order_by(Client.name, Client.id)
        )
    )


def owned_client(client_id: int, user_id: int) -> Client:
    """The client if ``user_id`` is their advisor; NotOwned (404) for a missing or another's id."""
    client = db.session.get(Client, client_id) if 0 < client_id <= MAX_ID else None
    if client is None or client.user_id != user_id:
        raise NotOwned("No such client.")
    return client


def _text(data: Mapping, field: str, errors: dict[str, str], limit: int) -> str:
    """Trimmed text ("" when absent or null); an error for a non-string or a too-long value."""
    value = data.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[field] = "Must be text."
        return ""
    value = value.strip()
    if "\x00" in value:  # PostgreSQL text cannot hold it
        errors[field] = "Must not contain NUL characters."
    elif len(value) > limit:
        errors[field] = f"At most {limit} characters."
    return value


def validate_client(data: Mapping, user_id: int, *, existing: Client | None = None) -> dict:
    """Clean name, email and notes, or ValidationError (names are unique per advisor)."""
    errors: dict[str, str] = {}
    name = _text(data, "name", errors, MAX_NAME)
    if not name and "name" not in errors:
        errors["name"] = "Give the client a name."
    elif "name" not in errors:
        clash = db.session.scalar(
            select(Client.id).where(Client.user_id == user_id, Client.name == name)
        )
        if clash is not None and (existing is None or clash != existing.id):
            errors["name"] = f"You already have a client called '{name}'."
    email = _text(data, "email", errors, MAX_EMAIL)
    if email and "email" not in errors and not EMAIL_RE.match(email):
        errors["email"] = f"'{email}' is not an e-mail address (name@example.com)."
    notes = _text(data, "notes", errors, MAX_NOTES)
    if errors:
        raise ValidationError(errors)
    return {"name": name, "email": email, "notes": notes}


def _validated(data: Mapping, user_id: int, existing: Client | None) -> tuple[dict, list | None]:
    """Clean client fields and, when ``portfolio_ids`` is sent, the chosen portfolios; every
    field's error at once."""
    errors: dict[str, str] = {}
    clean: dict = {}
    chosen = None
    try:
        clean = validate_client(data, user_id, existing=existing)
    except ValidationError as exc:
        errors.update(exc.errors)
    if "portfolio_ids" in data:
        try:
            chosen = _owned_portfolios(user_id, data["portfolio_ids"])
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    return clean, chosen


def create_client(user_id: int, data: Mapping) -> Client:
    """A new client of the advisor: name (required, unique), email and notes (optional), and
    ``portfolio_ids`` (optional: their accounts and households, see ``assign_portfolios``)."""
    clean, chosen = _validated(data, user_id, None)

    def unit() -> Client:
        client = Client(user_id=user_id, **clean)
        db.session.add(client)
        db.session.flush()
        if chosen is not None:
            _link(client.id, [p.id for p in chosen])
        return client

    client = run_write(unit)
    db.session.expire(client, ["portfolios"])
    return client


def update_client(client: Client, data: Mapping) -> Client:
    """Change name, email, notes or (``portfolio_ids``) the portfolios; fields absent from
    ``data`` keep their value."""
    merged = {field: getattr(client, field) for field in CLIENT_FIELDS}
    merged.update({k: v for k, v in data.items() if k in merged or k == "portfolio_ids"})
    clean, chosen = _validated(merged, client.user_id, client)

    def unit() -> Client:
        for key, value in clean.items():
            setattr(client, key, value)
        if chosen is not None:
            _link(client.id, [p.id for p in chosen])
        return client

    run_write(unit)
    db.session.expire(client, ["portfolios"])
    return client


def delete_client(client: Client) -> None:
    """Delete the client and their questionnaires; their accounts and households stay, unlinked."""
    client_id = client.id

    def unit() -> None:
        # Explicit as well as the foreign keys' SET NULL / CASCADE: the same on every database.
        db.session.execute(
            update(Portfolio).where(Portfolio.client_id == client_id).values(client_id=None)
        )
        db.session.execute(delete(RiskProfile).where(RiskProfile.client_id == client_id))
        db.session.execute(delete(Client).where(Client.id == client_id))

    run_write(unit)
    db.session.expire_all()  # the bulk statements bypass the loaded objects


def _ids(raw: Any, field: str) -> list[int]:
    """Distinct database ids from a list of integers (or their digit strings), else an error."""
    if not isinstance(raw, (list, tuple)):
        raise ValidationError({field: "Send a list of ids."})
    if len(raw) > MAX_PORTFOLIOS:
        raise ValidationError({field: f"At most {MAX_PORTFOLIOS} ids."})
    ids: list[int] = []
    for item in raw:
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item.strip())
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item <= MAX_ID:
            raise ValidationError({field: f"{item!r} is not a portfolio id."})
        if item not in ids:
            ids.append(item)
    return ids


def _owned_portfolios(user_id: int, raw: Any) -> list[Portfolio]:
    """The advisor's portfolios (accounts or households) these ids name, else ValidationError."""
    ids = _ids(raw, "portfolio_ids")
    chosen = list(
        db.session.scalars(
            select(Portfolio).where(Portfolio.id.in_(ids), Portfolio.user_id == user_id)
        )
    )
    if len(chosen) != len(ids):
        raise ValidationError({"portfolio_ids": "One of the chosen portfolios does not exist."})
    return sorted(chosen, key=lambda p: p.name)


def _link(client_id: int, ids: list[int]) -> None:
    """Exactly these portfolios are the client's: the others are unlinked, these move here."""
    db.session.execute(
        update(Portfolio)
        .where(Portfolio.client_id == client_id, Portfolio.id.not_in(ids))
        .values(client_id=None)
    )
    if ids:
        db.session.execute(
            update(Portfolio).where(Portfolio.id.in_(ids)).values(client_id=client_id)
        )
    db.session.flush()


def assign_portfolios(client: Client, portfolio_ids: Any) -> list[Portfolio]:
    """Make these the client's portfolios (accounts and households of the same advisor).

    A portfolio has at most one client: one that belonged to another client moves to this one,
    and the client's portfolios left out of the list are unlinked.
    """
    chosen = _owned_portfolios(client.user_id, portfolio_ids)
    client_id, ids = client.id, [p.id for p in chosen]
    run_write(lambda: _link(client_id, ids))
    db.session.expire_all()  # the bulk updates bypass the loaded objects
    return chosen


def client_accounts(client: Client) -> list[Portfolio]:
    """The client's accounts (portfolios of kind 'account'), by name."""
    return [p for p in client.portfolios if not p.is_household]


def client_households(client: Client) -> list[Portfolio]:
    """The client's households (their combined books), by name."""
    return [p for p in client.portfolios if p.is_household]


def client_dict(client: Client) -> dict:
    """A client as the API shows them: details, accounts, households and the latest profile."""
    return {
        "id": client.id,
        "name": client.name,
        "email": client.email,
        "notes": client.notes,
        "accounts": [{"id": p.id, "name": p.name} for p in client_accounts(client)],
        "households": [{"id": p.id, "name": p.name} for p in client_households(client)],
        "profile": profile_dict(client.profile) if client.profile else None,
        "created_at": isoformat_z(client.created_at),
        "updated_at": isoformat_z(client.updated_at),
    }


# ---------------------------------------------------------------- questionnaires


def record_questionnaire(client: Client, answers: Any) -> RiskProfile:
    """Score the answers with the questionnaire engine and store them as a new profile.

    Raises ValidationError with one message per unanswered, invalid or unknown question.
    """
    try:
        scored = questionnaire.score(answers)
    except questionnaire.InvalidAnswers as exc:
        raise ValidationError(exc.errors) from None
    kept = {q.key: answers[q.key] for q in questionnaire.QUESTIONS}
    client_id = client.id

    def unit() -> RiskProfile:
        profile = RiskProfile(
            client_id=client_id,
            version=scored.version,
            answers=kept,
            score=scored.score,
            willingness=scored.willingness,
            capacity=scored.capacity,
            capped=scored.capped,
            category=scored.category,
            loss_limit_pct=scored.loss_limit_pct,
            answered_at=utcnow(),
        )
        db.session.add(profile)
        db.session.flush()
        return profile

    profile = run_write(unit)
    db.session.expire(client, ["profiles"])
    return profile


def profile_history(client: Client) -> list[RiskProfile]:
    """The client's questionnaires, newest first."""
    return list(
        db.session.scalars(
            select(RiskProfile)
            .where(RiskProfile.client_id == client.id)
            .order_by(RiskProfile.answered_at.desc(), RiskProfile.id.desc())
        )
    )


def describe_profile(profile: RiskProfile) -> str:
    """The profile in plain language (``questionnaire.describe``).

    A profile of the current version is re-scored from its answers, which also says what capped
    the score; one of an older version is read from its stored fields.
    """
    if profile.version == questionnaire.VERSION:
        try:
            return questionnaire.describe(questionnaire.score(profile.answers))
        except questionnaire.InvalidAnswers:
            pass  # stored before a change to the questions: read the stored numbers instead
    text = (
        f"{profile.category} (score {profile.score}): accepts a loss of up to "
        f"{profile.loss_limit_pct:g}% in a bad year"
    )
    return text + ("; capacity limits the score." if profile.capped else ".")


def profile_dict(profile: RiskProfile) -> dict:
    """A stored questionnaire as the API shows it, with its plain-language reading."""
    return {
        "id": profile.id,
        "client_id": profile.client_id,
        "version": profile.version,
        "answered_at": isoformat_z(profile.answered_at),
        "answers": dict(profile.answers),
        "score": profile.score,
        "category": profile.category,
        "willingness": profile.willingness,
        "capacity": profile.capacity,
        "capped": profile.capped,
        "loss_limit_pct": profile.loss_limit_pct,
        "description": describe_profile(profile),
    }


def questionnaire_dict(client: Client) -> dict:
    """The questions of the current version and the client's history of answers."""
    return {
        "version": questionnaire.VERSION,
        "method": questionnaire.MAPPING_TEXT,
        "questions": [q.to_dict() for q in questionnaire.QUESTIONS],
        "history": [profile_dict(p) for p in profile_history(client)],
    }


# ---------------------------------------------------------------- households


@dataclass(frozen=True)
class HouseholdView:
    """A household's combined book and its member accounts (by name)."""

    book: Portfolio
    members: list[Portfolio]

    def to_dict(self) -> dict:
        """The API shape: the book's id and name, its client and its members."""
        client = self.book.client
        return {
            "id": self.book.id,
            "name": self.book.name,
            "client": {"id": client.id, "name": client.name} if client else None,
            "members": [{"id": p.id, "name": p.name} for p in self.members],
            "synced_at": isoformat_z(self.book.household.synced_at)
            if self.book.household
            else None,
            "created_at": isoformat_z(self.book.created_at),
        }


def user_households(user_id: int) -> list[HouseholdView]:
    """The advisor's households by name, each with its accounts (two queries in all)."""
    books = list(
        db.session.scalars(
            select(Portfolio)
            .where(Portfolio.user_id == user_id, Portfolio.kind == "household")
            .options(selectinload(Portfolio.client), selectinload(Portfolio.household))
            .order_by(Portfolio.name)
        )
    )
    members: dict[int, list[Portfolio]] = {b.id: [] for b in books}
    if books:
        rows = db.session.execute(
            select(HouseholdAccount.household_id, Portfolio)
            .join(Portfolio, Portfolio.id == HouseholdAccount.portfolio_id)
            .where(HouseholdAccount.household_id.in_(list(members)))
            .order_by(Portfolio.name)
        )
        for household_id, account in rows:
            members[household_id].append(account)
    return [HouseholdView(b, members[b.id]) for b in books]


def owned_household(portfolio_id: int, user_id: int) -> Portfolio:
    """The advisor's household book; NotOwned (404) for an account, a missing or another's id."""
    book = db.session.get(Portfolio, portfolio_id) if 0 < portfolio_id <= MAX_ID else None
    if book is None or book.user_id != user_id or not book.is_household:
        raise NotOwned("No such household.")
    return book


def household_view(book: Portfolio) -> HouseholdView:
    """One household with its members."""
    return HouseholdView(book, households.members(book))


def user_accounts(user_id: int) -> list[Portfolio]:
    """The advisor's accounts (what a household can contain), by name."""
    return list(
        db.session.scalars(
            select(Portfolio)
            .where(Portfolio.user_id == user_id, Portfolio.kind == "account")
            .order_by(Portfolio.name)
        )
    )


def household_memberships(user_id: int) -> dict[int, Portfolio]:
    """account id -> the household book it belongs to, for the advisor's accounts."""
    rows = db.session.execute(
        select(HouseholdAccount.portfolio_id, Portfolio)
        .join(Portfolio, Portfolio.id == HouseholdAccount.household_id)
        .where(Portfolio.user_id == user_id)
    )
    return {account_id: book for account_id, book in rows}


def _client_id(raw: Any) -> int | None:
    """A client id from a form ("" = none) or JSON (null = none), else ValidationError."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw <= MAX_ID:
        raise ValidationError({"client_id": "No such client."})
    return raw


def _renamed(exc: ValidationError) -> ValidationError:
    """The households service's errors under the field names forms and API send."""
    errors = {("account_ids" if k == "accounts" else k): v for k, v in exc.errors.items()}
    return ValidationError(errors)


def create_household(user_id: int, data: Mapping) -> Portfolio:
    """A household from {name, account_ids, client_id?}: its combined book is filled at once."""
    account_ids = _ids(data.get("account_ids", []), "account_ids")
    client_id = _client_id(data.get("client_id"))
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise ValidationError({"name": "Must be text."})
    try:
        return households.create_household(user_id, name or "", account_ids, client_id=client_id)
    except ValidationError as exc:
        raise _renamed(exc) from None


def update_household(book: Portfolio, data: Mapping) -> Portfolio:
    """Rename, change the accounts or the client of a household; fields absent keep their value.

    ``client_id`` empty or null unlinks the household from its client.
    """
    account_ids = _ids(data["account_ids"], "account_ids") if "account_ids" in data else None
    relink = "client_id" in data
    client_id = _client_id(data.get("client_id"))
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise ValidationError({"name": "Must be text."})

    def unit() -> Portfolio:
        households.update_household(book, name=name, account_ids=account_ids, client_id=client_id)
        if relink and client_id is None:
            book.client_id = None
        return book

    try:
        return run_write(unit)
    except ValidationError as exc:
        raise _renamed(exc) from None


@dataclass(frozen=True)
class Valued:
    """A book and its equity from its stored overview (None when not calculated)."""

    portfolio: Portfolio
    equity: float | None
    as_of: dt.date | None


def valued(portfolio: Portfolio) -> Valued:
    """The portfolio's equity from the latest stored overview, if any."""
    result = stored(portfolio, "overview")
    if not result.available:
        return Valued(portfolio, None, None)
    equity = (result.data.get("summary") or {}).get("equity")
    return Valued(portfolio, equity, result.as_of)


@dataclass(frozen=True)
class HouseholdSummary:
    """The household page: each member's stored equity and the combined book's."""

    book: Valued
    members: list[Valued]


def household_summary(book: Portfolio) -> HouseholdSummary:
    """Each member account's and the combined book's equity, from their stored overviews."""
    return HouseholdSummary(valued(book), [valued(p) for p in households.members(book)])

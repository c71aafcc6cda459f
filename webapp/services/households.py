"""Households: accounts grouped into one combined book that every page and engine reads.

A household's book is a ``Portfolio`` of kind 'household' holding copies of its accounts'
positions and transactions, and their cash summed. ``sync`` refreshes the copy; the batch calls
it first, so the combined book's risk is computed on the combined positions (diversification
across accounts counts) by the same engines as any account.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from webapp.extensions import db
from webapp.models import (
    Client,
    Household,
    HouseholdAccount,
    Portfolio,
    Position,
    Transaction,
)
from webapp.models._time import utcnow
from webapp.services import ledger
from webapp.services.book_copy import copy_book
from webapp.services.ledger import ValidationError
from webapp.services.portfolios import NotOwned
from webapp.services.transactions import run_write

MAX_ACCOUNTS = 20


@dataclass(frozen=True)
class SyncResult:
    """What ``sync`` did: whether it copied, and how many rows the book now holds."""

    copied: bool
    accounts: int
    positions: int
    transactions: int


def members(book: Portfolio) -> list[Portfolio]:
    """The household's accounts, by name."""
    return list(
        db.session.scalars(
            select(Portfolio)
            .join(HouseholdAccount, HouseholdAccount.portfolio_id == Portfolio.id)
            .where(HouseholdAccount.household_id == book.id)
            .order_by(Portfolio.name)
        )
    )


def household_of(account: Portfolio) -> Portfolio | None:
    """The household book an account belongs to, if any."""
    return db.session.scalar(
        select(Portfolio)
        .join(HouseholdAccount, HouseholdAccount.household_id == Portfolio.id)
        .where(HouseholdAccount.portfolio_id == account.id)
    )


def _accounts(user_id: int, account_ids: list[int], book_id: int | None) -> list[Portfolio]:
    """The advisor's accounts for a household, or ValidationError naming what is wrong."""
    ids = sorted(set(account_ids))
    if not ids:
        raise ValidationError({"accounts": "Choose at least one account."})
    if len(ids) > MAX_ACCOUNTS:
        raise ValidationError({"accounts": f"At most {MAX_ACCOUNTS} accounts in a household."})
    found = list(
        db.session.scalars(
            select(Portfolio).where(Portfolio.id.in_(ids), Portfolio.user_id == user_id)
        )
    )
    if len(found) != len(ids):
        raise ValidationError({"accounts": "One of the chosen accounts does not exist."})
    if any(p.kind == "household" for p in found):
        raise ValidationError({"accounts": "A household cannot contain another household."})
    taken = db.session.execute(
        select(Portfolio.name, HouseholdAccount.household_id)
        .join(Portfolio, Portfolio.id == HouseholdAccount.portfolio_id)
        .where(HouseholdAccount.portfolio_id.in_(ids), HouseholdAccount.household_id != book_id)
    ).all()
    if taken:
        names = ", ".join(sorted(name for name, _ in taken))
        raise ValidationError({"accounts": f"Already in another household: {names}."})
    return found


def _client(user_id: int, client_id: int | None) -> int | None:
    if client_id is None:
        return None
    client = db.session.get(Client, client_id)
    if client is None or client.user_id != user_id:
        raise ValidationError({"client_id": "No such client."})
    return client.id


def _name(user_id: int, name: str, book_id: int | None) -> str:
    if name is not None and not isinstance(name, str):
        raise ValidationError({"name": "Must be text."})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the household a name."})
    if "\x00" in name:  # PostgreSQL text cannot hold it
        raise ValidationError({"name": "Must not contain NUL characters."})
    if len(name) > 120:
        raise ValidationError({"name": "At most 120 characters."})
    clash = db.session.scalar(
        select(Portfolio.id).where(Portfolio.user_id == user_id, Portfolio.name == name)
    )
    if clash is not None and clash != book_id:
        raise ValidationError(
            {"name": f"You already have a portfolio or household called '{name}'."}
        )
    return name


def create_household(
    user_id: int,
    name: str,
    account_ids: list[int],
    *,
    client_id: int | None = None,
    description: str = "",
    benchmark: str = "SPY",
) -> Portfolio:
    """A new household of the advisor's accounts; its combined book is filled at once."""
    clean_name = _name(user_id, name, None)
    accounts = _accounts(user_id, account_ids, None)
    client = _client(user_id, client_id)

    def unit() -> Portfolio:
        book = Portfolio(
            user_id=user_id,
            name=clean_name,
            kind="household",
            client_id=client,
            description=description,
            benchmark=benchmark,
            cash=0.0,
        )
        db.session.add(book)
        db.session.flush()
        db.session.add(Household(portfolio_id=book.id))
        db.session.add_all(
            HouseholdAccount(household_id=book.id, portfolio_id=a.id) for a in accounts
        )
        db.session.flush()
        _copy(book, accounts)
        return book

    return run_write(unit)


def update_household(
    book: Portfolio,
    *,
    name: str | None = None,
    account_ids: list[int] | None = None,
    client_id: int | None = None,
) -> Portfolio:
    """Rename, re-link to a client, or change the accounts (the book is re-copied)."""
    if book.kind != "household":
        raise NotOwned("No such household.")
    clean_name = _name(book.user_id, name, book.id) if name is not None else book.name
    accounts = _accounts(book.user_id, account_ids, book.id) if account_ids is not None else None
    client = _client(book.user_id, client_id) if client_id is not None else book.client_id

    def unit() -> Portfolio:
        book.name, book.client_id = clean_name, client
        if accounts is not None:
            db.session.execute(
                delete(HouseholdAccount).where(HouseholdAccount.household_id == book.id)
            )
            db.session.add_all(
                HouseholdAccount(household_id=book.id, portfolio_id=a.id) for a in accounts
            )
            db.session.flush()
            _copy(book, accounts)
        return book

    return run_write(unit)


def _stamp(accounts: list[Portfolio]) -> str:
    """A digest of what the copy depends on: each account's cash, lots and ledger rows."""
    ids = [a.id for a in accounts]
    lots = {
        pid: (count, str(changed), last)
        for pid, count, changed, last in db.session.execute(
            select(
                Position.portfolio_id,
                func.count(Position.id),
                func.max(Position.updated_at),
                func.max(Position.id),
            )
            .where(Position.portfolio_id.in_(ids))
            .group_by(Position.portfolio_id)
        )
    }
    rows = {
        pid: (count, last)
        for pid, count, last in db.session.execute(
            select(Transaction.portfolio_id, func.count(Transaction.id), func.max(Transaction.id))
            .where(Transaction.portfolio_id.in_(ids))
            .group_by(Transaction.portfolio_id)
        )
    }
    text = ";".join(
        f"{a.id}|{a.cash!r}|{lots.get(a.id)}|{rows.get(a.id)}"
        for a in sorted(accounts, key=lambda a: a.id)
    )
    return hashlib.sha256(text.encode()).hexdigest()


def sync(book: Portfolio) -> SyncResult:
    """Refresh the household's combined book from its accounts (a no-op when unchanged).

    Each account's pre-ledger lots are adopted into its own ledger first, so the copy carries
    a complete ledger and the combined cash equals the sum of the accounts' cash.
    """
    if book.kind != "household":
        raise ValueError(f"portfolio {book.id} is not a household")
    accounts = members(book)
    _adopt(accounts)
    household = db.session.get(Household, book.id)
    stamp = _stamp(accounts)
    if household.synced_stamp == stamp:
        return SyncResult(False, len(accounts), *_counts(book))
    _copy(book, accounts, stamp=stamp)
    db.session.commit()
    return SyncResult(True, len(accounts), *_counts(book))


def _counts(book: Portfolio) -> tuple[int, int]:
    positions = db.session.scalar(
        select(func.count(Position.id)).where(Position.portfolio_id == book.id)
    )
    transactions = db.session.scalar(
        select(func.count(Transaction.id)).where(Transaction.portfolio_id == book.id)
    )
    return int(positions), int(transactions)


def _adopt(accounts: list[Portfolio]) -> None:
    for account in accounts:
        ledger.adopt(account)
    db.session.flush()


def _copy(book: Portfolio, accounts: list[Portfolio], *, stamp: str | None = None) -> None:
    """Replace the book's lots and ledger with copies of the accounts' (set-based, one unit)."""
    if stamp is None:
        _adopt(accounts)
    copy_book(book, accounts)
    household = db.session.get(Household, book.id)
    household.synced_stamp = stamp if stamp is not None else _stamp(accounts)
    household.synced_at = utcnow()
    db.session.flush()

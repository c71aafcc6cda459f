"""factory_boy factories for the models tests build: users, portfolios, positions, tags, runs.

Every factory commits (``sqlalchemy_session_persistence = "commit"``): the service under test, or
a request made through the test client, runs in its own app context and session, and must see
the rows. Names and e-mails carry a sequence number and the process id, because every test of a
session shares one database (and xdist-style parallel runs would share it too).
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory
from werkzeug.security import generate_password_hash

from webapp.extensions import db
from webapp.imports import ParsedOption
from webapp.models import BatchRun, Portfolio, Position, Tag, User

PASSWORD = "correct-horse-9"  # passes the account policy; what Auth.login sends by default
ENTRY_DATE = dt.date(2025, 1, 2)  # a trading day with bundled prices for every demo symbol


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session = db.session  # scoped: the session of the current app context
        sqlalchemy_session_persistence = "commit"


class UserFactory(_Base):
    """An active advisor whose password is ``PASSWORD`` (or ``password=...``)."""

    class Meta:
        model = User
        exclude = ("password",)

    email = factory.Sequence(lambda n: f"advisor{n}-{os.getpid()}@example.com")
    full_name = ""
    password = PASSWORD
    # What User.set_password stores: a salted hash, never the password.
    password_hash = factory.LazyAttribute(lambda o: generate_password_hash(o.password))


class PortfolioFactory(_Base):
    """A portfolio with $10,000 cash and no positions, owned by a new advisor unless given."""

    class Meta:
        model = Portfolio

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Book {n}")
    description = ""
    cash = 10_000.0


class PositionFactory(_Base):
    """A long stock position of 10 AAPL at $150; a negative quantity makes it SHORT."""

    class Meta:
        model = Position

    portfolio = factory.SubFactory(PortfolioFactory)
    symbol = "AAPL"
    quantity = 10.0
    position_type = factory.LazyAttribute(lambda o: "LONG" if o.quantity > 0 else "SHORT")
    entry_price = 150.0
    entry_date = ENTRY_DATE
    multiplier = 1.0


class OptionPositionFactory(PositionFactory):
    """A listed option: one long AAPL 200 call (LC) expiring 2026-09-18, multiplier 100.

    ``quantity`` < 0 writes it (SC); ``right="P"`` makes it a put (LP / SP).
    """

    class Meta:
        exclude = ("right",)

    right = "C"
    underlying_symbol = "AAPL"
    strike_price = 200.0
    expiration_date = dt.date(2026, 9, 18)
    quantity = 1.0
    entry_price = 5.0
    multiplier = 100.0
    position_type = factory.LazyAttribute(lambda o: ("L" if o.quantity > 0 else "S") + o.right)
    symbol = factory.LazyAttribute(
        lambda o: (
            ParsedOption(
                o.underlying_symbol,
                o.expiration_date,
                "call" if o.right == "C" else "put",
                Decimal(str(o.strike_price)),
            ).osi
        )
    )


class TagFactory(_Base):
    """A tag of an advisor (a new one unless ``user_id=...`` is given)."""

    class Meta:
        model = Tag

    user_id = factory.LazyFunction(lambda: UserFactory().id)
    name = factory.Sequence(lambda n: f"tag-{n}")
    color = "#4c78a8"


class BatchRunFactory(_Base):
    """A finished, successful manual batch run of a new portfolio as of the bundled last day."""

    class Meta:
        model = BatchRun

    portfolio_id = factory.LazyFunction(lambda: PortfolioFactory().id)
    trigger = "manual"
    status = "succeeded"
    as_of_date = dt.date(2026, 8, 3)
    steps = factory.LazyFunction(list)

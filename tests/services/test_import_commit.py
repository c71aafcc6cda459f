"""The import service judges files by the price date and takes the statement's cash."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import Portfolio, Position, Tag, Transaction
from webapp.models.portfolios import position_tags
from webapp.services import imports, ledger, queries

FIXTURES = Path(__file__).parents[1] / "imports" / "fixtures"


def _report(name: str):
    return imports.validate_upload((FIXTURES / name).read_bytes(), name)


def test_uploads_are_judged_by_the_last_price_date(ctx):
    report = _report("thinkorswim_position_statement.csv")
    assert report.as_of == queries.latest_price_date()
    # The statement is dated 2026-11-20, after the prices: entries on the price date instead.
    assert {row.entry_date for row in report.accepted} == {queries.latest_price_date()}


def test_a_blank_cash_field_takes_the_statements_cash(factory):
    user = factory.user()
    report = _report("thinkorswim_cash_statement.csv")
    assert report.statement_cash is not None and report.statement_cash > 0
    portfolio = imports.commit_import(user.id, {"name": "Statement", "cash": ""}, report)
    assert portfolio.cash == pytest.approx(report.statement_cash)
    assert ledger.rebuild_check(portfolio).ok


def test_a_typed_cash_amount_wins_over_the_statement(factory):
    user = factory.user()
    report = _report("thinkorswim_cash_statement.csv")
    portfolio = imports.commit_import(user.id, {"name": "Typed", "cash": "1,000"}, report)
    assert portfolio.cash == 1_000.0


def _book(rows: int) -> bytes:
    """A template file of ``rows`` distinct lots (stocks, shorts, OSI calls), two tags each."""
    lines = ["ticker,quantity,entry_price,entry_date,tags,notes"]
    for i in range(rows):
        ticker = ("AAPL", "MSFT", "SPY", "QQQ")[i % 4]
        quantity = (i + 1) * (-1 if i % 7 == 0 else 1)
        if i % 10 == 9:
            ticker, quantity = f"{ticker}270115C00250000", 1 + i // 10
        day = 2 + i % 27
        lines.append(f"{ticker},{quantity},{20 + i % 400}.25,2024-01-{day:02d},core;lot{i % 9},{i}")
    return ("\n".join(lines) + "\n").encode()


def _stored(portfolio_id: int) -> tuple[dict[str, tuple], dict[str, set[str]], int]:
    """(notes -> (symbol, quantity), notes -> tag names, ledger rows) of a portfolio."""
    positions = db.session.execute(
        select(Position.notes, Position.symbol, Position.quantity).where(
            Position.portfolio_id == portfolio_id
        )
    ).all()
    links = db.session.execute(
        select(Position.notes, Tag.name)
        .join(position_tags, position_tags.c.position_id == Position.id)
        .join(Tag, Tag.id == position_tags.c.tag_id)
        .where(Position.portfolio_id == portfolio_id)
    ).all()
    tags: dict[str, set[str]] = {}
    for notes, name in links:
        tags.setdefault(notes, set()).add(name)
    ledger_rows = db.session.scalar(
        select(func.count()).where(Transaction.portfolio_id == portfolio_id)
    )
    assert len(links) == sum(len(names) for names in tags.values())  # no link stored twice
    return {n: (s, q) for n, s, q in positions}, tags, ledger_rows


def test_a_20000_row_file_stores_every_position_once_with_its_tags(factory):
    user = factory.user()
    report = imports.validate_upload(_book(20_000), "big.csv")
    assert report.file_error is None and report.rejected == [] and len(report.accepted) == 20_000
    portfolio = imports.commit_import(user.id, {"name": "Big", "cash": "0"}, report)
    positions, tags, ledger_rows = _stored(portfolio.id)
    assert len(positions) == 20_000  # one row per line: the notes are the line's own number
    assert positions == {
        str(i): (row.symbol, row.quantity) for i, row in enumerate(report.accepted)
    }
    assert tags == {str(i): {"core", f"lot{i % 9}"} for i in range(20_000)}
    assert ledger_rows == 2 * 20_000  # each lot's opening trade and its funding deposit
    assert report.portfolio_id == portfolio.id


def test_a_failure_half_way_through_a_20000_row_import_stores_nothing(factory):
    def counts() -> tuple[int, ...]:
        return tuple(
            db.session.scalar(select(func.count()).select_from(table))
            for table in (Portfolio, Position, Tag, Transaction, position_tags)
        )

    user = factory.user()
    report = imports.validate_upload(_book(20_000), "big.csv")
    before = counts()
    # Row 10,001 breaks the positions table's sign check: the database refuses it after the
    # first 10,000 rows of the same insert went in.
    broken = report.accepted[10_000]
    assert broken.position_type == "LONG" and broken.quantity > 0
    broken.position_type = "SHORT"
    with pytest.raises(IntegrityError):
        imports.commit_import(user.id, {"name": "Half", "cash": "0"}, report)
    db.session.rollback()
    assert counts() == before  # no portfolio, position, new tag, ledger row or tag link
    assert report.portfolio_id is None

"""The import service judges files by the price date and takes the statement's cash."""

from __future__ import annotations

from pathlib import Path

import pytest

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

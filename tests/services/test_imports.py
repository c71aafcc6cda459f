"""services.imports called directly: validate, stash for the preview, commit all-or-nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.factories import PortfolioFactory, TagFactory, UserFactory
from webapp.extensions import db
from webapp.imports import TEMPLATE_CSV
from webapp.models import Portfolio, Position, Tag
from webapp.services import imports as svc
from webapp.services.management import ValidationError

TEMPLATE = TEMPLATE_CSV.encode()


def _count(model, **where) -> int:
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    return db.session.scalar(query)


def test_validate_upload_reports_every_template_row_and_stores_nothing(ctx):
    before = _count(Position)
    report = svc.validate_upload(TEMPLATE, "template.csv")
    assert report.file_error is None and report.rejected == []
    assert [(r.symbol, r.position_type, r.quantity) for r in report.accepted] == [
        ("AAPL", "LONG", 100.0),
        ("MSFT", "LONG", 40.0),
        ("SPY", "SHORT", -25.0),
        ("AAPL270115C00250000", "LC", 2.0),
    ]
    assert _count(Position) == before


def test_validate_upload_applies_the_configured_size_limit(ctx, monkeypatch):
    monkeypatch.setitem(ctx.config, "IMPORT_MAX_BYTES", len(TEMPLATE) - 1)
    report = svc.validate_upload(TEMPLATE, "template.csv")
    assert report.file_error is not None and report.accepted == []


def test_a_stashed_upload_comes_back_only_to_its_owner_until_dropped(ctx):
    data = b"ticker,quantity\nAAPL,1\n\x00binary\nand more\n"  # newlines after the metadata line
    token = svc.stash_upload(41, 'my "holdings".csv', data)
    assert token.isalnum()
    pending = svc.load_upload(token, 41)
    assert pending == svc.PendingUpload(token, 41, 'my "holdings".csv', data)
    assert 0 < svc.get_redis().ttl(svc._key(token)) <= svc.PENDING_TTL
    assert svc.load_upload(token, 42) is None  # another advisor's token
    svc.drop_upload(token)
    assert svc.load_upload(token, 41) is None


@pytest.mark.parametrize("token", [None, "", "../etc", "abc*", "0" * 31 + "-"])
def test_load_upload_refuses_missing_and_non_alphanumeric_tokens(ctx, token):
    assert svc.load_upload(token, 1) is None


def test_commit_import_creates_the_book_with_every_row_and_tag(ctx):
    user = UserFactory()
    existing = TagFactory(user_id=user.id, name="core", color="#123456")
    report = svc.validate_upload(TEMPLATE, "template.csv")
    portfolio = svc.commit_import(
        user.id, {"name": " Imported ", "description": "from CSV", "cash": "2500"}, report
    )
    assert report.portfolio_id == portfolio.id
    db.session.expire_all()
    stored = db.session.get(Portfolio, portfolio.id)
    assert (stored.user_id, stored.name, stored.description, stored.cash) == (
        user.id,
        "Imported",
        "from CSV",
        2500.0,
    )
    rows = [(p.symbol, p.position_type, p.quantity, p.entry_price) for p in stored.positions]
    assert rows == [
        ("AAPL", "LONG", 100.0, 185.25),
        ("MSFT", "LONG", 40.0, 402.10),
        ("SPY", "SHORT", -25.0, 510.40),
        ("AAPL270115C00250000", "LC", 2.0, 12.50),
    ]
    option = stored.positions[3]
    assert (option.underlying_symbol, option.strike_price, option.expiration_date) == (
        "AAPL",
        250.0,
        dt.date(2027, 1, 15),
    )
    assert option.multiplier == 100.0
    assert stored.positions[2].strategy == "Index hedge"
    assert stored.positions[0].notes == "Long-term holding" and stored.positions[1].notes == ""
    assert [sorted(t.name for t in p.tags) for p in stored.positions] == [
        ["core", "tech"],
        ["core"],
        ["hedge"],
        ["options"],
    ]
    # The advisor's existing tag is reused, not duplicated; the others are new.
    assert stored.positions[1].tags[0].id == existing.id
    assert _count(Tag, user_id=user.id) == 4
    assert len({p.created_at for p in stored.positions}) == 1  # one timestamp per import


def test_commit_import_refuses_a_file_level_error_and_stores_nothing(ctx):
    user = UserFactory()
    report = svc.validate_upload(b"", "empty.csv")
    assert report.file_error is not None
    with pytest.raises(svc.ImportRefused) as refused:
        svc.commit_import(user.id, {"name": "Never"}, report)
    assert str(refused.value) == report.file_error["message"]
    assert refused.value.report is report
    assert _count(Portfolio, user_id=user.id) == 0


def test_commit_import_refuses_a_file_without_importable_rows(ctx):
    user = UserFactory()
    report = svc.validate_upload(b"ticker,quantity,entry_price,entry_date\nZZZQ,1,x,\n", "bad.csv")
    assert report.file_error is None and report.accepted == [] and report.rejected
    with pytest.raises(ValidationError) as refused:
        svc.commit_import(user.id, {"name": "Never"}, report)
    assert refused.value.errors == {"file": "The file has no importable rows."}
    assert _count(Portfolio, user_id=user.id) == 0


def test_commit_import_refuses_a_taken_name_before_writing(ctx):
    taken = PortfolioFactory()
    positions_before = _count(Position)
    report = svc.validate_upload(TEMPLATE, "template.csv")
    with pytest.raises(ValidationError) as refused:
        svc.commit_import(taken.owner.id, {"name": taken.name}, report)
    assert refused.value.errors == {"name": f"You already have a portfolio called '{taken.name}'."}
    assert _count(Portfolio, user_id=taken.owner.id) == 1
    assert _count(Position) == positions_before


def test_position_values_maps_an_accepted_row_to_columns(ctx):
    report = svc.validate_upload(TEMPLATE, "template.csv")
    values = svc.position_values(report.accepted[3])
    assert values == {
        "symbol": "AAPL270115C00250000",
        "position_type": "LC",
        "quantity": 2.0,
        "entry_price": 12.5,
        "entry_date": dt.date(2024, 11, 1),
        "underlying_symbol": "AAPL",
        "strike_price": 250.0,
        "expiration_date": dt.date(2027, 1, 15),
        "multiplier": 100.0,
        "implied_vol": None,
        "strategy": "Covered upside",
        "notes": "Option: OSI symbol; quantity in contracts; price per share",
    }
    assert set(values) < {c.name for c in Position.__table__.columns}

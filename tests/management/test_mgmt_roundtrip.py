"""Export → import round trip.

A book exported with positions_csv and uploaded again is the same book.
"""

from __future__ import annotations

import io

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Portfolio, User
from webapp.services.demo import DEMO_BOOKS
from webapp.services.exports import positions_csv

HEDGE_FUND = next(b for b in DEMO_BOOKS if b.email == "demo_hedgefundstyle@sigmasight.com")


def book_key(portfolio: Portfolio) -> list[tuple]:
    """What must survive the round trip, per open position.

    Sorted: order is not part of the contract.
    """
    return sorted(
        (
            p.symbol,
            p.position_type,
            p.quantity,
            round(p.entry_price, 6),
            p.entry_date,
            p.strike_price,
            p.expiration_date,
            tuple(sorted(t.name for t in p.tags)),
            p.strategy,
        )
        for p in portfolio.positions
        if p.is_open
    )


def test_exported_demo_book_imports_as_the_same_positions(api, queued_jobs):
    owner = db.session.scalar(select(User).where(User.email == HEDGE_FUND.email))
    source = db.session.scalar(
        select(Portfolio).where(
            Portfolio.user_id == owner.id, Portfolio.name == HEDGE_FUND.portfolio
        )
    )
    text = positions_csv(source)
    assert isinstance(text, str)
    # Imported by another advisor, so the shared demo account gains no portfolio.
    resp = api.post(
        "/management/portfolios/upload",
        content_type="multipart/form-data",
        data={
            "file": (io.BytesIO(text.encode("utf-8")), "export.csv"),
            "mode": "commit",
            "name": "Round trip",
        },
    )
    body = resp.get_json()
    assert resp.status_code == 201, body
    assert body["rejected"] == [] and body["detected_format"] == "canonical"
    copy = db.session.get(Portfolio, body["portfolio_id"])
    assert book_key(copy) == book_key(source)
    assert (
        len(copy.positions)
        == len([p for p in source.positions if p.is_open])
        == len(HEDGE_FUND.holdings)
    )

"""Fixtures shared by the service tests."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete


@pytest.fixture()
def new_bar(ctx):
    """``new_bar(symbol, day, close)`` stores a bar for the test; afterwards it is removed and
    every cached valuation forgotten (the price version goes back to what it was)."""
    from webapp.extensions import db
    from webapp.models import PriceBar
    from webapp.services import price_panel, valuation

    added: list[tuple[str, dt.date]] = []

    def add(symbol: str, day: dt.date, close: float) -> None:
        db.session.add(PriceBar(symbol=symbol, date=day, adj_close=close, source="test"))
        db.session.commit()
        added.append((symbol, day))

    yield add
    db.session.rollback()
    for symbol, day in added:
        db.session.execute(delete(PriceBar).where(PriceBar.symbol == symbol, PriceBar.date == day))
    db.session.commit()
    valuation._CACHE.clear()
    price_panel.clear()  # bars are never deleted outside tests: the panel cannot see it

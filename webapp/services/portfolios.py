"""Portfolios: ownership (every read goes through it) and the advisor's list."""

from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Portfolio

MAX_ID = 2**31 - 1


class NotOwned(LookupError):
    """No such record for this advisor: missing, or another advisor's (both read as 404).

    A service exception, not werkzeug's: the app maps it once to the 404 page or the API's
    error shape, so services do not decide HTTP.
    """


def owned_portfolio(portfolio_id: int, user_id: int) -> Portfolio:
    """The portfolio if ``user_id`` owns it; otherwise 404 (never reveal another advisor's data)."""
    # Ids beyond the INTEGER column cannot exist; asking the database would overflow (500).
    portfolio = db.session.get(Portfolio, portfolio_id) if 0 < portfolio_id <= MAX_ID else None
    if portfolio is None or portfolio.user_id != user_id:
        raise NotOwned("No such portfolio.")
    return portfolio


def user_portfolios(user_id: int) -> list[Portfolio]:
    """The user's accounts and households, by name (a modelling session's proposed book is
    reached through its session only)."""
    return list(
        db.session.scalars(
            select(Portfolio)
            .where(Portfolio.user_id == user_id, Portfolio.kind != "proposal")
            .order_by(Portfolio.name)
        )
    )

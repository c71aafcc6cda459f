"""Copy books: a target portfolio's lots and ledger replaced by copies of other portfolios'.

A household's combined book (``households``) and a modelling session's proposed book
(``modelling``) are such copies, so each is analysed by the same batch and engines as a real
account.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from webapp.extensions import db
from webapp.models import Portfolio, Position, Transaction, position_tags

# Columns a copied lot or ledger row keeps (ids, owners and timestamps are the copy's own).
_POSITION_COLUMNS = tuple(
    c.name
    for c in Position.__table__.columns
    if c.name not in ("id", "portfolio_id", "created_at", "updated_at")
)
_TRANSACTION_COLUMNS = tuple(
    c.name
    for c in Transaction.__table__.columns
    if c.name not in ("id", "portfolio_id", "position_id", "created_at")
)


def copy_book(target: Portfolio, sources: list[Portfolio]) -> None:
    """Replace ``target``'s lots, tags and ledger with copies of the ``sources``' (set-based).

    Ledger rows keep their link to the copied lot; cash is the sources' sum and the inception
    date their earliest. Flushed, not committed: the caller's write unit commits.
    """
    target_id = target.id
    old = select(Position.id).where(Position.portfolio_id == target_id)
    db.session.execute(delete(Transaction).where(Transaction.portfolio_id == target_id))
    db.session.execute(delete(position_tags).where(position_tags.c.position_id.in_(old)))
    db.session.execute(delete(Position).where(Position.portfolio_id == target_id))
    source_ids = [s.id for s in sources]
    lots = list(
        db.session.scalars(
            select(Position)
            .where(Position.portfolio_id.in_(source_ids))
            .order_by(Position.portfolio_id, Position.id)
        )
    )
    copies = {}
    for lot in lots:
        copy = Position(portfolio_id=target_id, **{c: getattr(lot, c) for c in _POSITION_COLUMNS})
        db.session.add(copy)  # in the session before its tags, so the backref cascade has it
        copy.tags = list(lot.tags)
        copies[lot.id] = copy
    db.session.flush()
    entries = db.session.scalars(
        select(Transaction)
        .where(Transaction.portfolio_id.in_(source_ids))
        .order_by(Transaction.trade_date, Transaction.id)
    )
    db.session.add_all(
        Transaction(
            portfolio_id=target_id,
            position_id=copies[t.position_id].id if t.position_id in copies else None,
            **{c: getattr(t, c) for c in _TRANSACTION_COLUMNS},
        )
        for t in entries
    )
    target.cash = float(sum(s.cash for s in sources))
    dates = [s.inception_date for s in sources if s.inception_date is not None]
    target.inception_date = min(dates) if dates else None
    db.session.flush()

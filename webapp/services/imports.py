"""CSV onboarding: validate a holdings file, keep it for the preview, commit it all-or-nothing."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.imports import AcceptedRow, ImportReport, validate_holdings_file
from webapp.models import Portfolio, Position
from webapp.models._time import utcnow
from webapp.models.ledger import Transaction
from webapp.models.portfolios import position_tags
from webapp.services import ledger
from webapp.services import management as mgmt
from webapp.services.queries import known_symbols, latest_price_date
from webapp.services.queueing import get_redis
from webapp.services.transactions import run_write

PENDING_TTL = 3600  # seconds a validated upload waits for its confirmation
#: The API upload's modes: report only, or report and store (all or nothing).
UPLOAD_MODES = ("validate", "commit")


def validate_upload(data: bytes, filename: str) -> ImportReport:
    """The validation report (nothing is stored)."""
    return validate_holdings_file(
        data,
        filename=filename,
        known_symbols=known_symbols(),
        # Judged by the last price date, not the wall clock: the offline dataset ends earlier.
        as_of=latest_price_date(),
        max_bytes=current_app.config["IMPORT_MAX_BYTES"],
        max_rows=current_app.config["IMPORT_MAX_ROWS"],
    )


@dataclass(frozen=True)
class PendingUpload:
    """An upload validated on the preview page, waiting for the advisor's confirmation."""

    token: str
    user_id: int
    filename: str
    data: bytes


def _key(token: str) -> str:
    return f"sigmasight:import:{token}"


def stash_upload(user_id: int, filename: str, data: bytes) -> str:
    """Keep the uploaded bytes in Redis for the confirmation step; returns the token."""
    token = uuid.uuid4().hex
    # json.dumps escapes newlines, so the first b"\n" always ends the metadata.
    meta = json.dumps({"user_id": user_id, "filename": filename}).encode()
    get_redis().set(_key(token), meta + b"\n" + data, ex=PENDING_TTL)
    return token


def load_upload(token: str | None, user_id: int) -> PendingUpload | None:
    """The stashed upload if it exists, hasn't expired and belongs to ``user_id``."""
    if not token or not token.isalnum():
        return None
    raw = get_redis().get(_key(token))
    if raw is None:
        return None
    meta, _, data = raw.partition(b"\n")
    info = json.loads(meta)
    if info["user_id"] != user_id:
        return None
    return PendingUpload(token=token, user_id=user_id, filename=info["filename"], data=data)


def drop_upload(token: str) -> None:
    """Forget a stashed upload (it was imported)."""
    get_redis().delete(_key(token))


class ImportRefused(Exception):
    """The file has a file-level error: nothing can be imported."""

    def __init__(self, report: ImportReport):
        super().__init__(report.file_error["message"] if report.file_error else "refused")
        self.report = report


def position_values(row: AcceptedRow) -> dict:
    """The ``positions`` columns an accepted report row describes (no portfolio yet)."""
    return {
        "symbol": row.symbol,
        "position_type": row.position_type,
        "quantity": row.quantity,
        "entry_price": row.entry_price,
        "entry_date": row.entry_date,
        "underlying_symbol": row.underlying_symbol,
        "strike_price": row.strike_price,
        "expiration_date": row.expiration_date,
        "multiplier": row.multiplier,
        "implied_vol": row.implied_vol,
        "strategy": row.strategy,
        "notes": row.notes or "",
    }


def commit_import(user_id: int, portfolio_data: dict, report: ImportReport) -> Portfolio:
    """Create the portfolio with every accepted row in one short transaction — or store nothing.

    The ledger gets each row's opening transaction (source ``import``) funded by a deposit of
    its cost (a withdrawal of a short's proceeds: the holdings were transferred in) and one
    deposit of the statement's cash on the earliest entry date: the rule of migration 0003.
    """
    if report.file_error:
        raise ImportRefused(report)
    data = dict(portfolio_data)
    if str(data.get("cash") or "").strip() == "" and report.statement_cash is not None:
        # The statement's own cash line (the preview names it); a typed amount wins.
        data["cash"] = report.statement_cash
    clean = mgmt.validate_portfolio(data, user_id)
    if not report.accepted:
        raise mgmt.ValidationError({"file": "The file has no importable rows."})
    # Built before the write lock is taken: SQLite has one writer, and every other import, login
    # and batch step waits while this one holds it.
    now = utcnow()  # one timestamp for the whole import, not a default evaluated per row
    rows = [
        position_values(row) | {"created_at": now, "updated_at": now} for row in report.accepted
    ]
    row_tags = [row.tags for row in report.accepted]
    try:
        portfolio = run_write(lambda: _store_import(user_id, clean, rows, row_tags))
    except IntegrityError:
        # Two confirmations racing for the same name: the loser gets the form's message.
        mgmt.validate_portfolio(portfolio_data, user_id)
        raise
    report.portfolio_id = portfolio.id
    return portfolio


def _store_import(
    user_id: int, clean: dict, rows: list[dict], row_tags: list[tuple[str, ...]]
) -> Portfolio:
    """The write itself: the portfolio, missing tags, then positions and tag links in bulk."""
    portfolio = Portfolio(user_id=user_id, **clean)
    db.session.add(portfolio)
    names = sorted({t for tags in row_tags for t in tags})
    tags = mgmt.tags_by_name(user_id, names)
    db.session.flush()  # ids for the portfolio and the new tags
    tag_ids = {t.name: t.id for t in tags}
    # One Core executemany instead of 20,000 ORM objects (the ORM's bulk path splits the rows
    # into a statement per run of stocks or options; RETURNING in row order, one per row). The
    # portfolio is new and ids ascend in insertion order: its positions by id are the file's rows.
    db.session.execute(
        insert(Position.__table__), [{**row, "portfolio_id": portfolio.id} for row in rows]
    )
    ids = db.session.scalars(
        select(Position.id).where(Position.portfolio_id == portfolio.id).order_by(Position.id)
    ).all()
    _link_tags(ids, row_tags, tag_ids)
    lots = [row | {"id": pid} for row, pid in zip(rows, ids, strict=True)]
    entries = ledger.backfill_values(portfolio.id, lots, clean["cash"], "import")
    db.session.execute(insert(Transaction.__table__), entries)
    return portfolio


def _link_tags(
    position_ids: list[int], row_tags: list[tuple[str, ...]], tag_ids: dict[str, int]
) -> None:
    links = [
        {"position_id": pid, "tag_id": tag_ids[name]}
        for pid, names in zip(position_ids, row_tags, strict=True)
        for name in names
    ]
    if links:
        db.session.execute(insert(position_tags), links)

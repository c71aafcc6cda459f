"""A transactions ledger per portfolio; portfolios gain a benchmark and an inception date.

Backfill rule (the same as ``services.ledger.adopt`` and the CSV import's funding rule), chosen so
that ``portfolios.cash`` is unchanged and, afterwards, Σ transactions.amount == cash:

- every existing position becomes its opening transaction at entry_date / entry_price (kind by
  type: LONG buy, SHORT short, options option_open; source 'migration'), funded by an external
  flow of the same size on the same date: a ``deposit`` of its cost for long positions, a
  ``withdrawal`` of the proceeds for shorts and written options. The pair nets to zero: the
  holding was transferred in, not bought with the portfolio's cash;
- a closed position (exit_date set) also gets its closing transaction at exit_date / exit_price
  (sell, cover or option_close) with its realized P&L, (exit − entry) × |qty| × multiplier × sign,
  and a balancing flow of the opposite sign (the proceeds were paid out), again netting to zero;
- plus one ``deposit`` of the portfolio's current cash (a ``withdrawal`` if it is negative) on the
  earliest entry date, or the portfolio's created_at date when it has no positions.

Revision ID: 0003_ledger
Revises: 0002_ids_sessions
Create Date: 2026-12-02 02:00:00

"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0003_ledger'
down_revision = '0002_ids_sessions'
branch_labels = None
depends_on = None

KINDS = ("buy", "sell", "short", "cover", "option_open", "option_close", "option_expire",
         "option_assign", "deposit", "withdrawal", "dividend", "fee")
SOURCES = ("manual", "api", "import", "migration")
TYPES = ("LONG", "SHORT", "LC", "LP", "SC", "SP")
SHORT = ("SHORT", "SC", "SP")
OPEN_KIND = {"LONG": "buy", "SHORT": "short"}
CLOSE_KIND = {"LONG": "sell", "SHORT": "cover"}


def _listed(values):
    return ",".join(f"'{v}'" for v in values)


def upgrade():
    with op.batch_alter_table('portfolios', schema=None) as batch_op:
        batch_op.add_column(sa.Column('benchmark', sa.String(length=200), nullable=False,
                                      server_default='SPY'))
        batch_op.add_column(sa.Column('inception_date', sa.Date(), nullable=True))

    transactions = op.create_table('transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=True),
    sa.Column('position_type', sa.String(length=5), nullable=True),
    sa.Column('quantity', sa.Double(), nullable=True),
    sa.Column('price', sa.Double(), nullable=True),
    sa.Column('multiplier', sa.Double(), nullable=True),
    sa.Column('underlying_symbol', sa.String(length=16), nullable=True),
    sa.Column('strike_price', sa.Double(), nullable=True),
    sa.Column('expiration_date', sa.Date(), nullable=True),
    sa.Column('amount', sa.Double(), nullable=False),
    sa.Column('fees', sa.Double(), nullable=False),
    sa.Column('realized_pnl', sa.Double(), nullable=True),
    sa.Column('position_id', sa.Integer(), nullable=True),
    sa.Column('is_flow', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(f"kind IN ({_listed(KINDS)})", name=op.f('ck_transactions_kind')),
    sa.CheckConstraint(f"source IN ({_listed(SOURCES)})", name=op.f('ck_transactions_source')),
    sa.CheckConstraint(f"position_type IS NULL OR position_type IN ({_listed(TYPES)})",
                       name=op.f('ck_transactions_position_type')),
    sa.CheckConstraint('quantity IS NULL OR quantity > 0',
                       name=op.f('ck_transactions_quantity_positive')),
    sa.CheckConstraint('fees >= 0', name=op.f('ck_transactions_fees_non_negative')),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'],
                            name=op.f('fk_transactions_portfolio_id_portfolios'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'],
                            name=op.f('fk_transactions_position_id_positions'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transactions')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index('ix_transactions_portfolio_id_trade_date',
                              ['portfolio_id', 'trade_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_transactions_position_id'), ['position_id'],
                              unique=False)
    rows = _backfill_rows(op.get_bind())
    if rows:
        op.bulk_insert(transactions, rows)


def _trade(position, kind, when, price, amount, realized=None):
    return {
        "portfolio_id": position.portfolio_id, "trade_date": when, "kind": kind,
        "symbol": position.symbol, "position_type": position.position_type,
        "quantity": abs(position.quantity), "price": price, "multiplier": position.multiplier,
        "underlying_symbol": position.underlying_symbol, "strike_price": position.strike_price,
        "expiration_date": position.expiration_date, "amount": amount, "realized_pnl": realized,
        "position_id": position.id, "is_flow": False,
    }


def _flow(portfolio_id, when, amount, position_id=None, notes=""):
    return {
        "portfolio_id": portfolio_id, "trade_date": when,
        "kind": "deposit" if amount >= 0 else "withdrawal", "amount": amount,
        "position_id": position_id, "is_flow": True, "notes": notes,
    }


def _position_rows(p):
    """Opening (+ closing) transactions of one position, each with its zero-sum funding flow."""
    sign = -1.0 if p.position_type in SHORT else 1.0
    size = abs(p.quantity) * p.multiplier
    kind = OPEN_KIND.get(p.position_type, "option_open")
    opening = -sign * size * p.entry_price
    rows = [_trade(p, kind, p.entry_date, p.entry_price, opening),
            _flow(p.portfolio_id, p.entry_date, -opening, p.id, "funding (transferred in)")]
    if p.exit_date is not None and p.exit_price is not None:
        closing = sign * size * p.exit_price
        realized = sign * (p.exit_price - p.entry_price) * size
        kind = CLOSE_KIND.get(p.position_type, "option_close")
        rows += [_trade(p, kind, p.exit_date, p.exit_price, closing, realized),
                 _flow(p.portfolio_id, p.exit_date, -closing, p.id, "proceeds (paid out)")]
    return rows


def _backfill_rows(bind):
    """The backfill of the module docstring, as rows for one bulk insert."""
    portfolios = sa.table('portfolios', sa.column('id', sa.Integer),
                          sa.column('cash', sa.Double), sa.column('created_at', sa.DateTime))
    positions = sa.table(
        'positions', *(sa.column(n, sa.Integer) for n in ('id', 'portfolio_id')),
        *(sa.column(n, sa.String) for n in ('symbol', 'position_type', 'underlying_symbol')),
        *(sa.column(n, sa.Double) for n in ('quantity', 'entry_price', 'exit_price',
                                            'strike_price', 'multiplier')),
        *(sa.column(n, sa.Date) for n in ('entry_date', 'exit_date', 'expiration_date')),
    )
    by_portfolio = {}
    for p in bind.execute(sa.select(positions).order_by(positions.c.id)):
        by_portfolio.setdefault(p.portfolio_id, []).append(p)
    # Built in Python rather than INSERT … SELECT: the same arithmetic on SQLite and PostgreSQL.
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # naive UTC, as models._time
    rows = []
    for portfolio in bind.execute(sa.select(portfolios).order_by(portfolios.c.id)):
        held = by_portfolio.get(portfolio.id, [])
        start = min((p.entry_date for p in held), default=None) or portfolio.created_at.date()
        if portfolio.cash:
            rows.append(_flow(portfolio.id, start, portfolio.cash, notes="opening cash"))
        for p in held:
            rows.extend(_position_rows(p))
    return [
        {"symbol": None, "position_type": None, "quantity": None, "price": None,
         "multiplier": None, "underlying_symbol": None, "strike_price": None,
         "expiration_date": None, "realized_pnl": None, "notes": "", **row,
         "fees": 0.0, "source": "migration", "created_at": now}
        for row in rows
    ]


def downgrade():
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transactions_position_id'))
        batch_op.drop_index('ix_transactions_portfolio_id_trade_date')
    op.drop_table('transactions')
    with op.batch_alter_table('portfolios', schema=None) as batch_op:
        batch_op.drop_column('inception_date')
        batch_op.drop_column('benchmark')

"""Ids are never re-used (SQLite AUTOINCREMENT) and browser sessions are stored (revocable).

Revision ID: 0002_ids_sessions
Revises: 0001_initial
Create Date: 2026-12-01 22:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002_ids_sessions'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

# Every table with an integer surrogate key. Parents before children, so a recreated child's
# foreign keys point at the recreated parent.
TABLES = (
    'users', 'api_tokens', 'portfolios', 'positions', 'tags', 'batch_runs', 'analytics_results',
    'portfolio_snapshots', 'factor_definitions', 'price_bars',
)


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('remember', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('user_agent', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_user_sessions_token_digest')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    if op.get_bind().dialect.name != 'sqlite':
        return  # PostgreSQL sequences never hand out an id twice
    # Drop orphans the missing foreign-key enforcement let through, then rebuild each table with
    # AUTOINCREMENT (SQLite can only add it by recreating the table; env.py turns foreign keys off
    # while migrating so the rebuild's DROP TABLE does not cascade).
    for child in ('analytics_results', 'portfolio_snapshots', 'batch_runs'):
        op.execute(f"DELETE FROM {child} WHERE portfolio_id IS NOT NULL "
                   f"AND portfolio_id NOT IN (SELECT id FROM portfolios)")
    op.execute("UPDATE analytics_results SET batch_run_id = NULL WHERE batch_run_id IS NOT NULL "
               "AND batch_run_id NOT IN (SELECT id FROM batch_runs)")
    for table in TABLES:
        with op.batch_alter_table(table, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': True}):
            pass


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')

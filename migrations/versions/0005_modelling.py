"""Modelling sessions and their proposed trades (what-if analysis on a proposed book).

New tables only; a session's proposed book is a portfolio of kind 'proposal'.

Revision ID: 0005_modelling
Revises: 0004_clients_alerts
Create Date: 2026-12-04 01:55:21.387714

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_modelling'
down_revision = '0004_clients_alerts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('modelling_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('base_stamp', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('saved_portfolio_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('open','applied','saved')", name=op.f('ck_modelling_sessions_status')),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_modelling_sessions_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['portfolios.id'], name=op.f('fk_modelling_sessions_proposal_id_portfolios'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['saved_portfolio_id'], ['portfolios.id'], name=op.f('fk_modelling_sessions_saved_portfolio_id_portfolios'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_modelling_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_modelling_sessions')),
    sa.UniqueConstraint('proposal_id', name=op.f('uq_modelling_sessions_proposal_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('modelling_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_modelling_sessions_portfolio_id'), ['portfolio_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_modelling_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('proposed_trades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['modelling_sessions.id'], name=op.f('fk_proposed_trades_session_id_modelling_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposed_trades')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('proposed_trades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposed_trades_session_id'), ['session_id'], unique=False)



def downgrade():
    with op.batch_alter_table('proposed_trades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposed_trades_session_id'))

    op.drop_table('proposed_trades')
    with op.batch_alter_table('modelling_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_modelling_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_modelling_sessions_portfolio_id'))

    op.drop_table('modelling_sessions')

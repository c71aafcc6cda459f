"""Clients with risk questionnaires, households of accounts, alert rules and alerts.

Portfolios gain ``kind`` (every existing one is an 'account'; a household's combined book is
'household') and an optional ``client_id``. No data moves: new tables start empty.

Revision ID: 0004_clients_alerts
Revises: 0003_ledger
Create Date: 2026-12-04 01:01:40.262241

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_clients_alerts'
down_revision = '0003_ledger'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_clients_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('user_id', 'name', name='uq_clients_user_name'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clients_user_id'), ['user_id'], unique=False)

    op.create_table('risk_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=16), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('willingness', sa.Double(), nullable=False),
    sa.Column('capacity', sa.Double(), nullable=False),
    sa.Column('capped', sa.Boolean(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('loss_limit_pct', sa.Double(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('loss_limit_pct > 0', name=op.f('ck_risk_profiles_loss_limit_positive')),
    sa.CheckConstraint('score BETWEEN 1 AND 99', name=op.f('ck_risk_profiles_score_range')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_risk_profiles_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_profiles')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('risk_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_profiles_client_id'), ['client_id'], unique=False)

    op.create_table('alert_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=True),
    sa.Column('threshold', sa.Double(), nullable=True),
    sa.Column('comparison', sa.String(length=8), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_checked_at', sa.DateTime(), nullable=True),
    sa.Column('last_unavailable', sa.String(length=200), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("comparison IN ('above','below')", name=op.f('ck_alert_rules_comparison')),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_alert_rules_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_rules_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_rules')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_rules_portfolio_id'), ['portfolio_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_rules_user_id'), ['user_id'], unique=False)

    op.create_table('households',
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('synced_stamp', sa.String(length=64), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_households_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('portfolio_id', name=op.f('pk_households'))
    )
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=120), nullable=True),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('threshold', sa.Double(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('as_of_date', sa.Date(), nullable=True),
    sa.Column('batch_run_id', sa.Integer(), nullable=True),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('cleared_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('new','seen','acknowledged','cleared')", name=op.f('ck_alerts_status')),
    sa.ForeignKeyConstraint(['batch_run_id'], ['batch_runs.id'], name=op.f('fk_alerts_batch_run_id_batch_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_alerts_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=op.f('fk_alerts_rule_id_alert_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_portfolio_status', ['portfolio_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_rule_id'), ['rule_id'], unique=False)

    op.create_table('household_accounts',
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['households.portfolio_id'], name=op.f('fk_household_accounts_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_household_accounts_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('household_id', 'portfolio_id', name=op.f('pk_household_accounts')),
    sa.UniqueConstraint('portfolio_id', name=op.f('uq_household_accounts_portfolio_id'))
    )
    op.create_table('alert_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('new','seen','acknowledged','cleared')", name=op.f('ck_alert_events_status')),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_events_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_events')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_events_alert_id'), ['alert_id'], unique=False)

    # The foreign key makes SQLite rebuild the table: keep its AUTOINCREMENT (ids never re-used).
    with op.batch_alter_table('portfolios', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='account', nullable=False))
        batch_op.add_column(sa.Column('client_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_portfolios_client_id'), ['client_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_portfolios_client_id_clients'), 'clients', ['client_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('portfolios', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_portfolios_client_id_clients'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_portfolios_client_id'))
        batch_op.drop_column('client_id')
        batch_op.drop_column('kind')

    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_events_alert_id'))

    op.drop_table('alert_events')
    op.drop_table('household_accounts')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_rule_id'))
        batch_op.drop_index('ix_alerts_portfolio_status')

    op.drop_table('alerts')
    op.drop_table('households')
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_rules_user_id'))
        batch_op.drop_index(batch_op.f('ix_alert_rules_portfolio_id'))

    op.drop_table('alert_rules')
    with op.batch_alter_table('risk_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_profiles_client_id'))

    op.drop_table('risk_profiles')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_user_id'))

    op.drop_table('clients')

"""Client reports: the PDFs built by the worker, report templates and monthly report schedules.

New tables only. A report belongs to its portfolio (deleted with it) and keeps its PDF when the
modelling session or the template it was made from is deleted (those links are set to null); a
schedule is deleted with its portfolio and loses only the link to a deleted template or report.

Revision ID: 0006_reports
Revises: 0005_modelling
Create Date: 2026-12-04 02:08:19.231446

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_reports'
down_revision = '0005_modelling'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('firm_name', sa.String(length=200), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('logo', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_report_templates_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_templates')),
    sa.UniqueConstraint('user_id', 'name', name='uq_report_templates_user_name'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('report_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_templates_user_id'), ['user_id'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=200), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('page_count', sa.Integer(), nullable=True),
    sa.Column('as_of_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('queued','running','succeeded','failed')", name=op.f('ck_reports_status')),
    sa.CheckConstraint('progress BETWEEN 0 AND 100', name=op.f('ck_reports_progress_range')),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_reports_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['modelling_sessions.id'], name=op.f('fk_reports_session_id_modelling_sessions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['report_templates.id'], name=op.f('fk_reports_template_id_report_templates'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reports_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_portfolio_id'), ['portfolio_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_template_id'), ['template_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_user_id'), ['user_id'], unique=False)

    op.create_table('report_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('day_of_month', sa.Integer(), nullable=False),
    sa.Column('next_run_date', sa.Date(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('last_report_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("frequency IN ('monthly')", name=op.f('ck_report_schedules_frequency')),
    sa.CheckConstraint('day_of_month BETWEEN 1 AND 28', name=op.f('ck_report_schedules_day_of_month_range')),
    sa.ForeignKeyConstraint(['last_report_id'], ['reports.id'], name=op.f('fk_report_schedules_last_report_id_reports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_report_schedules_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['report_templates.id'], name=op.f('fk_report_schedules_template_id_report_templates'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_report_schedules_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_schedules')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('report_schedules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_schedules_next_run_date'), ['next_run_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_schedules_portfolio_id'), ['portfolio_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_schedules_template_id'), ['template_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_schedules_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('report_schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_schedules_user_id'))
        batch_op.drop_index(batch_op.f('ix_report_schedules_template_id'))
        batch_op.drop_index(batch_op.f('ix_report_schedules_portfolio_id'))
        batch_op.drop_index(batch_op.f('ix_report_schedules_next_run_date'))

    op.drop_table('report_schedules')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_user_id'))
        batch_op.drop_index(batch_op.f('ix_reports_template_id'))
        batch_op.drop_index(batch_op.f('ix_reports_session_id'))
        batch_op.drop_index(batch_op.f('ix_reports_portfolio_id'))
        batch_op.drop_index(batch_op.f('ix_reports_job_id'))

    op.drop_table('reports')
    with op.batch_alter_table('report_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_templates_user_id'))

    op.drop_table('report_templates')

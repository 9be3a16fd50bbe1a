"""evaluation runs and their examples are stored

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'eval_runs',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('bot', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('strategies', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('examples', sa.Integer(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_eval_runs_bot', 'eval_runs', ['bot'])
    op.create_index('ix_eval_runs_created_at', 'eval_runs', ['created_at'])
    op.create_table(
        'eval_results',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('strategy', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('input', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('output', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('checks', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('overlap_f1', sa.Float(), nullable=False),
        sa.Column('cost_nanousd', sa.BigInteger(), nullable=False),
        sa.Column('latency_ms', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['eval_runs.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_eval_results_run_id', 'eval_results', ['run_id'])


def downgrade() -> None:
    op.drop_index('ix_eval_results_run_id', table_name='eval_results')
    op.drop_table('eval_results')
    op.drop_index('ix_eval_runs_created_at', table_name='eval_runs')
    op.drop_index('ix_eval_runs_bot', table_name='eval_runs')
    op.drop_table('eval_runs')

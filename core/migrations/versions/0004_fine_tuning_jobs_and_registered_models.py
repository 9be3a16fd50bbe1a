"""fine-tuning jobs and registered models

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fine_tune_jobs',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('bot', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('base_model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('training_file', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('validation_file', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('epochs', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('fine_tuned_model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('trained_tokens', sa.Integer(), nullable=True),
    sa.Column('cost_nanousd', sa.BigInteger(), nullable=False),
    sa.Column('price_version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('registered', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fine_tune_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fine_tune_jobs_bot'), ['bot'], unique=False)

    with op.batch_alter_table('strategy_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('finetuned_model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('strategy_state', schema=None) as batch_op:
        batch_op.drop_column('finetuned_model')

    with op.batch_alter_table('fine_tune_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fine_tune_jobs_bot'))

    op.drop_table('fine_tune_jobs')

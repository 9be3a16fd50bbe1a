"""conversations found from an OpenAI client's transcript; the audit keeps the whole actor

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transcript_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index('ix_conversations_transcript', ['owner', 'bot', 'transcript_hash'], unique=False)
    with op.batch_alter_table('strategy_switches', schema=None) as batch_op:
        batch_op.alter_column('actor', type_=sqlmodel.sql.sqltypes.AutoString(length=400),
                              existing_type=sqlmodel.sql.sqltypes.AutoString(length=100))


def downgrade() -> None:
    with op.batch_alter_table('strategy_switches', schema=None) as batch_op:
        batch_op.alter_column('actor', type_=sqlmodel.sql.sqltypes.AutoString(length=100),
                              existing_type=sqlmodel.sql.sqltypes.AutoString(length=400))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_transcript')
        batch_op.drop_column('transcript_hash')

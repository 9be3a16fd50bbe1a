"""calls carry their source: production traffic or an evaluation run

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False,
                                      server_default='production'))
    # earlier evaluation runs: their conversations are owned by "eval"
    op.execute("UPDATE calls SET source = 'eval' WHERE conversation_id IN "
               "(SELECT id FROM conversations WHERE owner = 'eval')")


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('source')

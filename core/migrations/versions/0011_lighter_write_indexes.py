"""Two indexes fewer to write a turn: the owner's is the transcript index's prefix; the status index keeps pending rows only

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    # ix_conversations_transcript (owner, bot, transcript_hash) serves any lookup by owner
    op.drop_index("ix_conversations_owner", table_name="conversations")
    # only start-up's settling of interrupted calls looks calls up by status, and only pending ones
    op.drop_index("ix_calls_status_created", table_name="calls")
    op.create_index(
        "ix_calls_status_created",
        "calls",
        ["status", "created_at"],
        unique=False,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_calls_status_created", table_name="calls")
    op.create_index("ix_calls_status_created", "calls", ["status", "created_at"], unique=False)
    op.create_index("ix_conversations_owner", "conversations", ["owner"], unique=False)

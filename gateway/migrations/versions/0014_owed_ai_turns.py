"""messages: the AI's turn an inbound message still awaits, so a lost turn is run again

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("ai_turn_version", sa.Integer(), nullable=True))
    op.create_index("ix_messages_ai_turn", "messages", ["ai_turn_version", "routed_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_ai_turn", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("ai_turn_version")

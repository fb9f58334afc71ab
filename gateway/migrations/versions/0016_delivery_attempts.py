"""messages: the delivery attempt and the time of the next one while a send is retried,
the provider's raw error kept apart from the sentence agents read, and when an agent
dismissed a failure

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "messages", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("messages", sa.Column("error_detail", sa.Text(), nullable=True))
    op.add_column(
        "messages", sa.Column("failure_dismissed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("failure_dismissed_at")
        batch.drop_column("error_detail")
        batch.drop_column("next_attempt_at")
        batch.drop_column("delivery_attempts")

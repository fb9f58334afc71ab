"""queue: indexes for the All and Needs attention views, newest activity first

The All view (and a search, which looks in every view) lists an organization's
conversations by `updated_at` whatever their state, and Needs attention the flagged ones
whoever owns them; without these indexes both databases would read every conversation of
the organization (and sort them) for each page.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.create_index(
            "ix_conversations_recent", ["organization_id", "updated_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_conversations_attention",
            ["organization_id", "needs_attention", "updated_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_index("ix_conversations_attention")
        batch_op.drop_index("ix_conversations_recent")

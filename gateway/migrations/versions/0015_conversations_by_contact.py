"""queue: an index for a customer's conversations, newest first

The conversation view lists the customer's other conversations by `updated_at`. With
migration 0013's `(organization, updated_at, id)`, SQLite (which keeps no statistics
until someone runs ANALYZE) walked that index through every conversation of the
organization to find the customer's few. This index answers it directly, and lets
SQLite's search test each conversation from an index, without reading the row.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.create_index(
            "ix_conversations_contact",
            ["organization_id", "contact_id", "updated_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_index("ix_conversations_contact")

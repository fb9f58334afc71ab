"""email: a processed folder and a watched Sent folder per mailbox, the Sent folder's cursor

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

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "email_mailboxes", sa.Column("imap_processed_folder", sa.String(length=255), nullable=True)
    )
    op.add_column(
        "email_mailboxes", sa.Column("imap_sent_folder", sa.String(length=255), nullable=True)
    )
    op.create_table(
        "email_sent_cursors",
        sa.Column("mailbox_id", ID, nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["mailbox_id"], ["email_mailboxes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("mailbox_id"),
    )


def downgrade() -> None:
    op.drop_table("email_sent_cursors")
    with op.batch_alter_table("email_mailboxes") as batch:
        batch.drop_column("imap_sent_folder")
        batch.drop_column("imap_processed_folder")

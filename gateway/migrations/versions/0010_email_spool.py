"""email spool: accepted mail waiting to be processed

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "email_spool",
        sa.Column("id", ID, nullable=False),
        sa.Column("mailbox_id", ID, nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("envelope_from", sa.String(length=998), nullable=True),
        sa.Column("envelope_recipients", sa.JSON(), nullable=False),
        sa.Column("peer", sa.String(length=64), nullable=True),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["mailbox_id"], ["email_mailboxes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_email_spool_mailbox_id", "email_spool", ["mailbox_id"], unique=False)
    op.create_index(
        "ix_email_spool_next_attempt_at", "email_spool", ["next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_email_spool_next_attempt_at", table_name="email_spool")
    op.drop_index("ix_email_spool_mailbox_id", table_name="email_spool")
    op.drop_table("email_spool")

"""email channel: mailboxes, IMAP cursors, Message-ID index, bounces

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "email_mailboxes",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("smtp_enabled", sa.Boolean(), nullable=False),
        sa.Column("imap_host", sa.String(length=255), nullable=True),
        sa.Column("imap_port", sa.Integer(), nullable=True),
        sa.Column("imap_tls", sa.Boolean(), nullable=False),
        sa.Column("imap_user", sa.String(length=320), nullable=True),
        sa.Column("imap_password", sa.String(length=500), nullable=True),
        sa.Column("imap_folder", sa.String(length=255), nullable=False),
        sa.Column("trusted_authserv_id", sa.String(length=255), nullable=True),
        sa.Column("trusted_relays", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("address"),
    )
    op.create_index(
        "ix_email_mailboxes_organization_id", "email_mailboxes", ["organization_id"], unique=False
    )
    op.create_table(
        "email_imap_cursors",
        sa.Column("mailbox_id", ID, nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["mailbox_id"], ["email_mailboxes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("mailbox_id"),
    )
    op.create_table(
        "email_message_ids",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("header_id", sa.String(length=998), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("references", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index(
        "ix_email_message_ids_lookup",
        "email_message_ids",
        ["organization_id", "header_id"],
        unique=False,
    )
    op.create_table(
        "email_bounces",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("diagnostic", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider_id"),
    )
    op.create_index(
        "ix_email_bounces_organization_id", "email_bounces", ["organization_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("email_bounces")
    op.drop_index("ix_email_message_ids_lookup", table_name="email_message_ids")
    op.drop_table("email_message_ids")
    op.drop_table("email_imap_cursors")
    op.drop_index("ix_email_mailboxes_organization_id", table_name="email_mailboxes")
    op.drop_table("email_mailboxes")

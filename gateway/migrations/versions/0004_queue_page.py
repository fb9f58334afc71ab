"""queue page

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Substring search (ILIKE '%term%') on PostgreSQL uses trigram GIN indexes when the
# pg_trgm extension can be created; without it the search still works, only slower.
TRIGRAM_INDEXES = (
    ("ix_messages_text_trgm", "messages", "text"),
    ("ix_contacts_name_trgm", "contacts", "name"),
    ("ix_contact_identities_address_trgm", "contact_identities", "address"),
)


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC")
        )

    op.create_table(
        "canned_responses",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("shortcut", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "shortcut"),
    )
    op.create_table(
        "conversation_notes",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conversation_notes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversation_notes_conversation", ["conversation_id", "id"], unique=False
        )
    op.create_table(
        "conversation_reads",
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("last_read_message_id", ID, nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("agent_id", "conversation_id"),
    )

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversations_activity",
            ["organization_id", "state", "updated_at", "id"],
            unique=False,
        )
        batch_op.create_index(  # Mine
            "ix_conversations_assignee",
            ["organization_id", "assigned_agent_id", "state"],
            unique=False,
        )
        batch_op.create_index(  # the badge counts, from the index alone
            "ix_conversations_counts",
            ["organization_id", "state", "needs_attention", "assigned_agent_id"],
            unique=False,
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_organization", ["organization_id", "id"], unique=False)
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transitions_organization_time", ["organization_id", "created_at"], unique=False
        )

    if op.get_bind().dialect.name == "postgresql" and _trigram_available():
        for name, table, column in TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")


def _trigram_available() -> bool:
    """Create pg_trgm if this role may; a refusal is rolled back to a savepoint."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return False
    return True


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _column in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_transitions_organization_time")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_organization")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_counts")
        batch_op.drop_index("ix_conversations_assignee")
        batch_op.drop_index("ix_conversations_activity")
    op.drop_table("conversation_reads")
    with op.batch_alter_table("conversation_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_notes_conversation")
    op.drop_table("conversation_notes")
    op.drop_table("canned_responses")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("time_zone")

"""conversation_counts: the queue's badge counts kept by triggers on conversations, so a
badge costs the same at a million conversations as at a thousand

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

COLUMNS = (
    "organization_id, state, channel, team_id, label, agent_id, needs_attention, delta, folded"
)
# The conversation's columns, in the order of COLUMNS.
COUNTED = (
    "organization_id", "state", "channel", "team_id", "label", "assigned_agent_id",
    "needs_attention",
)  # fmt: skip


def _changed(distinct: str) -> str:
    """An update that moves the conversation to another combination."""
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in COUNTED)


def _insert(row: str, delta: int, false: str) -> str:
    values = ", ".join([*(f"{row}.{column}" for column in COUNTED), str(delta), false])
    return f"INSERT INTO conversation_counts ({COLUMNS}) VALUES ({values})"  # noqa: S608


POSTGRES = [
    f"""
    CREATE FUNCTION count_conversations() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN {_insert("OLD", -1, "false")}; END IF;
        IF TG_OP <> 'DELETE' THEN {_insert("NEW", 1, "false")}; END IF;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER conversations_counted AFTER INSERT OR DELETE ON conversations "
    "FOR EACH ROW EXECUTE FUNCTION count_conversations()",
    "CREATE TRIGGER conversations_recounted AFTER UPDATE ON conversations FOR EACH ROW "
    f"WHEN ({_changed('IS DISTINCT FROM')}) EXECUTE FUNCTION count_conversations()",
]
SQLITE = [
    "CREATE TRIGGER conversations_counted AFTER INSERT ON conversations "
    f"BEGIN {_insert('NEW', 1, '0')}; END",
    "CREATE TRIGGER conversations_uncounted AFTER DELETE ON conversations "
    f"BEGIN {_insert('OLD', -1, '0')}; END",
    "CREATE TRIGGER conversations_recounted AFTER UPDATE ON conversations "
    f"WHEN {_changed('IS NOT')} "
    f"BEGIN {_insert('OLD', -1, '0')}; {_insert('NEW', 1, '0')}; END",
]
BACKFILL = (
    "INSERT INTO conversation_counts (organization_id, state, channel, team_id, label, "
    "agent_id, needs_attention, delta, folded) "
    "SELECT organization_id, state, channel, team_id, label, assigned_agent_id, "
    "needs_attention, count(*), {true} FROM conversations "
    "GROUP BY organization_id, state, channel, team_id, label, assigned_agent_id, "
    "needs_attention"
)


def upgrade() -> None:
    op.create_table(
        "conversation_counts",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("label", sa.String(length=120), nullable=True),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("needs_attention", sa.Boolean(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("folded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_conversation_counts_organization", "conversation_counts", ["organization_id"]
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES if postgres else SQLITE:
        op.execute(statement)
    # In the migration's transaction, after the triggers: no change is counted twice or lost.
    op.execute(BACKFILL.format(true="true" if postgres else "1"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER conversations_recounted ON conversations")
        op.execute("DROP TRIGGER conversations_counted ON conversations")
        op.execute("DROP FUNCTION count_conversations()")
    else:
        for name in ("conversations_recounted", "conversations_uncounted", "conversations_counted"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_conversation_counts_organization", table_name="conversation_counts")
    op.drop_table("conversation_counts")

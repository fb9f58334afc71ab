"""handoff policy

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "handoff_decisions",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("ownership_version", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("fired_rule", sa.String(length=64), nullable=True),
        sa.Column("rule_results", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handoff_decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_handoff_decisions_conversation", ["conversation_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("handoff_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_handoff_decisions_conversation")
    op.drop_table("handoff_decisions")

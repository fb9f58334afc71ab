"""agents' phones for voice transfers

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "voice_agent_phones",
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("agent_id"),
    )
    with op.batch_alter_table("voice_agent_phones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_agent_phones_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("voice_agent_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_agent_phones_organization_id"))
    op.drop_table("voice_agent_phones")

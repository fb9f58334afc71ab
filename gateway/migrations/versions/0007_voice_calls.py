"""voice calls, transfer attempts and remembered answers

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "voice_calls",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("from_number", sa.String(length=64), nullable=False),
        sa.Column("to_number", sa.String(length=64), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_sequence", sa.Integer(), nullable=False),
        sa.Column("silences", sa.Integer(), nullable=False),
        sa.Column("transfer_round", sa.Integer(), nullable=False),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("offer", sa.String(length=16), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("recording_sid", sa.String(length=64), nullable=True),
        sa.Column("recording_url", sa.String(length=2000), nullable=True),
        sa.Column("recording_seconds", sa.Integer(), nullable=True),
        sa.Column("hold_started_at", WHEN, nullable=True),
        sa.Column("hold_told_attempt", sa.Integer(), nullable=False),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["account_id"], ["twilio_accounts.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_sid"),
    )
    with op.batch_alter_table("voice_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_calls_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_voice_calls_conversation_id"), ["conversation_id"], unique=False
        )
    op.create_table(
        "voice_transfer_attempts",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("call_id", ID, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("target_number", sa.String(length=64), nullable=False),
        sa.Column("target_label", sa.String(length=200), nullable=False),
        sa.Column("agent_call_sid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_sequence", sa.Integer(), nullable=False),
        sa.Column("answered_by", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("answered_at", WHEN, nullable=True),
        sa.Column("joined_at", WHEN, nullable=True),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["call_id"], ["voice_calls.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agent_call_sid"),
    )
    op.create_index("ix_voice_transfer_attempts_call", "voice_transfer_attempts", ["call_id", "id"])
    op.create_table(
        "voice_answers",
        sa.Column("id", ID, nullable=False),
        sa.Column("call_id", ID, nullable=False),
        sa.Column("request_key", sa.String(length=255), nullable=False),
        sa.Column("twiml", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["voice_calls.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id", "request_key"),
    )


def downgrade() -> None:
    op.drop_table("voice_answers")
    op.drop_index("ix_voice_transfer_attempts_call", table_name="voice_transfer_attempts")
    op.drop_table("voice_transfer_attempts")
    with op.batch_alter_table("voice_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_calls_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_voice_calls_organization_id"))
    op.drop_table("voice_calls")

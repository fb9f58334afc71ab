"""voice_answers: a row without TwiML marks a request being answered, so that a copy of it
arriving meanwhile waits for that answer instead of acting a second time

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("voice_answers") as batch:
        batch.alter_column("twiml", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM voice_answers WHERE twiml IS NULL")
    with op.batch_alter_table("voice_answers") as batch:
        batch.alter_column("twiml", existing_type=sa.Text(), nullable=False)

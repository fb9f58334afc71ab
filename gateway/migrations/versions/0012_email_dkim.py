"""email: a DKIM selector and private key per mailbox, for signing its replies

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "email_mailboxes", sa.Column("dkim_selector", sa.String(length=63), nullable=True)
    )
    op.add_column("email_mailboxes", sa.Column("dkim_private_key", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("email_mailboxes") as batch:
        batch.drop_column("dkim_private_key")
        batch.drop_column("dkim_selector")

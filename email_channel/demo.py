"""The demo organization's mailbox, so a new user can mail the demo with one command and
watch the AI answer in the same thread."""

from __future__ import annotations

from sqlalchemy import select

from email_channel.mailboxes import add_mailbox
from email_channel.models import Mailbox
from gateway.db import Database
from gateway.models import Organization

DEMO_MAILBOX = "support@demo.switchboard.test"


async def ensure_demo_mailbox(db: Database, slug: str = "demo") -> bool:
    """Add the demo mailbox when the demo organization lacks it; returns whether it did."""
    async with db.transaction() as session:
        organization_id = await session.scalar(
            select(Organization.id).where(Organization.slug == slug)
        )
        exists = await session.scalar(select(Mailbox.id).where(Mailbox.address == DEMO_MAILBOX))
    if organization_id is None or exists is not None:
        return False
    await add_mailbox(db, organization_id, DEMO_MAILBOX, display_name="Demo Shop Support")
    return True

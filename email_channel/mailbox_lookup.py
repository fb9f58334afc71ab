"""Finding the mailbox a command or an admin names by its address: case and surrounding
spaces do not matter, and an admin's lookup is kept to their own organization's
mailboxes, so another organization's address reads as unknown."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from email_channel.models import Mailbox
from gateway.errors import NotFound


async def mailbox_named(
    session: AsyncSession, address: str, organization_id: int | None = None
) -> Mailbox:
    """The mailbox at `address` (of `organization_id` when given); NotFound otherwise."""
    query = select(Mailbox).where(Mailbox.address == address.strip().lower())
    if organization_id is not None:
        query = query.where(Mailbox.organization_id == organization_id)
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"no mailbox {address}")
    return row

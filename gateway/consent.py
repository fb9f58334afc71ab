"""Consent: whether an address may still be messaged, and why not. Opting out sets
`ContactIdentity.opted_out_at`, the flag every send checks (delivery and the channel
adapters), and records the reason in `contact_consents` for the agents. A keyword change
carries the id of the inbound message that made it, so a late retry of an older message
never undoes a newer one; a provider's refusal (such as Twilio's error 21610) always
opts out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import insert_ignoring_conflict
from gateway.models import ContactConsent, ContactIdentity, utcnow


@dataclass(frozen=True, slots=True)
class ConsentChange:
    organization_id: int
    kind: str
    address: str
    opted_out: bool
    source: str  # keyword | opt_out_type | provider_error
    detail: str
    message_id: int | None = None


async def consent_for(
    session: AsyncSession, organization_id: int, kind: str, address: str, *, locked: bool = False
) -> ContactConsent | None:
    """The address's consent record; `locked`: read afresh and held (on PostgreSQL) until
    the transaction ends."""
    query = select(ContactConsent).where(
        ContactConsent.organization_id == organization_id,
        ContactConsent.kind == kind,
        ContactConsent.address == address,
    )
    if locked:
        query = query.with_for_update().execution_options(populate_existing=True)
    found: ContactConsent | None = await session.scalar(query)
    return found


async def opted_out_at(
    session: AsyncSession, organization_id: int, kind: str, address: str
) -> datetime | None:
    found: datetime | None = await session.scalar(
        select(ContactIdentity.opted_out_at).where(
            ContactIdentity.organization_id == organization_id,
            ContactIdentity.kind == kind,
            ContactIdentity.address == address,
        )
    )
    return found


async def apply(session: AsyncSession, change: ConsentChange) -> bool:
    """Record the change; returns whether the address's consent actually changed."""
    now = utcnow()
    await insert_ignoring_conflict(
        session,
        ContactConsent,
        {
            "organization_id": change.organization_id,
            "kind": change.kind,
            "address": change.address,
            "opted_out": change.opted_out,
            "source": change.source,
            "detail": change.detail,
            "message_id": change.message_id,
            "changed_at": now,
        },
        ("organization_id", "kind", "address"),
    )
    # Locked (on PostgreSQL) until the transaction ends: a STOP and a START applied at the
    # same moment take turns, the second reading what the first wrote, so the newer wins.
    record = await consent_for(
        session, change.organization_id, change.kind, change.address, locked=True
    )
    assert record is not None
    newer = (
        change.message_id is None
        or record.message_id is None
        or change.message_id >= record.message_id
    )
    if not newer:
        return False
    was_out = (
        await opted_out_at(session, change.organization_id, change.kind, change.address) is not None
    )
    record.opted_out = change.opted_out
    record.source = change.source
    record.detail = change.detail
    record.message_id = change.message_id if change.message_id is not None else record.message_id
    record.changed_at = now
    identity = update(ContactIdentity).where(
        ContactIdentity.organization_id == change.organization_id,
        ContactIdentity.kind == change.kind,
        ContactIdentity.address == change.address,
    )
    if change.opted_out and not was_out:
        await session.execute(identity.values(opted_out_at=now))
    elif not change.opted_out and was_out:
        await session.execute(identity.values(opted_out_at=None))
    return was_out != change.opted_out

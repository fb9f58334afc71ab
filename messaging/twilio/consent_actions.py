"""Applying consent from Twilio traffic: a STOP / START keyword (or Twilio's `OptOutType`)
from the customer, and Twilio's error 21610, which means the customer had opted out of
this sender on Twilio's side. Every change tells the live pages, so the queue page shows
at once why nothing more can be sent."""

from __future__ import annotations

from gateway import consent
from gateway.consent import ConsentChange
from gateway.events import Event
from gateway.runtime import Services
from messaging.twilio.errors import OPTED_OUT_CODE, describe


async def publish(services: Services, change: ConsentChange, conversation_id: int) -> None:
    await services.events.publish(
        Event(
            "consent",
            change.organization_id,
            conversation_id,
            {
                "kind": change.kind,
                "address": change.address,
                "opted_out": change.opted_out,
                "reason": change.detail,
            },
        )
    )


async def provider_opt_out(
    services: Services, organization_id: int, kind: str, address: str, conversation_id: int
) -> None:
    """Twilio refused the address with error 21610: record it as opted out."""
    change = ConsentChange(
        organization_id=organization_id,
        kind=kind,
        address=address,
        opted_out=True,
        source="provider_error",
        detail=f"Twilio refused to message them: {describe(OPTED_OUT_CODE)}",
    )
    async with services.db.transaction() as session:
        changed = await consent.apply(session, change)
    if changed:
        await publish(services, change, conversation_id)

"""Whether a reply can reach the customer of a conversation right now, and if not, why:
an address that opted out (STOP, or the provider refusing it) takes nothing more, and
WhatsApp allows free-form messages only within 24 hours of the customer's last message
(the customer-care window). Agents' replies are checked before anything is stored, and the
queue page shows the same reason next to the composer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.consent import consent_for, opted_out_at
from gateway.db import Database
from gateway.errors import Conflict
from gateway.models import Conversation, utcnow

WHATSAPP_WINDOW = timedelta(hours=24)
OPTED_OUT = "opted_out"
WINDOW_CLOSED = "outside_whatsapp_window"


@dataclass(frozen=True, slots=True)
class Unreachable:
    code: str  # opted_out | outside_whatsapp_window
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "reason": self.reason}


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def window_closes_at(conversation: Conversation) -> datetime | None:
    """When the WhatsApp customer-care window closes (None: never opened)."""
    if conversation.last_customer_at is None:
        return None
    return conversation.last_customer_at + WHATSAPP_WINDOW


async def why_unreachable(
    session: AsyncSession, conversation: Conversation, *, now: datetime | None = None
) -> Unreachable | None:
    """None when a free-form message can reach the customer now."""
    organization_id, kind, address = (
        conversation.organization_id,
        conversation.address_kind,
        conversation.address,
    )
    since = await opted_out_at(session, organization_id, kind, address)
    if since is not None:
        record = await consent_for(session, organization_id, kind, address)
        how = record.detail if record is not None and record.opted_out else "they opted out"
        return Unreachable(
            OPTED_OUT,
            f"The customer opted out of messages on {_when(since)} ({how}). Nothing more "
            "can be sent to them until they opt back in by replying START.",
        )
    if kind == "whatsapp":
        closes = window_closes_at(conversation)
        if closes is None or closes <= (now or utcnow()):
            last = (
                f"last wrote on {_when(conversation.last_customer_at)}"
                if conversation.last_customer_at is not None
                else "has not written yet"
            )
            return Unreachable(
                WINDOW_CLOSED,
                f"The customer {last}. WhatsApp allows free-form messages only within 24 "
                "hours of the customer's last message, so no reply can be sent until they "
                "write again.",
            )
    return None


async def unreachable_reason(session: AsyncSession, conversation: Conversation) -> str | None:
    """The reason, as the queue page shows it, or None."""
    found = await why_unreachable(session, conversation)
    return None if found is None else found.reason


async def ensure_reachable(session: AsyncSession, conversation: Conversation) -> None:
    """Raise a Conflict with the reason when a reply cannot reach the customer."""
    found = await why_unreachable(session, conversation)
    if found is not None:
        raise Conflict(found.reason, code=found.code)


async def check_reply(db: Database, conversation: Conversation) -> None:
    """`ensure_reachable` in a read-only transaction of its own, for callers that must
    refuse before they write anything."""
    async with db.transaction() as session:
        await ensure_reachable(session, conversation)

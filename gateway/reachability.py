"""Whether a reply can reach the customer of a conversation right now, and if not, why:
an address that opted out (STOP, or the provider refusing it) takes nothing more on any
channel, and a channel may declare a rule of its own (`ChannelSpec.reachability`, such as
WhatsApp's 24-hour window). It is checked twice, by the same function: before an agent's
reply is stored (`check_reply`, so nothing is claimed or written for a reply that cannot
go out) and at send, by `ReachabilityGuard`, which stands in front of every adapter the
registry hands out, so no caller can send past it. The queue page shows the same reason
next to the composer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels import Channel, ChannelRegistry
from gateway.consent import consent_for, opted_out_at
from gateway.db import Database
from gateway.errors import Conflict, PermanentDeliveryError
from gateway.messages import InboundMessage, OutboundMessage, SendResult
from gateway.models import Conversation, utcnow

OPTED_OUT = "opted_out"


@dataclass(frozen=True, slots=True)
class Unreachable:
    code: str  # opted_out, or the code of the channel's own rule
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "reason": self.reason}


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


async def why_unreachable(
    session: AsyncSession,
    conversation: Conversation,
    channels: ChannelRegistry,
    *,
    now: datetime | None = None,
) -> Unreachable | None:
    """None when a free-form message can reach the customer now."""
    organization_id, kind, address = (
        conversation.organization_id,
        conversation.address_kind,
        conversation.address,
    )
    spec = channels.spec(conversation.channel)
    since = (
        await opted_out_at(session, organization_id, kind, address)
        if spec.honours_opt_out
        else None
    )
    if since is not None:
        record = await consent_for(session, organization_id, kind, address)
        how = record.detail if record is not None and record.opted_out else "they opted out"
        wording = spec.opted_out_wording.format(address=address, since=when(since), how=how)
        return Unreachable(OPTED_OUT, wording)
    rule = spec.reachability
    return None if rule is None else rule(conversation, now or utcnow())


async def unreachable_reason(
    session: AsyncSession, conversation: Conversation, channels: ChannelRegistry
) -> str | None:
    """The reason, as the queue page shows it, or None."""
    found = await why_unreachable(session, conversation, channels)
    return None if found is None else found.reason


async def check_reply(db: Database, conversation: Conversation, channels: ChannelRegistry) -> None:
    """Raise a Conflict with the reason when a reply cannot reach the customer, in a
    read-only transaction of its own, for callers that must refuse before they write."""
    async with db.transaction() as session:
        found = await why_unreachable(session, conversation, channels)
    if found is not None:
        raise Conflict(found.reason, code=found.code)


class ReachabilityGuard:
    """A channel adapter behind the check at send: a message the customer cannot receive
    now raises PermanentDeliveryError (with the reason's code as `provider_code`) and never
    reaches the provider."""

    def __init__(self, channel: Channel, db: Database, channels: ChannelRegistry) -> None:
        self.channel = channel
        self.name = channel.name
        self._db = db
        self._channels = channels

    def parse(self, organization_id: int, payload: Mapping[str, Any]) -> list[InboundMessage]:
        return self.channel.parse(organization_id, payload)

    async def send(self, message: OutboundMessage) -> SendResult:
        async with self._db.transaction() as session:
            conversation = await session.get(Conversation, message.conversation_id)
            blocked = (
                None
                if conversation is None
                else await why_unreachable(session, conversation, self._channels)
            )
        if blocked is not None:
            raise PermanentDeliveryError(blocked.reason, provider_code=blocked.code)
        return await self.channel.send(message)

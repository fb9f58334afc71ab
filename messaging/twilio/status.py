"""Status callbacks: Twilio reports each part's progress (queued, sent, delivered,
undelivered, failed, read) with an error code when it failed. The part moves forward
only, the message takes the combined state of its parts, the live pages hear about it,
and a failure marks the conversation for attention with a sentence an agent can act on.
Error 21610 also records that the customer opted out. Callbacks of one message are applied
one at a time, however many arrive together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.attention import mark_needs_attention
from gateway.delivery import not_delivered
from gateway.errors import BadInput
from gateway.events import Event
from gateway.models import Conversation, Message, utcnow
from gateway.runtime import Services
from messaging.twilio import states
from messaging.twilio.consent_actions import provider_opt_out
from messaging.twilio.errors import OPTED_OUT_CODE, reference, sentence
from messaging.twilio.models import TwilioMessagePart


async def apply_callback(services: Services, part_id: int, params: Mapping[str, str]) -> str:
    """Apply one verified callback; returns the message's state ("stale" when the callback
    is older than what is known)."""
    new = states.from_twilio(params.get("MessageStatus") or params.get("SmsStatus"))
    if new is None:
        raise BadInput("the callback has no known MessageStatus", code="bad_status")
    sid = params.get("MessageSid") or params.get("SmsSid") or None
    code = (params.get("ErrorCode") or "").strip()[:16] or None
    try:
        async with services.db.transaction() as session:
            message_id = await session.scalar(
                select(TwilioMessagePart.message_id).where(TwilioMessagePart.id == part_id)
            )
            assert message_id is not None
            # One callback of a message at a time (PostgreSQL; SQLite takes one writer at
            # a time anyway): the next reads what this one wrote, its parts' states too.
            message = await session.get(Message, message_id, with_for_update=True)
            assert message is not None
            part = await session.get(TwilioMessagePart, part_id)
            assert part is not None
            if sid and part.sid and part.sid != sid:
                raise BadInput("the MessageSid does not belong to this message", code="bad_sid")
            conversation = await session.get(Conversation, message.conversation_id)
            assert conversation is not None
            if sid and part.sid is None:
                part.sid = sid  # the callback beat the REST answer
            outcome = await _advance(session, part, message, new, code)
            where = (message.organization_id, conversation.id, message.id)
            kind, address = conversation.address_kind, conversation.address
    except IntegrityError:
        raise BadInput("the MessageSid belongs to another message", code="bad_sid") from None
    organization_id, conversation_id, message_id = where
    if outcome.changed:
        await services.events.publish(
            Event(
                "delivery",
                organization_id,
                conversation_id,
                {"message_id": message_id, "status": outcome.state, "error": outcome.error},
            )
        )
    if outcome.changed and outcome.error is not None:
        await mark_needs_attention(services, conversation_id, not_delivered(outcome.error[1]))
    if code == OPTED_OUT_CODE:
        await provider_opt_out(services, organization_id, kind, address, conversation_id)
    return outcome.state


@dataclass(frozen=True, slots=True)
class Outcome:
    state: str
    changed: bool
    error: tuple[str, str] | None = None


async def _advance(
    session: AsyncSession, part: TwilioMessagePart, message: Message, new: str, code: str | None
) -> Outcome:
    if not states.advances(part.status, new):
        return Outcome("stale", changed=False)
    part.status = new
    if new in states.FAILURES:
        part.error_code = code
    part.updated_at = utcnow()
    await session.flush()
    combined = states.combined(
        await session.scalars(
            select(TwilioMessagePart.status).where(TwilioMessagePart.message_id == message.id)
        )
    )
    if not states.advances(message.delivery_status, combined):
        return Outcome(message.delivery_status, changed=False)
    message.delivery_status = combined
    message.updated_at = utcnow()
    if combined not in states.FAILURES:
        return Outcome(combined, changed=True)
    reported = f"Twilio reported the message {combined}"
    error = (code or combined, sentence(code, reported))
    message.error_code, message.error_message = error
    message.error_detail = reference(code, reported)
    return Outcome(combined, changed=True, error=error)

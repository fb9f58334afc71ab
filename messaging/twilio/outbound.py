"""Sending one stored message through Twilio, from the business number the conversation
came in on (delivery has already checked that the customer can be reached: not opted
out, within WhatsApp's window). A long text goes out in parts of at
most 1,600 characters, each recorded in `twilio_message_parts` with its own status
callback URL: a retried delivery skips the parts Twilio already accepted, and callbacks
find their part even before the REST answer has been recorded."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import insert_ignoring_conflict
from gateway.errors import PermanentDeliveryError
from gateway.media import key_of, public_link
from gateway.messages import OutboundMessage, SendResult
from gateway.models import Conversation, Message, utcnow
from gateway.runtime import Services
from messaging.twilio import rest, states
from messaging.twilio.addresses import on_channel
from messaging.twilio.consent_actions import provider_opt_out
from messaging.twilio.errors import OPTED_OUT_CODE
from messaging.twilio.lines import Line, find_for_sending
from messaging.twilio.models import TwilioMessagePart
from messaging.twilio.segments import segment_info
from messaging.twilio.splitting import split_text

STATUS_PATH = "/twilio/sms/status"


@dataclass(frozen=True, slots=True)
class Part:
    row_id: int
    index: int
    text: str
    sid: str | None
    status: str


@dataclass(frozen=True, slots=True)
class Plan:
    line: Line
    to: str
    from_: str
    media_urls: tuple[str, ...]
    parts: tuple[Part, ...]


async def _service_of(session: AsyncSession, conversation_id: int) -> str | None:
    """The Messaging Service the customer's latest message came through, if any."""
    meta = await session.scalar(
        select(Message.meta)
        .where(Message.conversation_id == conversation_id, Message.direction == "inbound")
        .order_by(Message.id.desc())
        .limit(1)
    )
    service = ((meta or {}).get("twilio") or {}).get("messaging_service_sid")
    return str(service) if service else None


async def _plan(services: Services, channel: str, message: OutboundMessage) -> Plan:
    texts = split_text(message.text)
    media = tuple(
        public_link(services.settings, key) if (key := key_of(item.url)) else item.url
        for item in message.attachments
    )
    if not texts and not media:
        raise PermanentDeliveryError("the message is empty", provider_code="empty_message")
    texts = texts or [""]
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        number = conversation.thread_key
        line = await find_for_sending(
            session, message.organization_id, number, await _service_of(session, conversation.id)
        )
        if line is None:
            raise PermanentDeliveryError(
                f"the business number {number} is no longer registered; register it again "
                "with `switchboard number add`",
                provider_code="number_not_registered",
            )
        for index in range(len(texts)):
            await insert_ignoring_conflict(
                session,
                TwilioMessagePart,
                {
                    "organization_id": message.organization_id,
                    "message_id": message.message_id,
                    "account_id": line.account_id,
                    "part": index,
                    "status": "pending",
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                },
                ("message_id", "part"),
            )
        rows = (
            await session.scalars(
                select(TwilioMessagePart)
                .where(TwilioMessagePart.message_id == message.message_id)
                .order_by(TwilioMessagePart.part)
            )
        ).all()
        stored = await session.get(Message, message.message_id)
        assert stored is not None
        # what the message cost in SMS terms, for the agents' view of it
        sms = {"parts": len(texts), **segment_info(message.text).to_json()}
        stored.meta = {**stored.meta, "sms": sms}
    parts = tuple(
        Part(row.id, row.part, texts[row.part], row.sid, row.status)
        for row in rows
        if row.part < len(texts)
    )
    to = on_channel(channel, message.recipient_address)
    return Plan(line, to, on_channel(channel, number), media, parts)


async def _record(services: Services, part: Part, created: rest.Created) -> None:
    status = states.from_twilio(created.status) or "queued"
    async with services.db.transaction() as session:
        # locked: a status callback for the part may be writing it right now
        row = await session.get(TwilioMessagePart, part.row_id, with_for_update=True)
        assert row is not None
        row.sid = row.sid or created.sid
        if states.advances(row.status, status):
            row.status = status


async def _fail(services: Services, part: Part, code: str | None) -> None:
    async with services.db.transaction() as session:
        await session.execute(
            update(TwilioMessagePart)
            .where(TwilioMessagePart.id == part.row_id)
            .values(status="failed", error_code=(code or "")[:16] or None, updated_at=utcnow())
        )


async def _result(services: Services, message_id: int) -> SendResult:
    """What the parts say now (status callbacks may already have moved them on)."""
    async with services.db.transaction() as session:
        rows = (
            await session.execute(
                select(TwilioMessagePart.sid, TwilioMessagePart.status)
                .where(TwilioMessagePart.message_id == message_id)
                .order_by(TwilioMessagePart.part)
            )
        ).all()
    state = states.combined(status for _, status in rows)
    first_sid = rows[0][0] if rows else None
    if state in ("delivered", "read"):
        return SendResult(first_sid, "delivered")
    return SendResult(first_sid, "sent" if state == "sent" else "queued")


async def send(services: Services, channel: str, message: OutboundMessage) -> SendResult:
    """Send every part not yet accepted by Twilio; raises Transient/PermanentDeliveryError."""
    plan = await _plan(services, channel, message)
    credentials = rest.Credentials(plan.line.account_sid, plan.line.auth_token)
    callback_base = services.settings.resolved_public_url + STATUS_PATH
    for part in plan.parts:
        if part.sid is not None:
            continue  # accepted on an earlier attempt
        try:
            created = await rest.create_message(
                services.settings.twilio_api_base_url,
                credentials,
                to=plan.to,
                from_=plan.from_,
                body=part.text,
                media_urls=plan.media_urls if part.index == 0 else (),
                status_callback=f"{callback_base}?part={part.row_id}",
                messaging_service_sid=plan.line.messaging_service_sid,
            )
        except PermanentDeliveryError as error:
            await _fail(services, part, error.provider_code)
            if error.provider_code == OPTED_OUT_CODE:
                await provider_opt_out(
                    services,
                    message.organization_id,
                    message.recipient_kind,
                    message.recipient_address,
                    message.conversation_id,
                )
            raise
        await _record(services, part, created)
    return await _result(services, message.message_id)

"""Bounces (delivery status notifications) never open a conversation. Each is stored once
(keyed like any mail) and matched to the exact outbound message it reports on: by the
signed VERP address it was sent back to, else by the Message-ID of the returned copy. A
permanent failure marks that message failed, with its status in words
(`email_channel.refusals`) and the server's own text as the detail; the conversation as
needing attention; and the address as undeliverable (later sends are refused until the
customer writes again). A delay only records the report."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from email_channel import tokens
from email_channel.models import Bounce, MailId
from email_channel.parsed import ParsedMail
from email_channel.refusals import bounce_sentence
from gateway.consent import ConsentChange, apply
from gateway.db import insert_ignoring_conflict
from gateway.models import Conversation, Message, utcnow

log = logging.getLogger(__name__)


async def record_bounce(
    session: AsyncSession,
    organization_id: int,
    mail: ParsedMail,
    secret: str,
    envelope_recipients: list[str],
) -> int | None:
    """Store the bounce and apply it; returns the outbound message id it matched."""
    message = await _matched(session, organization_id, mail, secret, envelope_recipients)
    verdict = mail.verdict
    status = verdict.status or ""
    permanent = status.startswith("5") or (not status and verdict.action == "failed")
    created = await insert_ignoring_conflict(
        session,
        Bounce,
        {
            "organization_id": organization_id,
            "provider_id": mail.provider_id(),
            "message_id": message.id if message is not None else None,
            "recipient": (verdict.bounced_recipients or ("",))[0][:320],
            "status": status[:16],
            "action": (verdict.action or "")[:16],
            "diagnostic": verdict.diagnostic,
            "created_at": utcnow(),
        },
        ("provider_id",),
    )
    if created is None or message is None:
        if message is None:
            log.info("a bounce matched none of our messages (status %s)", status or "unknown")
        return None if message is None else message.id
    if not permanent:
        return message.id
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    words = bounce_sentence(status or None, verdict.diagnostic)
    said = verdict.diagnostic[:500] or "no explanation"
    message.delivery_status = "failed"
    message.error_code = status or "bounced"
    message.error_message = words
    message.error_detail = f"Status {status}: {said}" if status else said
    conversation.needs_attention = True
    conversation.attention_reason = f"Our email to {conversation.address} bounced: {words}."
    await apply(
        session,
        ConsentChange(
            organization_id, "email", conversation.address, True, "provider_error", words
        ),
    )
    return message.id


async def _matched(
    session: AsyncSession,
    organization_id: int,
    mail: ParsedMail,
    secret: str,
    envelope_recipients: list[str],
) -> Message | None:
    for address in [*envelope_recipients, *mail.recipients]:
        number = tokens.token_in_address(secret, address, "b")
        if number is not None:
            found = await session.get(Message, number)
            if found is not None and found.organization_id == organization_id:
                return found
    returned = mail.verdict.returned_message_id
    if returned:
        found_id = await session.scalar(
            select(MailId.message_id)
            .join(Message, Message.id == MailId.message_id)
            .where(
                MailId.organization_id == organization_id,
                MailId.header_id == returned,
                Message.direction == "outbound",
            )
        )
        if found_id is not None:
            return await session.get(Message, found_id)
    return None

"""Sending one stored reply by email. It reads what the reply answers (the customer mail
it was written for, else the latest, and the mailbox it came to), composes the mail,
indexes its Message-ID for the customer's next reply before sending, and hands it to the
core's mail transport (`gateway.mail`) with a signed VERP envelope sender, so a bounce
finds this exact message. A `4xx` answer is retried by the delivery job; a `5xx` fails the
message and marks the conversation (either worded from the server's codes by
`email_channel.refusals`); when only some recipients are refused, the refusals are recorded
on the message. The Cc is the agent's own choice when they made one, else
the customer's. A mailbox with a DKIM key has its replies signed here, on the exact bytes
that are sent."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from email_channel import tokens
from email_channel.compose import Parent, compose, our_message_id
from email_channel.dkim_config import dkim_key
from email_channel.dkim_signing import DkimKey, sign
from email_channel.mailboxes import MailboxInfo, info
from email_channel.models import Mailbox, MailId
from email_channel.refusals import translated
from email_channel.threads import CHANNEL
from gateway.errors import DeliveryError, PermanentDeliveryError
from gateway.mail import send_mail
from gateway.messages import OutboundMessage, SendResult
from gateway.models import Message
from gateway.runtime import Services

log = logging.getLogger(__name__)


async def send(services: Services, outbound: OutboundMessage) -> SendResult:
    secret = services.settings.require_secret_key()
    parent, mailbox, key = await _context(services, outbound)
    if mailbox is None:
        raise PermanentDeliveryError(
            "this organization has no mailbox to send email from", provider_code="no_mailbox"
        )
    own = {mailbox.address, outbound.recipient_address}
    if outbound.cc is None:  # the customer's Cc, without our own (plus) addresses
        cc = [address for address in parent.cc if address not in own and "+" not in address]
    else:  # the agent's own choice, without our mailbox and the customer
        cc = [address for address in outbound.cc if tokens.base_address(address) not in own]
    message = compose(
        outbound,
        parent,
        mailbox=mailbox.address,
        display_name=mailbox.display_name,
        secret=secret,
        cc=cc,
    )
    header_id = our_message_id(outbound, mailbox.domain)
    await _index(
        services, outbound, header_id, str(message["Subject"]), str(message.get("References", ""))
    )
    envelope = tokens.plus_address(mailbox.address, secret, "b", outbound.message_id)
    recipients = [outbound.recipient_address, *cc]
    payload = message if key is None else sign(message, key)
    try:
        refused = await send_mail(
            services.settings, payload, sender=envelope, recipients=recipients
        )
    except DeliveryError as error:  # in words for the desk, the server's own text kept
        raise translated(error) from error
    if refused:
        await _record_refusals(services, outbound.message_id, refused)
    return SendResult(header_id, "sent")


async def _context(
    services: Services, outbound: OutboundMessage
) -> tuple[Parent, MailboxInfo | None, DkimKey | None]:
    async with services.db.transaction() as session:
        answered = (
            select(Message.meta, Message.text, Message.created_at)
            .where(
                Message.conversation_id == outbound.conversation_id,
                Message.direction == "inbound",
                Message.channel == CHANNEL,
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
        if outbound.in_reply_to:  # the customer mail this reply was written for
            answered = answered.where(Message.provider_message_id == outbound.in_reply_to)
        rows = (await session.execute(answered)).first()
        email: dict[str, Any] = {}
        parent = Parent()
        if rows is not None:
            email = dict((rows[0] or {}).get("email") or {})
            parent = Parent(
                message_id=email.get("message_id"),
                references=list(email.get("references") or []),
                subject=str(email.get("subject") or ""),
                sender_name=None,
                text=str(rows[1] or ""),
                sent_at=rows[2].strftime("%a, %d %b %Y %H:%M UTC") if rows[2] else "",
                cc=[str(address) for address in email.get("cc") or []],
            )
        query = select(Mailbox).where(Mailbox.organization_id == outbound.organization_id)
        named = email.get("mailbox")
        row = None
        if named:
            row = await session.scalar(query.where(Mailbox.address == named))
        row = row or await session.scalar(query.order_by(Mailbox.id).limit(1))
    if row is None:
        return parent, None, None
    return parent, info(row), dkim_key(row)


async def _index(
    services: Services, outbound: OutboundMessage, header_id: str, subject: str, refs: str
) -> None:
    # Only one delivery of a message runs at a time (it holds `sending`), so a retry
    # finds the row its first attempt wrote.
    async with services.db.transaction() as session:
        if await session.get(MailId, outbound.message_id) is None:
            session.add(
                MailId(
                    message_id=outbound.message_id,
                    organization_id=outbound.organization_id,
                    conversation_id=outbound.conversation_id,
                    header_id=header_id,
                    subject=subject,
                    references=refs,
                )
            )


async def _record_refusals(services: Services, message_id: int, refused: dict[str, str]) -> None:
    log.warning("message %s: %d recipient(s) refused", message_id, len(refused))
    async with services.db.transaction() as session:
        message = await session.get(Message, message_id)
        if message is None:
            return
        meta = dict(message.meta or {})
        meta["refused_recipients"] = refused
        await session.execute(update(Message).where(Message.id == message_id).values(meta=meta))

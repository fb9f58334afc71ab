"""Sending one stored reply by email. It reads what the reply answers (the customer's
latest mail in the conversation, and the mailbox it came to), composes the mail, indexes
its Message-ID for the customer's next reply before sending, and hands it to SMTP with a
signed VERP envelope sender, so a bounce finds this exact message. A `4xx` answer is
retried by the delivery job; a `5xx` fails the message and marks the conversation; when
only some recipients are refused, the refusals are recorded on the message."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from sqlalchemy import select, update

from email_channel import tokens
from email_channel.compose import Parent, compose, our_message_id
from email_channel.mailboxes import MailboxInfo, info
from email_channel.models import Mailbox, MailId
from email_channel.threads import CHANNEL
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.messages import OutboundMessage, SendResult
from gateway.models import Message
from gateway.runtime import Services

log = logging.getLogger(__name__)


async def send(services: Services, outbound: OutboundMessage) -> SendResult:
    secret = services.settings.require_secret_key()
    parent, mailbox = await _context(services, outbound)
    if mailbox is None:
        raise PermanentDeliveryError(
            "this organization has no mailbox to send email from", provider_code="no_mailbox"
        )
    own = {mailbox.address, outbound.recipient_address}
    cc = [address for address in parent.cc if address not in own and "+" not in address]
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
    refused = await transmit(services, message, envelope, recipients)
    if refused:
        await _record_refusals(services, outbound.message_id, refused)
    return SendResult(header_id, "sent")


async def transmit(
    services: Services, message: Any, envelope_from: str, recipients: list[str]
) -> dict[str, str]:
    """Hand the mail to the configured SMTP server; returns the refused recipients when
    only some were refused. Raises Transient/PermanentDeliveryError."""
    if services.settings.smtp_url is None:
        raise PermanentDeliveryError(
            "no outgoing mail server is configured (SWITCHBOARD_SMTP_URL)", provider_code="no_smtp"
        )
    url = urlsplit(services.settings.smtp_url.get_secret_value())
    implicit = url.scheme == "smtps"
    starttls = parse_qs(url.query).get("starttls", ["auto"])[-1].lower()
    try:
        errors, _reply = await aiosmtplib.send(
            message,
            sender=envelope_from,
            recipients=recipients,
            hostname=url.hostname,
            port=url.port or (465 if implicit else 25),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=implicit,
            start_tls=False if implicit else {"true": True, "false": False}.get(starttls),
            timeout=30,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [refusal.code for refusal in exc.recipients]
        reason = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        if any(code < 500 for code in codes):
            raise TransientDeliveryError(f"recipients refused for now: {reason}") from exc
        raise PermanentDeliveryError(
            f"the mail server refused the recipient: {reason}", provider_code=str(max(codes))
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code < 500:
            raise TransientDeliveryError(f"mail server said {exc.code} {exc.message}") from exc
        raise PermanentDeliveryError(
            f"the mail server refused the mail: {exc.code} {exc.message}",
            provider_code=str(exc.code),
        ) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(f"could not reach the mail server: {exc}") from exc
    return {address: f"{reply.code} {reply.message}" for address, reply in errors.items()}


async def _context(
    services: Services, outbound: OutboundMessage
) -> tuple[Parent, MailboxInfo | None]:
    async with services.db.transaction() as session:
        rows = (
            await session.execute(
                select(Message.meta, Message.text, Message.created_at)
                .where(
                    Message.conversation_id == outbound.conversation_id,
                    Message.direction == "inbound",
                    Message.channel == CHANNEL,
                )
                .order_by(Message.id.desc())
                .limit(1)
            )
        ).first()
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
    return parent, None if row is None else info(row)


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

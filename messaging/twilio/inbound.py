"""An incoming SMS, MMS or WhatsApp message, from a verified webhook to intake and what
follows at the edge. The conversation's thread is the business number the customer wrote
to, so replies leave from that same number. Consent keywords (STOP, START, HELP and their
synonyms) are stored like any message but flagged `no_reply`, so the AI never answers
them: STOP and START change consent at once (Twilio itself confirms them to the customer
on long codes; a repeat applies them again), HELP is answered with the organization's help
text, stored in the transaction that stores the HELP itself. Media items are listed
on the message at once and fetched by a job; a `NumMedia` that does not match the media
URLs present never costs the customer their text."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rq import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import consent
from gateway.consent import ConsentChange
from gateway.errors import BadInput
from gateway.intake import Intake, Received, WithinIntake
from gateway.messages import Attachment, InboundMessage
from gateway.models import Conversation, Organization
from gateway.org_settings import OrganizationSettings
from gateway.outbound import queue_outbound
from gateway.queues import INTAKE
from gateway.runtime import Services
from messaging.twilio.addresses import ADDRESS_KIND, parse_address
from messaging.twilio.consent_actions import publish
from messaging.twilio.keywords import classify

FETCH_MEDIA = "messaging.twilio.jobs.fetch_media"
FETCH_RETRY = Retry(max=4, interval=[5, 30, 120, 600])
MAX_MEDIA = 10  # Twilio's limit per message
MAX_MEDIA_URL_CHARS = 2000
log = logging.getLogger(__name__)


def _media(payload: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """The media items the webhook lists. `NumMedia` is only a hint: a count that does
    not match the `MediaUrl<n>` fields present (or is not a number) must not cost the
    customer their text, so every well-formed `MediaUrl0` … `MediaUrl9` is taken, and
    the mismatch is logged."""
    items = []
    for index in range(MAX_MEDIA):
        url = str(payload.get(f"MediaUrl{index}") or "")
        if not url.startswith(("https://", "http://")) or len(url) > MAX_MEDIA_URL_CHARS:
            continue
        content_type = str(payload.get(f"MediaContentType{index}") or "application/octet-stream")
        items.append(Attachment(url=url, content_type=content_type[:128]))
    claimed = str(payload.get("NumMedia") or "0").strip()
    if claimed != str(len(items)):
        log.warning(
            "message %s: NumMedia says %r but %d media URL(s) were found; keeping those",
            str(payload.get("MessageSid") or "")[:64],
            claimed[:20],
            len(items),
        )
    return tuple(items)


def parse_webhook(channel: str, organization_id: int, payload: Mapping[str, Any]) -> InboundMessage:
    """One verified webhook's form as an `InboundMessage` on `channel`."""
    sid = str(payload.get("MessageSid") or payload.get("SmsSid") or "").strip()
    sender = parse_address(str(payload.get("From") or ""))
    business = parse_address(str(payload.get("To") or ""))
    if not sid or not sender.number or not business.number:
        raise BadInput("a message webhook needs MessageSid, From and To")
    if len(sid) > 64 or len(sender.number) > 64:
        raise BadInput("MessageSid or From is too long")
    body = str(payload.get("Body") or "")
    attachments = _media(payload)
    meta: dict[str, Any] = {
        "twilio": {
            "account_sid": str(payload.get("AccountSid") or ""),
            "to": business.number,
            "messaging_service_sid": str(payload.get("MessagingServiceSid") or "") or None,
        }
    }
    if attachments:
        meta["media"] = [{"status": "pending", "note": None} for _ in attachments]
    keyword = classify(body, str(payload.get("OptOutType") or "") or None)
    if keyword is not None:
        action, word = keyword
        meta.update(keyword=word, consent=action)
        meta["opt_out_type"] = bool(payload.get("OptOutType"))
    return InboundMessage(
        organization_id=organization_id,
        channel=channel,
        sender_kind=ADDRESS_KIND[channel],
        sender_address=sender.number,
        sender_name=str(payload.get("ProfileName") or "")[:200] or None,
        text=body,
        provider_message_id=sid,
        thread_key=business.number,
        attachments=attachments,
        no_reply=keyword is not None,
        meta=meta,
    )


async def receive(services: Services, intake: Intake, inbound: InboundMessage) -> Received:
    """Store one verified message and do what follows it. A HELP's answer is stored in the
    message's own transaction, so both commit or neither does: a request that dies in
    between leaves no HELP unanswered (Twilio's retry stores both), and a repeat of a HELP
    already stored answers nothing. The answer's delivery job, queued after the commit, is
    queued again by the reconciler if it was lost."""
    within = _help_answer(services) if inbound.meta.get("consent") == "help" else None
    received = await intake.receive(inbound, within=within)
    await after_receive(services, inbound, received)
    return received


async def after_receive(services: Services, inbound: InboundMessage, received: Received) -> None:
    """Consent and media work for a message intake accepted (repeats included: consent
    changes are idempotent, media jobs happen once)."""
    action = inbound.meta.get("consent")
    if action in ("opt_out", "opt_in"):
        await _change_consent(services, inbound, received, opted_out=action == "opt_out")
    if inbound.attachments and not received.duplicate:
        await services.jobs.enqueue_async(
            INTAKE,
            FETCH_MEDIA,
            received.message_id,
            retry=FETCH_RETRY,
            conversation_id=received.conversation_id,
        )


async def _change_consent(
    services: Services, inbound: InboundMessage, received: Received, *, opted_out: bool
) -> None:
    how = "Twilio's opt-out handling" if inbound.meta.get("opt_out_type") else "a text"
    change = ConsentChange(
        organization_id=inbound.organization_id,
        kind=inbound.sender_kind,
        address=inbound.sender_address,
        opted_out=opted_out,
        source="opt_out_type" if inbound.meta.get("opt_out_type") else "keyword",
        detail=f'they replied "{inbound.meta.get("keyword")}" ({how})',
        message_id=received.message_id,
    )
    async with services.db.transaction() as session:
        changed = await consent.apply(session, change)
    if changed:
        await publish(services, change, received.conversation_id)


def _help_answer(services: Services) -> WithinIntake:
    """HELP's answer, for intake to store with a new HELP (a repeat has its answer)."""

    async def answer(session: AsyncSession, received: Received) -> None:
        if not received.duplicate:
            await _answer_help(session, services, received)

    return answer


async def _answer_help(session: AsyncSession, services: Services, received: Received) -> None:
    conversation = await session.get(Conversation, received.conversation_id)
    assert conversation is not None
    organization = await session.get(Organization, conversation.organization_id)
    assert organization is not None
    if await consent.opted_out_at(
        session, conversation.organization_id, conversation.address_kind, conversation.address
    ):
        return  # nothing may be sent; Twilio answers HELP itself on long codes
    await queue_outbound(
        session,
        services.jobs,
        conversation,
        author="system",
        text=OrganizationSettings.from_json(organization.settings).help_text,
        notice="help",
        reply_to=received.message_id,
    )

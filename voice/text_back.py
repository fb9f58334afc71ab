"""The text back a caller can ask for when nobody could take the call: one SMS on the
contact's SMS conversation with the business number they called (the conversation is
created when they never texted), never to an opted-out number. The voice conversation
stays waiting for an agent, with its ladder running."""

from __future__ import annotations

from sqlalchemy import select

from gateway import consent
from gateway.db import after_commit, insert_ignoring_conflict
from gateway.models import Conversation, Message, utcnow
from gateway.queues import DELIVER, OUTBOUND, SEND_RETRY
from gateway.runtime import Services
from voice import words
from voice.calls import CallView

SMS = "sms"


async def send_text_back(services: Services, found: CallView) -> bool:
    """Queue the one SMS; False when the number opted out of texts. Idempotent per call."""
    call = found.call
    async with services.db.transaction() as session:
        if await consent.opted_out_at(session, call.organization_id, "phone", call.from_number):
            return False
        voice_conversation = await session.get(Conversation, call.conversation_id)
        assert voice_conversation is not None
        key = {
            "organization_id": call.organization_id,
            "contact_id": voice_conversation.contact_id,
            "channel": SMS,
            "thread_key": call.to_number,
        }
        now = utcnow()
        await insert_ignoring_conflict(
            session,
            Conversation,
            {
                **key,
                "address_kind": "phone",
                "address": call.from_number,
                "state": "ai",
                "ownership_version": 1,
                "created_at": now,
                "updated_at": now,
            },
            tuple(key),
        )
        conversation = (await session.execute(select(Conversation).filter_by(**key))).scalar_one()
        marker = f"voice-text-back:{call.call_sid}"
        created = await insert_ignoring_conflict(
            session,
            Message,
            {
                "organization_id": call.organization_id,
                "conversation_id": conversation.id,
                "direction": "outbound",
                "author": "system",
                "channel": SMS,
                "text": words.TEXT_BACK_SMS.format(business=found.business),
                "attachments": [],
                "meta": {"notice": "text_back", "voice_conversation_id": call.conversation_id},
                "provider_message_id": marker,
                "ownership_version": conversation.ownership_version,
                "delivery_status": "pending",
                "created_at": now,
                "updated_at": now,
            },
            ("organization_id", "channel", "provider_message_id"),
        )
        if created is not None:
            conversation_id = conversation.id
            after_commit(
                session,
                lambda: services.jobs.enqueue_async(
                    OUTBOUND, DELIVER, created, retry=SEND_RETRY, conversation_id=conversation_id
                ),
            )
    return True

"""The text back a caller can ask for when nobody could take the call: one SMS on the
contact's SMS conversation with the business number they called (the conversation is
created when they never texted), never to an opted-out number. The voice conversation
stays waiting for an agent, with its ladder running."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import consent
from gateway.db import insert_ignoring_conflict
from gateway.models import Conversation, utcnow
from gateway.outbound import queue_outbound
from gateway.runtime import Services
from voice import words
from voice.calls import CallView
from voice.models import VoiceCall

SMS = "sms"


async def send_text_back(services: Services, found: CallView) -> bool:
    """Queue the one SMS, once per call (the call's offer moves to "text_back" first, so a
    repeated answer sends nothing more); False when the number opted out of texts."""
    call = found.call
    async with services.db.transaction() as session:
        if await consent.opted_out_at(session, call.organization_id, "phone", call.from_number):
            await _offer_becomes(session, call.id, "text_refused")
            return False
        if not await _offer_becomes(session, call.id, "text_back"):
            return True  # already sent for this call
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
        await queue_outbound(
            session,
            services.jobs,
            conversation,
            author="system",
            text=words.TEXT_BACK_SMS.format(business=found.business),
            notice="text_back",
            meta={"voice_conversation_id": call.conversation_id},
        )
    return True


async def _offer_becomes(session: AsyncSession, call_id: int, outcome: str) -> bool:
    moved = await session.execute(
        update(VoiceCall)
        .where(VoiceCall.id == call_id, VoiceCall.offer.in_(("exhausted", "closed")))
        .values(offer=outcome)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]

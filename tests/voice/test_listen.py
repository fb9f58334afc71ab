"""The lines a call speaks are claimed with a version check: an AI reply computed before
a person took over is dropped, never spoken; a notice is spoken; a reply already spoken is
not spoken twice."""

from __future__ import annotations

from gateway import ownership
from gateway.messages import InboundMessage
from gateway.models import Conversation, Message, Organization, utcnow
from gateway.ownership import State
from gateway.runtime import Services
from tests.support.factories import intake_for
from voice.listen import collect


async def _outbound(
    services: Services, conversation_id: int, author: str, text: str, version: int
) -> int:
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        message = Message(
            organization_id=conversation.organization_id,
            conversation_id=conversation_id,
            direction="outbound",
            author=author,
            channel="voice",
            text=text,
            attachments=[],
            meta={},
            ownership_version=version,
            delivery_status="pending",
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(message)
        await session.flush()
        return message.id


async def test_an_ai_reply_from_before_a_handoff_is_dropped(
    voice_services: Services, org: Organization
) -> None:
    received = await intake_for(voice_services).receive(
        InboundMessage(
            org.id, "voice", "phone", "+15557654321", "hello", "CA1:1", thread_key="+15550001111"
        )
    )
    stale = await _outbound(voice_services, received.conversation_id, "ai", "Sure, refunds…", 1)
    async with voice_services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        await ownership.transition(session, conversation, State.QUEUED, actor=ownership.AI)
    notice = await _outbound(voice_services, received.conversation_id, "system", "Please hold.", 2)

    heard = await collect(voice_services, received.conversation_id, received.message_id)
    assert heard.lines == ["Please hold."] and heard.state == "queued"
    again = await collect(voice_services, received.conversation_id, received.message_id)
    assert again.lines == []
    async with voice_services.db.transaction() as session:
        statuses = {
            stale: (await session.get(Message, stale)).delivery_status,  # type: ignore[union-attr]
            notice: (await session.get(Message, notice)).delivery_status,  # type: ignore[union-attr]
        }
    assert statuses == {stale: "dropped", notice: "delivered"}

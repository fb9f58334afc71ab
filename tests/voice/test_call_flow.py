"""A caller talks to the AI: the greeting, a question answered in the same response,
silence, low confidence, and a request for a person that puts the caller on hold."""

from __future__ import annotations

from sqlalchemy import select

from gateway.models import Conversation, Message, Organization
from gateway.runtime import Services
from tests.support.call_simulator import Caller
from tests.support.fake_twilio import CUSTOMER
from tests.voice.helpers import opt_out_by_text
from voice.models import VoiceCall


async def test_a_question_is_answered_in_the_same_response(
    caller: Caller, voice_services: Services, worker: None
) -> None:
    greeting = await caller.dial_in()
    assert greeting and "How can I help" in greeting[-1]
    answer = await caller.say("How long does shipping take?")
    assert any("business day" in line.lower() or "ship" in line.lower() for line in answer), answer
    assert caller.gather is not None and caller.gather.endswith("n=2")
    async with voice_services.db.transaction() as session:
        call = (await session.execute(select(VoiceCall))).scalar_one()
        conversation = await session.get(Conversation, call.conversation_id)
        messages = list(
            (
                await session.scalars(
                    select(Message).where(Message.conversation_id == call.conversation_id)
                )
            ).all()
        )
    assert conversation is not None and conversation.channel == "voice"
    said = next(m for m in messages if m.text == "How long does shipping take?")
    assert said.meta["confidence"] == 0.91 and said.provider_message_id == f"{caller.sid}:1"
    reply = next(m for m in messages if m.author == "ai")
    assert reply.delivery_status == "delivered"


async def test_a_caller_who_opted_out_of_texts_is_still_answered_on_the_call(
    caller: Caller, voice_services: Services, org: Organization, worker: None
) -> None:
    await caller.dial_in()  # the caller's number is known from here on
    await opt_out_by_text(voice_services, org.id, CUSTOMER)
    answer = await caller.say("How long does shipping take?")
    assert any("ship" in line.lower() for line in answer), answer
    assert caller.gather is not None and caller.room is None  # still talking to the AI


async def test_pressing_0_hands_off_in_that_turn(
    caller: Caller, voice_services: Services, worker: None
) -> None:
    await caller.dial_in()
    heard = await caller.press("0")
    assert caller.room is not None and caller.hold_url is not None, heard
    async with voice_services.db.transaction() as session:
        call = (await session.execute(select(VoiceCall))).scalar_one()
        conversation = await session.get(Conversation, call.conversation_id)
    assert conversation is not None and conversation.state == "queued"
    assert call.phase == "hold"

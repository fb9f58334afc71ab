"""The gateway keeps its connection to the hosted model between a caller's turns: a phone
turn pays no new TCP (or, with a real provider, TLS) handshake for the model."""

from __future__ import annotations

from gateway.runtime import Services
from tests.support.fake_llm import FakeLLM
from tests.support.fake_twilio import Account
from tests.voice.helpers import calling_with_model


async def test_the_turns_of_a_call_reach_the_model_on_one_connection(
    voice_services: Services, account: Account, business_number: str
) -> None:
    with FakeLLM() as llm:
        llm.answer_text("Orders ship in one to two business days.")
        llm.answer_text("Returns are free within 30 days.")
        async with calling_with_model(voice_services, account, business_number, llm) as caller:
            await caller.dial_in()
            first = await caller.say("How long does shipping take?")
            second = await caller.say("And how do returns work?")
    assert first == ["Orders ship in one to two business days."]
    assert second == ["Returns are free within 30 days."]
    peers = {request.peer for request in llm.requests}
    assert len(llm.requests) == 2 and len(peers) == 1 and "" not in peers, peers

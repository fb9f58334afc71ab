"""The call's timeline in the conversation: the call start, the greeting, the caller's lines
with their confidence, the AI's lines and the handoff notice, in order (recording is in
test_recording.py)."""

from __future__ import annotations

from gateway.runtime import Services
from tests.support.call_simulator import Caller
from tests.voice.helpers import the_call, transcript


async def test_the_timeline_keeps_the_call_in_order(
    caller: Caller, voice_services: Services, worker: None
) -> None:
    await caller.dial_in()
    await caller.say("How long does shipping take?", confidence="0.88")
    await caller.say("I want to talk to a person")
    _, conversation = await the_call(voice_services)
    lines = [
        (message.author, message.notice or message.meta.get("voice"), message.text[:30])
        for message in await transcript(voice_services, conversation.id)
    ]
    authors = [author for author, _, _ in lines]
    assert authors[:5] == ["customer", "system", "customer", "ai", "customer"]
    assert lines[0][2] == "" and lines[1][1] == "greeting"  # the call's start, then the greeting
    assert ("system", "handoff") in [(author, notice) for author, notice, _ in lines[5:]]
    messages = await transcript(voice_services, conversation.id)
    assert messages[2].meta["confidence"] == 0.88
    assert all(m.delivery_status in ("received", "delivered") for m in messages)

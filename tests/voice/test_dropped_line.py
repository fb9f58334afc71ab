"""An agent whose line drops right after joining the caller is called back once: the caller
holds again, the same agent's phone rings, and pressing 1 reconnects them (the
conversation is still theirs). A second drop, or a call-back nobody answers, leaves the
caller with the AI, told why. An agent sending the caller back from the desk, however
soon, is no dropped line."""

from __future__ import annotations

from quart import Quart

from gateway.models import Agent
from gateway.runtime import Services
from tests.support.api import logged_in
from tests.support.call_simulator import AgentPhone, Caller
from tests.support.fake_twilio import Account, FakeTwilio
from tests.voice.conftest import DANA_PHONE
from tests.voice.helpers import attempts, dana_joins, outcomes, the_call, transcript


async def test_a_dropped_agent_is_called_back_once_then_the_caller_is_back_with_the_ai(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
    worker: None,
) -> None:
    dana, _ = agents
    await caller.dial_in()
    await caller.say("I want to talk to a person")
    first_room = caller.room
    await dana_joins(caller, fake_twilio, account, 0)

    # Dana's line drops at once: the caller holds again, in a new room, and Dana is rung.
    heard = " ".join(await caller.conference_over())
    assert "dropped" in heard and "calling them back" in heard
    assert caller.room is not None and caller.room != first_room
    call, conversation = await the_call(voice_services)
    assert call.phase == "hold" and call.transfer_round == 2
    assert (conversation.state, conversation.assigned_agent_id) == ("assigned", dana.id)
    assert await outcomes(voice_services) == [("Dana", "dropped_after_connect"), ("Dana", None)]
    call_back = (await attempts(voice_services))[1]
    assert call_back.agent_id == dana.id and call_back.target_number == DANA_PHONE

    # She answers and presses 1: the same conversation, still hers; then it drops again.
    await dana_joins(caller, fake_twilio, account, 1)
    call, conversation = await the_call(voice_services)
    assert call.phase == "agent" and conversation.assigned_agent_id == dana.id
    back = " ".join(await caller.conference_over())
    assert "dropped" in back and "anything else" in back and caller.gather is not None
    assert len(fake_twilio.placed_calls()) == 2  # called back once, not again
    assert await outcomes(voice_services) == [
        ("Dana", "dropped_after_connect"),
        ("Dana", "dropped_after_connect"),
    ]
    call, conversation = await the_call(voice_services)
    assert (conversation.state, call.phase) == ("ai", "ai")
    lines = [m.text for m in await transcript(voice_services, conversation.id)]
    assert any("calling them back" in line for line in lines)


async def test_a_call_back_nobody_answers_returns_the_caller_to_the_ai(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    worker: None,
) -> None:
    await caller.dial_in()
    await caller.say("I want to talk to a person")
    await dana_joins(caller, fake_twilio, account, 0)
    await caller.conference_over()
    [_, again] = fake_twilio.wait_for_calls(2)
    phone = AgentPhone(caller.client, account, again)
    await phone.report("ringing")
    await phone.report("no-answer")

    # Nobody else is tried: the caller is moved off hold, back to the AI.
    assert len(fake_twilio.placed_calls()) == 2
    [move] = fake_twilio.updates_of(caller.sid)
    assert "/twilio/voice/resume?" in (move.get("Url") or "")
    heard = " ".join(await caller.moved_to(move.get("Url") or ""))
    assert "couldn't reach our team member again" in heard and caller.gather is not None
    assert await outcomes(voice_services) == [
        ("Dana", "dropped_after_connect"),
        ("Dana", "no_answer"),
    ]
    call, conversation = await the_call(voice_services)
    assert (conversation.state, call.phase) == ("ai", "ai")


async def test_sending_the_caller_back_from_the_desk_at_once_is_no_dropped_line(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
    worker: None,
) -> None:
    dana, _ = agents
    await caller.dial_in()
    await caller.say("I want to talk to a person")
    await dana_joins(caller, fake_twilio, account, 0)
    _, conversation = await the_call(voice_services)
    client, csrf = await logged_in(voice_app, dana)
    moved = await client.post(f"/api/conversations/{conversation.id}/call/back-to-ai", headers=csrf)
    assert moved.status_code == 200
    [move] = fake_twilio.updates_of(caller.sid)
    back = " ".join(await caller.moved_to(move.get("Url") or ""))
    assert "anything else" in back and "dropped" not in back
    assert await outcomes(voice_services) == [("Dana", "accepted")]
    assert len(fake_twilio.placed_calls()) == 1

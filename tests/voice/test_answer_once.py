"""A caller-side request Twilio sends twice at the same time is acted on once: the copy
that claims it acts, the other waits for its TwiML; a copy that fails lets the request go
to the other; a claim whose process died is taken over; a copy kept waiting too long asks
Twilio to come back. And end to end: the Dial action of a dropped agent's conference,
posted twice at once, calls the agent back once (before, one copy did, and the other sent
the caller back to the AI)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import select, update

from gateway.models import Agent, utcnow
from gateway.runtime import Services
from tests.support.call_simulator import Caller
from tests.support.fake_twilio import Account, FakeTwilio, post_signed
from tests.voice.helpers import dana_joins, outcomes, the_call
from voice import once
from voice.models import CallAnswer

KEY = "dial-done:1"


async def _call_id(caller: Caller, services: Services) -> int:
    await caller.dial_in()
    call, _ = await the_call(services)
    return call.id


def _never() -> str:
    raise AssertionError("no copy should have been asked to come back")


async def _kept(services: Services, call_id: int) -> list[str | None]:
    async with services.db.read() as session:
        rows = await session.scalars(
            select(CallAnswer.twiml).where(
                CallAnswer.call_id == call_id, CallAnswer.request_key == KEY
            )
        )
        return list(rows)


async def test_a_copy_arriving_meanwhile_waits_for_the_first_copys_answer(
    caller: Caller, voice_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    call_id = await _call_id(caller, voice_services)
    acted: list[str] = []
    release = asyncio.Event()
    looked: list[tuple[bool, str | None]] = []
    read = once._read

    async def reading(*args: Any) -> tuple[bool, str | None]:
        found = await read(*args)
        looked.append(found)
        return found

    monkeypatch.setattr(once, "_read", reading)

    def answering(name: str) -> Callable[[], Awaitable[str]]:
        async def answer() -> str:
            acted.append(name)
            await release.wait()
            return f"<Response>{name}</Response>"

        return answer

    db = voice_services.db
    first = asyncio.create_task(once.answer_once(db, call_id, KEY, answering("first"), _never))
    while not acted:
        await asyncio.sleep(0.01)
    second = asyncio.create_task(once.answer_once(db, call_id, KEY, answering("second"), _never))
    while not looked and len(acted) < 2:  # it finds the claim (or acts itself)
        await asyncio.sleep(0.01)
    assert looked[:1] == [(True, None)] and acted == ["first"]
    assert not second.done()
    release.set()
    assert await first == await second == "<Response>first</Response>"
    assert acted == ["first"]
    assert await _kept(voice_services, call_id) == ["<Response>first</Response>"]


async def test_a_copy_that_fails_lets_the_request_go_to_the_next(
    caller: Caller, voice_services: Services
) -> None:
    call_id = await _call_id(caller, voice_services)

    async def failing() -> str:
        raise RuntimeError("the agent's line could not be dialled")

    async def answering() -> str:
        return "<Response>second</Response>"

    with pytest.raises(RuntimeError):
        await once.answer_once(voice_services.db, call_id, KEY, failing, _never)
    assert await _kept(voice_services, call_id) == []
    answered = await once.answer_once(voice_services.db, call_id, KEY, answering, _never)
    assert answered == "<Response>second</Response>"


async def test_a_claim_whose_process_died_is_taken_over_later(
    caller: Caller, voice_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    call_id = await _call_id(caller, voice_services)
    async with voice_services.db.transaction() as session:
        session.add(CallAnswer(call_id=call_id, request_key=KEY, twiml=None, created_at=utcnow()))
    acted: list[bool] = []

    async def answering() -> str:
        acted.append(True)
        return "<Response>taken over</Response>"

    # a fresh claim: the copy waits, and at its limit asks Twilio to come back
    monkeypatch.setattr(once, "WAIT_AT_MOST", 0.3)
    come_back = await once.answer_once(
        voice_services.db, call_id, KEY, answering, lambda: "<Response>again</Response>"
    )
    assert come_back == "<Response>again</Response>" and not acted

    # the same claim, older than any request can run: the next copy answers
    async with voice_services.db.transaction() as session:
        await session.execute(
            update(CallAnswer)
            .where(CallAnswer.call_id == call_id)
            .values(created_at=utcnow() - once.ABANDONED_AFTER - timedelta(seconds=1))
        )
    answered = await once.answer_once(voice_services.db, call_id, KEY, answering, _never)
    assert answered == "<Response>taken over</Response>" and acted == [True]
    assert await _kept(voice_services, call_id) == ["<Response>taken over</Response>"]


async def test_the_dial_action_twice_at_once_calls_a_dropped_agent_back_once(
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

    # Dana's line drops at once, and Twilio's Dial action arrives twice together
    assert caller.dial_action is not None
    params = caller.params(DialCallStatus="completed")
    first, second = await asyncio.gather(
        post_signed(voice_app.test_client(), caller.dial_action, params, account.token),
        post_signed(voice_app.test_client(), caller.dial_action, params, account.token),
    )
    assert first.status_code == second.status_code == 200
    body = await first.get_data(as_text=True)
    assert body == await second.get_data(as_text=True)
    assert "calling them back" in body
    assert len(fake_twilio.placed_calls()) == 2  # Dana, and Dana called back once
    assert await outcomes(voice_services) == [("Dana", "dropped_after_connect"), ("Dana", None)]
    call, conversation = await the_call(voice_services)
    assert call.phase == "hold" and call.transfer_round == 2
    assert (conversation.state, conversation.assigned_agent_id) == ("assigned", dana.id)

"""Clicking "End call" twice, one click after the other or both at once: the first ends the
call at Twilio; the second finds it over (Twilio refuses to end an ended call) and answers
the agent as the first did, since the call is over, which is what they asked for."""

from __future__ import annotations

import asyncio

from quart import Quart

from gateway.models import Agent
from gateway.runtime import Services
from tests.support.api import logged_in
from tests.support.call_simulator import Caller
from tests.support.fake_twilio import FakeTwilio
from tests.voice.helpers import the_call


async def _end_path(caller: Caller, services: Services) -> str:
    await caller.dial_in()
    _, conversation = await the_call(services)
    return f"/api/conversations/{conversation.id}/call/end"


def _endings(fake_twilio: FakeTwilio, call_sid: str) -> list[str | None]:
    return [update.get("Status") for update in fake_twilio.updates_of(call_sid)]


async def test_end_call_clicked_twice_ends_the_call_once_and_answers_both_clicks(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    agents: tuple[Agent, Agent],
) -> None:
    path = await _end_path(caller, voice_services)
    client, csrf = await logged_in(voice_app, agents[0])

    first = await client.post(path, headers=csrf)
    second = await client.post(path, headers=csrf)

    assert first.status_code == 200, await first.get_json()
    assert second.status_code == 200, await second.get_json()
    assert await second.get_json() == {"ended": True}
    assert _endings(fake_twilio, caller.sid) == ["completed"]


async def test_end_call_clicked_twice_at_once_answers_both_clicks(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    agents: tuple[Agent, Agent],
) -> None:
    path = await _end_path(caller, voice_services)
    client, csrf = await logged_in(voice_app, agents[0])

    answers = await asyncio.gather(*(client.post(path, headers=csrf) for _ in range(2)))

    assert [answer.status_code for answer in answers] == [200, 200]
    assert _endings(fake_twilio, caller.sid) == ["completed"]


async def test_twilio_refusing_the_end_of_a_call_is_said_plainly(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    agents: tuple[Agent, Agent],
) -> None:
    """Any other refusal (here Twilio no longer takes the account's credentials) is not
    the agent's doing: 502, in words about the call, not a server error."""
    path = await _end_path(caller, voice_services)
    client, csrf = await logged_in(voice_app, agents[0])
    for account_sid in list(fake_twilio.accounts):
        fake_twilio.accounts[account_sid] = "a token Twilio no longer takes"

    answer = await client.post(path, headers=csrf)

    assert answer.status_code == 502
    assert (await answer.get_json())["message"] == (
        "Twilio did not end the call; try again in a moment."
    )
    assert _endings(fake_twilio, caller.sid) == []

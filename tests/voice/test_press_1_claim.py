"""Pressing 1 is a full claim: the `claimed` webhook reaches the organization's receiver,
the caller's conversation keeps the agent-joined notice like any notice, and the
claimed-but-unanswered timer starts, exactly as a claim on the queue page does. When a
claim on the queue page and a press of 1 race, one of them owns the conversation and
those follow-ups happen once."""

from __future__ import annotations

import asyncio
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from quart import Quart
from sqlalchemy import select

from gateway.models import Agent, Deadline, Organization
from gateway.runtime import Services
from gateway.webhook_tables import WebhookDelivery
from handoff.deadline_actions import fire
from tests.gateway.webhooks.webhook_support import Receiver, add_endpoint
from tests.support.api import logged_in
from tests.support.call_simulator import Caller
from tests.support.fake_twilio import Account, FakeTwilio, worker_running, worker_settings
from tests.voice.helpers import outcomes, ringing_dana, the_call, transcript


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", found.port).start()
    yield found
    await runner.cleanup()


@pytest.fixture
def loopback_worker(
    voice_services: Services, redis_url: str, fake_twilio: FakeTwilio, tmp_path: Any
) -> Iterator[None]:
    """The worker, allowed to reach the loopback receiver (as an operator allows an
    on-premises integration)."""
    env = {**worker_settings(fake_twilio, str(tmp_path)), "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE": "1"}
    with worker_running(voice_services.db.url, redis_url, env):
        yield


async def _claimed_hooks(
    services: Services, receiver: Receiver, count: int
) -> list[dict[str, Any]]:
    """The `claimed` events the receiver got, once the worker delivered `count` of them."""
    started = time.monotonic()
    while time.monotonic() - started < 30:
        async with services.db.transaction() as session:
            rows = (
                await session.scalars(
                    select(WebhookDelivery).where(WebhookDelivery.event == "claimed")
                )
            ).all()
        if len(rows) >= count and all(row.status == "delivered" for row in rows):
            break
        await asyncio.sleep(0.1)
    events = [json.loads(body) for _, body, valid in receiver.requests if valid]
    return [event for event in events if event["event"] == "claimed"]


async def _follow_ups(services: Services, conversation_id: int) -> tuple[int, int]:
    """How many agent-joined notices the conversation holds, and unassign timers pending."""
    notices = [m for m in await transcript(services, conversation_id) if m.notice == "agent_joined"]
    async with services.db.transaction() as session:
        timers = (
            await session.scalars(
                select(Deadline).where(
                    Deadline.conversation_id == conversation_id,
                    Deadline.kind == "unassign",
                    Deadline.cancelled_at.is_(None),
                    Deadline.fired_at.is_(None),
                )
            )
        ).all()
    return len(notices), len(timers)


async def test_press_1_sends_the_claimed_webhook_stores_the_notice_and_starts_the_timer(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org: Organization,
    agents: tuple[Agent, Agent],
    receiver: Receiver,
    loopback_worker: None,
) -> None:
    dana, _ = agents
    endpoint = await add_endpoint(voice_services.db, org, receiver.url, events=["claimed"])
    receiver.secret = endpoint.secret
    phone = await ringing_dana(caller, fake_twilio, account)
    joined = await phone.press("1")
    assert joined.find("Dial/Conference") is not None

    [hook] = await _claimed_hooks(voice_services, receiver, 1)
    _, conversation = await the_call(voice_services)
    assert hook["data"]["agent"] == {"id": dana.id, "name": "Dana"}
    assert hook["data"]["conversation"]["id"] == conversation.id
    assert hook["data"]["conversation"]["state"] == "assigned"
    [notice] = [
        m for m in await transcript(voice_services, conversation.id) if m.notice == "agent_joined"
    ]
    assert notice.author == "system" and "Dana" in notice.text
    assert await _follow_ups(voice_services, conversation.id) == (1, 1)


async def test_a_claim_on_the_queue_page_racing_press_1_gives_one_owner_and_one_follow_up(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org: Organization,
    agents: tuple[Agent, Agent],
    receiver: Receiver,
    loopback_worker: None,
) -> None:
    dana, sam = agents
    endpoint = await add_endpoint(voice_services.db, org, receiver.url, events=["claimed"])
    receiver.secret = endpoint.secret
    phone = await ringing_dana(caller, fake_twilio, account)
    _, conversation = await the_call(voice_services)
    client, csrf = await logged_in(voice_app, sam)

    web_claim, pressed = await asyncio.gather(
        client.post(f"/api/conversations/{conversation.id}/claim", headers=csrf),
        phone.press("1"),
    )
    took_call = pressed.find("Dial/Conference") is not None
    assert (web_claim.status_code == 200) != took_call, (web_claim.status_code, took_call)
    _, conversation = await the_call(voice_services)
    owner = dana if took_call else sam
    assert (conversation.state, conversation.assigned_agent_id) == ("assigned", owner.id)

    [hook] = await _claimed_hooks(voice_services, receiver, 1)
    assert hook["data"]["agent"]["id"] == owner.id
    assert await _follow_ups(voice_services, conversation.id) == (1, 1)


async def test_a_press_of_1_twilio_sends_twice_at_once_joins_the_agent_in_both_answers(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
) -> None:
    """Twilio keeps the answer to its retry, so the copy that finds the call taken by the
    other copy of the same press must join the agent too, not tell them it was taken."""
    dana, _ = agents
    phone = await ringing_dana(caller, fake_twilio, account)

    first, second = await asyncio.gather(phone.press("1"), phone.press("1"))
    assert first.find("Dial/Conference") is not None, ET.tostring(first)
    assert ET.tostring(first) == ET.tostring(second)
    call, conversation = await the_call(voice_services)
    assert call.phase == "agent" and call.agent_id == dana.id
    assert (conversation.state, conversation.assigned_agent_id) == ("assigned", dana.id)
    assert await outcomes(voice_services) == [("Dana", "accepted")]


async def test_a_reply_written_before_the_claims_follow_up_runs_starts_no_unassign_timer(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
) -> None:
    """Dana takes the call by phone and answers in the desk before the claim's follow-up
    has run (its job is late). She answered: no claimed-but-unanswered timer may start
    afterwards and take the conversation from her."""
    dana, _ = agents
    phone = await ringing_dana(caller, fake_twilio, account)
    assert (await phone.press("1")).find("Dial/Conference") is not None
    _, conversation = await the_call(voice_services)
    client, csrf = await logged_in(voice_app, dana)
    replied = await client.post(
        f"/api/conversations/{conversation.id}/reply",
        json={"text": "Dana here, I'll text you the tracking link."},
        headers=csrf,
    )
    assert replied.status_code == 201

    async with voice_services.db.transaction() as session:
        [follow_up] = (
            await session.scalars(
                select(Deadline.id).where(
                    Deadline.conversation_id == conversation.id, Deadline.kind == "claimed"
                )
            )
        ).all()
    assert await fire(voice_services, follow_up) == "fired"
    assert await _follow_ups(voice_services, conversation.id) == (1, 0)

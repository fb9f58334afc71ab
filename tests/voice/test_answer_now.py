"""A caller's turn is routed and answered in the gateway that took it, not through the
routing and AI jobs in turn: the answer comes with no worker running, the routing job that
waits as a safety net finds the message routed and adds nothing, and when answering at once
fails the jobs answer the caller instead."""

from __future__ import annotations

from quart import Quart
from sqlalchemy import func, select

from gateway.models import Message
from gateway.runtime import Services
from gateway.web import EXTENSION, AppServices
from handoff.routing import route_message
from tests.support.call_simulator import Caller
from tests.voice.helpers import worker_ready


async def _ai_replies(services: Services) -> int:
    async with services.db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.author == "ai")
        )
    return int(count or 0)


async def test_a_turn_is_answered_with_no_worker_running(
    caller: Caller, voice_services: Services
) -> None:
    await caller.dial_in()
    heard = await caller.say("How long does shipping take?")
    assert any("working day" in line.lower() for line in heard), heard
    assert await _ai_replies(voice_services) == 1
    async with voice_services.db.transaction() as session:
        said = await session.scalar(
            select(Message.id).where(Message.provider_message_id == f"{caller.sid}:1")
        )
    assert said is not None
    # the routing job held back as a safety net finds the turn routed and answers nothing
    assert await route_message(voice_services, said) == "already-routed"
    assert await _ai_replies(voice_services) == 1


async def test_when_answering_at_once_fails_the_jobs_answer(
    voice_app: Quart, caller: Caller, voice_services: Services, worker: None, redis_url: str
) -> None:
    async def broken(services: Services, message_id: int) -> None:
        raise RuntimeError("the model's client is broken in this process")

    state: AppServices = voice_app.extensions[EXTENSION]
    state.services.answer_now = broken
    await worker_ready(redis_url)  # the caller's budget is for the jobs, not a cold start
    await caller.dial_in()
    heard = await caller.say("How long does shipping take?")
    assert any("working day" in line.lower() for line in heard), heard
    assert await _ai_replies(voice_services) == 1

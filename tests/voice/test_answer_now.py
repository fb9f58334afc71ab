"""A caller's turn is routed and answered in the gateway that took it, not through the
routing and AI jobs in turn: the answer comes with no worker running, the routing job that
finds the message routed and adds nothing, a reply ready in time is spoken with no delivery
job, a reply ready by the time routing decides is stored in the transaction that stores
the caller's words, and when routing or answering at once fails the jobs answer the caller
instead. The model is asked before the caller's words are stored, a reply started that
early is dropped when routing gives the call to a person, and the answer does not wait for
the caller's words to reach the live pages."""

from __future__ import annotations

import asyncio
from typing import Any
from xml.sax.saxutils import escape

import pytest
from quart import Quart
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import turns
from gateway.events import Event, EventPublisher
from gateway.models import Conversation, HandoffDecision, Message
from gateway.queues import INTAKE, OUTBOUND
from gateway.runtime import Services
from gateway.web import EXTENSION
from handoff import answer_now
from handoff.ai.responder import ResponderReply
from handoff.ai.turn import Question, answer_question, store_reply_in
from handoff.routing import Routed, decide_route_in, route_message
from tests.support.call_simulator import Caller
from tests.support.fake_llm import FakeLLM
from tests.support.fake_twilio import Account, post_signed
from tests.support.statements import commits_of
from tests.voice.helpers import calling_with_model, the_call, worker_ready
from voice.models import CallAnswer

QUESTION = "How long does shipping take?"


async def _ai_replies(services: Services) -> int:
    async with services.db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.author == "ai")
        )
    return int(count or 0)


async def _times_stored(services: Services, caller: Caller) -> int:
    """How many messages hold the caller's first turn."""
    async with services.db.read() as session:
        said = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.provider_message_id == f"{caller.sid}:1")
        )
    return int(said or 0)


async def test_a_turn_is_answered_with_no_worker_running(
    caller: Caller, voice_services: Services
) -> None:
    await caller.dial_in()
    heard = await caller.say(QUESTION)
    assert any("working day" in line.lower() for line in heard), heard
    assert await _ai_replies(voice_services) == 1
    async with voice_services.db.transaction() as session:
        said = await session.scalar(
            select(Message.id).where(Message.provider_message_id == f"{caller.sid}:1")
        )
    assert said is not None
    # a routing job (the reconciler's, say) finds the turn routed and answers nothing
    assert await route_message(voice_services, said) == "already-routed"
    assert await _ai_replies(voice_services) == 1


async def test_when_routing_at_once_fails_it_is_undone_and_the_jobs_answer(
    caller: Caller,
    voice_services: Services,
    worker: None,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def routes_then_breaks(
        session: AsyncSession, services: Services, message_id: int
    ) -> Routed:
        await decide_route_in(session, services, message_id)  # its writes must be undone
        raise RuntimeError("the policy is broken in this process")

    monkeypatch.setattr(answer_now, "decide_route_in", routes_then_breaks)
    await worker_ready(redis_url)  # the caller's budget is for the jobs, not a cold start
    await caller.dial_in()
    heard = await caller.say(QUESTION)
    assert any("working day" in line.lower() for line in heard), heard
    assert await _ai_replies(voice_services) == 1
    async with voice_services.db.transaction() as session:
        decisions = await session.scalar(select(func.count()).select_from(HandoffDecision))
    assert decisions == 2  # the routing job's and the reply's: the broken routing left none
    assert await _times_stored(voice_services, caller) == 1  # undone, stored again once


async def test_when_answering_at_once_fails_the_jobs_answer(
    caller: Caller,
    voice_services: Services,
    worker: None,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(services: Services, question: Question) -> None:
        raise RuntimeError("the model's client is broken in this process")

    monkeypatch.setattr(answer_now, "answer_question", broken)
    await worker_ready(redis_url)
    await caller.dial_in()
    heard = await caller.say(QUESTION)
    assert any("working day" in line.lower() for line in heard), heard
    assert await _ai_replies(voice_services) == 1


async def test_a_reply_ready_in_time_is_spoken_with_no_delivery_job(
    caller: Caller, voice_services: Services, redis_url: str
) -> None:
    await caller.dial_in()
    heard = await caller.say(QUESTION)
    async with voice_services.db.transaction() as session:
        reply = (await session.scalars(select(Message).where(Message.author == "ai"))).one()
        kept = await session.scalar(
            select(CallAnswer.twiml).where(CallAnswer.request_key == "turn:1")
        )
    assert reply.delivery_status == "delivered"
    assert reply.text in heard
    assert kept is not None and escape(reply.text) in kept  # a repeat gets the same answer
    jobs = Redis.from_url(redis_url)
    try:
        assert jobs.llen(f"rq:queue:{OUTBOUND}") == 0
        assert jobs.zcard(f"rq:scheduled:{INTAKE}") == 0  # no routing job held back either
    finally:
        jobs.close()
    turn = caller.hops[-1]
    again = await post_signed(
        caller.client,
        turn.url,
        caller.params(SpeechResult=QUESTION, Confidence="0.91"),
        caller.account.token,
    )
    assert (await again.get_data()).decode() == turn.document


def _routing_waits_for_the_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    """Routing decides only once the early reply is computed, as the offline responder's
    usually is on PostgreSQL, where storing the caller's words takes round trips."""
    replied = asyncio.Event()

    async def answered(services: Services, question: Question) -> ResponderReply:
        try:
            return await answer_question(services, question)
        finally:
            replied.set()

    async def routes_once_replied(
        session: AsyncSession, services: Services, message_id: int
    ) -> Routed:
        await replied.wait()
        return await decide_route_in(session, services, message_id)

    monkeypatch.setattr(answer_now, "answer_question", answered)
    monkeypatch.setattr(answer_now, "decide_route_in", routes_once_replied)


async def test_a_reply_ready_when_routing_decides_is_stored_with_the_callers_words(
    caller: Caller, voice_services: Services, voice_app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway_db = voice_app.extensions[EXTENSION].services.db
    publish = EventPublisher.publish
    told: list[Event] = []

    async def telling(self: EventPublisher, event: Event) -> int:
        told.append(event)
        return await publish(self, event)

    await caller.dial_in()
    _routing_waits_for_the_reply(monkeypatch)
    monkeypatch.setattr(EventPublisher, "publish", telling)
    with commits_of(gateway_db) as commits:
        heard = await caller.say(QUESTION)
    assert len(commits) == 1  # the words, routing, the reply and the answer that speaks it
    await turns.drain(5)  # the live pages are told beside the answer
    async with voice_services.db.read() as session:
        reply = (await session.scalars(select(Message).where(Message.author == "ai"))).one()
        kept = await session.scalar(
            select(CallAnswer.twiml).where(CallAnswer.request_key == "turn:1")
        )
    assert reply.text in heard
    assert reply.delivery_status == "delivered"
    assert kept is not None and escape(reply.text) in kept
    deliveries = [event.data for event in told if event.type == "delivery"]
    assert deliveries == [{"message_id": reply.id, "status": "delivered", "error": None}]


async def test_when_storing_a_ready_reply_fails_it_is_undone_and_the_jobs_answer(
    caller: Caller,
    voice_services: Services,
    worker: None,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broke: list[int | None] = []

    async def stores_then_breaks(session: AsyncSession, *args: Any) -> int | None:
        broke.append(await store_reply_in(session, *args))  # its writes must be undone
        raise RuntimeError("the database refused the reply")

    await worker_ready(redis_url)
    await caller.dial_in()
    _routing_waits_for_the_reply(monkeypatch)
    monkeypatch.setattr(answer_now, "store_reply_in", stores_then_breaks)
    heard = await caller.say(QUESTION)
    assert any("working day" in line.lower() for line in heard), heard
    assert await _ai_replies(voice_services) == 1
    assert await _times_stored(voice_services, caller) == 1  # undone, stored again once
    assert len(broke) == 1 and broke[0] is not None  # the reply was stored, then undone


async def test_the_answer_does_not_wait_for_the_messages_live_event(
    caller: Caller, voice_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The AI's turn starts at the commit that owes it: the caller's words reaching the live
    pages (a trip to Redis) runs beside the answer, not before it."""
    publish = EventPublisher.publish
    reply_stored_meanwhile: list[bool] = []

    async def slow_to_tell(self: EventPublisher, event: Event) -> int:
        if event.type == "message" and event.data.get("text") == QUESTION:
            reply_stored_meanwhile.append(await _stored_within(voice_services, seconds=10))
        return await publish(self, event)

    await caller.dial_in()
    monkeypatch.setattr(EventPublisher, "publish", slow_to_tell)
    heard = await caller.say(QUESTION)
    assert reply_stored_meanwhile == [True]
    assert any("working day" in line.lower() for line in heard), heard


async def _stored_within(services: Services, seconds: float) -> bool:
    """Whether the AI's reply is stored within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while not await _ai_replies(services):
                await asyncio.sleep(0.02)
    except TimeoutError:
        return False
    return True


async def _hold_the_conversation(
    services: Services, conversation_id: int, held: asyncio.Event, release: asyncio.Event
) -> None:
    """Nothing can be stored in the conversation until `release`: on SQLite this
    transaction has the write lock, on PostgreSQL the conversation's row."""
    async with services.db.transaction() as session:
        await session.execute(
            select(Conversation.id).where(Conversation.id == conversation_id).with_for_update()
        )
        held.set()
        await release.wait()


async def test_the_model_is_asked_before_the_callers_words_are_stored(
    voice_services: Services, account: Account, business_number: str
) -> None:
    with FakeLLM() as llm:
        llm.answer_text("Orders ship in one to two business days.")
        async with calling_with_model(voice_services, account, business_number, llm) as caller:
            await caller.dial_in()
            call, _ = await the_call(voice_services)
            held, release = asyncio.Event(), asyncio.Event()
            holding = asyncio.create_task(
                _hold_the_conversation(voice_services, call.conversation_id, held, release)
            )
            await held.wait()
            saying = asyncio.create_task(caller.say(QUESTION))
            try:
                async with asyncio.timeout(5):
                    while not llm.received():
                        await asyncio.sleep(0.01)
                asked = llm.received()[0].messages
                async with voice_services.db.read() as session:
                    stored = await session.scalar(
                        select(func.count())
                        .select_from(Message)
                        .where(Message.provider_message_id == f"{caller.sid}:1")
                    )
            finally:
                release.set()
                await holding
            heard = await saying
    assert stored == 0  # the model had the question before the message was stored
    assert asked[-1] == {"role": "user", "content": QUESTION}
    assert heard == ["Orders ship in one to two business days."]
    assert await _ai_replies(voice_services) == 1


async def test_a_reply_started_early_is_dropped_when_routing_hands_the_call_over(
    voice_services: Services, account: Account, business_number: str
) -> None:
    with FakeLLM() as llm:
        llm.answer_text("I can help with that myself.", delay=1.0)
        async with calling_with_model(voice_services, account, business_number, llm) as caller:
            await caller.dial_in()
            await caller.press("0")  # a person, please: routing hands the call over
            _, conversation = await the_call(voice_services)
            async with asyncio.timeout(5):  # asked before routing decided
                while not llm.received():
                    await asyncio.sleep(0.01)
    assert conversation.state != "ai"
    assert await _ai_replies(voice_services) == 0

"""From an inbound message to an answer: the AI answers from the knowledge base, an
explicit request for a person queues the conversation with a notice and an expiry, a
person-owned conversation keeps the AI silent, and a resolved one reopens."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from gateway.delivery import deliver_message
from gateway.events import conversation_channel
from gateway.models import Conversation, Deadline, Message, Transition
from gateway.queues import (
    AI,
    ANSWER_MESSAGE,
    INTAKE,
    OUTBOUND,
    ROUTE_MESSAGE,
    ROUTE_MESSAGES,
    keyed_job_id,
)
from gateway.runtime import Services
from handoff import actions, routing
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from handoff.ai.turn import ai_turn
from handoff.routing import route_message
from tests.support.factories import chat_message, intake_for, make_agent
from tests.support.worker import run_burst


async def messages_of(services: Services, conversation_id: int) -> list[Message]:
    async with services.db.transaction() as session:
        rows = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
        return list(rows)


async def conversation(services: Services, conversation_id: int) -> Conversation:
    async with services.db.transaction() as session:
        found = await session.get(Conversation, conversation_id)
    assert found is not None
    return found


async def test_the_ai_answers_from_the_knowledge_base_and_the_reply_is_delivered(
    services: Services, org
) -> None:
    await load_knowledge(services.db, org.id, demo_knowledge_paths())
    received = await intake_for(services).receive(chat_message(org, "What are your opening hours?"))

    assert await route_message(services, received.message_id) == "ai"
    [job] = services.jobs.queue(AI).get_jobs()
    assert job.func_name == ANSWER_MESSAGE
    assert job.args == [received.message_id, received.conversation_id, 1]

    reply_id = await ai_turn(services, received.conversation_id, 1)
    assert reply_id is not None
    reply = (await messages_of(services, received.conversation_id))[-1]
    assert (reply.id, reply.author, reply.delivery_status) == (reply_id, "ai", "pending")
    assert reply.meta["knows"] is True and "hours" in " ".join(reply.meta["sources"]).lower()
    assert any(day in reply.text for day in ("Monday", "Mon"))

    async with services.events.redis.pubsub() as pubsub:
        await pubsub.subscribe(conversation_channel(received.conversation_id))
        await pubsub.get_message(timeout=1)
        assert await deliver_message(services, reply_id) == "delivered"
        pushed = await pubsub.get_message(timeout=2)
    assert pushed is not None and str(reply_id) in pushed["data"].decode()
    assert (await messages_of(services, received.conversation_id))[
        -1
    ].delivery_status == "delivered"


async def test_an_unknown_question_gets_an_honest_i_dont_know(services: Services, org) -> None:
    await load_knowledge(services.db, org.id, demo_knowledge_paths())
    received = await intake_for(services).receive(
        chat_message(org, "What is the airspeed velocity of an unladen swallow?")
    )
    await route_message(services, received.message_id)
    await ai_turn(services, received.conversation_id, 1)

    reply = (await messages_of(services, received.conversation_id))[-1]
    assert reply.author == "ai" and reply.meta["knows"] is False
    assert "not sure" in reply.text.lower()


async def test_asking_for_a_person_queues_with_a_notice_and_an_expiry(
    services: Services, org
) -> None:
    received = await intake_for(services).receive(chat_message(org, "I want to talk to a person"))

    assert await route_message(services, received.message_id) == "queued"

    queued = await conversation(services, received.conversation_id)
    assert queued.state == "queued" and queued.waiting_since is not None
    assert queued.handoff_reason == (
        "the customer asked for a person: “I want to talk to a person”"
    )
    # the rules that fired, with what each found; nobody is online in this test
    hits = queued.rule_hits
    assert [hit["rule"] for hit in hits] == ["explicit_person_request", "nobody_online"]
    assert all(hit["fired"] and hit["detail"] for hit in hits)
    notice = (await messages_of(services, received.conversation_id))[-1]
    assert (notice.author, notice.meta["notice"]) == ("system", "handoff")
    assert [j.args for j in services.jobs.queue(OUTBOUND).get_jobs()] == [[notice.id]]
    assert services.jobs.queue(AI).get_jobs() == []
    async with services.db.transaction() as session:
        deadlines = (await session.scalars(select(Deadline).order_by(Deadline.due_at))).all()
        [audit] = (await session.scalars(select(Transition))).all()
    assert [d.kind for d in deadlines] == ["reminder", "expire"]  # the ladder's first steps
    assert all(d.ownership_version == queued.ownership_version for d in deadlines)
    assert (audit.from_state, audit.to_state, audit.actor) == ("ai", "queued", "ai")


async def test_routing_twice_routes_once(services: Services, org) -> None:
    received = await intake_for(services).receive(chat_message(org, "hello there"))

    assert await route_message(services, received.message_id) == "ai"
    assert await route_message(services, received.message_id) == "already-routed"
    assert len(services.jobs.queue(AI).get_jobs()) == 1


async def test_the_ai_stays_silent_while_a_person_owns_the_conversation(
    services: Services, org
) -> None:
    agent = await make_agent(services.db, org)
    intake = intake_for(services)
    first = await intake.receive(chat_message(org, "agent please"))
    await route_message(services, first.message_id)
    await actions.claim(services, agent, first.conversation_id)

    later = await intake.receive(chat_message(org, "what are your opening hours?"))

    assert await route_message(services, later.message_id) == "human-owned"
    assert services.jobs.queue(AI).get_jobs() == []


async def test_a_resolved_conversation_reopens_to_the_ai(services: Services, org) -> None:
    agent = await make_agent(services.db, org)
    intake = intake_for(services)
    first = await intake.receive(chat_message(org, "can I talk to a human?"))
    await route_message(services, first.message_id)
    await actions.claim(services, agent, first.conversation_id)
    await actions.resolve(services, agent, first.conversation_id, "Glad I could help!")

    again = await intake.receive(chat_message(org, "one more question"))

    assert await route_message(services, again.message_id) == "ai"
    reopened = await conversation(services, again.conversation_id)
    assert again.conversation_id == first.conversation_id and reopened.state == "ai"
    texts = [m.text for m in await messages_of(services, first.conversation_id)]
    assert "Glad I could help!" in texts and "Dana joined the conversation." in texts


async def test_messages_stored_together_are_routed_by_one_job_and_a_failure_goes_alone(
    services: Services, org, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = intake_for(services)
    messages = [chat_message(org, f"Hello {n}", visitor=f"visitor-{n}") for n in range(3)]
    received = await asyncio.gather(*(intake.receive(message) for message in messages))
    batch = [
        job for job in services.jobs.queue(INTAKE).get_jobs() if job.func_name == ROUTE_MESSAGES
    ]
    assert len(batch) == 1
    together = [int(message_id) for message_id, _ in batch[0].args[0]]
    assert together == [item.message_id for item in received]
    failing = together[1]
    decide = routing.decide_route

    async def fail_one(services: Services, message_id: int) -> routing.Routed:
        if message_id == failing:
            raise RuntimeError("the database went away")
        return await decide(services, message_id)

    monkeypatch.setattr(routing, "decide_route", fail_one)

    outcomes = await routing.route_messages(services, batch[0].args[0])

    assert outcomes == ["ai", "routed alone", "ai"]
    alone = services.jobs.queue(INTAKE).fetch_job(keyed_job_id(ROUTE_MESSAGE, failing))
    assert alone is not None and alone.args == [failing]
    assert alone.meta["conversation_id"] == received[1].conversation_id
    async with services.db.read() as session:
        routed = set(
            await session.scalars(
                select(Message.id).where(Message.id.in_(together), Message.routed_at.is_not(None))
            )
        )
    assert routed == {together[0], together[2]}


async def test_a_worker_routes_the_messages_stored_together(
    services: Services, org, redis_url: str
) -> None:
    intake = intake_for(services)
    messages = [chat_message(org, f"Hello {n}", visitor=f"visitor-{n}") for n in range(4)]
    received = await asyncio.gather(*(intake.receive(message) for message in messages))
    assert any(job.func_name == ROUTE_MESSAGES for job in services.jobs.queue(INTAKE).get_jobs())

    await asyncio.to_thread(run_burst, services.db.url, redis_url)

    async with services.db.read() as session:
        unrouted = await session.scalar(
            select(func.count()).where(Message.direction == "inbound", Message.routed_at.is_(None))
        )
        replies = await session.scalar(select(func.count()).where(Message.author == "ai"))
    assert unrouted == 0
    assert replies == len(received)  # each customer answered once

"""Deadlines against a real Redis and a real worker process: one survives a Redis restart
(its scheduled job is lost; the reconciler fires the row) and fires exactly once; a
cancelled one never fires; a job that fails for good leaves the conversation marked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from gateway.db import Database
from gateway.models import Conversation, Deadline, Message, Transition
from gateway.queues import DEADLINES, DELIVER, FIRE_DEADLINE, OUTBOUND
from gateway.runtime import Services
from handoff import actions
from tests.support.factories import chat_message, intake_for, job_services, make_agent, make_org
from tests.support.servers import RedisProcess
from tests.support.worker import run_burst, running_worker

WINDOW_SECONDS = 2


@pytest.fixture
async def own_services(db: Database, restartable_redis: RedisProcess) -> AsyncIterator[Services]:
    async with job_services(db, restartable_redis.url) as services:
        yield services


async def manual_conversation(services: Services, visitor: str) -> tuple[int, object]:
    org = await make_org(services.db, f"org-{visitor}", review_window_seconds=WINDOW_SECONDS)
    agent = await make_agent(services.db, org)
    received = await intake_for(services).receive(chat_message(org, "hi", visitor=visitor))
    await actions.take_manual_control(services, agent, received.conversation_id)
    return received.conversation_id, agent


async def wait_for_state(
    services: Services, conversation_id: int, state: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with services.db.transaction() as session:
            conversation = await session.get(Conversation, conversation_id)
        if conversation is not None and conversation.state == state:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"conversation {conversation_id} never reached {state}")


async def resumptions(services: Services, conversation_id: int) -> list[Transition]:
    async with services.db.transaction() as session:
        rows = await session.scalars(
            select(Transition).where(
                Transition.conversation_id == conversation_id,
                Transition.reason == "the review window ended without human activity",
            )
        )
        return list(rows)


async def test_a_deadline_survives_a_redis_restart_and_fires_exactly_once(
    own_services: Services, restartable_redis: RedisProcess
) -> None:
    services = own_services
    conversation_id, _ = await manual_conversation(services, "restart")
    assert services.jobs.queue(DEADLINES).scheduled_job_registry.get_job_ids() != []

    restartable_redis.restart()  # no persistence: the scheduled job is gone
    assert services.jobs.queue(DEADLINES).scheduled_job_registry.get_job_ids() == []
    async with services.db.transaction() as session:
        [deadline] = (await session.scalars(select(Deadline))).all()
    for _ in range(3):  # duplicates of the fire job must not fire it twice
        services.jobs.enqueue(DEADLINES, FIRE_DEADLINE, deadline.id, at=deadline.due_at)

    with running_worker(services.db.url, restartable_redis.url):
        await wait_for_state(services, conversation_id, "ai", timeout=30)
        await asyncio.sleep(2)  # give any duplicate a chance to misfire

    assert len(await resumptions(services, conversation_id)) == 1
    async with services.db.transaction() as session:
        fired = await session.get(Deadline, deadline.id)
        notices = (
            await session.scalars(
                select(Message).where(
                    Message.conversation_id == conversation_id, Message.author == "system"
                )
            )
        ).all()
    assert fired is not None and fired.fired_at is not None and fired.cancelled_at is None
    # the one manual-control notice, and the AI's return announced exactly once
    assert [m.meta.get("notice") for m in notices] == ["manual_control", "back_to_ai"]


async def test_a_cancelled_deadline_never_fires(
    own_services: Services, restartable_redis: RedisProcess
) -> None:
    services = own_services
    conversation_id, agent = await manual_conversation(services, "cancel")
    await actions.hand_back(services, agent, conversation_id)  # cancels the review window
    await actions.take_manual_control(services, agent, conversation_id)  # a new window...
    await actions.resolve(services, agent, conversation_id)  # ...cancelled as well

    with running_worker(services.db.url, restartable_redis.url):
        await asyncio.sleep(WINDOW_SECONDS + 3)

    assert await resumptions(services, conversation_id) == []
    async with services.db.transaction() as session:
        rows = (await session.scalars(select(Deadline))).all()
        conversation = await session.get(Conversation, conversation_id)
    assert len(rows) == 2
    assert all(row.cancelled_at is not None and row.fired_at is None for row in rows)
    assert conversation is not None and conversation.state == "resolved"


async def test_a_job_that_fails_for_good_marks_the_conversation(
    own_services: Services, restartable_redis: RedisProcess
) -> None:
    services = own_services
    org = await make_org(services.db, "failing")
    agent = await make_agent(services.db, org)
    received = await intake_for(services).receive(chat_message(org, "hi"))
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        conversation.channel = "carrier-pigeon"  # no worker can deliver on this channel
    await actions.take_manual_control(services, agent, received.conversation_id)
    message = await actions.reply(services, agent, received.conversation_id, "Hello!")
    services.jobs.queue(OUTBOUND).empty()
    services.jobs.enqueue(OUTBOUND, DELIVER, message.id, conversation_id=received.conversation_id)

    run_burst(services.db.url, restartable_redis.url)

    async with services.db.transaction() as session:
        failed = await session.get(Message, message.id)
        marked = await session.get(Conversation, received.conversation_id)
    assert failed is not None and failed.delivery_status == "failed"
    assert failed.error_code == "unexpected" and "carrier-pigeon" in (failed.error_detail or "")
    assert marked is not None and marked.needs_attention
    assert "something went wrong while sending" in (marked.attention_reason or "")

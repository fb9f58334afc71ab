"""The reconciler re-enqueues what Redis lost, and nothing it does not need to: overdue
deadlines, inbound messages never routed, AI turns still owed whose job is gone, sends
whose job is gone (within a minute), sends a dead worker left half-done, and the sweeps of
the channels (Twilio's re-fetch of media still pending is tested with the channel); a
second worker's pass within the lock does nothing, and two passes at once (one outlasting
the lock) queue or resolve each row once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from email_channel.ingest import MailIntake
from gateway.db import Database
from gateway.models import Conversation, Deadline, Message, Organization, utcnow
from gateway.queues import AI, ANSWER_MESSAGE, DEADLINES, DELIVER, INTAKE, OUTBOUND, keyed_job_id
from gateway.reconciler import LOCK_KEY, reconcile
from gateway.runtime import Services
from handoff import actions
from handoff.ai import turn
from handoff.ai.turn import ai_turn
from handoff.routing import route_message
from tests.email.helpers import email_services, mail, support_mailbox
from tests.support.factories import chat_message, intake_for, job_services, make_agent
from tests.support.fake_llm import FakeLLM
from tests.support.passes import overlapping_passes
from tests.support.smtp_sink import SmtpSink
from tests.support.worker import run_burst

NOTHING = {
    "deadlines": 0,
    "messages": 0,
    "turns": 0,
    "deliveries": 0,
    "webhooks": 0,
    "media": 0,
    "recordings": 0,
    "interrupted": 0,
}


async def test_it_re_enqueues_only_what_is_overdue_or_stuck(services: Services, org) -> None:
    agent = await make_agent(services.db, org)
    intake = intake_for(services)
    old = await intake.receive(chat_message(org, "old", visitor="old"))
    await intake.receive(chat_message(org, "fresh", visitor="fresh"))  # routing not yet due
    await actions.take_manual_control(services, agent, old.conversation_id)
    reply = await actions.reply(services, agent, old.conversation_id, "are you there?")
    long_ago = utcnow() - timedelta(hours=1)
    async with services.db.transaction() as session:
        await session.execute(update(Deadline).values(due_at=long_ago))
        await session.execute(
            update(Message)
            .where(Message.id.in_([old.message_id, reply.id]))
            .values(created_at=long_ago, updated_at=long_ago)
        )
    services.jobs.redis.flushdb()  # Redis lost every queued and scheduled job

    counts = await reconcile(services)
    again = await reconcile(services)  # inside the lock: another worker's pass is a no-op

    assert counts == {**NOTHING, "deadlines": 1, "messages": 1, "deliveries": 1}
    assert again == NOTHING
    assert [j.args for j in services.jobs.queue(INTAKE).get_jobs()] == [[old.message_id]]
    assert [j.args for j in services.jobs.queue(OUTBOUND).get_jobs()] == [[reply.id]]
    assert len(services.jobs.queue(DEADLINES).get_jobs()) == 1
    assert services.jobs.redis.exists(LOCK_KEY)


async def test_a_backlog_is_not_multiplied_by_the_reconciler(services: Services, org) -> None:
    """Messages waiting in a long queue are past the grace but still have their job: no
    pass adds another (it did, every two seconds, until the AI queue starved)."""
    intake = intake_for(services)
    waiting = [
        await intake.receive(chat_message(org, f"question {n}", visitor=f"v{n}")) for n in range(3)
    ]
    long_ago = utcnow() - timedelta(hours=1)
    async with services.db.transaction() as session:
        await session.execute(update(Message).values(created_at=long_ago, updated_at=long_ago))
        await session.execute(update(Deadline).values(due_at=long_ago))
    queued = sorted(job.args[0] for job in services.jobs.queue(INTAKE).get_jobs())

    for _ in range(3):
        assert await reconcile(services) == NOTHING
        services.jobs.redis.delete(LOCK_KEY)  # as if the next pass came later

    assert queued == sorted(received.message_id for received in waiting)
    assert sorted(job.args[0] for job in services.jobs.queue(INTAKE).get_jobs()) == queued


async def test_a_send_whose_job_was_lost_goes_out_within_a_minute_and_only_once(
    services: Services, org
) -> None:
    agent = await make_agent(services.db, org)
    first = await intake_for(services).receive(chat_message(org, "one", visitor="one"))
    second = await intake_for(services).receive(chat_message(org, "two", visitor="two"))
    replies = []
    for received in (first, second):
        await actions.take_manual_control(services, agent, received.conversation_id)
        replies.append(await actions.reply(services, agent, received.conversation_id, "hi"))
    lost, waiting = replies
    half_a_minute_ago = utcnow() - timedelta(seconds=31)
    async with services.db.transaction() as session:
        await session.execute(
            update(Message)
            .where(Message.id.in_([lost.id, waiting.id]))
            .values(updated_at=half_a_minute_ago)
        )
    outbound = services.jobs.queue(OUTBOUND)
    [lost_job] = [job for job in outbound.get_jobs() if job.args == [lost.id]]
    lost_job.delete()  # taken by a worker that died, or dropped by Redis

    counts = await reconcile(services)

    assert counts == {**NOTHING, "deliveries": 1}
    queued = [job.args[0] for job in outbound.get_jobs()]
    # each reply once, beside the two manual-control notices still waiting for the worker
    assert sorted(m for m in queued if m in (lost.id, waiting.id)) == [lost.id, waiting.id]
    assert len(queued) == len(set(queued)) == 4


async def _left_sending_by_a_dead_worker(services: Services, org: Organization) -> Message:
    """An agent's reply a worker took and died with, four minutes ago, its job gone."""
    agent = await make_agent(services.db, org)
    received = await intake_for(services).receive(chat_message(org, "hello"))
    await actions.take_manual_control(services, agent, received.conversation_id)
    reply = await actions.reply(services, agent, received.conversation_id, "on it")
    async with services.db.transaction() as session:
        await session.execute(
            update(Message)
            .where(Message.id == reply.id)
            .values(delivery_status="sending", updated_at=utcnow() - timedelta(minutes=4))
        )
    services.jobs.redis.flushdb()
    return reply


async def test_a_message_left_sending_by_a_dead_worker_is_failed_for_an_agent_to_check(
    services: Services, org
) -> None:
    reply = await _left_sending_by_a_dead_worker(services, org)

    assert await reconcile(services) == {**NOTHING, "interrupted": 1}

    async with services.db.transaction() as session:
        message = await session.get(Message, reply.id)
        conversation = await session.get(Conversation, reply.conversation_id)
        assert message is not None and conversation is not None
        assert (message.delivery_status, message.error_code) == ("failed", "interrupted")
        assert conversation.needs_attention
        assert "may not have reached the customer" in (conversation.attention_reason or "")
    assert services.jobs.queue(OUTBOUND).get_jobs() == []  # never sent twice


async def test_an_ai_turn_whose_job_was_lost_is_run_again_and_answers_once(
    services: Services, org
) -> None:
    """The routing job committed the AI's turn, then its worker died (or Redis lost the AI
    job): the turn is run again, and a second run of it stores nothing more."""
    owed = await intake_for(services).receive(chat_message(org, "hello", visitor="owed"))
    taken = await intake_for(services).receive(chat_message(org, "hi", visitor="taken"))
    for received in (owed, taken):
        assert await route_message(services, received.message_id) == "ai"
    agent = await make_agent(services.db, org)
    await actions.take_manual_control(services, agent, taken.conversation_id)  # now obsolete
    long_ago = utcnow() - timedelta(minutes=5)
    async with services.db.transaction() as session:
        await session.execute(update(Message).values(routed_at=long_ago))
    services.jobs.redis.flushdb()

    counts = await reconcile(services)

    assert counts == {**NOTHING, "turns": 1}
    [job] = services.jobs.queue(AI).get_jobs()
    assert job.args == [owed.message_id, owed.conversation_id, 1]
    first = await ai_turn(services, owed.conversation_id, 1, owed.message_id)
    again = await ai_turn(services, owed.conversation_id, 1, owed.message_id)
    assert first is not None and again is None
    async with services.db.transaction() as session:
        ai_replies = await session.scalar(
            select(func.count(Message.id)).where(
                Message.conversation_id == owed.conversation_id, Message.author == "ai"
            )
        )
        obsolete = await session.get(Message, taken.message_id)
    assert ai_replies == 1
    assert obsolete is not None and obsolete.ai_turn_version is None
    services.jobs.redis.delete(LOCK_KEY)
    assert await reconcile(services) == NOTHING


async def test_a_pass_with_nothing_to_change_takes_no_write_transaction(
    services: Services, org, monkeypatch
) -> None:
    intake = intake_for(services)
    received = await intake.receive(chat_message(org, "hello", visitor="calm"))
    await route_message(services, received.message_id)
    writes: list[str] = []
    transaction = services.db.transaction

    def counted() -> object:
        writes.append("transaction")
        return transaction()

    monkeypatch.setattr(services.db, "transaction", counted)
    assert await reconcile(services) == NOTHING
    assert writes == []  # SQLite's writers never wait for a pass that finds nothing


async def test_a_job_a_killed_worker_took_off_the_queue_is_queued_again(
    services: Services, org
) -> None:
    """A worker killed between taking a job off the queue and marking it started leaves it
    marked queued in no queue: it is not waiting, and its message is routed again."""
    intake = intake_for(services)
    taken = await intake.receive(chat_message(org, "taken", visitor="taken"))
    still = await intake.receive(chat_message(org, "still queued", visitor="still"))
    queue = services.jobs.queue(INTAKE)
    job_id = next(job.id for job in queue.get_jobs() if job.args == [taken.message_id])
    services.jobs.redis.lrem(queue.key, 0, job_id)  # what the killed worker's pop left
    long_ago = utcnow() - timedelta(hours=1)
    async with services.db.transaction() as session:
        await session.execute(update(Message).values(created_at=long_ago, updated_at=long_ago))

    counts = await reconcile(services)

    assert counts["messages"] == 1
    assert sorted(job.args[0] for job in queue.get_jobs()) == sorted(
        [taken.message_id, still.message_id]
    )


async def test_two_passes_at_once_queue_a_lost_send_once_so_a_retry_keeps_its_back_off(
    db: Database,
    redis_url: str,
    org: Organization,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers' passes overlap (one outlasted the reconciler's lock) and both find a
    reply whose job was lost. Only one queues it again: with two jobs, the mail server's
    "try again later" was followed at once by the second job, not after the back-off (the
    send itself is claimed, so the customer never got it twice)."""
    with SmtpSink(refuse_first=1) as sink:
        async with email_services(db, redis_url, tmp_path, smtp_url=sink.url) as services:
            mailbox = await support_mailbox(db, org)
            received = await MailIntake(services).ingest(mailbox, mail())
            assert received.conversation_id is not None
            agent = await make_agent(db, org)
            await actions.take_manual_control(services, agent, received.conversation_id)
            reply = await actions.reply(services, agent, received.conversation_id, "On it")
            services.jobs.redis.flushdb()  # the reply's job was lost (and nothing else waits)
            async with db.transaction() as session:
                await session.execute(update(Message).values(routed_at=utcnow()))
                await session.execute(
                    update(Message)
                    .where(Message.id == reply.id)
                    .values(updated_at=utcnow() - timedelta(seconds=31))
                )
            job_id = keyed_job_id(DELIVER, reply.id)
            first, second = await overlapping_passes(services, job_id, monkeypatch)

            assert first["deliveries"] + second["deliveries"] == 1
            assert services.jobs.queue(OUTBOUND).get_job_ids() == [job_id]
            await asyncio.to_thread(run_burst, db.url, redis_url, SWITCHBOARD_SMTP_URL=sink.url)
            assert sink.refused == 1 and sink.messages == []  # the retry waits its back-off
    async with db.transaction() as session:
        waiting = await session.get(Message, reply.id)
    assert waiting is not None
    assert (waiting.delivery_status, waiting.delivery_attempts) == ("pending", 1)


async def test_two_passes_at_once_queue_a_lost_ai_turn_once_so_the_model_is_asked_once(
    db: Database, redis_url: str, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two passes at once both found an AI turn whose job was lost and queued its job
    twice. Two workers took the copies together: the turn answered once, but the hosted
    model was asked (and paid) twice."""
    with FakeLLM(api_key="sk-test") as model:
        model.answer_text("It ships tomorrow.").answer_text("It ships tomorrow.")
        async with job_services(
            db, redis_url, llm_base_url=model.base_url, llm_model="m", llm_api_key="sk-test"
        ) as services:
            received = await intake_for(services).receive(chat_message(org, "Where is it?"))
            assert await route_message(services, received.message_id) == "ai"
            services.jobs.redis.flushdb()  # the turn's job was lost
            async with db.transaction() as session:
                await session.execute(
                    update(Message).values(routed_at=utcnow() - timedelta(minutes=5))
                )
            job_id = keyed_job_id(ANSWER_MESSAGE, received.message_id)
            first, second = await overlapping_passes(services, job_id, monkeypatch)

            assert first["turns"] + second["turns"] == 1
            assert services.jobs.queue(AI).get_job_ids() == [job_id]
            await each_job_by_a_worker_of_its_own(services, monkeypatch)
        assert len(model.received()) == 1
    async with db.transaction() as session:
        answers = await session.scalars(
            select(Message.text).where(
                Message.conversation_id == received.conversation_id, Message.author == "ai"
            )
        )
        assert list(answers) == ["It ships tomorrow."]


async def each_job_by_a_worker_of_its_own(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the AI queue's jobs at once, as that many workers would: each computes its
    reply before any stores one."""
    jobs = services.jobs.queue(AI).get_jobs()
    computed, store = asyncio.Barrier(len(jobs)), turn.store_reply

    async def store_when_all_computed(*args: Any, **kwargs: Any) -> int | None:
        await computed.wait()
        return await store(*args, **kwargs)

    monkeypatch.setattr(turn, "store_reply", store_when_all_computed)
    await asyncio.gather(
        *(
            ai_turn(services, conversation, version, message)
            for message, conversation, version in (job.args for job in jobs)
        )
    )


async def test_two_passes_at_once_fail_a_message_a_dead_worker_left_sending_once(
    services: Services, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second pass found the message left `sending`; the first marked it failed
    meanwhile. The second marks nothing: the message is marked and counted once."""
    reply = await _left_sending_by_a_dead_worker(services, org)
    transaction = services.db.transaction
    first: list[dict[str, int]] = []

    @asynccontextmanager
    async def first_pass_meanwhile() -> AsyncIterator[AsyncSession]:
        """The second pass's first write, after its look: the first pass runs all through."""
        monkeypatch.setattr(services.db, "transaction", transaction)
        services.jobs.redis.delete(LOCK_KEY)  # the second pass outlasted its lock
        first.append(await reconcile(services))
        async with transaction() as session:
            yield session

    monkeypatch.setattr(services.db, "transaction", first_pass_meanwhile)
    second = await reconcile(services)

    assert (first[0]["interrupted"], second["interrupted"]) == (1, 0)
    async with services.db.transaction() as session:
        message = await session.get(Message, reply.id)
    assert message is not None
    assert (message.delivery_status, message.error_code) == ("failed", "interrupted")

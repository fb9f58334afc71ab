"""Messages arriving at the same moment share one intake transaction, each caller still
gets its own answer, a failing message fails alone, and a batch's messages are routed by
one job; jobs queued together reach Redis together, each under its own id."""

from __future__ import annotations

import asyncio

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.intake import Received
from gateway.messages import InboundMessage
from gateway.models import Message, Organization
from gateway.queues import INTAKE, ROUTE_MESSAGE, JobQueue, keyed_job_id
from gateway.runtime import Services
from tests.support.factories import chat_message, intake_for
from tests.support.routing_jobs import messages_to_route


def count_transactions(services: Services) -> list[int]:
    begun = [0]

    @event.listens_for(services.db.engine.sync_engine, "begin")
    def _begin(_connection: object) -> None:
        begun[0] += 1

    return begun


async def test_messages_arriving_together_share_a_transaction_and_keep_their_order(
    services: Services, org: Organization
) -> None:
    intake = intake_for(services)
    begun = count_transactions(services)
    messages = [
        chat_message(org, f"message {n}", visitor=f"v-{n % 5}", frame=f"f-{n}") for n in range(40)
    ]

    results = await asyncio.gather(*(intake.receive(message) for message in messages))

    assert begun[0] < len(messages) / 4  # batched, not one transaction per message
    assert len({result.message_id for result in results}) == len(messages)
    async with services.db.transaction() as session:
        rows = (await session.execute(select(Message.id, Message.text))).all()
    texts = dict(rows)
    for message, result in zip(messages, results, strict=True):
        assert texts[result.message_id] == message.text  # each caller got its own message
    for visitor in range(5):  # one sender's messages are stored in the order they came
        theirs = [result.message_id for n, result in enumerate(results) if n % 5 == visitor]
        assert theirs == sorted(theirs)
    assert messages_to_route(services) == {result.message_id: 1 for result in results}
    assert len(services.jobs.queue(INTAKE).get_jobs()) < len(messages) / 4  # a job a batch


async def test_each_message_of_a_batch_finds_its_own_senders_thread(
    services: Services, org: Organization
) -> None:
    intake = intake_for(services)
    sent = 0

    def text(channel: str, sender: str, thread: str) -> InboundMessage:
        nonlocal sent
        sent += 1
        return InboundMessage(
            org.id, channel, "phone", sender, "hello", f"M{sent}", thread_key=thread
        )

    # the senders' conversations share channels and threads with each other's
    first = [
        text("sms", "+15550001", "+15559001"),
        text("voice", "+15550001", "+15559002"),
        text("sms", "+15550002", "+15559002"),
    ]
    opened = [await intake.receive(message) for message in first]
    batch = [
        text("sms", "+15550001", "+15559001"),  # each to its open conversation
        text("voice", "+15550001", "+15559002"),
        text("sms", "+15550002", "+15559002"),
        text("voice", "+15550002", "+15559001"),  # a known sender's new thread
        text("sms", "+15550003", "+15559001"),  # a new sender
    ]
    begun = count_transactions(services)

    stored = await asyncio.gather(*(intake.receive(message) for message in batch))

    assert begun[0] < len(batch)  # some of them stored together
    assert [item.conversation_id for item in stored[:3]] == [
        item.conversation_id for item in opened
    ]
    new = {item.conversation_id for item in stored[3:]}
    assert len(new) == 2 and not new & {item.conversation_id for item in opened}
    assert stored[3].contact_id == stored[2].contact_id
    assert stored[4].contact_id not in {item.contact_id for item in stored[:4]}


async def test_a_message_that_fails_in_a_shared_transaction_fails_alone(
    services: Services, org: Organization
) -> None:
    intake = intake_for(services)

    async def refuse(_session: AsyncSession, _received: Received) -> None:
        raise RuntimeError("this one cannot be kept")

    good = [chat_message(org, f"fine {n}", visitor=f"v-{n}") for n in range(6)]
    bad = chat_message(org, "doomed", visitor="v-bad")
    outcomes = await asyncio.gather(
        *(intake.receive(message) for message in good[:3]),
        intake.receive(bad, within=refuse),
        *(intake.receive(message) for message in good[3:]),
        return_exceptions=True,
    )

    assert isinstance(outcomes[3], RuntimeError)
    kept = [outcome for n, outcome in enumerate(outcomes) if n != 3]
    assert all(isinstance(outcome, Received) and not outcome.duplicate for outcome in kept)
    async with services.db.transaction() as session:
        texts = set((await session.scalars(select(Message.text))).all())
        stored = await session.scalar(select(func.count()).select_from(Message))
    assert texts == {message.text for message in good} and stored == len(good)
    assert messages_to_route(services) == {
        outcome.message_id: 1 for outcome in kept if isinstance(outcome, Received)
    }


async def test_jobs_queued_together_reach_redis_in_one_group_each_with_its_id(
    services: Services,
) -> None:
    refs = await asyncio.gather(
        *(services.jobs.enqueue_async(INTAKE, ROUTE_MESSAGE, n) for n in range(1, 31))
    )

    assert [ref.id for ref in refs] == [keyed_job_id(ROUTE_MESSAGE, n) for n in range(1, 31)]
    jobs = services.jobs.queue(INTAKE).get_jobs()
    assert sorted(job.args[0] for job in jobs) == list(range(1, 31))


async def test_a_group_redis_refuses_fails_every_caller_in_it() -> None:
    unreachable = JobQueue(Redis.from_url("redis://127.0.0.1:1/0"))  # nothing listens there

    outcomes = await asyncio.gather(
        *(unreachable.enqueue_async(INTAKE, ROUTE_MESSAGE, n) for n in range(1, 4)),
        return_exceptions=True,
    )

    assert all(isinstance(outcome, RedisConnectionError) for outcome in outcomes)

"""While Redis is down, a channel edge still stores and acknowledges what arrives: the
transaction is committed before anything is enqueued, so a failed enqueue is logged and
left to the reconciler, which routes the message once Redis is back. Failing the request
instead would make Twilio give up on a message that is already stored."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from gateway.db import Database
from gateway.models import Message, utcnow
from gateway.queues import INTAKE
from gateway.reconciler import reconcile
from tests.support.factories import chat_message, intake_for, job_services, make_org
from tests.support.servers import RedisProcess


async def test_a_message_arriving_while_redis_is_down_is_stored_then_routed(
    db: Database, restartable_redis: RedisProcess
) -> None:
    org = await make_org(db, "outage")
    async with job_services(db, restartable_redis.url) as services:
        restartable_redis.stop()

        received = await intake_for(services).receive(chat_message(org, "anyone there?"))

        assert not received.duplicate
        restartable_redis.start()
        async with db.transaction() as session:
            stored = await session.get(Message, received.message_id)
            assert stored is not None and stored.routed_at is None
            await session.execute(
                update(Message)
                .where(Message.id == received.message_id)
                .values(created_at=utcnow() - timedelta(seconds=31))
            )
        assert (await reconcile(services))["messages"] == 1
        [job] = services.jobs.queue(INTAKE).get_jobs()
        assert job.args == [received.message_id]

"""The reconciler re-enqueues what Redis lost, and nothing it does not need to: overdue
deadlines, inbound messages never routed, and deliveries stuck in `pending` for longer
than any retry back-off; a second worker's pass within the lock does nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from gateway.models import Deadline, Message, utcnow
from gateway.queues import DEADLINES, INTAKE, OUTBOUND
from gateway.reconciler import LOCK_KEY, reconcile
from gateway.runtime import Services
from handoff import actions
from tests.support.factories import chat_message, intake_for, make_agent


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

    assert counts == {"deadlines": 1, "messages": 1, "deliveries": 1, "webhooks": 0}
    assert again == {"deadlines": 0, "messages": 0, "deliveries": 0, "webhooks": 0}
    assert [j.args for j in services.jobs.queue(INTAKE).get_jobs()] == [[old.message_id]]
    assert [j.args for j in services.jobs.queue(OUTBOUND).get_jobs()] == [[reply.id]]
    assert len(services.jobs.queue(DEADLINES).get_jobs()) == 1
    assert services.jobs.redis.exists(LOCK_KEY)

"""The safety net under Redis: fires overdue deadlines whose scheduled job was lost,
re-routes inbound messages whose routing job never ran (a crash between commit and
enqueue, or a Redis restart), and re-enqueues deliveries (messages and webhooks) left
pending far longer than any retry back-off. All are harmless to repeat: deadlines, routing
and sending are claimed
atomically, so whatever is enqueued twice still happens once. One worker at a time
reconciles, under a short Redis lock."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from gateway import deadlines, webhooks
from gateway.models import Message, utcnow
from gateway.queues import (
    DEADLINES,
    DELIVER,
    FIRE_DEADLINE,
    INTAKE,
    OUTBOUND,
    ROUTE_MESSAGE,
    SEND_RETRY,
)
from gateway.runtime import Services

log = logging.getLogger(__name__)

LOCK_KEY = "switchboard:reconciler"
UNROUTED_GRACE = timedelta(seconds=30)
UNSENT_GRACE = timedelta(minutes=10)  # longer than the longest retry interval


async def reconcile(services: Services, lock_seconds: int = 5) -> dict[str, int]:
    """One pass; returns how many deadlines and messages it re-enqueued."""
    got_lock = services.jobs.redis.set(LOCK_KEY, "1", nx=True, ex=lock_seconds)
    if not got_lock:
        return {"deadlines": 0, "messages": 0, "deliveries": 0, "webhooks": 0}
    now = utcnow()
    async with services.db.transaction() as session:
        due = await deadlines.overdue(session, now)
        unrouted = list(
            (
                await session.execute(
                    select(Message.id, Message.conversation_id)
                    .where(
                        Message.routed_at.is_(None),
                        Message.direction == "inbound",
                        Message.created_at <= now - UNROUTED_GRACE,
                    )
                    .limit(500)
                )
            ).all()
        )
        unsent = list(
            (
                await session.execute(
                    select(Message.id, Message.conversation_id)
                    .where(
                        Message.delivery_status == "pending",
                        Message.direction == "outbound",
                        Message.updated_at <= now - UNSENT_GRACE,
                    )
                    .limit(500)
                )
            ).all()
        )
        stalled_webhooks = await webhooks.stalled(session, services, now)
    await webhooks.resend(services, stalled_webhooks)
    for deadline_id in due:
        await services.jobs.enqueue_async(DEADLINES, FIRE_DEADLINE, deadline_id)
    for message_id, conversation_id in unrouted:
        await services.jobs.enqueue_async(
            INTAKE, ROUTE_MESSAGE, message_id, conversation_id=conversation_id
        )
    for message_id, conversation_id in unsent:
        await services.jobs.enqueue_async(
            OUTBOUND, DELIVER, message_id, retry=SEND_RETRY, conversation_id=conversation_id
        )
    if due or unrouted or unsent:
        log.info(
            "reconciler re-enqueued %d deadline(s), %d message(s), %d delivery(ies)",
            len(due),
            len(unrouted),
            len(unsent),
        )
    return {
        "deadlines": len(due),
        "messages": len(unrouted),
        "deliveries": len(unsent),
        "webhooks": len(stalled_webhooks),
    }

"""The safety net under Redis: fires overdue deadlines whose scheduled job was lost,
re-routes inbound messages whose routing job never ran (a crash between commit and
enqueue, or a Redis restart), runs again the AI turns routed messages still await,
re-enqueues deliveries (messages and webhooks) whose job is gone and resolves those a dead
worker left mid-send (see `gateway.lost_jobs`), then runs the sweeps the channels declare
for their own work (`gateway.channels.Sweep`, such as Twilio's re-fetch of media still
pending), and folds the queue's badge counts once many changes have gathered
(`gateway.conversation_counts`). All are harmless to repeat: deadlines, routing and
sending are claimed atomically, so whatever is enqueued twice still happens once. Each
pass also purges expired idempotency keys (`gateway.idempotency`). One worker at a time
reconciles, under a short Redis lock."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import bindparam, select

from gateway import conversation_counts, deadlines, idempotency, lost_jobs, metrics, webhooks
from gateway.attention import mark_needs_attention
from gateway.models import Message, utcnow
from gateway.queues import (
    AI,
    ANSWER_MESSAGE,
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
_UNROUTED = (
    select(Message.id, Message.conversation_id)
    .where(
        Message.routed_at.is_(None),
        Message.direction == "inbound",
        Message.created_at <= bindparam("before"),
    )
    .limit(500)
)
EMPTY = {
    "deadlines": 0,
    "messages": 0,
    "turns": 0,
    "deliveries": 0,
    "webhooks": 0,
    "interrupted": 0,
}


async def reconcile(services: Services, lock_seconds: int = 5) -> dict[str, int]:
    """One pass; returns how many deadlines and messages it re-enqueued."""
    got_lock = services.jobs.redis.set(LOCK_KEY, "1", nx=True, ex=lock_seconds)
    if not got_lock:
        return {**EMPTY, **{sweep.name: 0 for sweep in services.channels.sweeps}}
    now = utcnow()
    # Reads in read sessions, writes only where a row must change: a pass every 2 s must
    # not hold SQLite's write lock while it asks Redis which jobs are waiting.
    async with services.db.read() as session:
        due = await deadlines.overdue(session, now)
        unrouted = (await session.execute(_UNROUTED, {"before": now - UNROUTED_GRACE})).all()
    # A backlog keeps messages and deadlines waiting past the grace: only those whose job
    # is gone get another one, or every pass would add a copy of the backlog.
    due = await lost_jobs.without_waiting_job(services, FIRE_DEADLINE, due)
    routable = {int(message): int(conversation) for message, conversation in unrouted}
    to_route = [
        (message, routable[message])
        for message in await lost_jobs.without_waiting_job(services, ROUTE_MESSAGE, list(routable))
    ]
    turns = await lost_jobs.lost_turns(services, now)
    unsent = await lost_jobs.lost_messages(services, now)
    interrupted = await lost_jobs.interrupted_messages(services, now)
    stalled_webhooks = await lost_jobs.lost_webhooks(services, now)
    await webhooks.resend(services, stalled_webhooks)
    for message_id, conversation_id in interrupted:
        log.warning("message %s: %s", message_id, lost_jobs.INTERRUPTED_MESSAGE)
        await mark_needs_attention(services, conversation_id, lost_jobs.INTERRUPTED_ATTENTION)
    for deadline_id in due:
        await services.jobs.enqueue_async(DEADLINES, FIRE_DEADLINE, deadline_id)
    for message_id, conversation_id in to_route:
        await services.jobs.enqueue_async(
            INTAKE, ROUTE_MESSAGE, message_id, conversation_id=conversation_id
        )
    for message_id, conversation_id, version in turns:
        await services.jobs.enqueue_async(
            AI,
            ANSWER_MESSAGE,
            message_id,
            conversation_id,
            version,
            conversation_id=conversation_id,
        )
    for message_id, conversation_id in unsent:
        await services.jobs.enqueue_async(
            OUTBOUND, DELIVER, message_id, retry=SEND_RETRY, conversation_id=conversation_id
        )
    counts = {
        "deadlines": len(due),
        "messages": len(to_route),
        "turns": len(turns),
        "deliveries": len(unsent),
        "webhooks": len(stalled_webhooks),
        "interrupted": len(interrupted),
    }
    for sweep in services.channels.sweeps:
        counts[sweep.name] = counts.get(sweep.name, 0) + await sweep.run(services, now)
    await conversation_counts.fold(services.db)
    await idempotency.purge_expired(services.db, now)  # housekeeping, not reported as work
    metrics.count_reconciler_pass(counts)
    if any(counts.values()):
        log.info("reconciler re-enqueued or resolved %s", counts)
    return counts

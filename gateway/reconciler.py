"""The safety net under Redis: fires overdue deadlines whose scheduled job was lost,
re-routes inbound messages whose routing job never ran (a crash between commit and
enqueue, or a Redis restart), re-enqueues deliveries (messages and webhooks) whose job is
gone and resolves those a dead worker left mid-send (see `gateway.lost_jobs`), and fetches
of inbound media still pending long after the message arrived (a message's
`meta["media"]` marks each item's status; the fetch job is named by channel in
`gateway.queues.FETCH_MEDIA_JOBS`). All are harmless to repeat: deadlines, routing and
sending are claimed atomically, so whatever is enqueued twice still happens once, and a
media fetch skips items already kept. One worker at a time reconciles, under a short
Redis lock."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import deadlines, lost_jobs, webhooks
from gateway.delivery import mark_needs_attention
from gateway.models import Message, utcnow
from gateway.queues import (
    DEADLINES,
    DELIVER,
    FETCH_MEDIA_JOBS,
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
# Longer than a fetch job's whole retry schedule (which touches the message each attempt),
# so a fetch still retrying is never doubled; after a day a pending item is left as it is.
MEDIA_GRACE = timedelta(minutes=15)
MEDIA_GIVE_UP = timedelta(days=1)
EMPTY = {
    "deadlines": 0,
    "messages": 0,
    "deliveries": 0,
    "webhooks": 0,
    "media": 0,
    "interrupted": 0,
}


async def reconcile(services: Services, lock_seconds: int = 5) -> dict[str, int]:
    """One pass; returns how many deadlines and messages it re-enqueued."""
    got_lock = services.jobs.redis.set(LOCK_KEY, "1", nx=True, ex=lock_seconds)
    if not got_lock:
        return dict(EMPTY)
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
        unsent = await lost_jobs.lost_messages(session, services, now)
        interrupted = await lost_jobs.interrupted_messages(session, now)
        stalled_webhooks = await lost_jobs.lost_webhooks(session, services, now)
        media = await stalled_media(session, now)
    await webhooks.resend(services, stalled_webhooks)
    for message_id, conversation_id in interrupted:
        await mark_needs_attention(
            services, conversation_id, f"message {message_id}: {lost_jobs.INTERRUPTED_MESSAGE}"
        )
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
    for message_id, conversation_id, job in media:
        await services.jobs.enqueue_async(
            INTAKE, job, message_id, retry=SEND_RETRY, conversation_id=conversation_id
        )
    if due or unrouted or unsent or media or stalled_webhooks or interrupted:
        log.info(
            "reconciler re-enqueued %d deadline(s), %d message(s), %d delivery(ies), "
            "%d webhook delivery(ies), %d media fetch(es); %d interrupted send(s) failed",
            len(due),
            len(unrouted),
            len(unsent),
            len(stalled_webhooks),
            len(media),
            len(interrupted),
        )
    return {
        "deadlines": len(due),
        "messages": len(unrouted),
        "deliveries": len(unsent),
        "webhooks": len(stalled_webhooks),
        "media": len(media),
        "interrupted": len(interrupted),
    }


def media_pending(meta: dict[str, Any] | None) -> bool:
    """Whether a message still waits for one of its media items to be fetched."""
    items = (meta or {}).get("media")
    return isinstance(items, list) and any(
        isinstance(item, dict) and item.get("status") == "pending" for item in items
    )


async def stalled_media(session: AsyncSession, now: datetime) -> list[tuple[int, int, str]]:
    """Inbound messages whose media has been pending since MEDIA_GRACE ago (its fetch job
    was never enqueued, or was lost), as (message, conversation, job). Each one found is
    touched, so the next pass leaves it alone for another MEDIA_GRACE."""
    rows = await session.execute(
        select(Message.id, Message.conversation_id, Message.channel, Message.meta)
        .where(
            Message.direction == "inbound",
            Message.channel.in_(list(FETCH_MEDIA_JOBS)),
            Message.updated_at <= now - MEDIA_GRACE,
            Message.created_at >= now - MEDIA_GIVE_UP,
            cast(Message.meta, String).like('%"pending"%'),  # narrows; checked below
        )
        .order_by(Message.id)
        .limit(500)
    )
    found = []
    for message_id, conversation_id, channel, meta in rows.all():
        if not media_pending(meta):
            continue
        touched = await session.execute(
            update(Message)
            .where(Message.id == message_id, Message.updated_at <= now - MEDIA_GRACE)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if touched.rowcount == 1:  # type: ignore[attr-defined]
            found.append((int(message_id), int(conversation_id), FETCH_MEDIA_JOBS[channel]))
    return found

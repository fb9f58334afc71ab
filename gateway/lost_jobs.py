"""Finding sends whose job is gone, for the reconciler. A message or webhook delivery waits
(`pending`, `retrying`) while its one job, named after the row (`gateway.queues.
keyed_job_id`), waits in Redis. When the row has not moved for LOST_AFTER and Redis holds no
waiting job for it, the job was lost: Redis restarted, or a worker died holding it. Those
rows are sent again within a minute, not after the longest retry back-off; each is claimed
first, so two reconciler passes at once queue it once. A row left `sending` by a worker
that died mid-attempt is resolved too: a webhook delivery is sent again (receivers
de-duplicate on its delivery id), while a message, which may or may not have reached the
customer, is marked failed for an agent to look at rather than sent twice. An AI turn an
inbound message still awaits (`Message.ai_turn_version`) is run again the same way, and
claimed the same way; storing a turn is claimed once per message, so a turn run twice
answers once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, bindparam, select, update

from gateway.models import Conversation, Message
from gateway.queues import ANSWER_MESSAGE, DELIVER, DELIVER_WEBHOOK, keyed_job_id
from gateway.runtime import Services
from gateway.webhook_jobs import WAITING
from gateway.webhook_tables import WebhookDelivery

LOST_AFTER = timedelta(seconds=30)
# An attempt lasts at most the webhook timeout (10 s); a row still `sending` this long after
# it started belongs to a worker that died.
WEBHOOK_SENDING_STALE = timedelta(seconds=45)
# Channel sends are slower (REST calls with their own timeouts, SMTP), so wait longer.
MESSAGE_SENDING_STALE = timedelta(minutes=3)
# An AI turn lasts at most the model's timeout (8 s by default) plus the offline fallback.
TURN_LOST_AFTER = timedelta(seconds=60)
BATCH = 500
# What the conversation's "needs attention" flag says for such a message.
INTERRUPTED_ATTENTION = "A message may not have reached the customer."
INTERRUPTED = "interrupted"  # the error code of a message a dead worker left mid-send
INTERRUPTED_MESSAGE = (
    "The worker stopped while sending this message, so it may not have reached the "
    "customer. Check with the customer before sending it again."
)


async def without_waiting_job(services: Services, job: str, rows: list[int]) -> list[int]:
    """The rows whose one job (named after the row) is not waiting in Redis."""
    if not rows:
        return []
    ids = [keyed_job_id(job, row) for row in rows]
    waiting = await asyncio.to_thread(services.jobs.waiting, ids)
    return [row for row, job_id in zip(rows, ids, strict=True) if job_id not in waiting]


async def lost_webhooks(services: Services, now: datetime) -> list[int]:
    """Deliveries to send again: waiting with no job, or interrupted mid-attempt (moved
    back to `retrying` here). Each is claimed (`_claim`): another pass may have queued it
    meanwhile, or sent it again, and that job or attempt is left alone."""
    stale, before = now - WEBHOOK_SENDING_STALE, now - LOST_AFTER
    async with services.db.read() as session:
        interrupted = list(await session.scalars(_WEBHOOKS_SENDING, {"before": stale}))
        waiting = list(await session.scalars(_WEBHOOKS_WAITING, {"before": before}))
    moved = await _claim(
        services,
        WebhookDelivery,
        interrupted,
        and_(WebhookDelivery.status == "sending", WebhookDelivery.updated_at <= stale),
        updated_at=now,
        status="retrying",
        last_error="The attempt was interrupted; it is sent again.",
    )
    unqueued = await without_waiting_job(services, DELIVER_WEBHOOK, waiting)
    claimed = await _claim(
        services,
        WebhookDelivery,
        unqueued,
        and_(WebhookDelivery.status.in_(WAITING), WebhookDelivery.updated_at <= before),
        updated_at=now,
    )
    return moved + claimed


async def _claim(
    services: Services,
    table: type[WebhookDelivery] | type[Message],
    rows: list[int],
    still: ColumnElement[bool],
    **values: object,
) -> list[int]:
    """The rows this pass takes, so that of two passes at once only one queues a row's job
    again: those where `still` holds (the row is as the pass found it: in the same state,
    its timestamp not moved since), written with `values` (that timestamp set to now among
    them, so no other pass that found the row takes it too)."""
    if not rows:
        return []
    async with services.db.transaction() as session:
        claimed = await session.scalars(
            update(table)
            .where(table.id.in_(rows), still)
            .values(**values)
            .returning(table.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(claimed)


async def lost_messages(services: Services, now: datetime) -> list[tuple[int, int]]:
    """Outbound messages, as (message, conversation), waiting with no job. Each is claimed
    (`_claim`): with two jobs, a send that failed would be tried again at once by the
    second instead of after its back-off."""
    before = now - LOST_AFTER
    async with services.db.read() as session:
        rows = (await session.execute(_MESSAGES_PENDING, {"before": before})).all()
    conversations = {int(message): int(conversation) for message, conversation in rows}
    lost = await without_waiting_job(services, DELIVER, list(conversations))
    claimed = await _claim(
        services,
        Message,
        lost,
        and_(Message.delivery_status == "pending", Message.updated_at <= before),
        updated_at=now,
    )
    return [(message, conversations[message]) for message in claimed]


async def interrupted_messages(services: Services, now: datetime) -> list[tuple[int, int]]:
    """Outbound messages left `sending` by a dead worker, marked failed here; returns them
    as (message, conversation) so the caller flags the conversations."""
    async with services.db.read() as session:
        rows = (
            await session.execute(_MESSAGES_SENDING, {"before": now - MESSAGE_SENDING_STALE})
        ).all()
    if not rows:
        return []
    found = []
    async with services.db.transaction() as session:
        for message_id, conversation_id in rows:
            marked = await session.execute(
                update(Message)
                .where(Message.id == message_id, Message.delivery_status == "sending")
                .values(
                    delivery_status="failed",
                    error_code=INTERRUPTED,
                    error_message=INTERRUPTED_MESSAGE,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if marked.rowcount == 1:  # type: ignore[attr-defined]
                found.append((int(message_id), int(conversation_id)))
    return found


async def lost_turns(services: Services, now: datetime) -> list[tuple[int, int, int]]:
    """AI turns still owed with no job, as (message, conversation, version). A turn whose
    conversation left the AI, or moved to another ownership version, is obsolete: the
    message stops waiting for it here. Each turn queued again is claimed (`_claim`), its
    `routed_at` moved to now: with two jobs, two workers would each ask the model."""
    before = now - TURN_LOST_AFTER
    async with services.db.read() as session:
        rows = (await session.execute(_TURNS_OWED, {"before": before})).all()
    owed = {
        int(message): (int(conversation), int(version))
        for message, conversation, version, state, current in rows
        if state == "ai" and version == current
    }
    obsolete = [int(row[0]) for row in rows if int(row[0]) not in owed]
    if obsolete:
        async with services.db.transaction() as session:
            await session.execute(
                update(Message)
                .where(Message.id.in_(obsolete))
                .values(ai_turn_version=None)
                .execution_options(synchronize_session=False)
            )
    lost = await without_waiting_job(services, ANSWER_MESSAGE, list(owed))
    claimed = await _claim(
        services,
        Message,
        lost,
        and_(Message.ai_turn_version.is_not(None), Message.routed_at <= before),
        routed_at=now,
    )
    return [(message, *owed[message]) for message in claimed]


# Read on every pass (every 2 s), so built once; the writes above happen only when needed.
_WEBHOOKS_SENDING = (
    select(WebhookDelivery.id)
    .where(WebhookDelivery.status == "sending", WebhookDelivery.updated_at <= bindparam("before"))
    .limit(BATCH)
)
_WEBHOOKS_WAITING = (
    select(WebhookDelivery.id)
    .where(
        WebhookDelivery.status.in_(WAITING),
        WebhookDelivery.updated_at <= bindparam("before"),
    )
    .order_by(WebhookDelivery.id)
    .limit(BATCH)
)


def _outbound(status: str) -> Select[int, int]:
    """Outbound messages, as (message, conversation), in `status` since before `before`."""
    return (
        select(Message.id, Message.conversation_id)
        .where(
            Message.delivery_status == status,
            Message.direction == "outbound",
            Message.updated_at <= bindparam("before"),
        )
        .order_by(Message.id)
        .limit(BATCH)
    )


_MESSAGES_PENDING = _outbound("pending")
_MESSAGES_SENDING = _outbound("sending")
_TURNS_OWED = (
    select(
        Message.id,
        Message.conversation_id,
        Message.ai_turn_version,
        Conversation.state,
        Conversation.ownership_version,
    )
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(Message.ai_turn_version.is_not(None), Message.routed_at <= bindparam("before"))
    .order_by(Message.id)
    .limit(BATCH)
)

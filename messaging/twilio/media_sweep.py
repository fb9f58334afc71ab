"""The Twilio channel's reconciler sweep: media of an incoming MMS or WhatsApp message still
pending long after the message arrived (the process died between storing the message and
enqueueing its fetch, or Redis lost the job) are fetched again. A message's `meta["media"]`
holds one `{"status": ...}` entry per attachment; the fetch job skips items already kept,
so a repeat is harmless."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, select, update

from gateway.channels import Sweep
from gateway.models import Message
from gateway.queues import INTAKE, SEND_RETRY
from gateway.runtime import Services
from messaging.twilio.addresses import SMS, WHATSAPP
from messaging.twilio.inbound import FETCH_MEDIA

# Longer than a fetch job's whole retry schedule (which touches the message each attempt),
# so a fetch still retrying is never doubled; after a day a pending item is left as it is.
MEDIA_GRACE = timedelta(minutes=15)
MEDIA_GIVE_UP = timedelta(days=1)


def media_pending(meta: dict[str, Any] | None) -> bool:
    """Whether a message still waits for one of its media items to be fetched."""
    items = (meta or {}).get("media")
    return isinstance(items, list) and any(
        isinstance(item, dict) and item.get("status") == "pending" for item in items
    )


async def stalled_media(services: Services, now: datetime) -> list[tuple[int, int]]:
    """Inbound messages whose media has been pending since MEDIA_GRACE ago (its fetch job
    was never enqueued, or was lost), as (message, conversation). Each one found is
    touched, so the next pass leaves it alone for another MEDIA_GRACE. Looking takes a
    read; only a pass that finds some takes the writers' turn."""
    async with services.db.read() as session:
        rows = await session.execute(
            select(Message.id, Message.conversation_id, Message.meta)
            .where(
                Message.direction == "inbound",
                Message.channel.in_([SMS, WHATSAPP]),
                Message.updated_at <= now - MEDIA_GRACE,
                Message.created_at >= now - MEDIA_GIVE_UP,
                cast(Message.meta, String).like('%"pending"%'),  # narrows; checked below
            )
            .order_by(Message.id)
            .limit(500)
        )
        candidates = [
            (int(message_id), int(conversation_id))
            for message_id, conversation_id, meta in rows.all()
            if media_pending(meta)
        ]
    if not candidates:
        return []
    found = []
    async with services.db.transaction() as session:
        for message_id, conversation_id in candidates:
            touched = await session.execute(
                update(Message)
                .where(Message.id == message_id, Message.updated_at <= now - MEDIA_GRACE)
                .values(updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if touched.rowcount == 1:  # type: ignore[attr-defined]
                found.append((message_id, conversation_id))
    return found


async def refetch_stalled_media(services: Services, now: datetime) -> int:
    stalled = await stalled_media(services, now)
    for message_id, conversation_id in stalled:
        await services.jobs.enqueue_async(
            INTAKE, FETCH_MEDIA, message_id, retry=SEND_RETRY, conversation_id=conversation_id
        )
    return len(stalled)


MEDIA_SWEEP = Sweep("media", refetch_stalled_media)

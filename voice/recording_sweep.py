"""The voice channel's reconciler sweep: a call whose recording Twilio reported but whose
audio is not in the conversation long after (the process died between the callback and
the enqueue, or Redis lost the job) gets its fetch enqueued again. The fetch keeps the
audio once per RecordingSid, so a repeat is harmless; each call found is touched, so the
next pass leaves it alone for another grace period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, literal, select, update

from gateway.channels import Sweep
from gateway.models import Message
from gateway.queues import INTAKE
from gateway.runtime import Services
from voice.models import VoiceCall
from voice.recording import CHANNEL, FETCH_RECORDING, FETCH_RETRY, provider_id

# Longer than a fetch job's whole retry schedule, so a fetch still retrying is not doubled;
# after two days a recording that could not be fetched is left as it is.
GRACE = timedelta(hours=1)
GIVE_UP = timedelta(days=2)


async def refetch_lost_recordings(services: Services, now: datetime) -> int:
    kept = exists().where(
        Message.organization_id == VoiceCall.organization_id,
        Message.channel == CHANNEL,
        Message.provider_message_id == literal(provider_id("")).concat(VoiceCall.recording_sid),
    )
    async with services.db.read() as session:  # the writers' turn only when some are found
        rows = await session.execute(
            select(VoiceCall.id, VoiceCall.conversation_id)
            .where(
                VoiceCall.recording_sid.is_not(None),
                VoiceCall.recording_url.is_not(None),
                VoiceCall.updated_at <= now - GRACE,
                VoiceCall.created_at >= now - GIVE_UP,
                ~kept,
            )
            .order_by(VoiceCall.id)
            .limit(500)
        )
        candidates = rows.all()
    if not candidates:
        return 0
    found = []
    async with services.db.transaction() as session:
        for call_id, conversation_id in candidates:
            touched = await session.execute(
                update(VoiceCall)
                .where(VoiceCall.id == call_id, VoiceCall.updated_at <= now - GRACE)
                .values(updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if touched.rowcount == 1:  # type: ignore[attr-defined]
                found.append((int(call_id), int(conversation_id)))
    for call_id, conversation_id in found:
        await services.jobs.enqueue_async(
            INTAKE, FETCH_RECORDING, call_id, retry=FETCH_RETRY, conversation_id=conversation_id
        )
    return len(found)


RECORDING_SWEEP = Sweep("recordings", refetch_lost_recordings)

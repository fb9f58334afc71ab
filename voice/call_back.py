"""An agent's line that drops moments after they joined (`dropped_after_connect`: they left
the conference within `DROPPED_WITHIN_SECONDS`, and nobody ended it from the desk) is
called back once. The caller goes back on hold in a new transfer round that dials only
that agent (`transfer.CALL_BACK_POSITION`); the agent hears the whisper and presses 1 again, which
finds the conversation still theirs. If the call-back reaches nobody, or the line drops
again, the caller is back with the AI and hears why."""

from __future__ import annotations

from sqlalchemy import update

from gateway.models import Message, utcnow
from gateway.runtime import Services
from voice import words
from voice.caller import CHANNEL
from voice.calls import CallView
from voice.models import TransferAttempt, VoiceCall
from voice.transfer import CALL_BACK, CALL_BACK_POSITION, place

DROPPED_WITHIN_SECONDS = 5  # an agent gone this soon after joining dropped, not finished
HEARD = (words.DROPPED, words.CALLING_BACK)  # what the caller hears, on hold again


async def call_back(services: Services, found: CallView, dropped: TransferAttempt) -> int | None:
    """Put the caller on hold in a new round and dial the dropped agent again; returns
    the round, or None when this is not to be (the drop was itself a call-back, the call
    moved on meanwhile, or Twilio refused the call)."""
    if dropped.position == CALL_BACK_POSITION:
        return None
    round_ = dropped.round + 1
    async with services.db.transaction() as session:
        moved = await session.execute(
            update(VoiceCall)
            .where(
                VoiceCall.id == found.call.id,
                VoiceCall.phase == "agent",
                VoiceCall.transfer_round == dropped.round,
            )
            .values(
                phase="hold",
                transfer_round=round_,
                agent_id=None,
                hold_started_at=utcnow(),
                hold_told_attempt=0,
            )
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return None
        attempt = TransferAttempt(
            organization_id=dropped.organization_id,
            call_id=dropped.call_id,
            round=round_,
            position=CALL_BACK_POSITION,
            agent_id=dropped.agent_id,
            target_number=dropped.target_number,
            target_label=dropped.target_label,
            status="dialing",
            status_sequence=-1,
            detail=CALL_BACK,
        )
        session.add(attempt)
        now = utcnow()
        session.add(  # the transcript keeps what the caller heard
            Message(
                organization_id=dropped.organization_id,
                conversation_id=found.call.conversation_id,
                direction="outbound",
                author="system",
                channel=CHANNEL,
                text=" ".join(HEARD),
                attachments=[],
                meta={"voice": "call_back", "call_sid": found.call.call_sid},
                delivery_status="delivered",
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        attempt_id = attempt.id
    if not await place(services, found, attempt_id, dropped.target_number):
        return None
    return round_

"""What happens while the caller holds: the hold audio (the organization's hold message,
or a line for the outcome of a transfer attempt that ended since the last line, so the
caller knows they are not forgotten), and the conference's events (when the agent joins,
the attempt records it; when the waiting caller leaves, ringing agents are stopped)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select, update

from gateway.models import utcnow
from gateway.runtime import Services
from voice import twiml, urls, words
from voice.calls import CallView
from voice.models import TransferAttempt, VoiceCall
from voice.transfer import caller_left


async def hold_audio(services: Services, found: CallView, round_: int) -> str:
    call = found.call
    lines: list[str] = []
    async with services.db.transaction() as session:
        latest = await session.scalar(
            select(TransferAttempt)
            .where(
                TransferAttempt.call_id == call.id,
                TransferAttempt.round == round_,
                TransferAttempt.outcome.is_not(None),
                TransferAttempt.id > call.hold_told_attempt,
            )
            .order_by(TransferAttempt.id.desc())
            .limit(1)
        )
        if latest is not None and latest.outcome in words.ON_HOLD_AFTER:
            lines.append(words.ON_HOLD_AFTER[latest.outcome])
        else:
            lines.append(found.settings.hold_message)
        if latest is not None:
            await session.execute(
                update(VoiceCall)
                .where(VoiceCall.id == call.id, VoiceCall.hold_told_attempt < latest.id)
                .values(hold_told_attempt=latest.id)
                .execution_options(synchronize_session=False)
            )
    again = urls.url(services.settings, urls.HOLD, c=call.id, r=round_)
    return twiml.hold_music(twiml.Voice.of(found.settings), lines, again)


async def conference_event(
    services: Services, found: CallView, round_: int, form: Mapping[str, str]
) -> None:
    """Record when the agent joins the caller's conference; when the waiting caller leaves
    it (they hung up), stop ringing agents at once, even before the call's own status
    callback arrives (or when the number has none configured)."""
    event, label = form.get("StatusCallbackEvent"), form.get("ParticipantLabel")
    if event == "participant-leave" and label == "customer":
        if found.call.phase == "hold" and found.call.transfer_round == round_:
            await caller_left(services, found.call.id)
        return
    if event != "participant-join" or label != "agent":
        return
    async with services.db.transaction() as session:
        await session.execute(
            update(TransferAttempt)
            .where(
                TransferAttempt.call_id == found.call.id,
                TransferAttempt.round == round_,
                TransferAttempt.outcome == "accepted",
                TransferAttempt.joined_at.is_(None),
            )
            .values(joined_at=utcnow())
            .execution_options(synchronize_session=False)
        )

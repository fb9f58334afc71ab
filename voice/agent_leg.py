"""The agent's side of a warm transfer: the whisper the agent hears when they answer (who
is calling, the first line of the AI's summary, the reason), their key press, and the
agent leg's status and answering-machine callbacks. Pressing 1 claims the conversation
through the ownership state machine (`gateway.claims`: the notice, timer and webhook of
any claim follow), so a claim on the queue page and a press of 1 race safely: exactly one
of them owns the conversation, and the other agent hears that the call was already
taken. Two copies of one press (Twilio retrying a slow request) both join the agent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from gateway import claims, ownership
from gateway.errors import OwnershipChanged
from gateway.events import Event
from gateway.models import Contact, Conversation, utcnow
from gateway.ownership import State
from gateway.runtime import Services
from voice import twiml, urls, words
from voice.calls import CallView, sequence_of, view_in
from voice.models import TransferAttempt, VoiceCall
from voice.transfer import CALL_ME, decide, dial_next, hang_up_agent

MACHINE = ("machine_", "fax")
FAILED_STATUSES = {"busy": "busy", "no-answer": "no_answer", "failed": "failed"}


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempt: TransferAttempt
    found: CallView


async def attempt_view(services: Services, attempt_id: int) -> AttemptView | None:
    async with services.db.transaction() as session:
        attempt = await session.get(TransferAttempt, attempt_id)
        if attempt is None:
            return None
        found = await view_in(session, attempt.call_id)
        assert found is not None
    return AttemptView(attempt, found)


def _refusal(outcome: str) -> str:
    return words.AGENT_CALLER_LEFT if outcome == "caller_left" else words.AGENT_TAKEN


async def whisper(services: Services, seen: AttemptView) -> str:
    """What the agent hears on answering: the call in one sentence, then 1 or 2."""
    voice = twiml.Voice.of(seen.found.settings)
    attempt, call = seen.attempt, seen.found.call
    if attempt.outcome is None and call.phase == "ended":
        await decide(services, attempt.id, "caller_left", go_on=False)
        return twiml.goodbye(voice, [words.AGENT_CALLER_LEFT])
    if attempt.outcome is not None:
        return twiml.goodbye(voice, [_refusal(attempt.outcome)])
    if attempt.detail == CALL_ME:  # they chose this call on the desk: no whisper, no key
        return await answer(services, seen, "1")
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, call.conversation_id)
        assert conversation is not None
        name = await session.scalar(
            select(Contact.name).where(Contact.id == conversation.contact_id)
        )
        summary = (conversation.summary or "").strip().splitlines()
        reason = conversation.handoff_reason or "they asked for a person"
        await session.execute(
            update(TransferAttempt)
            .where(TransferAttempt.id == attempt.id, TransferAttempt.answered_at.is_(None))
            .values(answered_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    first_line = twiml.speakable(summary[0], twiml.WHISPER_SUMMARY_CHARS) if summary else ""
    line = words.WHISPER.format(
        name=name or f"a caller at {call.from_number}",
        summary=_with_reason(first_line, twiml.speakable(reason, 200).rstrip(".")),
    )
    action = urls.url(services.settings, urls.AGENT_ANSWER, a=attempt.id)
    return twiml.whisper(voice, [line], action)


def _with_reason(first_line: str, reason: str) -> str:
    """The summary's first line, then the reason unless that line already gives it (the
    summary of this handoff does; one from an earlier handoff may not)."""
    if reason.casefold() in first_line.casefold():
        return first_line
    return " ".join(
        part for part in (first_line, words.WHISPER_REASON.format(reason=reason)) if part
    )


async def answer(services: Services, seen: AttemptView, digits: str) -> str:
    """The agent's key: 1 takes the call (if it is still theirs to take), anything else
    (or nothing) declines it."""
    voice = twiml.Voice.of(seen.found.settings)
    attempt = seen.attempt
    if attempt.outcome == "accepted":  # Twilio repeated the request
        return twiml.join_caller(urls.room(attempt.call_id, attempt.round))
    if attempt.outcome is not None:
        return twiml.goodbye(voice, [_refusal(attempt.outcome)])
    if digits != "1":
        detail = "pressed 2" if digits == "2" else "pressed no key"
        await decide(services, attempt.id, "declined", detail=detail)
        return twiml.goodbye(voice, [words.AGENT_DECLINED])
    try:
        outcome = await _claim(services, seen)
    except OwnershipChanged:
        outcome = "claimed_elsewhere"
    if outcome == "accepted" or await _accepted(services, attempt.id):
        # the other case: a copy of this press, sent by Twilio at the same time, took the
        # call first; Twilio keeps the answer to its last copy, so this one joins too
        return twiml.join_caller(urls.room(attempt.call_id, attempt.round))
    await decide(services, attempt.id, outcome)
    return twiml.goodbye(voice, [_refusal(outcome)])


async def _accepted(services: Services, attempt_id: int) -> bool:
    async with services.db.read(quick=True) as session:
        outcome = await session.scalar(
            select(TransferAttempt.outcome).where(TransferAttempt.id == attempt_id)
        )
    return outcome == "accepted"


async def _claim(services: Services, seen: AttemptView) -> str:
    attempt = seen.attempt
    async with services.db.transaction() as session:
        # locked: a hang-up of the caller stored meanwhile would be overwritten with "agent"
        call = await session.get(VoiceCall, attempt.call_id, with_for_update=True)
        assert call is not None
        if call.phase != "hold" or call.transfer_round != attempt.round:
            return "caller_left" if call.phase == "ended" else "claimed_elsewhere"
        conversation = await session.get(Conversation, call.conversation_id)
        assert conversation is not None
        state = State(conversation.state)
        mine = attempt.agent_id is not None and conversation.assigned_agent_id == attempt.agent_id
        if state is State.QUEUED and attempt.agent_id is not None:
            try:  # the same claim as on the queue page, with all that follows it
                await claims.claim(
                    session,
                    services.jobs,
                    conversation,
                    attempt.agent_id,
                    reason="took the call by phone",
                )
            except OwnershipChanged:
                return "claimed_elsewhere"
        elif not (state is State.QUEUED or (state in ownership.HUMAN_STATES and mine)):
            return "claimed_elsewhere"
        # an external number (no agent) takes the call without owning the conversation
        decided = await session.execute(
            update(TransferAttempt)
            .where(TransferAttempt.id == attempt.id, TransferAttempt.outcome.is_(None))
            .values(outcome="accepted", detail=attempt.detail or "pressed 1")
            .execution_options(synchronize_session=False)
        )
        if decided.rowcount != 1:  # type: ignore[attr-defined]
            raise OwnershipChanged("the attempt was decided meanwhile")
        call.phase = "agent"
        call.agent_id = attempt.agent_id
        event = Event(
            "state",
            conversation.organization_id,
            conversation.id,
            {
                "state": conversation.state,
                "ownership_version": conversation.ownership_version,
                "handoff_reason": conversation.handoff_reason,
                "assigned_agent_id": conversation.assigned_agent_id,
                "call": "with_agent",
            },
        )
    await services.events.publish(event)
    return "accepted"


async def leg_status(services: Services, seen: AttemptView, form: dict[str, str]) -> None:
    """Apply an agent leg's status callback (newest SequenceNumber only) and decide the
    attempt when the leg failed to reach anyone."""
    status = form.get("CallStatus", "")[:16]
    sequence = sequence_of(form.get("SequenceNumber"))
    attempt = seen.attempt
    async with services.db.transaction() as session:
        moved = await session.execute(
            update(TransferAttempt)
            .where(TransferAttempt.id == attempt.id, TransferAttempt.status_sequence < sequence)
            .values(status=status, status_sequence=sequence)
            .execution_options(synchronize_session=False)
        )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return  # older than what we know, or a repeat
    if status in FAILED_STATUSES:
        await decide(services, attempt.id, FAILED_STATUSES[status])
    elif status == "canceled":
        await decide(services, attempt.id, "caller_left", go_on=False)
    elif status == "completed" and attempt.outcome is None:
        await decide(services, attempt.id, "declined", detail="hung up without pressing a key")


async def machine_detected(services: Services, seen: AttemptView, answered_by: str) -> None:
    """An answering machine or fax picked up: hang up on it and try the next target. The
    outcome is decided first, so a press of 1 stored meanwhile keeps the agent's line."""
    async with services.db.transaction() as session:
        await session.execute(
            update(TransferAttempt)
            .where(TransferAttempt.id == seen.attempt.id)
            .values(answered_by=answered_by[:32])
            .execution_options(synchronize_session=False)
        )
    if not answered_by.startswith(MACHINE) or seen.attempt.outcome is not None:
        return
    if await decide(services, seen.attempt.id, "voicemail", detail=answered_by, go_on=False):
        await hang_up_agent(services, seen.found, seen.attempt)
        await dial_next(services, seen.attempt.call_id, seen.attempt.round)

"""Coming back from a transfer: the conference ended (the agent hung up, so the caller
goes back to the AI through the state machine and hears "anything else?"), the caller was
moved off hold because nobody could take the call (the offer), and the caller's answer to
the offer (a text back, or the AI again). Turn numbers after transfer round r start at
r*1000, so each utterance keeps a unique id without a counter."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping

from sqlalchemy import select, update

from gateway import ownership
from gateway.errors import IllegalTransition, OwnershipChanged
from gateway.events import Event, EventHub
from gateway.intake import Intake
from gateway.models import Conversation, utcnow
from gateway.outbound import queue_outbound
from gateway.ownership import State
from gateway.runtime import Services
from voice import caller, twiml, words
from voice.call_back import DROPPED_WITHIN_SECONDS, HEARD, call_back
from voice.calls import CallView, view
from voice.models import TransferAttempt, VoiceCall
from voice.text_back import send_text_back

_YES = re.compile(r"\b(yes|yeah|yep|sure|ok|okay|please)\b", re.IGNORECASE)
_ONE = re.compile(r"\W*(1|one)\W*", re.IGNORECASE)  # "press 1", said instead of pressed


def first_turn_after(round_: int) -> int:
    return round_ * 1000


async def _back_to_ai(
    services: Services, found: CallView, *, source: set[State], reason: str, notice: str
) -> None:
    """The conversation returns to the AI (if it is still where we left it), the call is
    with the AI again, and the line the caller hears is kept in the transcript."""
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, found.call.conversation_id)
        assert conversation is not None
        if State(conversation.state) in source:
            # someone may have moved it meanwhile; the AI answers only if it is the AI's
            with contextlib.suppress(IllegalTransition, OwnershipChanged):
                await ownership.transition(
                    session, conversation, State.AI, actor=ownership.SYSTEM, reason=reason
                )
        await session.execute(
            update(VoiceCall)
            .where(VoiceCall.id == found.call.id, VoiceCall.phase != "ended")
            .values(phase="ai", agent_id=None, offer=None)
            .execution_options(synchronize_session=False)
        )
        # said in this very answer: stored as delivered, with no delivery job
        await queue_outbound(
            session,
            services.jobs,
            conversation,
            author="system",
            text=notice,
            notice="back_to_ai",
            delivered=True,
        )
        event = Event(
            "state",
            conversation.organization_id,
            conversation.id,
            {
                "state": conversation.state,
                "ownership_version": conversation.ownership_version,
                "assigned_agent_id": conversation.assigned_agent_id,
                "call": "with_ai",
            },
        )
    await services.events.publish(event)


async def dial_done(
    services: Services, found: CallView, round_: int, *, from_desk: bool = False
) -> str:
    """The caller's conference is over (or an agent sent the caller back from the desk:
    `from_desk`, never a dropped line)."""
    call = found.call
    if call.phase == "offer" or (call.phase == "hold" and call.transfer_round == round_):
        return caller.offer(services, found, round_, call.offer or "exhausted", [])
    if call.phase != "agent" or call.transfer_round != round_:
        return caller.ask_next(services, found, [words.ANYTHING_ELSE], first_turn_after(round_))
    lines = [words.AGENT_LEFT, words.ANYTHING_ELSE]
    dropped = None
    async with services.db.transaction() as session:
        accepted = await session.scalar(
            select(TransferAttempt).where(
                TransferAttempt.call_id == call.id,
                TransferAttempt.round == round_,
                TransferAttempt.outcome == "accepted",
            )
        )
        if accepted is not None:
            now = utcnow()
            joined = accepted.joined_at or accepted.answered_at or now
            accepted.ended_at = now
            if not from_desk and (now - joined).total_seconds() < DROPPED_WITHIN_SECONDS:
                accepted.outcome = "dropped_after_connect"
                dropped = accepted
    if dropped is not None:
        again = await call_back(services, found, dropped)
        if again is not None:
            return caller.hold(services, found, again, list(HEARD))
        lines = [words.DROPPED, words.ANYTHING_ELSE]
    why = "the line to the agent dropped" if dropped is not None else "the agent hung up"
    return await _after_transfer(services, found, round_, lines, why)


async def _after_transfer(
    services: Services, found: CallView, round_: int, lines: list[str], why: str
) -> str:
    await _back_to_ai(
        services,
        found,
        source={State.ASSIGNED, State.MANUAL, State.QUEUED},
        reason=f"{why}; the caller is back with the AI",
        notice=" ".join(lines),
    )
    refreshed = await view(services.db, found.call.id)
    assert refreshed is not None
    return caller.ask_next(services, refreshed, lines, first_turn_after(round_))


async def resume(services: Services, found: CallView, round_: int) -> str:
    """The caller, moved off hold because nobody could take it, hears the offer; moved
    off hold because a dropped agent could not be called back, is back with the AI."""
    call = found.call
    if call.phase == "offer":
        return caller.offer(services, found, round_, call.offer or "exhausted", [])
    if call.phase == "hold" and call.transfer_round == round_:
        lines = [words.CALL_BACK_FAILED, words.ANYTHING_ELSE]
        return await _after_transfer(
            services, found, round_, lines, "the dropped agent could not be called back"
        )
    return caller.after_ai(services, found)


async def offer_answer(
    services: Services,
    intake: Intake,
    hub: EventHub,
    found: CallView,
    round_: int,
    form: Mapping[str, str],
    declined_already: bool,
) -> str:
    """Yes (or 1): one SMS, and goodbye; anything else: back to the AI."""
    call = found.call
    if call.phase != "offer" or call.transfer_round != round_:
        return caller.after_ai(services, found)
    speech = (form.get("SpeechResult") or "").strip()
    digits = (form.get("Digits") or "").strip()
    said_yes = bool(_YES.search(speech) or _ONE.fullmatch(speech))
    wants_text = not declined_already and (digits == "1" or said_yes)
    if wants_text:
        sent = await send_text_back(services, found)
        line = words.TEXT_BACK_SENT if sent else words.TEXT_BACK_IMPOSSIBLE
        return twiml.goodbye(twiml.Voice.of(found.settings), [line])
    await _back_to_ai(
        services,
        found,
        source={State.QUEUED},
        reason="nobody could take the call; the caller stayed with the AI",
        notice=words.BACK_WITH_AI,
    )
    refreshed = await view(services.db, call.id)
    assert refreshed is not None
    n = first_turn_after(round_)
    if speech and not re.fullmatch(r"\W*(no|nope|no thanks?)\W*", speech, re.IGNORECASE):
        return await caller.turn(services, intake, hub, refreshed, n + 1, form)
    return caller.ask_next(services, refreshed, [words.BACK_WITH_AI], n)

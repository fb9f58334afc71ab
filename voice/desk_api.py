"""What the agents' desk reads and does about a conversation's calls. `GET
/api/conversations/<id>/calls` gives each call of a voice conversation with its live state
in plain words (with the AI, on hold for N s, with Dana, ended), its duration and
recording, and every transfer attempt with its outcome. From a call waiting on hold an
agent can ask to be dialled in ("Call me": no whisper, since they chose it); an agent can
end a live call, or send the caller back to the AI (the caller hears "anything else?", and
the conversation returns to the AI through the state machine)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue
from sqlalchemy import select, update

from gateway.auth import Role, current_agent, login_required, require_role
from gateway.errors import BadInput, Conflict, DeliveryError, NotFound, PermanentDeliveryError
from gateway.models import Agent, Conversation, utcnow
from gateway.openapi import INTEGER, STRING, array, documented, nullable, obj
from gateway.web import app_services, database
from messaging.twilio import rest
from voice import urls
from voice.calls import view_in
from voice.models import AgentPhone, TransferAttempt, VoiceCall
from voice.recording import audio_urls
from voice.transfer import CALL_ME, credentials, decide, hang_up_agent, place

voice_desk = Blueprint("voice_desk", __name__)
TAGS = ["voice"]
# Twilio's answers to ending a call no longer in progress: 404 with 20404 "resource not
# found" (as pipecat-ai/pipecat issue 2145 saw), or 21220 "invalid call state".
CALL_OVER = frozenset({"20404", "21220"})
OUTCOME_WORDS = {
    None: "ringing",
    "accepted": "took the call",
    "declined": "declined",
    "no_answer": "didn't answer",
    "busy": "was busy",
    "failed": "couldn't be reached",
    "voicemail": "voicemail answered",
    "claimed_elsewhere": "someone else took it first",
    "caller_left": "the caller hung up first",
    "dropped_after_connect": "the line dropped after connecting",
    "exhausted": "nobody left to try",
}
ATTEMPT = obj(
    ["target", "number", "outcome", "outcome_text"],
    target=STRING,
    number=STRING,
    outcome=nullable(STRING),
    outcome_text=STRING,
    started_at=STRING,
    ended_at=nullable(STRING),
)
CALL = obj(
    ["id", "state", "state_text", "attempts"],
    id=INTEGER,
    state=STRING,
    state_text=STRING,
    caller=STRING,
    started_at=STRING,
    ended_at=nullable(STRING),
    duration_seconds=nullable(INTEGER),
    recording_url=nullable(
        {**STRING, "description": "the kept recording's audio (GET /api/media/{key}), if any"}
    ),
    recording_seconds=nullable(INTEGER),
    attempts=array(ATTEMPT),
)


def _state(call: VoiceCall, agent_name: str | None) -> str:
    if call.phase == "ended":
        return "ended"
    if call.phase == "hold" and call.hold_started_at is not None:
        return f"on hold for {int((utcnow() - call.hold_started_at).total_seconds())} s"
    if call.phase == "agent":
        return f"with {agent_name or 'a person'}"
    if call.phase == "offer":
        return "hearing the text-back offer"
    return "with the AI"


async def _calls_of(conversation_id: int) -> list[dict[str, Any]]:
    agent = current_agent()
    async with database().transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None or conversation.organization_id != agent.organization_id:
            raise NotFound("no such conversation")
        calls = (
            await session.scalars(
                select(VoiceCall)
                .where(VoiceCall.conversation_id == conversation_id)
                .order_by(VoiceCall.id.desc())
                .limit(20)
            )
        ).all()
        audio = await audio_urls(session, list(calls))
        shown = []
        for call in calls:
            attempts = (
                await session.scalars(
                    select(TransferAttempt)
                    .where(TransferAttempt.call_id == call.id)
                    .order_by(TransferAttempt.id)
                )
            ).all()
            name = None
            if call.agent_id is not None:
                name = await session.scalar(select(Agent.name).where(Agent.id == call.agent_id))
            shown.append(
                {
                    "id": call.id,
                    "state": call.phase,
                    "state_text": _state(call, name),
                    "caller": call.from_number,
                    "started_at": call.created_at,
                    "ended_at": call.ended_at,
                    "duration_seconds": call.duration_seconds,
                    "recording_url": audio.get(call.id),
                    "recording_seconds": call.recording_seconds,
                    "attempts": [
                        {
                            "target": attempt.target_label or attempt.target_number,
                            "number": attempt.target_number,
                            "outcome": attempt.outcome,
                            "outcome_text": OUTCOME_WORDS.get(attempt.outcome, ""),
                            "started_at": attempt.created_at,
                            "ended_at": attempt.ended_at,
                        }
                        for attempt in attempts
                    ],
                }
            )
    return shown


@voice_desk.get("/api/conversations/<int:conversation_id>/calls")
@login_required()
@documented(
    "A conversation's calls: live state, duration, recording and transfer attempts",
    tags=TAGS,
    response=obj(["calls"], calls=array(CALL)),
    errors=(404,),
)
async def conversation_calls(conversation_id: int) -> ResponseReturnValue:
    return jsonify({"calls": await _calls_of(conversation_id)})


async def _live_call(conversation_id: int) -> tuple[Any, Agent]:
    agent = require_role(Role.AGENT)
    async with database().transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None or conversation.organization_id != agent.organization_id:
            raise NotFound("no such conversation")
        call_id = await session.scalar(
            select(VoiceCall.id)
            .where(VoiceCall.conversation_id == conversation_id, VoiceCall.phase != "ended")
            .order_by(VoiceCall.id.desc())
            .limit(1)
        )
        if call_id is None:
            raise Conflict("this conversation has no call in progress", code="no_live_call")
        found = await view_in(session, call_id)
    return found, agent


@voice_desk.post("/api/conversations/<int:conversation_id>/call/end")
@login_required()
@documented(
    "End the conversation's call in progress",
    tags=TAGS,
    response=obj(["ended"], ended={"type": "boolean"}),
    errors=(403, 404, 409, 502),
)
async def end_call(conversation_id: int) -> ResponseReturnValue:
    found, _ = await _live_call(conversation_id)
    try:
        await rest.update_call(
            app_services().services.settings.twilio_api_base_url,
            credentials(found),
            found.call.call_sid,
            status="completed",
        )
    except PermanentDeliveryError as error:
        # Twilio refuses to end a call that is over (a second click, or the caller hung up
        # before Twilio told us): over is what the agent asked for.
        if error.provider_code not in CALL_OVER:
            raise _refused("Twilio did not end the call", error) from error
    except DeliveryError as error:
        raise _refused("Twilio did not end the call", error) from error
    return jsonify({"ended": True})


@voice_desk.post("/api/conversations/<int:conversation_id>/call/back-to-ai")
@login_required()
@documented(
    "Send the caller, now with a person, back to the AI",
    tags=TAGS,
    description="The caller leaves the conference, hears 'anything else?', and the "
    "conversation returns to the AI.",
    response=obj(["moved"], moved={"type": "boolean"}),
    errors=(403, 404, 409, 502),
)
async def back_to_ai(conversation_id: int) -> ResponseReturnValue:
    found, _ = await _live_call(conversation_id)
    if found.call.phase != "agent":
        raise Conflict("the caller is not with a person now", code="not_with_agent")
    if not await _agent_leaves(found.call, utcnow()):
        return jsonify({"moved": True})  # a second click: already on the way back to the AI
    settings = app_services().services.settings
    try:
        await rest.update_call(
            settings.twilio_api_base_url,
            credentials(found),
            found.call.call_sid,
            url=urls.url(
                settings, urls.DIAL_DONE, c=found.call.id, r=found.call.transfer_round, x="desk"
            ),
        )
    except DeliveryError as error:
        await _agent_leaves(found.call, None)  # not moved: a click can try again
        raise _refused("Twilio did not move the caller back to the AI", error) from error
    return jsonify({"moved": True})


def _refused(what: str, error: DeliveryError) -> DeliveryError:
    """Twilio's refusal of a change to the call, said for the agent who asked for it (the
    REST layer's sentence speaks of a message); Twilio's own words stay in `detail`."""
    return type(error)(
        f"{what}; try again in a moment.", provider_code=error.provider_code, detail=error.detail
    )


async def _agent_leaves(call: VoiceCall, at: datetime | None) -> bool:
    """Mark when the agent who took the call leaves it (once), or unmark it (None)."""
    async with database().transaction() as session:
        marked = await session.execute(
            update(TransferAttempt)
            .where(
                TransferAttempt.call_id == call.id,
                TransferAttempt.round == call.transfer_round,
                TransferAttempt.outcome == "accepted",
                TransferAttempt.ended_at.is_(None)
                if at is not None
                else TransferAttempt.ended_at.is_not(None),
            )
            .values(ended_at=at)
            .execution_options(synchronize_session=False)
        )
    return bool(marked.rowcount == 1)  # type: ignore[attr-defined]


@voice_desk.post("/api/conversations/<int:conversation_id>/call/call-me")
@login_required()
@documented(
    "Be dialled into a call waiting on hold (no whisper: you chose it)",
    tags=TAGS,
    description="Your phone rings (the number in your profile); answering takes the "
    "conversation and joins the caller. A target ringing at that moment is stopped. "
    "Asking again while your phone rings dials nothing more; while another agent's "
    '"Call me" rings, the answer is 409.',
    response=obj(["dialling"], dialling=STRING),
    errors=(400, 403, 404, 409),
)
async def call_me(conversation_id: int) -> ResponseReturnValue:
    found, agent = await _live_call(conversation_id)
    services = app_services().services
    async with database().transaction() as session:
        # one "Call me" at a time per call (a double click, two agents at once): the call's
        # row is locked, and where it stands and what is ringing are read after the lock
        phase, round_ = (
            await session.execute(
                select(VoiceCall.phase, VoiceCall.transfer_round)
                .where(VoiceCall.id == found.call.id)
                .with_for_update()
            )
        ).one()
        if phase != "hold":
            raise Conflict("the caller is not waiting on hold", code="not_waiting")
        phone = await session.get(AgentPhone, agent.id)
        if phone is None:
            raise BadInput(
                "add your phone number first, on the Calls settings page (/calls/settings)"
            )
        ringing = list(
            (
                await session.scalars(
                    select(TransferAttempt).where(
                        TransferAttempt.call_id == found.call.id,
                        TransferAttempt.outcome.is_(None),
                    )
                )
            ).all()
        )
        for other in ringing:
            if other.detail == CALL_ME and other.agent_id == agent.id:
                return jsonify({"dialling": other.target_number})  # already ringing
            if other.detail == CALL_ME:
                raise Conflict(
                    f"{other.target_label} is already being called into this call",
                    code="already_calling",
                )
        attempt = TransferAttempt(
            organization_id=agent.organization_id,
            call_id=found.call.id,
            round=round_,
            position=-2,
            agent_id=agent.id,
            target_number=phone.number,
            target_label=agent.name,
            status="dialing",
            status_sequence=-1,
            detail=CALL_ME,
        )
        session.add(attempt)
        await session.flush()
        attempt_id, number = attempt.id, phone.number
    for other in ringing:
        if await decide(services, other.id, "claimed_elsewhere", go_on=False):
            await hang_up_agent(services, found, other)
    await place(services, found, attempt_id, number)
    return jsonify({"dialling": number})

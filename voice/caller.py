"""The caller's side of a call, from the verified webhook to the TwiML answer: the
greeting, each turn (the utterance goes through intake as a customer message on channel
`voice`; a reply ready in time is spoken on the caller's line, stored with this answer,
and otherwise the answer waits on the conversation's live events), the filler-and-redirect
while the AI is slow, silence and low confidence, the handoff into a conference on hold,
and coming back from it. Every answer stays far inside Twilio's 15 s limit: a turn waits
at most `TURN_BUDGET`, a follow-up wait at most `WAIT_BUDGET`."""

from __future__ import annotations

import time
from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.events import EventHub
from gateway.intake import Intake
from gateway.messages import InboundMessage
from gateway.models import Message
from gateway.on_the_line import OnTheLine
from gateway.runtime import Services
from gateway.turns import receive_and_answer
from voice import calls, transfer, twiml, urls, words
from voice.calls import CallView
from voice.listen import Heard, listen
from voice.models import VoiceCall

TURN_BUDGET = 6.0  # seconds the turn itself waits for the reply
WAIT_BUDGET = 8.0  # seconds each follow-up wait adds
GIVE_UP_AFTER = 30.0  # then the caller is asked to say it again
CHANNEL = "voice"


def _voice(found: CallView) -> twiml.Voice:
    return twiml.Voice.of(found.settings)


def greeting(services: Services, found: CallView) -> str:
    lines = [found.settings.greeting.replace("{business}", found.business)]
    if found.settings.record_calls:
        lines.insert(0, words.RECORDING_NOTICE)
    action = urls.url(services.settings, urls.TURN, c=found.call.id, n=1)
    return twiml.ask(_voice(found), lines, action)


def ask_next(services: Services, found: CallView, lines: list[str], turn: int) -> str:
    action = urls.url(services.settings, urls.TURN, c=found.call.id, n=turn + 1)
    return twiml.ask(_voice(found), lines, action)


async def _set_silences(services: Services, call_id: int, value: int) -> None:
    async with services.db.transaction() as session:
        await session.execute(
            update(VoiceCall)
            .where(VoiceCall.id == call_id)
            .values(silences=value)
            .execution_options(synchronize_session=False)
        )


async def turn(
    services: Services,
    intake: Intake,
    hub: EventHub,
    found: CallView,
    n: int,
    form: Mapping[str, str],
) -> str:
    """One caller turn: what they said (or pressed, or nothing) and what they hear back,
    kept as the answer to this turn (a repeat of the request gets the same)."""
    key = calls.answer_key("turn", n)

    async def speak(session: AsyncSession, lines: list[str]) -> str:
        return await calls.remember_in(
            session, found.call.id, key, ask_next(services, found, lines, n)
        )

    line = OnTheLine(speak)
    answer = await _turn(services, intake, hub, found, n, form, line)
    if line.answer is not None:  # kept with the reply it speaks
        return line.answer
    return await calls.remember(services.db, found.call.id, key, answer)


async def _turn(
    services: Services,
    intake: Intake,
    hub: EventHub,
    found: CallView,
    n: int,
    form: Mapping[str, str],
    line: OnTheLine,
) -> str:
    call, settings = found.call, found.settings
    speech = (form.get("SpeechResult") or "").strip()[:2000]
    digits = (form.get("Digits") or "").strip()[:8]
    if call.phase != "ai":
        return after_ai(services, found)
    if not speech and not digits:
        silences = call.silences + 1
        await _set_silences(services, call.id, silences)
        if silences >= settings.max_silences:
            return twiml.goodbye(_voice(found), [words.NO_SOUND_GOODBYE])
        return ask_next(services, found, [words.STILL_THERE], n)
    if call.silences:  # the caller made a sound, even one too unclear to use
        await _set_silences(services, call.id, 0)
    confidence = _confidence(form.get("Confidence"))
    if speech and not digits and confidence is not None and confidence < settings.min_confidence:
        return ask_next(services, found, [words.REPEAT], n)
    meta: dict[str, object] = {"call_sid": call.call_sid, "turn": n}
    if digits:
        meta["dtmf"] = digits
        # pressing 0 asks for a person: the policy's explicit-request rule sees it so
        text = words.PERSON_REQUEST if digits == "0" else f"(pressed {digits})"
    else:
        text = speech
        meta["confidence"] = confidence
    answering = await receive_and_answer(
        services,
        intake,
        InboundMessage(
            organization_id=call.organization_id,
            channel=CHANNEL,
            sender_kind="phone",
            sender_address=call.from_number,
            text=text,
            provider_message_id=f"{call.call_sid}:{n}",
            thread_key=call.to_number,
            meta=meta,
        ),
        line,
        conversation_id=call.conversation_id,
    )
    started = time.monotonic()
    spoken = await answering.wait(TURN_BUDGET)  # answered here: no events needed
    if spoken is not None:
        return spoken
    budget = max(0.0, TURN_BUDGET - (time.monotonic() - started))
    since = answering.received.message_id
    heard = await listen(services, hub, call.conversation_id, since, budget)
    return await respond(services, found, n, heard, tries=0)


def _confidence(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and 0.0 <= value <= 1.0 else None


async def wait(services: Services, hub: EventHub, found: CallView, n: int, tries: int) -> str:
    """A follow-up wait for the reply to turn `n`."""
    call = found.call
    if call.phase != "ai":
        return after_ai(services, found)
    async with services.db.read(quick=True) as session:
        since = await session.scalar(
            select(Message.id).where(
                Message.organization_id == call.organization_id,
                Message.channel == CHANNEL,
                Message.provider_message_id == f"{call.call_sid}:{n}",
            )
        )
    if since is None:  # no utterance was taken for this turn: listen again
        return ask_next(services, found, [words.STILL_THERE], n)
    heard = await listen(services, hub, call.conversation_id, since, WAIT_BUDGET)
    return await respond(services, found, n, heard, tries=tries)


async def respond(services: Services, found: CallView, n: int, heard: Heard, tries: int) -> str:
    """TwiML for what came of a wait: the reply, the handoff, or another wait."""
    if heard.state != "ai":
        return await hand_over(services, found, heard.lines)
    if heard.replied:
        return ask_next(services, found, heard.lines, n)
    waited = TURN_BUDGET + tries * WAIT_BUDGET
    if waited >= GIVE_UP_AFTER:
        return ask_next(services, found, [*heard.lines, words.TOO_SLOW], n)
    again = urls.url(services.settings, urls.WAIT, c=found.call.id, n=n, t=tries + 1)
    filler = [words.ONE_MOMENT] if tries == 0 else []
    return twiml.wait_again(
        _voice(found), [*heard.lines, *filler], again, pause=0 if tries == 0 else 1
    )


async def hand_over(services: Services, found: CallView, lines: list[str]) -> str:
    """The conversation went to a person: the caller waits in a conference while the
    targets are dialled, or hears the offer at once when nobody can be dialled."""
    plan = await transfer.begin(services, found.call.id)
    if plan is None:  # already handed over by a concurrent request
        return twiml.goodbye(_voice(found), lines) if lines else _hold_again(services, found)
    if not plan.hold:
        return offer(services, found, plan.round, plan.why, lines)
    await transfer.dial_next(services, found.call.id, plan.round)
    return hold(services, found, plan.round, lines)


def hold(services: Services, found: CallView, round_: int, lines: list[str]) -> str:
    settings, call = services.settings, found.call
    record = None
    if found.settings.record_calls:
        record = urls.url(settings, urls.RECORDING, c=call.id)
    return twiml.hold_in_conference(
        _voice(found),
        lines,
        room=urls.room(call.id, round_),
        dial_done=urls.url(settings, urls.DIAL_DONE, c=call.id, r=round_),
        hold=urls.url(settings, urls.HOLD, c=call.id, r=round_),
        events=urls.url(settings, urls.CONFERENCE, c=call.id, r=round_),
        record=record,
    )


def _hold_again(services: Services, found: CallView) -> str:
    return hold(services, found, found.call.transfer_round, [])


def offer(services: Services, found: CallView, round_: int, why: str, lines: list[str]) -> str:
    """Nobody can take the call: offer a text back, or carry on with the AI."""
    if not found.settings.offer_sms_callback:
        return twiml.ask(
            _voice(found),
            [*lines, words.NOBODY_NOW],
            urls.url(services.settings, urls.OFFER, c=found.call.id, r=round_, x="no"),
        )
    line = words.OFFER_CLOSED if why == "closed" else words.OFFER_TEXT_BACK
    action = urls.url(services.settings, urls.OFFER, c=found.call.id, r=round_)
    return twiml.ask(_voice(found), [*lines, line], action)


def after_ai(services: Services, found: CallView) -> str:
    """A turn or wait arriving when the call is no longer with the AI (a late repeat)."""
    call = found.call
    if call.phase == "hold":
        return _hold_again(services, found)
    if call.phase == "offer":
        return offer(services, found, call.transfer_round, call.offer or "", [])
    return twiml.goodbye(_voice(found), [])


def come_back(found: CallView, url: str) -> str:
    """A moment's pause, then the same request again (`url`), for a copy of a request
    whose answer another copy is still working out."""
    return twiml.wait_again(_voice(found), [], url, pause=1)

"""The voice webhooks Twilio calls, under `/twilio/voice`. Each route verifies the request
(`voice.verify`) before it reads anything into the database, then hands over to the
caller's flow (`voice.caller`, `voice.comeback`), the transfer (`voice.transfer`) or the
agent's leg (`voice.agent_leg`), and answers TwiML. A caller-side request Twilio repeats
(same URL: same call, turn and try) gets the answer it got the first time, and one
arriving while the first is answered waits for that answer (`voice.once`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from quart import Blueprint, Response, request
from quart.typing import ResponseReturnValue
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.datastructures import MultiDict

from gateway.errors import BadInput, Forbidden, NotFound
from gateway.inputs import MAX_ID, form_fields, query_int
from gateway.intake import Received
from gateway.messages import InboundMessage
from gateway.models import Message, utcnow
from gateway.turns import receive_and_answer
from gateway.web import AppServices, app_services
from messaging.twilio.lines import find_for_webhook
from voice import agent_leg, caller, calls, comeback, hold_line, once, recording, transfer, urls
from voice.calls import CallView
from voice.verify import called_url, refuse_unknown, signature_header, verify

voice_routes = Blueprint("voice", __name__)
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_SID = 64


def _xml(document: str) -> Response:
    return Response(document, status=200, content_type="text/xml; charset=utf-8")


def _given_number(name: str) -> int | None:
    """The number in ?`name`=, or None when it is missing or malformed."""
    try:
        return query_int(name, minimum=0, maximum=MAX_ID)
    except BadInput:
        return None  # a malformed number is answered as a missing one


def _number(name: str) -> int:
    found = _given_number(name)
    if found is None:
        raise NotFound(f"this voice URL needs a number in ?{name}=")
    return found


def _request_key(name: str, *numbers: str) -> str | None:
    """The key a caller-side request's answer is remembered under: its kind and its
    numbers (call, turn, try, round), None when one is missing (refused once verified)."""
    given = [_given_number(number) for number in numbers]
    known = [value for value in given if value is not None]
    return calls.answer_key(name, *known) if len(known) == len(given) else None


async def _verified_call(
    state: AppServices, request_key: str | None = None
) -> tuple[CallView, MultiDict[str, str]]:
    """The call a request names, verified; with `request_key`, the answer remembered for
    it is read in the same go (`CallView.remembered`)."""
    signature = signature_header()
    form = await form_fields()
    found = await calls.view(state.services.db, _number("c"), request_key)
    if found is None:
        await refuse_unknown(state.services.db, state.services.settings, form, signature)
    verify(
        state.services.settings,
        auth_token=found.auth_token,
        account_sid=found.account_sid,
        form=form,
        signature=signature,
    )
    if form.get("CallSid") != found.call.call_sid:
        raise Forbidden("the request names another call", code="wrong_call")
    return found, form


async def _once(found: CallView, key: str, answer: Callable[[], Awaitable[str]]) -> Response:
    """The answer remembered for this request (read with the call), or a new one, kept;
    a copy of the request arriving while it is answered waits for that answer."""
    if found.remembered is not None:
        return _xml(found.remembered)
    services = app_services().services
    url = called_url(services.settings)

    def come_back() -> str:
        return caller.come_back(found, url)

    return _xml(await once.answer_once(services.db, found.call.id, key, answer, come_back))


@voice_routes.post(urls.INCOMING)
async def incoming() -> ResponseReturnValue:
    state = app_services()
    services = state.services
    signature = signature_header()
    form = await form_fields()
    line = await find_for_webhook(services.db, form.get("To", ""), None)
    if line is None:  # the same 403 as a bad signature unless Twilio really signed it
        await refuse_unknown(services.db, services.settings, form, signature)
    verify(
        services.settings,
        auth_token=line.auth_token,
        account_sid=line.account_sid,
        form=form,
        signature=signature,
    )
    call_sid, caller_number = form.get("CallSid", ""), form.get("From", "")
    if not call_sid or not caller_number or len(call_sid) > MAX_SID or len(caller_number) > MAX_SID:
        raise BadInput("an incoming call needs CallSid and From")
    answered: list[str] = []

    async def start_call(session: AsyncSession, received: Received) -> None:
        """The call's start, in the same transaction as the line that marks it."""
        answered.clear()  # a transaction that failed is run again: its call row is undone
        found, created = await calls.start(
            session,
            organization_id=line.organization_id,
            conversation_id=received.conversation_id,
            account_id=line.account_id,
            call_sid=call_sid,
            from_number=caller_number,
            to_number=line.address,
        )
        if created:
            _transcribe(session, found)
        greeting = caller.greeting(services, found)
        answered.append(await calls.remember_in(session, found.call.id, "incoming", greeting))

    # routed in the same transaction: nothing of the call's start is left to a job
    await receive_and_answer(
        services,
        state.intake,
        InboundMessage(
            organization_id=line.organization_id,
            channel=caller.CHANNEL,
            sender_kind="phone",
            sender_address=caller_number,
            sender_name=(form.get("CallerName") or "")[:200] or None,
            text="",  # marks the call in the timeline; no words, so no summary quotes it
            provider_message_id=f"{call_sid}:0",
            thread_key=line.address,
            no_reply=True,
            meta={"call_sid": call_sid, "call": "started"},
        ),
        within=start_call,
    )
    return _xml(answered[0])


def _transcribe(session: AsyncSession, found: CallView) -> None:
    """The greeting goes into the transcript as the first thing the caller heard."""
    now = utcnow()
    session.add(
        Message(
            organization_id=found.call.organization_id,
            conversation_id=found.call.conversation_id,
            direction="outbound",
            author="system",
            channel=caller.CHANNEL,
            text=found.settings.greeting.replace("{business}", found.business),
            attachments=[],
            meta={"voice": "greeting", "call_sid": found.call.call_sid},
            delivery_status="delivered",
            created_at=now,
            updated_at=now,
        )
    )


@voice_routes.post(urls.STATUS)
async def status() -> ResponseReturnValue:
    state = app_services()
    services = state.services
    signature = signature_header()
    form = await form_fields()
    found = await calls.find_by_sid(services.db, form.get("CallSid", ""))
    if found is None:  # a call that never reached the greeting: verify, then nothing to do
        line = await find_for_webhook(services.db, form.get("To", ""), None)
        if line is None:
            await refuse_unknown(services.db, services.settings, form, signature)
        verify(
            services.settings,
            auth_token=line.auth_token,
            account_sid=line.account_sid,
            form=form,
            signature=signature,
        )
        return _xml(EMPTY)
    verify(
        services.settings,
        auth_token=found.auth_token,
        account_sid=found.account_sid,
        form=form,
        signature=signature,
    )
    ended = await calls.status_callback(services, found, form)
    if ended:
        await transfer.caller_left(services, found.call.id)
    return _xml(EMPTY)


@voice_routes.post(urls.TURN)
async def turn() -> ResponseReturnValue:
    state = app_services()
    found, form = await _verified_call(state, _request_key("turn", "n"))
    n = _number("n")
    if found.remembered is not None:
        return _xml(found.remembered)
    # the turn keeps its own answer: a reply spoken at once is kept with the reply itself
    return _xml(
        await caller.turn(state.services, state.intake, state.hub, found, n, form.to_dict())
    )


@voice_routes.post(urls.WAIT)
async def wait() -> ResponseReturnValue:
    state = app_services()
    found, _ = await _verified_call(state, _request_key("wait", "n", "t"))
    n, tries = _number("n"), _number("t")
    return await _once(
        found,
        calls.answer_key("wait", n, tries),
        lambda: caller.wait(state.services, state.hub, found, n, tries),
    )


@voice_routes.post(urls.HOLD)
async def hold() -> ResponseReturnValue:
    state = app_services()
    found, _ = await _verified_call(state)
    return _xml(await hold_line.hold_audio(state.services, found, _number("r")))


@voice_routes.post(urls.CONFERENCE)
async def conference() -> ResponseReturnValue:
    state = app_services()
    found, form = await _verified_call(state)
    await hold_line.conference_event(state.services, found, _number("r"), form.to_dict())
    return _xml(EMPTY)


RoundAnswer = Callable[[AppServices, CallView, int, MultiDict[str, str]], Awaitable[str]]


async def _per_round(name: str, answer: RoundAnswer) -> Response:
    """A caller-side request about transfer round `r`: verified, then answered once (a
    repeat of it gets the same TwiML)."""
    state = app_services()
    found, form = await _verified_call(state, _request_key(name, "r"))
    round_ = _number("r")
    return await _once(
        found, calls.answer_key(name, round_), lambda: answer(state, found, round_, form)
    )


@voice_routes.post(urls.DIAL_DONE)
async def dial_done() -> ResponseReturnValue:
    from_desk = request.args.get("x") == "desk"  # the desk's "back to the AI", not a drop
    return await _per_round(
        "dial-done",
        lambda state, found, r, _: comeback.dial_done(
            state.services, found, r, from_desk=from_desk
        ),
    )


@voice_routes.post(urls.RESUME)
async def resume() -> ResponseReturnValue:
    return await _per_round(
        "resume", lambda state, found, r, _: comeback.resume(state.services, found, r)
    )


@voice_routes.post(urls.OFFER)
async def offer() -> ResponseReturnValue:
    declined = request.args.get("x") == "no"
    return await _per_round(
        "offer",
        lambda state, found, r, form: comeback.offer_answer(
            state.services, state.intake, state.hub, found, r, form.to_dict(), declined
        ),
    )


@voice_routes.post(urls.RECORDING)
async def recording_status() -> ResponseReturnValue:
    state = app_services()
    found, form = await _verified_call(state)
    if await calls.recording_callback(state.services, found, form.to_dict()):
        await recording.enqueue(state.services, found)  # fetched by a job, never in here
    return _xml(EMPTY)


async def _verified_attempt(state: AppServices) -> tuple[agent_leg.AttemptView, dict[str, str]]:
    signature = signature_header()
    form = await form_fields()
    seen = await agent_leg.attempt_view(state.services, _number("a"))
    if seen is None:
        await refuse_unknown(state.services.db, state.services.settings, form, signature)
    verify(
        state.services.settings,
        auth_token=seen.found.auth_token,
        account_sid=seen.found.account_sid,
        form=form,
        signature=signature,
    )
    known = seen.attempt.agent_call_sid
    if known is not None and form.get("CallSid") != known:
        raise Forbidden("the request names another call", code="wrong_call")
    return seen, form.to_dict()


@voice_routes.post(urls.AGENT)
async def agent() -> ResponseReturnValue:
    state = app_services()
    seen, _ = await _verified_attempt(state)
    return _xml(await agent_leg.whisper(state.services, seen))


@voice_routes.post(urls.AGENT_ANSWER)
async def agent_answer() -> ResponseReturnValue:
    state = app_services()
    seen, form = await _verified_attempt(state)
    digits = (form.get("Digits") or "").strip()[:4]
    return _xml(await agent_leg.answer(state.services, seen, digits))


@voice_routes.post(urls.AGENT_STATUS)
async def agent_status() -> ResponseReturnValue:
    state = app_services()
    seen, form = await _verified_attempt(state)
    await agent_leg.leg_status(state.services, seen, form)
    return _xml(EMPTY)


@voice_routes.post(urls.AGENT_AMD)
async def agent_amd() -> ResponseReturnValue:
    state = app_services()
    seen, form = await _verified_attempt(state)
    await agent_leg.machine_detected(state.services, seen, form.get("AnsweredBy", ""))
    return _xml(EMPTY)

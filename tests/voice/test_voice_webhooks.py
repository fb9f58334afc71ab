"""The edges of the voice webhooks: every route refuses a missing, forged or altered
signature (and a re-encoded query) with 403 and stores nothing; a foreign account or an
unknown number is refused; repeats of the same request (incoming, turn) change nothing and
get the same TwiML; the greeting listens the way the rules say; silence re-prompts then
ends politely; low confidence asks to repeat; status callbacks apply in SequenceNumber
order."""

from __future__ import annotations

import asyncio

import pytest
from quart import Quart
from sqlalchemy import func, select

from gateway.models import Message
from gateway.runtime import Services
from tests.support import twiml_rules
from tests.support.call_simulator import INCOMING, Caller
from tests.support.fake_twilio import PUBLIC_URL, Account, FakeTwilio, path_of, post_signed, sign
from tests.voice.helpers import the_call
from voice.models import CallAnswer, TransferAttempt, VoiceCall

ROUTES = [
    "/twilio/voice",
    "/twilio/voice/status",
    "/twilio/voice/turn?c={c}&n=1",
    "/twilio/voice/wait?c={c}&n=1&t=1",
    "/twilio/voice/hold?c={c}&r=1",
    "/twilio/voice/dial-done?c={c}&r=1",
    "/twilio/voice/conference?c={c}&r=1",
    "/twilio/voice/resume?c={c}&r=1",
    "/twilio/voice/offer?c={c}&r=1",
    "/twilio/voice/recording?c={c}",
    "/twilio/voice/agent?a=1",
    "/twilio/voice/agent-answer?a=1",
    "/twilio/voice/agent-status?a=1",
    "/twilio/voice/agent-amd?a=1",
]


async def _counts(services: Services) -> tuple[int, ...]:
    async with services.db.transaction() as session:
        return tuple(
            [
                int(await session.scalar(select(func.count()).select_from(table)) or 0)
                for table in (VoiceCall, TransferAttempt, CallAnswer, Message)
            ]
        )


async def _with_an_attempt(services: Services, call: VoiceCall) -> None:
    async with services.db.transaction() as session:
        session.add(
            TransferAttempt(
                organization_id=call.organization_id,
                call_id=call.id,
                round=1,
                position=0,
                target_number="+15550002222",
                target_label="Dana",
                status="ringing",
                status_sequence=-1,
            )
        )


@pytest.mark.parametrize("route", ROUTES)
async def test_a_bad_signature_is_refused_and_nothing_is_stored(
    route: str, caller: Caller, voice_services: Services, account: Account
) -> None:
    await caller.dial_in()
    call, _ = await the_call(voice_services)
    await _with_an_attempt(voice_services, call)
    url = PUBLIC_URL + route.format(c=call.id)
    params = caller.params(SpeechResult="refund please", Digits="1", CallStatus="completed")
    before = await _counts(voice_services)
    client = caller.client
    good = sign(account.token, url, params)
    forged = sign("not-the-token", url, params)
    altered = dict(params, SpeechResult="refund everything")
    for headers, form in (
        ({}, params),
        ({"X-Twilio-Signature": forged}, params),
        ({"X-Twilio-Signature": good}, altered),
    ):
        response = await client.post(path_of(url), form=form, headers=headers)
        assert response.status_code == 403, (route, headers, response.status_code)
    if "?" in url:  # the same query, re-encoded, is not the URL Twilio signed
        reencoded = url.replace("?", "?z=a+b&", 1)
        signed_for = url.replace("?", "?z=a%20b&", 1)
        response = await client.post(
            path_of(reencoded),
            form=params,
            headers={"X-Twilio-Signature": sign(account.token, signed_for, params)},
        )
        assert response.status_code == 403
    assert await _counts(voice_services) == before


async def test_a_foreign_account_or_an_unknown_number_is_refused(
    caller: Caller, voice_services: Services, fake_twilio: FakeTwilio
) -> None:
    other = fake_twilio.add_account()
    params = caller.params(AccountSid=other.sid)
    response = await post_signed(caller.client, INCOMING, params, caller.account.token)
    assert response.status_code == 403
    unknown = caller.params(To="+15559990000")
    response = await post_signed(caller.client, INCOMING, unknown, caller.account.token)
    assert response.status_code == 404
    assert await _counts(voice_services) == (0, 0, 0, 0)


async def test_the_same_incoming_call_twice_at_once_is_one_call(
    caller: Caller, voice_services: Services, voice_app: Quart
) -> None:
    params = caller.params(CallStatus="ringing")
    first, second = await asyncio.gather(
        post_signed(voice_app.test_client(), INCOMING, params, caller.account.token),
        post_signed(voice_app.test_client(), INCOMING, params, caller.account.token),
    )
    assert first.status_code == second.status_code == 200
    assert await first.get_data() == await second.get_data()
    calls, attempts, _, messages = await _counts(voice_services)
    assert (calls, attempts, messages) == (1, 0, 2)  # "call started" and the greeting


async def test_the_greeting_listens_for_speech_and_keys(caller: Caller) -> None:
    await caller.dial_in()
    hop = caller.hops[-1]
    gather = twiml_rules.check(hop.document).find("Gather")
    assert gather is not None
    assert gather.get("input") == "speech dtmf" and gather.get("speechModel") == "phone_call"
    assert gather.get("actionOnEmptyResult") == "true" and gather.get("language") == "en-US"
    assert (gather.get("action") or "").endswith("n=1")
    assert hop.seconds < 2.0  # generous: the greeting touches the database only


async def test_silence_reprompts_then_ends_and_low_confidence_asks_again(
    caller: Caller, voice_services: Services
) -> None:
    await caller.dial_in()
    assert "still there" in " ".join(await caller.silence())
    assert "say it again" in " ".join(await caller.say("mumble", confidence="0.12"))
    assert "still there" in " ".join(await caller.silence())  # a sound restarted the count
    goodbye = await caller.silence()
    assert caller.ended and "end the call" in " ".join(goodbye)
    async with voice_services.db.transaction() as session:
        taken = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "inbound")
        )
    assert taken == 1  # only "call started": silence and a mumble are not messages


async def test_a_repeated_turn_gets_the_same_answer_and_one_message(
    caller: Caller, voice_services: Services
) -> None:
    await caller.dial_in()
    turn_url = caller.gather
    assert turn_url is not None
    params = caller.params(SpeechResult="Where is my order?", Confidence="0.9")
    first = await post_signed(caller.client, turn_url, params, caller.account.token)
    again = await post_signed(caller.client, turn_url, params, caller.account.token)
    assert await first.get_data() == await again.get_data()
    async with voice_services.db.transaction() as session:
        said = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.provider_message_id == f"{caller.sid}:1")
        )
    assert said == 1


async def test_status_callbacks_apply_in_sequence_order(
    caller: Caller, voice_services: Services
) -> None:
    await caller.dial_in()
    assert await caller.status("in-progress", 1) == 200
    assert await caller.hang_up(sequence=5, duration="42") == 200
    assert await caller.status("in-progress", 3) == 200  # late, older: ignored
    assert await caller.hang_up(sequence=5, duration="99") == 200  # a repeat: ignored
    call, _ = await the_call(voice_services)
    assert (call.status, call.phase, call.duration_seconds) == ("completed", "ended", 42)


async def test_an_unknown_call_is_told_only_to_a_signed_caller(
    caller: Caller, voice_services: Services
) -> None:
    await caller.dial_in()
    params = caller.params()
    for route in ("/twilio/voice/turn?c=999&n=1", "/twilio/voice/agent?a=999"):
        url = PUBLIC_URL + route
        forged = await caller.client.post(
            path_of(url), form=params, headers={"X-Twilio-Signature": sign("x", url, params)}
        )
        assert forged.status_code == 403
        signed = await post_signed(caller.client, url, params, caller.account.token)
        assert signed.status_code == 404

"""Warm transfer, conference-centred: the caller asks for a person and waits on hold; the
targets are dialled one at a time; the agent hears a whisper and presses 1, which claims
the conversation; when the agent hangs up the caller is back with the AI. And every other
outcome: declined, no answer, voicemail, exhausted with a text back, the caller leaving
while the agent's phone rings, and a claim on the queue page racing a press of 1."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from quart import Quart
from sqlalchemy import select, update

from gateway.models import Agent, HandoffDecision, Message, Organization, utcnow
from gateway.queues import DELIVER, JobRef
from gateway.runtime import Services
from gateway.web import EXTENSION
from handoff.ai.summary_job import summarize_handoff
from tests.support.api import logged_in
from tests.support.call_simulator import AgentPhone, Caller
from tests.support.fake_twilio import (
    BUSINESS,
    CUSTOMER,
    PUBLIC_URL,
    Account,
    FakeTwilio,
    post_signed,
)
from tests.support.fake_twilio_calls import Placed
from tests.voice.conftest import DANA_PHONE, SAM_PHONE, set_voice
from tests.voice.helpers import attempts, opt_out_by_text, outcomes, the_call, transcript
from voice.models import TransferAttempt


def _record_queued(app: Quart, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Each job the gateway `app` queues from now on, as (job, *args), still sent to Redis.
    (A worker may have run and forgotten a job by the time the test looks there.)"""
    queued: list[tuple[object, ...]] = []
    jobs = app.extensions[EXTENSION].services.jobs
    enqueue = jobs.enqueue_async

    async def recorded(queue: str, job: str, *args: object, **options: object) -> JobRef:
        queued.append((job, *args))
        return await enqueue(queue, job, *args, **options)

    monkeypatch.setattr(jobs, "enqueue_async", recorded)
    return queued


async def _on_hold(caller: Caller) -> list[str]:
    await caller.dial_in()
    heard = await caller.say("I want to talk to a person")
    assert caller.room is not None, heard
    return heard


async def _nobody_answers(caller: Caller, fake_twilio: FakeTwilio, account: Account) -> str:
    """Neither Dana's phone nor Sam's is answered: what the caller hears next (the offer)."""
    for placed_count in (1, 2):
        placed = fake_twilio.wait_for_calls(placed_count)[-1]
        await AgentPhone(caller.client, account, placed).report("no-answer")
    [move] = fake_twilio.updates_of(caller.sid)
    return " ".join(await caller.moved_to(move.get("Url") or ""))


async def _on_hold_with_dana_ringing(
    caller: Caller, services: Services, fake_twilio: FakeTwilio, account: Account
) -> tuple[Placed, str]:
    """The caller holds while Dana's phone rings: her leg, and the call's "Call me" URL."""
    await _on_hold(caller)
    [dana] = fake_twilio.wait_for_calls(1)
    await AgentPhone(caller.client, account, dana).report("ringing")
    _, conversation = await the_call(services)
    return dana, f"/api/conversations/{conversation.id}/call/call-me"


async def test_press_1_connects_the_agent_and_hanging_up_returns_to_the_ai(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
    worker: None,
    voice_app: Quart,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dana, _ = agents
    heard = await _on_hold(caller)
    assert "Please hold while I connect you to a person." in heard, heard
    assert "reply" not in " ".join(heard), heard  # no wait measured on written replies
    call, conversation = await the_call(voice_services)
    assert conversation.state == "queued" and call.phase == "hold"

    [placed] = fake_twilio.wait_for_calls(1)
    assert (placed.get("To"), placed.get("From")) == (DANA_PHONE, BUSINESS)
    assert placed.get("Url", "").startswith(PUBLIC_URL + "/twilio/voice/agent?a=")
    assert placed.get("Method") == "POST" and placed.get("Timeout") == "15"
    assert placed.get("StatusCallback", "").startswith(PUBLIC_URL + "/twilio/voice/agent-status")
    assert placed.params["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert placed.get("MachineDetection") == "Enable" and placed.get("AsyncAmd") == "true"
    assert "Please hold" in " ".join(await caller.on_hold())

    dana_phone = AgentPhone(caller.client, account, placed)
    assert await dana_phone.report("ringing") == 200
    whisper = " ".join(await dana_phone.pick_up())
    assert "Call from" in whisper and "Press 1" in whisper and "asked for a person" in whisper
    joined = await dana_phone.press("1")
    conference = joined.find("Dial/Conference")
    assert conference is not None and (conference.text or "").strip() == caller.room
    assert conference.get("participantLabel") == "agent"
    call, conversation = await the_call(voice_services)
    assert (conversation.state, conversation.assigned_agent_id) == ("assigned", dana.id)
    assert call.phase == "agent" and await outcomes(voice_services) == [("Dana", "accepted")]

    # Dana talks for a while (the join is backdated), then hangs up.
    async with voice_services.db.transaction() as session:
        await session.execute(
            update(TransferAttempt).values(joined_at=utcnow() - timedelta(seconds=60))
        )
    queued = _record_queued(voice_app, monkeypatch)
    back = await caller.conference_over()
    assert "anything else" in " ".join(back) and caller.gather is not None
    call, conversation = await the_call(voice_services)
    assert (conversation.state, call.phase) == ("ai", "ai")
    # the line the caller heard is in the transcript as delivered, with no delivery job
    async with voice_services.db.transaction() as session:
        notice = (
            await session.execute(
                select(Message).where(Message.meta["notice"].as_string() == "back_to_ai")
            )
        ).scalar_one()
    assert notice.delivery_status == "delivered" and notice.text in " ".join(back)
    assert (DELIVER, notice.id) not in queued
    answer = await caller.say("How long does shipping take?")
    assert answer and caller.gather is not None


async def test_declined_then_no_answer_then_a_text_back(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    worker: None,
) -> None:
    await _on_hold(caller)
    [dana] = fake_twilio.wait_for_calls(1)
    dana_phone = AgentPhone(caller.client, account, dana)
    await dana_phone.pick_up()
    declined = await dana_phone.press("2")
    assert declined.find("Hangup") is not None
    [_, sam] = fake_twilio.wait_for_calls(2)
    assert sam.get("To") == SAM_PHONE
    assert "trying someone else" in " ".join(await caller.on_hold())

    sam_phone = AgentPhone(caller.client, account, sam)
    await sam_phone.report("ringing")
    await sam_phone.report("no-answer")
    assert await outcomes(voice_services) == [
        ("Dana", "declined"),
        ("Sam", "no_answer"),
        ("nobody left to try", "exhausted"),
    ]
    [move] = fake_twilio.updates_of(caller.sid)
    assert move.get("Url", "").startswith(PUBLIC_URL + "/twilio/voice/resume?")
    offer = " ".join(await caller.moved_to(move.get("Url") or ""))
    assert "text you" in offer
    goodbye = await caller.press("1")
    assert caller.ended and "text you" in " ".join(goodbye)
    [sms] = fake_twilio.wait_for(1)
    assert (sms.get("To"), sms.get("From")) == (CUSTOMER, BUSINESS)
    _, conversation = await the_call(voice_services)
    assert conversation.state == "queued"  # still waiting for a person


async def test_the_whisper_says_the_reason_once_when_the_summary_gives_it(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    worker: None,
) -> None:
    await _on_hold(caller)
    [dana] = fake_twilio.wait_for_calls(1)
    _, conversation = await the_call(voice_services)
    # the handoff's summary, as its job writes it (here before Dana answers, for certain)
    await summarize_handoff(voice_services, conversation.id, conversation.ownership_version)
    _, conversation = await the_call(voice_services)
    gist = (conversation.summary or "").splitlines()[0]
    assert "handed off because the customer asked for a person" in gist, gist

    whisper = " ".join(await AgentPhone(caller.client, account, dana).pick_up())

    assert whisper.startswith("Call from a caller at "), whisper
    assert "handed off because the customer asked for a person" in whisper, whisper
    assert whisper.count("asked for a person") == 1, whisper  # not again as "Reason: …"
    assert whisper.endswith("Press 1 to take it, or 2 to decline."), whisper


async def test_voicemail_is_hung_up_and_the_next_target_dialled(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    worker: None,
) -> None:
    await _on_hold(caller)
    [dana] = fake_twilio.wait_for_calls(1)
    dana_phone = AgentPhone(caller.client, account, dana)
    await dana_phone.report("in-progress")
    assert await dana_phone.machine("machine_start") == 200
    [hang_up] = fake_twilio.updates_of(dana.sid)
    assert hang_up.get("Status") == "completed"
    [_, sam] = fake_twilio.wait_for_calls(2)
    assert sam.get("To") == SAM_PHONE
    assert await outcomes(voice_services) == [("Dana", "voicemail"), ("Sam", None)]


async def test_the_caller_hanging_up_cancels_the_ringing_agent(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    worker: None,
) -> None:
    await _on_hold(caller)
    [dana] = fake_twilio.wait_for_calls(1)
    dana_phone = AgentPhone(caller.client, account, dana)
    await dana_phone.report("ringing")
    assert await caller.hang_up() == 200
    [cancel] = fake_twilio.updates_of(dana.sid)
    assert cancel.get("Status") == "canceled"
    assert await outcomes(voice_services) == [("Dana", "caller_left")]
    # Dana picks up anyway: she hears that the caller left, and nobody else is dialled.
    assert "hung up" in " ".join(await dana_phone.pick_up())
    assert len(fake_twilio.placed_calls()) == 1


async def test_a_claim_on_the_queue_page_wins_over_a_later_press_of_1(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
    worker: None,
) -> None:
    _, sam = agents
    await _on_hold(caller)
    [dana] = fake_twilio.wait_for_calls(1)
    dana_phone = AgentPhone(caller.client, account, dana)
    await dana_phone.pick_up()
    _, conversation = await the_call(voice_services)
    client, csrf = await logged_in(voice_app, sam)
    claimed = await client.post(f"/api/conversations/{conversation.id}/claim", headers=csrf)
    assert claimed.status_code == 200
    taken = await dana_phone.press("1")
    assert "already taken" in " ".join(s.text or "" for s in taken.iter("Say"))
    _, conversation = await the_call(voice_services)
    assert (conversation.state, conversation.assigned_agent_id) == ("assigned", sam.id)
    # Sam, who owns it now, is dialled to talk to the caller.
    [_, sam_leg] = fake_twilio.wait_for_calls(2)
    assert sam_leg.get("To") == SAM_PHONE
    assert (await attempts(voice_services))[0].outcome == "claimed_elsewhere"
    assert not [
        m
        for m in await transcript(voice_services, conversation.id)
        if m.delivery_status == "failed"
    ]


async def test_busy_then_exhausted_and_the_caller_stays_with_the_ai(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    worker: None,
) -> None:
    await _on_hold(caller)
    [dana] = fake_twilio.wait_for_calls(1)
    await AgentPhone(caller.client, account, dana).report("busy")
    [_, sam] = fake_twilio.wait_for_calls(2)
    sam_phone = AgentPhone(caller.client, account, sam)
    await sam_phone.report("ringing", sequence=2)
    await sam_phone.report("failed", sequence=3)
    await sam_phone.report("ringing", sequence=1)  # late and older: changes nothing
    assert [outcome for _, outcome in await outcomes(voice_services)] == [
        "busy",
        "failed",
        "exhausted",
    ]
    [move] = fake_twilio.updates_of(caller.sid)
    await caller.moved_to(move.get("Url") or "")
    back = await caller.say("No thanks")
    assert "What else can I help you with" in " ".join(back) and caller.gather is not None
    call, conversation = await the_call(voice_services)
    assert (conversation.state, call.phase) == ("ai", "ai")
    assert fake_twilio.messages() == []  # no text was sent


async def test_saying_one_at_the_offer_is_pressing_1(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    worker: None,
) -> None:
    """A caller offered "say yes or press 1" who says "one" (heard as "One." or "1")."""
    await _on_hold(caller)
    assert "press 1" in await _nobody_answers(caller, fake_twilio, account)

    goodbye = await caller.say("One.")

    assert caller.ended and "text you" in " ".join(goodbye)
    [sms] = fake_twilio.wait_for(1)
    assert sms.get("To") == CUSTOMER


async def test_no_text_back_to_an_opted_out_number(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    worker: None,
) -> None:
    await _on_hold(caller)
    _, conversation = await the_call(voice_services)
    await opt_out_by_text(voice_services, conversation.organization_id, CUSTOMER)
    await _nobody_answers(caller, fake_twilio, account)
    goodbye = await caller.press("1")
    assert "can't send you a text" in " ".join(goodbye)
    assert fake_twilio.messages() == []


async def test_the_desk_shows_the_call_and_sends_the_caller_back_to_the_ai(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
    worker: None,
) -> None:
    dana, _ = agents
    await _on_hold(caller)
    _, conversation = await the_call(voice_services)
    client, csrf = await logged_in(voice_app, dana)
    path = f"/api/conversations/{conversation.id}"
    [shown] = (await (await client.get(path + "/calls")).get_json())["calls"]
    assert shown["state_text"].startswith("on hold for")
    assert [a["outcome_text"] for a in shown["attempts"]] == ["ringing"]
    [placed] = fake_twilio.wait_for_calls(1)
    dana_phone = AgentPhone(caller.client, account, placed)
    await dana_phone.pick_up()
    await dana_phone.press("1")
    [shown] = (await (await client.get(path + "/calls")).get_json())["calls"]
    assert shown["state_text"] == "with Dana"
    assert [a["outcome_text"] for a in shown["attempts"]] == ["took the call"]

    moved = await client.post(path + "/call/back-to-ai", headers=csrf)
    assert moved.status_code == 200
    [move] = fake_twilio.updates_of(caller.sid)
    assert "/twilio/voice/dial-done?" in (move.get("Url") or "")
    async with voice_services.db.transaction() as session:
        await session.execute(
            update(TransferAttempt).values(joined_at=utcnow() - timedelta(seconds=60))
        )
    back = await caller.moved_to(move.get("Url") or "")
    assert "anything else" in " ".join(back)
    assert (await client.post(path + "/call/back-to-ai", headers=csrf)).status_code == 409
    ended = await client.post(path + "/call/end", headers=csrf)
    assert ended.status_code == 200
    assert fake_twilio.updates_of(caller.sid)[-1].get("Status") == "completed"


async def test_outside_business_hours_the_caller_is_offered_a_text_at_once(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    org: Organization,
    worker: None,
) -> None:
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    other_day = days[(datetime.now(UTC).weekday() + 3) % 7]
    async with voice_services.db.transaction() as session:
        current = await session.get(Organization, org.id)
        assert current is not None
        current.settings = {**current.settings, "business_hours": {other_day: [["09:00", "10:00"]]}}
    await caller.dial_in()
    heard = " ".join(await caller.say("I want to talk to a person"))
    assert "Our team is away" in heard and caller.gather is not None and caller.room is None
    assert fake_twilio.placed_calls() == []  # nobody is dialled while closed
    call, conversation = await the_call(voice_services)
    assert (conversation.state, call.phase, call.offer) == ("queued", "offer", "closed")


async def _set_outside_hours(services: Services, org: Organization, choice: str) -> None:
    async with services.db.transaction() as session:
        current = await session.get(Organization, org.id)
        assert current is not None
        current.settings = {**current.settings, "outside_hours": choice}


async def test_with_nobody_on_the_desk_a_call_still_rings_the_transfer_targets(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    org: Organization,
    worker: None,
) -> None:
    """Nobody has the desk open (as in every test here), and the organization has the AI
    take a message when nobody is online: a call reaches its people by phone anyway."""
    await _set_outside_hours(voice_services, org, "ai_takes_message")
    heard = " ".join(await _on_hold(caller))

    assert "connect you to a person" in heard and "online" not in heard, heard
    [dana] = fake_twilio.wait_for_calls(1)
    assert dana.get("To") == DANA_PHONE
    _, conversation = await the_call(voice_services)
    assert conversation.state == "queued"
    async with voice_services.db.read() as session:
        [decision] = await session.scalars(
            select(HandoffDecision).where(HandoffDecision.outcome == "queued")
        )
    [why] = [result for result in decision.rule_results if result["rule"] == "nobody_online"]
    assert why["detail"] == "no agent online, but the call's transfer targets are rung"


async def test_with_no_transfer_targets_nobody_online_means_the_ai_takes_a_message(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    org: Organization,
    worker: None,
) -> None:
    await _set_outside_hours(voice_services, org, "ai_takes_message")
    await set_voice(voice_services, org, transfer_targets=[])
    await caller.dial_in()

    heard = " ".join(await caller.say("I want to talk to a person"))

    assert "noted" in heard and caller.room is None, heard
    assert fake_twilio.placed_calls() == []
    _, conversation = await the_call(voice_services)
    assert conversation.state == "ai"


async def test_call_me_dials_the_agent_straight_into_a_waiting_call(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
    worker: None,
) -> None:
    _, sam = agents
    dana, call_me = await _on_hold_with_dana_ringing(caller, voice_services, fake_twilio, account)
    client, csrf = await logged_in(voice_app, sam)
    assert (await client.post(call_me, headers=csrf)).status_code == 400  # no phone yet
    await client.put("/api/me/phone", json={"number": "+15550009999"}, headers=csrf)
    dialled = await client.post(call_me, headers=csrf)
    assert dialled.status_code == 200
    [cancel] = fake_twilio.updates_of(dana.sid)
    assert cancel.get("Status") == "canceled"
    [_, sam_leg] = fake_twilio.wait_for_calls(2)
    assert sam_leg.get("To") == "+15550009999"
    sam_phone = AgentPhone(caller.client, account, sam_leg)
    heard = await sam_phone.pick_up(role="call")
    assert sam_phone.joined and heard == []  # no whisper: Sam chose this call
    call, conversation = await the_call(voice_services)
    assert (conversation.state, conversation.assigned_agent_id, call.phase) == (
        "assigned",
        sam.id,
        "agent",
    )
    assert await outcomes(voice_services) == [("Dana", "claimed_elsewhere"), ("Sam", "accepted")]


async def test_call_me_clicked_twice_dials_once_and_another_agent_waits_their_turn(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
    worker: None,
) -> None:
    dana, sam = agents
    _, call_me = await _on_hold_with_dana_ringing(caller, voice_services, fake_twilio, account)
    client, csrf = await logged_in(voice_app, sam)
    await client.put("/api/me/phone", json={"number": "+15550009999"}, headers=csrf)

    # a double click: two requests at once, one phone call
    first, second = await asyncio.gather(
        client.post(call_me, headers=csrf), client.post(call_me, headers=csrf)
    )
    assert first.status_code == second.status_code == 200
    assert await first.get_json() == await second.get_json() == {"dialling": "+15550009999"}
    [_, sam_leg] = fake_twilio.wait_for_calls(2)
    assert sam_leg.get("To") == "+15550009999"

    # while Sam's phone rings, Dana's "Call me" is refused in words
    other, other_csrf = await logged_in(voice_app, dana)
    await other.put("/api/me/phone", json={"number": "+15550008888"}, headers=other_csrf)
    refused = await other.post(call_me, headers=other_csrf)
    assert refused.status_code == 409
    assert (await refused.get_json())["message"] == "Sam is already being called into this call"
    assert len(fake_twilio.placed_calls()) == 2
    assert await outcomes(voice_services) == [("Dana", "claimed_elsewhere"), ("Sam", None)]


async def test_the_caller_leaving_the_conference_stops_the_ringing_agent(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    worker: None,
) -> None:
    await _on_hold(caller)
    [dana] = fake_twilio.wait_for_calls(1)
    await AgentPhone(caller.client, account, dana).report("ringing")
    assert caller.conference_events is not None
    left = caller.params(
        StatusCallbackEvent="participant-leave",
        ParticipantLabel="customer",
        ConferenceSid="CF" + "0" * 32,
        SequenceNumber="2",
    )
    response = await post_signed(caller.client, caller.conference_events, left, account.token)
    assert response.status_code == 200
    [cancel] = fake_twilio.updates_of(dana.sid)
    assert cancel.get("Status") == "canceled"
    assert await outcomes(voice_services) == [("Dana", "caller_left")]
